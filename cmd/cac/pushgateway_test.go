package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/obs"
)

// offlineSetup is a code repo and a config repo served over smart HTTP, for builds that fall back
// to the offline cache: build with cacheArgs once online, then Inject a 503 and build with
// offlineArgs (one attempt, --offline-fallback).
type offlineSetup struct {
	code        string
	srv         *gitserver.Server
	cacheArgs   []string
	offlineArgs []string
}

func newOfflineSetup(t *testing.T, work string) offlineSetup {
	t.Helper()
	gitfixture.Bare(t, filepath.Join(work, "git"), "cfg", map[string]map[string]string{"main": {"user/sg.yaml": "a: 1\n", "user/us.yaml": "a: 2\n"}}, "main")
	srv, err := gitserver.Start(filepath.Join(work, "git"), gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	code := filepath.Join(work, "code")
	writeTestFile(t, filepath.Join(code, "CacRegion_app.ini"), "a=^cac<<a>>\n")
	cacheArgs := []string{"-C", code, "build", "--config-repo", srv.RepoURL("cfg.git"), "--usn", "user", "--cache", filepath.Join(work, "cache")}
	return offlineSetup{code: code, srv: srv, cacheArgs: cacheArgs,
		offlineArgs: append(append([]string(nil), cacheArgs...), "--offline-fallback", "--retries", "0")}
}

// startPushgateway runs the real Prometheus Pushgateway on a free loopback port until the test
// ends and returns its base URL. Without the binary the test is skipped, unless CI is set.
func startPushgateway(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus-pushgateway")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skip("prometheus-pushgateway is not installed (apt-get install prometheus-pushgateway); CI runs this test")
		}
		t.Fatal("CI is set but prometheus-pushgateway is not on PATH: .ci/run installs it")
	}
	for attempt := 0; attempt < 3; attempt++ { // another process may take the free port first
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		var log bytes.Buffer
		cmd := exec.Command(bin, "--web.listen-address="+addr, "--persistence.file="+filepath.Join(t.TempDir(), "pushgateway.db"))
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		stop := func() {
			cmd.Process.Kill()
			<-exited
		}
		base := "http://" + addr
		for i := 0; i < 200; i++ {
			select {
			case <-exited:
				i = 200
				continue
			default:
			}
			if resp, err := http.Get(base + "/-/ready"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Cleanup(stop)
					return base
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		stop()
		t.Logf("pushgateway on %s did not get ready:\n%s", addr, log.String())
	}
	t.Fatal("could not start prometheus-pushgateway")
	return ""
}

// gatewaySample is one series the gateway exposes.
type gatewaySample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	gwLine  = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	gwLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?`)
)

// gatewayMetrics reads GET /metrics of the gateway: the series pushed to it, with their grouping
// labels, and its own.
func gatewayMetrics(t *testing.T, base string) []gatewaySample {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []gatewaySample
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") || sc.Text() == "" {
			continue
		}
		m := gwLine.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("gateway metrics: bad line %q", sc.Text())
		}
		s := gatewaySample{name: m[1], labels: map[string]string{}}
		for _, l := range gwLabel.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]], _ = strconv.Unquote(`"` + l[2] + `"`)
		}
		if s.value, err = strconv.ParseFloat(m[3], 64); err != nil {
			t.Fatalf("gateway metrics: %q: %v", sc.Text(), err)
		}
		out = append(out, s)
	}
	return out
}

// find is the value of the series name whose labels, job and instance aside, are exactly labels.
func find(samples []gatewaySample, name string, labels map[string]string) (float64, bool) {
next:
	for _, s := range samples {
		if s.name != name || s.labels["job"] != "cac" {
			continue
		}
		n := 0
		for k, v := range s.labels {
			if k == "job" || k == "instance" {
				continue
			}
			if labels[k] != v {
				continue next
			}
			n++
		}
		if n == len(labels) {
			return s.value, true
		}
	}
	return 0, false
}

func TestMetricsPushToPushgateway(t *testing.T) {
	gw := startPushgateway(t)
	work := t.TempDir()
	t.Chdir(work)
	o := newOfflineSetup(t, work)
	writeTestFile(t, filepath.Join(work, "any.yaml"), "$any: true\n")
	vars := map[string]string{"CAC_BRANCH": "main", "CAC_STANDARD": filepath.Join(work, "any.yaml")}
	run := func(args ...string) (int, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Main(args, env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }})
		return code, stderr.String()
	}

	// a successful build, the gateway set in .cac.yaml
	writeTestFile(t, filepath.Join(o.code, ".cac.yaml"), "metrics-push: "+gw+"\n")
	if code, stderr := run(o.cacheArgs...); code != 0 || strings.Contains(stderr, "WARNING") {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	// the config repo unreachable: built from the cache, degraded; the gateway given as a flag
	// (with credentials, which the gateway ignores) and the group narrowed to the regions asked for
	os.Remove(filepath.Join(o.code, ".cac.yaml"))
	o.srv.Inject(gitserver.Fault{Status: http.StatusServiceUnavailable})
	withCreds := strings.Replace(gw, "http://", "http://ci:tok-SEED-push@", 1)
	if code, stderr := run(append(o.offlineArgs, "--regions", "sg,us", "--metrics-push", withCreds)...); code != 0 || !strings.Contains(stderr, "using the cached clone") {
		t.Fatalf("offline build: exit %d: %s", code, stderr)
	}
	// a usage error before any command ran: the gateway and the group from the environment; a usn
	// with "/" travels base64-encoded
	vars["CAC_METRICS_PUSH"], vars["CAC_USN"], vars["CAC_REGIONS"] = gw, "team/user", "sg"
	if code, _ := run("validate", "--no-such-flag"); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}

	samples := gatewayMetrics(t, gw)
	outcomes := func(labels map[string]string) string {
		var got []string
		for _, o := range obs.Outcomes {
			l := map[string]string{"outcome": o}
			for k, v := range labels {
				l[k] = v
			}
			v, ok := find(samples, "cac_run_outcome", l)
			if !ok {
				return "no " + o + " series"
			}
			if v == 1 {
				got = append(got, o)
			}
		}
		return strings.Join(got, ",")
	}
	online := map[string]string{"command": "build", "usn": "user"}
	offline := map[string]string{"command": "build", "usn": "user", "regions": "sg,us"}
	usage := map[string]string{"command": "validate", "usn": "team/user", "regions": "sg"}
	for _, c := range []struct {
		group map[string]string
		want  string
	}{{online, "success"}, {offline, "degraded"}, {usage, "usage"}} {
		if got := outcomes(c.group); got != c.want {
			t.Errorf("group %v: outcome %s, want %s", c.group, got, c.want)
		}
		if v, ok := find(samples, "push_time_seconds", c.group); !ok || v == 0 {
			t.Errorf("group %v: push_time_seconds %v (present %v)", c.group, v, ok)
		}
		if v, ok := find(samples, "push_failure_time_seconds", c.group); !ok || v != 0 {
			t.Errorf("group %v: push_failure_time_seconds %v (present %v)", c.group, v, ok)
		}
	}
	for _, g := range []map[string]string{online, offline} {
		if v, ok := find(samples, "cac_placeholders_total", g); !ok || v != 1 {
			t.Errorf("group %v: cac_placeholders_total %v (present %v)", g, v, ok)
		}
		stage := map[string]string{"stage": "render"}
		for k, v := range g {
			stage[k] = v
		}
		if _, ok := find(samples, "cac_stage_duration_seconds", stage); !ok {
			t.Errorf("group %v: no render stage", g)
		}
	}
	var dump strings.Builder
	for _, s := range samples {
		if s.labels["job"] == "cac" {
			fmt.Fprintf(&dump, "%s%v %v\n", s.name, s.labels, s.value)
		}
	}
	if t.Failed() || strings.Contains(dump.String(), "tok-SEED") {
		t.Errorf("gateway series:\n%s", dump.String())
	}

	// a failing push is a warning without credentials; the exit code stays the command's
	delete(vars, "CAC_METRICS_PUSH")
	delete(vars, "CAC_USN")
	delete(vars, "CAC_REGIONS")
	code, stderr := run(append(o.cacheArgs, "--metrics-push", withCreds+"/no/such/prefix")...)
	if code != 0 || !strings.Contains(stderr, "cac: WARNING: could not push --metrics-push: push metrics to "+gw+"/no/such/prefix: the gateway answered 404") ||
		strings.Contains(stderr, "tok-SEED") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

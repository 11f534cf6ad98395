package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/obs"
)

var promSample = regexp.MustCompile(`^([a-z_]+)(\{[^}]*\})? (\S+)$`)

// readMetrics parses a metrics file (text exposition format) into name{labels} → value.
func readMetrics(t *testing.T, path string) map[string]float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		m := promSample.FindStringSubmatch(sc.Text())
		if m == nil {
			t.Fatalf("%s: bad line %q", path, sc.Text())
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

// hook receives failure notices.
type hook struct {
	mu      sync.Mutex
	bodies  []obs.Notification
	headers []http.Header
	status  int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/hook" {
		http.Error(w, "unexpected route", http.StatusNotFound)
		return
	}
	var n obs.Notification
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &n); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.bodies, h.headers = append(h.bodies, n), append(h.headers, r.Header)
	if h.status != 0 {
		w.WriteHeader(h.status)
	}
}

func TestObservability(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	cfg := gitfixture.Bare(t, work, "cfg", map[string]map[string]string{"main": {"sg.yaml": "a: 1\n", "us.yaml": "a: 2\n"}}, "main")
	code := filepath.Join(work, "code")
	writeTestFile(t, filepath.Join(code, "CacRegion_app.ini"), "a=^cac<<a>>\nb=^cac<<a>>\n")
	writeTestFile(t, filepath.Join(work, "any.yaml"), "$any: true\n")
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	metrics := filepath.Join(work, "cac.prom")
	vars := map[string]string{"CAC_BRANCH": "main", "CAC_STANDARD": filepath.Join(work, "any.yaml"), "CAC_GIT_TOKEN": "tok-SEED-obs",
		"GITHUB_RUN_ID": "42", "GITHUB_REPOSITORY": "acme/user", "CAC_NOTIFY_SECRET": "hook-secret"}
	run := func(args ...string) (int, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Main(args, env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }})
		return code, stderr.String()
	}
	common := []string{"--metrics-file", metrics, "--notify-url", srv.URL + "/hook"}

	// success: stages, placeholders, outcome; no notice
	if code, stderr := run(append([]string{"-C", code, "build", "--config-repo", cfg}, common...)...); code != 0 {
		t.Fatalf("build: exit %d: %s", code, stderr)
	}
	m := readMetrics(t, metrics)
	for k, want := range map[string]float64{`cac_run_outcome{command="build",outcome="success"}`: 1, `cac_run_outcome{command="build",outcome="remote"}`: 0,
		`cac_placeholders_total`: 2, `cac_findings_total{severity="error"}`: 0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	for _, s := range []string{"resolve", "fetch", "load", "validate", "discover", "render", "write"} {
		if _, ok := m[`cac_stage_duration_seconds{stage="`+s+`"}`]; !ok {
			t.Errorf("no duration for stage %s", s)
		}
	}
	if len(h.bodies) != 0 {
		t.Errorf("a successful run notified: %+v", h.bodies)
	}

	// findings: counted, outcome findings, a notice
	writeTestFile(t, filepath.Join(code, "CacRegion_app.ini"), "a=^cac<<a>>\nb=^cac<<b>>\n")
	if code, _ := run(append([]string{"-C", code, "build", "--config-repo", cfg, "--usn", ""}, common...)...); code != 1 {
		t.Fatalf("build with findings: exit %d", code)
	}
	m = readMetrics(t, metrics)
	if m[`cac_run_outcome{command="build",outcome="findings"}`] != 1 || m[`cac_findings_total{severity="error"}`] != 2 {
		t.Errorf("metrics after findings: %v", m)
	}
	// remote failure: exit 3, a notice with what failed, where and the CI run, signed
	if code, _ := run(append([]string{"-C", code, "validate", "--config-repo", "http://x:tok-SEED-obs@127.0.0.1:1/cfg.git", "--usn", "user", "--branch", "feature/x"}, common...)...); code != 3 {
		t.Fatalf("unreachable config repo: exit %d", code)
	}
	if m = readMetrics(t, metrics); m[`cac_run_outcome{command="validate",outcome="remote"}`] != 1 {
		t.Errorf("metrics after a remote failure: %v", m)
	}
	if len(h.bodies) != 2 {
		t.Fatalf("%d notices, want 2", len(h.bodies))
	}
	n := h.bodies[1]
	if n.Command != "validate" || n.ExitCode != 3 || n.Outcome != "remote" || n.USN != "user" || n.Branch != "feature/x" ||
		n.PipelineURL != "https://github.com/acme/user/actions/runs/42" || !strings.Contains(n.Error, "connection refused") || strings.Contains(n.Error, "tok-SEED") {
		t.Errorf("notice = %+v", n)
	}
	if h.bodies[0].Command != "build" || h.bodies[0].Error != "2 problems found" {
		t.Errorf("findings notice = %+v", h.bodies[0])
	}
	if !strings.HasPrefix(h.headers[1].Get(obs.SignatureHeader), "sha256=") {
		t.Errorf("notice not signed: %v", h.headers[1])
	}

	// a usage error before any command ran is still measured and notified
	vars["CAC_METRICS_FILE"] = metrics
	if code, _ := run("build", "--no-such-flag"); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
	if m = readMetrics(t, metrics); m[`cac_run_outcome{command="build",outcome="usage"}`] != 1 {
		t.Errorf("metrics after a usage error: %v", m)
	}

	delete(vars, "CAC_METRICS_FILE")

	// a hook that fails is a warning; the exit code stays the command's
	h.status = http.StatusInternalServerError
	code2, stderr := run(append([]string{"-C", code, "build", "--config-repo", cfg}, common...)...)
	if code2 != 1 || !strings.Contains(stderr, "cac: WARNING: could not send the failure notice: notify http://127.0.0.1:") || strings.Contains(stderr, "/hook") {
		t.Errorf("exit %d, stderr %q", code2, stderr)
	}

	// --log-format json: every stderr line is one JSON object
	writeTestFile(t, filepath.Join(code, "CacRegion_app.ini"), "a=^cac<<a>>\n")
	code3, stderr := run("-C", code, "build", "--config-repo", cfg, "--log-format", "json")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code3 != 0 || len(lines) != 3 {
		t.Fatalf("exit %d, stderr %q", code3, stderr)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["level"] != "INFO" || rec["command"] != "build" || rec["msg"] == "" {
			t.Errorf("log line %q: %v", l, err)
		}
	}
	code4, stderr := run("-C", code, "build", "--config-repo", "http://127.0.0.1:1/cfg.git", "--retries", "0", "--log-format", "json")
	var last map[string]any
	lines = strings.Split(strings.TrimSpace(stderr), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); code4 != 3 || err != nil || last["level"] != "ERROR" {
		t.Errorf("exit %d, last line %q", code4, lines[len(lines)-1])
	}
	if code5, stderr := run("-C", code, "build", "--log-format", "xml"); code5 != 2 || !strings.Contains(stderr, `unknown log format "xml"`) {
		t.Errorf("exit %d, stderr %q", code5, stderr)
	}
}

// A build from the offline cache exits 0 but is not a success: its metrics say degraded and it
// sends a notice, so it can alert.
func TestObservabilityDegraded(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	o := newOfflineSetup(t, work)
	writeTestFile(t, filepath.Join(work, "any.yaml"), "$any: true\n")
	h := &hook{}
	srv := httptest.NewServer(h)
	defer srv.Close()
	metrics := filepath.Join(work, "cac.prom")
	vars := map[string]string{"CAC_BRANCH": "main", "CAC_STANDARD": filepath.Join(work, "any.yaml"),
		"CAC_METRICS_FILE": metrics, "CAC_NOTIFY_URL": srv.URL + "/hook"}
	run := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := Main(args, env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
	}
	run(o.cacheArgs...)
	if m := readMetrics(t, metrics); m[`cac_run_outcome{command="build",outcome="success"}`] != 1 || m[`cac_run_outcome{command="build",outcome="degraded"}`] != 0 || len(h.bodies) != 0 {
		t.Fatalf("online build: metrics %v, notices %+v", m, h.bodies)
	}
	o.srv.Inject(gitserver.Fault{Status: http.StatusServiceUnavailable})
	run(o.offlineArgs...)
	if m := readMetrics(t, metrics); m[`cac_run_outcome{command="build",outcome="success"}`] != 0 || m[`cac_run_outcome{command="build",outcome="degraded"}`] != 1 {
		t.Errorf("offline build: metrics %v", m)
	}
	if len(h.bodies) != 1 {
		t.Fatalf("%d notices, want 1", len(h.bodies))
	}
	n := h.bodies[0]
	want := "config repo " + o.srv.RepoURL("cfg.git") + " unreachable: built from the cached clone of branch main at commit "
	if n.Command != "build" || n.ExitCode != 0 || n.Outcome != "degraded" || n.USN != "user" || !strings.HasPrefix(n.Error, want) ||
		!strings.HasSuffix(n.Error, " (--offline-fallback)") {
		t.Errorf("notice = %+v", n)
	}
}

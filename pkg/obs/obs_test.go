package obs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cacproj/cac/pkg/report"
)

// sample is one line of the text exposition format.
var sample = regexp.MustCompile(`^([a-z_]+)(\{(?:[a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (\S+)$`)

// parseMetrics reads the exposition format with a strict line parser: every metric has HELP and
// TYPE before its samples, every sample line parses, values are numbers. It returns name{labels} → value.
func parseMetrics(t *testing.T, data []byte) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
			if f[3] != "gauge" && f[3] != "counter" {
				t.Errorf("bad type: %q", line)
			}
			typed[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		m := sample.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not a sample line: %q", line)
		}
		if !typed[m[1]] {
			t.Errorf("%s has no TYPE before its samples", m[1])
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("value of %q: %v", line, err)
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func TestWriteMetrics(t *testing.T) {
	r := NewRecorder()
	r.Stage("fetch", 1500*time.Millisecond)
	r.Stage("render", 250*time.Millisecond)
	r.Stage("fetch", 500*time.Millisecond) // diff fetches twice: summed
	r.Placeholders(42)
	r.Findings([]report.Finding{{Severity: report.SeverityError}, {Severity: report.SeverityError}, {Severity: report.SeverityWarning}})
	var b bytes.Buffer
	if err := r.WriteMetrics(&b, "build", 1, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	got := parseMetrics(t, b.Bytes())
	want := map[string]float64{
		`cac_stage_duration_seconds{stage="fetch"}`:           2,
		`cac_stage_duration_seconds{stage="render"}`:          0.25,
		`cac_run_outcome{command="build",outcome="success"}`:  0,
		`cac_run_outcome{command="build",outcome="degraded"}`: 0,
		`cac_run_outcome{command="build",outcome="findings"}`: 1,
		`cac_run_outcome{command="build",outcome="usage"}`:    0,
		`cac_run_outcome{command="build",outcome="remote"}`:   0,
		`cac_run_duration_seconds{command="build"}`:           3,
		`cac_placeholders_total`:                              42,
		`cac_findings_total{severity="error"}`:                2,
		`cac_findings_total{severity="warning"}`:              1,
	}
	if len(got) != len(want) {
		t.Errorf("got %d samples, want %d:\n%s", len(got), len(want), b.String())
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	// a nil recorder (a command that recorded nothing) still writes a valid file
	var empty bytes.Buffer
	if err := NewRecorder().WriteMetrics(&empty, `odd"name`, 3, 0); err != nil {
		t.Fatal(err)
	}
	if got := parseMetrics(t, empty.Bytes()); got[`cac_run_outcome{command="odd\"name",outcome="remote"}`] != 1 {
		t.Errorf("remote outcome missing:\n%s", empty.String())
	}
	var nilRec *Recorder
	nilRec.Stage("x", time.Second)
	nilRec.Findings(nil)
	nilRec.Placeholders(1)
	nilRec.Degrade("x")
	if o, reason := nilRec.Outcome(0); o != "success" || reason != "" {
		t.Errorf("nil recorder outcome %q %q", o, reason)
	}
}

func TestDegradedOutcome(t *testing.T) {
	r := NewRecorder()
	r.Degrade("built from the cached clone")
	var b bytes.Buffer
	if err := r.WriteMetrics(&b, "build", 0, time.Second); err != nil {
		t.Fatal(err)
	}
	got := parseMetrics(t, b.Bytes())
	for _, o := range Outcomes {
		want := 0.0
		if o == "degraded" {
			want = 1
		}
		if k := `cac_run_outcome{command="build",outcome="` + o + `"}`; got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	if o, reason := r.Outcome(0); o != Degraded || reason != "built from the cached clone" {
		t.Errorf("Outcome(0) = %q, %q", o, reason)
	}
	// a degraded run that fails anyway keeps its failure
	if o, reason := r.Outcome(1); o != "findings" || reason != "" {
		t.Errorf("Outcome(1) = %q, %q", o, reason)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "cac.prom")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	entries, _ := os.ReadDir(dir)
	if string(data) != "new\n" || st.Mode().Perm() != 0o644 || len(entries) != 1 {
		t.Errorf("file %q mode %v, %d entries in dir", data, st.Mode(), len(entries))
	}
	if err := WriteFile(filepath.Join(dir, "missing", "x.prom"), nil); err == nil {
		t.Error("no error for a missing dir")
	}
}

func TestNotify(t *testing.T) {
	var got []*http.Request
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, bodies = append(got, r), append(bodies, b)
		if r.Method != http.MethodPost || r.URL.Path != "/hooks/T0K3N-in-path" {
			http.Error(w, "unexpected route", http.StatusNotFound)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want json", http.StatusUnsupportedMediaType)
		}
	}))
	defer srv.Close()
	n := Notification{Command: "build", ExitCode: 3, Outcome: "remote", Error: "fetch config repo: timed out after 4 attempts",
		USN: "user", Branch: "feature/x", PipelineURL: "https://ci.example.com/p/1"}
	if err := Notify(context.Background(), srv.Client(), srv.URL+"/hooks/T0K3N-in-path", "s3cret", n); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	var back Notification
	if err := json.Unmarshal(bodies[0], &back); err != nil || back != n {
		t.Errorf("body %s (%v), want %+v", bodies[0], err, n)
	}
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(bodies[0])
	if sig := got[0].Header.Get(SignatureHeader); sig != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Errorf("signature %q", sig)
	}

	// an answer other than 2xx is an error that does not repeat the URL's path
	err := Notify(context.Background(), srv.Client(), srv.URL+"/other/T0K3N-in-path", "", n)
	if err == nil || strings.Contains(err.Error(), "T0K3N") || !strings.Contains(err.Error(), "404") {
		t.Errorf("err = %v", err)
	}
	if got[1].Header.Get(SignatureHeader) != "" {
		t.Error("signed without a secret")
	}
	// nothing listening
	err = Notify(context.Background(), nil, "http://127.0.0.1:1/hooks/T0K3N-in-path", "", n)
	if err == nil || strings.Contains(err.Error(), "T0K3N") {
		t.Errorf("err = %v", err)
	}
}

func TestNotifyTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := Notify(ctx, srv.Client(), srv.URL, "", Notification{}); err == nil {
		t.Error("a server that never answers did not fail the notification")
	}
}

func TestPipelineURLAndScrub(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, c := range []struct {
		getenv func(string) string
		want   string
	}{
		{env("GITHUB_RUN_ID", "9", "GITHUB_REPOSITORY", "acme/user"), "https://github.com/acme/user/actions/runs/9"},
		{env("GITHUB_RUN_ID", "9", "GITHUB_REPOSITORY", "acme/user", "GITHUB_SERVER_URL", "https://ghe.example.com/"), "https://ghe.example.com/acme/user/actions/runs/9"},
		{env("CI_PIPELINE_URL", "https://gitlab.example.com/acme/user/-/pipelines/5"), "https://gitlab.example.com/acme/user/-/pipelines/5"},
		{env(), ""},
	} {
		if got := PipelineURL(c.getenv); got != c.want {
			t.Errorf("PipelineURL = %q, want %q", got, c.want)
		}
	}
	msg := Scrub("auth failed for ghp_abcdef and glpat-xyz0 and abc", env("GITHUB_TOKEN", "ghp_abcdef", "GITLAB_TOKEN", "glpat-xyz0", "CI_JOB_TOKEN", "abc"))
	if msg != "auth failed for *** and *** and abc" {
		t.Errorf("Scrub = %q", msg)
	}
}

func TestLogWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewLogWriter(&b)
	io.WriteString(w, "cac: config repo x is not a git repository\n")
	w.Error("boom")
	if b.String() != "cac: config repo x is not a git repository\ncac: boom\n" {
		t.Errorf("text = %q", b.String())
	}
	if err := w.SetFormat("xml"); err == nil {
		t.Error("xml accepted")
	}
	b.Reset()
	if err := w.SetFormat("json", "command", "build"); err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "rendered 3 templates")
	io.WriteString(w, " for 2 regions\ncac: WARNING: using the cached clone\r\n\n")
	io.WriteString(w, "partial")
	w.Flush()
	w.Error("2 problems found")
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []struct{ level, msg string }{{"INFO", "rendered 3 templates for 2 regions"}, {"WARN", "using the cached clone"}, {"INFO", "partial"}, {"ERROR", "2 problems found"}}
	if len(lines) != len(want) {
		t.Fatalf("%d lines: %s", len(lines), b.String())
	}
	for i, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %d not JSON: %q", i, l)
		}
		if rec["level"] != want[i].level || rec["msg"] != want[i].msg || rec["command"] != "build" || rec["time"] == nil {
			t.Errorf("line %d = %v, want %+v", i, rec, want[i])
		}
	}
}

func TestOutcome(t *testing.T) {
	for code, want := range map[int]string{0: "success", 1: "findings", 2: "usage", 3: "remote", 7: "usage"} {
		if got := Outcome(code); got != want {
			t.Errorf("Outcome(%d) = %q", code, got)
		}
	}
}

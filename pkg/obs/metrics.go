package obs

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cacproj/cac/pkg/report"
)

// Recorder collects what a run did, for WriteMetrics. A nil *Recorder records nothing.
type Recorder struct {
	mu           sync.Mutex
	stages       []stage
	placeholders int
	findings     map[report.Severity]int
	degraded     string // why the run is degraded; "" when it is not
}

type stage struct {
	name    string
	seconds float64
}

// NewRecorder returns an empty recorder.
func NewRecorder() *Recorder { return &Recorder{findings: map[report.Severity]int{}} }

// Stage records how long a pipeline stage took.
func (r *Recorder) Stage(name string, d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stages = append(r.stages, stage{name, d.Seconds()})
}

// Placeholders records the number of placeholders in the templates.
func (r *Recorder) Placeholders(n int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.placeholders = n
}

// Degrade marks the run degraded (see Degraded) for reason, a sentence for the notice. A run that
// fails anyway keeps its failure outcome.
func (r *Recorder) Degrade(reason string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.degraded = reason
}

// Outcome is the outcome of a run that exited with exit: Outcome(exit), except Degraded for a run
// that exited 0 after Degrade. The reason is Degrade's, "" for any other outcome.
func (r *Recorder) Outcome(exit int) (outcome, reason string) {
	if r == nil || exit != 0 {
		return Outcome(exit), ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.degraded != "" {
		return Degraded, r.degraded
	}
	return Outcome(exit), ""
}

// Findings counts findings by severity.
func (r *Recorder) Findings(fs []report.Finding) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range fs {
		sev := f.Severity
		if sev == "" {
			sev = report.SeverityError
		}
		r.findings[sev]++
	}
}

// WriteMetrics writes the run in the Prometheus text exposition format (version 0.0.4): stage
// durations, the outcome of command (see Recorder.Outcome), placeholders and findings by severity, and the run's
// duration. Stage names repeated (diff builds base and head) are summed.
func (r *Recorder) WriteMetrics(w io.Writer, command string, exit int, elapsed time.Duration) error {
	outcome, _ := r.Outcome(exit)
	r.mu.Lock()
	defer r.mu.Unlock()
	var b bytes.Buffer
	header := func(name, typ, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	header("cac_stage_duration_seconds", "gauge", "Time each pipeline stage took in the last run.")
	var order []string
	sums := map[string]float64{}
	for _, s := range r.stages {
		if _, ok := sums[s.name]; !ok {
			order = append(order, s.name)
		}
		sums[s.name] += s.seconds
	}
	for _, name := range order {
		fmt.Fprintf(&b, "cac_stage_duration_seconds{stage=%s} %s\n", quote(name), num(sums[name]))
	}
	header("cac_run_outcome", "gauge", "1 for the outcome of the last run (success, degraded, findings, usage, remote), else 0.")
	for _, o := range Outcomes {
		v := 0
		if o == outcome {
			v = 1
		}
		fmt.Fprintf(&b, "cac_run_outcome{command=%s,outcome=%s} %d\n", quote(command), quote(o), v)
	}
	header("cac_run_duration_seconds", "gauge", "Time the last run took.")
	fmt.Fprintf(&b, "cac_run_duration_seconds{command=%s} %s\n", quote(command), num(elapsed.Seconds()))
	header("cac_placeholders_total", "counter", "Placeholders in the templates of the last run, each counted once.")
	fmt.Fprintf(&b, "cac_placeholders_total %d\n", r.placeholders)
	header("cac_findings_total", "counter", "Findings of the last run by severity.")
	sevs := []string{string(report.SeverityError), string(report.SeverityWarning)}
	for s := range r.findings {
		if s != report.SeverityError && s != report.SeverityWarning {
			sevs = append(sevs, string(s))
		}
	}
	sort.Strings(sevs[2:])
	for _, s := range sevs {
		fmt.Fprintf(&b, "cac_findings_total{severity=%s} %d\n", quote(s), r.findings[report.Severity(s)])
	}
	_, err := w.Write(b.Bytes())
	return err
}

// quote is a label value in the exposition format: "..." with \, " and newline escaped.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

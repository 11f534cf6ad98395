package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
)

// JobReport is the outcome of one job of a batch.
type JobReport struct {
	USN     string          `json:"usn"`
	Source  string          `json:"source"` // the pattern, or the files given
	Result  *Result         `json:"result,omitempty"`
	Error   string          `json:"error,omitempty"`
	Failure *report.Finding `json:"failure,omitempty"` // the error as a finding
	Exit    int             `json:"exit"`              // the job's exit class: 0 ok, 1 findings, 2 usage
	Skipped bool            `json:"skipped,omitempty"`
}

// Findings lists every warning and every failed job as findings (paths relative to each job's code
// dir), for the shared report formats (text, json, junit, github, gitlab, sarif).
func (r *BatchReport) Findings() []report.Finding {
	var fs []report.Finding
	for _, j := range r.Jobs {
		if j.Result != nil {
			fs = append(fs, j.Result.Warnings...)
		}
		if j.Failure != nil {
			fs = append(fs, *j.Failure)
		}
	}
	return fs
}

// failure turns a job's error into a finding: a VerifyError keeps its file and line.
func failure(err error) *report.Finding {
	f := &report.Finding{Rule: "import/failed", Message: err.Error(), Severity: report.SeverityError}
	var ve *VerifyError
	if errors.As(err, &ve) {
		f.Pos = report.Pos{File: ve.File, Line: ve.Line}
		f.Region, f.Rule = ve.Region, "import/verify"
		f.Message = fmt.Sprintf("import would not reproduce this file (%s); nothing was written: merge this file by hand", ve.Reason)
	}
	return f
}

// BatchReport is the report of ImportBatch.
type BatchReport struct {
	Jobs     []JobReport `json:"jobs"`
	Imported int         `json:"imported"`
	Skipped  int         `json:"skipped"` // identical variants: nothing to import
	Failed   int         `json:"failed"`
	Written  bool        `json:"written"`
}

// ImportBatch runs many imports (e.g. one per service) and writes all their files at the end. Each
// job is all-or-nothing: a failing job is reported and contributes nothing, the others are written.
// Jobs see the files staged by earlier jobs, so several files of one service can share its region
// files. A job's DryRun keeps its files out; Stderr of the jobs is not used (the report says it all).
// The error is nil when every job succeeded, else classified by the worst job (exit 1 or 2).
func ImportBatch(ctx context.Context, jobs []Options) (*BatchReport, error) {
	rep := &BatchReport{Jobs: []JobReport{}}
	st := newStage(nil)
	worst := 0
	for _, o := range jobs {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		o.Stderr = nil
		jr := JobReport{USN: o.USN, Source: source(o)}
		child := newStage(st)
		res, err := importInto(ctx, child, o)
		switch {
		case err != nil:
			jr.Error, jr.Exit, jr.Failure = err.Error(), cacerr.ExitCode(err), failure(err)
			worst = max(worst, jr.Exit)
			rep.Failed++
		case res.Template != "" && len(res.Placeholders) == 0:
			jr.Result, jr.Skipped = res, true
			rep.Skipped++
		default:
			jr.Result = res
			rep.Imported++
			if !o.DryRun {
				st.merge(child)
			}
		}
		rep.Jobs = append(rep.Jobs, jr)
	}
	if len(st.files) > 0 {
		if err := st.commit(); err != nil {
			return rep, err
		}
		rep.Written = true
		for i := range rep.Jobs {
			if r := rep.Jobs[i].Result; r != nil && !rep.Jobs[i].Skipped && !jobs[i].DryRun {
				r.Written = true
			}
		}
	}
	if rep.Failed > 0 {
		return rep, cacerr.Wrap(cacerr.Kind(worst), fmt.Errorf("%d of %d imports failed: %w", rep.Failed, len(jobs), errBatch))
	}
	return rep, nil
}

var errBatch = errors.New("see the report")

func source(o Options) string {
	if o.Pattern != "" {
		return o.Pattern
	}
	var files []string
	for f := range o.Pairs {
		files = append(files, f)
	}
	sort.Strings(files)
	return strings.Join(files, " ")
}

// WriteJSON writes the report as indented JSON.
func (r *BatchReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: one block per job, then a summary. Secret values never
// appear; secret paths are listed so the standard can mark them `secret: true`.
func (r *BatchReport) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, j := range r.Jobs {
		name := j.USN
		if name == "" {
			name = "(root)"
		}
		switch {
		case j.Error != "":
			fmt.Fprintf(&b, "FAILED   %s %s\n  %s\n", name, j.Source, j.Error)
		case j.Skipped:
			fmt.Fprintf(&b, "SKIPPED  %s %s: the regions' files are identical\n", name, j.Source)
		default:
			res := j.Result
			var regions []string
			for _, s := range res.Sources {
				regions = append(regions, s.Region)
			}
			fmt.Fprintf(&b, "IMPORTED %s %s → %s: %d placeholders, regions %s\n", name, j.Source, res.Template,
				len(res.Placeholders), strings.Join(regions, ", "))
			for _, s := range res.Secrets {
				fmt.Fprintf(&b, "  secret: %s (mark it secret: true in the standard)\n", s)
			}
			for _, f := range res.Warnings {
				fmt.Fprintf(&b, "  warning: %s\n", f)
			}
		}
	}
	state := "written"
	if !r.Written {
		state = "nothing written"
	}
	fmt.Fprintf(&b, "%d jobs: %d imported, %d skipped, %d failed; %s\n", len(r.Jobs), r.Imported, r.Skipped, r.Failed, state)
	_, err := io.WriteString(w, b.String())
	return err
}

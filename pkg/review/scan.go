package review

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/scan"
)

// BaselineFile is the scan baseline a code repo keeps at its root (cac scan --write-baseline): the
// findings it accepts. The bot reports only findings it does not accept.
const BaselineFile = ".cac-scan-baseline.json"

// ScanResult is the anti-corruption scan of the head (docs/design.md §5): the findings its baseline
// does not accept, or why the scan could not run.
type ScanResult struct {
	New      []report.Finding
	Accepted int   // findings the baseline accepted
	Err      error // the scan did not run; the review is posted all the same
}

// scanHead scans the head checkout dir with the region names and managed addresses of the head's
// values (never secret ones), and filters with dir's baseline file when there is one.
func scanHead(ctx context.Context, dir string, res *Result, secrets SecretFinder) *ScanResult {
	opt := scan.Options{Root: dir}
	paths := map[string][]string{}
	if secrets != nil {
		for region, v := range res.headValues {
			for _, s := range secrets.Secrets(v) {
				paths[region] = append(paths[region], s.Path)
			}
		}
	}
	opt.UseConfig(res.headValues, paths)
	found, err := scan.Run(ctx, opt)
	if err != nil {
		return &ScanResult{Err: err}
	}
	out := &ScanResult{New: found}
	path := filepath.Join(dir, BaselineFile)
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return out
	}
	b, err := scan.LoadBaseline(path)
	if err != nil {
		return &ScanResult{Err: err}
	}
	out.New = scan.Filter(found, b)
	out.Accepted = len(found) - len(out.New)
	return out
}

// maxScanRows keeps the scan's section small: it sits in the comment's first part.
const maxScanRows = 10

// scanSection is the comment's short section on the scan: nothing when there is nothing new.
func scanSection(s *ScanResult) string {
	if s == nil {
		return ""
	}
	if s.Err != nil {
		return "\n**Anti-corruption scan** could not run: " + cell(firstLine(s.Err)) + "\n"
	}
	if len(s.New) == 0 {
		return ""
	}
	var b strings.Builder
	noun := "findings"
	if len(s.New) == 1 {
		noun = "finding"
	}
	fmt.Fprintf(&b, "\n**Anti-corruption scan: %d new %s**", len(s.New), noun)
	if s.Accepted > 0 {
		fmt.Fprintf(&b, " (%d accepted by `%s`)", s.Accepted, BaselineFile)
	}
	b.WriteString("\n\n| Severity | Where | Rule | Message |\n|---|---|---|---|\n")
	for i, f := range s.New {
		if i == maxScanRows {
			fmt.Fprintf(&b, "\n… and %d more: run `cac scan --baseline %s`\n", len(s.New)-maxScanRows, BaselineFile)
			break
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", f.Severity, cell(f.Pos.String()), f.Rule, cell(f.Message))
	}
	return b.String()
}

// cell is text fit for one table cell: one line, no pipes or backticks, at most 200 characters.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.NewReplacer("|", `\|`, "`", "'").Replace(s)
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}

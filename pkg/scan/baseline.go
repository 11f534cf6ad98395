package scan

import (
	"encoding/json"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
)

// Baseline is a reviewed list of accepted findings (`cac scan --write-baseline`). With
// `--baseline`, findings it lists are not reported, so only new ones fail a merge request.
type Baseline struct {
	Version  int             `json:"cacScanBaseline"` // first key: Run recognises and skips baseline files
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry is one accepted finding. It matches on Rule, File and Fingerprint (a hash of the
// line's trimmed text), never on the line number, so it survives code moving up or down.
// Message is there for reviewers of the baseline file and is not matched.
type BaselineEntry struct {
	Rule        string `json:"rule"`
	File        string `json:"file,omitempty"`
	Fingerprint string `json:"fingerprint"`
	Message     string `json:"message,omitempty"`
}

func entryOf(f report.Finding) BaselineEntry {
	fp := f.Fingerprint
	if fp == "" { // a finding from another check: its own fields are its identity
		fp = fingerprint(f.Rule, f.File, f.Path+"\x00"+f.Region+"\x00"+f.Message)
	}
	return BaselineEntry{Rule: f.Rule, File: f.File, Fingerprint: fp, Message: f.Message}
}

func (e BaselineEntry) key() string { return e.Rule + "\x00" + e.File + "\x00" + e.Fingerprint }

// WriteBaseline writes findings as a baseline, sorted so it diffs well in review.
func WriteBaseline(w io.Writer, findings []report.Finding) error {
	b := Baseline{Version: 1, Findings: make([]BaselineEntry, 0, len(findings))}
	for _, f := range findings {
		b.Findings = append(b.Findings, entryOf(f))
	}
	slices.SortStableFunc(b.Findings, func(x, y BaselineEntry) int {
		return strings.Compare(x.File+"\x00"+x.Rule+"\x00"+x.Fingerprint, y.File+"\x00"+y.Rule+"\x00"+y.Fingerprint)
	})
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

// baselineMark starts every baseline file WriteBaseline writes, wherever it is kept.
var baselineMark = []byte("{\n  \"cacScanBaseline\":")

// LoadBaseline reads a baseline file. A missing or malformed file is a usage error (exit 2).
func LoadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, cacerr.Usage("read baseline: %w", err)
	}
	var b Baseline
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, cacerr.Usage("baseline %s is not a cac scan baseline: %w", path, err)
	}
	if b.Version != 1 {
		return nil, cacerr.Usage("baseline %s has version %d; this cac reads version 1", path, b.Version)
	}
	return &b, nil
}

// Filter returns the findings the baseline does not accept, in their order. Each entry accepts
// one finding, so a second copy of an accepted line is still new. A nil baseline accepts nothing.
func Filter(findings []report.Finding, b *Baseline) []report.Finding {
	if b == nil {
		return findings
	}
	left := map[string]int{}
	for _, e := range b.Findings {
		left[e.key()]++
	}
	var out []report.Finding
	for _, f := range findings {
		k := entryOf(f).key()
		if left[k] > 0 {
			left[k]--
			continue
		}
		out = append(out, f)
	}
	return out
}

// Package report holds the findings every check produces (validation, placeholders, scan)
// and writes them in the output formats of docs/design.md §4.
package report

import (
	"fmt"
	"sort"
)

// Severity of a finding. Errors fail the command (exit 1); warnings are printed only.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Pos is a position in a file: relative path with forward slashes, 1-based line and column.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

func (p Pos) String() string {
	switch {
	case p.File == "":
		return ""
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Finding is one problem in the user's input. Message is written for a newcomer: what is wrong and
// what to do. A finding never carries a secret value.
type Finding struct {
	Pos
	Region   string   `json:"region,omitempty"`
	Path     string   `json:"path,omitempty"` // value path, dotted: mysql.main.port
	Rule     string   `json:"rule"`           // e.g. placeholder/unresolved, required, pattern
	Message  string   `json:"message"`
	Severity Severity `json:"severity"`
	// Related lists other positions that contributed (e.g. the values file behind a template's placeholder).
	Related []Pos `json:"related,omitempty"`
	// Fingerprint identifies the finding independently of its line number (e.g. a hash of rule, file
	// and the line's text), for baselines that survive code moving; empty when a check sets none.
	Fingerprint string `json:"fingerprint,omitempty"`
}

func (f Finding) String() string {
	s := f.Pos.String()
	if s != "" {
		s += ": "
	}
	if f.Region != "" {
		s += "[" + f.Region + "] "
	}
	if f.Path != "" {
		s += f.Path + ": "
	}
	s += f.Message
	if f.Rule != "" {
		s += " (" + f.Rule + ")"
	}
	return s
}

// Sort orders findings stably: by file, line, column, region, path, rule, message.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// Errors counts findings of severity error.
func Errors(fs []Finding) int {
	n := 0
	for _, f := range fs {
		if f.Severity != SeverityWarning {
			n++
		}
	}
	return n
}

package report

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
)

// Options tune how findings are written.
type Options struct {
	Tool    string // the command that produced the findings, e.g. "cac validate"
	Color   bool   // ANSI colour in the text format; decide with ColorEnabled
	Version string // cac's version, written where a format has room for it (sarif)
}

// writers holds one function per format; each lives in its own file.
var writers = map[string]func(io.Writer, []Finding, Options) error{
	"text":   writeText,
	"json":   writeJSON,
	"junit":  writeJUnit,
	"github": writeGitHub,
	"gitlab": writeGitLab,
	"sarif":  writeSARIF,
}

// Formats lists the names Write accepts, in the order help texts show them.
var Formats = []string{"text", "json", "junit", "github", "gitlab", "sarif"}

// ParseFormat checks a --format value and returns its canonical name.
// An unknown name is a usage error (exit 2) that lists the valid ones.
func ParseFormat(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if slices.Contains(Formats, n) {
		return n, nil
	}
	return "", cacerr.Usage("unknown output format %q: valid formats are %s", name, strings.Join(Formats, ", "))
}

// Write prints findings to w in the named format. Findings are written in Sort order;
// the caller's slice is not changed.
func Write(w io.Writer, format string, findings []Finding, opt Options) error {
	name, err := ParseFormat(format)
	if err != nil {
		return err
	}
	fs := slices.Clone(findings)
	Sort(fs)
	if opt.Tool == "" {
		opt.Tool = "cac"
	}
	if err := writers[name](w, fs, opt); err != nil {
		return fmt.Errorf("write %s report: %w", name, err)
	}
	return nil
}

// ColorEnabled reports whether text output to f should be coloured: f is a terminal,
// NO_COLOR is unset or empty (https://no-color.org) and TERM is not "dumb".
// env is usually os.Getenv.
func ColorEnabled(f *os.File, env func(string) string) bool {
	if f == nil || env("NO_COLOR") != "" || env("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Summary counts findings by severity.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// Summarize counts the errors and warnings in fs.
func Summarize(fs []Finding) Summary {
	e := Errors(fs)
	return Summary{Errors: e, Warnings: len(fs) - e}
}

// label is a finding's text without its position: "[region] path: message".
func (f Finding) label() string {
	s := ""
	if f.Region != "" {
		s += "[" + f.Region + "] "
	}
	if f.Path != "" {
		s += f.Path + ": "
	}
	return s + f.Message
}

// isWarning is the one test of severity the formats use: anything not a warning is an error.
func (f Finding) isWarning() bool { return f.Severity == SeverityWarning }

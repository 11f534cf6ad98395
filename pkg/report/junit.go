package report

import (
	"encoding/xml"
	"io"
	"strings"
)

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string         `xml:"name,attr"`
	Classname string         `xml:"classname,attr"`
	Failures  []junitFailure `xml:"failure"`
	SystemOut string         `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// writeJUnit prints one testsuite named after the tool with one testcase per file. Every error is a
// <failure> of its testcase; warnings do not fail a test and go to the testcase's <system-out>.
// encoding/xml escapes text and attributes and replaces characters XML cannot hold.
func writeJUnit(w io.Writer, fs []Finding, opt Options) error {
	suite := junitSuite{Name: opt.Tool}
	for i, f := range fs {
		if i == 0 || f.File != fs[i-1].File {
			name := f.File
			if name == "" {
				name = noFile
			}
			suite.Cases = append(suite.Cases, junitCase{Name: name, Classname: opt.Tool})
		}
		c := &suite.Cases[len(suite.Cases)-1]
		if f.isWarning() {
			c.SystemOut += "warning: " + f.String() + "\n"
			continue
		}
		c.Failures = append(c.Failures, junitFailure{Message: f.label(), Type: f.Rule, Text: f.String()})
	}
	for _, c := range suite.Cases {
		if len(c.Failures) > 0 {
			suite.Failures++
		}
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{Name: opt.Tool, Tests: suite.Tests, Failures: suite.Failures, Suites: []junitSuite{suite}}
	var b strings.Builder
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

package report

import (
	"encoding/xml"
	"testing"

	"github.com/cacproj/cac/internal/golden"
)

func TestJUnit(t *testing.T) {
	t.Run("sample", func(t *testing.T) {
		out := render(t, "junit", sample(), Options{Tool: "cac validate"})
		golden.Assert(t, out)
		var back junitSuites
		if err := xml.Unmarshal(out, &back); err != nil {
			t.Fatalf("not valid XML: %v", err)
		}
		s := back.Suites[0]
		if s.Tests != 3 || s.Failures != 2 || len(s.Cases[1].Failures) != 2 {
			t.Errorf("tests=%d failures=%d, want 3 testcases (one per file) and 2 failing", s.Tests, s.Failures)
		}
		if got := s.Cases[1].Failures[0].Message; got != "[us1] name: value <a&b> does not match \"^[a-z]+$\"\n100% sure: fix it" {
			t.Errorf("escaped message did not round-trip: %q", got)
		}
	})
	t.Run("empty", func(t *testing.T) { golden.Assert(t, render(t, "junit", nil, Options{Tool: "cac scan"})) })
}

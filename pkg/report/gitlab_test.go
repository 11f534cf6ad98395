package report

import (
	"encoding/json"
	"testing"

	"github.com/cacproj/cac/internal/golden"
)

func TestGitLab(t *testing.T) {
	golden.Assert(t, render(t, "gitlab", sample(), Options{}))
}

func TestGitLabFingerprint(t *testing.T) {
	f := Finding{Pos: Pos{File: "a.go", Line: 3}, Rule: "scan/env-compare", Message: "m"}
	shifted := f
	shifted.Line = 30
	other := f
	other.Message = "n"
	fp := func(fs ...Finding) []string {
		var issues []glIssue
		if err := json.Unmarshal(render(t, "gitlab", fs, Options{}), &issues); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, i := range issues {
			out = append(out, i.Fingerprint)
		}
		return out
	}
	if fp(f)[0] != fp(shifted)[0] {
		t.Error("fingerprint changed when only the line moved")
	}
	if fp(f)[0] == fp(other)[0] {
		t.Error("different messages share a fingerprint")
	}
	if two := fp(f, shifted); two[0] == two[1] {
		t.Error("two occurrences of one issue in one file share a fingerprint")
	}
}

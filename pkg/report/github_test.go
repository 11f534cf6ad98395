package report

import (
	"testing"

	"github.com/cacproj/cac/internal/golden"
)

func TestGitHub(t *testing.T) {
	golden.Assert(t, render(t, "github", sample(), Options{}))
}

func TestGitHubEscaping(t *testing.T) {
	f := Finding{Pos: Pos{File: "a,b:c%.go", Line: 1}, Rule: "r:1,2", Message: "50%\r\nnext: a,b"}
	got := string(render(t, "github", []Finding{f}, Options{}))
	want := "::error file=a%2Cb%3Ac%25.go,line=1,title=r%3A1%2C2::50%25%0D%0Anext: a,b\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

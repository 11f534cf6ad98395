package diff

import (
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	var sb strings.Builder
	if err := WriteText(&sb, fixtureResult(), false); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, sb.String())
}

func TestWriteTextColor(t *testing.T) {
	var sb strings.Builder
	if err := WriteText(&sb, fixtureResult(), true); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, sb.String())
}

func TestWriteTextBinary(t *testing.T) {
	r := Compute(Tree{"eu": {"logo.png": []byte("\x89PNG\x00a")}}, Tree{"eu": {"logo.png": []byte("\x89PNG\x00b")}}, Options{})
	var sb strings.Builder
	if err := WriteText(&sb, r, false); err != nil {
		t.Fatal(err)
	}
	if want := "Binary files a/eu/logo.png and b/eu/logo.png differ\n"; sb.String() != want {
		t.Errorf("got %q, want %q", sb.String(), want)
	}
}

func TestWriteSummary(t *testing.T) {
	var sb strings.Builder
	if err := WriteSummary(&sb, fixtureResult()); err != nil {
		t.Fatal(err)
	}
	sb.WriteString("---\n")
	if err := WriteSummary(&sb, Compute(Tree{}, Tree{}, Options{})); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, sb.String())
}

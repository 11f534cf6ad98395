package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSwapAside(t *testing.T) {
	parent := t.TempDir()
	out, tmp := filepath.Join(parent, "cac"), filepath.Join(parent, ".cac-tmp-cac-123")
	writeFiles(t, out, map[string]string{"sg/a": "old"})
	writeFiles(t, tmp, map[string]string{"sg/a": "new"})
	if err := swapAside(tmp, out); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "sg", "a")); string(got) != "new" {
		t.Fatalf("out holds %q", got)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Fatalf("leftovers: %v", entries)
	}
}

func TestStaleTempsOnlyOwn(t *testing.T) {
	parent := t.TempDir()
	for _, d := range []string{".cac-tmp-svc-123", ".cac-tmp-svc-456.old", ".cac-tmp-svc-a-789", ".cac-tmp-svc-x"} {
		if err := os.Mkdir(filepath.Join(parent, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, s := range staleTemps(parent, ".cac-tmp-svc-") {
		got = append(got, filepath.Base(s))
	}
	if want := []string{".cac-tmp-svc-123", ".cac-tmp-svc-456.old"}; !slices.Equal(got, want) {
		t.Fatalf("stale temps of svc: %v, want %v (svc-a's are not svc's)", got, want)
	}
}

package fleet

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestTrees(t *testing.T) {
	base, head := Trees(10, 4, 5, 10)
	total, changed := 0, 0
	for region, fs := range base {
		for path, b := range fs {
			total++
			if bytes.Count(b, []byte("\n")) != Lines {
				t.Fatalf("%s/%s has %d lines", region, path, bytes.Count(b, []byte("\n")))
			}
			if !bytes.Equal(b, head[region][path]) {
				changed++
			}
		}
	}
	if total != 200 || changed != 20 {
		t.Errorf("%d files, %d changed; want 200, 20", total, changed)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	b, h, err := Write(dir, 2, 2, 2, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{b, h} {
		if _, err := os.Stat(filepath.Join(d, "region-01", "svc-0001", "conf", "file-01.toml")); err != nil {
			t.Error(err)
		}
	}
}

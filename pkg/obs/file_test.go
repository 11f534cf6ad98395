package obs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAll(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "sub", "f.yaml")
	if err := WriteFileAll(name, []byte("one\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAll(name, []byte("two\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name)
	if err != nil || string(data) != "two\n" {
		t.Fatalf("content %q, %v; want %q", data, err, "two\n")
	}
	st, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", st.Mode().Perm())
	}
	left, err := os.ReadDir(filepath.Dir(name))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left)", len(left))
	}
}

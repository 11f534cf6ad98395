package gitremote

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

func treeFS(t *testing.T, entries map[string]entry) *TreeFS {
	t.Helper()
	s, c := memCommit(t, entries)
	fsys, err := NewTreeFS(s, c)
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TreeFS behaves as io/fs says (fstest.TestFS opens, stats, lists and reads every file).
func TestTreeFSConformance(t *testing.T) {
	fsys := treeFS(t, map[string]entry{
		"_regions.yaml":   {filemode.Regular, "regions: [eu]\n"},
		"_global/eu.yaml": {filemode.Regular, "g: 1\n"},
		"svc/eu.yaml":     {filemode.Regular, "a: 1\n"},
		"svc/us.yml":      {filemode.Regular, "a: 2\n"},
		"tools/run.sh":    {filemode.Executable, "#!/bin/sh\n"},
	})
	if err := fstest.TestFS(fsys, "_regions.yaml", "_global/eu.yaml", "svc/eu.yaml", "svc/us.yml", "tools/run.sh"); err != nil {
		t.Fatal(err)
	}
	if st, err := fs.Stat(fsys, "tools/run.sh"); err != nil || st.Mode() != 0o755 || st.Size() != 10 {
		t.Errorf("stat tools/run.sh = %v, %v", st, err)
	}
	if _, err := fsys.ReadFile("svc/eu.yaml/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a path through a file: %v, want not exist", err)
	}
	if _, err := fsys.ReadFile("../svc/eu.yaml"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("a path above the root: %v, want invalid", err)
	}
}

// Symlinks are followed inside the tree, listed as symlinks, and refused when they lead outside
// it, as an os.Root refuses them; only the blobs read are decoded.
func TestTreeFSSymlinks(t *testing.T) {
	fsys := treeFS(t, map[string]entry{
		"svc/eu.yaml":     {filemode.Regular, "a: 1\n"},
		"svc/us.yaml":     {filemode.Symlink, "eu.yaml"},
		"svc/g.yaml":      {filemode.Symlink, "../_global/eu.yaml"},
		"_global/eu.yaml": {filemode.Regular, "g: 1\n"},
		"alias":           {filemode.Symlink, "svc"},
		"loop":            {filemode.Symlink, "loop"},
		"svc/abs.yaml":    {filemode.Symlink, "/etc/passwd"},
		"svc/up.yaml":     {filemode.Symlink, "../../outside.yaml"},
		"other/x.yaml":    {filemode.Regular, "x: 1\n"},
	})
	for name, want := range map[string]string{"svc/us.yaml": "a: 1\n", "svc/g.yaml": "g: 1\n", "alias/eu.yaml": "a: 1\n", "alias/g.yaml": "g: 1\n"} {
		if got, err := fs.ReadFile(fsys, name); err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, name := range []string{"svc/abs.yaml", "svc/up.yaml"} {
		if _, err := fs.ReadFile(fsys, name); !errors.Is(err, ErrSymlinkEscapes) {
			t.Errorf("%s: %v, want ErrSymlinkEscapes", name, err)
		}
		if _, err := fs.Stat(fsys, name); !errors.Is(err, ErrSymlinkEscapes) {
			t.Errorf("stat %s: %v, want ErrSymlinkEscapes", name, err)
		}
	}
	if _, err := fs.ReadFile(fsys, "loop"); err == nil {
		t.Error("a symlink loop was read")
	}
	entries, err := fs.ReadDir(fsys, "alias")
	if err != nil || len(entries) != 5 || entries[0].Name() != "abs.yaml" || entries[0].Type() != fs.ModeSymlink || entries[1].Type() != 0 {
		t.Errorf("ReadDir(alias) = %v, %v", entries, err)
	}

	// Only what was read: every read above resolved a symlink or read a file of svc/ or _global/.
	before := fsys.BlobsRead()
	if _, err := fs.ReadDir(fsys, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(fsys, "other/x.yaml"); err != nil {
		t.Fatal(err)
	}
	if n := fsys.BlobsRead() - before; n != 0 {
		t.Errorf("listing and stat read %d blobs, want 0", n)
	}
	if _, err := fs.ReadFile(fsys, "other/x.yaml"); err != nil || fsys.BlobsRead()-before != 1 {
		t.Errorf("reading one file read %d blobs (%v), want 1", fsys.BlobsRead()-before, err)
	}
}

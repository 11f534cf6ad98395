package configmerge

import (
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/cacproj/cac/pkg/gitremote"
)

// TestMergeFiles covers the path-level cases of the three-way merge on in-memory blobs.
func TestMergeFiles(t *testing.T) {
	s := memory.NewStorage()
	blob := func(content string) entry {
		h, err := gitremote.WriteBlob(s, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		return entry{Mode: filemode.Regular, Hash: h}
	}
	exec := func(e entry) entry { e.Mode = filemode.Executable; return e }
	link := func(e entry) entry { e.Mode = filemode.Symlink; return e }
	a, b, c := blob("a\n"), blob("b\n"), blob("c\n")
	base := map[string]entry{
		"same":         a,
		"ours-edit":    a,
		"theirs-del":   a,
		"both-del":     a,
		"del-mod":      a,
		"mod-del":      a,
		"mode-theirs":  a,
		"mode-clash":   a,
		"mode-content": blob("x\ny\nz\nw\n"),
		"link":         link(a),
		"dir":          a,
	}
	ours := map[string]entry{
		"same":         a,
		"ours-edit":    b,
		"theirs-del":   a,
		"mod-del":      b,
		"mode-theirs":  a,
		"mode-clash":   exec(a),
		"mode-content": blob("x\ny2\nz\nw\n"),
		"link":         link(b),
		"dir":          a,
		"added-same":   c,
		"added-diff":   b,
		"fd":           b,
	}
	theirs := map[string]entry{
		"same":         a,
		"ours-edit":    a,
		"del-mod":      b,
		"mode-theirs":  exec(a),
		"mode-clash":   link(a),
		"mode-content": exec(blob("x\ny\nz\nw2\n")),
		"link":         link(c),
		"dir/file":     a,
		"added-same":   c,
		"added-diff":   c,
		"added-theirs": b,
		"fd/x":         a,
	}
	merged, conflicts, err := mergeFiles(s, base, ours, theirs)
	if err != nil {
		t.Fatal(err)
	}
	wantConflicts := []Conflict{
		{Path: "added-diff", Kind: AddAddConflict},
		{Path: "del-mod", Kind: DeletedInDefault},
		{Path: "fd", Kind: FileDirConflict},
		{Path: "link", Kind: BinaryConflict},
		{Path: "mod-del", Kind: DeletedInBranch},
		{Path: "mode-clash", Kind: ModeConflict},
	}
	if !reflect.DeepEqual(conflicts, wantConflicts) {
		t.Errorf("conflicts:\n%+v\nwant:\n%+v", conflicts, wantConflicts)
	}
	for path, want := range map[string]entry{
		"same": a, "ours-edit": b, "mode-theirs": exec(a), "added-same": c, "added-theirs": b, "dir/file": a,
	} {
		if merged[path] != want {
			t.Errorf("%s: merged %+v, want %+v", path, merged[path], want)
		}
	}
	for _, gone := range []string{"theirs-del", "both-del", "dir"} {
		if _, ok := merged[gone]; ok {
			t.Errorf("%s: deleted on one side and unchanged on the other, still merged", gone)
		}
	}
	mc := merged["mode-content"]
	data, err := gitremote.ReadBlob(s, mc.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Mode != filemode.Executable || string(data) != "x\ny2\nz\nw2\n" {
		t.Errorf("mode-content: mode %v, content %q; want the branch's mode and both edits", mc.Mode, data)
	}
}

// TestWriteTree: nested paths, git's entry order (a directory sorts as "name/"), and the same
// files give the same tree hash as go-git's own reading of it.
func TestWriteTree(t *testing.T) {
	s := memory.NewStorage()
	h1, _ := gitremote.WriteBlob(s, []byte("1\n"))
	h2, _ := gitremote.WriteBlob(s, []byte("2\n"))
	fs := map[string]entry{
		"a.yaml":     {Mode: filemode.Regular, Hash: h1},
		"a/b.yaml":   {Mode: filemode.Regular, Hash: h2},
		"a-b/c.yaml": {Mode: filemode.Executable, Hash: h1},
		"z":          {Mode: filemode.Regular, Hash: h2},
	}
	root, err := writeTree(s, fs)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := object.GetTree(s, root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range tree.Entries {
		names = append(names, e.Name)
	}
	if want := []string{"a-b", "a.yaml", "a", "z"}; !reflect.DeepEqual(names, want) {
		t.Errorf("root entries %v, want git's order %v", names, want)
	}
	got, err := files(tree)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, fs) {
		t.Errorf("read back %+v, want %+v", got, fs)
	}
	if again, _ := writeTree(s, got); again != root || root == plumbing.ZeroHash {
		t.Errorf("tree hash %s then %s", root, again)
	}
}

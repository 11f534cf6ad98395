package gitremote

import (
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// A directory sorts as if its name ended in "/": "a.txt" < "a/" < "a0", where plain name order
// would put "a" first.
func TestWriteTreeOrdersEntriesLikeGit(t *testing.T) {
	s := memory.NewStorage()
	blob, err := WriteBlob(s, []byte("x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if data, err := ReadBlob(s, blob); err != nil || string(data) != "x\n" {
		t.Fatalf("ReadBlob = %q, %v", data, err)
	}
	sub, err := WriteTree(s, []object.TreeEntry{{Name: "f", Mode: filemode.Regular, Hash: blob}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := WriteTree(s, []object.TreeEntry{
		{Name: "a0", Mode: filemode.Regular, Hash: blob},
		{Name: "a", Mode: filemode.Dir, Hash: sub},
		{Name: "a.txt", Mode: filemode.Regular, Hash: blob},
	})
	if err != nil {
		t.Fatal(err)
	}
	tree, err := object.GetTree(s, h)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range tree.Entries {
		names = append(names, e.Name)
	}
	if got, want := names, []string{"a.txt", "a", "a0"}; !slices.Equal(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	if f, err := tree.File("a/f"); err != nil || f.Hash != blob {
		t.Errorf("a/f = %v, %v", f, err)
	}
}

package gitremote

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type entry struct {
	mode    filemode.FileMode
	content string
}

// memCommit stores a commit whose tree holds entries (name → mode and content; "a/b" nests).
func memCommit(t *testing.T, entries map[string]entry) (*memory.Storage, *object.Commit) {
	t.Helper()
	s := memory.NewStorage()
	put := func(o interface {
		Encode(plumbing.EncodedObject) error
	}) plumbing.Hash {
		obj := s.NewEncodedObject()
		if err := o.Encode(obj); err != nil {
			t.Fatal(err)
		}
		h, err := s.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	blob := func(content string) plumbing.Hash {
		obj := s.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, _ := obj.Writer()
		w.Write([]byte(content))
		w.Close()
		h, err := s.SetEncodedObject(obj)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	root := &object.Tree{}
	subs := map[string]*object.Tree{}
	for name, e := range entries {
		te := object.TreeEntry{Mode: e.mode, Hash: blob(e.content)}
		if dir, base, ok := strings.Cut(name, "/"); ok {
			if subs[dir] == nil {
				subs[dir] = &object.Tree{}
			}
			te.Name = base
			subs[dir].Entries = append(subs[dir].Entries, te)
			continue
		}
		te.Name = name
		root.Entries = append(root.Entries, te)
	}
	for dir, sub := range subs {
		sortEntries(sub)
		root.Entries = append(root.Entries, object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: put(sub)})
	}
	sortEntries(root)
	c := &object.Commit{TreeHash: put(root), Message: "m"}
	c, err := object.GetCommit(s, put(c))
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	s, c := memCommit(t, map[string]entry{
		"conf/a.yaml": {filemode.Regular, "a: 1\n"},
		"run.sh":      {filemode.Executable, "#!/bin/sh\n"},
		"link.yaml":   {filemode.Symlink, "conf/a.yaml"},
		"conf/up":     {filemode.Symlink, "../run.sh"},
	})
	if err := writeFiles(s, c, dir); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "link.yaml")); got != "a: 1\n" {
		t.Errorf("link.yaml reads %q", got)
	}
	if target, err := os.Readlink(filepath.Join(dir, "conf/up")); err != nil || target != "../run.sh" {
		t.Errorf("conf/up -> %q, %v", target, err)
	}
	for name, want := range map[string]os.FileMode{"run.sh": 0o755, "conf/a.yaml": 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm()&0o111 != want&0o111 {
			t.Errorf("%s mode %v, %v; want %v", name, st.Mode(), err, want)
		}
	}
}

func TestWriteFilesRefusesEscapes(t *testing.T) {
	for name, entries := range map[string]map[string]entry{
		"absolute symlink": {"x": {filemode.Symlink, "/etc/passwd"}},
		"symlink up":       {"conf/x": {filemode.Symlink, "../../outside"}},
	} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "co")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			s, c := memCommit(t, entries)
			err := writeFiles(s, c, dir)
			if err == nil || !strings.Contains(err.Error(), "refusing") {
				t.Errorf("err = %v, want a refusal", err)
			}
			if _, err := os.Lstat(filepath.Join(parent, "x")); !os.IsNotExist(err) {
				t.Errorf("wrote outside the checkout: %v", err)
			}
		})
	}
}

func sortEntries(t *object.Tree) {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
}

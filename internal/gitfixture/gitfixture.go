// Package gitfixture builds bare git repositories for tests with go-git, without a git binary and
// without a work tree: each branch is one commit whose tree holds exactly the given files.
//
//	bare := gitfixture.Bare(t, t.TempDir(), "config", map[string]map[string]string{
//		"trunk":     {"svc/eu.yaml": "a: 1\n"},
//		"feature-x": {"svc/eu.yaml": "a: 2\n"},
//	}, "trunk")
//	gitfixture.Commit(t, bare, "trunk", map[string]string{"svc/us.yaml": "a: 3\n"}, "add us")
//
// Serve the result with internal/gitserver (root = the dir passed to Bare) or clone it by path.
// Commits have a fixed author and time, so the same input gives the same hashes.
package gitfixture

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Bare creates the bare repository dir/name.git with one commit per branch (the branch's files,
// path → content, slash-separated paths) and HEAD pointing at defaultBranch; it returns the path.
// It fails the test on error.
func Bare(t testing.TB, dir, name string, branches map[string]map[string]string, defaultBranch string) string {
	t.Helper()
	p, err := BareE(dir, name, branches, defaultBranch)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BareE is Bare for callers without a testing.TB (testscript setup); it returns the error instead.
func BareE(dir, name string, branches map[string]map[string]string, defaultBranch string) (string, error) {
	if _, ok := branches[defaultBranch]; !ok {
		return "", fmt.Errorf("gitfixture: default branch %q is not among the branches", defaultBranch)
	}
	p := filepath.Join(dir, name+".git")
	repo, err := git.PlainInit(p, true)
	if err != nil {
		return "", fmt.Errorf("gitfixture: init %s: %w", p, err)
	}
	names := make([]string, 0, len(branches))
	for b := range branches {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		if err := commit(repo, b, branches[b], "config for "+b, false); err != nil {
			return "", err
		}
	}
	head := plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(defaultBranch))
	if err := repo.Storer.SetReference(head); err != nil {
		return "", fmt.Errorf("gitfixture: set HEAD: %w", err)
	}
	return p, nil
}

// Commit adds a commit with message msg on branch of the bare repository at bareDir. Its tree is the
// branch's current tree with files added or replaced; a branch that does not exist yet is created
// with exactly files. It fails the test on error.
func Commit(t testing.TB, bareDir, branch string, files map[string]string, msg string) plumbing.Hash {
	t.Helper()
	h, err := CommitE(bareDir, branch, files, msg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// CommitE is Commit for callers without a testing.TB; it returns the new commit's hash.
func CommitE(bareDir, branch string, files map[string]string, msg string) (plumbing.Hash, error) {
	repo, err := git.PlainOpen(bareDir)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitfixture: open %s: %w", bareDir, err)
	}
	if err := commit(repo, branch, files, msg, true); err != nil {
		return plumbing.ZeroHash, err
	}
	ref, err := repo.Reference(plumbing.NewBranchReferenceName(branch), false)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("gitfixture: read branch %s: %w", branch, err)
	}
	return ref.Hash(), nil
}

// commit writes one commit on branch. With overlay, files are laid over the branch tip's tree and the
// tip becomes the parent.
func commit(repo *git.Repository, branch string, files map[string]string, msg string, overlay bool) error {
	all := map[string]string{}
	var parents []plumbing.Hash
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	refName := plumbing.NewBranchReferenceName(branch)
	if overlay {
		ref, err := repo.Reference(refName, false)
		switch {
		case errors.Is(err, plumbing.ErrReferenceNotFound):
		case err != nil:
			return fmt.Errorf("gitfixture: read branch %s: %w", branch, err)
		default:
			parent, err := repo.CommitObject(ref.Hash())
			if err != nil {
				return fmt.Errorf("gitfixture: read commit %s: %w", ref.Hash(), err)
			}
			if err := flatten(parent, all); err != nil {
				return err
			}
			parents = []plumbing.Hash{parent.Hash}
			when = parent.Committer.When.Add(time.Minute)
		}
	}
	for p, c := range files {
		all[p] = c
	}
	// New objects go to memory first, then to the repository as one packfile: git reads a pack
	// far faster than thousands of loose objects, as on a real server.
	mem := memory.NewStorage()
	tree, err := writeTree(mem, all)
	if err != nil {
		return fmt.Errorf("gitfixture: write tree for %s: %w", branch, err)
	}
	sig := object.Signature{Name: "cac fixture", Email: "fixture@cac.invalid", When: when}
	c := &object.Commit{Author: sig, Committer: sig, Message: msg + "\n", TreeHash: tree, ParentHashes: parents}
	h, err := store(mem, c)
	if err != nil {
		return fmt.Errorf("gitfixture: write commit on %s: %w", branch, err)
	}
	if err := writePack(repo.Storer, mem); err != nil {
		return fmt.Errorf("gitfixture: write pack for %s: %w", branch, err)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(refName, h)); err != nil {
		return fmt.Errorf("gitfixture: set branch %s: %w", branch, err)
	}
	return nil
}

// writePack stores every object of src in dst as one packfile (with its index).
func writePack(dst storer.Storer, src *memory.Storage) error {
	pw, ok := dst.(storer.PackfileWriter)
	if !ok {
		return fmt.Errorf("storage %T cannot write packfiles", dst)
	}
	hashes := make([]plumbing.Hash, 0, len(src.Objects))
	for h := range src.Objects {
		hashes = append(hashes, h)
	}
	w, err := pw.PackfileWriter()
	if err != nil {
		return err
	}
	if _, err := packfile.NewEncoder(w, src, false).Encode(hashes, 0); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func flatten(c *object.Commit, into map[string]string) error {
	files, err := c.Files()
	if err != nil {
		return fmt.Errorf("gitfixture: list files of %s: %w", c.Hash, err)
	}
	return files.ForEach(func(f *object.File) error {
		s, err := f.Contents()
		into[f.Name] = s
		return err
	})
}

// writeTree stores the tree (and subtrees and blobs) holding files and returns its hash.
func writeTree(s storer.EncodedObjectStorer, files map[string]string) (plumbing.Hash, error) {
	blobs := map[string]string{}              // direct children: name → content
	subdirs := map[string]map[string]string{} // subdirectory → its files relative to it
	for p, content := range files {
		p = path.Clean(strings.TrimPrefix(p, "/"))
		dir, rest, nested := strings.Cut(p, "/")
		if !nested {
			blobs[p] = content
			continue
		}
		if subdirs[dir] == nil {
			subdirs[dir] = map[string]string{}
		}
		subdirs[dir][rest] = content
	}
	var t object.Tree
	for name, content := range blobs {
		if _, clash := subdirs[name]; clash {
			return plumbing.ZeroHash, fmt.Errorf("%q is both a file and a directory", name)
		}
		obj := s.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		w, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if _, err := w.Write([]byte(content)); err != nil {
			return plumbing.ZeroHash, err
		}
		if err := w.Close(); err != nil {
			return plumbing.ZeroHash, err
		}
		h, err := s.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: h})
	}
	for name, sub := range subdirs {
		h, err := writeTree(s, sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	// git orders tree entries by name, with directories compared as if they ended in "/".
	sort.Slice(t.Entries, func(i, j int) bool { return sortKey(t.Entries[i]) < sortKey(t.Entries[j]) })
	return store(s, &t)
}

func sortKey(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

func store(s storer.EncodedObjectStorer, o interface {
	Encode(plumbing.EncodedObject) error
}) (plumbing.Hash, error) {
	obj := s.NewEncodedObject()
	if err := o.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return s.SetEncodedObject(obj)
}

// Tip is the commit at the HEAD branch of the repository bare.
func Tip(t testing.TB, bare string) *object.Commit {
	t.Helper()
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

package gitops

import (
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/diff"
)

// changesBetween lists the files that differ between the tip's tree and the new tree and, when
// withDiff, a unified diff written by pkg/diff, as `cac diff` writes one. Subtrees with equal
// hashes are skipped and only the trees on changed paths are read, so this costs what changed,
// not the size of the repository.
func changesBetween(base *object.Tree, st storer.EncodedObjectStorer, newTree plumbing.Hash, withDiff bool) ([]FileChange, string, error) {
	var from plumbing.Hash
	if base != nil {
		from = base.Hash
	}
	var chs []fileDelta
	if err := diffTrees(st, "", from, newTree, &chs); err != nil {
		return nil, "", err
	}
	sort.Slice(chs, func(i, j int) bool { return chs[i].path < chs[j].path })
	out := make([]FileChange, len(chs))
	var sb strings.Builder
	for i, ch := range chs {
		fc := FileChange{Path: ch.path, Op: "modify"}
		switch {
		case ch.from.IsZero():
			fc.Op = "add"
		case ch.to.IsZero():
			fc.Op = "delete"
		}
		out[i] = fc
		if !withDiff {
			continue
		}
		oldText, err := blobText(st, ch.from)
		if err != nil {
			return nil, "", err
		}
		newText, err := blobText(st, ch.to)
		if err != nil {
			return nil, "", err
		}
		a, b := "a/"+fc.Path, "b/"+fc.Path
		switch fc.Op {
		case "add":
			a = "/dev/null"
		case "delete":
			b = "/dev/null"
		}
		sb.WriteString(diff.Unified(a, b, oldText, newText))
	}
	return out, sb.String(), nil
}

// fileDelta is a file whose blob differs (zero: absent on that side).
type fileDelta struct {
	path     string
	from, to plumbing.Hash
}

// diffTrees appends the files that differ between the trees from and to (zero: empty) below dir.
func diffTrees(s storer.EncodedObjectStorer, dir string, from, to plumbing.Hash, out *[]fileDelta) error {
	if from == to {
		return nil
	}
	a, err := treeEntries(s, from)
	if err != nil {
		return err
	}
	b, err := treeEntries(s, to)
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	for n := range names {
		ea, inA := a[n]
		eb, inB := b[n]
		if inA && inB && ea.Hash == eb.Hash && ea.Mode == eb.Mode {
			continue
		}
		p := path.Join(dir, n)
		var subA, subB, fileA, fileB plumbing.Hash
		if inA {
			if ea.Mode == filemode.Dir {
				subA = ea.Hash
			} else {
				fileA = ea.Hash
			}
		}
		if inB {
			if eb.Mode == filemode.Dir {
				subB = eb.Hash
			} else {
				fileB = eb.Hash
			}
		}
		if !subA.IsZero() || !subB.IsZero() {
			if err := diffTrees(s, p, subA, subB, out); err != nil {
				return err
			}
		}
		if !fileA.IsZero() || !fileB.IsZero() {
			*out = append(*out, fileDelta{path: p, from: fileA, to: fileB})
		}
	}
	return nil
}

func treeEntries(s storer.EncodedObjectStorer, h plumbing.Hash) (map[string]object.TreeEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	t, err := object.GetTree(s, h)
	if err != nil {
		return nil, err
	}
	m := make(map[string]object.TreeEntry, len(t.Entries))
	for _, e := range t.Entries {
		m[e.Name] = e
	}
	return m, nil
}

func blobText(s storer.EncodedObjectStorer, h plumbing.Hash) (string, error) {
	if h.IsZero() {
		return "", nil
	}
	b, err := object.GetBlob(s, h)
	if err != nil {
		return "", err
	}
	r, err := b.Reader()
	if err != nil {
		return "", err
	}
	defer r.Close()
	var sb strings.Builder
	_, err = io.Copy(&sb, r)
	return sb.String(), err
}

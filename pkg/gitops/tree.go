package gitops

import (
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/gitremote"
)

// edit is a set of changes to a git tree: whole directories replaced by exact file sets (prune) or
// merged into, and single files written. Everything else in the tree keeps its hashes, so the new
// commit differs from the tip only under the paths this service owns.
type edit struct {
	root *editNode
}

type editNode struct {
	children map[string]*editNode
	blob     *plumbing.Hash // a file
	remove   bool           // a file (or directory) to delete
	replace  bool           // a directory whose old content is dropped
}

func newEdit() *edit { return &edit{root: &editNode{children: map[string]*editNode{}}} }

func (e *edit) dir(p string) *editNode {
	n := e.root
	for _, part := range strings.Split(p, "/") {
		c, ok := n.children[part]
		if !ok || c.blob != nil {
			c = &editNode{children: map[string]*editNode{}}
			n.children[part] = c
		}
		n = c
	}
	return n
}

// replaceDir makes dir hold exactly the files given later with file (when prune), or merges them
// into its current content.
func (e *edit) replaceDir(dir string, prune bool) { e.dir(dir).replace = prune }

func (e *edit) file(p string, h plumbing.Hash) {
	d, base := "", p
	if i := strings.LastIndex(p, "/"); i >= 0 {
		d, base = p[:i], p[i+1:]
	}
	n := e.root
	if d != "" {
		n = e.dir(d)
	}
	n.children[base] = &editNode{blob: &h}
}

// remove deletes the file p.
func (e *edit) remove(p string) {
	d, base := "", p
	if i := strings.LastIndex(p, "/"); i >= 0 {
		d, base = p[:i], p[i+1:]
	}
	n := e.root
	if d != "" {
		n = e.dir(d)
	}
	n.children[base] = &editNode{remove: true}
}

// apply writes the edited tree of base (zero hash: empty tree) into s and returns its hash. An
// empty result is the zero hash.
func (e *edit) apply(s storer.EncodedObjectStorer, base plumbing.Hash) (plumbing.Hash, error) {
	return applyNode(s, base, e.root)
}

func applyNode(s storer.EncodedObjectStorer, base plumbing.Hash, n *editNode) (plumbing.Hash, error) {
	entries := map[string]object.TreeEntry{}
	if !base.IsZero() && !n.replace {
		t, err := object.GetTree(s, base)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		for _, te := range t.Entries {
			entries[te.Name] = te
		}
	}
	for name, c := range n.children {
		if c.remove {
			delete(entries, name)
			continue
		}
		if c.blob != nil {
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: *c.blob}
			continue
		}
		var sub plumbing.Hash
		if old, ok := entries[name]; ok && old.Mode == filemode.Dir {
			sub = old.Hash
		}
		h, err := applyNode(s, sub, c)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if h.IsZero() {
			delete(entries, name)
		} else {
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	list := make([]object.TreeEntry, 0, len(entries))
	for _, te := range entries {
		list = append(list, te)
	}
	return gitremote.WriteTree(s, list)
}

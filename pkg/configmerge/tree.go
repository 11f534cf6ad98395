package configmerge

import (
	"bytes"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/gitremote"
)

// Conflict kinds.
const (
	ContentConflict  = "content"    // both sides changed the same lines differently
	AddAddConflict   = "both added" // both sides added the file with different contents
	DeletedInDefault = "deleted in default branch, changed in branch"
	DeletedInBranch  = "changed in default branch, deleted in branch"
	ModeConflict     = "mode"           // both sides changed the file mode differently
	BinaryConflict   = "binary"         // both sides changed a binary file (or a symlink, a submodule)
	FileDirConflict  = "file/directory" // a file on one side is a directory on the other
)

// Conflict is a path the three-way merge cannot settle.
type Conflict struct {
	Path    string   `json:"path"`
	Kind    string   `json:"kind"`
	Regions []Region `json:"regions,omitempty"` // content conflicts: the overlapping changes
}

// entry is one file of a tree: its mode and blob (or submodule commit).
type entry struct {
	Mode filemode.FileMode
	Hash plumbing.Hash
}

// files lists the files (blobs, symlinks, submodules) of t by slash path.
func files(t *object.Tree) (map[string]entry, error) {
	out := map[string]entry{}
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if e.Mode != filemode.Dir {
			out[name] = entry{Mode: e.Mode, Hash: e.Hash}
		}
	}
}

// mergeFiles is the three-way merge of the file lists ours and theirs from their merge base: a
// path changed on one side only takes that side (a deletion included); the same change on both
// sides is taken once; text files changed on both sides merge line by line (Merge3). Merged blobs
// are written to s. Conflicts come sorted by path.
func mergeFiles(s storer.EncodedObjectStorer, base, ours, theirs map[string]entry) (map[string]entry, []Conflict, error) {
	paths := map[string]bool{}
	for _, m := range []map[string]entry{base, ours, theirs} {
		for p := range m {
			paths[p] = true
		}
	}
	out := map[string]entry{}
	var conflicts []Conflict
	for p := range paths {
		b, hb := base[p]
		o, ho := ours[p]
		t, ht := theirs[p]
		var e entry
		var c *Conflict
		var err error
		keep := true // the merge has the path
		switch {
		case ho == ht && o == t:
			e, keep = o, ho
		case hb == ho && b == o:
			e, keep = t, ht
		case hb == ht && b == t:
			e, keep = o, ho
		case !ho:
			c = &Conflict{Path: p, Kind: DeletedInDefault}
		case !ht:
			c = &Conflict{Path: p, Kind: DeletedInBranch}
		default:
			e, c, err = mergeFile(s, p, b, hb, o, t)
			if err != nil {
				return nil, nil, err
			}
		}
		switch {
		case c != nil:
			conflicts = append(conflicts, *c)
		case keep:
			out[p] = e
		}
	}
	// A file where the other side now has a directory (a/b beside a) cannot be written.
	for p := range out {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := out[d]; ok {
				conflicts = append(conflicts, Conflict{Path: d, Kind: FileDirConflict})
			}
		}
	}
	sort.Slice(conflicts, func(i, j int) bool { return conflicts[i].Path < conflicts[j].Path })
	conflicts = dedupe(conflicts)
	return out, conflicts, nil
}

func dedupe(cs []Conflict) []Conflict {
	var out []Conflict
	for i, c := range cs {
		if i == 0 || c.Path != cs[i-1].Path || c.Kind != cs[i-1].Kind {
			out = append(out, c)
		}
	}
	return out
}

// mergeFile merges a file both sides changed (and both still have).
func mergeFile(s storer.EncodedObjectStorer, p string, b entry, hb bool, o, t entry) (entry, *Conflict, error) {
	mode := o.Mode
	switch {
	case o.Mode == t.Mode:
	case hb && o.Mode == b.Mode:
		mode = t.Mode
	case hb && t.Mode == b.Mode:
	default:
		return entry{}, &Conflict{Path: p, Kind: ModeConflict}, nil
	}
	if o.Hash == t.Hash {
		return entry{Mode: mode, Hash: o.Hash}, nil, nil
	}
	if !hb {
		return entry{}, &Conflict{Path: p, Kind: AddAddConflict}, nil
	}
	if !text(b.Mode) || !text(o.Mode) || !text(t.Mode) {
		return entry{}, &Conflict{Path: p, Kind: BinaryConflict}, nil
	}
	var data [3][]byte
	for i, h := range []plumbing.Hash{b.Hash, o.Hash, t.Hash} {
		var err error
		if data[i], err = gitremote.ReadBlob(s, h); err != nil {
			return entry{}, nil, err
		}
		if bytes.IndexByte(data[i], 0) >= 0 {
			return entry{}, &Conflict{Path: p, Kind: BinaryConflict}, nil
		}
	}
	merged, regions := Merge3(data[0], data[1], data[2])
	if regions != nil {
		return entry{}, &Conflict{Path: p, Kind: ContentConflict, Regions: regions}, nil
	}
	h, err := gitremote.WriteBlob(s, merged)
	if err != nil {
		return entry{}, nil, err
	}
	return entry{Mode: mode, Hash: h}, nil, nil
}

// text reports whether a file of mode m holds content to merge line by line (not a symlink or
// a submodule).
func text(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated
}

// writeTree writes the tree holding exactly fs (slash paths) and its subtrees to s.
func writeTree(s storer.EncodedObjectStorer, fs map[string]entry) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	dirs := map[string]map[string]entry{}
	for p, e := range fs {
		dir, rest, ok := strings.Cut(p, "/")
		if !ok {
			entries = append(entries, object.TreeEntry{Name: p, Mode: e.Mode, Hash: e.Hash})
			continue
		}
		if dirs[dir] == nil {
			dirs[dir] = map[string]entry{}
		}
		dirs[dir][rest] = e
	}
	for name, sub := range dirs {
		h, err := writeTree(s, sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	return gitremote.WriteTree(s, entries)
}

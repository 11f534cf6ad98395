package gitremote

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrSymlinkEscapes is in the chain of a read through a symlink whose target is outside the
// repository (absolute, or above its root): such a file is never read, as under an os.Root.
var ErrSymlinkEscapes = errors.New("symlink leads outside the repository")

// maxLinks bounds the symlinks followed while resolving one path (a loop fails instead of spinning).
const maxLinks = 40

// TreeFS is an fs.FS over the tree of one commit, read straight from the object store: nothing is
// written to disk, and only the trees on the way to a file and the blobs opened are decoded, so a
// build reads its service's folder and _global/, not the whole repository (docs/design.md §1).
// Symlinks are followed inside the tree; one leading outside fails with ErrSymlinkEscapes.
// Submodules do not exist. It is safe for concurrent use (reads of the object store are
// serialised: go-git's storage is not).
type TreeFS struct {
	mu    sync.Mutex
	s     storer.EncodedObjectStorer
	root  *object.Tree
	mtime time.Time
	blobs atomic.Int64 // blobs read, for tests
}

var (
	_ fs.ReadFileFS = (*TreeFS)(nil)
	_ fs.ReadDirFS  = (*TreeFS)(nil)
	_ fs.StatFS     = (*TreeFS)(nil)
)

// NewTreeFS returns the files of commit c, read from s.
func NewTreeFS(s storer.EncodedObjectStorer, c *object.Commit) (*TreeFS, error) {
	root, err := object.GetTree(s, c.TreeHash)
	if err != nil {
		return nil, err
	}
	return &TreeFS{s: s, root: root, mtime: c.Committer.When}, nil
}

// node is a resolved path: a directory (tree set) or a file entry.
type node struct {
	name string // base name as asked for ("." for the root)
	tree *object.Tree
	ent  object.TreeEntry
}

func (n *node) isDir() bool { return n.tree != nil }

// resolve finds name, following symlinks (a last element too when follow is set).
func (t *TreeFS) resolve(op, name string, follow bool) (*node, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	fail := func(err error) (*node, error) { return nil, &fs.PathError{Op: op, Path: name, Err: err} }
	p, links := name, 0
walk:
	for {
		if p == "." {
			return &node{name: ".", tree: t.root}, nil
		}
		parts := strings.Split(p, "/")
		cur := t.root
		for i, part := range parts {
			e, err := cur.FindEntry(part)
			if err != nil {
				return fail(fs.ErrNotExist)
			}
			last := i == len(parts)-1
			switch {
			case e.Mode == filemode.Symlink && (!last || follow):
				if links++; links > maxLinks {
					return fail(errors.New("too many levels of symbolic links"))
				}
				target, err := t.readBlob(e.Hash)
				if err != nil {
					return fail(err)
				}
				next := path.Join(append([]string{path.Join(parts[:i]...), string(target)}, parts[i+1:]...)...)
				if path.IsAbs(string(target)) || !fs.ValidPath(next) {
					return fail(ErrSymlinkEscapes)
				}
				p = next
				continue walk
			case e.Mode == filemode.Dir:
				sub, err := object.GetTree(t.s, e.Hash)
				if err != nil {
					return fail(err)
				}
				if last {
					return &node{name: path.Base(name), tree: sub}, nil
				}
				cur = sub
			case e.Mode == filemode.Submodule || !last:
				return fail(fs.ErrNotExist)
			default:
				return &node{name: path.Base(name), ent: *e}, nil
			}
		}
	}
}

func (t *TreeFS) readBlob(h plumbing.Hash) ([]byte, error) {
	t.blobs.Add(1)
	return ReadBlob(t.s, h)
}

// Open opens a file or directory.
func (t *TreeFS) Open(name string) (fs.File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, err := t.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return &treeDir{info: t.info(n), entries: t.entries(n.tree)}, nil
	}
	data, err := t.readBlob(n.ent.Hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	fi := t.info(n)
	fi.size = int64(len(data))
	return &treeFile{info: fi, r: bytes.NewReader(data)}, nil
}

// ReadFile reads a whole file.
func (t *TreeFS) ReadFile(name string) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, err := t.resolve("read", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	data, err := t.readBlob(n.ent.Hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir lists a directory, sorted by name.
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, err := t.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return t.entries(n.tree), nil
}

// Stat describes a file or directory (following symlinks).
func (t *TreeFS) Stat(name string) (fs.FileInfo, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, err := t.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	fi := t.info(n)
	if !n.isDir() {
		if fi.size, err = t.size(n.ent.Hash); err != nil {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
		}
	}
	return fi, nil
}

// BlobsRead is how many blobs (file contents and symlink targets) were read so far.
func (t *TreeFS) BlobsRead() int64 { return t.blobs.Load() }

// size is a blob's size, from its header where the store can tell it without reading it.
func (t *TreeFS) size(h plumbing.Hash) (int64, error) {
	if s, ok := t.s.(interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}); ok {
		return s.EncodedObjectSize(h)
	}
	o, err := t.s.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return 0, err
	}
	return o.Size(), nil
}

func (t *TreeFS) info(n *node) *treeInfo {
	mode := n.ent.Mode
	if n.isDir() {
		mode = filemode.Dir
	}
	return t.entryInfo(n.name, mode)
}

func (t *TreeFS) entryInfo(name string, mode filemode.FileMode) *treeInfo {
	fi := &treeInfo{name: name, mtime: t.mtime, mode: 0o644}
	switch mode {
	case filemode.Dir:
		fi.mode = fs.ModeDir | 0o755
	case filemode.Symlink:
		fi.mode = fs.ModeSymlink | 0o777
	case filemode.Executable:
		fi.mode = 0o755
	}
	return fi
}

// entries lists a tree's entries as fs.DirEntry (symlinks as symlinks, submodules left out).
func (t *TreeFS) entries(tree *object.Tree) []fs.DirEntry {
	out := make([]fs.DirEntry, 0, len(tree.Entries))
	for _, e := range tree.Entries {
		if e.Mode == filemode.Submodule {
			continue
		}
		out = append(out, &treeEntry{fsys: t, info: t.entryInfo(e.Name, e.Mode), hash: e.Hash})
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

type treeInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (fi *treeInfo) Name() string       { return fi.name }
func (fi *treeInfo) Size() int64        { return fi.size }
func (fi *treeInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *treeInfo) ModTime() time.Time { return fi.mtime }
func (fi *treeInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *treeInfo) Sys() any           { return nil }

type treeEntry struct {
	fsys *TreeFS
	info *treeInfo
	hash plumbing.Hash
}

func (e *treeEntry) Name() string      { return e.info.name }
func (e *treeEntry) IsDir() bool       { return e.info.IsDir() }
func (e *treeEntry) Type() fs.FileMode { return e.info.mode.Type() }

// Info describes the entry itself (a symlink is not followed), with a blob's size read lazily.
func (e *treeEntry) Info() (fs.FileInfo, error) {
	fi := *e.info
	if !fi.IsDir() {
		e.fsys.mu.Lock()
		defer e.fsys.mu.Unlock()
		var err error
		if fi.size, err = e.fsys.size(e.hash); err != nil {
			return nil, err
		}
	}
	return &fi, nil
}

type treeFile struct {
	info *treeInfo
	r    *bytes.Reader
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *treeFile) Close() error               { return nil }

type treeDir struct {
	info    *treeInfo
	entries []fs.DirEntry
	off     int
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *treeDir) Close() error { return nil }

// ReadDir returns the next n entries (all that are left when n <= 0), as fs.ReadDirFile says.
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}

package gitremote

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/cacerr"
)

// syncFiles makes dir (created if missing) hold exactly the files of commit c: files whose content
// and mode already match stay untouched, others are removed or (re)written, directories left empty
// are removed. A cached checkout thus costs reads, not writes, when little changed, and never keeps
// a file an earlier build or a user left behind. Paths and symlinks leaving dir are refused.
func syncFiles(s storer.EncodedObjectStorer, c *object.Commit, dir string) error {
	want, err := treeFiles(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var dirs []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		e, wanted := want[rel]
		if d.IsDir() {
			if wanted { // a directory where the commit has a file
				return removeAllSkip(p)
			}
			dirs = append(dirs, p)
			return nil
		}
		if wanted && sameFile(p, d, e) {
			delete(want, rel)
			return nil
		}
		return os.Remove(p)
	})
	if err != nil {
		return err
	}
	if err := writeEntries(s, want, dir); err != nil {
		return err
	}
	slices.Reverse(dirs) // children before parents
	for _, d := range dirs {
		_ = os.Remove(d) // fails, as it should, unless empty
	}
	return nil
}

func removeAllSkip(p string) error {
	if err := os.RemoveAll(p); err != nil {
		return err
	}
	return filepath.SkipDir
}

// treeFiles lists the files (blobs and symlinks) of c by slash path.
func treeFiles(c *object.Commit) (map[string]object.TreeEntry, error) {
	tree, err := c.Tree()
	if err != nil {
		return nil, err
	}
	files := map[string]object.TreeEntry{}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if !e.Mode.IsFile() {
			continue // directories are walked; submodules are not checked out
		}
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return nil, fmt.Errorf("refusing path %q outside the checkout", name)
		}
		files[name] = e
	}
}

// sameFile reports whether the file at p already has e's content and kind.
func sameFile(p string, d fs.DirEntry, e object.TreeEntry) bool {
	var data []byte
	switch {
	case d.Type()&fs.ModeSymlink != 0:
		if e.Mode != filemode.Symlink {
			return false
		}
		target, err := os.Readlink(p)
		if err != nil {
			return false
		}
		data = []byte(target)
	case d.Type().IsRegular():
		info, err := d.Info()
		if err != nil || (info.Mode().Perm()&0o100 != 0) != (e.Mode == filemode.Executable) || e.Mode == filemode.Symlink {
			return false
		}
		if data, err = os.ReadFile(p); err != nil {
			return false
		}
	default:
		return false
	}
	return plumbing.ComputeHash(plumbing.BlobObject, data) == e.Hash
}

// writeEntries writes the given files under dir. Blobs are read one at a time (go-git storage is
// not safe for concurrent use) and written by a few goroutines, since creating files, not reading
// objects, is what costs.
func writeEntries(s storer.EncodedObjectStorer, files map[string]object.TreeEntry, dir string) error {
	type job struct {
		path string
		data []byte
		mode filemode.FileMode
	}
	jobs := make(chan job)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	var dirs sync.Map // directories already created
	for range max(4, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for j := range jobs {
				if err := writeOne(j.path, j.data, j.mode, &dirs); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	var err error
	for name, e := range files {
		if len(errs) > 0 {
			break
		}
		var data []byte
		if data, err = readBlob(s, e.Hash); err != nil {
			err = fmt.Errorf("read %s: %w", name, err)
			break
		}
		if e.Mode == filemode.Symlink {
			target := filepath.Join(filepath.Dir(filepath.FromSlash(name)), string(data))
			if filepath.IsAbs(string(data)) || !filepath.IsLocal(target) {
				err = fmt.Errorf("refusing symlink %s -> %s outside the checkout", name, data)
				break
			}
		}
		jobs <- job{filepath.Join(dir, filepath.FromSlash(name)), data, e.Mode}
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func readBlob(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	b, err := object.GetBlob(s, h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	buf.Grow(int(b.Size))
	_, err = buf.ReadFrom(r)
	return buf.Bytes(), err
}

func writeOne(path string, data []byte, mode filemode.FileMode, dirs *sync.Map) error {
	parent := filepath.Dir(path)
	if _, done := dirs.Load(parent); !done {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		dirs.Store(parent, true)
	}
	switch mode {
	case filemode.Symlink:
		return os.Symlink(string(data), path)
	case filemode.Executable:
		return os.WriteFile(path, data, 0o755)
	default:
		return os.WriteFile(path, data, 0o644)
	}
}

// WriteCommit writes the files of commit (hex) of repo into dir, which holds exactly them
// afterwards: a build of an older commit of a clone (cac publish --affected-since re-renders a
// service at the code commit it last published). A commit the clone lacks is a usage error.
func WriteCommit(repo *git.Repository, commit, dir string) error {
	if !plumbing.IsHash(commit) {
		return cacerr.Usage("%q is not a full commit hash", commit)
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return cacerr.Usage("commit %s is not in the clone: %w", commit, err)
	}
	if err := syncFiles(repo.Storer, c, dir); err != nil {
		return cacerr.Usage("write commit %s: %w", commit, err)
	}
	return nil
}

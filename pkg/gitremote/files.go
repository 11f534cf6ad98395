package gitremote

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/cacerr"
)

// writeFiles writes the files of commit c into dir (created if missing), which must be empty.
// Paths and symlinks leaving dir are refused.
func writeFiles(s storer.EncodedObjectStorer, c *object.Commit, dir string) error {
	want, err := treeFiles(c)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeEntries(s, want, dir)
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
		if data, err = ReadBlob(s, e.Hash); err != nil {
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

// WriteCommit writes the files of commit (hex) of repo into dir, which must be new or empty: a build of an older commit of a clone (cac publish --affected-since re-renders a
// service at the code commit it last published). A commit the clone lacks is a usage error.
func WriteCommit(repo *git.Repository, commit, dir string) error {
	if !plumbing.IsHash(commit) {
		return cacerr.Usage("%q is not a full commit hash", commit)
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return cacerr.Usage("commit %s is not in the clone: %w", commit, err)
	}
	if err := writeFiles(repo.Storer, c, dir); err != nil {
		return cacerr.Usage("write commit %s: %w", commit, err)
	}
	return nil
}

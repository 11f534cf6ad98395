package configrepo

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// writeFiles writes the files of commit c under dir, which must exist. Blobs are read one at a
// time (go-git storage is not safe for concurrent use) and written by a few goroutines, since
// creating files, not reading objects, is what costs. Paths and symlinks that would leave dir
// are refused.
func writeFiles(c *object.Commit, dir string) error {
	files, err := c.Files()
	if err != nil {
		return err
	}
	defer files.Close()

	type job struct {
		path string
		data []byte
		mode filemode.FileMode
	}
	jobs := make(chan job)
	errs := make(chan error, 1)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var wg sync.WaitGroup
	var dirs sync.Map // directories already created
	for range max(4, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for j := range jobs {
				if err := writeOne(j.path, j.data, j.mode, &dirs); err != nil {
					report(err)
				}
			}
		})
	}
	err = files.ForEach(func(f *object.File) error {
		if len(errs) > 0 {
			return <-errs
		}
		if !filepath.IsLocal(filepath.FromSlash(f.Name)) {
			return fmt.Errorf("refusing path %q outside the checkout", f.Name)
		}
		r, err := f.Reader()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		if f.Mode == filemode.Symlink {
			target := filepath.Join(filepath.Dir(filepath.FromSlash(f.Name)), string(data))
			if filepath.IsAbs(string(data)) || !filepath.IsLocal(target) {
				return fmt.Errorf("refusing symlink %s -> %s outside the checkout", f.Name, data)
			}
		}
		jobs <- job{filepath.Join(dir, filepath.FromSlash(f.Name)), data, f.Mode}
		return nil
	})
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

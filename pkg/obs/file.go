package obs

import (
	"os"
	"path/filepath"
)

// WriteFile writes data to path atomically: into a temporary file beside it, then renamed over it,
// so a collector never reads half a file. The file gets mode 0644.
func WriteFile(path string, data []byte) error { return writeFile(path, data, 0o644) }

// WriteFileAll is WriteFile that first creates the file's directory if missing and gives the file
// mode perm.
func WriteFileAll(name string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return writeFile(name, data, perm)
}

func writeFile(name string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

package envs

import (
	"errors"
	"io/fs"
	"time"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/sops"
)

// regionSource is a region file env copy or region new builds a new region's file from. A
// SOPS-encrypted file that an identity opens is edited in its plaintext and written encrypted again
// for the same recipients, with a fresh data key (docs/design.md §6); one that no identity opens can
// only be copied unchanged, byte for byte: its values are sealed with their key paths and its MAC
// covers the values only, so the copy under a new name stays valid.
type regionSource struct {
	name   string
	data   []byte       // what edits start from: the file, or its plaintext when opened
	raw    []byte       // the file as read
	opened *sops.Opened // the decrypted SOPS file
	locked error        // why a SOPS file cannot be opened (a *sops.KeyError)
}

// readRegionSource reads a region file, decrypting it in memory when it is a SOPS file and keys
// open it. A SOPS file no identity opens is locked; a tampered one is an error.
func readRegionSource(fsys fs.FS, name string, keys *sops.Keys) (*regionSource, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, cacerr.Usage("read %s: %w", name, err)
	}
	s := &regionSource{name: name, data: data, raw: data}
	if !sops.IsEncrypted(data) {
		return s, nil
	}
	o, err := sops.Open(name, data, keys)
	var kerr *sops.KeyError
	switch {
	case errors.As(err, &kerr):
		s.locked = kerr
		return s, nil
	case err != nil:
		return nil, err
	}
	s.opened, s.data = o, o.Plain
	return s, nil
}

// editable reports whether the file may be changed (why: what changes it, for the message).
func (s *regionSource) editable(why string) error {
	if s.locked == nil {
		return nil
	}
	return cacerr.Usage("%s is encrypted with sops and %s would change it, which needs its key: %w", s.name, why, s.locked)
}

// output is the new file's content: the edited document (nil: unchanged) encrypted again when the
// source was opened; an unchanged file that was not is copied byte for byte.
func (s *regionSource) output(dst string, edited []byte) ([]byte, error) {
	switch {
	case s.opened != nil:
		if edited == nil {
			edited = s.data
		}
		return s.opened.Seal(dst, edited, true, time.Now())
	case edited != nil:
		return edited, nil
	}
	return s.raw, nil
}

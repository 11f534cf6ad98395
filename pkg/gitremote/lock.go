package gitremote

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"

	"github.com/cacproj/cac/pkg/cacerr"
)

// lockCache takes an exclusive lock on Cache/<key>.lock (flock on unix, LockFileEx on windows),
// waiting while another process holds it. The lock dies with the process, so a killed build never
// leaves the cache locked.
func lockCache(cache, display string) (func(), error) {
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, cacerr.Usage("cache: %w", err)
	}
	sum := sha256.Sum256([]byte(display))
	f, err := os.OpenFile(filepath.Join(cache, hex.EncodeToString(sum[:8])+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, cacerr.Usage("cache lock: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, cacerr.Usage("cache lock: %w", err)
	}
	return func() {
		_ = unlockFile(f)
		f.Close()
	}, nil
}

// Package configrepo fetches the config repo (docs/design.md §1): the branch named like the code branch,
// falling back to the remote's default branch (read from its HEAD symref) when that branch does
// not exist, or a local directory used in place. The remote work (shallow fetch, cache, retries,
// time budget, credentials, redaction) is pkg/gitremote's; this package resolves the branch and
// says what to fetch. A fetched repository is read straight from its objects: nothing is checked
// out, and a build decodes only the files it reads (docs/design.md §1).
//
//	res, err := configrepo.Fetch(ctx, configrepo.Options{URL: url, Branch: branch, Stderr: os.Stderr})
//	if err != nil {
//		return err // cacerr kind: 3 remote, 2 local setup
//	}
//	defer res.Close()
//	data, err := fs.ReadFile(res.FS, "order/eu.yaml")
package configrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/go-git/go-git/v5"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
)

// Options say what to fetch and how.
type Options struct {
	// URL is --config-repo: an https, ssh (ssh://... or git@host:org/repo.git), git or file URL,
	// or a local path. A local directory that is not a git repository is used in place.
	URL string
	// Branch is the requested branch (see ResolveBranch); empty means the remote's default branch.
	Branch string
	// Cache, when set, keeps the fetched objects in Cache/<hash of the redacted URL>/repo.git (a
	// bare repository, no checkout) and updates them incrementally on later fetches. Without it
	// the objects stay in memory. One build at a time per Cache directory.
	Cache string
	// OfflineFallback uses the cached clone, with a warning, when the remote stays unreachable.
	OfflineFallback bool
	// Retries is how many times a transient failure is retried: 0 means 3, negative means none.
	Retries int
	// Backoff is the first wait between attempts, doubled after each (with jitter); 0 means 500ms.
	Backoff time.Duration
	// Timeout limits each attempt (a stalled server is retried like a failing one); 0 means
	// gitremote.DefaultTimeout, negative means none.
	Timeout time.Duration
	// Budget limits the whole fetch, all attempts together; 0 means gitremote.DefaultBudget,
	// negative means none.
	Budget time.Duration
	// Getenv reads credentials (gitremote.TokenVars, CAC_SSH_KEY, CAC_SSH_KEY_PASSPHRASE); nil
	// means os.Getenv.
	Getenv func(string) string
	// Stderr receives notices (branch fallback, offline use, plain directory); nil discards them.
	Stderr io.Writer
	// Progress receives the server's progress messages (git sideband) when non-nil.
	Progress io.Writer
}

// Policy is the time bounds and retries of o as gitremote takes them.
func (o Options) Policy() gitremote.Policy {
	return gitremote.Policy{Retries: o.Retries, Backoff: o.Backoff, Timeout: o.Timeout, Budget: o.Budget}
}

// Result is a fetched config repo.
type Result struct {
	// FS holds the config files: for a fetched repository, the tree of Commit read from its
	// objects (symlinks leading outside it are refused); for a plain directory, that directory
	// under an os.Root. Read the config from here, before Close.
	FS        fs.FS
	Dir       string        // the directory of a plain config repo; "" for a fetched one
	URL       string        // the config repo address, redacted
	Requested string        // the branch asked for (Options.Branch)
	Branch    string        // the branch checked out; "" for a plain directory
	Fallback  bool          // Requested does not exist: Branch is the remote's default branch
	Commit    string        // hex commit checked out; "" for a plain directory
	Offline   bool          // the remote was unreachable: Dir is the cached clone as last fetched
	Plain     bool          // URL is a local directory that is not a git repository, used as is
	Attempts  int           // attempts made by the last remote operation
	Elapsed   time.Duration // time Fetch took

	close func() error // releases the cache lock or the plain directory's os.Root
}

// Close releases the cache lock (or the plain directory). Nothing on disk is removed.
func (r *Result) Close() error {
	if r == nil || r.close == nil {
		return nil
	}
	c := r.close
	r.close = nil
	return c()
}

// Fetch checks out the config repo at Options.Branch, or at the remote's default branch when that
// branch does not exist. Errors are cacerr-classified: remote failures (after retries, or denied
// access, or a missing repository) are cacerr.KindRemote, a bad address or local problem
// cacerr.KindUsage.
func Fetch(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.URL == "" {
		return nil, cacerr.Usage("no config repo: set --config-repo, CAC_CONFIG_REPO, or config-repo in .cac.yaml")
	}
	rem, err := gitremote.Open(gitremote.ConfigRepo, o.URL, gitremote.Options{Getenv: o.Getenv, Policy: o.Policy()})
	if err != nil {
		return nil, err
	}
	res := &Result{URL: rem.String(), Requested: o.Branch}
	if path, ok := rem.LocalPath(); ok {
		plain, err := plainDir(rem, path)
		if err != nil {
			return nil, err
		}
		if plain {
			fmt.Fprintf(o.Stderr, "cac: config repo %s is not a git repository; using the directory as it is\n", rem)
			// os.Root keeps every read inside the directory: a region file that is a symlink to a
			// file outside it (a secret on the build machine) is refused.
			root, err := os.OpenRoot(path)
			if err != nil {
				return nil, cacerr.Usage("config repo %s: %w", rem, err)
			}
			res.FS, res.close = root.FS(), root.Close
			res.Dir, res.Plain, res.Elapsed = path, true, time.Since(start)
			return res, nil
		}
	}
	snap, err := rem.Snapshot(ctx, gitremote.CheckoutOptions{Branch: o.Branch, Cache: o.Cache, OfflineFallback: o.OfflineFallback,
		Stderr: o.Stderr, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	res.close = snap.Close
	res.FS, res.Branch, res.Fallback, res.Commit, res.Offline, res.Attempts = snap.FS, snap.Branch, snap.Fallback, snap.Commit, snap.Offline, snap.Attempts
	res.Elapsed = time.Since(start)
	return res, nil
}

// plainDir reports whether the local path is a directory to use in place (not a git repository).
func plainDir(rem *gitremote.Remote, path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, cacerr.Usage("config repo %s: %w", rem, err)
	}
	if !st.IsDir() {
		return false, cacerr.Usage("config repo %s: not a directory", rem)
	}
	_, err = OpenLocal(path, false)
	return errors.Is(err, git.ErrRepositoryNotExists), nil
}

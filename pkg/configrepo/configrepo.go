// Package configrepo fetches the config repo (docs/design.md §1): the branch named like the code branch,
// falling back to the remote's default branch (read from its HEAD symref) when that branch does
// not exist, or a local directory used in place. The remote work (shallow fetch, cache, retries,
// time budget, credentials, redaction) is pkg/gitremote's; this package resolves the branch and
// says what to fetch.
//
//	res, err := configrepo.Fetch(ctx, configrepo.Options{URL: url, Branch: branch, Stderr: os.Stderr})
//	if err != nil {
//		return err // cacerr kind: 3 remote, 2 local setup
//	}
//	defer res.Close()
//	// read res.Dir
package configrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	// Cache, when set, keeps the clone in Cache/<hash of the redacted URL> (repo.git, and the
	// checked-out files in tree) and updates it incrementally on later fetches. Without it the
	// objects stay in memory and the files go to a temporary directory. A cached Result's Dir is
	// rewritten by the next Fetch of the same URL into the same Cache; one build at a time per
	// Cache directory.
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

// Result is a checked-out config repo.
type Result struct {
	Dir       string        // the config files on disk (no .git inside); read the config from here
	URL       string        // the config repo address, redacted
	Requested string        // the branch asked for (Options.Branch)
	Branch    string        // the branch checked out; "" for a plain directory
	Fallback  bool          // Requested does not exist: Branch is the remote's default branch
	Commit    string        // hex commit checked out; "" for a plain directory
	Offline   bool          // the remote was unreachable: Dir is the cached clone as last fetched
	Plain     bool          // URL is a local directory that is not a git repository, used as is
	Attempts  int           // attempts made by the last remote operation
	Elapsed   time.Duration // time Fetch took

	tree *gitremote.Tree // closed by Close
}

// Close removes a temporary clone and releases the cache lock. Cached clones and plain
// directories are left alone.
func (r *Result) Close() error {
	if r == nil {
		return nil
	}
	return r.tree.Close()
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
			res.Dir, res.Plain, res.Elapsed = path, true, time.Since(start)
			return res, nil
		}
	}
	t, err := rem.Checkout(ctx, gitremote.CheckoutOptions{Branch: o.Branch, Cache: o.Cache, OfflineFallback: o.OfflineFallback,
		Stderr: o.Stderr, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	res.tree = t
	res.Dir, res.Branch, res.Fallback, res.Commit, res.Offline, res.Attempts = t.Dir, t.Branch, t.Fallback, t.Commit, t.Offline, t.Attempts
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

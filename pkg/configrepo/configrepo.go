// Package configrepo fetches the config repo (docs/design.md §1): a shallow, single-branch go-git fetch of
// the branch named like the code branch, falling back to the remote's default branch (read from
// its HEAD symref) when that branch does not exist. It retries transient failures with backoff,
// can keep a clone between builds (Options.Cache) and fall back to it offline, and never lets a
// credential reach a message.
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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
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
	// Backoff is the first wait between attempts, doubled after each; 0 means 500ms.
	Backoff time.Duration
	// Timeout limits each attempt (a stalled server is retried like a failing one); 0 means
	// DefaultTimeout, negative means none.
	Timeout time.Duration
	// Getenv reads credentials (TokenVars, CAC_SSH_KEY, CAC_SSH_KEY_PASSPHRASE); nil means os.Getenv.
	Getenv func(string) string
	// Stderr receives notices (branch fallback, offline use, plain directory); nil discards them.
	Stderr io.Writer
	// Progress receives the server's progress messages (git sideband) when non-nil.
	Progress io.Writer
}

// DefaultTimeout bounds one fetch attempt when Options.Timeout is 0: go-git's HTTP transport has
// no timeout of its own, so a server that accepts and never answers would hang a build forever.
const DefaultTimeout = 2 * time.Minute

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

	cleanup string // temporary clone removed by Close
	unlock  func() // releases the cache lock, held until Close
}

// Close removes a temporary clone and releases the cache lock. Cached clones and plain
// directories are left alone.
func (r *Result) Close() error {
	if r == nil {
		return nil
	}
	if r.unlock != nil {
		r.unlock()
		r.unlock = nil
	}
	if r.cleanup == "" {
		return nil
	}
	dir := r.cleanup
	r.cleanup = ""
	return os.RemoveAll(dir)
}

// Fetch checks out the config repo at Options.Branch, or at the remote's default branch when that
// branch does not exist. Errors are cacerr-classified: remote failures (after retries, or denied
// access, or a missing repository) are cacerr.KindRemote, a bad address or local problem
// cacerr.KindUsage.
func Fetch(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Retries < 0 {
		o.Retries = 0
	}
	if o.Backoff <= 0 {
		o.Backoff = 500 * time.Millisecond
	}
	switch {
	case o.Timeout == 0:
		o.Timeout = DefaultTimeout
	case o.Timeout < 0:
		o.Timeout = 0
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.URL == "" {
		return nil, cacerr.Usage("no config repo: set --config-repo, CAC_CONFIG_REPO, or config-repo in .cac.yaml")
	}
	rem, err := newRemote(o.URL, o.Getenv)
	if err != nil {
		return nil, err
	}
	f := &fetcher{o: o, rem: rem, res: &Result{URL: rem.display, Requested: o.Branch}}
	if rem.endpoint.Protocol == "file" {
		plain, err := f.plainDir(rem.endpoint.Path)
		if err != nil || plain {
			f.res.Elapsed = time.Since(start)
			return f.result(err)
		}
	}
	if o.Cache != "" {
		// Concurrent builds on one runner share the cache: one at a time per cached repository.
		if f.res.unlock, err = lockCache(o.Cache, rem.display); err != nil {
			return nil, err
		}
	}
	err = f.fetch(ctx)
	f.res.Elapsed = time.Since(start)
	return f.result(err)
}

type fetcher struct {
	o           Options
	rem         *remote
	res         *Result
	repo        *git.Repository
	cacheDir    string // Cache/<key> when caching
	fresh       bool   // repo was created by this Fetch (not a cached clone from an earlier build)
	incremental bool   // the last fetch had no depth limit (a cached clone updated in place)
}

func (f *fetcher) result(err error) (*Result, error) {
	if err != nil {
		_ = f.res.Close()
		return nil, err
	}
	return f.res, nil
}

// plainDir reports whether the local path is a directory to use in place (not a git repository).
func (f *fetcher) plainDir(path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, cacerr.Usage("config repo %s: %w", f.rem, err)
	}
	if !st.IsDir() {
		return false, cacerr.Usage("config repo %s: not a directory", f.rem)
	}
	if _, err := git.PlainOpen(path); !errors.Is(err, git.ErrRepositoryNotExists) {
		return false, nil // a git repository: cloned like any URL
	}
	f.res.Dir, f.res.Plain = path, true
	fmt.Fprintf(f.o.Stderr, "cac: config repo %s is not a git repository; using the directory as it is\n", f.rem)
	return true, nil
}

func (f *fetcher) fetch(ctx context.Context) error {
	if err := f.open(false); err != nil {
		return err
	}
	branch, err := f.fetchBranch(ctx)
	if err != nil {
		if c, _ := classify(err); c == transient && f.o.OfflineFallback && !f.fresh && ctx.Err() == nil {
			if ok := f.useOffline(err); ok {
				return nil
			}
		}
		return err
	}
	if f.incremental && !f.complete(branch) {
		// The branch was rewritten upstream and the incremental fetch assumed history a shallow
		// clone does not have: start the cache afresh.
		fmt.Fprintf(f.o.Stderr, "cac: cached clone of %s lacks objects after a history rewrite; cloning it again\n", f.rem)
		if err := f.open(true); err != nil {
			return err
		}
		if branch, err = f.fetchBranch(ctx); err != nil {
			return err
		}
	}
	return f.checkout(branch)
}

// complete reports whether every tree and blob of the fetched tip of branch is in the repository.
func (f *fetcher) complete(branch string) bool {
	ref, err := f.repo.Reference(plumbing.ReferenceName("refs/remotes/origin/"+branch), true)
	if err != nil {
		return false
	}
	c, err := f.repo.CommitObject(ref.Hash())
	if err != nil {
		return false
	}
	tree, err := c.Tree()
	if err != nil {
		return false
	}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		_, e, err := w.Next()
		if err == io.EOF {
			return true
		}
		if err != nil || (e.Mode.IsFile() && f.repo.Storer.HasEncodedObject(e.Hash) != nil) {
			return false
		}
	}
}

// open prepares the repository to fetch into: in memory without Options.Cache, else the bare
// repository Cache/<key>/repo.git (created on first use, started afresh when unreadable or when
// restart is set).
func (f *fetcher) open(restart bool) error {
	f.fresh = true
	var repo *git.Repository
	var err error
	if f.o.Cache == "" {
		repo, err = git.Init(memory.NewStorage(), nil)
	} else {
		sum := sha256.Sum256([]byte(f.rem.display))
		f.cacheDir = filepath.Join(f.o.Cache, hex.EncodeToString(sum[:8]))
		gitDir := filepath.Join(f.cacheDir, "repo.git")
		if repo, err := git.PlainOpen(gitDir); err == nil && !restart {
			f.repo, f.fresh = repo, false
			return nil
		}
		if err := os.RemoveAll(gitDir); err != nil {
			return cacerr.Usage("config repo cache: %w", err)
		}
		repo, err = git.PlainInit(gitDir, true)
	}
	if err != nil {
		return cacerr.Usage("config repo clone: %w", err)
	}
	// The remote keeps only the redacted address: credentials never reach disk.
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{f.rem.display}}); err != nil {
		return cacerr.Usage("config repo clone: %w", err)
	}
	f.repo = repo
	return nil
}

// fetchBranch fetches the requested branch, or the default branch when it does not exist, into
// refs/remotes/origin/<branch> and returns the branch fetched.
func (f *fetcher) fetchBranch(ctx context.Context) (string, error) {
	if f.o.Branch != "" {
		err := f.fetchOne(ctx, f.o.Branch)
		var noRef git.NoMatchingRefSpecError
		if !errors.As(err, &noRef) {
			return f.o.Branch, err
		}
	}
	def, err := f.defaultBranch(ctx)
	if err != nil {
		return "", err
	}
	if f.o.Branch != "" {
		fmt.Fprintf(f.o.Stderr, "cac: config repo %s has no branch %q; using its default branch %q\n", f.rem, f.o.Branch, def)
	}
	f.res.Fallback = f.o.Branch != ""
	return def, f.fetchOne(ctx, def)
}

// fetchOne fetches branch into refs/remotes/origin/<branch>. A new clone gets the tip commit only
// (depth 1). A cached clone that already has the branch fetches without a depth limit: the server
// then knows the old tip and sends only what changed since, where a depth-limited fetch would
// send the whole tree again (go-git cannot ask for thin packs).
func (f *fetcher) fetchOne(ctx context.Context, branch string) error {
	tracking := plumbing.ReferenceName("refs/remotes/origin/" + branch)
	spec := config.RefSpec(fmt.Sprintf("+refs/heads/%s:%s", branch, tracking))
	depth := 1
	if _, err := f.repo.Reference(tracking, false); err == nil && !f.fresh {
		depth = 0
	}
	f.incremental = depth == 0
	n, err := retry(ctx, f.o.Retries, f.o.Backoff, f.o.Timeout, func(ctx context.Context) error {
		err := f.repo.FetchContext(ctx, &git.FetchOptions{
			RemoteName: "origin",
			RemoteURL:  f.rem.transport,
			RefSpecs:   []config.RefSpec{spec},
			Depth:      depth,
			Auth:       f.rem.auth,
			Progress:   f.o.Progress,
			Tags:       git.NoTags,
			Force:      true,
		})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	})
	f.res.Attempts = n
	var noRef git.NoMatchingRefSpecError
	if err == nil || errors.As(err, &noRef) {
		return err
	}
	return f.remoteError(ctx, err, "fetch", branch, n)
}

// defaultBranch reads the remote's HEAD symref and records it as refs/remotes/origin/HEAD (for
// offline use).
func (f *fetcher) defaultBranch(ctx context.Context) (string, error) {
	r := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{f.rem.transport}})
	var refs []*plumbing.Reference
	n, err := retry(ctx, f.o.Retries, f.o.Backoff, f.o.Timeout, func(ctx context.Context) error {
		var err error
		refs, err = r.ListContext(ctx, &git.ListOptions{Auth: f.rem.auth})
		return err
	})
	f.res.Attempts = n
	if err != nil {
		return "", f.remoteError(ctx, err, "list branches of", f.o.Branch, n)
	}
	def := headBranch(refs)
	if def == "" {
		return "", cacerr.Remote(fmt.Errorf("config repo %s: cannot tell its default branch (HEAD names no branch)", f.rem))
	}
	head := plumbing.NewSymbolicReference("refs/remotes/origin/HEAD", plumbing.ReferenceName("refs/remotes/origin/"+def))
	if err := f.repo.Storer.SetReference(head); err != nil {
		return "", cacerr.Usage("config repo clone: %w", err)
	}
	return def, nil
}

// headBranch names the branch HEAD points at: its symref target, or, from servers that do not
// advertise symrefs, the only branch at HEAD's commit.
func headBranch(refs []*plumbing.Reference) string {
	var head *plumbing.Reference
	for _, r := range refs {
		if r.Name() == plumbing.HEAD {
			head = r
		}
	}
	if head == nil {
		return ""
	}
	if head.Type() == plumbing.SymbolicReference {
		if head.Target().IsBranch() {
			return head.Target().Short()
		}
		return ""
	}
	var match string
	for _, r := range refs {
		if r.Name().IsBranch() && r.Hash() == head.Hash() {
			if match != "" {
				return ""
			}
			match = r.Name().Short()
		}
	}
	return match
}

// checkout writes the files of the fetched tip of branch: to a new temporary directory (removed by
// Result.Close), or over Cache/<key>/tree, rewriting only what differs.
func (f *fetcher) checkout(branch string) error {
	ref, err := f.repo.Reference(plumbing.ReferenceName("refs/remotes/origin/"+branch), true)
	if err != nil {
		return cacerr.Usage("config repo %s: fetched branch %s is missing locally: %w", f.rem, branch, err)
	}
	c, err := f.repo.CommitObject(ref.Hash())
	if err != nil {
		return cacerr.Usage("config repo %s: read commit %s: %w", f.rem, ref.Hash(), err)
	}
	dir := filepath.Join(f.cacheDir, "tree")
	if f.cacheDir == "" {
		if dir, err = os.MkdirTemp("", "cac-config-"); err != nil {
			return cacerr.Usage("config repo checkout: %w", err)
		}
		_ = f.res.Close()
		f.res.cleanup = dir
	}
	if err := syncFiles(f.repo.Storer, c, dir); err != nil {
		return cacerr.Usage("config repo %s: check out %s in %s: %w", f.rem, branch, dir, err)
	}
	f.res.Dir, f.res.Branch, f.res.Commit = dir, branch, c.Hash.String()
	return nil
}

// useOffline checks out the cached copy of the requested branch (or of the default branch, as last
// seen) after the remote failed with cause; false when the cache has neither.
func (f *fetcher) useOffline(cause error) bool {
	f.res.Fallback = false
	branch := f.o.Branch
	if _, err := f.repo.Reference(plumbing.ReferenceName("refs/remotes/origin/"+branch), true); branch == "" || err != nil {
		head, err := f.repo.Reference("refs/remotes/origin/HEAD", false)
		if err != nil || head.Type() != plumbing.SymbolicReference {
			return false
		}
		branch = head.Target().String()[len("refs/remotes/origin/"):]
		f.res.Fallback = f.o.Branch != ""
	}
	if err := f.checkout(branch); err != nil {
		return false
	}
	f.res.Offline = true
	fmt.Fprintf(f.o.Stderr, "cac: WARNING: %v\ncac: WARNING: using the cached clone of branch %q at commit %s; it may be out of date\n",
		cause, branch, f.res.Commit)
	return true
}

// remoteError turns a failed remote operation into a cacerr.KindRemote error that says what to do,
// with every credential scrubbed out.
func (f *fetcher) remoteError(ctx context.Context, err error, op, branch string, attempts int) error {
	what := fmt.Sprintf("%s config repo %s (branch %s)", op, f.rem, branch)
	if branch == "" {
		what = fmt.Sprintf("%s config repo %s (default branch)", op, f.rem)
	}
	if ctx.Err() != nil {
		return cacerr.Remote(f.rem.errorf(ctx.Err(), "%s: %v", what, ctx.Err()))
	}
	c, desc := classify(err)
	switch c {
	case transient:
		return cacerr.Remote(f.rem.errorf(err, "%s: %s after %d attempts", what, desc, attempts))
	case denied:
		return cacerr.Remote(f.rem.errorf(err, "%s: %s: check %s", what, desc, f.rem.authHint))
	case notFound:
		if f.rem.authHint == "" {
			return cacerr.Remote(f.rem.errorf(err, "%s: %s: check the URL", what, desc))
		}
		return cacerr.Remote(f.rem.errorf(err, "%s: %s: check the URL, and that %s can read it", what, desc, f.rem.authHint))
	}
	return cacerr.Remote(f.rem.errorf(err, "%s: %s", what, desc))
}

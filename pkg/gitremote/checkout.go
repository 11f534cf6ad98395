package gitremote

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/cacproj/cac/pkg/cacerr"
)

// CheckoutOptions say which branch to check out and where to keep it.
type CheckoutOptions struct {
	// Branch is the branch asked for; when the remote lacks it (or it is empty) the remote's
	// default branch is checked out, and Tree.Fallback says so.
	Branch string
	// Cache, when set, keeps the fetched objects in Cache/<hash of the redacted URL>/repo.git and
	// updates them incrementally on later fetches. Without it the objects stay in memory. The cache
	// is locked from the fetch until Close.
	Cache string
	// OfflineFallback uses the cached clone, with a warning, when the remote stays unreachable.
	OfflineFallback bool
	// Stderr receives notices (branch fallback, offline use); nil discards them.
	Stderr io.Writer
	// Progress receives the server's progress messages (git sideband) when non-nil.
	Progress io.Writer
}

// Snapshot is the fetched tip of a branch of a remote, read through FS straight from its objects
// (in memory, or in the cache's bare repository): nothing is checked out.
type Snapshot struct {
	URL       string  // the address, redacted
	Requested string  // CheckoutOptions.Branch
	Branch    string  // the branch fetched
	Fallback  bool    // Requested does not exist: Branch is the remote's default branch
	Commit    string  // hex commit fetched
	Offline   bool    // the remote was unreachable: the cached clone as last fetched
	Attempts  int     // attempts made by the last remote operation
	FS        *TreeFS // the files of Commit

	unlock func() // releases the cache lock, held until Close
}

// Close releases the cache lock.
func (s *Snapshot) Close() error {
	if s != nil && s.unlock != nil {
		s.unlock()
		s.unlock = nil
	}
	return nil
}

// Tree is a checked-out branch of a remote: a Snapshot whose files are written to Dir.
type Tree struct {
	Snapshot
	Dir string // the files on disk (no .git inside)

	cleanup string // temporary checkout removed by Close
}

// Close removes the checkout and releases the cache lock.
func (t *Tree) Close() error {
	if t == nil {
		return nil
	}
	_ = t.Snapshot.Close()
	if t.cleanup == "" {
		return nil
	}
	dir := t.cleanup
	t.cleanup = ""
	return os.RemoveAll(dir)
}

// Checkout is Snapshot, then writes the files of the commit to a new temporary directory (removed by
// Tree.Close); with o.Cache only the objects are cached.
func (r *Remote) Checkout(ctx context.Context, o CheckoutOptions) (*Tree, error) {
	f, err := r.fetch(ctx, o)
	if err != nil {
		return nil, err
	}
	t := &Tree{Snapshot: *f.res}
	dir, err := os.MkdirTemp("", "cac-checkout-")
	if err != nil {
		_ = t.Close()
		return nil, cacerr.Usage("%s checkout: %w", r.role, err)
	}
	t.cleanup = dir
	if err := writeFiles(f.repo.Storer, f.commit, dir); err != nil {
		_ = t.Close()
		return nil, cacerr.Usage("%s %s: check out %s in %s: %w", r.role, r, t.Branch, dir, err)
	}
	t.Dir = dir
	return t, nil
}

// Snapshot fetches the tip of o.Branch, or of the remote's default branch when that branch does not
// exist, with a shallow single-branch fetch (incremental into a cached clone), and returns its
// files as an fs.FS over the fetched objects: no file is written (docs/design.md §1). With
// o.Cache the objects stay in Cache/<key>/repo.git and the cache is locked until Snapshot.Close.
// All its remote operations share one Policy.Budget. Errors are cacerr-classified: remote
// failures (after retries, or denied access, or a missing repository) are cacerr.KindRemote, a
// local problem cacerr.KindUsage.
func (r *Remote) Snapshot(ctx context.Context, o CheckoutOptions) (*Snapshot, error) {
	f, err := r.fetch(ctx, o)
	if err != nil {
		return nil, err
	}
	return f.res, nil
}

func (r *Remote) fetch(ctx context.Context, o CheckoutOptions) (*fetcher, error) {
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	f := &fetcher{o: o, rem: r, res: &Snapshot{URL: r.display, Requested: o.Branch}}
	if o.Cache != "" {
		// Concurrent builds on one runner share the cache: one at a time per cached repository.
		var err error
		if f.res.unlock, err = lockCache(o.Cache, r.display); err != nil {
			return nil, err
		}
	}
	ctx, cancel := budget(ctx, r.policy)
	defer cancel()
	if err := f.fetch(ctx); err != nil {
		_ = f.res.Close()
		return nil, err
	}
	return f, nil
}

type fetcher struct {
	o           CheckoutOptions
	rem         *Remote
	res         *Snapshot
	repo        *git.Repository
	commit      *object.Commit // the commit fetched
	cacheDir    string         // Cache/<key> when caching
	fresh       bool           // repo was created by this checkout (not a cached clone from an earlier build)
	incremental bool           // the last fetch had no depth limit (a cached clone updated in place)
	upToDate    bool           // the last fetch found the branch where the cache had it: nothing came
}

func (f *fetcher) fetch(ctx context.Context) error {
	if err := f.open(false); err != nil {
		return err
	}
	branch, err := f.fetchBranch(ctx)
	if err != nil {
		if ClassOf(err) == Transient && f.o.OfflineFallback && !f.fresh && !canceled(ctx) {
			if ok := f.useOffline(err); ok {
				return nil
			}
		}
		return err
	}
	// A branch the cache already had at the same tip was complete when it was fetched: only a
	// fetch that brought objects is checked.
	if f.incremental && !f.upToDate && !f.complete(branch) {
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
	return f.pin(branch)
}

// canceled reports whether ctx ended for another reason than its budget.
func canceled(ctx context.Context) bool {
	var eb errBudget
	return ctx.Err() != nil && !errors.As(context.Cause(ctx), &eb)
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

// open prepares the repository to fetch into: in memory without a cache, else the bare
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
			return cacerr.Usage("%s cache: %w", f.rem.role, err)
		}
		repo, err = git.PlainInit(gitDir, true)
	}
	if err != nil {
		return cacerr.Usage("%s clone: %w", f.rem.role, err)
	}
	// The remote keeps only the redacted address: credentials never reach disk.
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{f.rem.display}}); err != nil {
		return cacerr.Usage("%s clone: %w", f.rem.role, err)
	}
	f.repo = repo
	return nil
}

// fetchBranch fetches the requested branch, or the default branch when it does not exist, into
// refs/remotes/origin/<branch> and returns the branch fetched.
func (f *fetcher) fetchBranch(ctx context.Context) (string, error) {
	if f.o.Branch != "" {
		err := f.fetchOne(ctx, f.o.Branch)
		if !IsNoBranch(err) {
			return f.o.Branch, err
		}
	}
	refs, n, err := f.rem.list(ctx)
	f.res.Attempts = n
	if err != nil {
		return "", err
	}
	def, err := f.rem.defaultBranch(refs)
	if err != nil {
		return "", err
	}
	head := plumbing.NewSymbolicReference("refs/remotes/origin/HEAD", plumbing.ReferenceName("refs/remotes/origin/"+def))
	if err := f.repo.Storer.SetReference(head); err != nil { // for offline use
		return "", cacerr.Usage("%s clone: %w", f.rem.role, err)
	}
	if f.o.Branch != "" {
		fmt.Fprintf(f.o.Stderr, "cac: %s %s has no branch %q; using its default branch %q\n", f.rem.role, f.rem, f.o.Branch, def)
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
	before, err := f.repo.Reference(tracking, false)
	if err == nil && !f.fresh {
		depth = 0
	}
	f.incremental = depth == 0
	n, err := retry(ctx, f.rem.policy, func(ctx context.Context) error {
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
	if err == nil || IsNoBranch(err) {
		after, rerr := f.repo.Reference(tracking, false)
		f.upToDate = err == nil && before != nil && rerr == nil && after.Hash() == before.Hash()
		return err
	}
	return f.rem.fail(ctx, err, "fetch", f.rem.what("fetch", plumbing.NewBranchReferenceName(branch)), n)
}

// pin makes the fetched tip of branch the result: its commit and its files.
func (f *fetcher) pin(branch string) error {
	ref, err := f.repo.Reference(plumbing.ReferenceName("refs/remotes/origin/"+branch), true)
	if err != nil {
		return cacerr.Usage("%s %s: fetched branch %s is missing locally: %w", f.rem.role, f.rem, branch, err)
	}
	c, err := f.repo.CommitObject(ref.Hash())
	if err != nil {
		return cacerr.Usage("%s %s: read commit %s: %w", f.rem.role, f.rem, ref.Hash(), err)
	}
	fsys, err := NewTreeFS(f.repo.Storer, c)
	if err != nil {
		return cacerr.Usage("%s %s: read the tree of %s: %w", f.rem.role, f.rem, c.Hash, err)
	}
	f.commit = c
	f.res.Branch, f.res.Commit, f.res.FS = branch, c.Hash.String(), fsys
	return nil
}

// useOffline uses the cached copy of the requested branch (or of the default branch, as last
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
	if err := f.pin(branch); err != nil {
		return false
	}
	f.res.Offline = true
	fmt.Fprintf(f.o.Stderr, "cac: WARNING: %v\ncac: WARNING: using the cached clone of branch %q at commit %s; it may be out of date\n",
		cause, branch, f.res.Commit)
	return true
}

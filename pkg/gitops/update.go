package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
)

// Reader reads the tree of the tip an edit applies to.
type Reader interface {
	// ReadFile returns a file's content; a missing file is fs.ErrNotExist.
	ReadFile(name string) ([]byte, error)
	// Files lists every file below dir (slash paths from the repo root, sorted); none when dir is missing.
	Files(dir string) ([]string, error)
}

// EditFunc computes the change of an Update from the tip it applies to: files to write (path →
// content) and files to delete, slash paths from the repo root. It is called again on the new tip
// when another pipeline moved the branch, so it must derive everything from tip.
type EditFunc func(tip Reader) (changes map[string][]byte, deletes []string, err error)

// UpdateOptions say where Update commits.
type UpdateOptions struct {
	RepoURL string // GitOps repo (https, file or path)
	Token   string // https token; the user name is the forge's (see gitremote.Open)
	// Getenv reads the CI's forge (CI_SERVER_HOST) and ssh keys for gitremote; nil: os.Getenv.
	Getenv  func(string) string
	Branch  string // default: the remote's default branch
	Message string // the commit message
	Author  Signature
	Retries int // pushes retried after the first (default 8)
	Backoff time.Duration
	Stderr  io.Writer // retry notes (default: discarded)
}

// UpdateResult says what Update did.
type UpdateResult struct {
	UpToDate bool // the edit changed nothing; no commit
	Commit   string
	Branch   string
	Changes  []FileChange
	Attempts int
}

// Update commits the change edit computes from the tip of the branch and pushes it; when another
// pipeline moved the branch meanwhile, the push is rejected and edit runs again on the new tip, so
// concurrent updates of one file (a shared route table) all survive.
func Update(ctx context.Context, o UpdateOptions, edit EditFunc) (*UpdateResult, error) {
	if o.RepoURL == "" {
		return nil, cacerr.Usage("no GitOps repo: set the repository URL to commit to")
	}
	if o.Author.Name == "" {
		o.Author = Signature{Name: "cac", Email: "cac@localhost"}
	}
	rem, err := gitremote.Open(gitremote.GitOpsRepo, o.RepoURL, gitremote.Options{Getenv: o.Getenv, Token: o.Token})
	if err != nil {
		return nil, err
	}
	r := retrier{label: "update", rem: rem, retries: o.Retries, backoff: o.Backoff, stderr: o.Stderr}
	var res *UpdateResult
	attempts, err := r.run(ctx, func() error {
		var err error
		res, err = updateAttempt(ctx, rem, o, edit)
		return err
	})
	if err != nil {
		return nil, err
	}
	res.Attempts = attempts
	return res, nil
}

func updateAttempt(ctx context.Context, rem *gitremote.Remote, o UpdateOptions, edit EditFunc) (*UpdateResult, error) {
	c, err := cloneTip(ctx, rem, o.Branch, "", o.Stderr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	writes, deletes, err := edit(treeReader{c.tree})
	if err != nil {
		return nil, err
	}
	e := newEdit()
	for name, data := range writes {
		h, err := gitremote.WriteBlob(c.st, data)
		if err != nil {
			return nil, err
		}
		e.file(name, h)
	}
	for _, name := range deletes {
		e.remove(name)
	}
	newTree, err := e.apply(c.st, c.baseHash())
	if err != nil {
		return nil, err
	}
	changes, _, err := changesBetween(c.tree, c.st, newTree, false)
	if err != nil {
		return nil, err
	}
	res := &UpdateResult{Branch: c.branch, Changes: changes}
	if newTree == c.baseHash() {
		res.UpToDate = true
		return res, nil
	}
	commit, err := c.commit(newTree, o.Message, o.Author)
	if err != nil {
		return nil, err
	}
	if err := c.push(ctx, commit, c.branch); err != nil {
		return nil, err
	}
	res.Commit = commit.String()
	return res, nil
}

// tipClone is the fetched tip of a branch (tip nil: an empty repo), cached or in memory; new
// objects are written into st and pushed without the rest of the repository (see
// gitremote.Mirror). Close releases the cache.
type tipClone struct {
	m      *gitremote.Mirror
	st     storer.EncodedObjectStorer
	branch string
	tip    *object.Commit
	tree   *object.Tree
}

func (c *tipClone) baseHash() plumbing.Hash {
	if c.tip == nil {
		return plumbing.ZeroHash
	}
	return c.tip.TreeHash
}

func (c *tipClone) Close() { c.m.Close() }

// cloneTip fetches the tip of branch ("" = the default branch) into cache (a directory; "" = in
// memory); an empty repo gives a clone without tip whose branch is branch or main.
func cloneTip(ctx context.Context, rem *gitremote.Remote, branch, cache string, stderr io.Writer) (*tipClone, error) {
	m, err := rem.Mirror(ctx, gitremote.MirrorOptions{Branch: branch, Cache: cache, Stderr: stderr})
	if err != nil {
		return nil, err
	}
	c := &tipClone{m: m, st: m.Objects(), branch: m.Branch}
	if m.Tip.IsZero() {
		return c, nil
	}
	if c.tip, err = object.GetCommit(c.st, m.Tip); err != nil {
		m.Close()
		return nil, cacerr.Usage("GitOps repo %s: read commit %s: %w", rem, m.Tip, err)
	}
	if c.tree, err = c.tip.Tree(); err != nil {
		m.Close()
		return nil, cacerr.Usage("GitOps repo %s: read tree of %s: %w", rem, m.Tip, err)
	}
	return c, nil
}

// commit writes a commit of tree on the tip.
func (c *tipClone) commit(tree plumbing.Hash, message string, author Signature) (plumbing.Hash, error) {
	sig := object.Signature{Name: author.Name, Email: author.Email, When: time.Now()}
	commit := &object.Commit{Author: sig, Committer: sig, Message: message, TreeHash: tree}
	if c.tip != nil {
		commit.ParentHashes = []plumbing.Hash{c.tip.Hash}
	}
	obj := c.st.NewEncodedObject()
	if err := commit.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return c.st.SetEncodedObject(obj)
}

// push pushes commit h to the branch target, sending only the objects this attempt wrote. Pushing
// to the clone's branch is leased on the tip, so a branch moved meanwhile rejects it (and the
// caller retries on the new tip); another target must not exist yet.
func (c *tipClone) push(ctx context.Context, h plumbing.Hash, target string) error {
	var old plumbing.Hash
	if c.tip != nil && target == c.branch {
		old = c.tip.Hash
	}
	return c.m.PushCommit(ctx, plumbing.NewBranchReferenceName(target), h, old)
}

// retrier runs attempts until one succeeds, a failure is not worth retrying, or retries run out,
// waiting a jittered, doubling backoff between them.
type retrier struct {
	label   string
	rem     *gitremote.Remote
	retries int
	backoff time.Duration
	stderr  io.Writer
}

func (r retrier) run(ctx context.Context, attempt func() error) (int, error) {
	if r.retries == 0 {
		r.retries = 8
	}
	if r.backoff == 0 {
		r.backoff = 500 * time.Millisecond
	}
	if r.stderr == nil {
		r.stderr = io.Discard
	}
	backoff := r.backoff
	for n := 1; ; n++ {
		err := attempt()
		if err == nil {
			return n, nil
		}
		if ctx.Err() != nil {
			return n, cacerr.Remote(fmt.Errorf("%s: %w", r.label, ctx.Err()))
		}
		if gitremote.ClassOf(err) != gitremote.Rejected {
			var ce *cacerr.Error
			if !errors.As(err, &ce) {
				err = cacerr.Usage("%s to %s: %w", r.label, r.rem, err)
			}
			return n, err
		}
		if n > r.retries {
			return n, cacerr.Remote(fmt.Errorf("%s to %s: gave up after %d attempts: %w", r.label, r.rem, n, err))
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		fmt.Fprintf(r.stderr, "%s: attempt %d failed (%v); retrying in %s\n", r.label, n, err, wait.Round(time.Millisecond))
		select {
		case <-ctx.Done():
			return n, cacerr.Remote(fmt.Errorf("%s: %w", r.label, ctx.Err()))
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 64*r.backoff) // 500ms default: at most ~32s
	}
}

// treeReader reads a commit's tree (nil: an empty repo).
type treeReader struct{ t *object.Tree }

func (r treeReader) ReadFile(name string) ([]byte, error) {
	if r.t == nil {
		return nil, fs.ErrNotExist
	}
	f, err := r.t.File(name)
	if errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
		return nil, fs.ErrNotExist
	}
	if err != nil {
		return nil, err
	}
	s, err := f.Contents()
	return []byte(s), err
}

func (r treeReader) Files(dir string) ([]string, error) {
	if r.t == nil {
		return nil, nil
	}
	t := r.t
	dir = strings.Trim(dir, "/")
	if dir != "" && dir != "." {
		sub, err := r.t.Tree(dir)
		if errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		t = sub
	} else {
		dir = ""
	}
	var out []string
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if e.Mode != filemode.Dir {
			out = append(out, path.Join(dir, name))
		}
	}
	sort.Strings(out)
	return out, nil
}

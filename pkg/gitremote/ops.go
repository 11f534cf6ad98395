package gitremote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/cacproj/cac/pkg/cacerr"
)

// ErrEmptyRepository is in the chain of a clone of a repository without any commit.
var ErrEmptyRepository = transport.ErrEmptyRemoteRepository

// IsNoBranch reports whether err says the branch or ref asked for does not exist on the remote.
func IsNoBranch(err error) bool {
	var noRef git.NoMatchingRefSpecError
	return errors.As(err, &noRef) || errors.Is(err, plumbing.ErrReferenceNotFound)
}

// what names an operation on r for messages: "fetch config repo URL (branch main)".
func (r *Remote) what(op string, ref plumbing.ReferenceName) string {
	switch {
	case ref == "":
		return fmt.Sprintf("%s %s %s (default branch)", op, r.role, r.display)
	case ref.IsBranch():
		return fmt.Sprintf("%s %s %s (branch %s)", op, r.role, r.display, ref.Short())
	case ref.IsTag():
		return fmt.Sprintf("%s %s %s (tag %s)", op, r.role, r.display, ref.Short())
	}
	return fmt.Sprintf("%s %s %s (%s)", op, r.role, r.display, ref)
}

// List lists the remote's refs (HEAD as a symbolic ref to the default branch, where the server
// tells it), retried within the policy.
func (r *Remote) List(ctx context.Context) ([]*plumbing.Reference, error) {
	ctx, cancel := budget(ctx, r.policy)
	defer cancel()
	refs, _, err := r.list(ctx)
	return refs, err
}

func (r *Remote) list(ctx context.Context) ([]*plumbing.Reference, int, error) {
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{r.transport}})
	var refs []*plumbing.Reference
	n, err := retry(ctx, r.policy, func(ctx context.Context) error {
		var err error
		refs, err = rem.ListContext(ctx, &git.ListOptions{Auth: r.auth})
		return err
	})
	if err != nil {
		return nil, n, r.fail(ctx, err, "list", fmt.Sprintf("list refs of %s %s", r.role, r.display), n)
	}
	return refs, n, nil
}

// DefaultBranch is the branch the remote's HEAD names.
func (r *Remote) DefaultBranch(ctx context.Context) (string, error) {
	refs, err := r.List(ctx)
	if err != nil {
		return "", err
	}
	return r.defaultBranch(refs)
}

func (r *Remote) defaultBranch(refs []*plumbing.Reference) (string, error) {
	def := HeadBranch(refs)
	if def == "" {
		return "", cacerr.Remote(fmt.Errorf("%s %s: cannot tell its default branch (HEAD names no branch)", r.role, r.display))
	}
	return def, nil
}

// HeadBranch names the branch HEAD points at: its symref target, or, from servers that do not
// advertise symrefs, the only branch at HEAD's commit; "" when neither tells.
func HeadBranch(refs []*plumbing.Reference) string {
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

// Resolve finds the commit rev names on the remote, as `git ls-remote` would: the branch rev,
// else the tag rev; "" is the default branch. A rev the remote lacks is a cacerr.KindUsage error
// for which IsNoBranch holds.
func (r *Remote) Resolve(ctx context.Context, rev string) (plumbing.Hash, plumbing.ReferenceName, error) {
	refs, err := r.List(ctx)
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, ref := range refs {
		byName[ref.Name()] = ref
	}
	names := []plumbing.ReferenceName{plumbing.NewBranchReferenceName(rev), plumbing.NewTagReferenceName(rev)}
	if rev == "" {
		def, err := r.defaultBranch(refs)
		if err != nil {
			return plumbing.ZeroHash, "", err
		}
		names = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(def)}
	}
	for _, n := range names {
		if ref, ok := byName[n]; ok && ref.Type() == plumbing.HashReference {
			return ref.Hash(), n, nil
		}
	}
	return plumbing.ZeroHash, "", cacerr.Usage("%s %s: no branch or tag %q: %w", r.role, r.display, rev, plumbing.ErrReferenceNotFound)
}

// CloneOptions say what to clone.
type CloneOptions struct {
	Ref        plumbing.ReferenceName // refs/heads/<b> or refs/tags/<t>; "" = the default branch
	Depth      int                    // 0 = whole history
	Dir        string                 // a work tree to clone into (emptied between attempts); "" = in memory (a *memory.Storage)
	NoCheckout bool                   // objects only
}

// Clone clones one ref of the remote (single branch, no tags), retried within the policy. A ref
// the remote lacks is a cacerr.KindUsage error for which IsNoBranch holds; an empty remote one in
// whose chain is ErrEmptyRepository.
func (r *Remote) Clone(ctx context.Context, o CloneOptions) (*git.Repository, error) {
	ctx, cancel := budget(ctx, r.policy)
	defer cancel()
	var repo *git.Repository
	n, err := retry(ctx, r.policy, func(ctx context.Context) error {
		co := &git.CloneOptions{URL: r.transport, Auth: r.auth, ReferenceName: o.Ref, SingleBranch: true,
			Depth: o.Depth, NoCheckout: o.NoCheckout, Tags: git.NoTags}
		var err error
		if o.Dir == "" {
			repo, err = git.CloneContext(ctx, memory.NewStorage(), nil, co)
			return err
		}
		if err := emptyDir(o.Dir); err != nil {
			return cacerr.Usage("%s clone: %w", r.role, err)
		}
		repo, err = git.PlainCloneContext(ctx, o.Dir, false, co)
		return err
	})
	switch {
	case err == nil:
		return repo, nil
	case cacerr.Is(err, cacerr.KindUsage):
		return nil, err
	case IsNoBranch(err):
		return nil, cacerr.Usage("%s %s has no %s: %w", r.role, r.display, refName(o.Ref), err)
	case errors.Is(err, ErrEmptyRepository):
		return nil, cacerr.Usage("%s %s is empty: %w", r.role, r.display, err)
	}
	return nil, r.fail(ctx, err, "clone", r.what("clone", o.Ref), n)
}

func refName(ref plumbing.ReferenceName) string {
	switch {
	case ref.IsBranch():
		return "branch " + ref.Short()
	case ref.IsTag():
		return "tag " + ref.Short()
	}
	return string(ref)
}

// emptyDir makes dir an empty directory.
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(dir + string(os.PathSeparator) + e.Name()); err != nil {
			return err
		}
	}
	return nil
}

// FetchOptions say what to fetch into a repository Clone returned.
type FetchOptions struct {
	RefSpecs []config.RefSpec // e.g. +refs/heads/x:refs/remotes/origin/x
	Depth    int              // 0 = whole history
}

// Fetch fetches refs of the remote into repo (a repository Clone returned), retried within the
// policy; nothing new is not an error. A ref the remote lacks is a cacerr.KindUsage error for
// which IsNoBranch holds.
func (r *Remote) Fetch(ctx context.Context, repo *git.Repository, o FetchOptions) error {
	ctx, cancel := budget(ctx, r.policy)
	defer cancel()
	var ref plumbing.ReferenceName
	if len(o.RefSpecs) > 0 {
		ref = plumbing.ReferenceName(o.RefSpecs[0].Src())
	}
	n, err := retry(ctx, r.policy, func(ctx context.Context) error {
		err := repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RemoteURL: r.transport, RefSpecs: o.RefSpecs,
			Depth: o.Depth, Auth: r.auth, Tags: git.NoTags, Force: true})
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	})
	switch {
	case err == nil:
		return nil
	case IsNoBranch(err):
		return cacerr.Usage("%s %s has no %s: %w", r.role, r.display, refName(ref), err)
	}
	return r.fail(ctx, err, "fetch", r.what("fetch", ref), n)
}

// Lease guards a push: the remote branch Ref is updated only while it still points at Hash
// (git push --force-with-lease=<ref>:<hash>).
type Lease struct {
	Ref  plumbing.ReferenceName
	Hash plumbing.Hash
}

// PushOptions say what to push.
type PushOptions struct {
	RefSpecs []config.RefSpec // e.g. refs/heads/x:refs/heads/x; a leading + forces
	Lease    *Lease
	// Atomic asks the server to update every ref or none (git push --atomic), where it can.
	Atomic bool
}

// Push pushes refs of repo (its remote "origin") to the remote, retried within the policy when
// the connection fails. A push the server refuses because the branch moved (or the lease no longer
// holds) is an *Error of Class Rejected: redo the change on the new tip. A push that changes
// nothing succeeds.
func (r *Remote) Push(ctx context.Context, repo *git.Repository, o PushOptions) error {
	ctx, cancel := budget(ctx, r.policy)
	defer cancel()
	po := &git.PushOptions{RemoteName: "origin", RemoteURL: r.transport, RefSpecs: o.RefSpecs, Auth: r.auth, Atomic: o.Atomic}
	if o.Lease != nil {
		// go-git reads the lease from the remote-tracking ref even when given the hash; a fresh
		// clone may have none, so set it.
		po.ForceWithLease = &git.ForceWithLease{RefName: o.Lease.Ref, Hash: o.Lease.Hash}
		track := plumbing.NewRemoteReferenceName("origin", o.Lease.Ref.Short())
		if err := repo.Storer.SetReference(plumbing.NewHashReference(track, o.Lease.Hash)); err != nil {
			return cacerr.Usage("%s push: %w", r.role, err)
		}
	}
	var ref plumbing.ReferenceName
	if len(o.RefSpecs) > 0 {
		ref = o.RefSpecs[0].Dst("")
	}
	n, err := retry(ctx, r.policy, func(ctx context.Context) error {
		err := repo.PushContext(ctx, po)
		if errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil
		}
		return err
	})
	if err == nil {
		return nil
	}
	if rejected(err) {
		e := &Error{Role: r.role, Op: "push", URL: r.display, Class: Rejected, Attempts: n, err: err}
		e.msg = r.scrub.scrub(fmt.Sprintf("%s: rejected: %v", r.what("push", ref), err))
		return cacerr.Remote(e)
	}
	return r.fail(ctx, err, "push", r.what("push", ref), n)
}

// rejected reports a push refused because the remote branch is not where the push expected it.
func rejected(err error) bool {
	if errors.Is(err, git.ErrForceNeeded) {
		return true
	}
	s := err.Error()
	for _, m := range []string{"non-fast-forward", "failed to update ref", "reference has changed", "fetch first", "stale info", "rejected", "command error on"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

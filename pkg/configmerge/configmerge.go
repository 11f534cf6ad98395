// Package configmerge closes the delivery loop of the config repo (docs/design.md §1): the config
// repo has branches named like the code repo's, and once the code branch merges, its config branch
// must merge into the config repo's default branch too, or the default-branch build renders
// without the change its merge request reviewed.
//
// Merge merges a config branch into the default branch: a fast-forward when it can, else a merge
// commit with both tips as parents. go-git does not merge trees, so this package does, three-way
// from the merge base: a path changed on one side takes that side, text files changed on both
// sides merge line by line (Merge3), anything else is a conflict, and a conflict merges and
// pushes nothing. The push holds a lease on the default branch; when another push moved it, the
// merge is redone on the new tip, a bounded number of times. Every remote operation goes through
// pkg/gitremote.
package configmerge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
)

// Options say which branch to merge and how.
type Options struct {
	Remote       *gitremote.Remote // the config repo
	Branch       string            // the config branch to merge, named like the code branch
	DeleteBranch bool              // remove Branch on the remote once merged (in the same atomic push)
	DryRun       bool              // merge in memory only: say what would happen, push nothing
	CodeCommit   string            // the code repo's merge commit, for the Cac-Code-Commit trailer
	PipelineURL  string            // for the Cac-Pipeline trailer
	AuthorName   string            // merge commit author; default cac
	AuthorEmail  string            // default cac@localhost
	Attempts     int               // merges tried while the default branch keeps moving; 0 means 5
	Now          func() time.Time  // commit time; nil means time.Now
	Stderr       io.Writer         // progress notices (a retry); nil discards them
}

// Outcome is what Merge did (or, in a dry run, would do).
type Outcome string

const (
	NothingToMerge Outcome = "nothing to merge" // the config repo has no such branch
	AlreadyMerged  Outcome = "already merged"   // the branch tip is in the default branch
	FastForward    Outcome = "fast-forward"     // the default branch moves to the branch tip
	MergeCommit    Outcome = "merge commit"     // a commit with both tips as parents
	Conflicted     Outcome = "conflict"         // nothing merged, nothing pushed
)

// Result says what Merge did.
type Result struct {
	Outcome       Outcome    `json:"outcome"`
	Repo          string     `json:"repo"` // redacted
	Branch        string     `json:"branch"`
	DefaultBranch string     `json:"default_branch,omitempty"`
	BranchCommit  string     `json:"branch_commit,omitempty"`
	DefaultCommit string     `json:"default_commit,omitempty"` // the default branch's tip merged into
	Commit        string     `json:"commit,omitempty"`         // the default branch's new tip
	Conflicts     []Conflict `json:"conflicts,omitempty"`
	Deleted       bool       `json:"branch_deleted"`
	DryRun        bool       `json:"dry_run"`
	Attempts      int        `json:"attempts"` // merges tried (more than 1 when the default branch moved)
}

// Merge merges o.Branch of the config repo into its default branch and pushes the result (see the
// package doc). A missing branch is NothingToMerge, a branch already in the default branch
// AlreadyMerged; neither is an error. A conflict is Conflicted with the conflicting paths, and no
// error: the caller decides the exit code. Remote failures are the *gitremote.Error of the
// operation (cacerr.KindRemote); a branch that shares no history with the default branch, or is the
// default branch, is a cacerr.KindUsage error.
func Merge(ctx context.Context, o Options) (*Result, error) {
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.AuthorName == "" {
		o.AuthorName, o.AuthorEmail = "cac", "cac@localhost"
	}
	for attempt := 1; ; attempt++ {
		res, push, err := plan(ctx, o)
		if err != nil || push == nil {
			if res != nil {
				res.Attempts = attempt
			}
			return res, err
		}
		res.Attempts = attempt
		err = push(ctx)
		if err == nil {
			return res, nil
		}
		var moved *movedError
		if gitremote.ClassOf(err) != gitremote.Rejected && !errors.As(err, &moved) || attempt == o.Attempts {
			return nil, err
		}
		fmt.Fprintf(o.Stderr, "cac: %s moved while merging config branch %s; merging again on its new tip\n", res.DefaultBranch, o.Branch)
	}
}

// plan reads both branches, merges them in memory and returns what to push (nil: nothing).
func plan(ctx context.Context, o Options) (*Result, func(context.Context) error, error) {
	res := &Result{Repo: o.Remote.String(), Branch: o.Branch, DryRun: o.DryRun}
	refs, err := o.Remote.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	if res.DefaultBranch = gitremote.HeadBranch(refs); res.DefaultBranch == "" {
		return nil, nil, cacerr.Remote(fmt.Errorf("%s %s: cannot tell its default branch (HEAD names no branch)", o.Remote.Role(), o.Remote))
	}
	if o.Branch == res.DefaultBranch {
		return nil, nil, cacerr.Usage("config branch %s is the default branch of %s: nothing to merge it into", o.Branch, o.Remote)
	}
	branchRef := plumbing.NewBranchReferenceName(o.Branch)
	defRef := plumbing.NewBranchReferenceName(res.DefaultBranch)
	var listed plumbing.Hash
	for _, r := range refs {
		if r.Name() == branchRef {
			listed = r.Hash()
		}
	}
	if listed.IsZero() {
		res.Outcome = NothingToMerge
		return res, nil, nil
	}

	// The default branch with its whole history (for the merge base), then the branch.
	repo, err := o.Remote.Clone(ctx, gitremote.CloneOptions{Ref: defRef, NoCheckout: true})
	if err != nil {
		return nil, nil, err
	}
	tracking := plumbing.NewRemoteReferenceName("origin", o.Branch)
	err = o.Remote.Fetch(ctx, repo, gitremote.FetchOptions{RefSpecs: []config.RefSpec{config.RefSpec("+" + branchRef + ":" + tracking)}})
	if gitremote.IsNoBranch(err) { // deleted since it was listed
		res.Outcome = NothingToMerge
		return res, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ours, err := tip(repo, defRef)
	if err != nil {
		return nil, nil, err
	}
	theirs, err := tip(repo, tracking)
	if err != nil {
		return nil, nil, err
	}
	res.DefaultCommit, res.BranchCommit = ours.Hash.String(), theirs.Hash.String()

	deleteSpec := config.RefSpec(":" + branchRef)
	if merged, err := theirs.IsAncestor(ours); err != nil {
		return nil, nil, cacerr.Usage("%s: %w", o.Remote, err)
	} else if merged || theirs.Hash == ours.Hash {
		res.Outcome, res.Commit = AlreadyMerged, ours.Hash.String()
		if !o.DeleteBranch || o.DryRun {
			return res, nil, nil
		}
		return res, func(ctx context.Context) error {
			if err := unmoved(ctx, o, theirs.Hash); err != nil {
				return err
			}
			if err := o.Remote.Push(ctx, repo, gitremote.PushOptions{RefSpecs: []config.RefSpec{deleteSpec}}); err != nil {
				return err
			}
			res.Deleted = true
			return nil
		}, nil
	}

	var newTip plumbing.Hash
	if ff, err := ours.IsAncestor(theirs); err != nil {
		return nil, nil, cacerr.Usage("%s: %w", o.Remote, err)
	} else if ff {
		res.Outcome, newTip = FastForward, theirs.Hash
	} else {
		bases, err := ours.MergeBase(theirs)
		if err != nil {
			return nil, nil, cacerr.Usage("%s: merge base of %s and %s: %w", o.Remote, res.DefaultBranch, o.Branch, err)
		}
		if len(bases) == 0 {
			return nil, nil, cacerr.Usage("config branch %s shares no history with %s in %s: merge it by hand", o.Branch, res.DefaultBranch, o.Remote)
		}
		// Criss-cross histories have several bases; the first serves as git's "resolve" strategy does.
		tree, conflicts, err := mergeCommits(repo, bases[0], ours, theirs)
		if err != nil {
			return nil, nil, cacerr.Usage("%s: merge %s into %s: %w", o.Remote, o.Branch, res.DefaultBranch, err)
		}
		if len(conflicts) > 0 {
			res.Outcome, res.Conflicts = Conflicted, conflicts
			return res, nil, nil
		}
		res.Outcome = MergeCommit
		if newTip, err = commit(repo, o, res, tree, ours.Hash, theirs.Hash); err != nil {
			return nil, nil, cacerr.Usage("%s: write the merge commit: %w", o.Remote, err)
		}
	}
	res.Commit = newTip.String()
	if o.DryRun {
		return res, nil, nil
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(defRef, newTip)); err != nil {
		return nil, nil, cacerr.Usage("%s: %w", o.Remote, err)
	}
	specs := []config.RefSpec{config.RefSpec(defRef + ":" + defRef)}
	if o.DeleteBranch {
		specs = append(specs, deleteSpec)
	}
	return res, func(ctx context.Context) error {
		if o.DeleteBranch {
			if err := unmoved(ctx, o, theirs.Hash); err != nil {
				return err
			}
		}
		err := o.Remote.Push(ctx, repo, gitremote.PushOptions{RefSpecs: specs, Atomic: true,
			Lease: &gitremote.Lease{Ref: defRef, Hash: ours.Hash}})
		if err != nil {
			return err
		}
		res.Deleted = o.DeleteBranch
		return nil
	}, nil
}

// unmoved checks that the branch is still at merged before a push deletes it: the delete holds
// no lease, and a commit that reached the branch since it was read must be merged (by the next
// attempt), not dropped.
func unmoved(ctx context.Context, o Options, merged plumbing.Hash) error {
	now, _, err := o.Remote.Resolve(ctx, o.Branch)
	if err != nil && !gitremote.IsNoBranch(err) {
		return err
	}
	if now != merged {
		return &movedError{}
	}
	return nil
}

// movedError is a branch that moved between reading and pushing: merge again.
type movedError struct{}

func (*movedError) Error() string { return "the config branch moved while it was merged" }

func tip(repo *git.Repository, ref plumbing.ReferenceName) (*object.Commit, error) {
	r, err := repo.Reference(ref, true)
	if err != nil {
		return nil, cacerr.Usage("fetched %s is missing: %w", ref.Short(), err)
	}
	c, err := repo.CommitObject(r.Hash())
	if err != nil {
		return nil, cacerr.Usage("read commit %s: %w", r.Hash(), err)
	}
	return c, nil
}

// mergeCommits merges the trees of ours and theirs from base's and writes the merged tree.
func mergeCommits(repo *git.Repository, base, ours, theirs *object.Commit) (plumbing.Hash, []Conflict, error) {
	var fs [3]map[string]entry
	for i, c := range []*object.Commit{base, ours, theirs} {
		t, err := c.Tree()
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		if fs[i], err = files(t); err != nil {
			return plumbing.ZeroHash, nil, err
		}
	}
	merged, conflicts, err := mergeFiles(repo.Storer, fs[0], fs[1], fs[2])
	if err != nil || len(conflicts) > 0 {
		return plumbing.ZeroHash, conflicts, err
	}
	h, err := writeTree(repo.Storer, merged)
	return h, nil, err
}

// commit writes the merge commit: the default branch's tip first, the branch second.
func commit(repo *git.Repository, o Options, res *Result, tree, ours, theirs plumbing.Hash) (plumbing.Hash, error) {
	sig := object.Signature{Name: o.AuthorName, Email: o.AuthorEmail, When: o.Now()}
	c := &object.Commit{Author: sig, Committer: sig, Message: message(o, res), TreeHash: tree,
		ParentHashes: []plumbing.Hash{ours, theirs}}
	obj := repo.Storer.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return repo.Storer.SetEncodedObject(obj)
}

// message names both commits, and the code commit and pipeline when known.
func message(o Options, res *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Merge config branch '%s' (%s) into %s (%s)\n", o.Branch, short(res.BranchCommit), res.DefaultBranch, short(res.DefaultCommit))
	var trailers []string
	if o.CodeCommit != "" {
		trailers = append(trailers, "Cac-Code-Commit: "+o.CodeCommit)
	}
	if o.PipelineURL != "" {
		trailers = append(trailers, "Cac-Pipeline: "+o.PipelineURL)
	}
	if len(trailers) > 0 {
		b.WriteString("\n" + strings.Join(trailers, "\n") + "\n")
	}
	return b.String()
}

func short(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

// Summary is one line saying what happened (or would happen, in a dry run).
func (r *Result) Summary() string {
	would := func(done, dry string) string {
		if r.DryRun {
			return dry
		}
		return done
	}
	var s string
	switch r.Outcome {
	case NothingToMerge:
		s = fmt.Sprintf("nothing to merge: %s has no config branch %s", r.Repo, r.Branch)
	case AlreadyMerged:
		s = fmt.Sprintf("already merged: config branch %s (%s) is in %s (%s)", r.Branch, short(r.BranchCommit), r.DefaultBranch, short(r.DefaultCommit))
	case FastForward:
		s = fmt.Sprintf("%s config branch %s into %s: fast-forward %s..%s", would("merged", "dry run: would merge"),
			r.Branch, r.DefaultBranch, short(r.DefaultCommit), short(r.Commit))
	case MergeCommit:
		s = fmt.Sprintf("%s config branch %s (%s) into %s (%s) with a merge commit", would("merged", "dry run: would merge"),
			r.Branch, short(r.BranchCommit), r.DefaultBranch, short(r.DefaultCommit))
		if !r.DryRun {
			s += " " + short(r.Commit)
		}
	case Conflicted:
		s = fmt.Sprintf("conflict: config branch %s (%s) does not merge cleanly into %s (%s); nothing merged, nothing pushed",
			r.Branch, short(r.BranchCommit), r.DefaultBranch, short(r.DefaultCommit))
	}
	if r.Deleted {
		s += fmt.Sprintf("; deleted branch %s", r.Branch)
	}
	return s
}

// WriteText writes the summary and, for a conflict, one line per conflicting file.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	b.WriteString(r.Summary() + "\n")
	for _, c := range r.Conflicts {
		fmt.Fprintf(&b, "  %s\n", c.Describe(r.DefaultBranch, r.Branch))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes r as one JSON object.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Describe is "path: kind", with the lines of each overlapping change in the default branch's
// file and in the branch's: "user/sg.yaml: content at line 3 in main, lines 3-4 in feature-x".
func (c Conflict) Describe(defaultBranch, branch string) string {
	s := c.Path + ": " + c.Kind
	for i, r := range c.Regions {
		sep := " at "
		if i > 0 {
			sep = "; "
		}
		s += fmt.Sprintf("%s%s in %s, %s in %s", sep, r.Ours, defaultBranch, r.Theirs, branch)
	}
	return s
}

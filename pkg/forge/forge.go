// Package forge talks to GitHub and GitLab behind small interfaces: the comments of one pull or
// merge request, commit statuses, and opening a pull request. One file per forge; tests point the
// real clients at httptest servers.
package forge

import (
	"context"
	"net/http"

	"github.com/cacproj/cac/pkg/cacerr"
)

// Comment is one comment (GitHub issue comment, GitLab MR note) on the pull/merge request.
type Comment struct {
	ID   int64
	Body string
}

// CommentStore edits the comments of one pull/merge request.
type CommentStore interface {
	// ListComments returns every comment, following pagination, oldest first.
	ListComments(ctx context.Context) ([]Comment, error)
	CreateComment(ctx context.Context, body string) (Comment, error)
	UpdateComment(ctx context.Context, id int64, body string) error
	DeleteComment(ctx context.Context, id int64) error
	// MaxCommentChars is the longest comment body the forge accepts, in characters (Unicode
	// code points), everything in the body counted.
	MaxCommentChars() int
}

// State of a commit status.
type State string

const (
	StatePending State = "pending"
	StateSuccess State = "success"
	StateFailure State = "failure"
	StateError   State = "error"
)

// StatusContext is the status name `cac diff` sets.
const StatusContext = "cac/diff"

// StatusSetter sets a commit status (a check shown on the pull/merge request).
type StatusSetter interface {
	SetStatus(ctx context.Context, sha string, state State, context, description, targetURL string) error
}

// PullRequestOpener opens a pull/merge request from branch head into base and returns its web URL.
// When one is already open for the same branches, it returns that one's URL.
type PullRequestOpener interface {
	OpenPullRequest(ctx context.Context, head, base, title, body string) (url string, err error)
}

// OpenRequest is an open pull/merge request, as OpenRequestsFrom finds it.
type OpenRequest struct {
	Number     int64  // pull request number (GitHub), merge request IID (GitLab)
	Project    string // GitLab: the target project's ID
	HeadSHA    string
	HeadBranch string
	BaseBranch string
}

// OpenRequestFinder finds the open pull/merge requests of the client's repository whose head is
// branch, in that repository (not a fork's): cac serve refreshes them when the config repo's
// branch of the same name changes (docs/design.md §5).
type OpenRequestFinder interface {
	OpenRequestsFrom(ctx context.Context, branch string) ([]OpenRequest, error)
}

// Forge is everything a forge client does.
type Forge interface {
	CommentStore
	StatusSetter
	PullRequestOpener
}

// Open returns the client for t.Kind. hc may be nil (http.DefaultClient).
func Open(t Target, hc *http.Client) (Forge, error) {
	switch t.Kind {
	case GitHubKind:
		return NewGitHub(t, hc)
	case GitLabKind:
		return NewGitLab(t, hc)
	}
	return nil, cacerr.Usage("unknown forge %q: want github or gitlab", t.Kind)
}

// maxDescription is GitHub's limit on a status description; GitLab takes it too.
const maxDescription = 140

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func needNumber(n int64) error {
	if n <= 0 {
		return cacerr.Usage("no pull/merge request number to comment on: pass --pr (GitHub) or --mr (GitLab)")
	}
	return nil
}

package forge

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	gitlab "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/cacproj/cac/pkg/cacerr"
)

// GitLab is a client for one project and merge request (gitlab.com/gitlab-org/api/client-go).
// Comments are MR notes; system notes ("added 1 commit") are never listed.
type GitLab struct {
	Retry Retry

	client  *gitlab.Client
	project string
	iid     int64
}

var (
	_ CommentStore      = (*GitLab)(nil)
	_ StatusSetter      = (*GitLab)(nil)
	_ PullRequestOpener = (*GitLab)(nil)
	_ OpenRequestFinder = (*GitLab)(nil)
)

// NewGitLab returns a client for t (Project and Token required; Number, the MR IID, for notes).
// A job token (t.JobToken) is sent in the JOB-TOKEN header. hc may be nil.
func NewGitLab(t Target, hc *http.Client) (*GitLab, error) {
	if t.Project == "" {
		return nil, cacerr.Usage("no GitLab project: set CI_PROJECT_ID or pass --project ID|group/name")
	}
	opts := []gitlab.ClientOptionFunc{
		gitlab.WithBaseURL(first(t.APIURL, GitLabAPI)),
		gitlab.WithCustomRetryMax(0), // Retry below is the one policy for both forges
	}
	if hc != nil {
		opts = append(opts, gitlab.WithHTTPClient(hc))
	}
	newClient := gitlab.NewClient
	if t.JobToken {
		newClient = gitlab.NewJobClient
	}
	c, err := newClient(string(t.Token), opts...)
	if err != nil {
		return nil, cacerr.Usage("GitLab API URL %q (CI_API_V4_URL or --forge-api-url): %w", t.APIURL, err)
	}
	return &GitLab{Retry: DefaultRetry, client: c, project: t.Project, iid: t.Number}, nil
}

func glResp(r *gitlab.Response) *http.Response {
	if r == nil {
		return nil
	}
	return r.Response
}

// ListComments lists the merge request's user notes, oldest first, following X-Next-Page.
func (g *GitLab) ListComments(ctx context.Context) ([]Comment, error) {
	if err := needNumber(g.iid); err != nil {
		return nil, err
	}
	var out []Comment
	opt := &gitlab.ListMergeRequestNotesOptions{
		ListOptions: gitlab.ListOptions{PerPage: 100},
		OrderBy:     gitlab.Ptr("created_at"),
		Sort:        gitlab.Ptr("asc"),
	}
	for {
		var page []*gitlab.Note
		var resp *gitlab.Response
		err := g.Retry.do(ctx, "list GitLab merge request notes", func() (*http.Response, error) {
			var err error
			page, resp, err = g.client.Notes.ListMergeRequestNotes(g.project, g.iid, opt, gitlab.WithContext(ctx))
			return glResp(resp), err
		})
		if err != nil {
			return nil, err
		}
		for _, n := range page {
			if !n.System {
				out = append(out, Comment{ID: n.ID, Body: n.Body})
			}
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// CreateComment adds a note to the merge request.
func (g *GitLab) CreateComment(ctx context.Context, body string) (Comment, error) {
	if err := needNumber(g.iid); err != nil {
		return Comment{}, err
	}
	var n *gitlab.Note
	err := g.Retry.do(ctx, "create GitLab merge request note", func() (*http.Response, error) {
		var resp *gitlab.Response
		var err error
		n, resp, err = g.client.Notes.CreateMergeRequestNote(g.project, g.iid,
			&gitlab.CreateMergeRequestNoteOptions{Body: &body}, gitlab.WithContext(ctx))
		return glResp(resp), err
	})
	if err != nil {
		return Comment{}, err
	}
	return Comment{ID: n.ID, Body: n.Body}, nil
}

// UpdateComment replaces a note's body in place.
func (g *GitLab) UpdateComment(ctx context.Context, id int64, body string) error {
	return g.Retry.do(ctx, "update GitLab merge request note", func() (*http.Response, error) {
		_, resp, err := g.client.Notes.UpdateMergeRequestNote(g.project, g.iid, id,
			&gitlab.UpdateMergeRequestNoteOptions{Body: &body}, gitlab.WithContext(ctx))
		return glResp(resp), err
	})
}

// DeleteComment removes a note.
func (g *GitLab) DeleteComment(ctx context.Context, id int64) error {
	return g.Retry.do(ctx, "delete GitLab merge request note", func() (*http.Response, error) {
		resp, err := g.client.Notes.DeleteMergeRequestNote(g.project, g.iid, id, gitlab.WithContext(ctx))
		return glResp(resp), err
	})
}

// GitLabMaxCommentChars is GitLab's limit on a note body (1,000,000 characters).
const GitLabMaxCommentChars = 1000000

// MaxCommentChars is GitLabMaxCommentChars.
func (g *GitLab) MaxCommentChars() int { return GitLabMaxCommentChars }

// glStates maps our states to GitLab's commit status states.
var glStates = map[State]gitlab.BuildStateValue{
	StatePending: gitlab.Pending,
	StateSuccess: gitlab.Success,
	StateFailure: gitlab.Failed,
	StateError:   gitlab.Failed,
}

// SetStatus posts a commit status named context.
func (g *GitLab) SetStatus(ctx context.Context, sha string, state State, context, description, targetURL string) error {
	st, ok := glStates[state]
	if !ok {
		return cacerr.Usage("unknown status state %q", state)
	}
	opt := &gitlab.SetCommitStatusOptions{
		State:       st,
		Name:        &context,
		Description: gitlab.Ptr(shorten(description, maxDescription)),
	}
	if targetURL != "" {
		opt.TargetURL = &targetURL
	}
	return g.Retry.do(ctx, "set GitLab commit status", func() (*http.Response, error) {
		_, resp, err := g.client.Commits.SetCommitStatus(g.project, sha, opt, gitlab.WithContext(ctx))
		return glResp(resp), err
	})
}

// OpenPullRequest opens a merge request from head into base, or finds the open one.
func (g *GitLab) OpenPullRequest(ctx context.Context, head, base, title, body string) (string, error) {
	var mr *gitlab.MergeRequest
	err := g.Retry.do(ctx, "open GitLab merge request", func() (*http.Response, error) {
		var resp *gitlab.Response
		var err error
		mr, resp, err = g.client.MergeRequests.CreateMergeRequest(g.project, &gitlab.CreateMergeRequestOptions{
			Title: &title, Description: &body, SourceBranch: &head, TargetBranch: &base,
		}, gitlab.WithContext(ctx))
		return glResp(resp), err
	})
	var ge *gitlab.ErrorResponse
	if err != nil && errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusConflict {
		// "Another open merge request already exists for this source branch": return that one.
		var mrs []*gitlab.BasicMergeRequest
		lerr := g.Retry.do(ctx, "find open GitLab merge request", func() (*http.Response, error) {
			var resp *gitlab.Response
			var err error
			mrs, resp, err = g.client.MergeRequests.ListProjectMergeRequests(g.project, &gitlab.ListProjectMergeRequestsOptions{
				State: gitlab.Ptr("opened"), SourceBranch: &head, TargetBranch: &base,
			}, gitlab.WithContext(ctx))
			return glResp(resp), err
		})
		if lerr == nil && len(mrs) > 0 {
			return mrs[0].WebURL, nil
		}
	}
	if err != nil {
		return "", err
	}
	return mr.WebURL, nil
}

// MergedRequest is a merge request that was merged, found by the commit that merged it.
type MergedRequest struct {
	IID          int64
	SourceBranch string
	TargetBranch string
	WebURL       string
}

// MergedBy finds the merge request that sha merged (GET /projects/:id/repository/commits/:sha/merge_requests):
// the merged one whose merge commit, squash commit or, for a fast-forward merge, head commit is sha.
// ok is false when sha merged none (a direct push).
func (g *GitLab) MergedBy(ctx context.Context, sha string) (mr MergedRequest, ok bool, err error) {
	var mrs []*gitlab.BasicMergeRequest
	err = g.Retry.do(ctx, "find the GitLab merge request of commit "+sha, func() (*http.Response, error) {
		var resp *gitlab.Response
		var err error
		mrs, resp, err = g.client.Commits.ListMergeRequestsByCommit(g.project, sha, gitlab.WithContext(ctx))
		return glResp(resp), err
	})
	if err != nil {
		return MergedRequest{}, false, err
	}
	// The merge commit names its merge request for sure; a head commit may be in several.
	for _, match := range []func(*gitlab.BasicMergeRequest) bool{
		func(m *gitlab.BasicMergeRequest) bool { return m.MergeCommitSHA == sha || m.SquashCommitSHA == sha },
		func(m *gitlab.BasicMergeRequest) bool { return m.SHA == sha },
	} {
		for _, m := range mrs {
			if m.State == "merged" && match(m) {
				return MergedRequest{IID: m.IID, SourceBranch: m.SourceBranch, TargetBranch: m.TargetBranch, WebURL: m.WebURL}, true, nil
			}
		}
	}
	return MergedRequest{}, false, nil
}

// OpenRequestsFrom lists the open merge requests from branch of this project
// (GET /projects/:id/merge_requests?source_branch=B&state=opened), following X-Next-Page;
// those from a fork are left out.
func (g *GitLab) OpenRequestsFrom(ctx context.Context, branch string) ([]OpenRequest, error) {
	var out []OpenRequest
	opt := &gitlab.ListProjectMergeRequestsOptions{State: gitlab.Ptr("opened"), SourceBranch: &branch,
		ListOptions: gitlab.ListOptions{PerPage: 100}}
	for {
		var page []*gitlab.BasicMergeRequest
		var resp *gitlab.Response
		err := g.Retry.do(ctx, "list GitLab merge requests from "+branch, func() (*http.Response, error) {
			var err error
			page, resp, err = g.client.MergeRequests.ListProjectMergeRequests(g.project, opt, gitlab.WithContext(ctx))
			return glResp(resp), err
		})
		if err != nil {
			return nil, err
		}
		for _, mr := range page {
			if mr.SourceProjectID != mr.TargetProjectID {
				continue
			}
			out = append(out, OpenRequest{Number: mr.IID, Project: strconv.FormatInt(mr.ProjectID, 10), HeadSHA: mr.SHA,
				HeadBranch: mr.SourceBranch, BaseBranch: mr.TargetBranch})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

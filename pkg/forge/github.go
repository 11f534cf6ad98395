package forge

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/cacproj/cac/pkg/cacerr"
)

// GitHub is a client for one repository and pull request (go-github). GitHub Enterprise works:
// any API URL other than api.github.com is used as an enterprise base URL.
type GitHub struct {
	Retry Retry

	client      *github.Client
	owner, repo string
	number      int
}

var (
	_ CommentStore      = (*GitHub)(nil)
	_ StatusSetter      = (*GitHub)(nil)
	_ PullRequestOpener = (*GitHub)(nil)
	_ OpenRequestFinder = (*GitHub)(nil)
)

// NewGitHub returns a client for t (Repo and Token required; Number for comments). hc may be nil.
func NewGitHub(t Target, hc *http.Client) (*GitHub, error) {
	owner, repo, ok := strings.Cut(t.Repo, "/")
	if !ok || owner == "" || repo == "" {
		return nil, cacerr.Usage("GitHub repository %q is not owner/name (GITHUB_REPOSITORY or --repo)", t.Repo)
	}
	c := github.NewClient(hc).WithAuthToken(string(t.Token))
	if api := strings.TrimSuffix(first(t.APIURL, GitHubAPI), "/"); api != GitHubAPI {
		var err error
		if c, err = c.WithEnterpriseURLs(api, api); err != nil {
			return nil, cacerr.Usage("GitHub API URL %q (GITHUB_API_URL or --forge-api-url): %w", api, err)
		}
	}
	return &GitHub{Retry: DefaultRetry, client: c, owner: owner, repo: repo, number: int(t.Number)}, nil
}

func ghResp(r *github.Response) *http.Response {
	if r == nil {
		return nil
	}
	return r.Response
}

// ListComments lists the pull request's issue comments, following the Link header.
func (g *GitHub) ListComments(ctx context.Context) ([]Comment, error) {
	if err := needNumber(int64(g.number)); err != nil {
		return nil, err
	}
	var out []Comment
	opt := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 100}}
	for {
		var page []*github.IssueComment
		var resp *github.Response
		err := g.Retry.do(ctx, "list GitHub comments", func() (*http.Response, error) {
			var err error
			page, resp, err = g.client.Issues.ListComments(ctx, g.owner, g.repo, g.number, opt)
			return ghResp(resp), err
		})
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			out = append(out, Comment{ID: c.GetID(), Body: c.GetBody()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// CreateComment adds a comment to the pull request.
func (g *GitHub) CreateComment(ctx context.Context, body string) (Comment, error) {
	if err := needNumber(int64(g.number)); err != nil {
		return Comment{}, err
	}
	var c *github.IssueComment
	err := g.Retry.do(ctx, "create GitHub comment", func() (*http.Response, error) {
		var resp *github.Response
		var err error
		c, resp, err = g.client.Issues.CreateComment(ctx, g.owner, g.repo, g.number, &github.IssueComment{Body: &body})
		return ghResp(resp), err
	})
	if err != nil {
		return Comment{}, err
	}
	return Comment{ID: c.GetID(), Body: c.GetBody()}, nil
}

// UpdateComment replaces a comment's body in place.
func (g *GitHub) UpdateComment(ctx context.Context, id int64, body string) error {
	return g.Retry.do(ctx, "update GitHub comment", func() (*http.Response, error) {
		_, resp, err := g.client.Issues.EditComment(ctx, g.owner, g.repo, id, &github.IssueComment{Body: &body})
		return ghResp(resp), err
	})
}

// DeleteComment removes a comment.
func (g *GitHub) DeleteComment(ctx context.Context, id int64) error {
	return g.Retry.do(ctx, "delete GitHub comment", func() (*http.Response, error) {
		resp, err := g.client.Issues.DeleteComment(ctx, g.owner, g.repo, id)
		return ghResp(resp), err
	})
}

// GitHubMaxCommentChars is GitHub's limit on an issue comment body: longer ones are refused with
// 422 "body is too long (maximum is 65536 characters)".
const GitHubMaxCommentChars = 65536

// MaxCommentChars is GitHubMaxCommentChars.
func (g *GitHub) MaxCommentChars() int { return GitHubMaxCommentChars }

// SetStatus posts a commit status.
func (g *GitHub) SetStatus(ctx context.Context, sha string, state State, context, description, targetURL string) error {
	st := &github.RepoStatus{
		State:       github.String(string(state)),
		Context:     github.String(context),
		Description: github.String(shorten(description, maxDescription)),
	}
	if targetURL != "" {
		st.TargetURL = github.String(targetURL)
	}
	return g.Retry.do(ctx, "set GitHub commit status", func() (*http.Response, error) {
		_, resp, err := g.client.Repositories.CreateStatus(ctx, g.owner, g.repo, sha, st)
		return ghResp(resp), err
	})
}

// OpenPullRequest opens a pull request from head into base, or finds the open one.
func (g *GitHub) OpenPullRequest(ctx context.Context, head, base, title, body string) (string, error) {
	var pr *github.PullRequest
	err := g.Retry.do(ctx, "open GitHub pull request", func() (*http.Response, error) {
		var resp *github.Response
		var err error
		pr, resp, err = g.client.PullRequests.Create(ctx, g.owner, g.repo, &github.NewPullRequest{
			Title: &title, Head: &head, Base: &base, Body: &body,
		})
		return ghResp(resp), err
	})
	var ge *github.ErrorResponse
	if err != nil && errors.As(err, &ge) && ge.Response != nil && ge.Response.StatusCode == http.StatusUnprocessableEntity {
		// "A pull request already exists": return that one.
		var prs []*github.PullRequest
		lerr := g.Retry.do(ctx, "find open GitHub pull request", func() (*http.Response, error) {
			var resp *github.Response
			var err error
			prs, resp, err = g.client.PullRequests.List(ctx, g.owner, g.repo, &github.PullRequestListOptions{
				State: "open", Head: g.owner + ":" + head, Base: base,
			})
			return ghResp(resp), err
		})
		if lerr == nil && len(prs) > 0 {
			return prs[0].GetHTMLURL(), nil
		}
	}
	if err != nil {
		return "", err
	}
	return pr.GetHTMLURL(), nil
}

// OpenRequestsFrom lists the open pull requests from branch of this repository
// (GET /repos/{owner}/{repo}/pulls?head={owner}:{branch}&state=open), following the Link header.
func (g *GitHub) OpenRequestsFrom(ctx context.Context, branch string) ([]OpenRequest, error) {
	var out []OpenRequest
	opt := &github.PullRequestListOptions{State: "open", Head: g.owner + ":" + branch, ListOptions: github.ListOptions{PerPage: 100}}
	for {
		var page []*github.PullRequest
		var resp *github.Response
		err := g.Retry.do(ctx, "list GitHub pull requests from "+branch, func() (*http.Response, error) {
			var err error
			page, resp, err = g.client.PullRequests.List(ctx, g.owner, g.repo, opt)
			return ghResp(resp), err
		})
		if err != nil {
			return nil, err
		}
		for _, pr := range page {
			out = append(out, OpenRequest{Number: int64(pr.GetNumber()), HeadSHA: pr.GetHead().GetSHA(),
				HeadBranch: pr.GetHead().GetRef(), BaseBranch: pr.GetBase().GetRef()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

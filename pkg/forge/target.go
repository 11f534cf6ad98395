package forge

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/cacproj/cac/pkg/cacerr"
)

// Forge kinds.
const (
	GitHubKind = "github"
	GitLabKind = "gitlab"
)

// Default API URLs when the CI does not say.
const (
	GitHubAPI = "https://api.github.com"
	GitLabAPI = "https://gitlab.com/api/v4"
)

// Token is an API token. It prints as "<redacted>" with every fmt verb; use string(t) to send it.
type Token string

func (Token) String() string   { return "<redacted>" }
func (Token) GoString() string { return "<redacted>" }

// Target says which pull/merge request to talk to and how.
type Target struct {
	Kind     string // GitHubKind or GitLabKind
	APIURL   string // GitHub: https://api.github.com or https://ghe.example.com/api/v3; GitLab: .../api/v4
	Token    Token
	JobToken bool   // GitLab CI_JOB_TOKEN: sent in the JOB-TOKEN header instead of PRIVATE-TOKEN
	Repo     string // GitHub owner/name
	Project  string // GitLab project ID or path (group/name)
	Number   int64  // pull request number (GitHub) or merge request IID (GitLab)
	SHA      string // head commit, for the status
}

// FromEnv finds the pull/merge request of the current CI job. kind is github, gitlab or auto
// (GITHUB_ACTIONS / GITLAB_CI decide); every non-zero field of overrides (the command's flags)
// wins over the environment. A missing piece is a cacerr.Usage error naming the variable or flag
// to set; the token never appears in an error.
//
// GitHub: GITHUB_EVENT_PATH (pull_request.number, pull_request.head.sha), GITHUB_REPOSITORY,
// GITHUB_API_URL, GITHUB_TOKEN, GITHUB_SHA as a last resort for the commit.
// GitLab: CI_PROJECT_ID, CI_MERGE_REQUEST_IID, CI_API_V4_URL, GITLAB_TOKEN or CI_JOB_TOKEN,
// CI_MERGE_REQUEST_SOURCE_BRANCH_SHA or CI_COMMIT_SHA.
func FromEnv(kind string, env func(string) string, overrides Target) (Target, error) {
	if kind == "" || kind == "auto" {
		switch {
		case overrides.Kind != "":
			kind = overrides.Kind
		case env("GITHUB_ACTIONS") == "true":
			kind = GitHubKind
		case env("GITLAB_CI") == "true":
			kind = GitLabKind
		default:
			return Target{}, cacerr.Usage("cannot tell the forge: not in GitHub Actions (GITHUB_ACTIONS) nor GitLab CI (GITLAB_CI); pass --post github or --post gitlab")
		}
	}
	switch kind {
	case GitHubKind:
		return githubFromEnv(env, overrides)
	case GitLabKind:
		return gitlabFromEnv(env, overrides)
	}
	return Target{}, cacerr.Usage("unknown forge %q: want github, gitlab or auto", kind)
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func githubFromEnv(env func(string) string, o Target) (Target, error) {
	t := Target{
		Kind:   GitHubKind,
		APIURL: first(o.APIURL, env("GITHUB_API_URL"), GitHubAPI),
		Token:  Token(first(string(o.Token), env("GITHUB_TOKEN"))),
		Repo:   first(o.Repo, env("GITHUB_REPOSITORY")),
		Number: o.Number,
		SHA:    o.SHA,
	}
	if t.Token == "" {
		return Target{}, cacerr.Usage("no GitHub token: set GITHUB_TOKEN (in a workflow: env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }})")
	}
	if t.Repo == "" {
		return Target{}, cacerr.Usage("no GitHub repository: set GITHUB_REPOSITORY or pass --repo owner/name")
	}
	if owner, name, ok := strings.Cut(t.Repo, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return Target{}, cacerr.Usage("GitHub repository %q is not owner/name (GITHUB_REPOSITORY or --repo)", t.Repo)
	}
	if path := env("GITHUB_EVENT_PATH"); path != "" && (t.Number == 0 || t.SHA == "") {
		var ev struct {
			PullRequest *struct {
				Number int64 `json:"number"`
				Head   struct {
					SHA string `json:"sha"`
				} `json:"head"`
			} `json:"pull_request"`
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return Target{}, cacerr.Usage("read the event of GITHUB_EVENT_PATH: %w", err)
		}
		if err := json.Unmarshal(b, &ev); err != nil {
			return Target{}, cacerr.Usage("event file of GITHUB_EVENT_PATH is not JSON: %w", err)
		}
		if ev.PullRequest != nil {
			if t.Number == 0 {
				t.Number = ev.PullRequest.Number
			}
			t.SHA = first(t.SHA, ev.PullRequest.Head.SHA)
		}
	}
	if t.Number <= 0 {
		return Target{}, cacerr.Usage("no pull request: the event in GITHUB_EVENT_PATH has no pull_request (run on pull_request events) or pass --pr N")
	}
	t.SHA = first(t.SHA, env("GITHUB_SHA"))
	if t.SHA == "" {
		return Target{}, cacerr.Usage("no head commit for the status: set GITHUB_SHA or pass --sha")
	}
	return t, nil
}

func gitlabFromEnv(env func(string) string, o Target) (Target, error) {
	t := Target{
		Kind:     GitLabKind,
		APIURL:   first(o.APIURL, env("CI_API_V4_URL"), GitLabAPI),
		Token:    o.Token,
		JobToken: o.JobToken,
		Project:  first(o.Project, env("CI_PROJECT_ID")),
		Number:   o.Number,
		SHA:      first(o.SHA, env("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA"), env("CI_COMMIT_SHA")),
	}
	if t.Token == "" {
		if tok := env("GITLAB_TOKEN"); tok != "" {
			t.Token = Token(tok)
		} else if tok := env("CI_JOB_TOKEN"); tok != "" {
			t.Token, t.JobToken = Token(tok), true
		}
	}
	if t.Token == "" {
		return Target{}, cacerr.Usage("no GitLab token: set GITLAB_TOKEN (a project access token with the api scope) or run inside a job (CI_JOB_TOKEN)")
	}
	if t.Project == "" {
		return Target{}, cacerr.Usage("no GitLab project: set CI_PROJECT_ID or pass --project ID|group/name")
	}
	if t.Number == 0 {
		if s := env("CI_MERGE_REQUEST_IID"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return Target{}, cacerr.Usage("CI_MERGE_REQUEST_IID %q is not a number", s)
			}
			t.Number = n
		}
	}
	if t.Number <= 0 {
		return Target{}, cacerr.Usage("no merge request: CI_MERGE_REQUEST_IID is unset (run in a merge request pipeline: rules: - if: $CI_PIPELINE_SOURCE == \"merge_request_event\") or pass --mr IID")
	}
	if t.SHA == "" {
		return Target{}, cacerr.Usage("no head commit for the status: set CI_COMMIT_SHA or pass --sha")
	}
	return t, nil
}

// Opener is the client that opens pull/merge requests on the repository repo (GitHub owner/name,
// GitLab project) for kind github or gitlab, at the API URL api. Empty values come from the CI
// (GITHUB_REPOSITORY, GITHUB_API_URL; CI_PROJECT_ID, CI_API_V4_URL); tokens come from the
// environment only (GITHUB_TOKEN; GITLAB_TOKEN, else CI_JOB_TOKEN).
func Opener(kind, repo, api string, getenv func(string) string) (Forge, error) {
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	var t Target
	switch kind {
	case GitHubKind:
		t = Target{Kind: GitHubKind, APIURL: first(api, getenv("GITHUB_API_URL"), GitHubAPI),
			Token: Token(getenv("GITHUB_TOKEN")), Repo: first(repo, getenv("GITHUB_REPOSITORY"))}
		if t.Token == "" || t.Repo == "" {
			return nil, cacerr.Usage("--open-pr github needs GITHUB_TOKEN and --forge-repo owner/name (or GITHUB_REPOSITORY)")
		}
	case GitLabKind:
		t = Target{Kind: GitLabKind, APIURL: first(api, getenv("CI_API_V4_URL")),
			Token: Token(first(getenv("GITLAB_TOKEN"), getenv("CI_JOB_TOKEN"))), Project: first(repo, getenv("CI_PROJECT_ID"))}
		t.JobToken = getenv("GITLAB_TOKEN") == "" && t.Token != ""
		if t.Token == "" || t.Project == "" || t.APIURL == "" {
			return nil, cacerr.Usage("--open-pr gitlab needs GITLAB_TOKEN (or CI_JOB_TOKEN), --forge-repo (or CI_PROJECT_ID) and --forge-api-url (or CI_API_V4_URL)")
		}
	default:
		return nil, cacerr.Usage("--open-pr takes github or gitlab, not %q", kind)
	}
	return Open(t, nil)
}

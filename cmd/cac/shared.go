package main

import (
	"io"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/forge"
)

// prOpener builds the forge client that opens pull/merge requests for --open-pr (env copy, region
// new, publish): kind github or gitlab, the repository on the forge and its API URL, tokens from
// the environment only.
func prOpener(kind, repo, api string, e env) (forge.Forge, error) {
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	var t forge.Target
	switch kind {
	case forge.GitHubKind:
		t = forge.Target{Kind: forge.GitHubKind, APIURL: first(api, e.getenv("GITHUB_API_URL"), "https://api.github.com"),
			Token: forge.Token(e.getenv("GITHUB_TOKEN")), Repo: first(repo, e.getenv("GITHUB_REPOSITORY"))}
		if t.Token == "" || t.Repo == "" {
			return nil, cacerr.Usage("--open-pr github needs GITHUB_TOKEN and --forge-repo owner/name (or GITHUB_REPOSITORY)")
		}
	case forge.GitLabKind:
		t = forge.Target{Kind: forge.GitLabKind, APIURL: first(api, e.getenv("CI_API_V4_URL")),
			Token: forge.Token(first(e.getenv("GITLAB_TOKEN"), e.getenv("CI_JOB_TOKEN"))), Project: first(repo, e.getenv("CI_PROJECT_ID"))}
		t.JobToken = e.getenv("GITLAB_TOKEN") == "" && t.Token != ""
		if t.Token == "" || t.Project == "" || t.APIURL == "" {
			return nil, cacerr.Usage("--open-pr gitlab needs GITLAB_TOKEN (or CI_JOB_TOKEN), --forge-repo (or CI_PROJECT_ID) and --forge-api (or CI_API_V4_URL)")
		}
	default:
		return nil, cacerr.Usage("--open-pr takes github or gitlab, not %q", kind)
	}
	return forge.Open(t, nil)
}

// textOrJSON is a report printed as text or, with --format json, as JSON.
type textOrJSON interface {
	WriteText(io.Writer) error
	WriteJSON(io.Writer) error
}

func writeReport(e env, format string, r textOrJSON) error {
	if format == "json" {
		return r.WriteJSON(e.stdout)
	}
	return r.WriteText(e.stdout)
}

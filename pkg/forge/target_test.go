package forge

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
)

func TestFromEnv(t *testing.T) {
	dir := t.TempDir()
	event := filepath.Join(dir, "event.json")
	if err := os.WriteFile(event, []byte(`{"action":"synchronize","pull_request":{"number":12,"head":{"sha":"headsha"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	push := filepath.Join(dir, "push.json")
	if err := os.WriteFile(push, []byte(`{"ref":"refs/heads/main"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	gh := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": event, "GITHUB_REPOSITORY": "acme/app",
		"GITHUB_TOKEN": "ghs_secret", "GITHUB_SHA": "mergesha",
	}
	gl := map[string]string{
		"GITLAB_CI": "true", "CI_PROJECT_ID": "42", "CI_MERGE_REQUEST_IID": "9",
		"CI_API_V4_URL": "https://gitlab.acme.test/api/v4", "CI_JOB_TOKEN": "job_secret", "CI_COMMIT_SHA": "c0ffee",
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name      string
		kind      string
		env       map[string]string
		overrides Target
		want      Target
		wantErr   string // part of a usage error
	}{
		{
			name: "github pull request from the event", kind: "auto", env: gh,
			want: Target{Kind: GitHubKind, APIURL: GitHubAPI, Token: "ghs_secret", Repo: "acme/app", Number: 12, SHA: "headsha"},
		},
		{
			name: "github enterprise API URL", kind: "github", env: with(gh, "GITHUB_API_URL", "https://ghe.acme.test/api/v3"),
			want: Target{Kind: GitHubKind, APIURL: "https://ghe.acme.test/api/v3", Token: "ghs_secret", Repo: "acme/app", Number: 12, SHA: "headsha"},
		},
		{
			name: "flags win over the environment", kind: "github", env: gh,
			overrides: Target{Repo: "other/repo", Number: 3, SHA: "flagsha", APIURL: "https://ghe.example/api/v3"},
			want:      Target{Kind: GitHubKind, APIURL: "https://ghe.example/api/v3", Token: "ghs_secret", Repo: "other/repo", Number: 3, SHA: "flagsha"},
		},
		{
			name: "github push event without --pr", kind: "github", env: with(gh, "GITHUB_EVENT_PATH", push),
			wantErr: "pass --pr N",
		},
		{
			name: "github push event with --pr uses GITHUB_SHA", kind: "github", env: with(gh, "GITHUB_EVENT_PATH", push),
			overrides: Target{Number: 5},
			want:      Target{Kind: GitHubKind, APIURL: GitHubAPI, Token: "ghs_secret", Repo: "acme/app", Number: 5, SHA: "mergesha"},
		},
		{name: "github without token", kind: "github", env: with(gh, "GITHUB_TOKEN", ""), wantErr: "set GITHUB_TOKEN"},
		{name: "github without repository", kind: "github", env: with(gh, "GITHUB_REPOSITORY", ""), wantErr: "--repo owner/name"},
		{name: "github bad repository", kind: "github", env: with(gh, "GITHUB_REPOSITORY", "acme"), wantErr: "is not owner/name"},
		{name: "github unreadable event", kind: "github", env: with(gh, "GITHUB_EVENT_PATH", filepath.Join(dir, "none.json")), wantErr: "GITHUB_EVENT_PATH"},
		{
			name: "gitlab job token", kind: "auto", env: gl,
			want: Target{Kind: GitLabKind, APIURL: "https://gitlab.acme.test/api/v4", Token: "job_secret", JobToken: true, Project: "42", Number: 9, SHA: "c0ffee"},
		},
		{
			name: "gitlab token preferred, MR head sha preferred", kind: "gitlab",
			env:  with(gl, "GITLAB_TOKEN", "glpat_secret", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "mrhead"),
			want: Target{Kind: GitLabKind, APIURL: "https://gitlab.acme.test/api/v4", Token: "glpat_secret", Project: "42", Number: 9, SHA: "mrhead"},
		},
		{
			name: "gitlab flags", kind: "gitlab", env: map[string]string{"GITLAB_TOKEN": "glpat_secret"},
			overrides: Target{Project: "group/app", Number: 4, SHA: "s"},
			want:      Target{Kind: GitLabKind, APIURL: GitLabAPI, Token: "glpat_secret", Project: "group/app", Number: 4, SHA: "s"},
		},
		{name: "gitlab without token", kind: "gitlab", env: with(gl, "CI_JOB_TOKEN", ""), wantErr: "set GITLAB_TOKEN"},
		{name: "gitlab without project", kind: "gitlab", env: with(gl, "CI_PROJECT_ID", ""), wantErr: "--project"},
		{name: "gitlab branch pipeline", kind: "gitlab", env: with(gl, "CI_MERGE_REQUEST_IID", ""), wantErr: "CI_MERGE_REQUEST_IID is unset"},
		{name: "gitlab bad IID", kind: "gitlab", env: with(gl, "CI_MERGE_REQUEST_IID", "x"), wantErr: "is not a number"},
		{name: "gitlab without commit", kind: "gitlab", env: with(gl, "CI_COMMIT_SHA", ""), wantErr: "--sha"},
		{name: "auto outside CI", kind: "auto", env: map[string]string{}, wantErr: "--post github or --post gitlab"},
		{name: "unknown forge", kind: "gitea", env: gh, wantErr: `unknown forge "gitea"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(tt.kind, func(k string) string { return tt.env[k] }, tt.overrides)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || cacerr.ExitCode(err) != 2 {
					t.Fatalf("err = %v (exit %d), want a usage error with %q", err, cacerr.ExitCode(err), tt.wantErr)
				}
				for _, tok := range []string{"ghs_secret", "job_secret", "glpat_secret"} {
					if strings.Contains(err.Error(), tok) {
						t.Errorf("error shows the token: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	tg := Target{Kind: GitHubKind, Token: "ghp_very_secret", Repo: "o/r"}
	for _, s := range []string{fmt.Sprint(tg), fmt.Sprintf("%v %+v %#v %s", tg, tg, tg, tg.Token)} {
		if strings.Contains(s, "ghp_very_secret") {
			t.Errorf("token printed: %s", s)
		}
	}
	if string(tg.Token) != "ghp_very_secret" {
		t.Error("string(Token) must give the value to send")
	}
}

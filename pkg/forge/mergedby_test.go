package forge

import (
	"context"
	"slices"
	"testing"
)

func TestGitLabMergedBy(t *testing.T) {
	f := startGitLab(t, "job-T0KEN-gitlab", true)
	mr := func(iid int, state, source, head, merge, squash string) map[string]any {
		return map[string]any{"iid": iid, "state": state, "source_branch": source, "target_branch": "main",
			"sha": head, "merge_commit_sha": merge, "squash_commit_sha": squash, "web_url": "https://gitlab.example/mr"}
	}
	f.byCommit = map[string][]map[string]any{
		// a merge commit: an older MR that merely contained the commit is not the one
		"m1": {mr(3, "merged", "older", "m1", "x", ""), mr(4, "merged", "feature-x", "h4", "m1", "")},
		"s1": {mr(5, "merged", "squashed", "h5", "", "s1")},
		"h6": {mr(6, "merged", "fast-forwarded", "h6", "", "")},
		"h7": {mr(7, "opened", "still-open", "h7", "", "")},
	}
	g, err := NewGitLab(Target{Kind: GitLabKind, APIURL: f.srv.URL + "/api/v4", Token: "job-T0KEN-gitlab", JobToken: true, Project: "group/app"}, f.srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	g.Retry = fastRetry
	for sha, want := range map[string]string{"m1": "feature-x", "s1": "squashed", "h6": "fast-forwarded", "h7": "", "none": ""} {
		got, ok, err := g.MergedBy(context.Background(), sha)
		if err != nil {
			t.Fatalf("%s: %v", sha, err)
		}
		if got.SourceBranch != want || ok != (want != "") {
			t.Errorf("MergedBy(%s) = %+v, %v; want source branch %q", sha, got, ok, want)
		}
	}
	want := []string{}
	for _, sha := range []string{"m1", "s1", "h6", "h7", "none"} {
		want = append(want, "GET /api/v4/projects/group/app/repository/commits/"+sha+"/merge_requests")
	}
	log := f.takeLog()
	slices.Sort(log)
	slices.Sort(want)
	if !slices.Equal(log, want) {
		t.Errorf("requests %v, want %v", log, want)
	}
}

package affected

import (
	"context"
	"fmt"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
)

// TestAnalyze: each kind of config-repo file maps to the services and regions that read it, read
// from a config repo served over smart HTTP.
func TestAnalyze(t *testing.T) {
	root := t.TempDir()
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	bare := gitfixture.Bare(t, root, "cfg", map[string]map[string]string{"main": {
		"_services.yaml":  "services:\n  user: {repo: https://git.example.com/code.git}\n  cart: {repo: https://git.example.com/code.git}\n",
		"_regions.yaml":   "regions: {}\n",
		"_global/sg.yaml": "zone: sg\n",
		"user/sg.yaml":    "a: 1\n",
		"user/us.yaml":    "a: 1\n",
		"cart/sg.yaml":    "a: 1\n",
		"cart/eu.yml":     "a: 1\n",
		"README.md":       "config\n",
	}}, "main")
	for _, tc := range []struct {
		files map[string]string
		want  string
	}{
		{map[string]string{"user/sg.yaml": "a: 2\n"}, "map[user:[sg]]"},
		{map[string]string{"user/sg.yaml": "a: 3\n", "user/us.yaml": "a: 3\n", "cart/eu.yml": "a: 3\n"}, "map[cart:[eu] user:[sg us]]"},
		{map[string]string{"_global/sg.yaml": "zone: sg-2\n"}, "map[cart:[sg] user:[sg]]"},
		{map[string]string{"_global/eu.yaml": "zone: eu\n"}, "map[cart:[eu]]"},
		{map[string]string{"_regions.yaml": "regions: {sg: {}}\n"}, "map[cart:[] user:[]]"},
		{map[string]string{"_services.yaml": "services:\n  user: {repo: https://git.example.com/code.git, dir: svc/user}\n  cart: {repo: https://git.example.com/code.git}\n"}, "map[user:[]]"},
		{map[string]string{"user/templates.txt": "x\n"}, "map[user:[]]"},
		{map[string]string{"README.md": "the config repo\n", "_other.yaml": "x: 1\n"}, "map[]"},
	} {
		before := gitfixture.Commit(t, bare, "main", nil, "nothing")
		gitfixture.Commit(t, bare, "main", tc.files, "change")
		ch, err := Analyze(context.Background(), Options{ConfigRepo: srv.RepoURL("cfg"), Since: before.String()})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ch.Services); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.files, got, tc.want)
		}
		if ch.Branch != "main" || ch.Since != before.String() || len(ch.Head) != 40 {
			t.Errorf("change %+v", ch)
		}
	}
	// a merge request: from the tip of its target branch to the tip of its source branch
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	tip, err := repo.Reference(plumbing.NewBranchReferenceName("main"), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName("mr"), tip.Hash())); err != nil {
		t.Fatal(err)
	}
	gitfixture.Commit(t, bare, "mr", map[string]string{"cart/eu.yml": "a: 4\n"}, "mr change")
	for _, since := range []string{"main", "mr"} {
		ch, err := Analyze(context.Background(), Options{ConfigRepo: srv.RepoURL("cfg"), Branch: "mr", SinceBranch: since})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"main": "map[cart:[eu]]", "mr": "map[]"}[since]
		if got := fmt.Sprint(ch.Services); got != want || ch.Since == ch.Head && since == "main" {
			t.Errorf("merge request from %s: got %s, want %s (since %s, head %s)", since, got, want, ch.Since, ch.Head)
		}
	}
	if _, err := Analyze(context.Background(), Options{ConfigRepo: srv.RepoURL("cfg"), Branch: "mr", SinceBranch: "gone"}); err == nil {
		t.Error("an unknown target branch: no error")
	}
	if _, err := Analyze(context.Background(), Options{ConfigRepo: srv.RepoURL("cfg"), Since: "0123456789abcdef0123456789abcdef01234567"}); err == nil {
		t.Error("an unknown commit: no error")
	}
}

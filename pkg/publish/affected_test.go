package publish

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/gitremote"
)

// fleetFixture serves a monorepo (user, cart, order), its config repo (regions sg and us, a
// _global layer, _services.yaml) and a GitOps repo over smart HTTP; user and cart are published
// at the code repo's first commit, order never is.
type fleetFixture struct {
	root, cfg, code, gitops string
	cfgURL                  string
	codeCommit              string
	opt                     Options
}

func newFleetFixture(t *testing.T) *fleetFixture {
	t.Helper()
	root := t.TempDir()
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	f := &fleetFixture{root: root, cfgURL: srv.RepoURL("cfg")}
	f.code = gitfixture.Bare(t, root, "code", map[string]map[string]string{"main": {
		"user/CacRegion_app.ini":  "host=^cac<<db.ip>>\npass=^cac<<db.pass>>\nzone=^cac<<zone>>\n",
		"cart/CacRegion_app.ini":  "zone=^cac<<zone>>\n",
		"order/CacRegion_app.ini": "zone=^cac<<zone>>\n",
	}}, "main")
	f.cfg = gitfixture.Bare(t, root, "cfg", map[string]map[string]string{"main": {
		"_services.yaml":  "services:\n  user: {repo: " + srv.RepoURL("code") + "}\n  cart: {repo: " + srv.RepoURL("code") + "}\n  order: {repo: " + srv.RepoURL("code") + "}\n",
		"_global/sg.yaml": "zone: sg-1\n",
		"_global/us.yaml": "zone: us-1\n",
		"user/sg.yaml":    "db: {ip: 10.0.0.1, pass: one}\n",
		"user/us.yaml":    "db: {ip: 10.1.0.1, pass: one}\n",
		"cart/sg.yaml":    "{}\n",
		"cart/us.yaml":    "{}\n",
		"order/sg.yaml":   "{}\n",
	}}, "main")
	f.gitops = gitfixture.Bare(t, root, "gitops", map[string]map[string]string{"main": {"README.md": "GitOps\n"}}, "main")
	f.opt = Options{ConfigRepo: f.cfgURL, Getenv: func(string) string { return "" },
		GitOps: gitops.Options{RepoURL: srv.RepoURL("gitops")}}
	repo, err := git.PlainOpen(f.code)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Head()
	if err != nil {
		t.Fatal(err)
	}
	f.codeCommit = head.Hash().String()
	for _, usn := range []string{"user", "cart"} {
		dir := filepath.Join(t.TempDir(), "code")
		if err := gitremote.WriteCommit(repo, f.codeCommit, dir); err != nil {
			t.Fatal(err)
		}
		o := f.opt
		o.CodeDir, o.CodeCommit, o.USN, o.Branch, o.NoWrite = filepath.Join(dir, usn), f.codeCommit, usn, "main", true
		if _, err := Run(context.Background(), o); err != nil {
			t.Fatalf("publish %s: %v", usn, err)
		}
	}
	// the code moves on: a re-render must use the commit each service published, not this one
	gitfixture.Commit(t, f.code, "main", map[string]string{"user/CacRegion_app.ini": "unpublished=yes\n"}, "not published yet")
	return f
}

// change commits files to the config repo and republishes what changed since the previous tip.
func (f *fleetFixture) change(t *testing.T, files map[string]string) (*AffectedResult, string) {
	t.Helper()
	since := gitfixture.Tip(t, f.cfg).Hash.String()
	gitfixture.Commit(t, f.cfg, "main", files, "config change")
	var stderr bytes.Buffer
	o := f.opt
	o.Stderr = &stderr
	res, err := RunAffected(context.Background(), AffectedOptions{Options: o, Since: since})
	if err != nil {
		t.Fatalf("RunAffected: %v\n%s", err, stderr.String())
	}
	return res, stderr.String()
}

func (f *fleetFixture) file(t *testing.T, p string) string {
	t.Helper()
	file, err := gitfixture.Tip(t, f.gitops).File(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	s, err := file.Contents()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func published(res *AffectedResult) string {
	var out []string
	for _, p := range res.Published {
		s := p.USN + ":" + strings.Join(p.Regions, ",")
		if p.Result.Publish.UpToDate {
			s += "(up to date)"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// TestRunAffectedServiceRegion: a password changed in user/sg.yaml republishes user in sg only,
// rendered at the code commit user last published, in a commit that names the config commit.
func TestRunAffectedServiceRegion(t *testing.T) {
	f := newFleetFixture(t)
	res, _ := f.change(t, map[string]string{"user/sg.yaml": "db: {ip: 10.0.0.1, pass: two}\n"})
	if got := published(res); got != "user:sg" || len(res.Skipped) != 0 {
		t.Fatalf("published %q, skipped %v", got, res.Skipped)
	}
	var paths []string
	for _, ch := range res.Published[0].Result.Publish.Changes {
		paths = append(paths, ch.Op+" "+ch.Path)
	}
	if got := strings.Join(paths, "\n"); got != "modify envs/sg/user/cac-config.yaml\nmodify envs/sg/user/cac-source.yaml" {
		t.Errorf("changes:\n%s", got)
	}
	cm := f.file(t, "envs/sg/user/cac-config.yaml")
	if !strings.Contains(cm, "pass=two") || strings.Contains(cm, "unpublished") {
		t.Errorf("ConfigMap not re-rendered at the published code commit:\n%s", cm)
	}
	if us := f.file(t, "envs/us/user/cac-config.yaml"); !strings.Contains(us, "pass=one") {
		t.Errorf("us changed:\n%s", us)
	}
	cfgHead := gitfixture.Tip(t, f.cfg).Hash.String()
	msg := gitfixture.Tip(t, f.gitops).Message
	for _, want := range []string{"cac publish user, config only (code " + f.codeCommit[:7] + ", config " + cfgHead[:7] + ")",
		"Cac-Code-Commit: " + f.codeCommit, "Cac-Config-Commit: " + cfgHead, "Cac-Regions: sg\n", "Cac-Config-Only: true"} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
	src, err := gitops.ParseSource("cac-source.yaml", []byte(f.file(t, "envs/sg/user/cac-source.yaml")))
	if err != nil || src.CodeCommit != f.codeCommit || src.ConfigCommit != cfgHead {
		t.Errorf("source %+v %v", src, err)
	}
}

// TestRunAffectedGlobal: a _global/sg.yaml change republishes every published service of sg; order,
// never published, is skipped with a warning.
func TestRunAffectedGlobal(t *testing.T) {
	f := newFleetFixture(t)
	res, stderr := f.change(t, map[string]string{"_global/sg.yaml": "zone: sg-2\n"})
	if got := published(res); got != "cart:sg user:sg" {
		t.Fatalf("published %q", got)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].USN != "order" ||
		!strings.Contains(stderr, "cac: warning: order: never published to the GitOps repo (no cac-source.yaml), skipped") {
		t.Errorf("skipped %v, stderr:\n%s", res.Skipped, stderr)
	}
	for _, p := range []string{"envs/sg/user/cac-config.yaml", "envs/sg/cart/cac-config.yaml"} {
		if s := f.file(t, p); !strings.Contains(s, "zone=sg-2") {
			t.Errorf("%s:\n%s", p, s)
		}
	}
	if s := f.file(t, "envs/us/cart/cac-config.yaml"); !strings.Contains(s, "zone=us-1") {
		t.Errorf("us:\n%s", s)
	}
}

// TestRunAffectedNothing: a change no service reads, or one that renders the same output, commits
// nothing to the GitOps repo.
func TestRunAffectedNothing(t *testing.T) {
	f := newFleetFixture(t)
	before := gitfixture.Tip(t, f.gitops).Hash
	res, _ := f.change(t, map[string]string{"README.md": "config repo\n"})
	if len(res.Change.Services) != 0 || len(res.Published) != 0 {
		t.Errorf("README change: %+v", res)
	}
	// a comment: the file changed, the rendered output did not
	res, _ = f.change(t, map[string]string{"user/us.yaml": "# the us database\ndb: {ip: 10.1.0.1, pass: one}\n"})
	if got := published(res); got != "user:us(up to date)" {
		t.Errorf("published %q", got)
	}
	if after := gitfixture.Tip(t, f.gitops).Hash; after != before {
		t.Errorf("GitOps repo moved: %s → %s", before, after)
	}
}

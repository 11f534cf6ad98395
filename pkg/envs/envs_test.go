package envs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
)

var configFiles = map[string]string{
	"_global/sg.yaml": "# environment of Singapore\nenv:\n  physical: online # production\n  group: sg\n",
	"user/sg.yaml":    "mysql:\n  main:\n    ip: 10.0.0.1\n    port: 3306\n    username: user\n    password: s3cret-pass\n    database: users\nenv:\n  router: base\n",
	"order/sg.yaml":   "# order service\nredis:\n  cache:\n    ip: 10.0.0.2\n    port: 6379\n",
	"order/us.yaml":   "redis: {cache: {ip: 10.1.0.2, port: 6379}}\n",
}

// workTree clones a fixture config repo into a local work tree (with origin set) and returns its dir
// and the bare repo's path.
func workTree(t *testing.T, files map[string]string) (string, string) {
	t.Helper()
	root := t.TempDir()
	bare := gitfixture.Bare(t, root, "config", map[string]map[string]string{"main": files}, "main")
	dir := filepath.Join(root, "work")
	if _, err := git.PlainClone(dir, false, &git.CloneOptions{URL: bare}); err != nil {
		t.Fatal(err)
	}
	return dir, bare
}

func builtin(t *testing.T) *standard.Standard {
	t.Helper()
	std, err := standard.Default()
	if err != nil {
		t.Fatal(err)
	}
	return std
}

func TestShow(t *testing.T) {
	dir, _ := workTree(t, configFiles)
	eff, findings, err := Show(os.DirFS(dir), builtin(t), "user", "sg")
	if err != nil || len(findings) > 0 {
		t.Fatal(err, findings)
	}
	var text, js bytes.Buffer
	if err := eff.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	want := `PATH                 VALUE     ORIGIN
env.physical         online    _global/sg.yaml:3:13
env.group            sg        _global/sg.yaml:4:10
env.router           base      user/sg.yaml:9:11
mysql.main.ip        10.0.0.1  user/sg.yaml:3:9
mysql.main.port      3306      user/sg.yaml:4:11
mysql.main.username  user      user/sg.yaml:5:15
mysql.main.password  ***       user/sg.yaml:6:15
mysql.main.database  users     user/sg.yaml:7:15
`
	if text.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", text.String(), want)
	}
	if err := eff.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(js.String()+text.String(), "s3cret") {
		t.Error("secret printed")
	}
	for _, s := range []string{`"layer": "_global"`, `"layer": "user"`, `"secret": true`, `"file": "user/sg.yaml"`} {
		if !strings.Contains(js.String(), s) {
			t.Errorf("json lacks %s:\n%s", s, js.String())
		}
	}
	_, _, err = Show(os.DirFS(dir), nil, "user", "eu")
	if !errors.Is(err, ErrUnknownRegion) || cacerr.ExitCode(err) != 2 {
		t.Errorf("unknown region: %v (exit %d)", err, cacerr.ExitCode(err))
	}
}

func TestRegions(t *testing.T) {
	dir, _ := workTree(t, configFiles)
	lay, err := ReadLayout(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteRegionsText(&b, lay.Regions()); err != nil {
		t.Fatal(err)
	}
	want := "REGION  GLOBAL           SERVICES\nsg      _global/sg.yaml  order,user\nus      -                order\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestPlanCopy(t *testing.T) {
	dir, _ := workTree(t, configFiles)
	fsys := os.DirFS(dir)
	std := builtin(t)
	for _, tc := range []struct {
		name  string
		opt   CopyOptions
		files map[string]string // expected content; "" = must be a byte-for-byte copy of the source
		err   string
	}{
		{name: "all", opt: CopyOptions{From: "sg", To: "id"},
			files: map[string]string{"_global/id.yaml": "", "user/id.yaml": "", "order/id.yaml": ""}},
		{name: "override lands where the key lives", opt: CopyOptions{From: "sg", To: "id", Set: []string{"env.physical=pre", "mysql.main.port=3307", "extend.flag=true"}},
			files: map[string]string{
				"_global/id.yaml": "# environment of Singapore\nenv:\n  physical: pre # production\n  group: sg\nextend:\n  flag: true\n",
				"user/id.yaml":    "mysql:\n  main:\n    ip: 10.0.0.1\n    port: 3307\n    username: user\n    password: s3cret-pass\n    database: users\nenv:\n  router: base\n",
				"order/id.yaml":   ""}},
		{name: "secret override masked", opt: CopyOptions{From: "sg", To: "id", Services: []string{"user"}, Set: []string{"mysql.main.password=n3w-pass"}, Standard: std},
			files: map[string]string{"_global/id.yaml": "",
				"user/id.yaml": "mysql:\n  main:\n    ip: 10.0.0.1\n    port: 3306\n    username: user\n    password: n3w-pass\n    database: users\nenv:\n  router: base\n"}},
		{name: "some services", opt: CopyOptions{From: "sg", To: "id", Services: []string{"order"}},
			files: map[string]string{"_global/id.yaml": "", "order/id.yaml": ""}},
		{name: "images", opt: CopyOptions{From: "sg", To: "id", Services: []string{"order", "user"}, Images: map[string]map[string]string{
			"user": {"app": "reg/user:1.2"}, "order": {"app": "reg/order:7", "sidecar": "reg/log:1"}}},
			files: map[string]string{"_global/id.yaml": "",
				"user/id.yaml":  "mysql:\n  main:\n    ip: 10.0.0.1\n    port: 3306\n    username: user\n    password: s3cret-pass\n    database: users\nenv:\n  router: base\ndeploy:\n  image:\n    app: reg/user:1.2\n",
				"order/id.yaml": "# order service\nredis:\n  cache:\n    ip: 10.0.0.2\n    port: 6379\ndeploy:\n  image:\n    app: reg/order:7\n    sidecar: reg/log:1\n"}},
		{name: "existing region", opt: CopyOptions{From: "sg", To: "us"}, err: "the target region already has order/us.yaml; use --force to overwrite"},
		{name: "unknown source", opt: CopyOptions{From: "eu", To: "id"}, err: `unknown region "eu": the config repo has no file for it; regions: sg, us`},
		{name: "unknown service", opt: CopyOptions{From: "sg", To: "id", Services: []string{"user", "pay"}}, err: "services not found in region sg: pay (no <usn>/sg.yaml); services there: order,user"},
		{name: "bad set", opt: CopyOptions{From: "sg", To: "id", Set: []string{"novalue"}}, err: `--set "novalue": want key=value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, files, err := PlanCopy(fsys, tc.opt)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || cacerr.ExitCode(err) != 2 {
					t.Fatalf("err = %v (exit %d), want %q", err, cacerr.ExitCode(err), tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			rep.WriteText(&b)
			rep.WriteJSON(&b)
			if strings.Contains(b.String(), "n3w-pass") {
				t.Errorf("secret printed:\n%s", b.String())
			}
			if len(files) != len(tc.files) || len(rep.Files) != len(tc.files) {
				t.Errorf("files %v, want %v", rep.Files, tc.files)
			}
			for p, want := range tc.files {
				if want == "" {
					src := strings.Replace(p, "id.yaml", "sg.yaml", 1)
					want = configFiles[src]
				}
				if string(files[p]) != want {
					t.Errorf("%s:\n%s\nwant:\n%s", p, files[p], want)
				}
			}
		})
	}
}

func TestCopyWorkTree(t *testing.T) {
	dir, _ := workTree(t, configFiles)
	ctx := context.Background()
	rep, err := Copy(ctx, Source{Dir: dir}, CopyOptions{From: "sg", To: "id", Set: []string{"env.physical=pre"}}, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := repo.Head()
	if head.Name().Short() != "cac/env-copy-id" || head.Hash().String() != rep.Commit || rep.Base != "main" {
		t.Errorf("head %s %s, report %+v", head.Name(), head.Hash(), rep.Result)
	}
	c, _ := repo.CommitObject(head.Hash())
	stats, err := c.Stats()
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, s := range stats {
		changed = append(changed, s.Name)
	}
	if fmt.Sprint(changed) != "[_global/id.yaml order/id.yaml user/id.yaml]" || len(c.ParentHashes) != 1 {
		t.Errorf("commit changes %v, parents %d", changed, len(c.ParentHashes))
	}
	wt, _ := repo.Worktree()
	if st, _ := wt.Status(); !st.IsClean() {
		t.Errorf("work tree not clean after the commit:\n%s", st)
	}
	// staged changes would land in cac's commit: refused
	os.WriteFile(filepath.Join(dir, "user/sg.yaml"), []byte("x: 1\n"), 0o644)
	wt, _ = repo.Worktree()
	if _, err := wt.Add("user/sg.yaml"); err != nil {
		t.Fatal(err)
	}
	_, err = Copy(ctx, Source{Dir: dir}, CopyOptions{From: "sg", To: "vn"}, PublishOptions{})
	if err == nil || err.Error() != "the config dir has staged changes (user/sg.yaml); commit or unstage them first" {
		t.Errorf("staged: %v", err)
	}
	if _, err := wt.Commit("edit", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@x"}}); err != nil {
		t.Fatal(err)
	}
	// a second copy refuses: the files exist now
	_, err = Copy(ctx, Source{Dir: dir}, CopyOptions{From: "sg", To: "id"}, PublishOptions{})
	var ee *ExistsError
	if !errors.As(err, &ee) || cacerr.ExitCode(err) != 2 || len(ee.Files) != 3 {
		t.Errorf("second copy: %v", err)
	}
}

// fakeOpener records the pull requests asked for.
type fakeOpener struct{ calls []string }

func (f *fakeOpener) OpenPullRequest(_ context.Context, head, base, title, _ string) (string, error) {
	f.calls = append(f.calls, head+"→"+base+": "+title)
	return fmt.Sprintf("https://forge.example/pr/%d", len(f.calls)), nil
}

func TestCopyClonePushOpenPR(t *testing.T) {
	root := t.TempDir()
	gitfixture.Bare(t, root, "config", map[string]map[string]string{"main": configFiles}, "main")
	gitfixture.Bare(t, root, "gitops", map[string]map[string]string{"main": {
		"envs/sg/user/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      initContainers:\n      - {name: migrate, image: reg/user-migrate:1.2}\n      containers:\n      - name: app\n        image: reg/user:1.2\n---\napiVersion: v1\nkind: Service\n",
		"envs/us/user/deployment.yaml": "spec: {containers: [{name: app, image: reg/user:0.9}]}\n",
	}}, "main")
	srv, err := gitserver.Start(root, gitserver.Options{Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	getenv := func(k string) string { return map[string]string{"CAC_GIT_TOKEN": "tok"}[k] }
	ctx := context.Background()
	imgs, err := ReadImages(ctx, srv.RepoURL("gitops.git"), "sg", getenv)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(imgs) != "map[user:map[app:reg/user:1.2 migrate:reg/user-migrate:1.2]]" {
		t.Errorf("images %v", imgs)
	}
	if _, err := ReadImages(ctx, srv.RepoURL("gitops.git"), "eu", getenv); err == nil || cacerr.ExitCode(err) != 2 {
		t.Errorf("region not published: %v", err)
	}
	op := &fakeOpener{}
	rep, err := Copy(ctx, Source{URL: srv.RepoURL("config.git"), Getenv: getenv},
		CopyOptions{From: "sg", To: "id", Services: []string{"user"}, Images: imgs, ImageKey: "extend.images"}, PublishOptions{Opener: op})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Pushed || rep.PullRequest != "https://forge.example/pr/1" || fmt.Sprint(op.calls) != "[cac/env-copy-id→main: cac env copy: id from sg (1 services)]" {
		t.Errorf("report %+v, calls %v", rep.Result, op.calls)
	}
	bare, _ := git.PlainOpen(filepath.Join(root, "config.git"))
	ref, err := bare.Reference(plumbing.NewBranchReferenceName("cac/env-copy-id"), false)
	if err != nil || ref.Hash().String() != rep.Commit {
		t.Fatalf("pushed branch: %v %v", ref, err)
	}
	c, _ := bare.CommitObject(ref.Hash())
	f, err := c.File("user/id.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := f.Contents()
	if !strings.HasSuffix(got, "extend:\n  images:\n    app: reg/user:1.2\n    migrate: reg/user-migrate:1.2\n") {
		t.Errorf("user/id.yaml:\n%s", got)
	}
}

// TestCopyValidatesLikeSource: a copy with pinned images validates wherever its source does, for a
// whitelisted service (user) and one that may not use extend (order), with one and two containers.
func TestCopyValidatesLikeSource(t *testing.T) {
	dir, _ := workTree(t, configFiles)
	std := builtin(t)
	imgs := map[string]map[string]string{"user": {"app": "reg/user:1.2"}, "order": {"app": "registry.example.com:5000/shop/order:7", "sidecar": "reg/log:1"}}
	_, files, err := PlanCopy(os.DirFS(dir), CopyOptions{From: "sg", To: "id", Images: imgs})
	if err != nil {
		t.Fatal(err)
	}
	copied := fstest.MapFS{}
	for name, data := range files {
		copied[name] = &fstest.MapFile{Data: data}
	}
	for _, usn := range []string{"user", "order"} {
		src, _, err := values.Load(os.DirFS(dir), usn, "sg")
		if err != nil {
			t.Fatal(err)
		}
		if fs := std.Validate(standard.Input{Region: "sg", USN: usn, Values: src}); len(fs) > 0 {
			t.Fatalf("the source of %s must validate: %v", usn, fs)
		}
		dst, _, err := values.Load(copied, usn, "id")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := dst.Leaf("deploy.image.app"); err != nil {
			t.Errorf("%s: no image pinned: %v", usn, err)
		}
		if fs := std.Validate(standard.Input{Region: "id", USN: usn, Values: dst}); len(fs) > 0 {
			t.Errorf("the copy of %s fails validation: %v", usn, fs)
		}
	}
}

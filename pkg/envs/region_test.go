package envs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/cacproj/cac/pkg/cacerr"
)

func regionFixture() map[string]string {
	files := map[string]string{"_owners.yaml": "user: team-users\n"}
	for k, v := range configFiles {
		files[k] = v
	}
	return files
}

func TestPlanRegion(t *testing.T) {
	dir, _ := workTree(t, regionFixture())
	std := builtin(t)
	rep, files, err := PlanRegion(os.DirFS(dir), RegionOptions{Name: "id", From: "sg", Standard: std,
		Inventory: Inventory{"user": {"mysql.main.ip": "10.9.1.5"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"_global/id.yaml": "# environment of Singapore\nenv:\n  group: id\n",
		"user/id.yaml":    "mysql:\n  main:\n    ip: 10.9.1.5\n    port: 3306\n    username: user\n    database: users\nenv:\n  router: base\n",
		"order/id.yaml":   "# order service\nredis:\n  cache:\n    port: 6379\n",
	}
	for p, w := range want {
		if string(files[p]) != w {
			t.Errorf("%s:\n%s\nwant:\n%s", p, files[p], w)
		}
	}
	if fmt.Sprint(rep.Files) != "[_global/id.yaml _todo/id.yaml order/id.yaml user/id.yaml]" {
		t.Errorf("files %v", rep.Files)
	}
	var md bytes.Buffer
	rep.WriteTodoMarkdown(&md)
	for _, s := range []string{"## team-users\n\n### user (`user/id.yaml`)\n\n- [ ] `mysql.main.password`: Database password (secret).\n",
		"## unassigned\n", "- [ ] `env.physical`: Physical stage", "- [ ] `redis.cache.ip`: IP address of the Redis server."} {
		if !strings.Contains(md.String(), s) {
			t.Errorf("markdown lacks %q:\n%s", s, md.String())
		}
	}
	if got := fmt.Sprintf("%+v", rep.Per); got != "[{USN:_global File:_global/id.yaml Owner:unassigned Copied:0 Generated:1 Inventory:0 Manual:1} {USN:order File:order/id.yaml Owner:unassigned Copied:1 Generated:0 Inventory:0 Manual:1} {USN:user File:user/id.yaml Owner:team-users Copied:4 Generated:0 Inventory:1 Manual:1}]" {
		t.Errorf("per file: %s", got)
	}

	// refusal cases
	for _, tc := range []struct {
		o   RegionOptions
		err string
	}{
		{RegionOptions{Name: "us", From: "sg", Standard: std}, "the target region already has order/us.yaml"},
		{RegionOptions{Name: "id", From: "eu", Standard: std}, `unknown region "eu"`},
		{RegionOptions{Name: "id", From: "sg", Standard: std, Inventory: Inventory{"pay": {"a": 1}}}, `inventory: service "pay" has no pay/sg.yaml`},
	} {
		if _, _, err := PlanRegion(os.DirFS(dir), tc.o); err == nil || !strings.Contains(err.Error(), tc.err) || cacerr.ExitCode(err) != 2 {
			t.Errorf("%+v: %v", tc.o, err)
		}
	}
}

func TestRegionNewTodoStatus(t *testing.T) {
	dir, _ := workTree(t, regionFixture())
	rep, err := NewRegion(context.Background(), Source{Dir: dir}, RegionOptions{Name: "id", From: "sg", Standard: builtin(t)}, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Branch != "cac/region-new-id" || rep.Commit == "" {
		t.Fatalf("result %+v", rep.Result)
	}
	fsys := os.DirFS(dir)
	var msgs []string
	for _, f := range TodoFindings(fsys, "user", "id") {
		msgs = append(msgs, f.String())
	}
	want := "[_global/id.yaml: [id] env.physical: fill env.physical for _global in _global/id.yaml: Physical stage of the environment (sim = simulation/test, pre = pre-release, small = canary, online = production). (delivery/manual) " +
		"user/id.yaml: [id] mysql.main.ip: fill mysql.main.ip for user in user/id.yaml: IP address of the MySQL server, e.g. 10.0.0.12. (delivery/manual) " +
		"user/id.yaml: [id] mysql.main.password: fill mysql.main.password for user in user/id.yaml: Database password (secret). (delivery/manual)]"
	if fmt.Sprint(msgs) != want {
		t.Errorf("findings:\n%v\nwant\n%s", msgs, want)
	}
	if f := TodoFindings(fsys, "user", "sg"); f != nil {
		t.Errorf("a region without _todo has findings: %v", f)
	}
	// fill two of the user's values
	data, _ := os.ReadFile(filepath.Join(dir, "user/id.yaml"))
	data = bytes.Replace(data, []byte("    port: 3306\n"), []byte("    ip: 10.9.1.5\n    password: x9-long-enough\n    port: 3306\n"), 1)
	if err := os.WriteFile(filepath.Join(dir, "user/id.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if f := TodoFindings(fsys, "user", "id"); len(f) != 1 || f[0].Path != "env.physical" {
		t.Errorf("after filling: %v", f)
	}
	st, err := Status(fsys, "id")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	st.WriteText(&b)
	wantText := "SERVICE  OWNER       FILLED  MISSING\n_global  unassigned  0/1     env.physical\norder    unassigned  0/1     redis.cache.ip\nuser     team-users  2/2     \ntotal                2/4     \n"
	if b.String() != wantText {
		t.Errorf("status:\n%q\nwant\n%q", b.String(), wantText)
	}
	if _, err := Status(fsys, "sg"); cacerr.ExitCode(err) != 2 {
		t.Errorf("status of a region without _todo: %v", err)
	}
	repo, _ := git.PlainOpen(dir)
	head, _ := repo.Head()
	if head.Name().Short() != "cac/region-new-id" {
		t.Errorf("head %s", head.Name())
	}
}

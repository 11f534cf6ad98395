package review

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/scan"
	"github.com/cacproj/cac/pkg/standard"
)

// botServer serves a config repo and a code repo whose feature branch names the config repo in
// its .cac.yaml and holds main.go, behind the token ghs_T0KEN.
func botServer(t *testing.T, feature map[string]string) (srv *gitserver.Server, head, code string) {
	t.Helper()
	gitRoot := t.TempDir()
	gitfixture.Bare(t, gitRoot, "cfg", map[string]map[string]string{
		"main":    {"user/sg.yaml": "db: {ip: 10.0.0.1, password: pw-old-1}\n"},
		"feature": {"user/sg.yaml": "db: {ip: 10.0.0.2, password: pw-new-2}\n"},
	}, "main")
	tmpl := "host=^cac<<db.ip>>\npassword=^cac<<db.password>>\n"
	code = gitfixture.Bare(t, gitRoot, "code", map[string]map[string]string{
		"main": {"CacRegion_app.ini": tmpl}, "feature": {"CacRegion_app.ini": tmpl},
	}, "main")
	srv, err := gitserver.Start(gitRoot, gitserver.Options{Token: "ghs_T0KEN"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if feature["main.go"] == "" {
		feature["main.go"] = "package main\n"
	}
	feature[".cac.yaml"] = "config-repo: " + srv.RepoURL("cfg.git") + "\nusn: user\n"
	head = gitfixture.Commit(t, code, "feature", feature, "feature").String()
	return srv, head, code
}

func testBot(t *testing.T) *Bot {
	std, err := standard.Load("std.yaml", []byte("db:\n  ip: {type: string}\n  password: {type: string, secret: true}\n"), standard.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &Bot{
		SettingsKeys: []string{"config-repo", "usn"}, Scan: true, Fetch: noRetry(),
		Getenv: func(k string) string {
			return map[string]string{"CAC_GIT_TOKEN": "ghs_T0KEN", "GITHUB_TOKEN": "ghs_T0KEN"}[k]
		},
		Standard: func(context.Context) (pipeline.Validator, SecretFinder, error) { return nil, std, nil },
	}
}

// TestBotScansHead: the bot fetches the head, reads its .cac.yaml (config repo, usn), posts the
// diff with the head's new anti-corruption findings (an address the config repo manages, hard-coded)
// and leaves out what the head's baseline accepts.
func TestBotScansHead(t *testing.T) {
	legacy := "package main\n\nvar legacy = \"http://192.168.7.7:8080/api\"\n"
	found, err := scan.Run(context.Background(), scan.Options{Root: writeTree(t, map[string]string{"legacy.go": legacy})})
	if err != nil || len(found) != 1 {
		t.Fatalf("baseline scan: %v %v", found, err)
	}
	var baseline strings.Builder
	if err := scan.WriteBaseline(&baseline, found); err != nil {
		t.Fatal(err)
	}
	srv, head, _ := botServer(t, map[string]string{
		"main.go":    "package main\n\nconst db = \"10.0.0.2:3306\"\n",
		"legacy.go":  legacy,
		BaselineFile: baseline.String(),
	})
	fake, target := newFakeGitHub(t)
	target.SHA = ""
	out, err := testBot(t).Run(context.Background(), Job{CodeRepo: srv.RepoURL("code.git"), Base: "main", Head: "feature", HeadSHA: head, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if out.USN != "user" || out.Posted == nil || len(out.Scan.New) != 1 || out.Scan.Accepted != 1 {
		t.Fatalf("outcome: usn %q, posted %v, scan %+v", out.USN, out.Posted, out.Scan)
	}
	bodies := fake.bodies()
	if len(bodies) != 1 {
		t.Fatalf("comments: %q", bodies)
	}
	body := bodies[0]
	for _, want := range []string{
		"<!-- cac-diff:user part 1 -->",
		"**Anti-corruption scan: 1 new finding** (1 accepted by `.cac-scan-baseline.json`)",
		"| error | `main.go:3:",
		"| scan/hardcoded-address |",
		"+host=10.0.0.2",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q:\n%s", want, body)
		}
	}
	for _, leak := range []string{"192.168.7.7", "pw-old-1", "pw-new-2"} {
		if strings.Contains(body, leak) {
			t.Errorf("the comment shows %q:\n%s", leak, body)
		}
	}
	if want := head + " cac/diff success: 1 file changed in 1 region (+2 −2)"; len(fake.statuses) != 1 || fake.statuses[0] != want {
		t.Errorf("statuses %q, want %q", fake.statuses, want)
	}
}

// TestBotNoNewScanFindings: with nothing new, the comment has no scan section.
func TestBotNoNewScanFindings(t *testing.T) {
	srv, head, _ := botServer(t, map[string]string{})
	fake, target := newFakeGitHub(t)
	target.SHA = ""
	if _, err := testBot(t).Run(context.Background(), Job{CodeRepo: srv.RepoURL("code.git"), Base: "main", Head: "feature", HeadSHA: head, Target: target}); err != nil {
		t.Fatal(err)
	}
	if b := fake.bodies(); len(b) != 1 || strings.Contains(b[0], "Anti-corruption") {
		t.Errorf("comments: %q", b)
	}
}

// TestBotErrorStatus: a run that fails before posting (the head cannot be fetched, the config repo
// is unreachable) sets cac/diff to error with a one-line reason of at most 140 characters, without
// credentials, and posts no comment.
func TestBotErrorStatus(t *testing.T) {
	for _, tt := range []struct {
		name       string
		codeRepo   func(srv *gitserver.Server) string
		configRepo string // .cac.yaml's config-repo, with a password in it
		want       string
	}{
		{"head", func(srv *gitserver.Server) string { return srv.RepoURL("gone.git") }, "", "cac could not review: fetch the head: "},
		{"config", func(srv *gitserver.Server) string { return srv.RepoURL("code.git") }, "http://bot:pw-S3CRET@127.0.0.1:1/cfg.git", "cac could not review: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			feature := map[string]string{}
			srv, head, code := botServer(t, feature)
			if tt.configRepo != "" {
				head = gitfixture.Commit(t, code, "feature", map[string]string{".cac.yaml": "config-repo: " + tt.configRepo + "\n"}, "unreachable").String()
			}
			fake, target := newFakeGitHub(t)
			target.SHA = ""
			_, err := testBot(t).Run(context.Background(), Job{CodeRepo: tt.codeRepo(srv), Base: "main", Head: "feature", HeadSHA: head, Target: target})
			if err == nil {
				t.Fatal("the run did not fail")
			}
			if len(fake.statuses) != 1 {
				t.Fatalf("statuses %q, want one", fake.statuses)
			}
			t.Logf("status: %s", fake.statuses[0])
			prefix := head + " cac/diff error: "
			desc := strings.TrimPrefix(fake.statuses[0], prefix)
			if !strings.HasPrefix(fake.statuses[0], prefix) || !strings.HasPrefix(desc, tt.want) {
				t.Errorf("status %q, want %q%q…", fake.statuses[0], prefix, tt.want)
			}
			if n := utf8.RuneCountInString(desc); n > 140 || strings.Contains(desc, "\n") {
				t.Errorf("description of %d characters: %q", n, desc)
			}
			for _, secret := range []string{"ghs_T0KEN", "pw-S3CRET"} {
				if strings.Contains(desc, secret) {
					t.Errorf("the description shows %q: %q", secret, desc)
				}
			}
			if len(fake.bodies()) != 0 {
				t.Errorf("comments: %q", fake.bodies())
			}
		})
	}
}

// TestBotCancelled: a run cancelled by a newer head sets no status; the newer run will.
func TestBotCancelled(t *testing.T) {
	srv, head, _ := botServer(t, map[string]string{})
	fake, target := newFakeGitHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := testBot(t).Run(ctx, Job{CodeRepo: srv.RepoURL("code.git"), Base: "main", Head: "feature", HeadSHA: head, Target: target}); err == nil {
		t.Fatal("a cancelled run succeeded")
	}
	if len(fake.statuses) != 0 || len(fake.bodies()) != 0 {
		t.Errorf("statuses %q, comments %q", fake.statuses, fake.bodies())
	}
}

func TestErrorDescription(t *testing.T) {
	err := errorString("clone config repo https://bot:pw-S3CRET@git.example.com/cfg.git:\n  401 for token ghs_T0KEN " + strings.Repeat("x", 200))
	got := errorDescription(err, func(k string) string { return map[string]string{"GITHUB_TOKEN": "ghs_T0KEN"}[k] },
		[]string{"https://bot:pw-S3CRET@git.example.com/cfg.git"}, "")
	want := "cac could not review: clone config repo https://git.example.com/cfg.git: 401 for token *** "
	if !strings.HasPrefix(got, want) || utf8.RuneCountInString(got) != 140 || !strings.HasSuffix(got, "…") {
		t.Errorf("got %q (%d), want %q… of 140", got, utf8.RuneCountInString(got), want)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

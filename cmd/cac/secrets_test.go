package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/sops"
)

// seeded secrets: values at secret leaves of the standard, and tokens. None may appear in anything
// cac prints or writes, except the rendered config files themselves (output/cac/<region>/).
var seeded = []string{
	"s3cr3t-SEED-1", "s3cr3t-SEED-2", "s3cr3t-SEED-3", // valid secret values (sg, us, sg on the feature branch)
	"S3CR3T-SEED-4!",                   // breaks the secret's pattern
	"changeme-SEED-5",                  // matches the secret's forbidden pattern
	"s3cr3t-SEED-6",                    // a secret of the wrong type
	"tok-SEED-env-7",                   // CAC_GIT_TOKEN
	"tok-SEED-url-8",                   // a token in the URL's userinfo
	"tok-SEED-bad-9",                   // a wrong token
	"tok-SEED-user-10",                 // a user name in the URL's userinfo
	"tok-SEED-std-11",                  // a token in the URL of a standard
	"tok-SEED-reg-12",                  // a token in the query of a registry URL
	"s3cr3t-SEED-13", "s3cr3t-SEED-14", // passwords in per-region files that cac import turns into values
	"s3cr3t-SEED-15", "s3cr3t-SEED-17", // SOPS-encrypted secrets (main, feature)
	"ip-SEED-16", // a SOPS-encrypted value the standard does not mark secret
}

const secretStandard = `db:
  ip: {type: string}
  password: {type: string, secret: true, pattern: '^[A-Za-z0-9-]+$', excludePattern: '(?i)changeme'}
  apikey: {type: int, secret: true}
`

// TestNoSecretLeaks runs every command, in every output format, on success and on the error
// paths (a bad token, an unresolved placeholder beside a secret, secrets failing validation), and
// checks that no seeded secret reaches stdout, stderr, cac-report.json or any other file cac
// writes outside the rendered region directories.
func TestNoSecretLeaks(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work) // -C changes the directory of the process; restored after the test
	git := filepath.Join(work, "git")
	sopsID, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	encrypted := func(password string) string { // service enc's region file, encrypted like sops does
		keys, err := sops.ParseKeys(sopsID.String())
		if err != nil {
			t.Fatal(err)
		}
		out, err := sops.Set("enc/sg.yaml", []byte("db: {ip: ip-SEED-16, password: "+password+"}\n"), []string{"db", "password"}, password,
			sops.SetOptions{Keys: keys, Now: time.Now(), Rule: &sops.Rule{Rules: sops.Rules{EncryptedRegex: "^(ip|password)$"}, Recipients: []string{sopsID.Recipient().String()}}})
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	gitfixture.Bare(t, git, "cfg", map[string]map[string]string{
		"main": {
			"enc/sg.yaml":  encrypted("s3cr3t-SEED-15"),
			"user/sg.yaml": "db: {ip: 10.0.0.1, password: s3cr3t-SEED-1}\n",
			"user/us.yaml": "db: {ip: 10.1.0.1, password: s3cr3t-SEED-2}\n",
			"bad/sg.yaml":  "db:\n  ip: 10.0.0.1\n  password: S3CR3T-SEED-4!\n  apikey: s3cr3t-SEED-6\n",
			"bad/us.yaml":  "db:\n  ip: 10.1.0.1\n  password: changeme-SEED-5\n",
		},
		"feature": {
			"enc/sg.yaml":  encrypted("s3cr3t-SEED-17"),
			"user/sg.yaml": "db: {ip: 10.0.0.1, password: s3cr3t-SEED-3}\n",
			"user/us.yaml": "db: {ip: 10.1.0.2, password: s3cr3t-SEED-2}\n",
		},
	}, "main")
	tpl := "host=^cac<<db.ip>>\npassword=^cac<<db.password>>\n"
	gitfixture.Bare(t, git, "code", map[string]map[string]string{
		"main":    {"CacRegion_app.ini": tpl},
		"feature": {"CacRegion_app.ini": tpl + "again=^cac<<db.password>>\n"},
	}, "main")
	srv, err := gitserver.Start(git, gitserver.Options{Token: "tok-SEED-env-7"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	urlSrv, err := gitserver.Start(git, gitserver.Options{Token: "tok-SEED-url-8"})
	if err != nil {
		t.Fatal(err)
	}
	defer urlSrv.Close()

	code := filepath.Join(work, "code")
	writeTestFile(t, filepath.Join(code, "CacRegion_app.ini"), tpl)
	unresolved := filepath.Join(work, "unresolved")
	writeTestFile(t, filepath.Join(unresolved, "CacRegion_app.ini"), "password=^cac<<db.password>> next=^cac<<db.passwrd>>\n")
	std := filepath.Join(work, "std.yaml")
	writeTestFile(t, std, secretStandard)
	cache := filepath.Join(work, "cache")
	svc := filepath.Join(work, "svc") // per-region files to import, with their secrets
	writeTestFile(t, filepath.Join(svc, "conf", "app.sg.toml"), "name = \"shop\"\n[mysql]\nhost = \"10.8.1.21\"\npassword = \"s3cr3t-SEED-13\"\n")
	writeTestFile(t, filepath.Join(svc, "conf", "app.us.toml"), "name = \"shop\"\n[mysql]\nhost = \"10.9.1.21\"\npassword = \"s3cr3t-SEED-14\"\n")
	imported := filepath.Join(work, "imported") // the config dir import writes region YAMLs into

	cfgURL := srv.RepoURL("cfg")
	userinfoURL := strings.Replace(urlSrv.RepoURL("cfg"), "http://", "http://tok-SEED-user-10:tok-SEED-url-8@", 1)
	badURL := strings.Replace(urlSrv.RepoURL("cfg"), "http://", "http://x:tok-SEED-bad-9@", 1)
	vars := map[string]string{"CAC_GIT_TOKEN": "tok-SEED-env-7", "CAC_BRANCH": "main", "CAC_STANDARD": std, "NO_COLOR": "1", "SOPS_AGE_KEY": sopsID.String()}
	noKey := map[string]string{"SOPS_AGE_KEY": ""}

	type run struct {
		args []string
		env  map[string]string // overrides
		exit int
	}
	var runs []run
	for _, format := range []string{"text", "json", "junit", "github", "gitlab", "sarif"} {
		f := []string{"--format", format}
		runs = append(runs,
			run{args: append([]string{"-C", code, "build", "--config-repo", cfgURL, "--usn", "user", "--cache", cache}, f...)},
			run{args: append([]string{"-C", code, "build", "--config-repo", cfgURL, "--usn", "bad"}, f...), exit: 1},
			run{args: append([]string{"-C", unresolved, "build", "--config-repo", cfgURL, "--usn", "user"}, f...), exit: 1},
			run{args: append([]string{"-C", code, "validate", "--config-repo", cfgURL, "--usn", "user"}, f...)},
			run{args: append([]string{"-C", code, "validate", "--config-repo", cfgURL, "--usn", "bad"}, f...), exit: 1},
			run{args: append([]string{"-C", code, "scan", "--config-repo", cfgURL, "--usn", "user"}, f...)},
			// SOPS-encrypted region files: decrypted in memory; without a key, exit 2
			run{args: append([]string{"-C", code, "build", "--config-repo", cfgURL, "--usn", "enc"}, f...)},
			run{args: append([]string{"-C", code, "validate", "--config-repo", cfgURL, "--usn", "enc"}, f...)},
			run{args: append([]string{"-C", code, "build", "--config-repo", cfgURL, "--usn", "enc"}, f...), env: noKey, exit: 2},
			run{args: append([]string{"-C", svc, "import", "--pattern", "conf/app.{region}.toml", "--config-dir", imported, "--usn", "user", "--dry-run"}, f...)},
		)
	}
	runs = append(runs,
		// a token in the URL instead of the environment; the cache must not keep it
		run{args: []string{"-C", code, "build", "--config-repo", userinfoURL, "--usn", "user", "--cache", cache}, env: map[string]string{"CAC_GIT_TOKEN": ""}},
		run{args: []string{"-C", code, "validate", "--config-repo", userinfoURL, "--usn", "user"}, env: map[string]string{"CAC_GIT_TOKEN": ""}},
		// wrong tokens: exit 3 with a message that names the URL without them
		run{args: []string{"-C", code, "build", "--config-repo", cfgURL, "--usn", "user"}, env: map[string]string{"CAC_GIT_TOKEN": "tok-SEED-bad-9"}, exit: 3},
		run{args: []string{"-C", code, "build", "--config-repo", badURL, "--usn", "user", "--retries", "0"}, env: map[string]string{"CAC_GIT_TOKEN": ""}, exit: 3},
		run{args: []string{"-C", code, "validate", "--config-repo", badURL, "--usn", "user"}, env: map[string]string{"CAC_GIT_TOKEN": ""}, exit: 3},
		// settings from the environment instead of flags
		run{args: []string{"-C", code, "build", "--usn", "user"}, env: map[string]string{"CAC_CONFIG_REPO": userinfoURL, "CAC_GIT_TOKEN": ""}},
		// credentials in the URLs of a standard and a registry that cannot be reached
		run{args: []string{"-C", code, "validate", "--config-repo", cfgURL, "--usn", "user", "--standard", "http://tok-SEED-user-10:tok-SEED-std-11@127.0.0.1:1/std.yaml"}, exit: 3},
		run{args: []string{"-C", code, "build", "--config-repo", cfgURL, "--usn", "user", "--standard", "http://x:tok-SEED-std-11@127.0.0.1:1/rules.git//std.yaml@v1"}, exit: 3},
		run{args: []string{"-C", code, "validate", "--config-repo", cfgURL, "--usn", "user", "--registry", "http://127.0.0.1:1/reg.yaml?private_token=tok-SEED-reg-12"}, exit: 3},
		run{args: []string{"-C", code, "select", "--region", "sg", "--usn", "user", "--dry-run"}},
		run{args: []string{"-C", code, "schema"}},
		run{args: []string{"-C", code, "env", "show", "sg", "--usn", "user", "--config-repo", cfgURL}},
		run{args: []string{"-C", code, "env", "show", "sg", "--usn", "user", "--config-repo", cfgURL, "--format", "json"}},
		run{args: []string{"-C", code, "env", "show", "sg", "--usn", "bad", "--config-repo", cfgURL}},
		run{args: []string{"-C", code, "env", "show", "sg", "--usn", "enc", "--config-repo", cfgURL, "--format", "json"}},
		run{args: []string{"-C", code, "env", "list", "--config-repo", cfgURL, "--format", "json"}},
		run{args: []string{"-C", svc, "import", "--pattern", "conf/app.{region}.toml", "--config-dir", imported, "--usn", "user"}},
	)
	for _, format := range []string{"text", "markdown", "json"} {
		runs = append(runs,
			run{args: []string{"-C", code, "diff", "--code-repo", filepath.Join(git, "code.git"), "--config-repo", cfgURL, "--usn", "user",
				"--base", "main", "--branch", "feature", "--format", format}},
			run{args: []string{"-C", code, "diff", "--code-repo", filepath.Join(git, "code.git"), "--config-repo", cfgURL, "--usn", "bad",
				"--base", "main", "--branch", "main", "--format", format}, exit: 1},
			run{args: []string{"-C", code, "diff", "--code-repo", filepath.Join(git, "code.git"), "--config-repo", cfgURL, "--usn", "enc",
				"--base", "main", "--branch", "feature", "--format", format}},
			run{args: []string{"-C", code, "diff", "--code-repo", filepath.Join(git, "code.git"), "--config-repo", cfgURL, "--usn", "enc",
				"--base", "main", "--branch", "feature", "--format", format}, env: noKey},
		)
	}

	// publish: refused without age recipients, then encrypted for one; dry run prints a diff
	gitfixture.Bare(t, git, "gitops", map[string]map[string]string{"main": {"README.md": "gitops\n"}}, "main")
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	gitopsURL := srv.RepoURL("gitops")
	runs = append(runs,
		run{args: []string{"-C", code, "publish", "--config-repo", cfgURL, "--usn", "user", "--gitops-repo", gitopsURL}, exit: 2},
		run{args: []string{"-C", code, "publish", "--config-repo", cfgURL, "--usn", "user", "--gitops-repo", gitopsURL, "--age-recipient", id.Recipient().String()}},
		run{args: []string{"-C", code, "publish", "--config-repo", cfgURL, "--usn", "user", "--gitops-repo", gitopsURL, "--age-recipient", id.Recipient().String(), "--dry-run", "--no-prune"}},
	)

	// every run also writes metrics and posts its failure notices, which must be clean too
	var mu sync.Mutex
	var notices [][]byte
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		notices = append(notices, b)
		mu.Unlock()
	}))
	defer hookSrv.Close()
	for _, r := range runs {
		r.args = append(r.args, "--metrics-file", filepath.Join(work, "cac.prom"), "--notify-url", hookSrv.URL+"/hook")
		getenv := func(k string) string {
			if v, ok := r.env[k]; ok {
				return v
			}
			return vars[k]
		}
		var stdout, stderr bytes.Buffer
		code := Main(r.args, env{stdout: &stdout, stderr: &stderr, getenv: getenv})
		name := strings.Join(r.args[2:len(r.args)-4], " ")
		if code != r.exit {
			t.Errorf("cac %s: exit %d, want %d\nstdout: %s\nstderr: %s", name, code, r.exit, stdout.String(), stderr.String())
		}
		leaks(t, "stdout of cac "+name, stdout.Bytes())
		leaks(t, "stderr of cac "+name, stderr.Bytes())
	}

	failures := 0
	for _, r := range runs {
		if r.exit != 0 {
			failures++
		}
	}
	if len(notices) != failures {
		t.Errorf("%d failure notices for %d failed runs", len(notices), failures)
	}
	for i, n := range notices {
		leaks(t, fmt.Sprintf("failure notice %d", i+1), n)
	}

	// Files cac wrote: the report and anything else outside the rendered region dirs, and the
	// config repo cache's git metadata (its work tree is the config repo: secrets are expected).
	out := filepath.Join(code, "output", "cac", "user") // builds with --usn user write here
	outs := filepath.Dir(out)                           // output/cac/<usn>: user, enc
	if _, err := os.Stat(filepath.Join(out, "cac-report.json")); err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(work, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == "git" || rel == "std.yaml" || rel == "code/CacRegion_app.ini" || rel == "unresolved/CacRegion_app.ini" || rel == "svc/conf/app.sg.toml" || rel == "svc/conf/app.us.toml":
			return skip(d) // the inputs
		case rel == "imported":
			return fs.SkipDir // cac import's region YAMLs: the config repo, where secrets belong
		case d.IsDir() && filepath.Dir(filepath.Dir(p)) == outs:
			return fs.SkipDir // rendered config of a service (output/cac/<usn>/<region>): secrets belong there
		case strings.HasPrefix(rel, "cache/") && (d.Name() == "tree" || d.Name() == "objects"):
			// a cached clone's checked-out tree is the config repo (secrets expected) and its
			// objects are compressed; its refs, config and lock files are cac's own, checked below
			return fs.SkipDir
		case d.IsDir():
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		leaks(t, rel, data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// every object of the GitOps repo (blobs, trees, commit messages of every commit) is clean
	objects, err := exec.Command("git", "--git-dir", filepath.Join(git, "gitops.git"), "cat-file", "--batch-all-objects", "--batch").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(objects, []byte("ENC[AES256_GCM,")) {
		t.Error("the GitOps repo holds no SOPS-encrypted Secret: the publish runs did not reach it")
	}
	leaks(t, "the GitOps repo's objects", objects)

	// the rendered files do hold the secrets: the check above looked at the right output
	if data, _ := os.ReadFile(filepath.Join(out, "sg", "app.ini")); !bytes.Contains(data, []byte("s3cr3t-SEED-1")) {
		t.Errorf("rendered sg/app.ini = %q, want the secret in it", data)
	}
}

func skip(d fs.DirEntry) error {
	if d.IsDir() {
		return fs.SkipDir
	}
	return nil
}

// leaks fails the test for every seeded secret found in data.
func leaks(t *testing.T, where string, data []byte) {
	t.Helper()
	for _, s := range seeded {
		if i := bytes.Index(data, []byte(s)); i >= 0 {
			from, to := max(0, i-80), min(len(data), i+len(s)+40)
			t.Errorf("%s leaks %q: …%s…", where, s, data[from:to])
		}
	}
}

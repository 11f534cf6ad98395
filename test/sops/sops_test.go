package sops

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/decrypt"
	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/pipeline"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// gitopsRepo makes a bare repo whose main branch holds files, and returns its path.
func gitopsRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	work, root := t.TempDir(), t.TempDir()
	git(t, work, "init", "-q", "-b", "main")
	for p, c := range files {
		write(t, filepath.Join(work, p), c)
	}
	git(t, work, "add", "-A")
	git(t, work, "commit", "-qm", "seed")
	bare := filepath.Join(root, "gitops.git")
	git(t, root, "clone", "-q", "--bare", work, bare)
	return bare
}

// decryptSecret reads the encrypted Secret at the tip of main and decrypts it with the sops library
// (the identity comes from SOPS_AGE_KEY).
func decryptSecret(t *testing.T, bare, path string) map[string]string {
	t.Helper()
	enc := git(t, bare, "show", "main:"+path)
	if !strings.Contains(enc, "ENC[AES256_GCM,") {
		t.Fatalf("%s is not encrypted:\n%s", path, enc)
	}
	plain, err := decrypt.DataWithFormat([]byte(enc), formats.Yaml)
	if err != nil {
		t.Fatalf("sops cannot decrypt %s: %v", path, err)
	}
	var secret struct {
		Kind       string
		Metadata   struct{ Name string }
		StringData map[string]string `yaml:"stringData"`
	}
	if err := yaml.Unmarshal(plain, &secret); err != nil {
		t.Fatal(err)
	}
	if secret.Kind != "Secret" || secret.Metadata.Name != "user-secret" {
		t.Fatalf("decrypted %s: %+v", path, secret)
	}
	return secret.StringData
}

// TestSopsDecryptsPublishedSecret publishes rendered files holding secret values and decrypts the
// Secret cac wrote with sops: once for the recipient named by the GitOps repo's .sops.yaml, once
// for an explicit recipient after a secret changed.
func TestSopsDecryptsPublishedSecret(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY", id.String())
	bare := gitopsRepo(t, map[string]string{".sops.yaml": "creation_rules:\n  - path_regex: .*\\.enc\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: " + id.Recipient().String() + "\n"})

	files := map[string]string{
		"deploy/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: user\n",
		"conf/app.toml":          "name = \"user\"\n",
		"conf/db.toml":           "host = \"db\"\npassword = \"hunter2-db-password\"\n",
		"conf/api.env":           "API_TOKEN=tok_9f8e7d6c5b4a\n",
	}
	o := gitops.Options{RepoURL: bare, USN: "user", Output: output(files), Regions: []string{"eu"},
		Secrets: map[string][]gitops.SecretValue{"eu": {{Path: "mysql.main.password", Value: "hunter2-db-password"}, {Path: "api.token", Value: "tok_9f8e7d6c5b4a"}}}}
	if _, err := gitops.Publish(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	const secretPath = "envs/eu/user/cac-secret.enc.yaml"
	got := decryptSecret(t, bare, secretPath)
	if len(got) != 2 || got["conf__db.toml"] != files["conf/db.toml"] || got["conf__api.env"] != files["conf/api.env"] {
		t.Fatalf("decrypted stringData: %q", got)
	}

	files["conf/db.toml"] = "host = \"db\"\npassword = \"hunter2-db-password-v2\"\n"
	o.Output = output(files)
	o.Secrets["eu"][0].Value = "hunter2-db-password-v2"
	o.AgeRecipients = []string{id.Recipient().String()}
	if res, err := gitops.Publish(context.Background(), o); err != nil || res.UpToDate {
		t.Fatalf("publish a changed secret: %+v %v", res, err)
	}
	if got := decryptSecret(t, bare, secretPath); got["conf__db.toml"] != files["conf/db.toml"] {
		t.Fatalf("after the change, decrypted db.toml: %q", got["conf__db.toml"])
	}

	// Another identity cannot decrypt it: the file really is encrypted for the recipient.
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY", other.String())
	if _, err := decrypt.DataWithFormat([]byte(git(t, bare, "show", "main:"+secretPath)), formats.Yaml); err == nil {
		t.Fatal("a foreign age identity decrypted the Secret")
	}
}

// output is a `cac build` output of region eu holding files (paths relative to the region).
func output(files map[string]string) *pipeline.Output {
	tree := pipeline.Tree{}
	for p, c := range files {
		tree.Add("eu", p, pipeline.File{Data: []byte(c), Mode: 0o644})
	}
	return &pipeline.Output{Tree: tree, Report: &pipeline.Report{Outcome: pipeline.OutcomeSuccess, USN: "user",
		Regions: tree.Regions(), Files: tree.FileReports()}}
}

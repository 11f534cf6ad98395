package gitops

import (
	"context"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/decrypt"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
)

// TestPublishSecrets proves the secret round trip: files holding secret values land only in the
// SOPS-encrypted Secret, which the sops library decrypts with the age identity, and no blob of any
// commit of the GitOps repo contains a secret value.
func TestPublishSecrets(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY", id.String())
	secrets := []string{"hunter2-db-password", "tok_9f8e7d6c5b4a"}
	// The repo's .sops.yaml names the recipient (the KSOPS convention).
	g := newGitopsRepo(t, map[string]string{".sops.yaml": "creation_rules:\n  - path_regex: .*\\.enc\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: " + id.Recipient().String() + "\n"})
	files := serviceFiles("user", "1")
	files["conf/db.toml"] = "host = \"db\"\npassword = \"" + secrets[0] + "\"\n"
	files["conf/api.env"] = "API_TOKEN=" + secrets[1] + "\n"
	out := buildOutput(t, map[string]map[string]string{"eu": files})
	o := g.options("user", out)
	o.Secrets = map[string][]SecretValue{"eu": {{"mysql.main.password", secrets[0]}, {"api.token", secrets[1]}}}

	if _, err := Publish(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	tree := g.tree(t)
	enc := tree["envs/eu/user/cac-secret.enc.yaml"]
	if !strings.Contains(enc, "ENC[AES256_GCM,") || !strings.Contains(enc, "encrypted_regex: ^(data|stringData)$") {
		t.Fatalf("secret file:\n%s", enc)
	}
	if !strings.Contains(tree["envs/eu/user/kustomization.yaml"], "cac-ksops.yaml") || !strings.Contains(tree["envs/eu/user/cac-ksops.yaml"], "./cac-secret.enc.yaml") {
		t.Fatalf("KSOPS generator missing:\n%s\n%s", tree["envs/eu/user/kustomization.yaml"], tree["envs/eu/user/cac-ksops.yaml"])
	}
	if strings.Contains(tree["envs/eu/user/cac-config.yaml"], "db.toml") || !strings.Contains(tree["envs/eu/user/cac-config.yaml"], "conf__app.toml") {
		t.Fatalf("ConfigMap:\n%s", tree["envs/eu/user/cac-config.yaml"])
	}

	plain, err := decrypt.DataWithFormat([]byte(enc), formats.Yaml)
	if err != nil {
		t.Fatalf("sops cannot decrypt our file: %v", err)
	}
	var secret struct {
		Kind       string
		Metadata   struct{ Name string }
		StringData map[string]string `yaml:"stringData"`
	}
	if err := yaml.Unmarshal(plain, &secret); err != nil {
		t.Fatal(err)
	}
	if secret.Kind != "Secret" || secret.Metadata.Name != "user-secret" ||
		secret.StringData["conf__db.toml"] != files["conf/db.toml"] || secret.StringData["conf__api.env"] != files["conf/api.env"] {
		t.Fatalf("decrypted secret: %+v", secret)
	}

	// Same content again: the ciphertext is kept (fingerprint), so nothing is committed.
	res, err := Publish(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.UpToDate {
		t.Fatalf("republish with unchanged secrets: %+v", res.Changes)
	}
	// A changed secret value is re-encrypted, with explicit recipients this time.
	files["conf/db.toml"] = "host = \"db\"\npassword = \"" + secrets[0] + "-v2\"\n"
	out2 := buildOutput(t, map[string]map[string]string{"eu": files})
	out2.Report.USN = o.USN
	o.Output, o.AgeRecipients = out2, []string{id.Recipient().String()}
	if res, err = Publish(context.Background(), o); err != nil || res.UpToDate {
		t.Fatalf("publish changed secret: %+v %v", res, err)
	}

	assertNoSecretInHistory(t, g, append(secrets, secrets[0]+"-v2"))
}

func assertNoSecretInHistory(t *testing.T, g *gitopsRepo, secrets []string) {
	t.Helper()
	repo, err := git.PlainOpen(g.bare)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := repo.BlobObjects() // every blob stored, reachable from any commit or not
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = blobs.ForEach(func(b *object.Blob) error {
		n++
		r, err := b.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("blob %s holds a secret value", b.Hash)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("scanned only %d blobs", n)
	}
}

func TestPublishSecretWithoutRecipientsRefused(t *testing.T) {
	g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
	files := serviceFiles("user", "1")
	files["conf/db.toml"] = "password = \"hunter2-db-password\"\n"
	o := g.options("user", buildOutput(t, map[string]map[string]string{"eu": files}))
	o.Secrets = map[string][]SecretValue{"eu": {{"mysql.main.password", "hunter2-db-password"}}}
	n := g.commits(t)
	_, err := Publish(context.Background(), o)
	if !cacerr.Is(err, cacerr.KindUsage) || !strings.Contains(err.Error(), "conf/db.toml") ||
		!strings.Contains(err.Error(), "--age-recipient") || !strings.Contains(err.Error(), ".sops.yaml") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatal("error shows the secret value")
	}
	if g.commits(t) != n {
		t.Fatal("refused publish committed")
	}
	assertNoSecretInHistory(t, g, []string{"hunter2-db-password"})
}

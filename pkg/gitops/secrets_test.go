package gitops

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/cacerr"
)

// TestPublishSecrets: files holding secret values land only in the SOPS-encrypted Secret, for the
// age recipient, and no blob of any commit of the GitOps repo contains a secret value. test/sops
// proves the round trip: the sops library decrypts what Publish writes.
func TestPublishSecrets(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
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

	// The plaintext parts of the SOPS file; test/sops decrypts it with the sops library itself.
	var doc struct {
		Kind       string
		Metadata   struct{ Name string }
		StringData map[string]string `yaml:"stringData"`
		Sops       struct {
			Age []struct{ Recipient string }
			Mac string
		}
	}
	if err := yaml.Unmarshal([]byte(enc), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Kind != "Secret" || doc.Metadata.Name != "user-secret" || len(doc.StringData) != 2 ||
		!strings.HasPrefix(doc.StringData["conf__db.toml"], "ENC[AES256_GCM,") || !strings.HasPrefix(doc.StringData["conf__api.env"], "ENC[AES256_GCM,") ||
		len(doc.Sops.Age) != 1 || doc.Sops.Age[0].Recipient != id.Recipient().String() || !strings.HasPrefix(doc.Sops.Mac, "ENC[AES256_GCM,") {
		t.Fatalf("secret file:\n%s", enc)
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

// TestPublishSecretsIdempotent publishes unchanged secrets again with another push token and with
// none: with an age identity of the job (a) or a stable CAC_PUBLISH_KEY (b), nothing is committed;
// a changed secret value is. With neither (c), every publish re-encrypts, and says once how to
// make it idempotent. The fingerprint annotation is never the plaintext or an unkeyed hash of it.
func TestPublishSecretsIdempotent(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	publishKey := "k3y-0f-th1s-CI-that-never-changes-8f4e2a91"
	for _, tc := range []struct {
		name       string
		env        map[string]string
		idempotent bool
	}{
		{"age identity", map[string]string{"SOPS_AGE_KEY": id.String()}, true},
		{"publish key", map[string]string{EnvPublishKey: publishKey}, true},
		{"neither", map[string]string{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
			// A server that takes any token, or none, as a CI job's changing token would be taken.
			open, err := gitserver.Start(filepath.Dir(g.bare), gitserver.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(open.Close)
			g.url = open.RepoURL("gitops.git")
			password := "pw1234" // low entropy: an unkeyed hash of it would be guessed
			publish := func(token, value string) (*Result, string) {
				t.Helper()
				files := serviceFiles("user", "1")
				files["conf/db.toml"] = "password = \"" + value + "\"\n"
				out := buildOutput(t, map[string]map[string]string{"eu": files, "us": files})
				o := g.options("user", out)
				o.Token = token
				o.Getenv = func(k string) string { return tc.env[k] }
				o.AgeRecipients = []string{id.Recipient().String()}
				o.Secrets = map[string][]SecretValue{"eu": {{"db.password", value}}, "us": {{"db.password", value}}}
				var stderr strings.Builder
				o.Stderr = &stderr
				res, err := Publish(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				return res, stderr.String()
			}
			tip := func() string { return strings.TrimSpace(runGit(t, g.bare, "rev-parse", "main")) }

			res, stderr := publish("ci-job-token-1", password)
			if res.UpToDate {
				t.Fatal("first publish up to date")
			}
			if n := strings.Count(stderr, "notice:"); n != map[bool]int{true: 0, false: 1}[tc.idempotent] {
				t.Fatalf("%d notices:\n%s", n, stderr)
			}
			if !tc.idempotent && (!strings.Contains(stderr, EnvPublishKey) || !strings.Contains(stderr, "SOPS_AGE_KEY_FILE")) {
				t.Fatalf("notice does not say how to make publish idempotent:\n%s", stderr)
			}
			first := tip()
			for _, token := range []string{"ci-job-token-2", ""} {
				res, stderr := publish(token, password)
				if tc.idempotent != res.UpToDate || tc.idempotent != (tip() == first) {
					t.Fatalf("token %q: up to date %v, tip moved %v (changes %v)", token, res.UpToDate, tip() != first, res.Changes)
				}
				if tc.idempotent && strings.Contains(stderr, "notice") {
					t.Fatalf("token %q: stderr %q", token, stderr)
				}
			}

			secret := g.tree(t)["envs/eu/user/cac-secret.enc.yaml"]
			ann := oldFingerprint([]byte(secret))
			if (ann != "") != (tc.name == "publish key") {
				t.Fatalf("fingerprint annotation %q", ann)
			}
			data := "password = \"" + password + "\"\n"
			for _, v := range []string{password, data, "conf__db.toml" + data} {
				s1, s256, m5 := sha1.Sum([]byte(v)), sha256.Sum256([]byte(v)), md5.Sum([]byte(v))
				for _, h := range []string{hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:]), hex.EncodeToString(m5[:]),
					base64.StdEncoding.EncodeToString(s256[:])} {
					if strings.Contains(secret, h) {
						t.Fatalf("the Secret file holds an unkeyed hash of %q", v)
					}
				}
			}
			assertNoSecretInHistory(t, g, []string{password})

			before := tip()
			if res, _ := publish("ci-job-token-3", password+"-rotated"); res.UpToDate || tip() == before {
				t.Fatal("a changed secret value was not committed")
			}
			assertNoSecretInHistory(t, g, []string{password, password + "-rotated"})
		})
	}
}

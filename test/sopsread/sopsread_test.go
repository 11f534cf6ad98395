// Package sopsread checks cac's SOPS reader and writer (pkg/sops) against the real sops library:
// files the sops library encrypts (the way the CLI does) decrypt in cac to the same values, and
// files cac writes decrypt in sops. It is a module of its own so that the main module never links
// the sops KMS clients.
package sopsread

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"filippo.io/age"
	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/decrypt"
	yamlstore "github.com/getsops/sops/v3/stores/yaml"
	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/envs"
	cacsops "github.com/cacproj/cac/pkg/sops"
)

const plain = `# shop values
app:
  name: shop # the service
  port: 8080
  ratio: 1.5
  debug: false
  tags: [blue, green]
  empty: ""
  nothing: null
db:
  host: db.internal
  password: "s3cr3t: with a colon"
  pin: 1234
  token_unencrypted: visible
  hosts:
    - password: one
    - password: two
api:
  key: |
    line one
    line two
`

// sopsEncrypt encrypts data with the sops library as ` + "`sops --encrypt`" + ` does with the given
// metadata rules, for the age recipient.
func sopsEncrypt(t *testing.T, data []byte, md sops.Metadata, recipient string) []byte {
	t.Helper()
	store := yamlstore.NewStore(&config.YAMLStoreConfig{})
	branches, err := store.LoadPlainFile(data)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := sopsage.MasterKeyFromRecipient(recipient)
	if err != nil {
		t.Fatal(err)
	}
	md.KeyGroups = []sops.KeyGroup{{mk}}
	md.Version = "3.13.3"
	md.LastModified = time.Now().UTC()
	tree := sops.Tree{Branches: branches, Metadata: md}
	key, errs := tree.GenerateDataKey()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c := aes.NewCipher()
	mac, err := tree.Encrypt(key, c)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Metadata.MessageAuthenticationCode, err = c.Encrypt(mac, key, tree.Metadata.LastModified.Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	out, err := store.EmitEncryptedFile(tree)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sopsDecrypt(t *testing.T, data []byte) map[string]any {
	t.Helper()
	out, err := decrypt.DataWithFormat(data, formats.Yaml)
	if err != nil {
		t.Fatalf("sops cannot decrypt:\n%s\nerror: %v", data, err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func newKey(t *testing.T) (*age.X25519Identity, *cacsops.Keys) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY", id.String())
	keys, err := cacsops.ParseKeys(id.String())
	if err != nil {
		t.Fatal(err)
	}
	return id, keys
}

// cacDecrypt decrypts with cac and returns the values (without the sops metadata).
func cacDecrypt(t *testing.T, data []byte, keys *cacsops.Keys) (map[string]any, *cacsops.Decrypted) {
	t.Helper()
	d, err := cacsops.Decrypt("svc/eu.yaml", data, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Findings) > 0 {
		t.Fatalf("findings on an untouched file: %+v\n%s", d.Findings, data)
	}
	var m map[string]any
	if err := yaml.Unmarshal(d.Data, &m); err != nil {
		t.Fatalf("%v\n%s", err, d.Data)
	}
	delete(m, "sops")
	return m, d
}

// variants are the encryption rules sops offers (the CLI defaults to unencrypted_suffix _unencrypted).
var variants = map[string]sops.Metadata{
	"encrypted_regex":          {EncryptedRegex: `^(password|pin|key)$`},
	"mac_only_encrypted":       {EncryptedRegex: `^(password|pin|key)$`, MACOnlyEncrypted: true},
	"unencrypted_suffix":       {UnencryptedSuffix: "_unencrypted"},
	"unencrypted_regex":        {UnencryptedRegex: `^(name|host)$`},
	"encrypted_suffix_and_mac": {EncryptedSuffix: "word", MACOnlyEncrypted: true},
}

// TestDecryptLikeSops: every variant the sops library writes decrypts in cac to what sops gives.
func TestDecryptLikeSops(t *testing.T) {
	for name, md := range variants {
		t.Run(name, func(t *testing.T) {
			id, keys := newKey(t)
			enc := sopsEncrypt(t, []byte(plain), md, id.Recipient().String())
			want := sopsDecrypt(t, enc)
			got, d := cacDecrypt(t, enc, keys)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("cac decrypts to\n%#v\nsops to\n%#v", got, want)
			}
			if n := strings.Count(string(enc), ": ENC[") + strings.Count(string(enc), "- ENC[") - 1; len(d.Encrypted) != n { // -1: the MAC
				t.Errorf("%d encrypted positions, the file has %d encrypted values", len(d.Encrypted), n)
			}
			if strings.Count(string(d.Data), "\n") != strings.Count(string(enc), "\n") {
				t.Error("decryption changed the number of lines")
			}
		})
	}
}

// TestTampered: a changed plaintext value is a MAC finding, a ciphertext moved to another key a
// value finding; a wrong identity is a usage error naming the recipients.
func TestTampered(t *testing.T) {
	id, keys := newKey(t)
	enc := string(sopsEncrypt(t, []byte(plain), variants["encrypted_regex"], id.Recipient().String()))

	d, err := cacsops.Decrypt("svc/eu.yaml", []byte(strings.Replace(enc, "host: db.internal", "host: evil.example", 1)), keys)
	if err != nil || len(d.Findings) != 1 || d.Findings[0].Rule != cacsops.RuleMAC || d.Findings[0].Line == 0 {
		t.Errorf("plaintext edit: %v %+v", err, d)
	}

	lines := strings.Split(enc, "\n")
	var pw, pin int
	for i, l := range lines {
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "password: ENC[") && pw == 0:
			pw = i
		case strings.HasPrefix(strings.TrimSpace(l), "pin: ENC["):
			pin = i
		}
	}
	lines[pin] = strings.Replace(lines[pw], "password:", "pin:", 1)
	d, err = cacsops.Decrypt("svc/eu.yaml", []byte(strings.Join(lines, "\n")), keys)
	if err != nil || len(d.Findings) != 1 || d.Findings[0].Rule != cacsops.RuleValue || d.Findings[0].Line != pin+1 || d.Findings[0].Path != "db.pin" {
		t.Errorf("moved ciphertext: %v %+v (want line %d)", err, d, pin+1)
	}

	other, _ := age.GenerateX25519Identity()
	wrong, _ := cacsops.ParseKeys(other.String())
	_, err = cacsops.Decrypt("svc/eu.yaml", []byte(enc), wrong)
	var ke *cacsops.KeyError
	if !errors.As(err, &ke) || cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), id.Recipient().String()) || strings.Contains(err.Error(), other.String()) {
		t.Errorf("wrong identity: %v", err)
	}
}

// TestSetReadBySops: what cac secret set writes (a plaintext file converted, a value replaced, a
// key added) decrypts in sops, with every other value kept.
func TestSetReadBySops(t *testing.T) {
	id, keys := newKey(t)
	rule := &cacsops.Rule{Rules: cacsops.Rules{EncryptedRegex: `^(password|pin|key)$`}, Recipients: []string{id.Recipient().String()}}
	opt := cacsops.SetOptions{Rule: rule, Keys: keys, Now: time.Now()}
	out, err := cacsops.Set("svc/eu.yaml", []byte(plain), []string{"db", "password"}, "n3w\"pass\nword", opt)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "# shop values") || !strings.Contains(string(out), "# the service") {
		t.Errorf("comments lost:\n%s", out)
	}
	got := sopsDecrypt(t, out)
	var want map[string]any
	yaml.Unmarshal([]byte(plain), &want)
	want["db"].(map[string]any)["password"] = "n3w\"pass\nword"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sops reads\n%#v\nwant\n%#v", got, want)
	}
	if c, _ := cacDecrypt(t, out, keys); !reflect.DeepEqual(c, want) {
		t.Errorf("cac reads\n%#v", c)
	}

	// The file is encrypted now: replace the value again, then add a key.
	out, err = cacsops.Set("svc/eu.yaml", out, []string{"db", "password"}, "third", opt)
	if err != nil {
		t.Fatal(err)
	}
	out, err = cacsops.Set("svc/eu.yaml", out, []string{"cache", "key"}, "k3y", opt)
	if err != nil {
		t.Fatal(err)
	}
	got = sopsDecrypt(t, out)
	want["db"].(map[string]any)["password"] = "third"
	want["cache"] = map[string]any{"key": "k3y"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after two more sets, sops reads\n%#v\nwant\n%#v", got, want)
	}

	// A file the sops library wrote, set by cac, read by sops.
	enc := sopsEncrypt(t, []byte(plain), variants["mac_only_encrypted"], id.Recipient().String())
	out, err = cacsops.Set("svc/eu.yaml", enc, []string{"api", "key"}, "rotated", opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := sopsDecrypt(t, out); got["api"].(map[string]any)["key"] != "rotated" {
		t.Errorf("sops reads %#v", got["api"])
	}
}

// TestWriteFixture writes the committed fixture (the config repo of
// testdata/script/secrets_sops.txtar): SOPSREAD_FIXTURE=DIR go test -run TestWriteFixture.
func TestWriteFixture(t *testing.T) {
	dir := os.Getenv("SOPSREAD_FIXTURE")
	if dir == "" {
		t.Skip("set SOPSREAD_FIXTURE=DIR to write the fixture")
	}
	key, err := os.ReadFile(filepath.Join(dir, "test-age-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.ParseX25519Identity(strings.TrimSpace(lastLine(string(key))))
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(dir, "plain.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	enc := sopsEncrypt(t, src, sops.Metadata{EncryptedRegex: `^(password|token)$`}, id.Recipient().String())
	if err := os.WriteFile(filepath.Join(dir, "encrypted.yaml"), enc, 0o644); err != nil {
		t.Fatal(err)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestCopyReadBySops: a file the sops library encrypted, copied by cac env copy with overrides
// (decrypted in memory, edited, sealed again with a new data key) decrypts in sops to the
// source's values with the overrides, for every variant of the rules; without an identity the
// unchanged copy is the file byte for byte and decrypts as well.
func TestCopyReadBySops(t *testing.T) {
	id, keys := newKey(t)
	for name, md := range variants {
		t.Run(name, func(t *testing.T) {
			enc := sopsEncrypt(t, []byte(plain), md, id.Recipient().String())
			fsys := fstest.MapFS{"svc/eu.yaml": {Data: enc}}
			_, files, err := envs.PlanCopy(fsys, envs.CopyOptions{From: "eu", To: "id", Keys: keys,
				Set: []string{"db.host=db.id.internal", "db.password=c0py-pass", "app.port=9090"}})
			if err != nil {
				t.Fatal(err)
			}
			out := files["svc/id.yaml"]
			var want map[string]any
			yaml.Unmarshal([]byte(plain), &want)
			want["db"].(map[string]any)["host"] = "db.id.internal"
			want["db"].(map[string]any)["password"] = "c0py-pass"
			want["app"].(map[string]any)["port"] = 9090
			if got := sopsDecrypt(t, out); !reflect.DeepEqual(got, want) {
				t.Errorf("sops reads the copy as\n%#v\nwant\n%#v\n%s", got, want, out)
			}
			if strings.Contains(string(out), "c0py-pass") {
				t.Errorf("the override is in plain text:\n%s", out)
			}

			_, files, err = envs.PlanCopy(fsys, envs.CopyOptions{From: "eu", To: "id"})
			if err != nil {
				t.Fatal(err)
			}
			if string(files["svc/id.yaml"]) != string(enc) {
				t.Errorf("the copy without an identity is not byte for byte")
			}
			if got := sopsDecrypt(t, files["svc/id.yaml"]); !reflect.DeepEqual(got, sopsDecrypt(t, enc)) {
				t.Errorf("sops reads the pure copy as\n%#v", got)
			}
		})
	}
}

package standard

import (
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/values"
)

// $encryptSecrets: a secret: true value stored in plain text is a secret/plaintext finding naming
// the command that encrypts it; one the region file holds encrypted (decrypted in memory, or still
// ciphertext without an identity) is not; without the attribute nothing is reported.
func TestEncryptSecrets(t *testing.T) {
	const rules = `
app:
  name: {type: string}
db:
  host: {type: string}
  password: {type: string, secret: true}
api:
  token: {type: string}
`
	enforce := mustLoad(t, "$encryptSecrets: true\n"+rules, nil)
	lax := mustLoad(t, rules, nil)

	plain := parseValues(t, "user/us.yaml", "app:\n  name: shop\ndb:\n  host: h\n  password: plain-us\napi:\n  token: t\n")
	got := enforce.Validate(Input{Region: "us", USN: "user", Values: plain})
	if brief(got) != "user/us.yaml:5:13 db.password secret/plaintext" ||
		!strings.Contains(got[0].Message, "cac secret set user/us db.password < value-file") || strings.Contains(got[0].Message, "plain-us") {
		t.Errorf("plaintext secret: %s %v", brief(got), got)
	}
	if got := lax.Validate(Input{Region: "us", USN: "user", Values: plain}); len(got) != 0 {
		t.Errorf("without $encryptSecrets: %s", brief(got))
	}

	// the fixture encrypted by the sops library: db.password is encrypted
	data, err := os.ReadFile("../../testdata/sops/encrypted.yaml")
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile("../../testdata/sops/test-age-key.txt")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sops.ParseKeys(string(key))
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{"user/eu.yaml": {Data: data}}
	for name, keys := range map[string]*sops.Keys{"decrypted": keys, "ciphertext": nil} {
		v, findings, err := values.Load(sops.NewFS(fsys, keys, true), "user", "eu")
		if err != nil || len(findings) > 0 {
			t.Fatal(err, findings)
		}
		if got := enforce.Validate(Input{Region: "eu", USN: "user", Values: v}); len(got) != 0 {
			t.Errorf("%s: %s", name, brief(got))
		}
	}
}

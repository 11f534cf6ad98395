package envs

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/sops"
	"github.com/cacproj/cac/pkg/standard"
)

const testRecipient = "age1fr39w4ashgemsgkg66thsv79f60xxcjl2mtcnfsfv46v8gm92gmqu25aj6"

// sopsFixture is user/eu.yaml as the sops library encrypted it (test/sopsread TestWriteFixture)
// for the throw-away test key, and that key.
func sopsFixture(t *testing.T) (fstest.MapFS, []byte, *sops.Keys) {
	t.Helper()
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
	fsys := fstest.MapFS{
		"user/eu.yaml":    {Data: data},
		"_global/eu.yaml": {Data: []byte("env:\n  group: eu\n")},
	}
	return fsys, data, keys
}

// decrypted decrypts a written file with the key, failing on a MAC or value finding.
func decrypted(t *testing.T, name string, data []byte, keys *sops.Keys) string {
	t.Helper()
	d, err := sops.Decrypt(name, data, keys)
	if err != nil {
		t.Fatal(err)
	}
	if !d.SOPS || len(d.Findings) > 0 {
		t.Fatalf("%s: sops %v, findings %v:\n%s", name, d.SOPS, d.Findings, data)
	}
	return string(d.Data)
}

func noPlainSecret(t *testing.T, files map[string][]byte, secrets ...string) {
	t.Helper()
	for name, data := range files {
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s holds %q in plain text:\n%s", name, s, data)
			}
		}
	}
}

func TestPlanCopySOPS(t *testing.T) {
	fsys, src, keys := sopsFixture(t)

	// with the key: decrypted in memory, edited, encrypted again for the same recipient with a
	// new data key; an override of an encrypted value is written encrypted and masked
	rep, files, err := PlanCopy(fsys, CopyOptions{From: "eu", To: "id", Keys: keys,
		Set: []string{"db.host=db.id.internal", "db.password=n3w-pass"}})
	if err != nil {
		t.Fatal(err)
	}
	out := files["user/id.yaml"]
	noPlainSecret(t, files, "s3cr3t-fixture", "tok-fixture", "n3w-pass")
	plain := decrypted(t, "user/id.yaml", out, keys)
	for _, s := range []string{"host: db.id.internal", `password: "n3w-pass"`, `token: "tok-fixture-9Zq"`, "# user service, region eu"} {
		if !strings.Contains(plain, s) {
			t.Errorf("decrypted copy lacks %q:\n%s", s, plain)
		}
	}
	if !strings.Contains(string(out), "recipient: "+testRecipient) || !strings.Contains(string(out), "encrypted_regex: ^(password|token)$") {
		t.Errorf("recipient or rules lost:\n%s", out)
	}
	if sameDataKey(t, src, out, keys) {
		t.Error("the copy reuses the source's data key")
	}
	if len(rep.Overrides) != 2 || rep.Overrides[0].Value != "db.id.internal" || rep.Overrides[1].Value != Mask {
		t.Errorf("overrides %+v", rep.Overrides)
	}

	// with the key and no change: still a new data key, same values
	_, files, err = PlanCopy(fsys, CopyOptions{From: "eu", To: "id", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if p := decrypted(t, "user/id.yaml", files["user/id.yaml"], keys); !strings.Contains(p, `password: "s3cr3t-fixture"`) {
		t.Errorf("copy:\n%s", p)
	}
	if sameDataKey(t, src, files["user/id.yaml"], keys) {
		t.Error("the copy reuses the source's data key")
	}

	// without an identity: a pure copy is byte for byte, and stays valid under its new name
	_, files, err = PlanCopy(fsys, CopyOptions{From: "eu", To: "id", Set: []string{"env.group=id"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(files["user/id.yaml"]) != string(src) {
		t.Errorf("not copied byte for byte:\n%s", files["user/id.yaml"])
	}
	decrypted(t, "user/id.yaml", files["user/id.yaml"], keys)
	if string(files["_global/id.yaml"]) != "env:\n  group: id\n" {
		t.Errorf("_global/id.yaml:\n%s", files["_global/id.yaml"])
	}

	// without an identity, a change to the encrypted file is refused (exit 2), naming the file,
	// the change and the recipient
	for _, o := range []CopyOptions{
		{From: "eu", To: "id", Set: []string{"db.host=x"}},
		{From: "eu", To: "id", Images: map[string]map[string]string{"user": {"app": "reg/user:1"}}},
	} {
		_, _, err := PlanCopy(fsys, o)
		var kerr *sops.KeyError
		if err == nil || cacerr.ExitCode(err) != 2 || !errors.As(err, &kerr) ||
			!strings.Contains(err.Error(), "user/eu.yaml is encrypted with sops") || !strings.Contains(err.Error(), testRecipient) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	// a tampered file is refused even with the key
	fsys["user/eu.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(src), "name: shop", "name: evil", 1))}
	if _, _, err := PlanCopy(fsys, CopyOptions{From: "eu", To: "id", Keys: keys}); err == nil || !strings.Contains(err.Error(), "MAC does not match") {
		t.Errorf("tampered: %v", err)
	}
}

// sameDataKey reports whether the encrypted values of a open with the data key of b: a's values
// under b's sops metadata.
func sameDataKey(t *testing.T, a, b []byte, keys *sops.Keys) bool {
	t.Helper()
	i, j := strings.Index(string(a), "\nsops:\n"), strings.Index(string(b), "\nsops:\n")
	if i < 0 || j < 0 {
		t.Fatalf("no sops metadata")
	}
	d, err := sops.Decrypt("mixed.yaml", append([]byte(string(a[:i])), b[j:]...), keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.Findings {
		if f.Rule == sops.RuleValue {
			return false
		}
	}
	return true
}

func TestPlanRegionSOPS(t *testing.T) {
	fsys, src, keys := sopsFixture(t)
	std, err := standard.Load("std.yaml", []byte(`
env:
  group: {type: string, delivery: auto, generator: region}
app:
  name: {type: string, delivery: copy}
db:
  host: {type: string, delivery: manual}
  password: {type: string, secret: true, delivery: copy}
api:
  token: {type: string, secret: true, delivery: auto, generator: 'source + "-" + region'}
`), standard.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// with the key: the copied secret and the one generated from it are written encrypted, the
	// manual host is left out
	rep, files, err := PlanRegion(fsys, RegionOptions{Name: "id", From: "eu", Standard: std, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	noPlainSecret(t, files, "s3cr3t-fixture", "tok-fixture")
	plain := decrypted(t, "user/id.yaml", files["user/id.yaml"], keys)
	for _, s := range []string{`password: "s3cr3t-fixture"`, `token: "tok-fixture-9Zq-id"`, "name: shop"} {
		if !strings.Contains(plain, s) {
			t.Errorf("decrypted lacks %q:\n%s", s, plain)
		}
	}
	if strings.Contains(plain, "host:") || len(rep.Todos) != 1 || rep.Todos[0].Path != "db.host" {
		t.Errorf("todos %+v:\n%s", rep.Todos, plain)
	}

	// without an identity: a file that changes is refused, naming it and its recipient
	_, _, err = PlanRegion(fsys, RegionOptions{Name: "id", From: "eu", Standard: std})
	if err == nil || cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "user/eu.yaml is encrypted with sops and region new (db.host: left to fill by hand)") ||
		!strings.Contains(err.Error(), testRecipient) {
		t.Errorf("no identity: %v", err)
	}
	// ... and one whose every value is copied is copied byte for byte
	allCopy, err := standard.Load("std.yaml", []byte(`
env:
  group: {type: string, delivery: auto, generator: region}
app:
  name: {type: string, delivery: copy}
db:
  host: {type: string, delivery: copy}
  password: {type: string, secret: true, delivery: copy}
api:
  token: {type: string, secret: true, delivery: copy}
`), standard.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, files, err = PlanRegion(fsys, RegionOptions{Name: "id", From: "eu", Standard: allCopy})
	if err != nil {
		t.Fatal(err)
	}
	if string(files["user/id.yaml"]) != string(src) || len(rep.Todos) != 0 {
		t.Errorf("todos %+v, user/id.yaml:\n%s", rep.Todos, files["user/id.yaml"])
	}
}

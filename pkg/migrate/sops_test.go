package migrate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/sops"
)

// With a .sops.yaml creation rule for the service's files in the config repo, import writes the
// region files encrypted for its recipients: no secret lands there in plain text, and the files
// decrypt with the (throw-away) test key to the imported values.
func TestImportEncryptsSecrets(t *testing.T) {
	key, err := os.ReadFile("../../testdata/sops/test-age-key.txt")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sops.ParseKeys(string(key))
	if err != nil {
		t.Fatal(err)
	}
	setup := func(t *testing.T, regex string) (string, string) {
		code, config := t.TempDir(), t.TempDir()
		for r, v := range map[string][2]string{"sg": {"db-sg", "pw-sg-S3cret"}, "us": {"db-us", "pw-us-S3cret"}} {
			if err := os.WriteFile(filepath.Join(code, "app."+r+".properties"), []byte("db.host="+v[0]+"\ndb.password="+v[1]+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		rule := "creation_rules:\n  - path_regex: ^svc/.*\\.yaml$\n    encrypted_regex: " + regex + "\n    age: age1fr39w4ashgemsgkg66thsv79f60xxcjl2mtcnfsfv46v8gm92gmqu25aj6\n"
		if err := os.WriteFile(filepath.Join(config, ".sops.yaml"), []byte(rule), 0o644); err != nil {
			t.Fatal(err)
		}
		return code, config
	}

	code, config := setup(t, "^password$")
	res, err := Import(context.Background(), Options{CodeDir: code, ConfigDir: config, USN: "svc", Pattern: "app.{region}.properties"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Encrypted, ",") != "svc/sg.yaml,svc/us.yaml" || len(res.Secrets) != 1 {
		t.Fatalf("encrypted %v, secrets %v", res.Encrypted, res.Secrets)
	}
	var out strings.Builder
	printResult(&out, res)
	if !strings.Contains(out.String(), "encrypted: svc/sg.yaml (sops") {
		t.Errorf("report:\n%s", out.String())
	}
	for _, r := range []string{"sg", "us"} {
		data, err := os.ReadFile(filepath.Join(config, "svc", r+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "S3cret") || !sops.IsEncrypted(data) {
			t.Errorf("svc/%s.yaml:\n%s", r, data)
		}
		d, err := sops.Decrypt("svc/"+r+".yaml", data, keys)
		if err != nil || len(d.Findings) > 0 {
			t.Fatal(err, d.Findings)
		}
		if !strings.Contains(string(d.Data), `"pw-`+r+`-S3cret"`) || !strings.Contains(string(d.Data), "db-"+r) {
			t.Errorf("decrypted svc/%s.yaml:\n%s", r, d.Data)
		}
	}

	// a rule that would leave the secret in plain text is refused, nothing written
	code, config = setup(t, "^token$")
	_, err = Import(context.Background(), Options{CodeDir: code, ConfigDir: config, USN: "svc", Pattern: "app.{region}.properties"})
	if err == nil || cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "would leave") {
		t.Errorf("uncovered secret: %v", err)
	}
	if _, err := os.Stat(filepath.Join(config, "svc", "sg.yaml")); err == nil {
		t.Error("svc/sg.yaml written")
	}
}

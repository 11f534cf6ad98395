package sops

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/report"
)

// The fixture was encrypted by the sops library (test/sopsread TestWriteFixture) for the
// throw-away test key beside it.
func fixture(t *testing.T) ([]byte, string) {
	t.Helper()
	data, err := os.ReadFile("../../testdata/sops/encrypted.yaml")
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile("../../testdata/sops/test-age-key.txt")
	if err != nil {
		t.Fatal(err)
	}
	return data, string(key)
}

func TestDecryptFixture(t *testing.T) {
	data, key := fixture(t)
	keys, err := ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decrypt("user/eu.yaml", data, keys)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(d.Data), "\n")
	if lines[5] != `    password: "s3cr3t-fixture"` || lines[7] != `    token: "tok-fixture-9Zq"` || lines[4] != "    host: db.eu.internal # the primary" {
		t.Errorf("decrypted:\n%s", d.Data)
	}
	want := []report.Pos{{File: "user/eu.yaml", Line: 6, Col: 15}, {File: "user/eu.yaml", Line: 8, Col: 12}}
	if len(d.Findings) != 0 || !d.SOPS || len(d.Encrypted) != 2 || d.Encrypted[0] != want[0] || d.Encrypted[1] != want[1] {
		t.Errorf("findings %v, encrypted %v", d.Findings, d.Encrypted)
	}
	plain := []byte("a: 1\n")
	if d, err := Decrypt("x.yaml", plain, nil); err != nil || d.SOPS || string(d.Data) != string(plain) {
		t.Errorf("a plain file: %v %+v", err, d)
	}
}

// KeysFromEnv reads SOPS_AGE_KEY_FILE and the user config dir's sops/age/keys.txt, as sops does;
// without any identity a file is a KeyError naming its recipient, and never the key.
func TestKeysFromEnv(t *testing.T) {
	data, key := fixture(t)
	cfg := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": cfg, "HOME": t.TempDir()}
	keys, err := KeysFromEnv(func(k string) string { return env[k] })
	if err != nil || !keys.Empty() {
		t.Fatalf("no identity: %v %v", keys, err)
	}
	_, err = Decrypt("user/eu.yaml", data, keys)
	var ke *KeyError
	if !errors.As(err, &ke) || !ke.NoIdentity || cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "age1fr39w4ashgemsgkg66thsv79f60xxcjl2mtcnfsfv46v8gm92gmqu25aj6") {
		t.Errorf("no identity: %v", err)
	}
	p := filepath.Join(cfg, "sops", "age", "keys.txt")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err = KeysFromEnv(func(k string) string { return env[k] })
	if err != nil || keys.Empty() {
		t.Fatalf("keys.txt: %v %v", keys, err)
	}
	if _, err := Decrypt("user/eu.yaml", data, keys); err != nil {
		t.Error(err)
	}
	env["SOPS_AGE_KEY"] = "AGE-SECRET-KEY-1NOTAKEY"
	if _, err := KeysFromEnv(func(k string) string { return env[k] }); err == nil || strings.Contains(err.Error(), "NOTAKEY") {
		t.Errorf("a malformed key: %v", err)
	}
}

func TestKMSOnly(t *testing.T) {
	data := []byte("a: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\nsops:\n    kms:\n        - arn: arn:aws:kms:eu-west-1:1:key/x\n    lastmodified: \"2024-01-01T00:00:00Z\"\n    mac: ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:str]\n    version: 3.13.3\n")
	keys, _ := ParseKeys("")
	_, err := Decrypt("svc/eu.yaml", data, keys)
	if cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "encrypted with sops for kms keys only, and cac decrypts with age keys only") {
		t.Errorf("KMS-only file: %v", err)
	}
}

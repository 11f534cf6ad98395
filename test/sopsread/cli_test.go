package sopsread

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	cacsops "github.com/cacproj/cac/pkg/sops"
)

// sopsCLI builds the real sops command (v3.13.3, the tool dependency of this module's go.mod) once
// per test binary and returns its path.
func sopsCLI(t *testing.T) string {
	t.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sops-cli-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "sops")
		out, err := exec.Command("go", "build", "-o", cliPath, "github.com/getsops/sops/v3/cmd/sops").CombinedOutput()
		if err != nil {
			cliErr = &buildError{out: string(out), err: err}
		}
	})
	if cliErr != nil {
		t.Fatalf("build the sops CLI: %v", cliErr)
	}
	return cliPath
}

// runSops runs the sops CLI with only the age identity of the test in its environment (no network:
// it is never asked for its version).
func runSops(t *testing.T, key string, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(sopsCLI(t), args...)
	cmd.Env = []string{"SOPS_AGE_KEY=" + key, "HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sops %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// TestSopsCLIRoundTrip: a region file encrypted by the sops CLI (age, encrypted_regex) decrypts in
// cac to the plain values; what cac secret set writes into it decrypts with the sops CLI, every
// other value kept.
func TestSopsCLIRoundTrip(t *testing.T) {
	id, keys := newKey(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "eu.yaml")
	if err := os.WriteFile(src, []byte(plain), 0o644); err != nil {
		t.Fatal(err)
	}
	enc := runSops(t, id.String(), nil, "--encrypt", "--age", id.Recipient().String(),
		"--encrypted-regex", "^(password|pin|key)$", "--input-type", "yaml", "--output-type", "yaml", src)

	var want map[string]any
	if err := yaml.Unmarshal([]byte(plain), &want); err != nil {
		t.Fatal(err)
	}
	if got, _ := cacDecrypt(t, enc, keys); !reflect.DeepEqual(got, want) {
		t.Errorf("cac reads what the sops CLI encrypted as\n%#v\nwant\n%#v", got, want)
	}

	rule := &cacsops.Rule{Rules: cacsops.Rules{EncryptedRegex: `^(password|pin|key)$`}, Recipients: []string{id.Recipient().String()}}
	out, err := cacsops.Set("svc/eu.yaml", enc, []string{"db", "password"}, "rotated-by-cac", cacsops.SetOptions{Rule: rule, Keys: keys, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	setFile := filepath.Join(dir, "set.yaml")
	if err := os.WriteFile(setFile, out, 0o644); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := yaml.Unmarshal(runSops(t, id.String(), nil, "--decrypt", "--input-type", "yaml", "--output-type", "yaml", setFile), &got); err != nil {
		t.Fatal(err)
	}
	want["db"].(map[string]any)["password"] = "rotated-by-cac"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the sops CLI reads what cac secret set wrote as\n%#v\nwant\n%#v", got, want)
	}

	// another identity: the CLI refuses, as cac does
	other, _ := newKey(t)
	cmd := exec.Command(sopsCLI(t), "--decrypt", setFile)
	cmd.Env = []string{"SOPS_AGE_KEY=" + other.String(), "HOME=" + t.TempDir()}
	if err := cmd.Run(); err == nil {
		t.Error("the sops CLI decrypted with a foreign age key")
	}
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// TestMain removes the sops CLI built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if cliPath != "" {
		os.RemoveAll(filepath.Dir(cliPath))
	}
	os.Exit(code)
}

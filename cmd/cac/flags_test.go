package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestDeprecatedFlagNames: the old names of renamed flags still work for one release, hidden
// from the help, on the command line, in CAC_* variables and in .cac.yaml; each use prints a note
// on stderr (never stdout), and the new name wins when both are given.
func TestDeprecatedFlagNames(t *testing.T) {
	renamed := []struct{ path, old, name string }{
		{"diff", "api-url", "forge-api-url"},
		{"publish", "forge-api", "forge-api-url"},
		{"env copy", "forge-api", "forge-api-url"},
		{"region new", "forge-api", "forge-api-url"},
	}
	find := func(root *cobra.Command, path string) *cobra.Command {
		cmd, _, err := root.Find(strings.Fields(path))
		if err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	for _, r := range renamed {
		t.Run(strings.ReplaceAll(r.path, " ", "-")+"/flag", func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			root := newRoot(env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }})
			cmd := find(root, r.path)
			if f := cmd.Flags().Lookup(r.old); f == nil || !f.Hidden {
				t.Fatalf("--%s is not a hidden flag of cac %s", r.old, r.path)
			}
			if err := cmd.ParseFlags([]string{"--" + r.old, "https://ghe.example.com/api/v3"}); err != nil {
				t.Fatal(err)
			}
			if got := cmd.Flags().Lookup(r.name).Value.String(); got != "https://ghe.example.com/api/v3" {
				t.Errorf("--%s = %q", r.name, got)
			}
			want := "cac: --" + r.old + " is deprecated: use --" + r.name + " (the old name goes away in the next release)\n"
			if stderr.String() != want || stdout.Len() != 0 {
				t.Errorf("stderr %q, stdout %q; want stderr %q", stderr.String(), stdout.String(), want)
			}
		})
	}
	settingsCase := func(t *testing.T, vars map[string]string, file, wantValue, wantNote string) {
		t.Helper()
		dir := t.TempDir()
		if file != "" {
			if err := os.WriteFile(filepath.Join(dir, ".cac.yaml"), []byte(file), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var stderr bytes.Buffer
		getenv := func(k string) string { return vars[k] }
		root := newRoot(env{stdout: &bytes.Buffer{}, stderr: &stderr, getenv: getenv})
		cmd := find(root, "publish")
		if err := applySettings(cmd, dir, getenv, &stderr); err != nil {
			t.Fatal(err)
		}
		if got := cmd.Flags().Lookup("forge-api-url").Value.String(); got != wantValue {
			t.Errorf("--forge-api-url = %q, want %q", got, wantValue)
		}
		if stderr.String() != wantNote {
			t.Errorf("stderr %q, want %q", stderr.String(), wantNote)
		}
	}
	t.Run("env", func(t *testing.T) {
		settingsCase(t, map[string]string{"CAC_FORGE_API": "https://old"}, "", "https://old",
			"cac: CAC_FORGE_API is deprecated: use CAC_FORGE_API_URL (the old name goes away in the next release)\n")
	})
	t.Run("env-new-wins", func(t *testing.T) {
		settingsCase(t, map[string]string{"CAC_FORGE_API": "https://old", "CAC_FORGE_API_URL": "https://new"}, "", "https://new", "")
	})
	t.Run("file", func(t *testing.T) {
		settingsCase(t, nil, "forge-api: https://old\n", "https://old",
			"cac: .cac.yaml:1:12 forge-api is deprecated: use forge-api-url in .cac.yaml (the old name goes away in the next release)\n")
	})
	t.Run("file-new-wins", func(t *testing.T) {
		settingsCase(t, map[string]string{"CAC_FORGE_API_URL": "https://new"}, "forge-api: https://old\n", "https://new", "")
	})
}

// TestDeprecatedFlagRun: a whole run with an old name does what the new name does and notes it on stderr.
func TestDeprecatedFlagRun(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := Main([]string{"publish", "--gitops-repo", "gitops", "--open-pr", "gitlab", "--forge-api", "https://gitlab.example.com/api/v4"},
		env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }})
	want := "cac: --forge-api is deprecated: use --forge-api-url (the old name goes away in the next release)\n" +
		"cac: --open-pr gitlab needs GITLAB_TOKEN (or CI_JOB_TOKEN), --forge-repo (or CI_PROJECT_ID) and --forge-api-url (or CI_API_V4_URL)\n"
	if code != 2 || stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, stderr %q", code, stdout.String(), stderr.String(), want)
	}
}

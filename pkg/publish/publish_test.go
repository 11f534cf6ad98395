package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/standard"
)

// fixture is a config repo (service user in region sg, _regions.yaml), a code dir with template
// and a GitOps repo; the dry run pushes nothing.
func fixture(t *testing.T, template string) Options {
	t.Helper()
	root := t.TempDir()
	cfg := gitfixture.Bare(t, root, "cfg", map[string]map[string]string{"main": {
		"user/sg.yaml":  "db: {ip: 10.0.0.1, password: pw-S3CRET}\n",
		"_regions.yaml": "regions:\n  sg: {cluster: https://10.0.0.1:6443, namespace: shop, project: prod}\n",
	}}, "main")
	gitopsRepo := gitfixture.Bare(t, root, "gitops", map[string]map[string]string{"main": {"README.md": "GitOps\n"}}, "main")
	code := filepath.Join(root, "code")
	if err := os.MkdirAll(code, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(code, "CacRegion_app.ini"), []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	std, err := standard.Load("std.yaml", []byte("db:\n  ip: {type: string}\n  password: {type: string, secret: true}\n"), standard.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return Options{CodeDir: code, ConfigRepo: cfg, USN: "user", Branch: "main", Secrets: std,
		Getenv: func(string) string { return "" }, GitOps: gitops.Options{RepoURL: gitopsRepo, DryRun: true}}
}

// TestRun: one call builds, reads _regions.yaml into an Argo CD Application and publishes.
func TestRun(t *testing.T) {
	opt := fixture(t, "host=^cac<<db.ip>>\n")
	res, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, ch := range res.Publish.Changes {
		paths = append(paths, ch.Op+" "+ch.Path)
	}
	got := strings.Join(paths, "\n")
	for _, want := range []string{"add argocd/sg/user.yaml", "add envs/sg/user/kustomization.yaml"} {
		if !strings.Contains(got, want) {
			t.Errorf("changes lack %q:\n%s", want, got)
		}
	}
	if !strings.Contains(res.Publish.Diff, "server: https://10.0.0.1:6443") || !strings.Contains(res.Publish.Diff, "host=10.0.0.1") {
		t.Errorf("dry-run diff:\n%s", res.Publish.Diff)
	}
}

// TestRunSecrets: the standard's secret values reach gitops, so a rendered file holding one is
// refused without age recipients instead of being committed in plain text.
func TestRunSecrets(t *testing.T) {
	opt := fixture(t, "host=^cac<<db.ip>>\npassword=^cac<<db.password>>\n")
	_, err := Run(context.Background(), opt)
	if err == nil || !strings.Contains(err.Error(), "region sg: app.ini contain secret values and would be committed in plain text") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "pw-S3CRET") {
		t.Errorf("the error shows the secret: %v", err)
	}
}

// TestRunFindings: a build with errors returns its findings and exit 1; nothing is published.
func TestRunFindings(t *testing.T) {
	opt := fixture(t, "port=^cac<<db.port>>\n")
	res, err := Run(context.Background(), opt)
	if cacerr.ExitCode(err) != 1 || res == nil || len(res.Findings) == 0 || res.Publish != nil {
		t.Fatalf("err %v (exit %d), result %+v", err, cacerr.ExitCode(err), res)
	}
	if f := res.Findings[0]; f.Path != "db.port" || f.Rule != "placeholder/unresolved" {
		t.Errorf("findings: %v", res.Findings)
	}
}

// TestRunOpenPRUsage: --open-pr without what it needs fails before anything is built.
func TestRunOpenPRUsage(t *testing.T) {
	opt := fixture(t, "host=^cac<<db.ip>>\n")
	opt.GitOps.DryRun, opt.OpenPR = false, "gitlab"
	res, err := Run(context.Background(), opt)
	if cacerr.ExitCode(err) != 2 || res != nil || !strings.Contains(err.Error(), "--open-pr gitlab needs GITLAB_TOKEN") {
		t.Fatalf("err %v (exit %d), result %+v", err, cacerr.ExitCode(err), res)
	}
}

// Package realclients checks that the real clients read what cac publish writes: every published
// directory builds with kustomize (the sigs.k8s.io/kustomize/api library, as Argo CD runs it), every
// Secret decrypts with the sops library and an age key, and the Argo CD Applications are written
// to testdata/applications.yaml, which test/argocd decodes strictly into Argo CD's own types. It is
// a module of its own so that kustomize and the sops KMS clients never reach the cac binary.
package realclients

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/getsops/sops/v3/cmd/sops/formats"
	"github.com/getsops/sops/v3/decrypt"
	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/argocd"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/pipeline"
)

var update = flag.Bool("update", false, "rewrite testdata/applications.yaml")

const argoRepoURL = "https://git.example.com/platform/gitops.git"

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// output is a `cac build` output of usn: two regions, manifests, a config file and a file holding
// a secret value.
func output(usn, version, password string) *pipeline.Output {
	tree := pipeline.Tree{}
	for _, r := range []string{"eu", "us"} {
		add := func(p, c string) { tree.Add(r, p, pipeline.File{Data: []byte(c), Mode: 0o644}) }
		add("deploy/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: "+usn+"\nspec:\n  selector:\n    matchLabels: {app: "+usn+"}\n  template:\n    metadata:\n      labels: {app: "+usn+"}\n    spec:\n      containers:\n        - name: app\n          image: example.com/"+usn+":1\n")
		add("deploy/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: "+usn+"\nspec:\n  selector: {app: "+usn+"}\n  ports: [{port: 80}]\n")
		add("conf/app.toml", "region = \""+r+"\"\nversion = \""+version+"\"\n")
		add("conf/db.toml", "password = \""+password+"\"\n")
	}
	return &pipeline.Output{Tree: tree, Report: &pipeline.Report{USN: usn, Outcome: pipeline.OutcomeSuccess,
		CodeCommit: "c0ffee0123456789", ConfigCommit: "abcdef0123456789", Regions: tree.Regions(), Files: tree.FileReports()}}
}

func TestRealClientsReadPublishedRepo(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOPS_AGE_KEY", id.String()) // for the sops library's decrypt
	root := t.TempDir()
	bare := filepath.Join(root, "gitops.git")
	git(t, root, "init", "-q", "--bare", "-b", "main", bare)
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	regions, err := argocd.ParseRegions("_regions.yaml", []byte("regions:\n  eu: {cluster: https://10.0.0.1:6443, namespace: shop, project: prod}\n  us: {cluster: us-cluster, namespace: shop}\norder: [[db], [user]]\n"))
	if err != nil {
		t.Fatal(err)
	}
	const password = "hunter2-db-password"
	publish := func(usn, version string, argo argocd.Options) *gitops.Result {
		t.Helper()
		res, err := gitops.Publish(context.Background(), gitops.Options{
			RepoURL: srv.RepoURL("gitops.git"), USN: usn, Output: output(usn, version, password),
			Getenv:        func(k string) string { return map[string]string{"SOPS_AGE_KEY": id.String()}[k] },
			Secrets:       map[string][]gitops.SecretValue{"eu": {{Path: "db.password", Value: password}}, "us": {{Path: "db.password", Value: password}}},
			AgeRecipients: []string{id.Recipient().String()}, Argo: argo, Cache: filepath.Join(root, "cache"),
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	argo := argocd.Options{Regions: regions, RepoURL: argoRepoURL}
	publish("user", "1", argo)
	publish("web", "1", argocd.Options{RepoURL: argoRepoURL}) // no _regions.yaml: in-cluster
	first := check(t, root, bare, password)

	// A config-only change republishes the ConfigMap; the Secret keeps its bytes.
	res := publish("user", "2", argo)
	if res.UpToDate {
		t.Fatal("config change: up to date")
	}
	for _, ch := range res.Changes {
		if !strings.HasSuffix(ch.Path, "/cac-config.yaml") {
			t.Errorf("config-only change touched %s", ch.Path)
		}
	}
	second := check(t, root, bare, password)
	if first != second {
		t.Fatal("the republish changed the Applications")
	}
	golden := filepath.Join("testdata", "applications.yaml")
	if *update {
		if err := os.WriteFile(golden, []byte(second), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil || string(want) != second {
		t.Fatalf("%s is not what publish writes (go test -update): %v\n%s", golden, err, second)
	}
}

// check clones the GitOps repo and reads it with the real clients; it returns every Application,
// as one multi-document YAML.
func check(t *testing.T, root, bare, password string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "checkout")
	git(t, root, "clone", "-q", bare, dir)
	var apps []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.Name() == ".git" {
				return filepath.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case path.Base(rel) == "kustomization.yaml" && strings.HasPrefix(rel, "envs/"):
			kustomize(t, dir, path.Dir(rel))
		case strings.HasSuffix(rel, ".enc.yaml"):
			decryptSecret(t, p, password)
		case strings.HasPrefix(rel, "argocd/"):
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			apps = append(apps, "# "+rel+"\n"+string(data))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 4 {
		t.Fatalf("%d Applications, want 4 (2 services × 2 regions)", len(apps))
	}
	sort.Strings(apps)
	return strings.Join(apps, "---\n")
}

// kustomize builds the published directory appDir with the kustomize library, plugins off. The
// only entry left out is the KSOPS generator (an exec plugin that is not installable here); the
// Secret it would generate is checked by decryptSecret.
func kustomize(t *testing.T, repo, appDir string) {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	err := filepath.WalkDir(filepath.Join(repo, appDir), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		return fs.WriteFile("/"+filepath.ToSlash(rel), data)
	})
	if err != nil {
		t.Fatal(err)
	}
	kpath := "/" + appDir + "/kustomization.yaml"
	data, err := fs.ReadFile(kpath)
	if err != nil {
		t.Fatal(err)
	}
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	if gens, _ := k["generators"].([]any); !slices.Equal(gens, []any{"cac-ksops.yaml"}) {
		t.Fatalf("%s: generators %v, want only the KSOPS one", appDir, k["generators"])
	}
	delete(k, "generators")
	if data, err = yaml.Marshal(k); err != nil {
		t.Fatal(err)
	}
	if err := fs.WriteFile(kpath, data); err != nil {
		t.Fatal(err)
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fs, "/"+appDir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", appDir, err)
	}
	usn := path.Base(appDir)
	var got []string
	for _, r := range m.Resources() {
		got = append(got, r.GetKind()+"/"+r.GetName())
		if r.GetKind() == "ConfigMap" {
			dm := r.GetDataMap()
			if _, ok := dm["conf__app.toml"]; !ok || len(dm) != 1 {
				t.Errorf("%s: ConfigMap keys %v, want only conf__app.toml (db.toml holds a secret)", appDir, dm)
			}
		}
	}
	sort.Strings(got)
	want := []string{"ConfigMap/" + usn + "-config", "Deployment/" + usn, "Service/" + usn}
	if !slices.Equal(got, want) {
		t.Errorf("kustomize build %s: %v, want %v", appDir, got, want)
	}
}

// decryptSecret decrypts a published Secret with the sops library (SOPS_AGE_KEY).
func decryptSecret(t *testing.T, file, password string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), password) {
		t.Fatalf("%s holds the secret value in plain text", file)
	}
	plain, err := decrypt.DataWithFormat(data, formats.Yaml)
	if err != nil {
		t.Fatalf("sops cannot decrypt %s: %v", file, err)
	}
	var s struct {
		Kind       string
		StringData map[string]string `yaml:"stringData"`
	}
	if err := yaml.Unmarshal(plain, &s); err != nil {
		t.Fatal(err)
	}
	if s.Kind != "Secret" || s.StringData["conf__db.toml"] != "password = \""+password+"\"\n" {
		t.Fatalf("%s decrypts to %+v", file, s)
	}
}

package argocd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"sigs.k8s.io/yaml"
)

// The objects cac writes: pkg/gitops's TestArgoApplications proves the generator produces exactly
// this golden file, and the bootstrap app-of-apps ships in templates/.
var sources = []string{
	filepath.Join("..", "..", "pkg", "gitops", "testdata", "TestArgoApplications.golden"),
	filepath.Join("..", "..", "templates", "argocd", "bootstrap.yaml"),
	// What cac publish wrote into a GitOps repo, with and without _regions.yaml (test/realclients
	// proves it, as its golden file).
	filepath.Join("..", "realclients", "testdata", "applications.yaml"),
	// The Application of a base region's sub-environments (pkg/subenv's TestGitOpsApplication).
	filepath.Join("..", "..", "pkg", "subenv", "testdata", "TestGitOpsApplication.golden"),
}

// decodeStrict converts one YAML document to JSON and decodes it into an Application, rejecting
// fields the type does not have.
func decodeStrict(doc []byte) (*v1alpha1.Application, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var app v1alpha1.Application
	if err := dec.Decode(&app); err != nil {
		return nil, err
	}
	return &app, nil
}

func documents(t *testing.T, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, d := range strings.Split(string(data), "\n---") {
		if strings.TrimSpace(d) != "" && strings.Contains(d, "kind:") {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func TestGeneratedApplicationsDecodeStrictly(t *testing.T) {
	n := 0
	for _, src := range sources {
		for i, doc := range documents(t, src) {
			app, err := decodeStrict(doc)
			if err != nil {
				t.Errorf("%s document %d: %v", src, i+1, err)
				continue
			}
			n++
			if app.APIVersion != "argoproj.io/v1alpha1" || app.Kind != "Application" {
				t.Errorf("%s document %d: %s %s, want argoproj.io/v1alpha1 Application", src, i+1, app.APIVersion, app.Kind)
			}
			if app.Spec.Destination.Server == "" && app.Spec.Destination.Name == "" {
				t.Errorf("%s: %s has no destination", src, app.Name)
			}
			if app.Spec.Source == nil || app.Spec.Source.RepoURL == "" || app.Spec.Source.Path == "" {
				t.Errorf("%s: %s has no source repo and path", src, app.Name)
			}
			if wave, ok := app.Annotations["argocd.argoproj.io/sync-wave"]; ok && strings.Trim(wave, "-0123456789") != "" {
				t.Errorf("%s: %s has sync-wave %q, not an integer", src, app.Name, wave)
			}
		}
	}
	if n < 2 {
		t.Fatalf("decoded %d Applications; the sources hold none?", n)
	}
}

// The check can fail: a field Argo CD does not know is rejected.
func TestUnknownFieldRejected(t *testing.T) {
	doc := []byte("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x}\nspec:\n  project: default\n  destination: {server: https://k, namespace: shop}\n  source: {repoURL: https://g, path: p}\n  syncPolicy: {automated: {prune: true, selfHeel: true}}\n")
	if _, err := decodeStrict(doc); err == nil || !strings.Contains(err.Error(), "selfHeel") {
		t.Fatalf("a misspelt field was accepted: %v", err)
	}
}

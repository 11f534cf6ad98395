package gitops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/argocd"
	"github.com/cacproj/cac/pkg/cacerr"
)

// argoCDModule is the Argo CD release whose Application CRD schema the generated objects are checked
// against. Importing its Go types is not possible here: argo-cd/v2's v1alpha1 package pulls
// util/io/files, which calls securejoin.MkdirAll, removed in cyphar/filepath-securejoin v0.6 that
// go-git v5.19 requires.
const argoCDModule = "github.com/argoproj/argo-cd/v2@v2.14.21"

// applicationSchema loads the openAPIV3Schema of Application v1alpha1 from the argo-cd module's
// manifests/crds/application-crd.yaml (go mod download fetches it through the module proxy).
func applicationSchema(t *testing.T) map[string]any {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", argoCDModule).Output()
	if err != nil {
		t.Skipf("argo-cd module not available (%v); run go mod download %s", err, argoCDModule)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download: %v %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(mod.Dir, "manifests", "crds", "application-crd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Name   string
				Schema struct {
					OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	for _, v := range crd.Spec.Versions {
		if v.Name == "v1alpha1" {
			return v.Schema.OpenAPIV3Schema
		}
	}
	t.Fatal("no v1alpha1 in the Application CRD")
	return nil
}

// checkSchema validates v strictly against an OpenAPI v3 schema: unknown fields, wrong types and
// missing required fields are errors.
func checkSchema(v any, s map[string]any, path string) []string {
	if s["x-kubernetes-preserve-unknown-fields"] == true {
		return nil
	}
	var errs []string
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return []string{path + ": want an object"}
		}
		props, _ := s["properties"].(map[string]any)
		addl, _ := s["additionalProperties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				errs = append(errs, path+"."+r.(string)+": required")
			}
		}
		for k, fv := range m {
			switch {
			case props[k] != nil:
				errs = append(errs, checkSchema(fv, props[k].(map[string]any), path+"."+k)...)
			case addl != nil:
				errs = append(errs, checkSchema(fv, addl, path+"."+k)...)
			case props == nil:
			default:
				errs = append(errs, path+"."+k+": unknown field")
			}
		}
	case "array":
		l, ok := v.([]any)
		if !ok {
			return []string{path + ": want a list"}
		}
		for i, x := range l {
			errs = append(errs, checkSchema(x, s["items"].(map[string]any), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			errs = append(errs, path+": want a string")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			errs = append(errs, path+": want a boolean")
		}
	case "integer":
		if _, ok := v.(int); !ok {
			errs = append(errs, path+": want an integer")
		}
	}
	sort.Strings(errs)
	return errs
}

func asList(v any) []any { l, _ := v.([]any); return l }

// decodeApplication checks data against Argo CD's Application schema, then decodes it (unknown fields
// rejected) for the assertions.
func decodeApplication(t *testing.T, schema map[string]any, data []byte) *argocd.Application {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if errs := checkSchema(m, schema, "Application"); len(errs) > 0 {
		t.Fatalf("not a valid Argo CD Application:\n%s\n%s", strings.Join(errs, "\n"), data)
	}
	j, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	var app argocd.Application
	if err := dec.Decode(&app); err != nil {
		t.Fatal(err)
	}
	return &app
}

func TestArgoApplications(t *testing.T) {
	regionsFile := filepath.Join(t.TempDir(), "_regions.yaml")
	writeFile(t, regionsFile, `regions:
  sg-prod: {cluster: "https://10.0.0.1:6443", namespace: shop, project: prod}
  us-prod: {cluster: us-east, namespace: shop}
order: [[mysql-proxy], [user, cart], [web]]
`)
	schema := applicationSchema(t)
	regions, err := argocd.LoadRegions(regionsFile)
	if err != nil {
		t.Fatal(err)
	}
	g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
	for _, tc := range []struct {
		usn  string
		argo argocd.Options
	}{
		{"user", argocd.Options{Regions: regions, RepoURL: "https://git.example.com/org/gitops.git"}},
		{"web", argocd.Options{Regions: regions, ManualSync: true, Namespace: "cd"}},
		{"other", argocd.Options{Regions: regions, NoPrune: true, NoSelfHeal: true}},
	} {
		o := g.options(tc.usn, buildOutput(t, map[string]map[string]string{"sg-prod": serviceFiles(tc.usn, "1"), "us-prod": serviceFiles(tc.usn, "1")}))
		o.Argo = tc.argo
		if _, err := Publish(context.Background(), o); err != nil {
			t.Fatal(err)
		}
	}
	tree := g.tree(t)
	user := decodeApplication(t, schema, []byte(tree["argocd/sg-prod/user.yaml"]))
	if user.Metadata.Name != "user-sg-prod" || user.Metadata.Namespace != "argocd" || user.Metadata.Annotations["argocd.argoproj.io/sync-wave"] != "1" ||
		user.Spec.Project != "prod" || user.Spec.Destination.Server != "https://10.0.0.1:6443" || user.Spec.Destination.Namespace != "shop" ||
		user.Spec.Source.Path != "envs/sg-prod/user" || user.Spec.Source.TargetRevision != "main" ||
		user.Spec.Source.RepoURL != "https://git.example.com/org/gitops.git" ||
		user.Spec.SyncPolicy.Automated == nil || !user.Spec.SyncPolicy.Automated.Prune || !user.Spec.SyncPolicy.Automated.SelfHeal {
		t.Errorf("user app: %s", tree["argocd/sg-prod/user.yaml"])
	}
	us := decodeApplication(t, schema, []byte(tree["argocd/us-prod/user.yaml"]))
	if us.Spec.Destination.Name != "us-east" || us.Spec.Destination.Server != "" || us.Spec.Project != "default" {
		t.Errorf("us-prod app: %s", tree["argocd/us-prod/user.yaml"])
	}
	web := decodeApplication(t, schema, []byte(tree["argocd/sg-prod/web.yaml"]))
	if web.Spec.SyncPolicy.Automated != nil || web.Metadata.Annotations["argocd.argoproj.io/sync-wave"] != "2" || web.Metadata.Namespace != "cd" ||
		web.Spec.Source.RepoURL != g.url {
		t.Errorf("web app: %s", tree["argocd/sg-prod/web.yaml"])
	}
	other := decodeApplication(t, schema, []byte(tree["argocd/sg-prod/other.yaml"]))
	if _, ok := other.Metadata.Annotations["argocd.argoproj.io/sync-wave"]; ok || other.Spec.SyncPolicy.Automated.Prune || other.Spec.SyncPolicy.Automated.SelfHeal {
		t.Errorf("other app: %s", tree["argocd/sg-prod/other.yaml"])
	}
	golden(t, tree["argocd/sg-prod/user.yaml"])

	o := g.options("user", buildOutput(t, map[string]map[string]string{"eu": serviceFiles("user", "1")}))
	o.Argo.Regions = regions
	if _, err := Publish(context.Background(), o); !cacerr.Is(err, cacerr.KindUsage) || !strings.Contains(err.Error(), "region eu is not in _regions.yaml") {
		t.Fatalf("unknown region: %v", err)
	}
}

func TestBootstrapTemplate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "templates", "argocd", "bootstrap.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if errs := checkSchema(m, applicationSchema(t), "Application"); len(errs) > 0 {
		t.Fatalf("bootstrap.yaml is not a valid Argo CD Application:\n%s", strings.Join(errs, "\n"))
	}
	// The checker rejects what the schema rejects.
	m["spec"].(map[string]any)["sourcee"] = map[string]any{}
	if errs := checkSchema(m, applicationSchema(t), "Application"); len(errs) != 1 || errs[0] != "Application.spec.sourcee: unknown field" {
		t.Fatalf("schema check missed an unknown field: %v", errs)
	}
}

// Without _regions.yaml every Application targets the in-cluster API server, in the service's
// namespace (or DestNamespace), and says so once; with it, the region's destination. No
// Application ever holds the push credentials: source.repoURL is the push URL without them, or
// --argocd-repo-url.
func TestPublishApplicationsWithAndWithoutRegions(t *testing.T) {
	regions, err := argocd.ParseRegions("_regions.yaml", []byte("regions:\n  eu: {cluster: https://10.0.0.1:6443, namespace: shop, project: prod}\n  us: {cluster: us-cluster, namespace: shop}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name             string
		argo             argocd.Options
		server, ns, repo string // want for region eu; repo "" = the push URL without credentials
		notice           bool
	}{
		{"no regions file", argocd.Options{}, argocd.InCluster, "user", "", true},
		{"no regions file, namespace", argocd.Options{DestNamespace: "team-a"}, argocd.InCluster, "team-a", "", true},
		{"regions file", argocd.Options{Regions: regions}, "https://10.0.0.1:6443", "shop", "", false},
		{"argocd repo url", argocd.Options{RepoURL: "https://git.example.com/platform/gitops.git"}, argocd.InCluster, "user", "https://git.example.com/platform/gitops.git", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
			// The push URL carries the credentials, as CI scripts often write it.
			pushURL := strings.Replace(g.url, "http://", "http://ci-bot:"+testToken+"@", 1)
			out := buildOutput(t, map[string]map[string]string{"eu": serviceFiles("user", "1"), "us": serviceFiles("user", "1")})
			o := g.options("user", out)
			o.RepoURL, o.Token, o.Argo = pushURL, "", tc.argo
			var stderr strings.Builder
			o.Stderr = &stderr
			if _, err := Publish(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			notice := "no _regions.yaml: Applications target the in-cluster API server, namespace " + tc.ns + "\n"
			if n := strings.Count(stderr.String(), "no _regions.yaml"); n != map[bool]int{true: 1, false: 0}[tc.notice] ||
				tc.notice && !strings.Contains(stderr.String(), notice) {
				t.Fatalf("stderr:\n%s", stderr.String())
			}
			tree := g.tree(t)
			for path, content := range tree {
				if strings.Contains(content, testToken) {
					t.Errorf("%s holds the push token", path)
				}
			}
			var app struct {
				Spec struct {
					Source struct {
						RepoURL string `yaml:"repoURL"`
						Path    string
					}
					Destination struct{ Server, Name, Namespace string }
				}
			}
			if err := yaml.Unmarshal([]byte(tree["argocd/eu/user.yaml"]), &app); err != nil {
				t.Fatal(err)
			}
			wantRepo := tc.repo
			if wantRepo == "" {
				wantRepo = g.url
			}
			if d := app.Spec.Destination; d.Server != tc.server || d.Namespace != tc.ns || app.Spec.Source.RepoURL != wantRepo || app.Spec.Source.Path != "envs/eu/user" {
				t.Fatalf("Application:\n%s", tree["argocd/eu/user.yaml"])
			}
			if _, ok := tree["argocd/us/user.yaml"]; !ok {
				t.Fatal("no Application for region us")
			}
		})
	}
	g := newGitopsRepo(t, map[string]string{"README.md": "x\n"})
	o := g.options("user", buildOutput(t, map[string]map[string]string{"eu": serviceFiles("user", "1")}))
	o.Argo.DestNamespace = "Not_A_Namespace"
	if _, err := Publish(context.Background(), o); !cacerr.Is(err, cacerr.KindUsage) || !strings.Contains(err.Error(), "Not_A_Namespace") {
		t.Fatalf("bad namespace: %v", err)
	}
}

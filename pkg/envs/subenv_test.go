package envs

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
)

const baseManifests = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: user
  namespace: shop
  labels: {app: user}
spec:
  selector:
    matchLabels: {app: user, cac.io/subenv: base}
  template:
    metadata:
      labels: {app: user, cac.io/subenv: base}
    spec:
      containers:
      - {name: app, image: reg/user:1.2}
---
apiVersion: v1
kind: Service
metadata: {name: user-svc, labels: {app: user}}
spec:
  selector: {app: user}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: order}
spec:
  selector:
    matchLabels: {app: order}
  template:
    metadata:
      labels: {app: order}
    spec:
      containers:
      - {name: app, image: reg/order:7}
`

func subenvOut(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	p := filepath.Join(out, "sg", "deploy", "app.yaml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(baseManifests), 0o644); err != nil {
		t.Fatal(err)
	}
	// a rendered config file that is not a manifest: ignored
	os.WriteFile(filepath.Join(out, "sg", "app.yaml"), []byte("kind: Deployment\nmetadata: {name: user}\n"), 0o644)
	return out
}

// docs splits a YAML stream as written by yaml.v3.
func docs(data []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(data, []byte("---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// at returns the value at a dotted path of a YAML document (a number indexes a list), or nil.
func at(t *testing.T, doc []byte, path string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	for _, seg := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	return v
}

// TestPlanSubenvIstio checks the routing the Istio objects express; test/istio decodes the same
// objects strictly into Istio's own API types.
func TestPlanSubenvIstio(t *testing.T) {
	out := subenvOut(t)
	rep, files, err := PlanSubenv(SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user", "order"}, Header: "X-MSE-Tag", Weight: 10, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rep.Files, " "); got != "deploy/app.yaml istio/order.yaml istio/user.yaml" {
		t.Errorf("files %s", got)
	}
	if len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0], "Deployment order (deploy/app.yaml) has no pod label cac.io/subenv: base") ||
		!strings.Contains(rep.Warnings[1], "no Kubernetes Service found for order") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	copies := string(files["deploy/app.yaml"])
	for _, s := range []string{"name: user-feat\n", "name: order-feat,", "matchLabels: {app: user, cac.io/subenv: feat}", "labels: {app: order, cac.io/subenv: feat}", "reg/user:1.2"} {
		if !strings.Contains(copies, s) {
			t.Errorf("copies lack %q:\n%s", s, copies)
		}
	}
	if strings.Contains(copies, "kind: Service\n") {
		t.Errorf("a Service was copied:\n%s", copies)
	}
	objs := docs(files["istio/user.yaml"])
	if len(objs) != 2 {
		t.Fatalf("istio/user.yaml has %d objects", len(objs))
	}
	dr, vs := objs[0], objs[1]
	for path, want := range map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata.namespace": "shop",
		"spec.host": "user-svc", "spec.subsets.0.name": "base", "spec.subsets.1.name": "feat", "spec.subsets.2": nil,
	} {
		if got := at(t, dr, path); got != want {
			t.Errorf("DestinationRule %s = %v, want %v\n%s", path, got, want, dr)
		}
	}
	for i, want := range []string{"base", "feat"} { // label keys hold dots: looked up, not walked
		if l, _ := at(t, dr, "spec.subsets."+strconv.Itoa(i)+".labels").(map[string]any); len(l) != 1 || l["cac.io/subenv"] != want {
			t.Errorf("DestinationRule subset %d labels %v, want cac.io/subenv: %s", i, l, want)
		}
	}
	for path, want := range map[string]any{
		"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "spec.hosts.0": "user-svc",
		"spec.http.0.match.0.headers.x-mse-tag.exact": "feat", "spec.http.0.route.0.destination.subset": "feat",
		"spec.http.1.match": nil, "spec.http.1.route.0.destination.subset": "base", "spec.http.1.route.0.weight": 90,
		"spec.http.1.route.1.destination.subset": "feat", "spec.http.1.route.1.weight": 10, "spec.http.2": nil,
	} {
		if got := at(t, vs, path); got != want {
			t.Errorf("VirtualService %s = %v, want %v\n%s", path, got, want, vs)
		}
	}

	// without --weight: one route to base for the rest
	_, files, err = PlanSubenv(SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user"}, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	vs = docs(files["istio/user.yaml"])[1]
	if at(t, vs, "spec.http.1.route.1") != nil || at(t, vs, "spec.http.1.route.0.destination.subset") != "base" ||
		at(t, vs, "spec.http.1.route.0.weight") != nil || at(t, vs, "spec.http.0.match.0.headers.x-cac-env.exact") != "feat" {
		t.Errorf("routes:\n%s", vs)
	}
}

func TestSubenvRefusals(t *testing.T) {
	out := subenvOut(t)
	for _, tc := range []struct {
		o   SubenvOptions
		err string
	}{
		{SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user", "pay"}, Out: out}, "services not found in "},
		{SubenvOptions{Name: "base", Base: "sg", Services: []string{"user"}, Out: out}, `sub-environment name "base"`},
		{SubenvOptions{Name: "Feat_1", Base: "sg", Services: []string{"user"}, Out: out}, `sub-environment name "Feat_1"`},
		{SubenvOptions{Name: "feat", Base: "eu", Services: []string{"user"}, Out: out}, "no rendered manifests of the base region"},
		{SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user"}, Weight: 101, Out: out}, "--weight 101"},
		{SubenvOptions{Name: "feat", Base: "sg", Out: out}, "--services"},
	} {
		if _, _, err := PlanSubenv(tc.o); err == nil || !strings.Contains(err.Error(), tc.err) || cacerr.ExitCode(err) != 2 {
			t.Errorf("%+v: %v", tc.o, err)
		}
	}
}

func TestCreateDeleteSubenv(t *testing.T) {
	out := subenvOut(t)
	dest := filepath.Join(t.TempDir(), "subenv", "feat")
	if err := os.MkdirAll(filepath.Join(dest, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateSubenv(SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user"}, Out: out, Dest: dest}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"deploy/app.yaml", "istio/user.yaml"} {
		if _, err := os.Stat(filepath.Join(dest, p)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "stale")); !os.IsNotExist(err) {
		t.Errorf("a previous run's file survived: %v", err)
	}
	if err := DeleteSubenv(dest); err != nil {
		t.Fatal(err)
	}
	if err := DeleteSubenv(dest); cacerr.ExitCode(err) != 2 {
		t.Errorf("deleting twice: %v", err)
	}
}

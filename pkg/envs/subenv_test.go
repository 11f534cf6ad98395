package envs

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/pipeline"
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

func subenvOut(t *testing.T) *pipeline.Output {
	t.Helper()
	tree := pipeline.Tree{}
	tree.Add("sg", "deploy/app.yaml", pipeline.File{Data: []byte(baseManifests), Mode: 0o644})
	// a rendered config file that is not a manifest: ignored
	tree.Add("sg", "app.yaml", pipeline.File{Data: []byte("kind: Deployment\nmetadata: {name: user}\n"), Mode: 0o644})
	return &pipeline.Output{Dir: "output/cac", Tree: tree, Report: &pipeline.Report{Outcome: pipeline.OutcomeSuccess, Regions: []string{"sg"}, Files: tree.FileReports()}}
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

// strictIstio decodes an Istio object into Istio's own API types, rejecting unknown fields: the
// object and its metadata with sigs.k8s.io/yaml's strict mode, the spec (a protobuf message, whose
// JSON decoding that mode does not reach: it discards unknown fields) with protojson, which rejects them.
func strictIstio(data []byte, obj any, spec proto.Message) error {
	if err := k8syaml.UnmarshalStrict(data, obj); err != nil {
		return err
	}
	var raw struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := k8syaml.Unmarshal(data, &raw); err != nil {
		return err
	}
	return protojson.Unmarshal(raw.Spec, spec)
}

func strictDR(t *testing.T, data []byte, dr *networking.DestinationRule) {
	t.Helper()
	if err := strictIstio(data, dr, &dr.Spec); err != nil {
		t.Fatalf("strict decode: %v\n%s", err, data)
	}
}

func strictVS(t *testing.T, data []byte, vs *networking.VirtualService) {
	t.Helper()
	if err := strictIstio(data, vs, &vs.Spec); err != nil {
		t.Fatalf("strict decode: %v\n%s", err, data)
	}
}

func TestPlanSubenvIstio(t *testing.T) {
	out := subenvOut(t)
	rep, files, err := PlanSubenv(SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user", "order"}, Header: "X-MSE-Tag", Weight: 10, Output: out})
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
	var dr networking.DestinationRule
	var vs networking.VirtualService
	strictDR(t, objs[0], &dr)
	strictVS(t, objs[1], &vs)
	if dr.Kind != "DestinationRule" || dr.Namespace != "shop" || dr.Spec.Host != "user-svc" || len(dr.Spec.Subsets) != 2 ||
		dr.Spec.Subsets[0].Labels["cac.io/subenv"] != "base" || dr.Spec.Subsets[1].Name != "feat" || dr.Spec.Subsets[1].Labels["cac.io/subenv"] != "feat" {
		t.Errorf("DestinationRule %+v", &dr.Spec)
	}
	h := vs.Spec.Http
	if vs.Kind != "VirtualService" || vs.Spec.Hosts[0] != "user-svc" || len(h) != 2 ||
		h[0].Match[0].Headers["x-mse-tag"].GetExact() != "feat" || h[0].Route[0].Destination.Subset != "feat" ||
		h[1].Match != nil || h[1].Route[0].Destination.Subset != "base" || h[1].Route[0].Weight != 90 ||
		h[1].Route[1].Destination.Subset != "feat" || h[1].Route[1].Weight != 10 {
		t.Errorf("VirtualService %+v", &vs.Spec)
	}
	// the check is strict: a field Istio does not know fails
	bad := bytes.Replace(objs[1], []byte("  hosts:"), []byte("  hostz: [x]\n  hosts:"), 1)
	var badVS networking.VirtualService
	if err := strictIstio(bad, &badVS, &badVS.Spec); err == nil || !strings.Contains(err.Error(), "hostz") {
		t.Errorf("an unknown spec field was accepted: %v", err)
	}
	badMeta := bytes.Replace(objs[1], []byte("  name: user-feat"), []byte("  name: user-feat\n  nme: x"), 1)
	if err := strictIstio(badMeta, &badVS, &badVS.Spec); err == nil || !strings.Contains(err.Error(), "nme") {
		t.Errorf("an unknown metadata field was accepted: %v", err)
	}

	// without --weight: one route to base for the rest
	_, files, err = PlanSubenv(SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user"}, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	vs = networking.VirtualService{}
	strictVS(t, docs(files["istio/user.yaml"])[1], &vs)
	if r := vs.Spec.Http[1].Route; len(r) != 1 || r[0].Destination.Subset != "base" || r[0].Weight != 0 ||
		vs.Spec.Http[0].Match[0].Headers["x-cac-env"].GetExact() != "feat" {
		t.Errorf("routes %+v", vs.Spec.Http)
	}
}

func TestSubenvRefusals(t *testing.T) {
	out := subenvOut(t)
	for _, tc := range []struct {
		o   SubenvOptions
		err string
	}{
		{SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user", "pay"}, Output: out}, "services not found in "},
		{SubenvOptions{Name: "base", Base: "sg", Services: []string{"user"}, Output: out}, `sub-environment name "base"`},
		{SubenvOptions{Name: "Feat_1", Base: "sg", Services: []string{"user"}, Output: out}, `sub-environment name "Feat_1"`},
		{SubenvOptions{Name: "feat", Base: "eu", Services: []string{"user"}, Output: out}, "no rendered manifests of the base region"},
		{SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user"}, Weight: 101, Output: out}, "--weight 101"},
		{SubenvOptions{Name: "feat", Base: "sg", Output: out}, "--services"},
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
	if _, err := CreateSubenv(SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user"}, Output: out, Dest: dest}); err != nil {
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

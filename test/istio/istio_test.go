package istio

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

	"github.com/cacproj/cac/pkg/envs"
)

// base is a base region's rendered manifests: user has a Service and a base pod label, order has
// neither.
const base = `apiVersion: apps/v1
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

func buildOut(t *testing.T) string {
	t.Helper()
	out := t.TempDir()
	p := filepath.Join(out, "sg", "deploy", "app.yaml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
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

// strict decodes an Istio object into Istio's own API types, rejecting unknown fields: the object
// and its metadata with sigs.k8s.io/yaml's strict mode, the spec (a protobuf message, whose JSON
// decoding that mode does not reach: it discards unknown fields) with protojson, which rejects them.
func strict(data []byte, obj any, spec proto.Message) error {
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

func TestSubenvIstioObjectsDecodeStrictly(t *testing.T) {
	out := buildOut(t)
	_, files, err := envs.PlanSubenv(envs.SubenvOptions{Name: "feat", Base: "sg", Services: []string{"user", "order"}, Header: "X-MSE-Tag", Weight: 10, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	objs := docs(files["istio/user.yaml"])
	if len(objs) != 2 {
		t.Fatalf("istio/user.yaml has %d objects", len(objs))
	}
	var dr networking.DestinationRule
	if err := strict(objs[0], &dr, &dr.Spec); err != nil {
		t.Fatalf("DestinationRule: %v\n%s", err, objs[0])
	}
	var vs networking.VirtualService
	if err := strict(objs[1], &vs, &vs.Spec); err != nil {
		t.Fatalf("VirtualService: %v\n%s", err, objs[1])
	}
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
	// Every object written, for every service, decodes.
	for _, p := range []string{"istio/user.yaml", "istio/order.yaml"} {
		for i, d := range docs(files[p]) {
			var probe struct{ Kind string }
			if err := k8syaml.Unmarshal(d, &probe); err != nil {
				t.Fatal(err)
			}
			switch probe.Kind {
			case "DestinationRule":
				var o networking.DestinationRule
				err = strict(d, &o, &o.Spec)
			case "VirtualService":
				var o networking.VirtualService
				err = strict(d, &o, &o.Spec)
			default:
				t.Fatalf("%s document %d: kind %q", p, i+1, probe.Kind)
			}
			if err != nil {
				t.Errorf("%s document %d: %v", p, i+1, err)
			}
		}
	}

	// The check is strict: a field Istio does not know fails, in the spec and in the metadata.
	bad := bytes.Replace(objs[1], []byte("  hosts:"), []byte("  hostz: [x]\n  hosts:"), 1)
	var badVS networking.VirtualService
	if err := strict(bad, &badVS, &badVS.Spec); err == nil || !strings.Contains(err.Error(), "hostz") {
		t.Errorf("an unknown spec field was accepted: %v", err)
	}
	badMeta := bytes.Replace(objs[1], []byte("  name: user-feat"), []byte("  name: user-feat\n  nme: x"), 1)
	if err := strict(badMeta, &badVS, &badVS.Spec); err == nil || !strings.Contains(err.Error(), "nme") {
		t.Errorf("an unknown metadata field was accepted: %v", err)
	}
}

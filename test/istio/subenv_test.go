package istio

// Sub-environments' Istio objects decoded strictly into Istio's own API types. These tests live in
// a module of their own so that istio.io/client-go stays out of cac's module.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	networking "istio.io/client-go/pkg/apis/networking/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/cacproj/cac/internal/subenvtest"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/subenv"
)

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

// create plans sub-environment o in the base manifests of out and applies it to the tree d.
func create(t *testing.T, d subenv.Dir, o subenv.Options) *subenv.Report {
	t.Helper()
	p, err := subenv.PlanSubenv(o)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := p.Edit(d, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ch); err != nil {
		t.Fatal(err)
	}
	r := p.Report()
	r.Result(ch)
	return r
}

func read(t *testing.T, d subenv.Dir, name string) []byte {
	t.Helper()
	data, err := d.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// routes decodes a route table strictly into Istio's types.
func routes(t *testing.T, data []byte) (*networking.DestinationRule, *networking.VirtualService) {
	t.Helper()
	objs := subenvtest.Docs(data)
	if len(objs) != 2 {
		t.Fatalf("%d objects in the route table, want a DestinationRule and a VirtualService:\n%s", len(objs), data)
	}
	var dr networking.DestinationRule
	var vs networking.VirtualService
	strictDR(t, objs[0], &dr)
	strictVS(t, objs[1], &vs)
	return &dr, &vs
}

// podLabels returns the cac.io/subenv pod label of every workload in a file of copies, by name.
func podLabels(t *testing.T, data []byte) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range subenvtest.Docs(data) {
		var w struct {
			Metadata struct{ Name string }
			Spec     struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				}
				Template struct {
					Metadata struct{ Labels map[string]string }
				}
			}
		}
		if err := k8syaml.Unmarshal(d, &w); err != nil {
			t.Fatal(err)
		}
		if w.Spec.Selector.MatchLabels[subenv.SubenvLabel] != w.Spec.Template.Metadata.Labels[subenv.SubenvLabel] {
			t.Errorf("%s: selector %v does not select its pods %v", w.Metadata.Name, w.Spec.Selector.MatchLabels, w.Spec.Template.Metadata.Labels)
		}
		out[w.Metadata.Name] = w.Spec.Template.Metadata.Labels[subenv.SubenvLabel]
	}
	return out
}

func TestThreeSubenvsShareOneRouteTable(t *testing.T) {
	out := subenvtest.Output()
	d := subenv.Dir(t.TempDir())
	// created out of name order: the route table sorts them
	create(t, d, subenv.Options{Name: "canary", Base: "sg", Services: []string{"user"}, Weight: 10, Output: out})
	create(t, d, subenv.Options{Name: "feat-b", Base: "sg", Services: []string{"user"}, Baggage: "cac-env", Output: out})
	rep := create(t, d, subenv.Options{Name: "feat-a", Base: "sg", Services: []string{"user", "order"}, Header: "X-MSE-Tag", Output: out})
	if got := strings.Join(rep.Written, " "); got != "sg/_routes/order.yaml sg/_routes/user-svc.yaml sg/feat-a/deploy/app.yaml sg/kustomization.yaml" {
		t.Errorf("written %s", got)
	}
	if len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0], "Deployment order (deploy/app.yaml) has no pod label cac.io/subenv: base") ||
		!strings.Contains(rep.Warnings[1], "no Kubernetes Service found for order") {
		t.Errorf("warnings %q", rep.Warnings)
	}
	files, err := d.Files("sg/_routes")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(files, " "); got != "sg/_routes/order.yaml sg/_routes/user-svc.yaml" {
		t.Fatalf("route tables %s, want one per host", got)
	}
	dr, vs := routes(t, read(t, d, "sg/_routes/user-svc.yaml"))
	if vs.Name != "user-svc-subenv" || vs.Namespace != "shop" || dr.Name != vs.Name || len(vs.Spec.Hosts) != 1 || vs.Spec.Hosts[0] != "user-svc" || len(vs.Spec.Gateways) != 0 {
		t.Errorf("VirtualService %s/%s hosts %v gateways %v", vs.Namespace, vs.Name, vs.Spec.Hosts, vs.Spec.Gateways)
	}
	// header routes sorted by name, then the catch-all with the canary weight, last
	var order []string
	for _, r := range vs.Spec.Http {
		order = append(order, r.Name)
	}
	if got := strings.Join(order, " "); got != "subenv-canary subenv-feat-a subenv-feat-b base" {
		t.Fatalf("routes %s", got)
	}
	h := vs.Spec.Http
	if h[0].Match[0].Headers["x-cac-env"].GetExact() != "canary" || h[0].Route[0].Destination.Subset != "canary" ||
		h[1].Match[0].Headers["x-mse-tag"].GetExact() != "feat-a" || h[1].Route[0].Destination.Subset != "feat-a" ||
		len(h[2].Match) != 2 || h[2].Match[0].Headers["x-cac-env"].GetExact() != "feat-b" ||
		h[2].Match[1].Headers["baggage"].GetRegex() != subenv.BaggageRegex("cac-env", "feat-b") || h[2].Route[0].Destination.Subset != "feat-b" {
		t.Errorf("header routes %+v", h[:3])
	}
	last := h[3]
	if last.Match != nil || len(last.Route) != 2 || last.Route[0].Destination.Subset != "base" || last.Route[0].Weight != 90 ||
		last.Route[1].Destination.Subset != "canary" || last.Route[1].Weight != 10 {
		t.Errorf("base route %+v", last)
	}
	// every subset selects the pods of the workloads it names
	subsets := map[string]string{}
	for _, s := range dr.Spec.Subsets {
		subsets[s.Name] = s.Labels[subenv.SubenvLabel]
	}
	if len(subsets) != 4 || subsets["base"] != "base" {
		t.Errorf("subsets %v", subsets)
	}
	for _, name := range []string{"canary", "feat-a", "feat-b"} {
		pods := podLabels(t, read(t, d, "sg/"+name+"/deploy/app.yaml"))
		if pods["user-"+name] == "" || pods["user-"+name] != subsets[name] {
			t.Errorf("subset %s selects %s: %q, the pods of user-%s carry %q", name, subenv.SubenvLabel, subsets[name], name, pods["user-"+name])
		}
	}
	if _, vs := routes(t, read(t, d, "sg/_routes/order.yaml")); len(vs.Spec.Http) != 2 || vs.Spec.Http[0].Name != "subenv-feat-a" {
		t.Errorf("order routes %+v", vs.Spec.Http)
	}
	if k := string(read(t, d, "sg/kustomization.yaml")); !strings.Contains(k, "- _routes/user-svc.yaml\n") || !strings.Contains(k, "- feat-b/deploy/app.yaml\n") {
		t.Errorf("kustomization:\n%s", k)
	}

	// create again replaces feat-a's route in place: no longer on order, now a canary of user
	create(t, d, subenv.Options{Name: "feat-a", Base: "sg", Services: []string{"user"}, Weight: 5, Output: out})
	if _, err := d.ReadFile("sg/_routes/order.yaml"); err == nil {
		t.Error("order's route table survived its last sub-environment")
	}
	_, vs = routes(t, read(t, d, "sg/_routes/user-svc.yaml"))
	if r := vs.Spec.Http[3].Route; len(r) != 3 || r[0].Weight != 85 || r[1].Destination.Subset != "canary" || r[2].Destination.Subset != "feat-a" || r[2].Weight != 5 {
		t.Errorf("base route after the update %+v", r)
	}
	// more than 100% of canaries is refused
	p, err := subenv.PlanSubenv(subenv.Options{Name: "greedy", Base: "sg", Services: []string{"user"}, Weight: 90, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Edit(d, ""); err == nil || !strings.Contains(err.Error(), "more than 100%") || cacerr.ExitCode(err) != 2 {
		t.Errorf("canaries over 100%%: %v", err)
	}

	// delete removes exactly one route and subset; the last one removes the objects
	ch, err := subenv.DeleteEdit(d, "", "", "feat-b")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ch); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ch.Delete, " "); got != "sg/feat-b/deploy/app.yaml" {
		t.Errorf("deleted %s", got)
	}
	dr, vs = routes(t, read(t, d, "sg/_routes/user-svc.yaml"))
	if len(vs.Spec.Http) != 3 || vs.Spec.Http[1].Name != "subenv-feat-a" || len(dr.Spec.Subsets) != 3 {
		t.Errorf("after delete: routes %+v subsets %+v", vs.Spec.Http, dr.Spec.Subsets)
	}
	for _, name := range []string{"canary", "feat-a"} {
		ch, err := subenv.DeleteEdit(d, "", "sg", name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Apply(ch); err != nil {
			t.Fatal(err)
		}
	}
	if left, _ := d.Files(""); len(left) != 0 {
		t.Errorf("files left after the last delete: %v", left)
	}
	if _, err := subenv.DeleteEdit(d, "", "", "feat-a"); err == nil || !strings.Contains(err.Error(), "no sub-environment feat-a in any base region") {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestGatewayImagesAndExpiry(t *testing.T) {
	out := subenvtest.Output()
	d := subenv.Dir(t.TempDir())
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	create(t, d, subenv.Options{Name: "pr-1", Base: "sg", Services: []string{"user"}, Gateways: []string{"istio-system/public"},
		Hosts: []string{"shop.example.com"}, Images: map[string]string{"user": "reg/user:pr-1"}, TTL: time.Hour, Now: now, Output: out})
	create(t, d, subenv.Options{Name: "pr-2", Base: "sg", Services: []string{"user"}, TTL: 3 * time.Hour, Now: now, Output: out})
	_, vs := routes(t, read(t, d, "sg/_routes/user-svc.yaml"))
	if strings.Join(vs.Spec.Gateways, " ") != "istio-system/public mesh" || strings.Join(vs.Spec.Hosts, " ") != "user-svc shop.example.com" {
		t.Errorf("gateways %v hosts %v", vs.Spec.Gateways, vs.Spec.Hosts)
	}
	if vs.Annotations["expires.subenv.cac.io/pr-1"] != "2026-11-30T13:00:00Z" || vs.Annotations["expires.subenv.cac.io/pr-2"] != "2026-11-30T15:00:00Z" {
		t.Errorf("annotations %v", vs.Annotations)
	}
	if w := string(read(t, d, "sg/pr-1/deploy/app.yaml")); !strings.Contains(w, "image: 'reg/user:pr-1'") || strings.Contains(w, "reg/user:1.2") {
		t.Errorf("the sub-environment runs the base image:\n%s", w)
	}
	l, err := subenv.List(d, "", now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 2 || l[0].Name != "pr-1" || !l[0].Expired || l[1].Expired || strings.Join(l[0].Services, ",") != "user-svc" ||
		strings.Join(l[0].Routes[0].Match, ",") != "x-cac-env: pr-1" || l[0].Routes[0].Gateways[0] != "istio-system/public" {
		t.Errorf("list %+v", l)
	}
	ch, gone, err := subenv.GCEdit(d, "", now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Apply(ch); err != nil {
		t.Fatal(err)
	}
	if strings.Join(gone, ",") != "sg/pr-1" {
		t.Errorf("gc removed %v", gone)
	}
	if l, _ := subenv.List(d, "", now); len(l) != 1 || l[0].Name != "pr-2" {
		t.Errorf("after gc %+v", l)
	}
}

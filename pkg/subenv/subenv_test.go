package subenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/internal/subenvtest"
	"github.com/cacproj/cac/pkg/cacerr"
)

// create plans sub-environment o in the base manifests of out and applies it to the tree d.
func create(t *testing.T, d Dir, o Options) *Report {
	t.Helper()
	p, err := PlanSubenv(o)
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

func read(t *testing.T, d Dir, name string) []byte {
	t.Helper()
	data, err := d.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestImageNeedsTheContainer(t *testing.T) {
	out := subenvtest.Output()
	f, _ := out.Tree.File("sg", "deploy/app.yaml")
	f.Data = bytes.Replace(f.Data, []byte("      - {name: app, image: reg/order:7}"), []byte("      - {name: app, image: reg/order:7}\n      - {name: proxy, image: envoy}"), 1)
	out.Tree.Add("sg", "deploy/app.yaml", f)
	_, err := PlanSubenv(Options{Name: "f", Base: "sg", Services: []string{"order"}, Images: map[string]string{"order": "reg/order:8"}, Output: out})
	if err == nil || err.Error() != "--image order=reg/order:8: Deployment order (deploy/app.yaml): containers app, proxy: none is named order; which one should run the image?" {
		t.Errorf("two containers, none named order: %v", err)
	}
	if _, err := PlanSubenv(Options{Name: "f", Base: "sg", Services: []string{"user"}, Images: map[string]string{"order": "x"}, Output: out}); err == nil ||
		!strings.Contains(err.Error(), "order is not among --services user") {
		t.Errorf("image of another service: %v", err)
	}
}

func TestSubenvRefusals(t *testing.T) {
	out := subenvtest.Output()
	for _, tc := range []struct {
		o   Options
		err string
	}{
		{Options{Name: "feat", Base: "sg", Services: []string{"user", "pay"}, Output: out}, "services not found in "},
		{Options{Name: "base", Base: "sg", Services: []string{"user"}, Output: out}, `sub-environment name "base"`},
		{Options{Name: "Feat_1", Base: "sg", Services: []string{"user"}, Output: out}, `sub-environment name "Feat_1"`},
		{Options{Name: "feat", Base: "eu", Services: []string{"user"}, Output: out}, "no rendered manifests of the base region"},
		{Options{Name: "feat", Base: "sg", Services: []string{"user"}, Weight: 101, Output: out}, "--weight 101"},
		{Options{Name: "feat", Base: "sg", Output: out}, "--services"},
		{Options{Name: "feat", Base: "sg", Services: []string{"user"}, Baggage: "a b", Output: out}, `--baggage "a b"`},
		{Options{Name: "feat", Base: "sg", Services: []string{"user"}, Gateways: []string{"public"}, Output: out}, `--gateway "public"`},
		{Options{Name: "feat", Base: "sg", Services: []string{"user"}, Hosts: []string{"a.example.com"}, Output: out}, "add --gateway"},
	} {
		if _, err := PlanSubenv(tc.o); err == nil || !strings.Contains(err.Error(), tc.err) || cacerr.ExitCode(err) != 2 {
			t.Errorf("%+v: %v", tc.o, err)
		}
	}
}

func TestRouteTableRefusesUnknownFields(t *testing.T) {
	out := subenvtest.Output()
	d := Dir(t.TempDir())
	create(t, d, Options{Name: "a", Base: "sg", Services: []string{"user"}, Output: out})
	file := "sg/_routes/user-svc.yaml"
	data := bytes.Replace(read(t, d, file), []byte("  http:\n"), []byte("  tcp: []\n  http:\n"), 1)
	os.WriteFile(filepath.Join(string(d), file), data, 0o644)
	p, err := PlanSubenv(Options{Name: "b", Base: "sg", Services: []string{"user"}, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Edit(d, ""); err == nil || !strings.Contains(err.Error(), "sg/_routes/user-svc.yaml: VirtualService") || !strings.Contains(err.Error(), "tcp") {
		t.Errorf("a hand-edited field: %v", err)
	}
}

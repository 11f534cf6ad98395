package subenv

import (
	"context"
	"fmt"
	"github.com/cacproj/cac/internal/subenvtest"
	"gopkg.in/yaml.v3"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/internal/golden"
	"github.com/cacproj/cac/pkg/argocd"
	"github.com/cacproj/cac/pkg/gitops"
)

// gitopsRepo serves a GitOps repo (main: a README) from a real git server.
func gitopsRepo(t *testing.T) (GitOps, func(t *testing.T) Reader) {
	t.Helper()
	root := t.TempDir()
	gitfixture.Bare(t, root, "gitops", map[string]map[string]string{"main": {"README.md": "x\n"}}, "main")
	srv, err := gitserver.Start(root, gitserver.Options{Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	regions, err := argocd.ParseRegions("_regions.yaml", []byte("regions:\n  sg: {cluster: https://10.0.0.1:6443, namespace: shop}\n"))
	if err != nil {
		t.Fatal(err)
	}
	g := GitOps{UpdateOptions: gitops.UpdateOptions{RepoURL: srv.RepoURL("gitops.git"), Token: "tok", Message: "test\n", Backoff: time.Millisecond, Retries: 20},
		Argo: argocd.Options{Regions: regions}}
	tip := func(t *testing.T) Reader {
		t.Helper()
		var r Reader
		if _, _, err := g.Commit(context.Background(), func(tip Reader, _ string) (Changes, error) { r = tip; return Changes{}, nil }); err != nil {
			t.Fatal(err)
		}
		return r
	}
	return g, tip
}

func commitCreate(g GitOps, o Options, before func()) (*gitops.UpdateResult, error) {
	p, err := PlanSubenv(o)
	if err != nil {
		return nil, err
	}
	res, _, err := g.Commit(context.Background(), func(tip Reader, root string) (Changes, error) {
		if before != nil {
			before()
			before = nil
		}
		return p.Edit(tip, root)
	})
	return res, err
}

func routeNames(t *testing.T, tip Reader, file string) string {
	t.Helper()
	data, err := tip.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// the route table is a DestinationRule and a VirtualService (test/istio decodes them strictly
	// into Istio's types); the route names are all this test needs
	objs := subenvtest.Docs(data)
	if len(objs) != 2 {
		t.Fatalf("%d objects in %s, want a DestinationRule and a VirtualService", len(objs), file)
	}
	var vs struct {
		Spec struct {
			HTTP []struct{ Name string } `yaml:"http"`
		}
	}
	if err := yaml.Unmarshal(objs[1], &vs); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range vs.Spec.HTTP {
		names = append(names, r.Name)
	}
	return strings.Join(names, " ")
}

func TestGitOpsConcurrentCreatesBothSurvive(t *testing.T) {
	out := subenvtest.Output()
	g, tip := gitopsRepo(t)
	// b is created between a's read of the tip and a's push: a's push is rejected, and a's route
	// table is recomputed from the tip that holds b's route.
	var bErr error
	resA, err := commitCreate(g, Options{Name: "a", Base: "sg", Services: []string{"user"}, Output: out}, func() {
		_, bErr = commitCreate(g, Options{Name: "b", Base: "sg", Services: []string{"user"}, Weight: 20, Output: out}, nil)
	})
	if err != nil || bErr != nil {
		t.Fatal(err, bErr)
	}
	if resA.Attempts != 2 {
		t.Errorf("a pushed in %d attempts, want 2 (one rejected)", resA.Attempts)
	}
	// and some more, really at the same time
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := commitCreate(g, Options{Name: fmt.Sprintf("c%d", i), Base: "sg", Services: []string{"user"}, Output: out}, nil); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r := tip(t)
	if got := routeNames(t, r, "subenv/sg/_routes/user-svc.yaml"); got != "subenv-a subenv-b subenv-c0 subenv-c1 subenv-c2 subenv-c3 base" {
		t.Errorf("routes %s", got)
	}
	for _, name := range []string{"a", "b", "c0", "c3"} {
		if _, err := r.ReadFile("subenv/sg/" + name + "/deploy/app.yaml"); err != nil {
			t.Errorf("%s's workloads: %v", name, err)
		}
	}
	app, err := r.ReadFile("argocd/sg/cac-subenv.yaml")
	if err != nil || !strings.Contains(string(app), "path: subenv/sg\n") || !strings.Contains(string(app), "name: cac-subenv-sg\n") {
		t.Errorf("Argo CD Application %v:\n%s", err, app)
	}
	if _, err := r.ReadFile("README.md"); err != nil {
		t.Error("a file outside subenv/ was lost")
	}
}

func TestGitOpsGCAndDelete(t *testing.T) {
	out := subenvtest.Output()
	g, tip := gitopsRepo(t)
	past := time.Now().Add(-2 * time.Hour)
	for _, o := range []Options{
		{Name: "old", Base: "sg", Services: []string{"user"}, TTL: time.Hour, Now: past, Output: out},
		{Name: "fresh", Base: "sg", Services: []string{"user"}, TTL: 24 * time.Hour, Output: out},
		{Name: "kept", Base: "sg", Services: []string{"user", "order"}, Output: out},
	} {
		if _, err := commitCreate(g, o, nil); err != nil {
			t.Fatal(err)
		}
	}
	var gone []string
	if _, _, err := g.Commit(context.Background(), func(r Reader, root string) (Changes, error) {
		c, names, err := GCEdit(r, root, time.Now())
		gone = names
		return c, err
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(gone, ",") != "sg/old" {
		t.Errorf("gc removed %v", gone)
	}
	r := tip(t)
	if got := routeNames(t, r, "subenv/sg/_routes/user-svc.yaml"); got != "subenv-fresh subenv-kept base" {
		t.Errorf("routes after gc: %s", got)
	}
	if files, _ := r.Files("subenv/sg/old"); len(files) != 0 {
		t.Errorf("gc left %v", files)
	}
	// deleting every sub-environment removes the route tables, the kustomization and the
	// Application, also without the regions file
	g.Argo = argocd.Options{}
	for _, name := range []string{"fresh", "kept"} {
		if _, _, err := g.Commit(context.Background(), func(r Reader, root string) (Changes, error) { return DeleteEdit(r, root, "", name) }); err != nil {
			t.Fatal(err)
		}
	}
	r = tip(t)
	if files, _ := r.Files(""); strings.Join(files, " ") != "README.md" {
		t.Errorf("files left: %v", files)
	}
}

// TestGitOpsApplication: the Argo CD Application a sub-environment commits syncs subenv/<base> into
// the base region's destination; it is the golden file that test/argocd decodes strictly into
// Argo CD's own types.
func TestGitOpsApplication(t *testing.T) {
	g, tip := gitopsRepo(t)
	g.Argo.RepoURL = "https://git.example.com/platform/gitops.git" // the golden file holds no test server port
	if _, err := commitCreate(g, Options{Name: "a", Base: "sg", Services: []string{"user"}, Output: subenvtest.Output()}, nil); err != nil {
		t.Fatal(err)
	}
	app, err := tip(t).ReadFile("argocd/sg/cac-subenv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name: cac-subenv-sg", "path: subenv/sg", "server: https://10.0.0.1:6443", "namespace: shop"} {
		if !strings.Contains(string(app), want) {
			t.Errorf("the Application lacks %q:\n%s", want, app)
		}
	}
	golden.Assert(t, app)
}

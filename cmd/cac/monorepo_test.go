package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/pkg/pipeline"
)

// TestConcurrentServiceBuildsKeepOwnOutput runs `cac build --usn svcNN` for six services of a
// monorepo at once in one checkout, as six pipelines do, against one config repo served from a
// real bare repository. Every run must succeed and each output must hold exactly its own
// service's files: with one shared output dir, builds removed each other's temp dirs and
// replaced each other's output.
func TestConcurrentServiceBuildsKeepOwnOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six builds")
	}
	const services, templates = 6, 40
	regions := []string{"sg", "us"}
	bin := cacBinary(t)
	cfg := map[string]string{}
	var usns []string
	for s := 1; s <= services; s++ {
		usn := fmt.Sprintf("svc%02d", s)
		usns = append(usns, usn)
		for _, r := range regions {
			cfg[usn+"/"+r+".yaml"] = "name: " + usn + "\n"
		}
	}
	root := t.TempDir()
	bare := gitfixture.Bare(t, root, "cfg", map[string]map[string]string{"main": cfg}, "main")
	code := filepath.Join(root, "code")
	for i := 0; i < templates; i++ {
		writeTestFile(t, filepath.Join(code, "conf", fmt.Sprintf("CacRegion_f%02d.ini", i)), "svc=^cac<<name>>\nregion=^cac<<_cac.region>>\n")
	}
	std := filepath.Join(root, "any.yaml")
	writeTestFile(t, std, "$any: true\n")

	var wg sync.WaitGroup
	logs := make([][]byte, services)
	errs := make([]error, services)
	for i, usn := range usns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "-C", code, "build", "--config-repo", bare, "--usn", usn, "--branch", "main", "--standard", std)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + root, "NO_COLOR=1"}
			logs[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i, usn := range usns {
		if errs[i] != nil {
			t.Errorf("build %s: %v\n%s", usn, errs[i], logs[i])
		}
	}
	if t.Failed() {
		return
	}
	for _, usn := range usns {
		out, err := pipeline.ReadOutput(filepath.Join(code, "output", "cac", usn))
		if err != nil {
			t.Fatal(err)
		}
		if out.Report.USN != usn || !slices.Equal(out.Tree.Regions(), regions) {
			t.Fatalf("%s: output of %q with regions %v", usn, out.Report.USN, out.Tree.Regions())
		}
		for _, r := range regions {
			paths := out.Tree.Paths(r)
			if len(paths) != templates {
				t.Fatalf("%s/%s: %d files, want %d", usn, r, len(paths), templates)
			}
			for _, p := range paths {
				f, _ := out.Tree.File(r, p)
				if want := "svc=" + usn + "\nregion=" + r + "\n"; string(f.Data) != want {
					t.Fatalf("%s/%s/%s = %q, want %q", usn, r, p, f.Data, want)
				}
			}
		}
	}
	entries, err := os.ReadDir(filepath.Join(code, "output", "cac"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != strings.Join(usns, ",") {
		t.Fatalf("output/cac holds %s, want one dir per service and no leftovers", got)
	}
}

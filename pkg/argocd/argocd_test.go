package argocd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cacproj/cac/internal/golden"
	"github.com/cacproj/cac/pkg/cacerr"
)

func TestLoadRegionsErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "_regions.yaml")
	if err := os.WriteFile(path, []byte(`regions:
  sg-prod:
    cluster: https://10.0.0.1:6443
    namespace: Shop_NS
    projekt: prod
  us-prod:
    namespace: shop
  bad name!: {cluster: x, namespace: y}
order:
  - [db]
  - [api, db]
  - web
extra: 1
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadRegions(path)
	if !cacerr.Is(err, cacerr.KindFindings) {
		t.Fatalf("err = %v", err)
	}
	golden.Assert(t, []byte(strings.ReplaceAll(err.Error(), filepath.ToSlash(path), "_regions.yaml")+"\n"))
	if _, err := LoadRegions(filepath.Join(dir, "missing.yaml")); !cacerr.Is(err, cacerr.KindUsage) {
		t.Fatalf("missing file: %v", err)
	}
}

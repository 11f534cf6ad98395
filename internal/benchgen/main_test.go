package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cacproj/cac/pkg/placeholder"
	"github.com/cacproj/cac/pkg/values"
)

// TestGenerate checks that every placeholder of every template resolves to a leaf for every
// service and region, and that the gomplate input covers the first service.
func TestGenerate(t *testing.T) {
	out := t.TempDir()
	if err := generate(out, 3, 2); err != nil {
		t.Fatal(err)
	}
	config := os.DirFS(filepath.Join(out, "config"))
	for s := range 3 {
		tpls, err := filepath.Glob(filepath.Join(out, "code", usn(s), "conf", "CacRegion_*"))
		if err != nil || len(tpls) != templates {
			t.Fatalf("%s: %d templates, want %d (%v)", usn(s), len(tpls), templates, err)
		}
		for r := range 2 {
			vals, findings, err := values.Load(config, usn(s), regionName(r))
			if err != nil || len(findings) > 0 {
				t.Fatalf("load %s/%s: %v %v", usn(s), regionName(r), err, findings)
			}
			for _, p := range tpls {
				src, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				tpl, problems := placeholder.Parse(src)
				if len(problems) > 0 || len(tpl.Placeholders) != placeholders {
					t.Fatalf("%s: %d placeholders, problems %v", p, len(tpl.Placeholders), problems)
				}
				for _, ph := range tpl.Placeholders {
					if _, _, err := vals.Leaf(ph.Path); err != nil {
						t.Errorf("%s: %s in %s: %v", p, ph.Path, regionName(r), err)
					}
				}
			}
		}
	}
	for _, p := range []string{"gomplate/templates/conf/file-00.toml", "gomplate/values/region-01.json", "standard.yaml"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Error(err)
		}
	}
}

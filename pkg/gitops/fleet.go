package gitops

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFleet writes the `cac build` output of a synthetic fleet for benchmarks: for each of services
// services, dir/<usn>/ holds regions regions (<region>/deploy/deployment.yaml plus files-1 config
// files) and a cac-report.json. It returns the service names; each service's OutDir is dir/<usn>.
// version varies the content, so publishing a second version changes every service.
func WriteFleet(dir string, services, regions, files int, version string) ([]string, error) {
	var usns []string
	for s := range services {
		usn := fmt.Sprintf("svc%03d", s)
		usns = append(usns, usn)
		out := filepath.Join(dir, usn)
		for r := range regions {
			region := fmt.Sprintf("region%02d", r)
			fs := map[string]string{
				"deploy/deployment.yaml": fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n  template:\n    metadata:\n      labels:\n        version: %q\n", usn, version),
			}
			for f := 1; f < files; f++ {
				fs[fmt.Sprintf("conf/file%d.properties", f)] = fmt.Sprintf("service=%s\nregion=%s\nversion=%s\nendpoint=http://%s.%s.svc:8080\n", usn, region, version, usn, region)
			}
			for p, c := range fs {
				full := filepath.Join(out, region, p)
				if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
					return nil, err
				}
				if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
					return nil, err
				}
			}
		}
		report := fmt.Sprintf(`{"code":{"commit":"%040d"},"config":{"commit":"%040d"}}`, s, s)
		if err := os.WriteFile(filepath.Join(out, "cac-report.json"), []byte(report), 0o644); err != nil {
			return nil, err
		}
	}
	return usns, nil
}

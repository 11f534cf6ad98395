package gitops

import (
	"fmt"
	"path/filepath"

	"github.com/cacproj/cac/pkg/pipeline"
)

// WriteFleet writes the `cac build` output of a synthetic fleet for benchmarks: for each of services
// services, dir/<usn>/ holds regions regions (<region>/deploy/deployment.yaml plus files-1 config
// files) and its build report. It returns the service names; each service's output dir is dir/<usn>.
// version varies the content, so publishing a second version changes every service.
func WriteFleet(dir string, services, regions, files int, version string) ([]string, error) {
	var usns []string
	for s := range services {
		usn := fmt.Sprintf("svc%03d", s)
		usns = append(usns, usn)
		tree := pipeline.Tree{}
		var names []string
		for r := range regions {
			region := fmt.Sprintf("region%02d", r)
			names = append(names, region)
			tree.Add(region, "deploy/deployment.yaml", pipeline.File{Mode: 0o644,
				Data: fmt.Appendf(nil, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\nspec:\n  template:\n    metadata:\n      labels:\n        version: %q\n", usn, version)})
			for f := 1; f < files; f++ {
				tree.Add(region, fmt.Sprintf("conf/file%d.properties", f), pipeline.File{Mode: 0o644,
					Data: fmt.Appendf(nil, "service=%s\nregion=%s\nversion=%s\nendpoint=http://%s.%s.svc:8080\n", usn, region, version, usn, region)})
			}
		}
		rep := &pipeline.Report{USN: usn, Outcome: pipeline.OutcomeSuccess, CodeCommit: fmt.Sprintf("%040d", s), ConfigCommit: fmt.Sprintf("%040d", s),
			Regions: names, Files: tree.FileReports()}
		if err := pipeline.WriteOutput(filepath.Join(dir, usn), &pipeline.Output{Tree: tree, Report: rep}); err != nil {
			return nil, err
		}
	}
	return usns, nil
}

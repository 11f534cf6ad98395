// Package subenvtest is the base region that sub-environment tests start from, shared by the tests
// of pkg/subenv and of the test module test/istio (which decodes the results into Istio's types).
package subenvtest

import (
	"bytes"

	"github.com/cacproj/cac/pkg/pipeline"
)

// BaseManifests are the base region's rendered manifests: user has a Service and the base pod
// label, order has neither.
const BaseManifests = `apiVersion: apps/v1
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

// Output is a build output of region sg holding BaseManifests under deploy/, and a rendered config
// file that is not a manifest (sub-environments ignore it).
func Output() *pipeline.Output {
	tree := pipeline.Tree{}
	tree.Add("sg", "deploy/app.yaml", pipeline.File{Data: []byte(BaseManifests), Mode: 0o644})
	tree.Add("sg", "app.yaml", pipeline.File{Data: []byte("kind: Deployment\nmetadata: {name: user}\n"), Mode: 0o644})
	return &pipeline.Output{Dir: "output/cac", Tree: tree, Report: &pipeline.Report{Outcome: pipeline.OutcomeSuccess, Regions: []string{"sg"}, Files: tree.FileReports()}}
}

// Docs splits a YAML stream as yaml.v3 writes it.
func Docs(data []byte) [][]byte {
	var out [][]byte
	for _, d := range bytes.Split(data, []byte("---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

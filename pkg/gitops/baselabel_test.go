package gitops

import (
	"strings"
	"testing"
)

func TestLabelBasePods(t *testing.T) {
	in := `# the user service
apiVersion: apps/v1
kind: Deployment
metadata:
  name: user
  labels: {app: user}
spec:
  selector:
    matchLabels: {app: user}
  template:
    metadata:
      labels: {app: user}
    spec:
      containers: [{name: user, image: reg/user:1}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  selector: {matchLabels: {app: db}}
  template:
    spec:
      containers: [{name: db, image: mysql}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: user-feat}
spec:
  selector: {matchLabels: {app: user, cac.io/subenv: feat}}
  template:
    metadata: {labels: {app: user, cac.io/subenv: feat}}
---
apiVersion: v1
kind: Service
metadata: {name: user}
spec: {selector: {app: user}}
`
	out, err := labelBasePods([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"# the user service\n",
		"    matchLabels: {app: user}\n",                   // the selector is left alone
		"      labels: {app: user, cac.io/subenv: base}\n", // the pod template is labelled
		"  template:\n    spec:\n      containers: [{name: db, image: mysql}]\n    metadata:\n      labels:\n        cac.io/subenv: base\n",
		"metadata: {labels: {app: user, cac.io/subenv: feat}}", // a set value stays
		"spec: {selector: {app: user}}", // a Service is not a workload
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "cac.io/subenv: base") != 2 {
		t.Errorf("want the label on the two base pod templates only:\n%s", got)
	}
	// a file with nothing to label keeps its bytes
	for _, same := range []string{"kind: Service\nmetadata:   {name: user}\n", "kind: Deployment\nmetadata:   {name: no-template}\n"} {
		if out, err := labelBasePods([]byte(same)); err != nil || string(out) != same {
			t.Errorf("a file with no pod template changed: %q %v", out, err)
		}
	}
	if _, err := labelBasePods([]byte("kind: [")); err == nil {
		t.Error("a broken manifest was accepted")
	}
}

package gitops

import (
	"bytes"
	"errors"
	"io"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/yamlnode"
)

// Base pods carry the label cac.io/subenv: base, so the Istio subset "base" of a sub-environment's
// route table (pkg/subenv) selects them. Publish adds it to the pod template of every Deployment and
// StatefulSet, never to the selector: spec.selector is immutable in Kubernetes, and a selector
// without the label still selects the labelled pods.
const (
	subenvLabel = "cac.io/subenv"
	baseSubset  = "base"
)

// labelBasePods returns a manifest file with the base label added to the pod templates of its
// Deployments and StatefulSets; a file with none to change is returned as it is.
func labelBasePods(data []byte) ([]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []any
	changed := false
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &d)
		if len(d.Content) == 1 && addBaseLabel(d.Content[0]) {
			changed = true
		}
	}
	if !changed {
		return data, nil
	}
	return yamlnode.Marshal(docs...)
}

// addBaseLabel labels the pod template of a Deployment or StatefulSet; it reports a change.
func addBaseLabel(obj *yaml.Node) bool {
	kind := yamlnode.Field(obj, "kind")
	if kind == nil || (kind.Value != "Deployment" && kind.Value != "StatefulSet") {
		return false
	}
	n := yamlnode.Field(yamlnode.Field(obj, "spec"), "template")
	if n == nil || n.Kind != yaml.MappingNode {
		return false // no pod template: nothing to label
	}
	for _, k := range []string{"metadata", "labels"} {
		next := yamlnode.Field(n, k)
		if next == nil || (next.Kind == yaml.ScalarNode && next.Tag == "!!null") {
			if n.Kind != yaml.MappingNode {
				return false
			}
			next = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, next)
		}
		if next.Kind != yaml.MappingNode {
			return false
		}
		n = next
	}
	if v := yamlnode.Field(n, subenvLabel); v != nil {
		return false // a value set on purpose (a sub-environment's own workload) stays
	}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: subenvLabel},
		&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: baseSubset})
	return true
}

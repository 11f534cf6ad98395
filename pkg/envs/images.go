package envs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"
	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/yamlnode"
)

// ReadImages reads what a GitOps repo (URL or path, default branch, shallow in-memory clone)
// publishes for region under envs/<region>/<usn>/: the image of every container (containers and
// initContainers of any manifest; a mapping with name and image), usn → container → image.
// A region with nothing published is a usage error.
func ReadImages(ctx context.Context, repoURL, region string, getenv func(string) string) (map[string]map[string]string, error) {
	rem, err := gitremote.Open(gitremote.GitOpsRepo, repoURL, gitremote.Options{Getenv: getenv})
	if err != nil {
		return nil, err
	}
	repo, err := rem.Clone(ctx, gitremote.CloneOptions{Depth: 1, NoCheckout: true})
	if err != nil {
		return nil, err
	}
	head, err := repo.Head()
	if err != nil {
		return nil, cacerr.Usage("GitOps repo %s: no commit: %w", rem, err)
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, cacerr.Remote(fmt.Errorf("GitOps repo: read %s: %w", head.Hash(), err))
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, cacerr.Remote(fmt.Errorf("GitOps repo: read tree: %w", err))
	}
	prefix := "envs/" + region + "/"
	out := map[string]map[string]string{}
	found := false
	err = tree.Files().ForEach(func(f *object.File) error {
		if !strings.HasPrefix(f.Name, prefix) {
			return nil
		}
		found = true
		rest := strings.TrimPrefix(f.Name, prefix)
		usn, _, ok := strings.Cut(rest, "/")
		if ext := path.Ext(f.Name); !ok || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		return containerImages(f.Name, r, func(name, image string) {
			if out[usn] == nil {
				out[usn] = map[string]string{}
			}
			out[usn][name] = image
		})
	})
	if err != nil {
		return nil, cacerr.Usage("GitOps repo: %w", err)
	}
	if !found {
		return nil, cacerr.Usage("the GitOps repo %s publishes nothing for region %s (no %s)", rem, region, prefix)
	}
	return out, nil
}

// containerImages calls fn for every container (a mapping with scalar name and image under a
// containers or initContainers list) of every document of a YAML stream.
func containerImages(name string, r io.Reader, fn func(container, image string)) error {
	dec := yaml.NewDecoder(r)
	for {
		var d yaml.Node
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		walkContainers(&d, fn)
	}
}

func walkContainers(n *yaml.Node, fn func(string, string)) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			walkContainers(c, fn)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if (k == "containers" || k == "initContainers") && v.Kind == yaml.SequenceNode {
				for _, c := range v.Content {
					name, img := yamlnode.Field(c, "name"), yamlnode.Field(c, "image")
					if name != nil && img != nil && name.Kind == yaml.ScalarNode && img.Kind == yaml.ScalarNode {
						fn(name.Value, img.Value)
					}
				}
				continue
			}
			walkContainers(v, fn)
		}
	}
}

package gitops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
)

// SourceFile, beside the published files of a service in a region (envs/<region>/<usn>/), records
// what they were rendered from (docs/design.md §6). It is no Kubernetes object and the
// kustomization does not list it. `cac publish --affected-since` reads it to re-render a service
// at the code commit it last published when only the config repo changed. It is rewritten only
// with a change of the other files, so a publish that renders the same output stays up to date.
const SourceFile = "cac-source.yaml"

// Source is the content of SourceFile.
type Source struct {
	USN          string `yaml:"usn"`
	Region       string `yaml:"region"`
	CodeBranch   string `yaml:"codeBranch,omitempty"`
	CodeCommit   string `yaml:"codeCommit"`
	ConfigCommit string `yaml:"configCommit"`
}

func (s Source) marshal() ([]byte, error) {
	data, err := yaml.Marshal(s)
	if err != nil {
		return nil, err
	}
	return append([]byte("# written by cac publish: what this directory was rendered from (not a Kubernetes object)\n"), data...), nil
}

// ParseSource reads a SourceFile.
func ParseSource(name string, data []byte) (Source, error) {
	var s Source
	if err := yaml.Unmarshal(data, &s); err != nil {
		return Source{}, cacerr.Usage("%s: %w", name, err)
	}
	if s.CodeCommit == "" {
		return Source{}, cacerr.Usage("%s: no codeCommit", name)
	}
	return s, nil
}

// SourcesOptions say which GitOps repo ReadSources reads.
type SourcesOptions struct {
	RepoURL      string
	Token        string
	Getenv       func(string) string
	Branch       string // default: the remote's default branch
	PathTemplate string // default envs/{region}/{usn}
	Cache        string // as Options.Cache
}

// ReadSources reads, at the tip of the GitOps repo, the SourceFile of each service in each region
// asked for (usn → regions; nil regions: every region directory the tip has for the service, found
// by the path template). The result maps usn → region → Source; a service or region never
// published (or published before SourceFile existed) is absent.
func ReadSources(ctx context.Context, o SourcesOptions, want map[string][]string) (map[string]map[string]Source, error) {
	if o.PathTemplate == "" {
		o.PathTemplate = "envs/{region}/{usn}"
	}
	rem, err := gitremote.Open(gitremote.GitOpsRepo, o.RepoURL, gitremote.Options{Getenv: o.Getenv, Token: o.Token})
	if err != nil {
		return nil, err
	}
	c, err := cloneTip(ctx, rem, o.Branch, o.Cache, nil)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	tip := treeReader{c.tree}
	out := map[string]map[string]Source{}
	for usn, regions := range want {
		if regions == nil {
			if regions, err = publishedRegions(tip, o.PathTemplate, usn); err != nil {
				return nil, err
			}
		}
		for _, region := range regions {
			p := strings.NewReplacer("{region}", region, "{usn}", usn).Replace(o.PathTemplate) + "/" + SourceFile
			data, err := tip.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, cacerr.Usage("GitOps repo %s: read %s: %w", rem, p, err)
			}
			s, err := ParseSource(p, data)
			if err != nil {
				return nil, err
			}
			if out[usn] == nil {
				out[usn] = map[string]Source{}
			}
			out[usn][region] = s
		}
	}
	return out, nil
}

// publishedRegions lists the regions whose directory for usn (by the path template) holds a
// SourceFile: the template's {region} matched against the tip's files.
func publishedRegions(tip treeReader, tmpl, usn string) ([]string, error) {
	withUSN := strings.ReplaceAll(tmpl, "{usn}", usn) + "/" + SourceFile
	before, after, _ := strings.Cut(withUSN, "{region}")
	root := before
	if i := strings.LastIndex(root, "/"); i >= 0 {
		root = root[:i]
	} else {
		root = ""
	}
	files, err := tip.Files(root)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", root, err)
	}
	var regions []string
	for _, f := range files {
		if !strings.HasPrefix(f, before) || !strings.HasSuffix(f, after) || len(f) <= len(before)+len(after) {
			continue
		}
		if r := f[len(before) : len(f)-len(after)]; !strings.Contains(r, "/") {
			regions = append(regions, r)
		}
	}
	return regions, nil
}

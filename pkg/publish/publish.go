// Package publish is `cac publish` as one call (docs/design.md §6): build the service (or take a
// build's output), find each region's secret values, read the Argo CD destinations of
// _regions.yaml, and commit the result to the GitOps repo (pkg/gitops), pushed or proposed in a
// pull/merge request.
package publish

import (
	"context"
	"io"

	"github.com/cacproj/cac/pkg/argocd"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/envs"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/obs"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/standard"
	"github.com/cacproj/cac/pkg/values"
)

// RegionsFile in the config repo maps regions to Argo CD destinations and orders service start-up.
const RegionsFile = "_regions.yaml"

// SecretFinder lists the secret values of a region's values (*standard.Standard does).
type SecretFinder interface {
	Secrets(v *values.Node) []standard.SecretValue
}

// Options configure a publish. GitOps says where and how; Run fills its USN, Output, Regions,
// Secrets, Argo.Regions, PR and Getenv/Stderr, and its Token and PipelineURL when empty.
type Options struct {
	CodeDir    string // the code repo (default ".")
	OutDir     string // the build output dir (default: pipeline's, output/cac/<usn>)
	ConfigRepo string
	USN        string
	Branch     string   // the code branch (default: CI variables, else the checkout)
	CodeCommit string   // the code commit (default: the checkout's HEAD)
	Regions    []string // only these regions (default: all)
	Validator  pipeline.Validator
	Secrets    SecretFinder
	// Output, when set, is published as it is (a build's output, cac publish --no-build): the config
	// repo is still read and validated, for the secret values and _regions.yaml, not rendered.
	Output *pipeline.Output
	// NoWrite renders in memory only: no build output dir is written.
	NoWrite bool
	Fetch   configrepo.Options
	Tool    string // names cac in the build report
	GitOps  gitops.Options
	// OpenPR, github or gitlab, opens a pull/merge request instead of pushing to the branch, on
	// ForgeRepo (default: the CI's repository) through ForgeAPIURL (default: the CI's API URL).
	OpenPR, ForgeRepo, ForgeAPIURL string
	Getenv                         func(string) string
	Stderr                         io.Writer
}

// Result is what a publish did. Findings are the build's: with errors, Run returns them and an
// error (exit 1) before anything is published; warnings come with a publish.
type Result struct {
	Findings []report.Finding
	Publish  *gitops.Result // nil when the build failed
}

// Run builds and publishes. The GitOps token comes from CAC_GITOPS_TOKEN, else the git token
// variables (gitremote.TokenVars), unless GitOps.Token is set.
func Run(ctx context.Context, opt Options) (*Result, error) {
	if opt.Getenv == nil {
		opt.Getenv = func(string) string { return "" }
	}
	if opt.Stderr == nil {
		opt.Stderr = io.Discard
	}
	o := opt.GitOps
	if opt.OpenPR != "" && !o.DryRun {
		pr, err := forge.Opener(opt.OpenPR, opt.ForgeRepo, opt.ForgeAPIURL, opt.Getenv)
		if err != nil {
			return nil, err
		}
		o.PR = pr
	}
	res, err := pipeline.Run(ctx, pipeline.Options{
		CodeDir: opt.CodeDir, OutDir: opt.OutDir, ConfigRepo: opt.ConfigRepo, USN: opt.USN, Branch: opt.Branch, Regions: opt.Regions,
		Validator: opt.Validator, ConfigChecks: []pipeline.ConfigCheck{envs.TodoFindings}, Getenv: opt.Getenv, Stderr: opt.Stderr,
		ManifestsDir: o.ManifestsDir, ReadConfigFiles: []string{RegionsFile}, ValidateOnly: opt.Output != nil,
		Tool: opt.Tool, Fetch: opt.Fetch, CodeCommit: opt.CodeCommit, NoWrite: opt.NoWrite,
	})
	out := &Result{}
	if res != nil {
		out.Findings = res.Findings
	}
	if err != nil {
		return out, err
	}
	o.USN, o.Output, o.Regions = opt.USN, opt.Output, res.Report.Regions
	if o.Output == nil {
		o.Output = &res.Output
	}
	o.Getenv, o.Stderr = opt.Getenv, opt.Stderr
	if o.Token == "" {
		o.Token = gitops.Token(opt.Getenv)
	}
	if o.PipelineURL == "" {
		o.PipelineURL = obs.PipelineURL(opt.Getenv)
	}
	o.Secrets = map[string][]gitops.SecretValue{}
	if opt.Secrets != nil {
		for region, vals := range res.Values {
			for _, s := range opt.Secrets.Secrets(vals) {
				o.Secrets[region] = append(o.Secrets[region], gitops.SecretValue{Path: s.Path, Value: s.Value})
			}
		}
	}
	if data, ok := res.ConfigFiles[RegionsFile]; ok {
		if o.Argo.Regions, err = argocd.ParseRegions(RegionsFile, data); err != nil {
			return out, err
		}
	}
	if out.Publish, err = gitops.Publish(ctx, o); err != nil {
		return out, err
	}
	return out, nil
}

package publish

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"

	"github.com/cacproj/cac/pkg/affected"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/shard"
)

// AffectedOptions configure a config-only publish (cac publish --affected-since, docs/design.md
// §6): Options is every service's publish (ConfigRepo, GitOps, Validator, Secrets, ...; CodeDir,
// OutDir, USN, Branch, Regions and Output are set per service).
type AffectedOptions struct {
	Options
	Since        string     // the config commit the change starts from
	ConfigBranch string     // default: the config repo's default branch
	Shard        shard.Spec // the services of this runner; the zero Spec keeps all
}

// AffectedResult is what a config-only publish did.
type AffectedResult struct {
	Change    *affected.Change
	Published []ServicePublish
	Skipped   []Skip
	Findings  []report.Finding // every service's build findings
}

// ServicePublish is one service's publish: its regions, at the code commit they last published.
type ServicePublish struct {
	USN        string
	Regions    []string
	CodeCommit string
	Result     *Result
}

// Skip is an affected service that was not republished, and why.
type Skip struct {
	USN, Reason string
}

// RunAffected republishes the services whose values changed in the config repo since Since: each
// in the regions it is published in (gitops.SourceFile in the GitOps repo), re-rendered at the
// code commit recorded there from the code repo _services.yaml names (its dir, else the folder
// named like the service, else the repo root), with the config repo's head. A service never
// published, or without a code repo in _services.yaml, is skipped with a warning. Findings of all
// services are returned together; the first failing service stops the run.
func RunAffected(ctx context.Context, o AffectedOptions) (*AffectedResult, error) {
	opt := o.Options
	if opt.Getenv == nil {
		opt.Getenv = func(string) string { return "" }
	}
	stderr := opt.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	if opt.ConfigRepo == "" {
		return nil, cacerr.Usage("no config repo: set --config-repo, CAC_CONFIG_REPO, or config-repo in .cac.yaml")
	}
	ch, err := affected.Analyze(ctx, affected.Options{ConfigRepo: opt.ConfigRepo, Branch: o.ConfigBranch, Since: o.Since, Getenv: opt.Getenv})
	if err != nil {
		return nil, err
	}
	res := &AffectedResult{Change: ch}
	want := map[string][]string{}
	for usn, regions := range ch.Services {
		if o.Shard.Owns(usn) {
			want[usn] = regions
		}
	}
	if len(want) == 0 {
		return res, nil
	}
	g := opt.GitOps
	if g.Token == "" {
		g.Token = gitops.Token(opt.Getenv)
	}
	sources, err := gitops.ReadSources(ctx, gitops.SourcesOptions{RepoURL: g.RepoURL, Token: g.Token, Getenv: opt.Getenv, Branch: g.Branch,
		PathTemplate: g.PathTemplate, Cache: g.Cache}, want)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "cac-affected-")
	if err != nil {
		return nil, cacerr.Usage("temporary dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	clones := map[string]*git.Repository{}
	skip := func(usn, reason string) {
		res.Skipped = append(res.Skipped, Skip{USN: usn, Reason: reason})
		fmt.Fprintf(stderr, "cac: warning: %s: %s, skipped\n", usn, reason)
	}
	for _, usn := range slices.Sorted(maps.Keys(want)) {
		published := sources[usn]
		if len(published) == 0 {
			skip(usn, "never published to the GitOps repo (no "+gitops.SourceFile+")")
			continue
		}
		code, ok := ch.Code[usn]
		if !ok || code.Repo == "" {
			skip(usn, "no code repo for it in the config repo's _services.yaml")
			continue
		}
		// the regions to republish, grouped by the code commit they were published at
		byCommit := map[string][]string{}
		for region, src := range published {
			if slices.Contains(ch.Regions(usn), region) {
				byCommit[src.CodeCommit] = append(byCommit[src.CodeCommit], region)
			}
		}
		for _, commit := range slices.Sorted(maps.Keys(byCommit)) {
			regions := byCommit[commit]
			sort.Strings(regions)
			repo, ok := clones[code.Repo]
			if !ok {
				rem, err := gitremote.Open(gitremote.CodeRepo, code.Repo, gitremote.Options{Getenv: opt.Getenv})
				if err != nil {
					return res, fmt.Errorf("service %s: %w", usn, err)
				}
				if repo, err = rem.Clone(ctx, gitremote.CloneOptions{NoCheckout: true}); err != nil {
					return res, fmt.Errorf("service %s: %w", usn, err)
				}
				clones[code.Repo] = repo
			}
			dir := filepath.Join(tmp, usn+"-"+commit)
			if err := gitremote.WriteCommit(repo, commit, dir); err != nil {
				return res, cacerr.Wrap(cacerr.KindUsage, fmt.Errorf("service %s: code repo %s: %w", usn, gitremote.Redact(code.Repo), err))
			}
			cd, err := affected.CodeDir(dir, usn, code.Dir)
			if err != nil {
				return res, err
			}
			p := opt
			p.CodeDir, p.CodeCommit, p.USN, p.Branch, p.Regions, p.Output, p.OutDir = cd, commit, usn, ch.Branch, regions, nil, ""
			p.NoWrite, p.GitOps.ConfigOnly = true, true
			fmt.Fprintf(stderr, "%s: config %s changed %s; re-rendering at code commit %s\n", usn, short(ch.Head), strings.Join(regions, ", "), short(commit))
			r, err := Run(ctx, p)
			if r != nil {
				res.Findings = append(res.Findings, r.Findings...)
			}
			if err != nil {
				return res, fmt.Errorf("service %s: %w", usn, err)
			}
			res.Published = append(res.Published, ServicePublish{USN: usn, Regions: regions, CodeCommit: commit, Result: r})
		}
	}
	return res, nil
}

func short(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/publish"
)

func newPublishCmd(c *common, e env) *cobra.Command {
	var opt publish.Options
	o := &opt.GitOps
	var out, since, configBranch, shardSpec string
	var noBuild bool
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Commit each region's rendered manifests and config to a GitOps repo that Argo CD syncs",
		Long: `publish renders the service (like cac build; --no-build takes the existing output) and writes,
per region, envs/<region>/<usn>/ in the GitOps repo: the rendered Kubernetes manifests (under
--manifests-dir), a ConfigMap <usn>-config holding the rendered config files, and a kustomization.
A config file that contains a secret value goes into a Secret encrypted with SOPS for the age
recipients (--age-recipient, or .sops.yaml in the GitOps repo), never in plain text; without
recipients, publishing it is refused. Only this service's paths are written; files no longer
rendered are removed; other services' paths are never touched.

With _regions.yaml in the config repo, an Argo CD Application per region is written too
(argocd/<region>/<usn>.yaml), with the cluster, namespace and project of the region and a
sync wave from the service start-up order:

  regions:
    sg-prod: {cluster: https://10.0.0.1:6443, namespace: shop, project: prod}
  order: [[mysql-proxy], [user, cart], [web]]

One commit names the code commit, config commit and pipeline; nothing changed, nothing committed
("up to date"). A push rejected because another pipeline pushed first is re-applied on the new
tip and retried with backoff, so concurrent pipelines never lose an update. The push token comes
from CAC_GITOPS_TOKEN (else CAC_GIT_TOKEN, GITHUB_TOKEN, CI_JOB_TOKEN), never from a flag.

--affected-since REV publishes a change of the config repo alone, in the config repo's pipeline
without any code checkout: the services and regions whose files changed between REV and the tip
of the config branch (<usn>/<region>.yaml: that service there; _global/<region>.yaml: every
service of the region; _regions.yaml: every service; _services.yaml: the services whose entry
changed) are re-rendered at the code commit each last published (cac-source.yaml in its GitOps
directory; the code repo and dir come from _services.yaml) and published, one commit per
service marked "config only". A service never published is skipped with a warning; --shard I/N
keeps runner I's share of the services.`,
		Example: `  # on the default branch, after the build
  cac publish --gitops-repo https://git.example.com/platform/gitops.git --usn user

  # what would change, without pushing
  cac publish --gitops-repo ../gitops --dry-run

  # review-gated promotion: a branch and a pull request instead of a push to main
  cac publish --gitops-repo https://github.com/acme/gitops.git --open-pr github --forge-repo acme/gitops

  # in the config repo's pipeline, no code checkout: republish what its last push changed
  cac publish --affected-since "$CI_COMMIT_BEFORE_SHA" --config-repo "$CI_PROJECT_URL.git" --gitops-repo https://git.example.com/platform/gitops.git`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := opt.GitOps
			if o.RepoURL == "" {
				return cacerr.Usage("set --gitops-repo (or CAC_GITOPS_REPO) to the GitOps repo to publish to")
			}
			if since == "" && (configBranch != "" || shardSpec != "") {
				return cacerr.Usage("--config-branch and --shard go with --affected-since")
			}
			std, err := loadStandard(cmd.Context(), c)
			if err != nil {
				return err
			}
			if since != "" {
				if noBuild || out != "" || c.usn != "" || len(c.regions) > 0 {
					return cacerr.Usage("--affected-since finds the services and regions itself: drop --no-build, --out, --usn and --region")
				}
				spec, err := shardFlag(shardSpec, e)
				if err != nil {
					return err
				}
				opt.ConfigRepo, opt.Validator, opt.Secrets, opt.Getenv, opt.Stderr = c.configRepo, std, std, e.getenv, e.stderr
				opt.Fetch, opt.Tool = configrepo.Options{Budget: budgetOption(c.fetchBudget)}, "cac "+toolVersion()
				return publishAffected(cmd, c, e, publish.AffectedOptions{Options: opt, Since: since, ConfigBranch: configBranch, Shard: spec})
			}
			opt.CodeDir, opt.OutDir, opt.ConfigRepo, opt.USN, opt.Branch, opt.Regions = c.dir, out, c.configRepo, c.usn, c.branch, c.regions
			opt.Validator, opt.Secrets, opt.Getenv, opt.Stderr = std, std, e.getenv, e.stderr
			opt.Fetch, opt.Tool = configrepo.Options{Budget: budgetOption(c.fetchBudget)}, "cac "+toolVersion()
			if noBuild {
				if opt.Output, err = readOutput(c, out); err != nil {
					return err
				}
			}
			res, err := publish.Run(cmd.Context(), opt)
			if res != nil && len(res.Findings) > 0 {
				if perr := printFindings(e, c.format, "cac publish", res.Findings); perr != nil {
					return perr
				}
			}
			if err != nil {
				return err
			}
			printPublish(e, o, c.usn, res.Publish)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.RepoURL, "gitops-repo", "", "the GitOps repo: https/ssh/file `URL` or a local path")
	f.StringVar(&o.Branch, "gitops-branch", "", "branch to push to (default: the GitOps repo's default branch)")
	f.StringVar(&o.PathTemplate, "path-template", "envs/{region}/{usn}", "where a service's files go in the GitOps repo")
	f.StringVar(&o.ManifestsDir, "manifests-dir", "deploy", "rendered `DIR` holding Kubernetes manifests; every other rendered file goes into the ConfigMap")
	f.StringArrayVar(&o.AgeRecipients, "age-recipient", nil, "age public key to encrypt secrets for (repeatable; default: .sops.yaml in the GitOps repo)")
	f.StringVar(&out, "out", "", "the build output `DIR`, relative to the code dir (default output/cac/<usn>, as cac build)")
	f.BoolVar(&noBuild, "no-build", false, "publish the existing output of cac build instead of rendering")
	f.StringVar(&o.Cache, "cache", "", "keep the GitOps repo in `DIR` between publishes, fetched incrementally (one lock per repo, shared safely)")
	f.BoolVar(&o.NoPrune, "no-prune", false, "keep files in the GitOps repo that are no longer rendered")
	f.BoolVar(&o.DryRun, "dry-run", false, "print the diff of what would change; push nothing")
	f.StringVar(&o.PipelineURL, "pipeline-url", "", "pipeline link for the commit message (default: from CI variables)")
	f.StringVar(&o.CommitMessage, "message", "", "an extra paragraph for the commit message")
	f.StringVar(&o.Argo.Namespace, "argocd-namespace", "argocd", "namespace of the Argo CD Application objects")
	f.StringVar(&o.Argo.RepoURL, "argocd-repo-url", "", "repo URL Argo CD reads, when it differs from --gitops-repo")
	f.StringVar(&o.Argo.DestNamespace, "namespace", "", "destination namespace of the Applications without _regions.yaml (default: the service's name)")
	f.BoolVar(&o.Argo.ManualSync, "manual-sync", false, "no automated sync in the Applications")
	f.BoolVar(&o.Argo.NoPrune, "no-prune-sync", false, "automated sync without prune")
	f.BoolVar(&o.Argo.NoSelfHeal, "no-self-heal", false, "automated sync without self-heal")
	f.StringVar(&opt.OpenPR, "open-pr", "", "push a branch and open a pull/merge request instead: github or gitlab")
	f.StringVar(&opt.ForgeRepo, "forge-repo", "", "the GitOps repo on the forge: GitHub owner/name or GitLab project (for --open-pr)")
	f.StringVar(&opt.ForgeAPIURL, "forge-api-url", "", "forge API `URL` (for --open-pr; default: GITHUB_API_URL or CI_API_V4_URL)")
	f.StringVar(&since, "affected-since", "", "publish what the config repo changed since `REV` (its previous tip), re-rendered at each service's last published code commit")
	f.StringVar(&configBranch, "config-branch", "", "with --affected-since: the config repo's branch (default: its default branch)")
	f.StringVar(&shardSpec, "shard", "", "with --affected-since: only runner `I/N`'s share of the services (default: CI_NODE_INDEX/CI_NODE_TOTAL when set)")
	aliasFlag(cmd, e, "forge-api", "forge-api-url")
	return cmd
}

// printPublish prints one service's publish: the files changed on stdout, the outcome on stderr.
func printPublish(e env, o gitops.Options, usn string, pub *gitops.Result) {
	switch {
	case o.DryRun:
		fmt.Fprint(e.stdout, pub.Diff)
		fmt.Fprintf(e.stderr, "dry run: %s would change in %s\n", count(len(pub.Changes), "file"), o.RepoURL)
	case pub.UpToDate:
		fmt.Fprintf(e.stderr, "up to date: %s in %s already matches the rendered output\n", serviceName(usn), gitremote.Redact(o.RepoURL))
	default:
		for _, ch := range pub.Changes {
			fmt.Fprintf(e.stdout, "%-6s %s\n", ch.Op, ch.Path)
		}
		fmt.Fprintf(e.stderr, "published %s to %s branch %s: commit %s (%s)\n", count(len(pub.Changes), "file"),
			gitremote.Redact(o.RepoURL), pub.Branch, short(pub.Commit), count(pub.Attempts, "push attempt"))
		if pub.PRURL != "" {
			fmt.Fprintf(e.stderr, "opened %s\n", pub.PRURL)
		}
	}
}

// publishAffected is cac publish --affected-since: a config-only publish of each affected service.
func publishAffected(cmd *cobra.Command, c *common, e env, o publish.AffectedOptions) error {
	res, err := publish.RunAffected(cmd.Context(), o)
	if res != nil && len(res.Findings) > 0 {
		if perr := printFindings(e, c.format, "cac publish", res.Findings); perr != nil {
			return perr
		}
	}
	if res != nil {
		for _, p := range res.Published {
			printPublish(e, o.GitOps, p.USN, p.Result.Publish)
		}
	}
	if err != nil {
		return err
	}
	ch, upToDate := res.Change, 0
	for _, p := range res.Published {
		if p.Result.Publish.UpToDate {
			upToDate++
		}
	}
	fmt.Fprintf(e.stderr, "config %s..%s: %s changed, %s affected: %d republished, %d up to date, %d skipped\n", short(ch.Since), short(ch.Head),
		count(len(ch.Files), "file"), count(len(ch.Services), "service"), len(res.Published)-upToDate, upToDate, len(res.Skipped))
	return nil
}

package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/publish"
)

func newPublishCmd(c *common, e env) *cobra.Command {
	var opt publish.Options
	o := &opt.GitOps
	var out string
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
from CAC_GITOPS_TOKEN (else CAC_GIT_TOKEN, GITHUB_TOKEN, CI_JOB_TOKEN), never from a flag.`,
		Example: `  # on the default branch, after the build
  cac publish --gitops-repo https://git.example.com/platform/gitops.git --usn user

  # what would change, without pushing
  cac publish --gitops-repo ../gitops --dry-run

  # review-gated promotion: a branch and a pull request instead of a push to main
  cac publish --gitops-repo https://github.com/acme/gitops.git --open-pr github --forge-repo acme/gitops`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o := opt.GitOps
			if o.RepoURL == "" {
				return cacerr.Usage("set --gitops-repo (or CAC_GITOPS_REPO) to the GitOps repo to publish to")
			}
			std, err := loadStandard(cmd.Context(), c)
			if err != nil {
				return err
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
			pub := res.Publish
			switch {
			case o.DryRun:
				fmt.Fprint(e.stdout, pub.Diff)
				fmt.Fprintf(e.stderr, "dry run: %s would change in %s\n", count(len(pub.Changes), "file"), o.RepoURL)
			case pub.UpToDate:
				fmt.Fprintf(e.stderr, "up to date: %s in %s already matches the rendered output\n", serviceName(c.usn), gitremote.Redact(o.RepoURL))
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
	aliasFlag(cmd, e, "forge-api", "forge-api-url")
	return cmd
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/diff"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/report"
	"github.com/cacproj/cac/pkg/review"
)

func newDiffCmd(c *common, e env) *cobra.Command {
	var base, codeRepo, post, targetURL string
	var gitopsRepo, gitopsBranch, pathTemplate string
	var exitCode, affectedOnly bool
	var contextLines, maxParts int
	var over forge.Target
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "Show the diff of the rendered config between base and head; post it on the MR/PR",
		Long: `diff renders the base (code@base + config@base) and the head (code@head + config@head), each
with the config repo at the branch named like the code branch (falling back to its default branch),
and prints a summary table and a unified diff per region and file. Code revisions are read from
git objects, not from the working tree. Secret values show only as changed or unchanged.

It works from either repo's pipeline: in the code repo, -C is the checkout; in the config repo,
--code-repo names the code side and the config repo's branches are the base and head.

--affected, in the config repo's merge request, needs no code side: it diffs every service the
config change from base to head affects, each rendered with its code (the repo and dir
_services.yaml names) at the commit it last published (cac-source.yaml in --gitops-repo), else at
its code repo's default branch. --post keeps one comment per service and sets one status.

--post keeps one comment per service on the merge request up to date (edited in place, split
into parts when longer than the forge allows, never silently cut) and sets the commit status
cac/diff (error, with the reason, when the review cannot run). The token comes from GITHUB_TOKEN, or GITLAB_TOKEN / CI_JOB_TOKEN, never from a flag.

--format is text (coloured on a terminal), markdown or json. The exit code is 0 whether or not
anything changed; --exit-code makes a change exit 1, like git diff.`,
		Example: `  # in a GitHub pull request (base and head from GITHUB_BASE_REF / GITHUB_HEAD_REF)
  cac diff --config-repo https://github.com/acme/config.git --usn user --post github

  # locally: what would my branch change, compared with main?
  cac diff --base main --config-repo ../config --usn user

  # in the config repo's merge request pipeline
  cac diff --code-repo https://gitlab.example.com/shop/user.git --config-repo "$CI_REPOSITORY_URL" --usn user --post gitlab

  # in the config repo's merge request: every affected service, at its published code
  cac diff --affected --config-repo "$CI_PROJECT_URL.git" --gitops-repo https://gitlab.example.com/platform/gitops.git --post gitlab`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch c.format {
			case "text", "markdown", "json":
			default:
				return cacerr.Usage("cac diff --format takes text, markdown or json, not %q", c.format)
			}
			var target forge.Target
			if post != "" {
				t, err := forge.FromEnv(post, e.getenv, over)
				if err != nil {
					return err
				}
				target = t
			}
			std, err := loadStandard(cmd.Context(), c)
			if err != nil {
				return err
			}
			bot := &review.Bot{
				ConfigRepo: c.configRepo, USN: c.usn, Regions: c.regions, Getenv: e.getenv, Stderr: e.stderr, Context: contextLines,
				Standard: func(context.Context) (pipeline.Validator, review.SecretFinder, error) { return std, std, nil },
				Post:     review.PostOptions{MaxParts: maxParts, TargetURL: targetURL},
			}
			if affectedOnly {
				if codeRepo != "" || c.usn != "" {
					return cacerr.Usage("cac diff --affected finds the services itself, with their code repos from _services.yaml: drop --code-repo and --usn")
				}
				return diffAffected(cmd.Context(), e, bot, review.AffectedJob{Base: base, Head: c.branch, Target: target,
					GitOps: gitops.SourcesOptions{RepoURL: gitopsRepo, Branch: gitopsBranch, PathTemplate: pathTemplate, Getenv: e.getenv}},
					c.format, maxParts, exitCode)
			}
			out, err := bot.Run(cmd.Context(), review.Job{CodeDir: c.dir, CodeRepo: codeRepo, Base: base, Head: c.branch, Target: target})
			res := out.Result
			if perr := printReview(e, c.format, out, maxParts); perr != nil {
				return perr
			}
			if err != nil {
				return err
			}
			if exitCode && res.Diff.Changed() {
				return cacerr.Wrap(cacerr.KindFindings, errQuiet)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&base, "base", "", "base branch (default: GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME, else the default branch)")
	fl.StringVar(&codeRepo, "code-repo", "", "the code repo `URL`, when running in the config repo's pipeline")
	fl.StringVar(&post, "post", "", "post the diff on the merge request: github, gitlab or auto")
	fl.BoolVar(&exitCode, "exit-code", false, "exit 1 when the rendered config changed")
	fl.BoolVar(&affectedOnly, "affected", false, "in the config repo's pipeline: diff every service the config change from base to head affects, at its published code")
	fl.StringVar(&gitopsRepo, "gitops-repo", "", "with --affected: the GitOps repo `URL` whose cac-source.yaml gives each service's code commit (default: the code repo's default branch)")
	fl.StringVar(&gitopsBranch, "gitops-branch", "", "with --affected: the GitOps repo's branch (default: its default branch)")
	fl.StringVar(&pathTemplate, "path-template", "envs/{region}/{usn}", "with --affected: where a service's files are in the GitOps repo")
	fl.IntVar(&contextLines, "context", 3, "lines of context around each change")
	fl.IntVar(&maxParts, "max-parts", 10, "most comment parts a long diff is split into")
	fl.StringVar(&over.Repo, "repo", "", "GitHub repository owner/name (default: GITHUB_REPOSITORY)")
	fl.Int64Var(&over.Number, "pr", 0, "pull/merge request number (default: from the CI event)")
	fl.StringVar(&over.Project, "project", "", "GitLab project ID or path (default: CI_PROJECT_ID)")
	fl.StringVar(&over.APIURL, "forge-api-url", "", "forge API base `URL` (default: GITHUB_API_URL or CI_API_V4_URL)")
	fl.StringVar(&over.SHA, "sha", "", "head commit for the status (default: from the CI event)")
	fl.StringVar(&targetURL, "target-url", "", "link of the commit status, e.g. the CI job URL")
	aliasFlag(cmd, e, "api-url", "forge-api-url")
	return cmd
}

// printReview prints one service's review: the head's findings when it does not build, else its
// diff, and what was posted.
func printReview(e env, format string, out *review.Outcome, maxParts int) error {
	res := out.Result
	if res != nil && len(res.Findings) > 0 {
		f := format
		if f == "markdown" {
			f = "text"
		}
		if err := printFindings(e, f, "cac diff", res.Findings); err != nil {
			return err
		}
	}
	if res != nil && res.Diff != nil {
		if err := writeDiff(e, format, out.USN, res.Diff, maxParts); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "diff %s: base %s (code %s, config %s) → head %s (code %s, config %s): %s\n", serviceName(out.USN),
			res.Base.Name, short(res.Base.CodeCommit), res.Base.ConfigBranch, res.Head.Name, short(res.Head.CodeCommit), res.Head.ConfigBranch, res.Diff.Summary())
	}
	if up := out.Posted; up != nil {
		fmt.Fprintf(e.stderr, "posted to %s: %d created, %d updated, %d unchanged, %d deleted comments\n",
			out.Target.Kind, len(up.Created), len(up.Updated), len(up.Unchanged), len(up.Deleted))
	}
	return nil
}

// diffAffected is cac diff --affected: the review of every service a config change affects.
func diffAffected(ctx context.Context, e env, bot *review.Bot, job review.AffectedJob, format string, maxParts int, exitCode bool) error {
	out, err := bot.RunAffected(ctx, job)
	changed := false
	if out != nil && format == "json" {
		if perr := writeAffectedJSON(e, out); perr != nil {
			return perr
		}
		for _, o := range out.Reviews {
			changed = changed || o.Diff != nil && o.Diff.Changed()
		}
	} else if out != nil {
		for i, o := range out.Reviews {
			if format == "text" { // markdown names the service itself
				if i > 0 {
					fmt.Fprintln(e.stdout)
				}
				fmt.Fprintf(e.stdout, "service %s\n\n", o.USN)
			}
			if perr := printReview(e, format, o, maxParts); perr != nil {
				return perr
			}
			changed = changed || o.Diff != nil && o.Diff.Changed()
		}
		for _, s := range out.Skipped {
			fmt.Fprintf(e.stderr, "%s: not reviewed: %s\n", s.USN, s.Reason)
		}
		if out.Statused {
			fmt.Fprintf(e.stderr, "status %s set on %s\n", review.StatusContext, short(job.Target.SHA))
		}
	}
	if err != nil {
		return err
	}
	if exitCode && changed {
		return cacerr.Wrap(cacerr.KindFindings, errQuiet)
	}
	return nil
}

// writeAffectedJSON writes cac diff --affected --format json: one document with every service.
func writeAffectedJSON(e env, out *review.AffectedOutcome) error {
	type service struct {
		USN      string           `json:"usn"`
		Changed  bool             `json:"changed"`
		Base     review.Side      `json:"base"`
		Head     review.Side      `json:"head"`
		Diff     *diff.Result     `json:"diff,omitempty"`
		Findings []report.Finding `json:"findings,omitempty"`
	}
	doc := struct {
		Base     string        `json:"base"`
		Head     string        `json:"head"`
		Services []service     `json:"services"`
		Skipped  []review.Skip `json:"skipped,omitempty"`
	}{Base: out.Base, Head: out.Head, Services: []service{}, Skipped: out.Skipped}
	for _, o := range out.Reviews {
		doc.Services = append(doc.Services, service{USN: o.USN, Changed: o.Diff != nil && o.Diff.Changed(),
			Base: o.Result.Base, Head: o.Result.Head, Diff: o.Diff, Findings: o.Findings})
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func writeDiff(e env, format, usn string, r *diff.Result, maxParts int) error {
	switch format {
	case "json":
		return diff.WriteJSON(e.stdout, r)
	case "markdown":
		for i, p := range diff.Markdown(r, diff.MarkdownOptions{USN: usn, MarkerLine: func(n int) string { return forge.MarkerLine(forge.Marker(usn), n) }, MaxParts: maxParts}) {
			if i > 0 {
				fmt.Fprintln(e.stdout)
			}
			fmt.Fprint(e.stdout, p)
		}
		return nil
	}
	color := false
	if f, ok := e.stdout.(*os.File); ok {
		color = colorOn(f, e.getenv)
	}
	if err := diff.WriteSummary(e.stdout, r); err != nil { // git apply skips text before the first ---
		return err
	}
	return diff.WriteText(e.stdout, r, color)
}

package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configmerge"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/obs"
)

// ConfigStatusContext is the commit status `cac config check --post` sets on the code MR.
const ConfigStatusContext = "cac/config"

func newConfigCmd(c *common, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work on the config repo's branches: merge a config branch with its code, check that it merges",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newConfigMergeCmd(c, e), newConfigCheckCmd(c, e))
	return cmd
}

func openConfigRepo(c *common, e env) (*gitremote.Remote, error) {
	if c.configRepo == "" {
		return nil, cacerr.Usage("set --config-repo (or CAC_CONFIG_REPO, or config-repo in .cac.yaml) to the config repo")
	}
	return gitremote.Open(gitremote.ConfigRepo, c.configRepo, gitremote.Options{Getenv: e.getenv,
		Policy: gitremote.Policy{Budget: budgetOption(c.fetchBudget)}})
}

func newConfigMergeCmd(c *common, e env) *cobra.Command {
	var o configmerge.Options
	var fromMR bool
	var sha, project string
	cmd := &cobra.Command{
		Use:   "merge [BRANCH]",
		Short: "Merge the config branch named like a merged code branch into the config repo's default branch",
		Long: `merge merges BRANCH of the config repo into its default branch, once the code branch of the same
name has merged: without it, the default-branch build renders without the config change the merge
request reviewed. It fast-forwards when it can, else writes a merge commit with both tips as
parents ("Merge config branch 'feature-x' (abc1234) into main (def5678)", with Cac-Code-Commit and
Cac-Pipeline trailers). Files changed on both sides merge line by line when the changes do not
overlap; overlapping changes, a file deleted on one side and changed on the other, and the like
are conflicts: nothing is merged or pushed, each conflicting file is listed, and the exit code
is 1. The push holds a lease on the default branch; when another push moved it, the merge is
redone on the new tip.

A missing BRANCH is "nothing to merge" and a branch already in the default branch "already
merged"; both exit 0. --from-merge-request finds BRANCH through the GitLab API: the source branch
of the merge request that CI_COMMIT_SHA (or --sha) merged.`,
		Example: `  # GitHub, on pull_request closed with merged == true
  cac config merge "$HEAD_REF" --delete-branch --code-commit "$MERGE_SHA"

  # GitLab, in the default-branch pipeline
  cac config merge --from-merge-request --delete-branch

  # what would happen
  cac config merge feature-x --dry-run`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case fromMR && len(args) == 1:
				return usageError{cmd: "config merge", err: cacerr.Usage("give BRANCH or --from-merge-request, not both")}
			case !fromMR && len(args) == 0:
				return usageError{cmd: "config merge", err: cacerr.Usage("give the config BRANCH to merge, or --from-merge-request")}
			}
			rem, err := openConfigRepo(c, e)
			if err != nil {
				return err
			}
			sha = firstOf(sha, e.getenv("CI_COMMIT_SHA"))
			if fromMR {
				mr, ok, err := mergedRequest(cmd.Context(), e, project, sha)
				if err != nil {
					return err
				}
				if !ok {
					fmt.Fprintf(e.stderr, "nothing to merge: commit %s merged no merge request\n", short(sha))
					return nil
				}
				args = []string{mr.SourceBranch}
				fmt.Fprintf(e.stderr, "commit %s merged merge request !%d from branch %s\n", short(sha), mr.IID, mr.SourceBranch)
			}
			o.Remote, o.Branch, o.Stderr = rem, args[0], e.stderr
			o.CodeCommit = firstOf(o.CodeCommit, sha)
			o.PipelineURL = firstOf(o.PipelineURL, obs.PipelineURL(e.getenv))
			res, err := configmerge.Merge(cmd.Context(), o)
			if err != nil {
				return err
			}
			return reportMerge(c, e, res)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.DeleteBranch, "delete-branch", false, "delete BRANCH on the config repo once merged (in the same push)")
	f.BoolVar(&o.DryRun, "dry-run", false, "say what would happen; push nothing")
	f.BoolVar(&fromMR, "from-merge-request", false, "GitLab: merge the source branch of the merge request that --sha merged")
	f.StringVar(&sha, "sha", "", "the code repo's merge commit (default: CI_COMMIT_SHA)")
	f.StringVar(&project, "project", "", "GitLab project ID or group/name for --from-merge-request (default: CI_PROJECT_ID)")
	f.StringVar(&o.CodeCommit, "code-commit", "", "code commit for the Cac-Code-Commit trailer (default: --sha)")
	f.StringVar(&o.PipelineURL, "pipeline-url", "", "pipeline link for the Cac-Pipeline trailer (default: from CI variables)")
	return cmd
}

// mergedRequest finds, through the GitLab API, the merge request that sha merged.
func mergedRequest(ctx context.Context, e env, project, sha string) (forge.MergedRequest, bool, error) {
	if sha == "" {
		return forge.MergedRequest{}, false, cacerr.Usage("--from-merge-request needs the merge commit: set CI_COMMIT_SHA or pass --sha")
	}
	t := forge.Target{Kind: forge.GitLabKind, APIURL: firstOf(e.getenv("CI_API_V4_URL"), forge.GitLabAPI),
		Token: forge.Token(e.getenv("GITLAB_TOKEN")), Project: firstOf(project, e.getenv("CI_PROJECT_ID"))}
	if t.Token == "" {
		t.Token, t.JobToken = forge.Token(e.getenv("CI_JOB_TOKEN")), true
	}
	if t.Token == "" {
		return forge.MergedRequest{}, false, cacerr.Usage("--from-merge-request needs GITLAB_TOKEN (or CI_JOB_TOKEN)")
	}
	g, err := forge.NewGitLab(t, nil)
	if err != nil {
		return forge.MergedRequest{}, false, err
	}
	return g.MergedBy(ctx, sha)
}

func newConfigCheckCmd(c *common, e env) *cobra.Command {
	var post string
	var over forge.Target
	cmd := &cobra.Command{
		Use:   "check [BRANCH]",
		Short: "Tell whether the config branch named like the code branch merges cleanly; set the cac/config status",
		Long: `check merges BRANCH (default: the code branch, from --branch, CI variables or the checkout) into
the config repo's default branch in memory, the way cac config merge will once the code merges, and
pushes nothing. A branch that merges, is already merged or does not exist passes; a conflict lists
the conflicting files and exits 1. With --post it sets the cac/config commit status on the code
merge request: success ("merges cleanly", "no config branch") or failure naming the conflicting
files.`,
		Example: `  # in a merge request pipeline
  cac config check --post auto`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var branch string
			if len(args) == 1 {
				branch = args[0]
			} else {
				b, _, err := configrepo.ResolveBranch(c.branch, e.getenv, c.dir)
				if err != nil {
					return cacerr.Usage("code branch: %w", err)
				}
				if branch = b; branch == "" {
					return usageError{cmd: "config check", err: cacerr.Usage("no code branch: give BRANCH, --branch or run in a merge request pipeline")}
				}
			}
			var setter forge.StatusSetter
			var target forge.Target
			if post != "" {
				t, err := forge.FromEnv(post, e.getenv, over)
				if err != nil {
					return err
				}
				f, err := forge.Open(t, nil)
				if err != nil {
					return err
				}
				setter, target = f, t
			}
			rem, err := openConfigRepo(c, e)
			if err != nil {
				return err
			}
			res, err := configmerge.Merge(cmd.Context(), configmerge.Options{Remote: rem, Branch: branch, DryRun: true})
			if err != nil {
				if setter != nil {
					if perr := setter.SetStatus(cmd.Context(), target.SHA, forge.StateError, ConfigStatusContext,
						"cac config check failed: "+gitremote.Describe(err), obs.PipelineURL(e.getenv)); perr != nil {
						fmt.Fprintf(e.stderr, "cac: could not set the %s status: %v\n", ConfigStatusContext, perr)
					}
				}
				return err
			}
			if setter != nil {
				state, desc := checkStatus(res)
				if err := setter.SetStatus(cmd.Context(), target.SHA, state, ConfigStatusContext, desc, obs.PipelineURL(e.getenv)); err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "set %s on %s: %s (%s)\n", ConfigStatusContext, short(target.SHA), state, desc)
			}
			return reportMerge(c, e, res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&post, "post", "", "set the cac/config commit status on the merge request: github, gitlab or auto")
	f.StringVar(&over.Repo, "repo", "", "GitHub owner/name (default: GITHUB_REPOSITORY)")
	f.StringVar(&over.Project, "project", "", "GitLab project ID or group/name (default: CI_PROJECT_ID)")
	f.Int64Var(&over.Number, "pr", 0, "pull/merge request number (default: from the CI event)")
	f.StringVar(&over.APIURL, "forge-api-url", "", "forge API `URL` (default: GITHUB_API_URL or CI_API_V4_URL)")
	f.StringVar(&over.SHA, "sha", "", "head commit for the status (default: from the CI event)")
	return cmd
}

// checkStatus is the cac/config status for a check's result.
func checkStatus(res *configmerge.Result) (forge.State, string) {
	switch res.Outcome {
	case configmerge.NothingToMerge:
		return forge.StateSuccess, "no config branch " + res.Branch
	case configmerge.AlreadyMerged:
		return forge.StateSuccess, "config branch " + res.Branch + " is already merged into " + res.DefaultBranch
	case configmerge.Conflicted:
		paths := make([]string, len(res.Conflicts))
		for i, c := range res.Conflicts {
			paths[i] = c.Path
		}
		return forge.StateFailure, fmt.Sprintf("config branch %s conflicts with %s: %s", res.Branch, res.DefaultBranch, strings.Join(paths, ", "))
	}
	return forge.StateSuccess, "config branch " + res.Branch + " merges cleanly into " + res.DefaultBranch
}

// reportMerge prints what happened (stderr; --format json: the result on stdout) and makes a
// conflict exit 1.
func reportMerge(c *common, e env, res *configmerge.Result) error {
	if err := res.WriteText(e.stderr); err != nil {
		return err
	}
	if c.format == "json" {
		if err := res.WriteJSON(e.stdout); err != nil {
			return err
		}
	}
	if res.Outcome == configmerge.Conflicted {
		what := "files in conflict"
		if len(res.Conflicts) == 1 {
			what = "file in conflict"
		}
		return cacerr.Findings(len(res.Conflicts), what)
	}
	return nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

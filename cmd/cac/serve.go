package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/review"
	"github.com/cacproj/cac/pkg/serve"
)

// serveFlags are cac serve's own flags.
type serveFlags struct {
	listen     string
	githubAPI  string
	gitlabAPI  string
	maxRuns    int
	runTimeout time.Duration
	grace      time.Duration
	maxParts   int
}

func newServeCmd(c *common, e env) *cobra.Command {
	var sf serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the merge-request bot as a webhook server (GitHub and GitLab)",
		Long: `serve receives GitHub pull_request webhooks (opened, synchronize, reopened) and GitLab Merge
Request Hooks (open, update with new commits, reopen) on POST /webhook and does what cac diff --post
does: it fetches the base and head branches of the code, renders base and head, keeps one
comment per service on the merge request up to date and sets the cac/diff commit status. GET /healthz answers 200 with counters.

Deliveries are verified: GitHub's X-Hub-Signature-256 (HMAC-SHA256 with CAC_WEBHOOK_SECRET) and
GitLab's X-Gitlab-Token (CAC_GITLAB_WEBHOOK_TOKEN); anything else gets 401 and is not processed.
Forge API tokens come from GITHUB_TOKEN and GITLAB_TOKEN, and also clone the code and config repos.
Secrets are read from the environment only, never from flags.

Runs for one merge request never overlap: a newer head commit cancels the run in progress and
replaces any run waiting. A repeated delivery id is ignored. On SIGTERM the server stops taking
deliveries and waits up to --shutdown-grace for the runs in progress.

The config repo and USN come from the code repo's .cac.yaml (config-repo, usn) at the head, else
from --config-repo and --usn; --standard and --registry apply to every repo.`,
		Example: `  CAC_WEBHOOK_SECRET=... GITHUB_TOKEN=... cac serve --listen :8080
  CAC_GITLAB_WEBHOOK_TOKEN=... GITLAB_TOKEN=... cac serve --gitlab-api-url https://gitlab.example.com/api/v4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := newServeServer(cmd.Context(), cmd.Root(), c, e, sf)
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", sf.listen)
			if err != nil {
				return cacerr.Usage("--listen: %w", err)
			}
			fmt.Fprintf(e.stderr, "cac serve: listening on %s (POST /webhook, GET /healthz)\n", l.Addr())
			if err := s.Serve(cmd.Context(), l, sf.grace); err != nil {
				return cacerr.Wrap(cacerr.KindUsage, err)
			}
			fmt.Fprintln(e.stderr, "cac serve: stopped")
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&sf.listen, "listen", ":8080", "`ADDR` to listen on, host:port")
	fl.StringVar(&sf.githubAPI, "github-api-url", forge.GitHubAPI, "GitHub API `URL` (GitHub Enterprise: https://HOST/api/v3)")
	fl.StringVar(&sf.gitlabAPI, "gitlab-api-url", forge.GitLabAPI, "GitLab API `URL` (self-managed: https://HOST/api/v4)")
	fl.IntVar(&sf.maxRuns, "max-runs", 4, "most runs at once, across merge requests")
	fl.DurationVar(&sf.runTimeout, "run-timeout", 15*time.Minute, "longest a run may take")
	fl.DurationVar(&sf.grace, "shutdown-grace", 2*time.Minute, "how long a shutdown waits for runs in progress")
	fl.IntVar(&sf.maxParts, "max-parts", 10, "most comment parts a long diff is split into")
	return cmd
}

// newServeServer checks the secrets and tokens and builds the server with the review runner.
func newServeServer(ctx context.Context, root *cobra.Command, c *common, e env, sf serveFlags) (*serve.Server, error) {
	ghSecret, glToken := e.getenv("CAC_WEBHOOK_SECRET"), e.getenv("CAC_GITLAB_WEBHOOK_TOKEN")
	if ghSecret == "" && glToken == "" {
		return nil, cacerr.Usage("no webhook secret: set CAC_WEBHOOK_SECRET (GitHub) and/or CAC_GITLAB_WEBHOOK_TOKEN (GitLab)")
	}
	if ghSecret != "" && e.getenv("GITHUB_TOKEN") == "" {
		return nil, cacerr.Usage("CAC_WEBHOOK_SECRET is set but GITHUB_TOKEN is not: the bot needs it to comment and clone")
	}
	if glToken != "" && e.getenv("GITLAB_TOKEN") == "" {
		return nil, cacerr.Usage("CAC_GITLAB_WEBHOOK_TOKEN is set but GITLAB_TOKEN is not: the bot needs it to comment and clone")
	}
	// Fail at start on a standard that does not load; each run reads it again (a conditional
	// request, cheap when unchanged), so a changed standard applies without a restart.
	if _, _, err := loadStandard(ctx, c); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	r := &reviewRunner{root: root, c: *c, e: e, sf: sf, log: log}
	return serve.New(serve.Options{
		Runner: r, GitHubSecret: []byte(ghSecret), GitLabToken: glToken,
		MaxRuns: sf.maxRuns, RunTimeout: sf.runTimeout, Log: log,
	})
}

// reviewRunner does one job: fetch the head (settings, tip), read the standard, review.Run,
// review.Post.
type reviewRunner struct {
	root *cobra.Command
	c    common
	e    env
	sf   serveFlags
	log  *slog.Logger
}

// loadStandard reads --standard and --registry: the validator and the secret finder of a run.
func loadStandard(ctx context.Context, c *common) (pipeline.Validator, review.SecretFinder, error) {
	v, err := loadValidator(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	return v, v.(stdValidator).std, nil
}

// getenv is the environment a job's git fetches see: the forge's token is the git token.
func (r *reviewRunner) getenv(job serve.Job) func(string) string {
	return func(k string) string {
		if k == "CAC_GIT_TOKEN" {
			if v := r.e.getenv(k); v != "" {
				return v
			}
			if job.Forge == forge.GitLabKind {
				return r.e.getenv("GITLAB_TOKEN")
			}
			return r.e.getenv("GITHUB_TOKEN")
		}
		return r.e.getenv(k)
	}
}

func (r *reviewRunner) Run(ctx context.Context, job serve.Job) error {
	getenv := r.getenv(job)
	// The head's files: its .cac.yaml, and whether the branch is still where the delivery says.
	rem, err := gitremote.Open(gitremote.CodeRepo, job.CloneURL, gitremote.Options{Getenv: getenv, Policy: gitremote.Policy{Budget: budgetOption(r.c.fetchBudget)}})
	if err != nil {
		return err
	}
	head, err := rem.Checkout(ctx, gitremote.CheckoutOptions{Branch: job.HeadBranch})
	if err != nil {
		return fmt.Errorf("fetch the head: %w", err)
	}
	defer head.Close()
	log := r.log.With("mr", job.Key(), "sha", job.HeadSHA)
	if head.Fallback {
		log.Info("the head branch is gone; nothing to review", "branch", job.HeadBranch)
		return nil
	}
	if head.Commit != job.HeadSHA {
		// Deliveries may arrive out of order: an older one must not leave the newer head
		// unreviewed after cancelling its run, so the branch's tip is what is reviewed.
		log.Info("the head branch moved on; reviewing its tip", "branch", job.HeadBranch, "tip", head.Commit)
	}
	configRepo, usn, err := r.settings(head.Dir)
	if err != nil {
		return err
	}
	validator, secrets, err := loadStandard(ctx, &r.c)
	if err != nil {
		return fmt.Errorf("read the standard: %w", err)
	}
	// Base and head code come from the clone URLs at the two branches (as with --code-repo); the
	// base from the base repository, for a pull request from a fork.
	res, err := review.Run(ctx, review.Options{
		CodeDir: head.Dir, CodeRepo: job.CloneURL, BaseCodeRepo: job.BaseCloneURL, ConfigRepo: configRepo, USN: usn, Base: job.BaseBranch, Head: job.HeadBranch,
		Regions: r.c.regions, Validator: validator, Secrets: secrets, Getenv: getenv, Stderr: io.Discard,
		Fetch: configrepo.Options{Budget: budgetOption(r.c.fetchBudget)},
	})
	switch {
	case res != nil && len(res.Findings) > 0:
		log.Info("the head does not build", "problems", len(res.Findings))
	case err != nil:
		return err
	}
	target := forge.Target{Kind: job.Forge, Repo: job.Repo, Project: job.Project, Number: job.Number, SHA: res.Head.CodeCommit}
	if target.SHA == "" {
		target.SHA = head.Commit
	}
	if job.Forge == forge.GitLabKind {
		target.APIURL, target.Token = r.sf.gitlabAPI, forge.Token(r.e.getenv("GITLAB_TOKEN"))
	} else {
		target.APIURL, target.Token = r.sf.githubAPI, forge.Token(r.e.getenv("GITHUB_TOKEN"))
	}
	f, err := forge.Open(target, nil)
	if err != nil {
		return err
	}
	up, err := review.Post(ctx, f, target, res, review.PostOptions{USN: usn, MaxParts: r.sf.maxParts})
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	log.Info("posted", "commit", target.SHA, "created", len(up.Created), "updated", len(up.Updated), "unchanged", len(up.Unchanged), "deleted", len(up.Deleted))
	return nil
}

// settings are the config repo and USN for a clone: its .cac.yaml, else the server's flags.
func (r *reviewRunner) settings(dir string) (configRepo, usn string, err error) {
	file, err := readSettings(filepath.Join(dir, SettingsFile), r.root)
	if err != nil {
		return "", "", err
	}
	configRepo, usn = r.c.configRepo, r.c.usn
	if v, ok := file["config-repo"]; ok {
		configRepo = v
	}
	if v, ok := file["usn"]; ok {
		usn = v
	}
	return configRepo, usn, nil
}

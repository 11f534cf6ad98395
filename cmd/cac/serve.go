package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/spf13/cobra"

	"github.com/cacproj/cac/pkg/affected"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/publish"
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
	gitopsRepo string
}

func newServeCmd(c *common, e env) *cobra.Command {
	var sf serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the merge-request bot as a webhook server (GitHub and GitLab)",
		Long: `serve receives GitHub pull_request webhooks (opened, synchronize, reopened) and GitLab Merge
Request Hooks (open, update with new commits, reopen) on POST /webhook and does what cac diff --post
does: it fetches the base and head branches of the code, renders base and head, keeps one
comment per service on the merge request up to date and sets the cac/diff commit status. It also
scans the head for region names and hard-coded addresses (cac scan) and adds the findings its
.cac-scan-baseline.json does not accept to the comment. A run that cannot review (the head or the
config repo cannot be fetched, the standard does not load) sets cac/diff to error with the reason.
GET /healthz answers 200 with counters.

Deliveries are verified: GitHub's X-Hub-Signature-256 (HMAC-SHA256 with CAC_WEBHOOK_SECRET) and
GitLab's X-Gitlab-Token (CAC_GITLAB_WEBHOOK_TOKEN); anything else gets 401 and is not processed.
Forge API tokens come from GITHUB_TOKEN and GITLAB_TOKEN, and also clone the code and config repos.
Secrets are read from the environment only, never from flags.

Runs for one merge request never overlap: a newer head commit cancels the run in progress and
replaces any run waiting. A repeated delivery id is ignored. On SIGTERM the server stops taking
deliveries and waits up to --shutdown-grace for the runs in progress.

The config repo and USN come from the code repo's .cac.yaml (config-repo, usn) at the head, else
from --config-repo and --usn; --standard and --registry apply to every repo.

A merge request of the config repo itself (its repository is --config-repo) is reviewed as
cac diff --affected --post does: one comment per service the change affects, each rendered with
its code at the commit it last published to --gitops-repo (else its code repo's default branch),
and one cac/diff status.

GitHub push and GitLab Push Hook deliveries of the config repo are acted on too (other repos, tags
and branch deletions are ignored): a push to config branch B re-reviews every open merge request
from a branch B of the code repos its _services.yaml lists; a push to its default branch runs the
config-only publish (cac publish --affected-since the push's before commit) when --gitops-repo is
set, and is logged as skipped otherwise.`,
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
	fl.StringVar(&sf.gitopsRepo, "gitops-repo", "", "the GitOps repo `URL` whose cac-source.yaml gives, for a config repo's merge request, each service's code commit; pushes to the config repo's default branch are published to it")
	return cmd
}

// newServeServer checks the secrets and tokens and builds the server around the review bot.
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
	if _, err := loadStandard(ctx, c); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, nil))
	cc := *c
	keys := settingNames(root)
	run := func(ctx context.Context, job serve.Job) error {
		getenv := jobEnv(e, job.Forge)
		if job.Kind == serve.Push {
			return configPush(ctx, &cc, e, sf, job, getenv, log.With("push", job.Key(), "sha", job.HeadSHA))
		}
		t := forge.Target{Kind: job.Forge, Repo: job.Repo, Project: job.Project, Number: job.Number,
			APIURL: sf.githubAPI, Token: forge.Token(e.getenv("GITHUB_TOKEN"))}
		if job.Forge == forge.GitLabKind {
			t.APIURL, t.Token = sf.gitlabAPI, forge.Token(e.getenv("GITLAB_TOKEN"))
		}
		bot := &review.Bot{
			ConfigRepo: cc.configRepo, USN: cc.usn, SettingsKeys: keys, Regions: cc.regions, Getenv: getenv, Scan: true,
			Standard: func(ctx context.Context) (pipeline.Validator, review.SecretFinder, error) {
				std, err := loadStandard(ctx, &cc)
				return std, std, err
			},
			Fetch: configrepo.Options{Budget: budgetOption(cc.fetchBudget)},
			Post:  review.PostOptions{MaxParts: sf.maxParts},
			Log:   log.With("mr", job.Key(), "sha", job.HeadSHA),
		}
		if cc.configRepo != "" && gitremote.SameRepo(job.BaseCloneURL, cc.configRepo) {
			// the config repo's own merge request: the services its change affects
			bot.SettingsKeys, bot.Scan = nil, false
			t.SHA = job.HeadSHA
			_, err := bot.RunAffected(ctx, review.AffectedJob{Base: job.BaseBranch, Head: job.HeadBranch, Target: t,
				GitOps: gitops.SourcesOptions{RepoURL: sf.gitopsRepo, Getenv: getenv}})
			return err
		}
		// Base and head code come from the clone URLs at the two branches; the base from the
		// base repository, for a pull request from a fork.
		out, err := bot.Run(ctx, review.Job{CodeRepo: job.CloneURL, BaseCodeRepo: job.BaseCloneURL,
			Base: job.BaseBranch, Head: job.HeadBranch, HeadSHA: job.HeadSHA, Target: t})
		if out.Result != nil && len(out.Findings) > 0 && out.Posted != nil {
			return nil // a head that does not build is the merge request's problem, shown there
		}
		return err
	}
	ignorePush := func(job serve.Job) string {
		switch {
		case cc.configRepo == "":
			return "no --config-repo: only the config repo's pushes are acted on"
		case !gitremote.SameRepo(job.CloneURL, cc.configRepo):
			return "push to " + job.Repo + job.Project + ", not to the config repo"
		}
		return ""
	}
	return serve.New(serve.Options{
		Runner: serve.RunnerFunc(run), GitHubSecret: []byte(ghSecret), GitLabToken: glToken,
		MaxRuns: sf.maxRuns, RunTimeout: sf.runTimeout, Log: log, IgnorePush: ignorePush,
	})
}

// configPush acts on a push to the config repo (docs/design.md §5). On its default branch it is
// the config-only publish (cac publish --affected-since the push's before commit) when serve has
// --gitops-repo. On another branch B it queues a review of every open merge request from a
// branch B of the code repos _services.yaml lists, since those render with config branch B.
func configPush(ctx context.Context, c *common, e env, sf serveFlags, job serve.Job, getenv func(string) string, log *slog.Logger) error {
	if job.HeadBranch == job.DefaultBranch {
		if sf.gitopsRepo == "" {
			log.Info("config-only publish skipped: no --gitops-repo", "branch", job.HeadBranch)
			return nil
		}
		std, err := loadStandard(ctx, c)
		if err != nil {
			return err
		}
		opt := publish.Options{ConfigRepo: c.configRepo, Validator: std, Secrets: std, Getenv: getenv, Stderr: e.stderr,
			Fetch: configrepo.Options{Budget: budgetOption(c.fetchBudget)}, Tool: "cac " + toolVersion()}
		opt.GitOps.RepoURL = sf.gitopsRepo
		res, err := publish.RunAffected(ctx, publish.AffectedOptions{Options: opt, Since: job.Before, ConfigBranch: job.HeadBranch})
		if err != nil {
			return fmt.Errorf("config-only publish: %w", err)
		}
		log.Info("config-only publish done", "affected", len(res.Change.Services), "published", len(res.Published), "skipped", len(res.Skipped))
		return nil
	}
	// _services.yaml at the pushed branch's tip: the change from the tip to itself is empty.
	ch, err := affected.Analyze(ctx, affected.Options{ConfigRepo: c.configRepo, Branch: job.HeadBranch, SinceBranch: job.HeadBranch, Getenv: getenv})
	if err != nil {
		return fmt.Errorf("read _services.yaml of config branch %s: %w", job.HeadBranch, err)
	}
	api, token := sf.githubAPI, forge.Token(e.getenv("GITHUB_TOKEN"))
	if job.Forge == forge.GitLabKind {
		api, token = sf.gitlabAPI, forge.Token(e.getenv("GITLAB_TOKEN"))
	}
	seen, queued := map[string]bool{}, 0
	var errs []error
	for _, usn := range slices.Sorted(maps.Keys(ch.Code)) {
		url := ch.Code[usn].Repo
		if url == "" || seen[url] {
			continue
		}
		seen[url] = true
		repo, err := forgeRepo(job.Forge, url)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", usn, err))
			continue
		}
		t := forge.Target{Kind: job.Forge, Repo: repo, Project: repo, APIURL: api, Token: token}
		f, err := forge.Open(t, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", usn, err))
			continue
		}
		mrs, err := f.(forge.OpenRequestFinder).OpenRequestsFrom(ctx, job.HeadBranch)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", usn, err))
			continue
		}
		for _, mr := range mrs {
			next := serve.Job{Forge: job.Forge, Number: mr.Number, HeadSHA: mr.HeadSHA, HeadBranch: mr.HeadBranch,
				BaseBranch: mr.BaseBranch, CloneURL: url, BaseCloneURL: url, Delivery: job.Delivery}
			if job.Forge == forge.GitLabKind {
				next.Project = mr.Project
			} else {
				next.Repo = repo
			}
			if err := serve.Follow(ctx, next); err != nil {
				return err
			}
			queued++
			log.Info("queued the review of a merge request from the pushed branch", "mr", next.Key())
		}
	}
	log.Info("config branch pushed", "branch", job.HeadBranch, "code repos", len(seen), "merge requests", queued)
	return errors.Join(errs...)
}

// forgeRepo is the forge's name of the repository at url: GitHub's owner/name (the last two
// path elements), GitLab's project path with its namespace.
func forgeRepo(kind, url string) (string, error) {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return "", fmt.Errorf("code repo %s: %w", gitremote.Redact(url), err)
	}
	p := strings.Trim(strings.TrimSuffix(strings.Trim(ep.Path, "/"), ".git"), "/")
	parts := strings.Split(p, "/")
	if len(parts) < 2 {
		return "", fmt.Errorf("code repo %s: not a forge repository address", gitremote.Redact(url))
	}
	if kind == forge.GitLabKind {
		return p, nil
	}
	return strings.Join(parts[len(parts)-2:], "/"), nil
}

// jobEnv is the environment a job's git fetches see: the forge's token is the git token.
func jobEnv(e env, kind string) func(string) string {
	return func(k string) string {
		if k == "CAC_GIT_TOKEN" {
			if v := e.getenv(k); v != "" {
				return v
			}
			if kind == forge.GitLabKind {
				return e.getenv("GITLAB_TOKEN")
			}
			return e.getenv("GITHUB_TOKEN")
		}
		return e.getenv(k)
	}
}

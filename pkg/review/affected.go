package review

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"

	"github.com/cacproj/cac/pkg/affected"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/gitops"
	"github.com/cacproj/cac/pkg/gitremote"
)

// AffectedJob is the review of a config repo's merge request (docs/design.md §5): Base and Head
// are the config repo's branches (defaults as in Options); the code of each affected service is
// fixed, at the commit it last published when GitOps names the GitOps repo, else at the tip of
// its code repo's default branch.
type AffectedJob struct {
	Base, Head string
	GitOps     gitops.SourcesOptions // RepoURL "": no GitOps repo
	Target     forge.Target          // the config repo's merge request; an empty Kind posts nothing
}

// AffectedOutcome is what a review of a config repo's merge request did.
type AffectedOutcome struct {
	Change   *affected.Change
	Reviews  []*Outcome // one per reviewed service, by service name
	Skipped  []Skip
	Base     string // the config branches compared
	Head     string
	Statused bool // the cac/diff status was set
}

// Skip is an affected service that was not reviewed, and why.
type Skip struct {
	USN    string `json:"usn"`
	Reason string `json:"reason"`
}

// RunAffected reviews a change of the config repo alone: it finds the services the change from
// Base to Head affects (affected.Analyze) and runs the bot for each (its comment, under its own
// marker, when job.Target is set) with the code the service publishes from, then sets one cac/diff
// status for all of them. A service without a code repo in _services.yaml is skipped with a
// warning. A service that cannot be reviewed does not stop the others; the errors are returned
// together.
func (b *Bot) RunAffected(ctx context.Context, job AffectedJob) (*AffectedOutcome, error) {
	getenv := b.getenv()
	stderr := b.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	log := b.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if b.ConfigRepo == "" {
		return nil, cacerr.Usage("no config repo: set --config-repo, CAC_CONFIG_REPO, or config-repo in .cac.yaml")
	}
	out := &AffectedOutcome{Base: job.Base, Head: job.Head}
	for _, v := range BaseVars {
		if out.Base == "" {
			out.Base = getenv(v)
		}
	}
	if out.Head == "" {
		h, _, err := configrepo.ResolveBranch("", getenv, ".")
		if err != nil {
			return nil, cacerr.Wrap(cacerr.KindUsage, err)
		}
		if out.Head = h; h == "" {
			return nil, cacerr.Usage("no head branch of the config repo: set --branch or run in a merge request pipeline")
		}
	}
	if out.Base == "" {
		rem, err := gitremote.Open(gitremote.ConfigRepo, b.ConfigRepo, gitremote.Options{Getenv: getenv, Policy: b.Fetch.Policy()})
		if err != nil {
			return nil, err
		}
		if out.Base, err = rem.DefaultBranch(ctx); err != nil {
			return nil, err
		}
	}
	var f forge.Forge
	if job.Target.Kind != "" {
		open := b.Forge
		if open == nil {
			open = func(t forge.Target) (forge.Forge, error) { return forge.Open(t, nil) }
		}
		var err error
		if f, err = open(job.Target); err != nil {
			return out, err
		}
	}
	errs := b.reviewAffected(ctx, job, out, stderr)
	if f == nil || job.Target.SHA == "" || ctx.Err() != nil {
		return out, errors.Join(errs...)
	}
	state, desc := affectedStatus(out, errs)
	if state == forge.StateError {
		urls := []string{b.ConfigRepo, job.GitOps.RepoURL}
		if out.Change != nil {
			for _, c := range out.Change.Code {
				urls = append(urls, c.Repo)
			}
		}
		desc = errorDescription(errors.Join(errs...), getenv, urls, job.Target.Token)
	}
	if err := f.SetStatus(ctx, job.Target.SHA, state, StatusContext, desc, b.Post.TargetURL); err != nil {
		errs = append(errs, fmt.Errorf("set the status: %w", err))
	} else {
		out.Statused = true
		log.Info("status set", "commit", job.Target.SHA, "state", state)
	}
	return out, errors.Join(errs...)
}

// reviewAffected analyses the change and reviews each affected service; the errors of the
// services that could not be reviewed (or did not build) are returned, each naming its service.
func (b *Bot) reviewAffected(ctx context.Context, job AffectedJob, out *AffectedOutcome, stderr io.Writer) []error {
	getenv := b.getenv()
	ch, err := affected.Analyze(ctx, affected.Options{ConfigRepo: b.ConfigRepo, Branch: out.Head, SinceBranch: out.Base, Getenv: getenv})
	if err != nil {
		return []error{err}
	}
	out.Change = ch
	usns := ch.USNs()
	fmt.Fprintf(stderr, "config %s..%s: %s changed, %s affected\n", out.Base, out.Head, count(len(ch.Files), "file"), count(len(usns), "service"))
	if len(usns) == 0 {
		return nil
	}
	var sources map[string]map[string]gitops.Source
	if job.GitOps.RepoURL != "" {
		g := job.GitOps
		if g.Getenv == nil {
			g.Getenv = getenv
		}
		if g.Token == "" {
			g.Token = gitops.Token(getenv)
		}
		if sources, err = gitops.ReadSources(ctx, g, ch.Services); err != nil {
			return []error{err}
		}
	}
	tmp, err := os.MkdirTemp("", "cac-affected-diff-")
	if err != nil {
		return []error{cacerr.Usage("temporary dir: %w", err)}
	}
	defer os.RemoveAll(tmp)
	clones := map[string]*git.Repository{}
	var errs []error
	for _, usn := range usns {
		code, ok := ch.Code[usn]
		if !ok || code.Repo == "" {
			out.Skipped = append(out.Skipped, Skip{USN: usn, Reason: "no code repo for it in the config repo's _services.yaml"})
			fmt.Fprintf(stderr, "cac: warning: %s: no code repo for it in the config repo's _services.yaml, skipped\n", usn)
			continue
		}
		repo, ok := clones[code.Repo]
		if !ok {
			rem, err := gitremote.Open(gitremote.CodeRepo, code.Repo, gitremote.Options{Getenv: getenv, Policy: b.Fetch.Policy()})
			if err == nil {
				repo, err = rem.Clone(ctx, gitremote.CloneOptions{NoCheckout: true})
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("service %s: %w", usn, err))
				continue
			}
			clones[code.Repo] = repo
		}
		commit, why, err := publishedCommit(repo, sources[usn])
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: code repo %s: %w", usn, gitremote.Redact(code.Repo), err))
			continue
		}
		dir := filepath.Join(tmp, usn)
		if err := gitremote.WriteCommit(repo, commit, dir); err != nil {
			errs = append(errs, cacerr.Wrap(cacerr.KindUsage, fmt.Errorf("service %s: code repo %s: %w", usn, gitremote.Redact(code.Repo), err)))
			continue
		}
		cd, err := affected.CodeDir(dir, usn, code.Dir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stderr, "%s: rendering config %s and %s at code commit %s (%s)\n", usn, out.Base, out.Head, shortSHA(commit), why)
		sb := *b
		sb.USN, sb.SettingsKeys, sb.Scan = usn, nil, false
		sb.Post.NoStatus = true
		o, err := sb.Run(ctx, Job{Code: &CodeAt{Dir: cd, Commit: commit}, Base: out.Base, Head: out.Head, Target: job.Target})
		if o != nil && o.Result != nil {
			out.Reviews = append(out.Reviews, o)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", usn, err))
		}
	}
	return errs
}

// publishedCommit is the code commit to render a service at: the one most of its regions were
// last published at (GitOps sources), else the tip of the code repo's default branch. why says
// which, for the log.
func publishedCommit(repo *git.Repository, published map[string]gitops.Source) (commit, why string, err error) {
	count := map[string][]string{}
	for region, src := range published {
		count[src.CodeCommit] = append(count[src.CodeCommit], region)
	}
	for _, c := range slices.Sorted(maps.Keys(count)) {
		if len(count[c]) > len(count[commit]) {
			commit = c
		}
	}
	if commit != "" {
		regions := count[commit]
		slices.Sort(regions)
		why = "last published to " + strings.Join(regions, ", ")
		if len(count) > 1 {
			why += "; other regions were published at other commits"
		}
		return commit, why, nil
	}
	head, err := repo.Head()
	if err != nil {
		return "", "", fmt.Errorf("read its default branch: %w", err)
	}
	return head.Hash().String(), "the tip of " + head.Name().Short() + ": never published", nil
}

// affectedStatus is the one cac/diff status of a config repo's merge request: error (without a
// description) when a service could not be reviewed, failure when a head does not build, else
// success with what changed per service.
func affectedStatus(out *AffectedOutcome, errs []error) (forge.State, string) {
	failed := 0
	var parts []string
	for _, o := range out.Reviews {
		switch {
		case len(o.Findings) > 0:
			failed++
		case o.Diff != nil && o.Diff.Changed():
			parts = append(parts, o.USN+": "+o.Diff.Summary())
		}
	}
	var state forge.State
	var desc string
	switch {
	case len(errs) > failed:
		return forge.StateError, "" // RunAffected describes the errors, their credentials redacted
	case failed > 0:
		state, desc = forge.StateFailure, "the head does not build for "+count(failed, "service")
	case len(parts) > 0:
		state, desc = forge.StateSuccess, strings.Join(parts, "; ")
	case out.Change != nil && len(out.Change.Services) == 0:
		state, desc = forge.StateSuccess, "no service affected"
	default:
		state, desc = forge.StateSuccess, "no change to the rendered config"
	}
	if r := []rune(desc); len(r) > maxDescription {
		desc = string(r[:maxDescription-1]) + "…"
	}
	return state, desc
}

// count is "1 file", "2 files".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

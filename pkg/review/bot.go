package review

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/obs"
	"github.com/cacproj/cac/pkg/pipeline"
	"github.com/cacproj/cac/pkg/settings"
)

// Job is one review of a merge request (docs/design.md §5): which code, which branches, where
// the result goes. `cac diff` builds one from its flags and the CI job, `cac serve` from a webhook.
type Job struct {
	// CodeDir is a local checkout of the code repo. Empty, with CodeRepo, the bot fetches CodeRepo
	// at Head and reads the head's files (its settings, what the scan reads) from that checkout.
	CodeDir string
	// CodeRepo is the code repo's URL when the code is remote (the config repo's pipeline, the
	// webhook server); BaseCodeRepo is the base's, when it differs (a pull request from a fork).
	CodeRepo, BaseCodeRepo string
	// Code, instead, fixes the code of both sides (Options.Code): the config repo's merge request.
	Code       *CodeAt
	Base, Head string // branches; defaults as in Options
	// HeadSHA is the head commit the event named. The branch's tip is what is reviewed: events
	// may arrive out of order, and an older one must not leave a newer head unreviewed.
	HeadSHA string
	// Target is the merge request to post on; an empty Kind posts nothing. Without Target.SHA the
	// status goes on the reviewed head commit.
	Target forge.Target
}

// Bot is the merge-request bot, shared by `cac diff --post` and `cac serve`: it renders base and
// head (Run), diffs them, keeps one comment per service up to date (Post) and sets the cac/diff
// status. A run that fails before posting sets the status to error with the reason, so a broken
// bot is never mistaken for a bot that has not started.
type Bot struct {
	ConfigRepo, USN string // the config repo and service, unless the head's settings name them
	// SettingsKeys, when set, makes the bot read the head's .cac.yaml for config-repo and usn; its
	// keys must be among SettingsKeys (cac's flag names). Unset: the caller applied the settings.
	SettingsKeys []string
	Regions      []string // only these regions in the diff (default: all)
	// Standard loads the validator and the secret finder of one run, from one read of the standard.
	Standard func(context.Context) (pipeline.Validator, SecretFinder, error)
	Fetch    configrepo.Options
	Getenv   func(string) string
	Stderr   io.Writer // fetch and render progress (default: discarded)
	Context  int       // diff context lines
	Post     PostOptions
	// Scan runs the anti-corruption scan over the head checkout and adds its new findings (those
	// BaselineFile does not accept) to the comment.
	Scan bool
	// Forge opens the client of a merge request (default: forge.Open with http.DefaultClient).
	Forge func(forge.Target) (forge.Forge, error)
	Log   *slog.Logger // default: discarded
}

// Outcome is what a run did. Result is nil when the run stopped before rendering.
type Outcome struct {
	*Result
	USN     string              // the service reviewed
	Target  forge.Target        // where it was posted (SHA: the commit of the status)
	Posted  *forge.UpsertResult // nil when nothing was posted
	Skipped string              // why nothing was reviewed (the head branch is gone)

	configRepo string // the config repo the run used, redacted from error descriptions
}

// Run reviews job and, with a target, posts the result. When the head does not build, the
// failure list is posted and the error (exit 1) returned with the Outcome's findings.
func (b *Bot) Run(ctx context.Context, job Job) (*Outcome, error) {
	log := b.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var f forge.Forge
	if job.Target.Kind != "" {
		open := b.Forge
		if open == nil {
			open = func(t forge.Target) (forge.Forge, error) { return forge.Open(t, nil) }
		}
		var err error
		if f, err = open(job.Target); err != nil {
			return &Outcome{USN: b.USN, Target: job.Target}, err
		}
	}
	out, err := b.review(ctx, job, log)
	if err != nil && (out.Result == nil || len(out.Findings) == 0) {
		// Failed before there was anything to post: say so on the merge request, unless a newer
		// run took over (cancelled) or there is no commit to put the status on.
		if f != nil && ctx.Err() == nil && out.Target.SHA != "" && !b.Post.NoStatus {
			desc := errorDescription(err, b.getenv(), []string{job.CodeRepo, job.BaseCodeRepo, out.configRepo}, out.Target.Token)
			if serr := f.SetStatus(ctx, out.Target.SHA, forge.StateError, StatusContext, desc, b.Post.TargetURL); serr != nil {
				log.Warn("could not set the error status", "err", serr)
			}
		}
		return out, err
	}
	if out.Result == nil || f == nil { // skipped, or nothing to post to
		return out, err
	}
	if err != nil {
		log.Info("the head does not build", "problems", len(out.Findings))
	}
	po := b.Post
	po.USN = out.USN
	up, perr := Post(ctx, f, out.Target, out.Result, po)
	if perr != nil {
		return out, errors.Join(err, fmt.Errorf("post: %w", perr))
	}
	out.Posted = &up
	log.Info("posted", "commit", out.Target.SHA, "created", len(up.Created), "updated", len(up.Updated),
		"unchanged", len(up.Unchanged), "deleted", len(up.Deleted))
	return out, err
}

func (b *Bot) getenv() func(string) string {
	if b.Getenv == nil {
		return func(string) string { return "" }
	}
	return b.Getenv
}

// review is everything before posting: fetch the head, read its settings and the standard,
// render and diff, scan. out.Target.SHA is the best commit known for a status at every return.
func (b *Bot) review(ctx context.Context, job Job, log *slog.Logger) (*Outcome, error) {
	out := &Outcome{USN: b.USN, Target: job.Target}
	if out.Target.SHA == "" {
		out.Target.SHA = job.HeadSHA
	}
	codeDir := job.CodeDir
	if codeDir == "" && job.CodeRepo != "" {
		rem, err := gitremote.Open(gitremote.CodeRepo, job.CodeRepo, gitremote.Options{Getenv: b.Getenv, Policy: b.Fetch.Policy()})
		if err != nil {
			return out, err
		}
		head, err := rem.Checkout(ctx, gitremote.CheckoutOptions{Branch: job.Head})
		if err != nil {
			return out, fmt.Errorf("fetch the head: %w", err)
		}
		defer head.Close()
		if head.Fallback {
			out.Skipped = "the head branch " + job.Head + " is gone"
			log.Info("the head branch is gone; nothing to review", "branch", job.Head)
			return out, nil
		}
		if job.HeadSHA != "" && head.Commit != job.HeadSHA {
			log.Info("the head branch moved on; reviewing its tip", "branch", job.Head, "tip", head.Commit)
		}
		if job.Target.SHA == "" {
			out.Target.SHA = head.Commit
		}
		codeDir = head.Dir
	}
	out.configRepo = b.ConfigRepo
	if b.SettingsKeys != nil {
		file, err := settings.Read(filepath.Join(codeDir, settings.File), b.SettingsKeys)
		if err != nil {
			return out, err
		}
		if v, ok := file["config-repo"]; ok {
			out.configRepo = v.Value
		}
		if v, ok := file["usn"]; ok {
			out.USN = v.Value
		}
	}
	var validator pipeline.Validator
	var secrets SecretFinder
	if b.Standard != nil {
		var err error
		if validator, secrets, err = b.Standard(ctx); err != nil {
			return out, fmt.Errorf("read the standard: %w", err)
		}
	}
	res, err := Run(ctx, Options{
		CodeDir: codeDir, CodeRepo: job.CodeRepo, BaseCodeRepo: job.BaseCodeRepo, Code: job.Code, ConfigRepo: out.configRepo, USN: out.USN,
		Base: job.Base, Head: job.Head, Regions: b.Regions, Validator: validator, Secrets: secrets,
		Fetch: b.Fetch, Getenv: b.Getenv, Stderr: b.Stderr, Context: b.Context,
	})
	out.Result = res
	if res != nil && res.Head.CodeCommit != "" && job.Target.SHA == "" {
		out.Target.SHA = res.Head.CodeCommit
	}
	if err != nil {
		return out, err
	}
	if b.Scan {
		res.Scan = scanHead(ctx, codeDir, res, secrets)
		if res.Scan.Err != nil {
			log.Warn("the anti-corruption scan did not run", "err", res.Scan.Err)
		}
	}
	return out, nil
}

// errorDescription is the status description of a run that failed: one line, no credentials
// (the job's URLs redacted, every token the environment holds replaced), at most the 140
// characters GitHub takes.
func errorDescription(err error, getenv func(string) string, urls []string, token forge.Token) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	for _, u := range urls {
		if u != "" {
			msg = gitremote.ScrubURL(msg, u)
		}
	}
	msg = obs.Scrub(msg, getenv)
	if tok := string(token); len(tok) >= 4 {
		msg = strings.ReplaceAll(msg, tok, "***")
	}
	msg = "cac could not review: " + msg
	if r := []rune(msg); len(r) > maxDescription {
		msg = string(r[:maxDescription-1]) + "…"
	}
	return msg
}

// maxDescription is the longest status description GitHub takes.
const maxDescription = 140

// Package serve is the merge-request bot as a webhook server (docs/design.md §5): GitHub `pull_request`
// and GitLab `Merge Request Hook` deliveries become jobs that an injected Runner does (render
// base and head, post the diff), like `cac diff --post` in a pipeline. GitHub `push` and GitLab
// `Push Hook` deliveries of a branch become jobs of Kind Push when Options.IgnorePush accepts them.
//
//	verify   GitHub X-Hub-Signature-256 (HMAC-SHA256) or GitLab X-Gitlab-Token (constant time); else 401
//	parse    the event; anything but open/synchronize/reopen (GitHub), open/update/reopen (GitLab) is ignored
//	dedupe   a delivery id seen before (X-GitHub-Delivery, X-Gitlab-Event-UUID) is ignored
//	queue    one run at a time per merge request; a newer delivery replaces a queued one and
//	         cancels the run in progress when it names another head commit (newest wins)
//
// Every accepted delivery is answered 202 with {"queued": true} or {"ignored": "why"} before the
// work is done; the forge does not wait for renders.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Job is one merge request to review at one head commit, or (Kind Push) one branch push.
type Job struct {
	Kind         string // "" a merge request; Push a branch push (Number 0, HeadBranch the pushed branch)
	Forge        string // "github" or "gitlab" (forge.GitHubKind, forge.GitLabKind)
	Repo         string // GitHub owner/name of the base repository
	Project      string // GitLab project ID of the target project
	Number       int64  // pull request number (GitHub) or merge request IID (GitLab)
	HeadSHA      string
	HeadBranch   string
	BaseBranch   string
	CloneURL     string // the head's repository (a fork's, for a pull request from a fork)
	BaseCloneURL string // the base's repository
	Delivery     string // the delivery id, for logs
	// A push's commit before it (Before; all zeros for a new branch) and its repository's default branch.
	Before, DefaultBranch string
}

// Push is the Kind of a branch push job: HeadSHA is the pushed commit, CloneURL the repository.
const Push = "push"

// Key names the merge request: runs with the same key are serialised and coalesced.
func (j Job) Key() string {
	if j.Kind == Push {
		return fmt.Sprintf("push:%s:%s%s@%s", j.Forge, j.Repo, j.Project, j.HeadBranch)
	}
	if j.Forge == "gitlab" {
		return fmt.Sprintf("gitlab:%s!%d", j.Project, j.Number)
	}
	return fmt.Sprintf("github:%s#%d", j.Repo, j.Number)
}

// Runner does the work of a job. Its context is cancelled when a newer head commit arrives for
// the same merge request, when the run exceeds Options.RunTimeout, or at a shutdown that ran
// out of time.
type Runner interface {
	Run(ctx context.Context, job Job) error
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, job Job) error

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, job Job) error { return f(ctx, job) }

// Options configure a Server.
type Options struct {
	Runner Runner
	// GitHubSecret is the webhook secret (CAC_WEBHOOK_SECRET); empty refuses every GitHub delivery.
	GitHubSecret []byte
	// GitLabToken is the webhook's secret token (CAC_GITLAB_WEBHOOK_TOKEN); empty refuses every
	// GitLab delivery.
	GitLabToken string
	MaxBody     int64         // largest request body; default 5 MiB (413 beyond)
	Deliveries  int           // delivery ids remembered to drop repeats; default 10000
	MaxRuns     int           // runs at once across merge requests; default 4
	RunTimeout  time.Duration // longest run; default 15 minutes
	// IgnorePush says why a verified branch push (a Job of Kind Push) is not acted on, or ""
	// to queue it; nil ignores every push.
	IgnorePush func(Job) string
	Log        *slog.Logger // default: discard
}

// Stats count what the server did since it started.
type Stats struct {
	Deliveries int64 `json:"deliveries"` // requests to the webhook endpoint
	Rejected   int64 `json:"rejected"`   // not verified (401), too large (413), malformed (400), shutting down (503)
	Ignored    int64 `json:"ignored"`    // verified, but not an event to act on
	Duplicates int64 `json:"duplicates"` // a delivery id seen before
	Queued     int64 `json:"queued"`     // jobs accepted
	Replaced   int64 `json:"replaced"`   // queued jobs replaced by a newer one before they ran
	Skipped    int64 `json:"skipped"`    // jobs superseded while waiting for a run slot
	Started    int64 `json:"started"`    // runs started (Queued = Replaced + Skipped + Started, once idle)
	Cancelled  int64 `json:"cancelled"`  // runs whose context was cancelled by a newer head
	Failed     int64 `json:"failed"`     // runs that returned an error
	Running    int64 `json:"running"`    // runs in progress now
}

// ErrClosed is returned by Enqueue once Shutdown has begun.
var ErrClosed = errors.New("the server is shutting down")

// Server receives webhooks and runs jobs. Create it with New; serve Handler, or call Serve.
type Server struct {
	opt       Options
	log       *slog.Logger
	seen      *lru
	base      context.Context
	cancelAll context.CancelFunc
	sem       chan struct{}

	mu     sync.Mutex
	queues map[string]*queue
	closed bool
	wg     sync.WaitGroup

	stats struct {
		deliveries, rejected, ignored, duplicates, queued, replaced,
		skipped, started, cancelled, failed, running atomic.Int64
	}
}

// queue is one merge request's state: the run in progress and at most one job waiting.
type queue struct {
	running Job
	ctx     context.Context
	cancel  context.CancelCauseFunc
	pending *Job
}

// errSuperseded is the cause of a run's cancellation by a newer head commit.
var errSuperseded = errors.New("superseded by a newer head commit")

// New returns a server. It fails when there is no runner or no way to verify any delivery.
func New(opt Options) (*Server, error) {
	if opt.Runner == nil {
		return nil, errors.New("serve: no runner")
	}
	if len(opt.GitHubSecret) == 0 && opt.GitLabToken == "" {
		return nil, errors.New("serve: no webhook secret: set CAC_WEBHOOK_SECRET (GitHub) or CAC_GITLAB_WEBHOOK_TOKEN (GitLab)")
	}
	if opt.MaxBody <= 0 {
		opt.MaxBody = 5 << 20
	}
	if opt.Deliveries <= 0 {
		opt.Deliveries = 10000
	}
	if opt.MaxRuns <= 0 {
		opt.MaxRuns = 4
	}
	if opt.RunTimeout <= 0 {
		opt.RunTimeout = 15 * time.Minute
	}
	log := opt.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	base, cancel := context.WithCancel(context.Background())
	return &Server{
		opt: opt, log: log, seen: newLRU(opt.Deliveries), base: base, cancelAll: cancel,
		sem: make(chan struct{}, opt.MaxRuns), queues: map[string]*queue{},
	}, nil
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Deliveries: c.deliveries.Load(), Rejected: c.rejected.Load(), Ignored: c.ignored.Load(),
		Duplicates: c.duplicates.Load(), Queued: c.queued.Load(), Replaced: c.replaced.Load(),
		Skipped: c.skipped.Load(), Started: c.started.Load(), Cancelled: c.cancelled.Load(), Failed: c.failed.Load(), Running: c.running.Load(),
	}
}

// Enqueue queues job behind its merge request's run in progress, replacing a job already waiting
// there; a run in progress for another head commit is cancelled. It returns ErrClosed after
// Shutdown began.
func (s *Server) Enqueue(job Job) error {
	return s.enqueue(job, false)
}

type serverKey struct{}

// Follow queues job from within a run (the context a Runner was given): the merge requests a
// push concerns. Unlike Enqueue it is accepted during a shutdown, which waits for it as for the
// run that queued it.
func Follow(ctx context.Context, job Job) error {
	s, ok := ctx.Value(serverKey{}).(*Server)
	if !ok {
		return errors.New("serve: Follow outside a run")
	}
	return s.enqueue(job, true)
}

func (s *Server) enqueue(job Job, follow bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed && !follow {
		return ErrClosed
	}
	s.stats.queued.Add(1)
	key := job.Key()
	if q, ok := s.queues[key]; ok {
		if q.pending != nil {
			s.stats.replaced.Add(1)
			s.log.Info("replaced a queued job", "mr", key, "sha", q.pending.HeadSHA, "by", job.HeadSHA)
		}
		q.pending = &job
		if q.running.HeadSHA != job.HeadSHA {
			q.cancel(errSuperseded)
		}
		return nil
	}
	q := &queue{}
	s.queues[key] = q
	s.start(q, job)
	s.wg.Add(1)
	go s.work(key, q)
	return nil
}

// start makes job q's run in progress; s.mu is held.
func (s *Server) start(q *queue, job Job) {
	q.running = job
	q.ctx, q.cancel = context.WithCancelCause(context.WithValue(s.base, serverKey{}, s))
}

// work runs q's jobs one after the other until none is waiting.
func (s *Server) work(key string, q *queue) {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		job, ctx, cancel := q.running, q.ctx, q.cancel
		s.mu.Unlock()
		s.run(key, job, ctx)
		cancel(nil)
		s.mu.Lock()
		if q.pending == nil {
			delete(s.queues, key)
			s.mu.Unlock()
			return
		}
		s.start(q, *q.pending)
		q.pending = nil
		s.mu.Unlock()
	}
}

// run runs one job when a run slot is free, unless a newer head arrives first.
func (s *Server) run(key string, job Job, ctx context.Context) {
	log := s.log.With("mr", key, "sha", job.HeadSHA, "delivery", job.Delivery)
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		s.stats.skipped.Add(1)
		log.Info("skipped before it started", "why", context.Cause(ctx))
		return
	}
	defer func() { <-s.sem }()
	ctx, cancel := context.WithTimeout(ctx, s.opt.RunTimeout)
	defer cancel()
	s.stats.started.Add(1)
	s.stats.running.Add(1)
	start := time.Now()
	err := s.call(ctx, job)
	s.stats.running.Add(-1)
	switch {
	case errors.Is(context.Cause(ctx), errSuperseded):
		s.stats.cancelled.Add(1)
		log.Info("run cancelled", "why", errSuperseded, "elapsed", time.Since(start))
	case err != nil:
		s.stats.failed.Add(1)
		log.Error("run failed", "err", err, "elapsed", time.Since(start))
	default:
		log.Info("run done", "elapsed", time.Since(start))
	}
}

// call runs the runner, turning a panic into an error so one bad run does not stop the server.
func (s *Server) call(ctx context.Context, job Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("runner panicked: %v", p)
		}
	}()
	return s.opt.Runner.Run(ctx, job)
}

// Handler serves POST /webhook (GitHub and GitLab deliveries alike) and GET /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/webhook", s.webhook)
	mux.HandleFunc("GET /healthz", s.healthz)
	return mux
}

// Shutdown stops taking jobs (deliveries are answered 503) and waits for the runs in progress and
// the jobs waiting behind them. When ctx ends first, every run's context is cancelled, Shutdown
// waits for them to return and reports ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancelAll()
		return nil
	case <-ctx.Done():
		s.cancelAll()
		<-done
		return fmt.Errorf("shutdown: runs cancelled: %w", ctx.Err())
	}
}

// Serve answers HTTP on l until ctx is cancelled (SIGTERM), then shuts down gracefully: it stops
// accepting connections, finishes the requests being answered and waits up to grace for the runs.
func (s *Server) Serve(ctx context.Context, l net.Listener, grace time.Duration) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(l) }()
	select {
	case err := <-errc:
		s.cancelAll()
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	herr := hs.Shutdown(sctx)
	rerr := s.Shutdown(sctx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return errors.Join(herr, rerr)
}

package gitremote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/cacproj/cac/pkg/cacerr"
)

// classify sorts err and describes it in a few words for the final message.
func classify(err error) (Class, string) {
	err = unwrapGoGit(err)
	var he *githttp.Err
	var ne net.Error
	var dns *net.DNSError
	var eb errBudget
	var te *transientError
	switch {
	case errors.As(err, &eb):
		return Transient, eb.Error()
	case errors.As(err, &te):
		return Transient, te.Error()
	case errors.As(err, &he):
		code := he.StatusCode()
		if code >= 500 || code == 429 || code == 408 {
			return Transient, fmt.Sprintf("server answered %d", code)
		}
		return Permanent, fmt.Sprintf("server answered %d", code)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		return Denied, "authentication failed"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return NotFound, "repository not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return Transient, "connection refused"
	case errors.As(err, &dns):
		return Transient, "cannot resolve host " + dns.Name // offline, or a DNS hiccup
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return Transient, "network unreachable"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return Transient, "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return Transient, "connection cut mid-transfer"
	case errors.Is(err, pktline.ErrInvalidPktLen), errors.Is(err, packp.ErrEmptyAdvRefs), garbled(err):
		return Transient, "truncated or garbled answer"
	case errors.Is(err, errAttemptTimeout):
		return Transient, "timed out"
	case errors.As(err, &ne) && ne.Timeout():
		return Transient, "timed out"
	}
	return Permanent, err.Error()
}

// garbled reports a protocol error that go-git formats with %s (the chain is lost): a cut or
// corrupted answer, worth another attempt like a dropped connection.
func garbled(err error) bool {
	s := err.Error()
	for _, m := range []string{"invalid pkt-len", "malformed", "unexpected EOF", "empty advertised-ref", "connection reset"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// unwrapGoGit looks through go-git's wrappers that have no Unwrap method, so errors.Is/As reach
// the cause.
func unwrapGoGit(err error) error {
	for {
		var ue *plumbing.UnexpectedError
		var pe *plumbing.PermanentError
		switch {
		case errors.As(err, &ue):
			err = ue.Err
		case errors.As(err, &pe):
			err = pe.Err
		default:
			return err
		}
	}
}

// budget bounds ctx by p.Budget; the context's cause says the budget ran out.
func budget(ctx context.Context, p Policy) (context.Context, context.CancelFunc) {
	if p.Budget <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, p.Budget, errBudget{p.Budget})
}

// retry runs op until it succeeds, fails for a reason that retrying cannot fix, the context ends
// (its budget runs out), or retries are used up; the wait doubles from p.Backoff after each
// transient failure, with jitter so concurrent builds do not retry in step. Each attempt gets at
// most p.Timeout; an attempt that runs out of time is transient. It returns the number of
// attempts made and, when the budget ran out, an error saying so around the last failure.
func retry(ctx context.Context, p Policy, op func(context.Context) error) (int, error) {
	for attempt := 1; ; attempt++ {
		err := attempt1(ctx, p.Timeout, op)
		if err == nil {
			return attempt, nil
		}
		if ctx.Err() != nil {
			return attempt, spent(ctx, err)
		}
		if c, _ := classify(err); c != Transient || attempt > p.Retries {
			return attempt, err
		}
		d := p.Backoff << (attempt - 1)
		t := time.NewTimer(d/2 + rand.N(d/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, spent(ctx, err)
		case <-t.C:
		}
	}
}

// spent is err after ctx ended: the budget's error when that is what ended it, else err.
func spent(ctx context.Context, err error) error {
	var eb errBudget
	if errors.As(context.Cause(ctx), &eb) {
		return &budgetError{budget: eb, last: err}
	}
	return err
}

// budgetError is an operation stopped by its budget; last is the failure of the last attempt.
type budgetError struct {
	budget errBudget
	last   error
}

func (e *budgetError) Error() string { return e.budget.Error() }
func (e *budgetError) Unwrap() []error {
	return []error{e.budget, e.last}
}

func attempt1(ctx context.Context, timeout time.Duration, op func(context.Context) error) error {
	if timeout <= 0 {
		return op(ctx)
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := op(actx)
	if err != nil && actx.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("no answer within %s: %w", timeout, errAttemptTimeout)
	}
	return err
}

// errAttemptTimeout is an attempt that ran out of its own time (Policy.Timeout).
var errAttemptTimeout = errors.New("attempt timed out")

// fail turns a failed operation into a cacerr.KindRemote *Error that says what to do, with every
// credential scrubbed out. what names the operation, e.g. "fetch config repo URL (branch main)".
func (r *Remote) fail(ctx context.Context, err error, op, what string, attempts int) error {
	e := &Error{Role: r.role, Op: op, URL: r.display, Attempts: attempts, err: err}
	var be *budgetError
	switch {
	case errors.As(err, &be):
		_, last := classify(be.last)
		e.Class = Transient
		e.msg = fmt.Sprintf("%s: %s after %s (last: %s)", what, be.budget, plural(attempts, "attempt"), last)
	case ctx.Err() != nil:
		e.Class = Permanent
		e.msg = fmt.Sprintf("%s: %v", what, ctx.Err())
	default:
		c, desc := classify(err)
		e.Class = c
		switch c {
		case Transient:
			e.msg = fmt.Sprintf("%s: %s after %s", what, desc, plural(attempts, "attempt"))
		case Denied:
			e.msg = fmt.Sprintf("%s: %s: check %s", what, desc, r.authHint)
		case NotFound:
			if r.authHint == "" {
				e.msg = fmt.Sprintf("%s: %s: check the URL", what, desc)
			} else {
				e.msg = fmt.Sprintf("%s: %s: check the URL, and that %s can read it", what, desc, r.authHint)
			}
		default:
			e.msg = fmt.Sprintf("%s: %s", what, desc)
		}
	}
	e.msg = r.scrub.scrub(e.msg)
	return cacerr.Remote(e)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Do runs op, a remote operation that is not git (an https download), within p: a budget over
// all attempts, a timeout per attempt, retries with jittered backoff while its error classifies
// as transient (network failures, timeouts, cut answers) or is marked with MarkTransient. It
// returns the attempts made; when the budget ran out, the error says so and wraps the last one.
func Do(ctx context.Context, p Policy, op func(context.Context) error) (int, error) {
	p = p.normal()
	ctx, cancel := budget(ctx, p)
	defer cancel()
	return retry(ctx, p, op)
}

// MarkTransient marks err as worth another attempt (a 5xx answer, say) for Do.
func MarkTransient(err error) error { return &transientError{err} }

type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// Describe says in a few words what went wrong in err ("connection refused", "server answered
// 503", "timed out"), without the addresses a library's message may quote.
func Describe(err error) string {
	_, desc := classify(err)
	return desc
}

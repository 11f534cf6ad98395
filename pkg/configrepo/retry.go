package configrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// class says what a failed remote operation means for the caller.
type class int

const (
	permanent class = iota // anything else: not retried
	transient              // network trouble or a server error: retried with backoff
	denied                 // authentication or authorization failed: not retried
	notFound               // no such repository: not retried
)

// classify sorts err and describes it in a few words for the final message.
func classify(err error) (class, string) {
	err = unwrapGoGit(err)
	var he *githttp.Err
	var ne net.Error
	var dns *net.DNSError
	switch {
	case errors.As(err, &he):
		code := he.StatusCode()
		if code >= 500 || code == 429 || code == 408 {
			return transient, fmt.Sprintf("server answered %d", code)
		}
		return permanent, fmt.Sprintf("server answered %d", code)
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		return denied, "authentication failed"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return notFound, "repository not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return transient, "connection refused"
	case errors.As(err, &dns):
		return transient, "cannot resolve host " + dns.Name // offline, or a DNS hiccup
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return transient, "network unreachable"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return transient, "connection reset"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return transient, "connection cut mid-transfer"
	case errors.Is(err, errAttemptTimeout):
		return transient, "timed out"
	case errors.As(err, &ne) && ne.Timeout():
		return transient, "timed out"
	}
	return permanent, err.Error()
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

// retry runs op until it succeeds, fails for a reason that retrying cannot fix, the context ends,
// or retries are used up; the wait doubles from base after each transient failure. Each attempt
// gets at most timeout (0: no limit of its own); an attempt that runs out of time is transient. It
// returns the number of attempts made.
func retry(ctx context.Context, retries int, base, timeout time.Duration, op func(context.Context) error) (int, error) {
	for attempt := 1; ; attempt++ {
		err := attempt1(ctx, timeout, op)
		if err == nil || ctx.Err() != nil || attempt > retries {
			return attempt, err
		}
		if c, _ := classify(err); c != transient {
			return attempt, err
		}
		t := time.NewTimer(base << (attempt - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return attempt, err
		case <-t.C:
		}
	}
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

// errAttemptTimeout is an attempt that ran out of its own time (Options.Timeout).
var errAttemptTimeout = errors.New("attempt timed out")

package forge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cacproj/cac/pkg/cacerr"
)

// Retry bounds how API calls are retried: on network errors, 5xx and 429 answers only.
type Retry struct {
	Attempts int           // total tries, at least 1
	Delay    time.Duration // before the second try; doubles after each failure
}

// DefaultRetry tries 4 times over about 7 seconds.
var DefaultRetry = Retry{Attempts: 4, Delay: time.Second}

// do runs call until it succeeds, fails for good, or the attempts run out. The final error is
// marked cacerr.Remote, with a hint for auth and not-found answers.
func (r Retry) do(ctx context.Context, what string, call func() (*http.Response, error)) error {
	delay := r.Delay
	for attempt := 1; ; attempt++ {
		resp, err := call()
		if err == nil {
			return nil
		}
		if attempt >= r.Attempts || !retryable(ctx, resp, err) {
			return cacerr.Remote(fmt.Errorf("%s%s: %w", what, hint(resp), err))
		}
		select {
		case <-ctx.Done():
			return cacerr.Remote(fmt.Errorf("%s: %w", what, ctx.Err()))
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func retryable(ctx context.Context, resp *http.Response, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if resp == nil {
		return true // no answer: network trouble
	}
	return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
}

func hint(resp *http.Response) string {
	if resp == nil {
		return ""
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return " (check the token and its permissions)"
	case http.StatusNotFound:
		return " (check the repository or project, the pull/merge request number, and that the token can see them)"
	}
	return ""
}

package gitremote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

func httpErr(code int) error {
	req, _ := http.NewRequest("GET", "https://host/r.git/info/refs", nil)
	return githttp.NewErr(&http.Response{StatusCode: code, Request: req, Body: io.NopCloser(strings.NewReader("x"))})
}

func TestClassify(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "https://host", Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	for _, tc := range []struct {
		err  error
		want Class
		desc string
	}{
		{httpErr(500), Transient, "server answered 500"},
		{httpErr(503), Transient, "server answered 503"},
		{httpErr(429), Transient, "server answered 429"},
		{httpErr(401), Denied, "authentication failed"},
		{httpErr(403), Denied, "authentication failed"},
		{httpErr(404), NotFound, "repository not found"},
		{httpErr(400), Permanent, "server answered 400"},
		{refused, Transient, "connection refused"},
		{fmt.Errorf("fetch: %w", syscall.ECONNRESET), Transient, "connection reset"},
		{plumbing.NewUnexpectedError(io.ErrUnexpectedEOF), Transient, "connection cut mid-transfer"},
		{&url.Error{Op: "Get", URL: "https://x", Err: &net.DNSError{Name: "x.example", IsNotFound: true}}, Transient, "cannot resolve host x.example"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}, Transient, "network unreachable"},
		{transport.ErrEmptyRemoteRepository, Permanent, "remote repository is empty"},
	} {
		c, desc := classify(tc.err)
		if c != tc.want || desc != tc.desc {
			t.Errorf("classify(%v) = %d %q, want %d %q", tc.err, c, desc, tc.want, tc.desc)
		}
	}
}

func TestRetry(t *testing.T) {
	calls := 0
	n, err := retry(context.Background(), Policy{Retries: 3, Backoff: time.Microsecond}, func(context.Context) error {
		calls++
		if calls < 3 {
			return syscall.ECONNRESET
		}
		return nil
	})
	if n != 3 || err != nil {
		t.Errorf("retry = %d, %v; want 3 attempts and success", n, err)
	}
	n, err = retry(context.Background(), Policy{Retries: 3, Backoff: time.Microsecond}, func(context.Context) error { return transport.ErrAuthenticationRequired })
	if n != 1 || !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Errorf("auth failure: %d attempts, %v; want 1", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, _ = retry(ctx, Policy{Retries: 3, Backoff: time.Hour}, func(context.Context) error {
		cancel()
		return syscall.ECONNRESET
	})
	if n != 1 {
		t.Errorf("cancelled: %d attempts, want 1", n)
	}
}

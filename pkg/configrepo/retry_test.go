package configrepo

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
		want class
		desc string
	}{
		{httpErr(500), transient, "server answered 500"},
		{httpErr(503), transient, "server answered 503"},
		{httpErr(429), transient, "server answered 429"},
		{httpErr(401), denied, "authentication failed"},
		{httpErr(403), denied, "authentication failed"},
		{httpErr(404), notFound, "repository not found"},
		{httpErr(400), permanent, "server answered 400"},
		{refused, transient, "connection refused"},
		{fmt.Errorf("fetch: %w", syscall.ECONNRESET), transient, "connection reset"},
		{plumbing.NewUnexpectedError(io.ErrUnexpectedEOF), transient, "connection cut mid-transfer"},
		{&url.Error{Op: "Get", URL: "https://x", Err: &net.DNSError{Name: "x.example", IsNotFound: true}}, transient, "cannot resolve host x.example"},
		{&net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}, transient, "network unreachable"},
		{transport.ErrEmptyRemoteRepository, permanent, "remote repository is empty"},
	} {
		c, desc := classify(tc.err)
		if c != tc.want || desc != tc.desc {
			t.Errorf("classify(%v) = %d %q, want %d %q", tc.err, c, desc, tc.want, tc.desc)
		}
	}
}

func TestRetry(t *testing.T) {
	calls := 0
	n, err := retry(context.Background(), 3, time.Microsecond, 0, func(context.Context) error {
		calls++
		if calls < 3 {
			return syscall.ECONNRESET
		}
		return nil
	})
	if n != 3 || err != nil {
		t.Errorf("retry = %d, %v; want 3 attempts and success", n, err)
	}
	n, err = retry(context.Background(), 3, time.Microsecond, 0, func(context.Context) error { return transport.ErrAuthenticationRequired })
	if n != 1 || !errors.Is(err, transport.ErrAuthenticationRequired) {
		t.Errorf("auth failure: %d attempts, %v; want 1", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, _ = retry(ctx, 3, time.Hour, 0, func(context.Context) error {
		cancel()
		return syscall.ECONNRESET
	})
	if n != 1 {
		t.Errorf("cancelled: %d attempts, want 1", n)
	}
}

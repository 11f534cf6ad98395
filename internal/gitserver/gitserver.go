// Package gitserver serves bare git repositories over smart HTTP with the real `git http-backend`
// behind net/http/cgi on loopback. Tests use it for fetch and push, with optional token auth and
// injected faults (errors, delay, connections cut mid-pack, answers truncated mid-stream).
package gitserver

import (
	"bufio"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure the server. The zero value serves every repository under Root without auth.
type Options struct {
	// Token, when set, is required as the password of HTTP basic auth (any user name).
	Token string
}

// Fault is injected into the next requests; see Server.Inject.
type Fault struct {
	Status   int           // answer this HTTP status instead of serving (e.g. 500)
	Delay    time.Duration // sleep before serving
	CutAfter int           // serve, but close the connection after this many response bytes
	// Truncate answers with only the first Truncate bytes of the real body, as a complete response
	// (Content-Length set to match): the git protocol stream stops mid-way with no transport error,
	// as from a proxy that cuts a non-chunked response. Aimed at the ref advertisement (info/refs).
	Truncate int
}

// Server is a running git smart-HTTP server.
type Server struct {
	URL  string // base URL, e.g. http://127.0.0.1:41234
	Root string // directory holding the bare repositories

	opts     Options
	srv      *httptest.Server
	backend  string
	requests atomic.Int64
	sent     atomic.Int64
	mu       sync.Mutex
	faults   []Fault
}

// Start serves the bare repositories under root (root/<name>.git or root/<name>).
func Start(root string, opts Options) (*Server, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("find git exec path: %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	s := &Server{Root: root, opts: opts, backend: backend}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener = &countingListener{Listener: s.srv.Listener, n: &s.sent}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// RepoURL is the clone URL of the repository name (relative to Root).
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name }

// Requests counts the HTTP requests received so far (including rejected ones).
func (s *Server) Requests() int { return int(s.requests.Load()) }

// BytesSent counts the bytes written to clients so far (headers included), to show how much a
// fetch transferred.
func (s *Server) BytesSent() int64 { return s.sent.Load() }

// Inject queues faults: each of the next len(faults) requests gets one, in order.
func (s *Server) Inject(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

func (s *Server) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	s.faults = s.faults[1:]
	return f, true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.opts.Token != "" {
		_, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
	}
	f, faulty := s.nextFault()
	if faulty && f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if faulty && f.Status != 0 {
		http.Error(w, http.StatusText(f.Status), f.Status)
		return
	}
	h := &cgi.Handler{
		Path: s.backend,
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.Root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=cac-test", // enables receive-pack (push)
		},
	}
	if faulty && f.Truncate > 0 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		body = body[:min(f.Truncate, len(body))]
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
		return
	}
	if faulty && f.CutAfter > 0 {
		w = &cutWriter{ResponseWriter: w, left: f.CutAfter}
	}
	h.ServeHTTP(w, r)
}

// cutWriter forwards at most left bytes, then hijacks and closes the connection, so the client sees a
// response that stops mid-stream.
type cutWriter struct {
	http.ResponseWriter
	left int
	cut  bool
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.cut {
		return 0, net.ErrClosed
	}
	if len(p) <= c.left {
		c.left -= len(p)
		return c.ResponseWriter.Write(p)
	}
	n, _ := c.ResponseWriter.Write(p[:c.left])
	c.left = 0
	c.cut = true
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	if hj, ok := c.ResponseWriter.(http.Hijacker); ok {
		if conn, buf, err := hj.Hijack(); err == nil {
			flushAndClose(conn, buf)
		}
	}
	return n, net.ErrClosed
}

func flushAndClose(conn net.Conn, buf *bufio.ReadWriter) {
	_ = buf.Flush()
	_ = conn.Close()
}

// countingListener counts every byte written to accepted connections.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

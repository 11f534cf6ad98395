// Package stdsource reads a standard, its whitelists and the service registry from where they are
// kept (docs/design.md §3): a local file, an https URL, or a file in a git repository at a branch
// or tag. Remote copies are cached and revalidated on every read: a conditional request
// (If-None-Match, If-Modified-Since) for https, the ref's commit (ls-remote) for git. When the
// server cannot be reached the cached copy is used, with a warning. The rules engine
// (pkg/standard) parses the bytes; it never fetches.
//
//	std, err := stdsource.Open(ctx, ref, stdsource.Options{CacheDir: dir, Stderr: os.Stderr})
package stdsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/obs"
	"github.com/cacproj/cac/pkg/standard"
)

// Options control how standards are read.
type Options struct {
	// CacheDir keeps remote standards (and their validators) so an unchanged one is not
	// downloaded again and an unreachable server does not stop a build; "" disables the cache.
	CacheDir string
	// Policy bounds every remote read (budget, timeout per attempt, retries).
	Policy gitremote.Policy
	// Client is used for http(s) refs; nil means http.DefaultClient.
	Client *http.Client
	// Getenv reads git credentials (see gitremote.Open); nil means os.Getenv.
	Getenv func(string) string
	// Stderr receives warnings (a cached copy used because the server is unreachable); nil
	// discards them.
	Stderr io.Writer
}

// Source reads refs, asking each git repository for a ref's commit and cloning it at most once.
// One Source serves one run: a standard and its whitelists are read at the same commit.
type Source struct {
	opt     Options
	commits map[string]plumbing.Hash          // repo@rev → commit, resolved this run
	names   map[string]plumbing.ReferenceName // repo@rev → the branch or tag rev names
	trees   map[string]*object.Tree           // repo@rev → tree at commits[repo@rev]
	offline map[string]bool                   // repo@rev or URL that could not be reached this run
}

// New returns a Source reading with opt.
func New(opt Options) *Source {
	if opt.Stderr == nil {
		opt.Stderr = io.Discard
	}
	return &Source{opt: opt, commits: map[string]plumbing.Hash{}, names: map[string]plumbing.ReferenceName{},
		trees: map[string]*object.Tree{}, offline: map[string]bool{}}
}

// Open reads and loads the standard at ref (see Source.Read; "" is the standard built into
// cac), resolving its `$whitelist` files relative to it: beside the local file, the URL, or the
// file in the git repository.
func Open(ctx context.Context, ref string, opt Options) (*standard.Standard, error) {
	if ref == "" {
		return standard.Default()
	}
	s := New(opt)
	data, name, err := s.Read(ctx, ref)
	if err != nil {
		return nil, err
	}
	read := func(rel string) ([]byte, error) {
		data, _, err := s.Read(ctx, sibling(ref, rel))
		return data, err
	}
	if kind(ref) == refFile {
		dir := filepath.Dir(ref)
		read = func(rel string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel))) }
	}
	return standard.Load(name, data, standard.LoadOptions{ReadFile: read})
}

// LoadRegistry reads the service registry at ref: a YAML or JSON file holding a list of service
// names, or an http(s) URL answering such a list.
func LoadRegistry(ctx context.Context, ref string, opt Options) (*standard.Registry, error) {
	var data []byte
	var err error
	if kind(ref) == refURL {
		data, err = New(opt).fetchURL(ctx, ref, "service registry")
	} else if data, err = os.ReadFile(ref); err != nil {
		err = cacerr.Usage("read service registry: %w", err)
	}
	if err != nil {
		return nil, err
	}
	return standard.ParseRegistry(gitremote.Redact(ref), data)
}

// Read reads a standard (or a file beside it) by ref and returns its bytes and the name to use in
// messages. ref is one of:
//
//	path/to/standard.yaml                a local file
//	https://host/rules/standard.yaml     a URL (http too)
//	https://host/org/rules.git//standard.yaml@v1
//	                                     a file in a git repository at a branch or tag (@ref optional:
//	                                     the default branch), fetched with a shallow in-memory clone
//
// Remote failures (after retries, with no cached copy) are cacerr.Remote errors (exit 3); a
// missing local file, a 4xx answer, or a ref or path missing from the repository are usage
// errors (exit 2). No message carries a credential of ref.
func (s *Source) Read(ctx context.Context, ref string) ([]byte, string, error) {
	switch kind(ref) {
	case refFile:
		data, err := os.ReadFile(ref)
		if err != nil {
			return nil, "", cacerr.Usage("read standard: %w", err)
		}
		return data, filepath.ToSlash(ref), nil
	case refURL:
		data, err := s.fetchURL(ctx, ref, "standard")
		return data, gitremote.Redact(ref), err
	}
	_, file, _, _ := gitRef(ref)
	data, err := s.fetchGit(ctx, ref)
	return data, file, gitremote.RedactError(err, ref)
}

type refKind int

const (
	refFile refKind = iota
	refURL
	refGit
)

// gitRef splits repo//path@rev; ok is false for refs that are not git refs.
func gitRef(ref string) (repo, file, rev string, ok bool) {
	i := strings.Index(ref, "://")
	if i < 0 {
		return "", "", "", false
	}
	j := strings.Index(ref[i+3:], "//")
	if j < 0 {
		return "", "", "", false
	}
	repo, rest := ref[:i+3+j], ref[i+3+j+2:]
	if k := strings.LastIndex(rest, "@"); k >= 0 {
		rest, rev = rest[:k], rest[k+1:]
	}
	return repo, path.Clean(rest), rev, rest != ""
}

func kind(ref string) refKind {
	if _, _, _, ok := gitRef(ref); ok {
		return refGit
	}
	if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") {
		return refURL
	}
	return refFile
}

// sibling is the ref of rel, a path relative to the file ref names.
func sibling(ref, rel string) string {
	switch kind(ref) {
	case refGit:
		repo, file, rev, _ := gitRef(ref)
		s := repo + "//" + path.Join(path.Dir(file), rel)
		if rev != "" {
			s += "@" + rev
		}
		return s
	case refURL:
		base, err := url.Parse(ref)
		if err == nil {
			if r, err := base.Parse(rel); err == nil {
				return r.String()
			}
		}
	}
	return filepath.Join(filepath.Dir(ref), filepath.FromSlash(rel))
}

// entry is a cached copy of a ref: its bytes and what tells whether it is still current.
type entry struct {
	data []byte
	meta meta
	ok   bool
}

type meta struct {
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Commit       string `json:"commit,omitempty"`
}

func (s *Source) cachePath(ref string) string {
	if s.opt.CacheDir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(ref))
	return filepath.Join(s.opt.CacheDir, "standard", hex.EncodeToString(sum[:16])+path.Ext(ref))
}

func (s *Source) cached(ref string) entry {
	p := s.cachePath(ref)
	if p == "" {
		return entry{}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return entry{}
	}
	e := entry{data: data, ok: true}
	if m, err := os.ReadFile(p + ".meta.json"); err == nil {
		_ = json.Unmarshal(m, &e.meta) // unreadable validators only cost a full download
	}
	return e
}

func (s *Source) store(ref string, data []byte, m meta) error {
	p := s.cachePath(ref)
	if p == "" {
		return nil
	}
	mj, err := json.Marshal(m)
	if err == nil {
		err = obs.WriteFileAll(p, data, 0o600)
	}
	if err == nil {
		err = obs.WriteFileAll(p+".meta.json", mj, 0o600)
	}
	if err != nil {
		return cacerr.Usage("cache standard %s: %w", gitremote.Redact(ref), err)
	}
	return nil
}

// fallback returns the cached copy of ref, with a warning naming ref, when err is a remote failure
// and there is one; else err.
func (s *Source) fallback(ref string, c entry, err error) ([]byte, error) {
	if !c.ok || !cacerr.Is(err, cacerr.KindRemote) {
		return nil, err
	}
	fmt.Fprintf(s.opt.Stderr, "cac: WARNING: %v\ncac: WARNING: using the cached copy of %s; it may be out of date\n",
		gitremote.RedactError(err, ref), gitremote.Redact(ref))
	return c.data, nil
}

// fetchURL reads u, revalidating a cached copy with a conditional request; 4xx answers are usage
// errors, network failures and 5xx (after retries) remote errors, for which the cached copy is
// used with a warning.
func (s *Source) fetchURL(ctx context.Context, u, what string) ([]byte, error) {
	c := s.cached(u)
	if s.offline[u] {
		return s.fallback(u, c, cacerr.Remote(fmt.Errorf("fetch %s %s: unreachable earlier in this run", what, u)))
	}
	data, m, err := s.get(ctx, u, what, c)
	err = gitremote.RedactError(err, u)
	switch {
	case err != nil:
		if cacerr.Is(err, cacerr.KindRemote) {
			s.offline[u] = true
		}
		return s.fallback(u, c, err)
	case data == nil: // 304: the cached copy is current
		return c.data, nil
	}
	return data, s.store(u, data, m)
}

// get does the conditional GET; data is nil when the server answers 304 Not Modified.
func (s *Source) get(ctx context.Context, u, what string, c entry) ([]byte, meta, error) {
	client := s.opt.Client
	if client == nil {
		client = http.DefaultClient
	}
	var data []byte
	var m meta
	n, err := gitremote.Do(ctx, s.opt.Policy, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return cacerr.Usage("fetch %s %s: %w", what, u, err)
		}
		if c.ok && c.meta.ETag != "" {
			req.Header.Set("If-None-Match", c.meta.ETag)
		}
		if c.ok && c.meta.LastModified != "" {
			req.Header.Set("If-Modified-Since", c.meta.LastModified)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotModified && c.ok:
			data = nil
			return nil
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return gitremote.MarkTransient(fmt.Errorf("server answered %s", resp.Status))
		case resp.StatusCode != http.StatusOK:
			return cacerr.Usage("fetch %s %s: server answered %s; check the URL", what, u, resp.Status)
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, 32<<20)); err != nil {
			return err
		}
		m = meta{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
		return nil
	})
	switch {
	case err == nil:
		return data, m, nil
	case cacerr.Is(err, cacerr.KindUsage):
		return nil, m, err
	}
	return nil, m, cacerr.Remote(&describedError{msg: fmt.Sprintf("fetch %s %s: %s after %d attempts", what, gitremote.Redact(u), gitremote.Describe(err), n), err: err})
}

// describedError says what failed in its own words; the library's message (which may quote
// addresses) stays in the chain only.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

// fetchGit reads the file of a git ref at the commit its branch or tag points at now, from the
// cache when that commit is the cached one.
func (s *Source) fetchGit(ctx context.Context, ref string) ([]byte, error) {
	repo, file, rev, _ := gitRef(ref)
	c := s.cached(ref)
	key := repo + "@" + rev
	if s.offline[key] {
		return s.fallback(ref, c, cacerr.Remote(fmt.Errorf("standard %s: unreachable earlier in this run", repo)))
	}
	rem, err := gitremote.Open(gitremote.Standard, repo, gitremote.Options{Getenv: s.opt.Getenv, Policy: s.opt.Policy})
	if err != nil {
		return nil, err
	}
	commit, known := s.commits[key]
	if !known {
		var name plumbing.ReferenceName
		if commit, name, err = rem.Resolve(ctx, rev); err != nil {
			return s.remoteFailed(key, ref, c, err)
		}
		s.commits[key], s.names[key] = commit, name
	}
	tree := s.trees[key]
	if tree == nil {
		if c.ok && c.meta.Commit == commit.String() {
			return c.data, nil
		}
		if tree, err = s.clone(ctx, rem, key); err != nil {
			return s.remoteFailed(key, ref, c, err)
		}
	}
	gf, err := tree.File(file)
	if err != nil {
		return nil, cacerr.Usage("read %s from %s at %s: %w", file, rem, revName(rev), err)
	}
	text, err := gf.Contents()
	if err != nil {
		return nil, cacerr.Usage("read %s from %s: %w", file, rem, err)
	}
	data := []byte(text)
	return data, s.store(ref, data, meta{Commit: s.commits[key].String()})
}

// remoteFailed marks key unreachable for the rest of the run after a remote failure, and falls
// back to the cached copy of ref.
func (s *Source) remoteFailed(key, ref string, c entry, err error) ([]byte, error) {
	if gitremote.ClassOf(err) == gitremote.NotFound {
		return nil, cacerr.Wrap(cacerr.KindUsage, err) // a wrong address, not an outage
	}
	if cacerr.Is(err, cacerr.KindRemote) {
		s.offline[key] = true
	}
	return s.fallback(ref, c, err)
}

// clone fetches the tip of the branch or tag resolved for key, shallowly, and keeps its tree. A
// tip that moved since it was resolved is taken as it is now.
func (s *Source) clone(ctx context.Context, rem *gitremote.Remote, key string) (*object.Tree, error) {
	r, err := rem.Clone(ctx, gitremote.CloneOptions{Ref: s.names[key], Depth: 1, NoCheckout: true})
	if err != nil {
		return nil, err
	}
	head, err := r.Head()
	if err != nil {
		return nil, cacerr.Usage("clone standard %s: %w", rem, err)
	}
	cm, err := r.CommitObject(head.Hash())
	if err != nil {
		return nil, cacerr.Usage("clone standard %s: %w", rem, err)
	}
	t, err := cm.Tree()
	if err != nil {
		return nil, cacerr.Usage("clone standard %s: %w", rem, err)
	}
	s.trees[key], s.commits[key] = t, head.Hash()
	return t, nil
}

func revName(rev string) string {
	if rev == "" {
		return "its default branch"
	}
	return rev
}

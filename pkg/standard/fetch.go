package standard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/configrepo"
	"github.com/cacproj/cac/rules"
)

// FetchOptions control how a standard is read from a URL or a git repository.
type FetchOptions struct {
	// CacheDir keeps remote standards by the hash of their ref, so they are fetched once.
	// "" disables the cache.
	CacheDir string
	// MaxAge > 0 refetches cached copies older than this; 0 uses a cached copy however old.
	MaxAge time.Duration
	// Timeout bounds each fetch (all attempts); 0 means 30s.
	Timeout time.Duration
	// Client is used for http(s) refs; nil means http.DefaultClient.
	Client *http.Client
}

const (
	defaultTimeout = 30 * time.Second
	attempts       = 3
)

// Fetch reads a standard (or a file beside it) by ref and returns its bytes and the name to use in
// messages. ref is one of:
//
//	""                                   the default standard built into cac (rules/standard.yaml)
//	path/to/standard.yaml                a local file
//	https://host/rules/standard.yaml     a URL (http too)
//	https://host/org/rules.git//standard.yaml@v1
//	                                     a file in a git repository at a branch or tag (@ref optional:
//	                                     the default branch), fetched with a shallow in-memory clone
//
// Remote failures (after retries) are cacerr.Remote errors (exit 3); a missing local file, a 4xx
// answer or a path missing from the repository are usage errors (exit 2).
func Fetch(ctx context.Context, ref string, opt FetchOptions) ([]byte, string, error) {
	return (&fetcher{opt: opt}).fetch(ctx, ref)
}

// redact removes credentials in ref (user info, token query parameters) from err's message.
func redact(err error, ref string) error {
	if kind(ref) == refFile {
		return err
	}
	return configrepo.RedactError(err, ref)
}

// Open fetches and loads the standard at ref (see Fetch), resolving its `$whitelist` files relative
// to it: beside the local file, the URL, or the file in the git repository.
func Open(ctx context.Context, ref string, opt FetchOptions) (*Standard, error) {
	f := &fetcher{opt: opt}
	if ref == "" {
		return Load(rules.StandardName, rules.Standard, LoadOptions{ReadFile: FSReader(rules.FS)})
	}
	data, name, err := f.fetch(ctx, ref)
	if err != nil {
		return nil, err
	}
	read := func(rel string) ([]byte, error) {
		data, _, err := f.fetch(ctx, sibling(ref, rel))
		return data, err
	}
	if kind(ref) == refFile {
		dir := filepath.Dir(ref)
		read = func(rel string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel))) }
	}
	return Load(name, data, LoadOptions{ReadFile: read})
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

// fetcher fetches refs, cloning each git repository at most once.
type fetcher struct {
	opt   FetchOptions
	trees map[string]*object.Tree
}

func (f *fetcher) fetch(ctx context.Context, ref string) ([]byte, string, error) {
	data, name, err := f.fetchRef(ctx, ref)
	return data, name, redact(err, ref)
}

func (f *fetcher) fetchRef(ctx context.Context, ref string) ([]byte, string, error) {
	k := kind(ref)
	if k == refFile {
		data, err := os.ReadFile(ref)
		if err != nil {
			return nil, "", cacerr.Usage("read standard: %w", err)
		}
		return data, filepath.ToSlash(ref), nil
	}
	name := configrepo.Redact(ref) // the standard's findings name it
	if k == refGit {
		_, name, _, _ = gitRef(ref)
	}
	cache := f.cachePath(ref)
	if cache != "" {
		if st, err := os.Stat(cache); err == nil && (f.opt.MaxAge <= 0 || time.Since(st.ModTime()) < f.opt.MaxAge) {
			if data, err := os.ReadFile(cache); err == nil {
				return data, name, nil
			}
		}
	}
	timeout := f.opt.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var data []byte
	var err error
	if k == refGit {
		data, err = f.fetchGit(ctx, ref)
	} else {
		data, err = fetchURL(ctx, f.opt.Client, ref)
	}
	if err != nil {
		return nil, "", err
	}
	if cache != "" {
		if err := writeAtomic(cache, data); err != nil {
			return nil, "", cacerr.Usage("cache standard %s: %w", ref, err)
		}
	}
	return data, name, nil
}

func (f *fetcher) cachePath(ref string) string {
	if f.opt.CacheDir == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(ref))
	return filepath.Join(f.opt.CacheDir, "standard", hex.EncodeToString(sum[:16])+path.Ext(ref))
}

func writeAtomic(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// retry runs fn up to `attempts` times while it fails with a retryable error.
func retry(ctx context.Context, fn func() (retryable bool, err error)) error {
	var err error
	for i := 0; i < attempts; i++ {
		var again bool
		if again, err = fn(); err == nil || !again || i == attempts-1 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i+1) * 200 * time.Millisecond):
		}
	}
	return err
}

// httpGet reads a URL; 4xx answers are usage errors, network failures and 5xx remote errors.
func httpGet(ctx context.Context, client *http.Client, u, what string) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	var data []byte
	err := retry(ctx, func() (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return false, cacerr.Usage("fetch %s %s: %w", what, u, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return true, cacerr.Remote(fmt.Errorf("fetch %s %s: %w", what, u, err))
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			return true, cacerr.Remote(fmt.Errorf("fetch %s %s: server answered %s", what, u, resp.Status))
		case resp.StatusCode != http.StatusOK:
			return false, cacerr.Usage("fetch %s %s: server answered %s; check the URL", what, u, resp.Status)
		}
		data, err = io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		if err != nil {
			return true, cacerr.Remote(fmt.Errorf("fetch %s %s: %w", what, u, err))
		}
		return false, nil
	})
	return data, err
}

func fetchURL(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	return httpGet(ctx, client, u, "standard")
}

func (f *fetcher) fetchGit(ctx context.Context, ref string) ([]byte, error) {
	repo, file, rev, _ := gitRef(ref)
	key := repo + "@" + rev
	tree, ok := f.trees[key]
	if !ok {
		var err error
		if tree, err = cloneTree(ctx, repo, rev); err != nil {
			return nil, err
		}
		if f.trees == nil {
			f.trees = map[string]*object.Tree{}
		}
		f.trees[key] = tree
	}
	gf, err := tree.File(file)
	if err != nil {
		return nil, cacerr.Usage("read %s from %s at %s: %w", file, repo, revName(rev), err)
	}
	s, err := gf.Contents()
	if err != nil {
		return nil, cacerr.Remote(fmt.Errorf("read %s from %s: %w", file, repo, err))
	}
	return []byte(s), nil
}

func noMatch(err error) bool {
	var nomatch git.NoMatchingRefSpecError
	return errors.As(err, &nomatch) || errors.Is(err, plumbing.ErrReferenceNotFound)
}

func revName(rev string) string {
	if rev == "" {
		return "its default branch"
	}
	return rev
}

// cloneTree clones repo shallowly into memory at rev (a branch, else a tag; "" = default branch).
func cloneTree(ctx context.Context, repo, rev string) (*object.Tree, error) {
	names := []plumbing.ReferenceName{""}
	if rev != "" {
		names = []plumbing.ReferenceName{plumbing.NewBranchReferenceName(rev), plumbing.NewTagReferenceName(rev)}
	}
	var r *git.Repository
	var err error
	for _, name := range names {
		err = retry(ctx, func() (bool, error) {
			r, err = git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
				URL: repo, ReferenceName: name, SingleBranch: true, Depth: 1, Tags: git.NoTags})
			return err != nil && !noMatch(err) && !errors.Is(err, transport.ErrRepositoryNotFound), err
		})
		if !noMatch(err) {
			break // cloned, or failed for a reason another name cannot fix
		}
	}
	switch {
	case noMatch(err):
		return nil, cacerr.Usage("clone %s: no branch or tag %q: %w", repo, rev, err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return nil, cacerr.Usage("clone %s: %w; check the repository URL", repo, err)
	case err != nil:
		return nil, cacerr.Remote(fmt.Errorf("clone %s at %s: %w", repo, revName(rev), err))
	}
	head, err := r.Head()
	if err != nil {
		return nil, cacerr.Remote(fmt.Errorf("clone %s: %w", repo, err))
	}
	c, err := r.CommitObject(head.Hash())
	if err != nil {
		return nil, cacerr.Remote(fmt.Errorf("clone %s: %w", repo, err))
	}
	t, err := c.Tree()
	if err != nil {
		return nil, cacerr.Remote(fmt.Errorf("clone %s: %w", repo, err))
	}
	return t, nil
}

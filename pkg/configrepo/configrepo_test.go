package configrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cacproj/cac/internal/gitfixture"
	"github.com/cacproj/cac/internal/gitserver"
	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/gitremote"
	"github.com/cacproj/cac/pkg/values"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

const token = "s3cret-TOKEN-value"

// env is a fake environment for Options.Getenv.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// noise is incompressible content, so packs are big enough to be cut mid-way.
func noise(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.IntN(26))
	}
	return string(b)
}

// fixture is a config repo with a default branch "trunk" (not main/master, so it must be read
// from HEAD) and a branch "feature-x", served over smart HTTP.
type fixture struct {
	bare string
	srv  *gitserver.Server
	url  string
}

func newFixture(t *testing.T, srvOpts gitserver.Options) *fixture {
	t.Helper()
	root := t.TempDir()
	bare := gitfixture.Bare(t, root, "config", map[string]map[string]string{
		"trunk":     {"svc/eu.yaml": "who: trunk\n", "svc/big.txt": noise(64 << 10), "_global/eu.yaml": "g: 1\n"},
		"feature-x": {"svc/eu.yaml": "who: feature-x\n"},
	}, "trunk")
	srv, err := gitserver.Start(root, srvOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &fixture{bare: bare, srv: srv, url: srv.RepoURL("config.git")}
}

func revParse(t *testing.T, bare, rev string) string {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", bare, "rev-parse", rev).Output()
	if err != nil {
		t.Fatalf("rev-parse %s: %v", rev, err)
	}
	return strings.TrimSpace(string(out))
}

func readFS(t *testing.T, res *Result, name string) string {
	t.Helper()
	b, err := fs.ReadFile(res.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// gitDir is the bare repository of the one clone in cache.
func gitDir(t *testing.T, cache string) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(cache, "*", "repo.git"))
	if err != nil || len(dirs) != 1 {
		t.Fatalf("cache %s holds %v (%v), want one repo.git", cache, dirs, err)
	}
	return dirs[0]
}

// files lists the files under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fetch(t *testing.T, o Options) (*Result, string) {
	t.Helper()
	var stderr bytes.Buffer
	o.Stderr = &stderr
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	if o.Getenv == nil {
		o.Getenv = env()
	}
	res, err := Fetch(context.Background(), o)
	if err != nil {
		t.Fatalf("Fetch: %v\nstderr: %s", err, stderr.String())
	}
	if o.Cache != "" {
		res.Close() // releases the cache lock; the fetched objects stay for the test to read
	} else {
		t.Cleanup(func() { res.Close() })
	}
	return res, stderr.String()
}

func fetchErr(t *testing.T, ctx context.Context, o Options) (error, string) {
	t.Helper()
	var stderr bytes.Buffer
	o.Stderr = &stderr
	if o.Backoff == 0 {
		o.Backoff = time.Millisecond
	}
	if o.Getenv == nil {
		o.Getenv = env()
	}
	res, err := Fetch(ctx, o)
	if err == nil {
		res.Close()
		t.Fatalf("Fetch succeeded, want an error (result %+v)", res)
	}
	return err, stderr.String()
}

func TestFetchBranchWithToken(t *testing.T) {
	fx := newFixture(t, gitserver.Options{Token: token})
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var progress bytes.Buffer
	res, stderr := fetch(t, Options{URL: fx.url, Branch: "feature-x", Getenv: env("GITHUB_TOKEN", token), Progress: &progress})

	if res.Branch != "feature-x" || res.Requested != "feature-x" || res.Fallback || res.Offline || res.Plain {
		t.Errorf("result = %+v", res)
	}
	if want := revParse(t, fx.bare, "feature-x"); res.Commit != want {
		t.Errorf("Commit = %s, want %s", res.Commit, want)
	}
	if got := readFS(t, res, "svc/eu.yaml"); got != "who: feature-x\n" {
		t.Errorf("svc/eu.yaml = %q", got)
	}
	if _, err := fs.Stat(res.FS, "svc/big.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file of another branch fetched: %v", err)
	}
	if res.URL != fx.url || res.Attempts != 1 || stderr != "" {
		t.Errorf("URL %q attempts %d stderr %q", res.URL, res.Attempts, stderr)
	}
	if progress.Len() == 0 {
		t.Error("no progress written")
	}
	// Nothing is checked out: the files are read from the fetched objects, in memory.
	if got := files(t, tmp); res.Dir != "" || len(got) != 0 {
		t.Errorf("Dir %q; files written to the temporary directory: %v", res.Dir, got)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestFetchFallsBackToDefaultBranch(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	res, stderr := fetch(t, Options{URL: fx.url, Branch: "no-such-branch"})
	if res.Branch != "trunk" || !res.Fallback || res.Requested != "no-such-branch" {
		t.Errorf("result = %+v", res)
	}
	if want := revParse(t, fx.bare, "trunk"); res.Commit != want {
		t.Errorf("Commit = %s, want %s", res.Commit, want)
	}
	if got := readFS(t, res, "svc/eu.yaml"); got != "who: trunk\n" {
		t.Errorf("svc/eu.yaml = %q", got)
	}
	want := fmt.Sprintf("cac: config repo %s has no branch \"no-such-branch\"; using its default branch \"trunk\"\n", fx.url)
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}

	// No branch asked for: the default branch, and that is no fallback.
	res, stderr = fetch(t, Options{URL: fx.url})
	if res.Branch != "trunk" || res.Fallback || stderr != "" {
		t.Errorf("no branch: result %+v, stderr %q", res, stderr)
	}
}

func TestFetchAuthFailures(t *testing.T) {
	fx := newFixture(t, gitserver.Options{Token: token})
	wrong := "wr0ng-" + token
	tokenURL := strings.Replace(fx.url, "http://", "http://x-access-token:"+wrong+"@", 1)
	for _, tc := range []struct {
		name, url string
		env       func(string) string
		hint      string
	}{
		{"wrong token in env", fx.url, env("CAC_GIT_TOKEN", wrong, "GITHUB_TOKEN", token), "check the token in CAC_GIT_TOKEN"},
		{"wrong CI job token", fx.url, env("CI_JOB_TOKEN", wrong), "check the token in CI_JOB_TOKEN"},
		{"no token", fx.url, env(), "set one of CAC_GIT_TOKEN, GITHUB_TOKEN, GITLAB_TOKEN, CI_JOB_TOKEN"},
		{"wrong token in URL", tokenURL, env(), "check the credentials in the config repo URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fx.srv.Requests()
			err, stderr := fetchErr(t, context.Background(), Options{URL: tc.url, Branch: "feature-x", Getenv: tc.env})
			if code := cacerr.ExitCode(err); code != 3 {
				t.Errorf("exit code %d, want 3", code)
			}
			msg := err.Error()
			want := fmt.Sprintf("fetch config repo %s (branch feature-x): authentication failed: ", fx.url)
			if !strings.HasPrefix(msg, want) || !strings.Contains(msg, tc.hint) {
				t.Errorf("error = %q\nwant prefix %q and %q", msg, want, tc.hint)
			}
			for _, secret := range []string{token, wrong, "wr0ng"} {
				if strings.Contains(msg, secret) || strings.Contains(stderr, secret) {
					t.Errorf("secret %q leaked: %q / %q", secret, msg, stderr)
				}
			}
			if n := fx.srv.Requests() - before; n != 1 {
				t.Errorf("auth failure made %d requests, want 1 (no retry)", n)
			}
		})
	}

	t.Run("right token in URL", func(t *testing.T) {
		u := strings.Replace(fx.url, "http://", "http://x:"+token+"@", 1)
		cache := t.TempDir()
		res, _ := fetch(t, Options{URL: u, Branch: "feature-x", Cache: cache})
		if res.URL != fx.url {
			t.Errorf("URL = %q, want it redacted to %q", res.URL, fx.url)
		}
		cfg := readFile(t, filepath.Join(gitDir(t, cache), "config"))
		if strings.Contains(cfg, token) {
			t.Errorf("token written to .git/config:\n%s", cfg)
		}
	})
}

func TestFetchRepositoryNotFound(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	err, _ := fetchErr(t, context.Background(), Options{URL: fx.srv.RepoURL("nope.git"), Branch: "main"})
	want := fmt.Sprintf("fetch config repo %s (branch main): repository not found: check the URL, and that the token (set one of CAC_GIT_TOKEN, GITHUB_TOKEN, GITLAB_TOKEN, CI_JOB_TOKEN) can read it", fx.srv.RepoURL("nope.git"))
	if err.Error() != want || cacerr.ExitCode(err) != 3 {
		t.Errorf("error = %q (exit %d)\nwant    %q", err, cacerr.ExitCode(err), want)
	}
	if fx.srv.Requests() != 1 {
		t.Errorf("requests = %d, want 1 (no retry)", fx.srv.Requests())
	}
}

func TestFetchRetriesServerErrors(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	fx.srv.Inject(gitserver.Fault{Status: 500}, gitserver.Fault{Status: 503})
	res, _ := fetch(t, Options{URL: fx.url, Branch: "feature-x"})
	if res.Attempts != 3 || res.Commit != revParse(t, fx.bare, "feature-x") {
		t.Errorf("attempts %d commit %s", res.Attempts, res.Commit)
	}

	fx.srv.Inject(gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500},
		gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500})
	before := fx.srv.Requests()
	err, _ := fetchErr(t, context.Background(), Options{URL: fx.url, Branch: "feature-x"})
	want := fmt.Sprintf("fetch config repo %s (branch feature-x): server answered 500 after 4 attempts", fx.url)
	if err.Error() != want || cacerr.ExitCode(err) != 3 {
		t.Errorf("error = %q (exit %d)\nwant    %q", err, cacerr.ExitCode(err), want)
	}
	if n := fx.srv.Requests() - before; n != 4 {
		t.Errorf("requests = %d, want 4 (Retries 3 + 1)", n)
	}

	fx.srv.Inject(gitserver.Fault{Status: 500}, gitserver.Fault{Status: 500})
	err, _ = fetchErr(t, context.Background(), Options{URL: fx.url, Branch: "feature-x", Retries: 1})
	if !strings.HasSuffix(err.Error(), "server answered 500 after 2 attempts") {
		t.Errorf("Retries 1: %q", err)
	}
}

func TestFetchRetriesCutPack(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	// The first request (ref advertisement) passes; the pack answer is cut after 4 KiB of ~64 KiB.
	fx.srv.Inject(gitserver.Fault{}, gitserver.Fault{CutAfter: 4 << 10})
	res, _ := fetch(t, Options{URL: fx.url, Branch: "trunk"})
	if res.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", res.Attempts)
	}
	if got := readFS(t, res, "svc/big.txt"); got != noise(64<<10) {
		t.Errorf("svc/big.txt differs after a retried cut pack (%d bytes)", len(got))
	}

	for range 4 {
		fx.srv.Inject(gitserver.Fault{}, gitserver.Fault{CutAfter: 4 << 10})
	}
	err, _ := fetchErr(t, context.Background(), Options{URL: fx.url, Branch: "trunk"})
	want := fmt.Sprintf("fetch config repo %s (branch trunk): connection cut mid-transfer after 4 attempts", fx.url)
	if err.Error() != want || cacerr.ExitCode(err) != 3 {
		t.Errorf("error = %q (exit %d)\nwant    %q", err, cacerr.ExitCode(err), want)
	}
}

func TestFetchConnectionRefused(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	fx.srv.Close()
	err, _ := fetchErr(t, context.Background(), Options{URL: fx.url, Branch: "trunk", Retries: 2})
	want := fmt.Sprintf("fetch config repo %s (branch trunk): connection refused after 3 attempts", fx.url)
	if err.Error() != want || cacerr.ExitCode(err) != 3 {
		t.Errorf("error = %q (exit %d)\nwant    %q", err, cacerr.ExitCode(err), want)
	}
}

func TestFetchContextDeadline(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	fx.srv.Inject(gitserver.Fault{Delay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err, _ := fetchErr(t, ctx, Options{URL: fx.url, Branch: "trunk"})
	if !errors.Is(err, context.DeadlineExceeded) || cacerr.ExitCode(err) != 3 {
		t.Errorf("error = %v (exit %d), want a deadline error with exit 3", err, cacerr.ExitCode(err))
	}
	if fx.srv.Requests() != 1 {
		t.Errorf("requests = %d: retried after the deadline", fx.srv.Requests())
	}
}

func TestFetchRetriesStalledServer(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	// every attempt meets a server that does not answer within the attempt's time
	fx.srv.Inject(gitserver.Fault{Delay: time.Minute}, gitserver.Fault{Delay: time.Minute}, gitserver.Fault{Delay: time.Minute})
	err, _ := fetchErr(t, context.Background(), Options{URL: fx.url, Branch: "trunk", Retries: 2, Backoff: time.Millisecond, Timeout: 100 * time.Millisecond})
	want := fmt.Sprintf("fetch config repo %s (branch trunk): timed out after 3 attempts", fx.url)
	if err == nil || err.Error() != want || cacerr.ExitCode(err) != 3 {
		t.Errorf("error = %v (exit %d)\nwant    %q", err, cacerr.ExitCode(err), want)
	}
	if fx.srv.Requests() != 3 {
		t.Errorf("requests = %d, want one per attempt", fx.srv.Requests())
	}
	// a server that stalls once is retried and the fetch succeeds
	fx.srv.Inject(gitserver.Fault{Delay: time.Minute})
	res, _ := fetch(t, Options{URL: fx.url, Branch: "trunk", Retries: 2, Backoff: time.Millisecond, Timeout: time.Second})
	if res.Attempts < 2 {
		t.Errorf("attempts = %d: the stalled attempt was not cut off", res.Attempts)
	}
}

func TestFetchCacheIsIncremental(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	cache := t.TempDir()
	first, _ := fetch(t, Options{URL: fx.url, Branch: "trunk", Cache: cache})
	firstBytes := fx.srv.BytesSent()
	gitDir := gitDir(t, cache)
	marker := filepath.Join(gitDir, "cac-test-marker")
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The cache holds objects only: no checkout of the files beside repo.git.
	if entries, err := os.ReadDir(filepath.Dir(gitDir)); err != nil || len(entries) != 1 {
		t.Errorf("cache entry holds %v (%v), want repo.git only", entries, err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	h := gitfixture.Commit(t, fx.bare, "trunk", map[string]string{"svc/eu.yaml": "who: trunk v2\n"}, "v2")
	second, _ := fetch(t, Options{URL: fx.url, Branch: "trunk", Cache: cache})
	secondBytes := fx.srv.BytesSent() - firstBytes
	if second.Commit != h.String() {
		t.Errorf("second fetch: commit %s, want %s", second.Commit, h)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("cached clone was not reused: %v", err)
	}
	if got := readFS(t, second, "svc/eu.yaml"); got != "who: trunk v2\n" {
		t.Errorf("svc/eu.yaml = %q", got)
	}
	// Only the new commit's objects came over, not the 64 KiB blob again.
	t.Logf("bytes sent: first fetch %d, second %d", firstBytes, secondBytes)
	if secondBytes*4 > firstBytes {
		t.Errorf("second fetch sent %d bytes, first %d: not incremental", secondBytes, firstBytes)
	}
	if out, err := exec.Command("git", "--git-dir", gitDir, "fsck").CombinedOutput(); err != nil {
		t.Errorf("git fsck of the cached clone: %v\n%s", err, out)
	}

	// Another branch in the same cache: its files only.
	third, _ := fetch(t, Options{URL: fx.url, Branch: "feature-x", Cache: cache})
	if third.Branch != "feature-x" {
		t.Errorf("third fetch: %+v", third)
	}
	if _, err := fs.Stat(third.FS, "svc/big.txt"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("trunk's file in feature-x: %v", err)
	}
	if got := readFS(t, third, "svc/eu.yaml"); got != "who: feature-x\n" {
		t.Errorf("svc/eu.yaml = %q", got)
	}
}

func TestFetchCacheAfterHistoryRewrite(t *testing.T) {
	root := t.TempDir()
	// P0 on trunk, and side pointing at P0 too; then A on trunk.
	bare := gitfixture.Bare(t, root, "config", map[string]map[string]string{
		"trunk": {"k.yaml": "k: v0\n", "big.txt": noise(32 << 10)},
	}, "trunk")
	repo, err := git.PlainOpen(bare)
	if err != nil {
		t.Fatal(err)
	}
	setBranch := func(name string, h plumbing.Hash) {
		if err := repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(name), h)); err != nil {
			t.Fatal(err)
		}
	}
	setBranch("side", plumbing.NewHash(revParse(t, bare, "trunk")))
	gitfixture.Commit(t, bare, "trunk", map[string]string{"k.yaml": "k: v1\n"}, "A")
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cache := t.TempDir()
	first, _ := fetch(t, Options{URL: srv.RepoURL("config.git"), Branch: "trunk", Cache: cache})

	// Force-push trunk to X, a child of P0 whose k.yaml blob is only reachable from P0, which the
	// shallow cache never had.
	x := gitfixture.Commit(t, bare, "side", map[string]string{"other.yaml": "o: 1\n"}, "X")
	setBranch("trunk", x)

	res, stderr := fetch(t, Options{URL: srv.RepoURL("config.git"), Branch: "trunk", Cache: cache})
	if res.Commit != x.String() || first.Commit == res.Commit {
		t.Errorf("after rewrite: commit %s (first %s), want %s", res.Commit, first.Commit, x)
	}
	if got := readFS(t, res, "k.yaml"); got != "k: v0\n" {
		t.Errorf("k.yaml = %q", got)
	}
	if !strings.Contains(stderr, "cloning it again") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestFetchOfflineFallback(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	cache := t.TempDir()
	first, _ := fetch(t, Options{URL: fx.url, Branch: "feature-x", Cache: cache})
	fellBack := t.TempDir()
	fetch(t, Options{URL: fx.url, Branch: "nope", Cache: fellBack})
	fx.srv.Close()

	err, _ := fetchErr(t, context.Background(), Options{URL: fx.url, Branch: "feature-x", Cache: cache, Retries: -1})
	if cacerr.ExitCode(err) != 3 {
		t.Errorf("without OfflineFallback: %v", err)
	}

	res, stderr := fetch(t, Options{URL: fx.url, Branch: "feature-x", Cache: cache, OfflineFallback: true, Retries: 1})
	if !res.Offline || res.Commit != first.Commit || res.Branch != "feature-x" || res.Fallback {
		t.Errorf("offline result = %+v", res)
	}
	want := fmt.Sprintf("cac: WARNING: fetch config repo %s (branch feature-x): connection refused after 2 attempts\n"+
		"cac: WARNING: using the cached clone of branch \"feature-x\" at commit %s; it may be out of date\n", fx.url, first.Commit)
	if stderr != want {
		t.Errorf("stderr = %q\nwant     %q", stderr, want)
	}

	// A branch that fell back to the default branch online does so offline too.
	res, stderr = fetch(t, Options{URL: fx.url, Branch: "nope", Cache: fellBack, OfflineFallback: true, Retries: -1})
	if !res.Offline || !res.Fallback || res.Branch != "trunk" || res.Commit != revParse(t, fx.bare, "trunk") {
		t.Errorf("offline fallback to the default branch: %+v", res)
	}
	if !strings.Contains(stderr, `using the cached clone of branch "trunk"`) {
		t.Errorf("stderr = %q", stderr)
	}

	// A branch never fetched falls back to the default branch only if the cache knows it.
	if err, _ := fetchErr(t, context.Background(), Options{URL: fx.url, Branch: "other", Cache: cache, OfflineFallback: true, Retries: -1}); cacerr.ExitCode(err) != 3 {
		t.Errorf("offline, branch not cached: %v", err)
	}
}

func TestFetchLocalRepository(t *testing.T) {
	fx := newFixture(t, gitserver.Options{})
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, fx.bare)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"file://" + filepath.ToSlash(fx.bare), fx.bare, rel} {
		t.Run(u, func(t *testing.T) {
			res, stderr := fetch(t, Options{URL: u, Branch: "nope"})
			if res.Branch != "trunk" || !res.Fallback || res.Plain || res.Commit != revParse(t, fx.bare, "trunk") {
				t.Errorf("result = %+v", res)
			}
			if !strings.Contains(stderr, `has no branch "nope"; using its default branch "trunk"`) {
				t.Errorf("stderr = %q", stderr)
			}
			if got := readFS(t, res, "svc/eu.yaml"); got != "who: trunk\n" {
				t.Errorf("svc/eu.yaml = %q", got)
			}
		})
	}
}

func TestFetchPlainDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "eu.yaml"), []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, stderr := fetch(t, Options{URL: dir, Branch: "feature-x"})
	if got := readFS(t, res, "eu.yaml"); got != "a: 1\n" {
		t.Errorf("eu.yaml = %q", got)
	}
	got := *res
	got.FS, got.close = nil, nil
	want := Result{Dir: dir, URL: dir, Requested: "feature-x", Plain: true, Elapsed: res.Elapsed}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("result = %+v\nwant     %+v", got, want)
	}
	if stderr != "cac: config repo "+dir+" is not a git repository; using the directory as it is\n" {
		t.Errorf("stderr = %q", stderr)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "eu.yaml")); err != nil {
		t.Errorf("Close touched the user's directory: %v", err)
	}

	err, _ := fetchErr(t, context.Background(), Options{URL: filepath.Join(dir, "missing")})
	if cacerr.ExitCode(err) != 2 {
		t.Errorf("missing directory: exit %d (%v), want 2", cacerr.ExitCode(err), err)
	}
	err, _ = fetchErr(t, context.Background(), Options{})
	if cacerr.ExitCode(err) != 2 {
		t.Errorf("no URL: exit %d (%v), want 2", cacerr.ExitCode(err), err)
	}
}

// BenchmarkFetch measures a fetch of a 300-service × 16-region config repo from a local
// smart-HTTP server: a fresh shallow clone, and an update of a cached clone (nothing new upstream).
func BenchmarkFetch(b *testing.B) {
	files := map[string]string{}
	for r := range 16 {
		files[fmt.Sprintf("_global/region-%02d.yaml", r)] = fmt.Sprintf("env: region-%02d\nmysql:\n  host: db.region-%02d.internal\n", r, r)
		for s := range 300 {
			files[fmt.Sprintf("svc-%03d/region-%02d.yaml", s, r)] = fmt.Sprintf(
				"microService:\n  svc-%03d:\n    replicas: %d\n    image: registry/svc-%03d:1.%d.%d\n    redis:\n      host: redis-%02d.internal\n",
				s, 1+s%5, s, r, s, r)
		}
	}
	root := b.TempDir()
	gitfixture.Bare(b, root, "config", map[string]map[string]string{"main": files}, "main")
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for _, bc := range []struct {
		name  string
		cache string
	}{{"clone", ""}, {"cached", b.TempDir()}} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.cache != "" { // warm the cache: the loop measures updates with nothing new
				res, err := Fetch(context.Background(), Options{URL: srv.RepoURL("config.git"), Branch: "main", Cache: bc.cache})
				if err != nil {
					b.Fatal(err)
				}
				res.Close()
			}
			before := srv.BytesSent()
			for b.Loop() {
				res, err := Fetch(context.Background(), Options{URL: srv.RepoURL("config.git"), Branch: "main", Cache: bc.cache})
				if err != nil {
					b.Fatal(err)
				}
				res.Close()
			}
			b.ReportMetric(float64(srv.BytesSent()-before)/float64(b.N), "sent-B/op")
		})
	}
}

// A build of one service decodes that service's region files and _global/, nothing else of the
// fleet: the other services' files are neither read nor written anywhere.
func TestFetchReadsOnlyOneService(t *testing.T) {
	tree := map[string]string{"_regions.yaml": "regions: {}\n"}
	for _, r := range []string{"eu", "us"} {
		tree["_global/"+r+".yaml"] = "g: " + r + "\n"
		for _, s := range []string{"order", "user", "billing"} {
			tree[s+"/"+r+".yaml"] = "svc: " + s + "-" + r + "\n"
		}
	}
	root := t.TempDir()
	gitfixture.Bare(t, root, "config", map[string]map[string]string{"main": tree}, "main")
	srv, err := gitserver.Start(root, gitserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tmp, cache := t.TempDir(), t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, cached := range []string{"", cache} {
		res, _ := fetch(t, Options{URL: srv.RepoURL("config.git"), Branch: "main", Cache: cached})
		regions, err := values.Regions(res.FS, "order")
		if err != nil || strings.Join(regions, ",") != "eu,us" {
			t.Fatalf("regions %v, %v", regions, err)
		}
		for _, r := range regions {
			v, findings, err := values.Load(res.FS, "order", r)
			if err != nil || len(findings) > 0 || v.Field("svc").Text() != "order-"+r || v.Field("g").Text() != r {
				t.Fatalf("load %s: %v %v %v", r, v, findings, err)
			}
		}
		if n := res.FS.(*gitremote.TreeFS).BlobsRead(); n != 4 {
			t.Errorf("cache %q: read %d blobs, want 4 (order/ and _global/, 2 regions)", cached, n)
		}
	}
	if got := files(t, tmp); len(got) != 0 {
		t.Errorf("files written to the temporary directory: %v", got)
	}
	for _, f := range files(t, cache) {
		if !strings.Contains(f, "/repo.git/") && !strings.HasSuffix(f, ".lock") {
			t.Errorf("cache holds %s: want objects in repo.git (and a lock) only", f)
		}
	}
}

// BenchmarkSparseRead fetches a 300-service × 16-region config repo and reads one service's
// values in every region (what a build reads): without a cache (a shallow fetch into memory) and
// from an up-to-date cache. blobs/op counts the files decoded: 16 regions × (service + _global).
func BenchmarkSparseRead(b *testing.B) {
	files := map[string]string{}
	for r := range 16 {
		files[fmt.Sprintf("_global/region-%02d.yaml", r)] = fmt.Sprintf("env: region-%02d\n", r)
		for s := range 300 {
			files[fmt.Sprintf("svc-%03d/region-%02d.yaml", s, r)] = fmt.Sprintf("replicas: %d\nimage: registry/svc-%03d:1.%d\n", 1+s%5, s, r)
		}
	}
	root := b.TempDir()
	bare := gitfixture.Bare(b, root, "config", map[string]map[string]string{"main": files}, "main")
	for _, bc := range []struct {
		name  string
		cache string
	}{{"clone", ""}, {"cached", b.TempDir()}} {
		b.Run(bc.name, func(b *testing.B) {
			var blobs int64
			b.ReportAllocs()
			for b.Loop() {
				res, err := Fetch(context.Background(), Options{URL: "file://" + bare, Branch: "main", Cache: bc.cache})
				if err != nil {
					b.Fatal(err)
				}
				regions, err := values.Regions(res.FS, "svc-042")
				if err != nil || len(regions) != 16 {
					b.Fatal(regions, err)
				}
				for _, r := range regions {
					if _, _, err := values.Load(res.FS, "svc-042", r); err != nil {
						b.Fatal(err)
					}
				}
				blobs = res.FS.(*gitremote.TreeFS).BlobsRead()
				res.Close()
			}
			b.ReportMetric(float64(blobs), "blobs/op")
		})
	}
}

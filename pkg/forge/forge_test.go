package forge

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cacproj/cac/pkg/cacerr"
	"github.com/cacproj/cac/pkg/diff"
)

var fastRetry = Retry{Attempts: 3, Delay: time.Millisecond}

// forgeCase starts a fake forge and a client of ours pointed at it.
type forgeCase struct {
	name  string
	token string
	limit int // the forge's real comment limit in characters, which its fake enforces
	split int // the limit TestUpsert lays parts out for
	start func(t *testing.T) (*fake, Forge)
}

var forgeCases = []forgeCase{
	{
		name: "github enterprise", token: "ghp_T0KEN-github", limit: 65536, split: GitHubMaxCommentChars,
		start: func(t *testing.T) (*fake, Forge) {
			f := startGitHub(t, "/api/v3", "ghp_T0KEN-github")
			g, err := NewGitHub(Target{Kind: GitHubKind, APIURL: f.srv.URL + "/api/v3", Token: "ghp_T0KEN-github", Repo: "o/r", Number: 7}, f.srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			g.Retry = fastRetry
			return f, g
		},
	},
	{
		name: "gitlab private token", token: "glpat-T0KEN-gitlab", limit: 1000000, split: GitLabMaxCommentChars,
		start: func(t *testing.T) (*fake, Forge) {
			f := startGitLab(t, "glpat-T0KEN-gitlab", false)
			g, err := NewGitLab(Target{Kind: GitLabKind, APIURL: f.srv.URL + "/api/v4", Token: "glpat-T0KEN-gitlab", Project: "42", Number: 7}, f.srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			g.Retry = fastRetry
			return f, g
		},
	},
	{
		// Smaller parts than GitLab allows: the megabyte-sized case above is enough once.
		name: "gitlab job token", token: "job-T0KEN-gitlab", limit: 1000000, split: GitHubMaxCommentChars,
		start: func(t *testing.T) (*fake, Forge) {
			f := startGitLab(t, "job-T0KEN-gitlab", true)
			g, err := NewGitLab(Target{Kind: GitLabKind, APIURL: f.srv.URL + "/api/v4", Token: "job-T0KEN-gitlab", JobToken: true, Project: "group/app", Number: 7}, f.srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			g.Retry = fastRetry
			return f, g
		},
	},
}

const (
	marker     = "cac-diff:svc"
	oldSecret  = "old-Pa55word-xyz"
	headSecret = "new-Pa55word-xyz"
)

// parts renders a diff of files×100 changed lines, each carrying a secret, into comment parts.
func parts(t *testing.T, files, limit int) []string {
	t.Helper()
	base, head := diff.Tree{"eu-west": {}}, diff.Tree{"eu-west": {}}
	for i := range files {
		var b, h strings.Builder
		for j := range 100 {
			fmt.Fprintf(&b, "key_%03d = \"%s-%d\"\n", j, oldSecret, i)
			fmt.Fprintf(&h, "key_%03d = \"%s-%d\"\n", j, headSecret, i+j)
		}
		path := fmt.Sprintf("conf/file-%03d.toml", i)
		base["eu-west"][path], head["eu-west"][path] = []byte(b.String()), []byte(h.String())
	}
	r := diff.Compute(base, head, diff.Options{Secrets: []diff.Secret{{Path: "db.password", Base: oldSecret, Head: headSecret}}})
	return diff.Markdown(r, diff.MarkdownOptions{USN: "svc", Limit: limit,
		MarkerLine: func(n int) string { return MarkerLine(marker, n) }})
}

// methods is the log as "GET POST ...".
func methods(log []string) string {
	var m []string
	for _, l := range log {
		m = append(m, strings.Fields(l)[0])
	}
	return strings.Join(m, " ")
}

func bodies(f *fake) []string {
	var b []string
	for _, c := range f.snapshot() {
		b = append(b, c.Body)
	}
	return b
}

// TestUpsert runs the comment lifecycle of an MR against each fake forge.
func TestUpsert(t *testing.T) {
	ctx := context.Background()
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f, fg := fc.start(t)
			f.seed("LGTM") // a reviewer's comment, never touched
			// About 7.6 KB of diff per file: enough to need several parts.
			big := parts(t, fc.split/7000+1, fc.split)
			if len(big) < 2 {
				t.Fatalf("want a diff of several parts, got %d", len(big))
			}

			// First run: every part is created, each within the forge's limit.
			res, err := Upsert(ctx, fg, marker, big)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Created) != len(big) || len(res.Updated)+len(res.Deleted)+len(res.Unchanged) != 0 {
				t.Fatalf("first run: %+v", res)
			}
			if got, want := methods(f.takeLog()), "GET"+strings.Repeat(" POST", len(big)); got != want {
				t.Errorf("first run sent %q, want %q", got, want)
			}
			if got := bodies(f); !slices.Equal(got, append([]string{"LGTM"}, big...)) {
				t.Errorf("comments after the first run: %d", len(got))
			}
			for i, b := range big {
				if n := utf8.RuneCountInString(b); n > fc.limit {
					t.Errorf("part %d is %d chars, over %d", i+1, n, fc.limit)
				}
			}

			// Second run, same diff: nothing is written.
			res, err = Upsert(ctx, fg, marker, big)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Unchanged) != len(big) || len(res.Created)+len(res.Updated)+len(res.Deleted) != 0 {
				t.Fatalf("second run: %+v", res)
			}
			for _, m := range strings.Fields(methods(f.takeLog())) {
				if m != "GET" {
					t.Errorf("second run wrote: %s", m)
				}
			}

			// The diff shrinks to one part: part 1 is edited in place, the rest deleted.
			small := parts(t, 1, fc.limit)
			res, err = Upsert(ctx, fg, marker, small)
			if err != nil {
				t.Fatal(err)
			}
			firstID := f.snapshot()[1].ID
			if !slices.Equal(res.Updated, []int64{firstID}) || len(res.Created) != 0 || len(res.Deleted) != len(big)-1 {
				t.Fatalf("shrink: %+v", res)
			}
			log := methods(f.takeLog())
			if strings.Contains(log, "POST") || strings.Count(log, "DELETE") != len(big)-1 {
				t.Errorf("shrink sent %q", log)
			}
			if got := bodies(f); !slices.Equal(got, []string{"LGTM", small[0]}) {
				t.Errorf("comments after shrinking: %q", got)
			}

			// A duplicate of part 1 (an earlier run raced us) is removed; the oldest stays.
			dup := f.seed(small[0])[0]
			res, err = Upsert(ctx, fg, marker, small)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Deleted, []int64{dup}) || !slices.Equal(res.Unchanged, []int64{firstID}) {
				t.Fatalf("duplicate: %+v", res)
			}
			if got := f.snapshot(); len(got) != 2 || got[1].ID != firstID {
				t.Errorf("comments after removing the duplicate: %+v", got)
			}

			// No request ever carried a secret value or the token in its body.
			f.mu.Lock()
			defer f.mu.Unlock()
			for _, b := range f.bodies {
				for _, s := range []string{oldSecret, headSecret, fc.token} {
					if strings.Contains(b, s) {
						t.Fatalf("a request body carries %q", s)
					}
				}
			}
		})
	}
}

// TestUpsertPagination finds our comment on the third page.
func TestUpsertPagination(t *testing.T) {
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f, fg := fc.start(t)
			f.seed("a", "b", "c", "d")
			ours := f.seed(MarkerLine(marker, 1) + "\nold")[0]
			f.seed("e")
			res, err := Upsert(context.Background(), fg, marker, []string{MarkerLine(marker, 1) + "\nnew"})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Updated, []int64{ours}) || len(res.Created) != 0 {
				t.Fatalf("%+v", res)
			}
			if got := methods(f.takeLog()); !strings.HasPrefix(got, "GET GET GET ") {
				t.Errorf("sent %q, want three pages listed", got)
			}
		})
	}
}

// TestUpsertKeepsOrder recreates the parts after one a user deleted, so they stay in order.
func TestUpsertKeepsOrder(t *testing.T) {
	f, fg := forgeCases[0].start(t)
	p := func(n int, s string) string { return MarkerLine(marker, n) + "\n" + s }
	ids := f.seed(p(1, "one"), "LGTM", p(3, "three"))
	res, err := Upsert(context.Background(), fg, marker, []string{p(1, "one"), p(2, "two"), p(3, "three")})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Unchanged, ids[:1]) || len(res.Created) != 2 || !slices.Equal(res.Deleted, ids[2:]) {
		t.Fatalf("%+v", res)
	}
	if got := bodies(f); !slices.Equal(got, []string{p(1, "one"), "LGTM", p(2, "two"), p(3, "three")}) {
		t.Errorf("thread: %q", got)
	}
}

func TestUpsertRejectsPartsWithoutMarker(t *testing.T) {
	f, fg := forgeCases[0].start(t)
	_, err := Upsert(context.Background(), fg, marker, []string{MarkerLine(marker, 1), "no marker"})
	if err == nil || !strings.Contains(err.Error(), "part 2") {
		t.Errorf("err = %v", err)
	}
	if log := f.takeLog(); len(log) != 0 {
		t.Errorf("sent %q", log)
	}
}

func TestSetStatus(t *testing.T) {
	long := strings.Repeat("é", 200)
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f, fg := fc.start(t)
			ctx := context.Background()
			if err := fg.SetStatus(ctx, "abc123", StateFailure, StatusContext, "3 files changed", "https://ci.example/job/1"); err != nil {
				t.Fatal(err)
			}
			if err := fg.SetStatus(ctx, "abc123", StateSuccess, StatusContext, long, ""); err != nil {
				t.Fatal(err)
			}
			name, failure := "context", "failure"
			if strings.HasPrefix(fc.name, "gitlab") {
				name, failure = "name", "failed"
			}
			st := f.statuses
			if len(st) != 2 {
				t.Fatalf("%d statuses", len(st))
			}
			want := map[string]any{"sha": "abc123", "state": failure, name: "cac/diff", "description": "3 files changed", "target_url": "https://ci.example/job/1"}
			for k, v := range want {
				if st[0][k] != v {
					t.Errorf("status %s = %v, want %v", k, st[0][k], v)
				}
			}
			if st[1]["state"] != "success" || len([]rune(st[1]["description"].(string))) != 140 {
				t.Errorf("second status %v", st[1])
			}
			if _, ok := st[1]["target_url"]; ok {
				t.Errorf("empty target URL sent")
			}
		})
	}
}

func TestRetry(t *testing.T) {
	ctx := context.Background()
	for _, fc := range forgeCases {
		t.Run(fc.name, func(t *testing.T) {
			f, fg := fc.start(t)

			f.failNext = 2 // two 502s, then the answer
			if _, err := fg.ListComments(ctx); err != nil {
				t.Fatalf("after two 502s: %v", err)
			}
			if got := methods(f.takeLog()); got != "GET GET GET" {
				t.Errorf("sent %q", got)
			}

			f.failNext = 10 // more than the attempts
			_, err := fg.CreateComment(ctx, MarkerLine(marker, 1))
			if !cacerr.Is(err, cacerr.KindRemote) || cacerr.ExitCode(err) != 3 {
				t.Errorf("after retries: %v (exit %d), want a remote error", err, cacerr.ExitCode(err))
			}
			if got := methods(f.takeLog()); got != "POST POST POST" {
				t.Errorf("sent %q, want 3 attempts", got)
			}
			if strings.Contains(err.Error(), fc.token) {
				t.Errorf("error shows the token: %v", err)
			}

			f.failNext, f.failWith = 1, http.StatusUnauthorized // no retry on 401
			err = fg.DeleteComment(ctx, 1)
			if !cacerr.Is(err, cacerr.KindRemote) || !strings.Contains(err.Error(), "check the token") {
				t.Errorf("401: %v", err)
			}
			if got := methods(f.takeLog()); got != "DELETE" {
				t.Errorf("401 sent %q, want one attempt", got)
			}
		})
	}
}

func TestOpenPullRequest(t *testing.T) {
	for _, fc := range forgeCases[:2] {
		t.Run(fc.name, func(t *testing.T) {
			_, fg := fc.start(t)
			ctx := context.Background()
			u1, err := fg.OpenPullRequest(ctx, "cac/publish-eu", "main", "cac publish", "body")
			if err != nil {
				t.Fatal(err)
			}
			u2, err := fg.OpenPullRequest(ctx, "cac/publish-eu", "main", "cac publish", "body")
			if err != nil {
				t.Fatalf("second open: %v", err)
			}
			if !strings.HasSuffix(u1, "/1") || u2 != u1 {
				t.Errorf("urls %q, %q: want the same pull request twice", u1, u2)
			}
		})
	}
}

// TestOpenRequestsFrom: the open pull/merge requests from a branch, asked for as the forge's API
// documents (GitHub head=owner:branch&state=open, GitLab source_branch=branch&state=opened).
func TestOpenRequestsFrom(t *testing.T) {
	wantQuery := map[string]string{"github enterprise": "head=o%3Afeature-x&per_page=100&state=open",
		"gitlab private token": "per_page=100&source_branch=feature-x&state=opened"}
	for _, fc := range forgeCases[:2] {
		t.Run(fc.name, func(t *testing.T) {
			f, fg := fc.start(t)
			ctx := context.Background()
			for _, head := range []string{"feature-x", "other"} {
				if _, err := fg.OpenPullRequest(ctx, head, "main", "t", "b"); err != nil {
					t.Fatal(err)
				}
			}
			f.takeLog()
			f.mu.Lock()
			f.queries = nil
			f.mu.Unlock()
			got, err := fg.(OpenRequestFinder).OpenRequestsFrom(ctx, "feature-x")
			if err != nil {
				t.Fatal(err)
			}
			want := []OpenRequest{{Number: 1, HeadSHA: "sha-feature-x", HeadBranch: "feature-x", BaseBranch: "main"}}
			if fc.name != "github enterprise" {
				want[0].Project = "42"
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			log := f.takeLog()
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(log) != 1 || !strings.HasPrefix(log[0], "GET ") || !strings.HasSuffix(log[0], "/pulls") && !strings.HasSuffix(log[0], "/merge_requests") ||
				len(f.queries) != 1 || f.queries[0] != wantQuery[fc.name] {
				t.Errorf("requests %q, queries %q; want one GET with %q", log, f.queries, wantQuery[fc.name])
			}
		})
	}
}

func TestCommentsNeedNumber(t *testing.T) {
	g, err := NewGitHub(Target{Repo: "o/r", Token: "t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.ListComments(context.Background()); cacerr.ExitCode(err) != 2 || !strings.Contains(err.Error(), "--pr") {
		t.Errorf("err = %v", err)
	}
	if _, err := NewGitHub(Target{Repo: "nope", Token: "t"}, nil); cacerr.ExitCode(err) != 2 {
		t.Errorf("bad repo: %v", err)
	}
	if _, err := NewGitLab(Target{Token: "t"}, nil); cacerr.ExitCode(err) != 2 {
		t.Errorf("no project: %v", err)
	}
	if _, err := Open(Target{Kind: "bitbucket"}, nil); cacerr.ExitCode(err) != 2 {
		t.Errorf("unknown kind: %v", err)
	}
}

// TestMaxCommentChars: a body of MaxCommentChars characters, multi-byte ones included, is taken
// by the forge's fake (which enforces the real limit); one character more is refused, once, as a
// remote error.
func TestMaxCommentChars(t *testing.T) {
	ctx := context.Background()
	for _, fc := range forgeCases[:2] {
		t.Run(fc.name, func(t *testing.T) {
			f, fg := fc.start(t)
			if got := fg.MaxCommentChars(); got != fc.limit {
				t.Fatalf("MaxCommentChars() = %d, the forge takes %d", got, fc.limit)
			}
			unit := "é—🌈x" // 2, 3, 4 and 1 bytes
			body := strings.Repeat(unit, fc.limit/4)
			if _, err := fg.CreateComment(ctx, body); err != nil {
				t.Fatalf("a body of %d characters (%d bytes): %v", utf8.RuneCountInString(body), len(body), err)
			}
			f.takeLog()
			_, err := fg.CreateComment(ctx, body+"x")
			if !cacerr.Is(err, cacerr.KindRemote) || !strings.Contains(err.Error(), "too long") {
				t.Errorf("a body over the limit: %v", err)
			}
			if got := methods(f.takeLog()); got != "POST" {
				t.Errorf("sent %q, want one attempt", got)
			}
		})
	}
}

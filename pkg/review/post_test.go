package review

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/cacproj/cac/pkg/forge"
	"github.com/cacproj/cac/pkg/report"
)

// fakeGitHub is the part of the GitHub REST API cac uses for one pull request (issue comments,
// commit statuses); any other route fails the test. Like GitHub, it refuses a comment body over
// 65,536 characters with 422.
type fakeGitHub struct {
	t        *testing.T
	mu       sync.Mutex
	next     int64
	order    []int64
	comments map[int64]string
	statuses []string // "sha context state: description"
	log      []string
}

func newFakeGitHub(t *testing.T) (*fakeGitHub, forge.Target) {
	f := &fakeGitHub{t: t, next: 100, comments: map[int64]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/repos/acme/user/issues/7/comments", func(w http.ResponseWriter, r *http.Request) {
		var out []map[string]any
		for _, id := range f.order {
			out = append(out, map[string]any{"id": id, "body": f.comments[id]})
		}
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("POST /api/v3/repos/acme/user/issues/7/comments", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ Body string }
		json.NewDecoder(r.Body).Decode(&in)
		if tooLong(w, in.Body) {
			return
		}
		f.next++
		f.order = append(f.order, f.next)
		f.comments[f.next] = in.Body
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": f.next, "body": in.Body})
	})
	mux.HandleFunc("PATCH /api/v3/repos/acme/user/issues/comments/{id}", func(w http.ResponseWriter, r *http.Request) {
		var id int64
		fmt.Sscan(r.PathValue("id"), &id)
		if _, ok := f.comments[id]; !ok {
			http.NotFound(w, r)
			return
		}
		var in struct{ Body string }
		json.NewDecoder(r.Body).Decode(&in)
		if tooLong(w, in.Body) {
			return
		}
		f.comments[id] = in.Body
		json.NewEncoder(w).Encode(map[string]any{"id": id, "body": in.Body})
	})
	mux.HandleFunc("POST /api/v3/repos/acme/user/statuses/{sha}", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ State, Context, Description string }
		json.NewDecoder(r.Body).Decode(&in)
		f.statuses = append(f.statuses, fmt.Sprintf("%s %s %s: %s", r.PathValue("sha"), in.Context, in.State, in.Description))
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": len(f.statuses)})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer ghs_T0KEN" {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		f.log = append(f.log, r.Method+" "+r.URL.Path)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return f, forge.Target{Kind: forge.GitHubKind, APIURL: srv.URL, Token: "ghs_T0KEN", Repo: "acme/user", Number: 7, SHA: "0123456789abcdef0123456789abcdef01234567"}
}

// tooLong answers 422 as GitHub does to a comment body over 65,536 characters.
func tooLong(w http.ResponseWriter, body string) bool {
	if utf8.RuneCountInString(body) <= 65536 {
		return false
	}
	w.WriteHeader(http.StatusUnprocessableEntity)
	json.NewEncoder(w).Encode(map[string]any{"message": "Validation Failed", "errors": []map[string]string{{
		"resource": "IssueComment", "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)"}}})
	return true
}

func (f *fakeGitHub) bodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, id := range f.order {
		out = append(out, f.comments[id])
	}
	return out
}

// TestPost: a head that does not build gets the failure comment and a failing status; after the
// fix, the same comment is edited in place into the diff and the status turns green.
func TestPost(t *testing.T) {
	fake, target := newFakeGitHub(t)
	f, err := forge.Open(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	broken := &Result{
		Head: Side{Name: "feature"},
		Findings: []report.Finding{{Pos: report.Pos{File: "CacRegion_app.ini", Line: 2, Col: 6}, Region: "sg", Path: "db.port",
			Rule: "unresolved", Message: "db.port is not set in region sg", Severity: report.SeverityError}},
	}
	up, err := Post(ctx, f, target, broken, PostOptions{USN: "user", TargetURL: "https://ci.example.com/job/1"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "first post", up, forge.UpsertResult{Created: []int64{101}})
	bodies := fake.bodies()
	if len(bodies) != 1 || !strings.HasPrefix(bodies[0], "<!-- cac-diff:user part 1 -->\n### cac diff: user\n\n:x: **The head does not build** (1 problems)") ||
		!strings.Contains(bodies[0], "CacRegion_app.ini:2:6") || !strings.Contains(bodies[0], "db.port is not set in region sg") {
		t.Errorf("failure comment:\n%s", strings.Join(bodies, "\n---\n"))
	}
	equal(t, "statuses", fake.statuses, []string{target.SHA + " cac/diff failure: the head does not build: 1 problems"})

	// The fix: a real rendered diff from git repos, posted over the failure comment.
	res := secretsResult(t)
	up, err = Post(ctx, f, target, res, PostOptions{USN: "user"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "second post", up, forge.UpsertResult{Updated: []int64{101}})
	bodies = fake.bodies()
	if len(bodies) != 1 {
		t.Fatalf("%d comments, want 1", len(bodies))
	}
	for _, want := range []string{
		"<!-- cac-diff:user part 1 -->\n",
		"<sub>base: code `" + shortSHA(res.Base.CodeCommit) + "` + config `main` · head: code `" + shortSHA(res.Head.CodeCommit) + "` + config `feature`</sub>",
		"+password=<secret sg:db.password: changed>",
	} {
		if !strings.Contains(bodies[0], want) {
			t.Errorf("comment lacks %q:\n%s", want, bodies[0])
		}
	}
	for _, secret := range []string{"pw-sg-old", "pw-us-cur"} {
		if strings.Contains(bodies[0], secret) {
			t.Errorf("comment shows secret %q", secret)
		}
	}
	equal(t, "last status", fake.statuses[len(fake.statuses)-1], target.SHA+" cac/diff success: "+res.Diff.Summary())

	// Nothing new: nothing edited.
	up, err = Post(ctx, f, target, res, PostOptions{USN: "user"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "third post", up, forge.UpsertResult{Unchanged: []int64{101}})
}

// secretsResult is a review of two regions with a rotated secret, from real git repos.
func secretsResult(t *testing.T) *Result {
	t.Helper()
	res := runSecrets(t)
	if res.Diff == nil || !res.Diff.Changed() {
		t.Fatal("the review has no change")
	}
	return res
}

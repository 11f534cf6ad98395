package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/testscript"
)

// fakeGitHub behaves like the parts of the GitHub REST API cac uses: issue comments (list with
// pagination, create, edit, delete) and commit statuses. Any other route fails the request with
// 404 and is recorded, so a script can assert none happened. Open pull requests (pulls) are
// listed by head (GET /repos/{owner}/{repo}/pulls?head=owner:branch&state=open). Like GitHub, it refuses a comment
// body over 65,536 characters with 422.
type fakeGitHub struct {
	mu         sync.Mutex
	token      string
	next       int64
	comments   map[int64]string
	statuses   []string
	pulls      []fakePull
	pullLists  []string // the path and query of every pull request listing
	unexpected []string
}

// fakePull is an open pull request of the fake GitHub.
type fakePull struct {
	Repo            string // owner/name
	Number          int
	Head, SHA, Base string
}

func (f *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	// go-github talks to any API URL but api.github.com as GitHub Enterprise, under /api/v3.
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/api/v3"), "/"), "/")
	switch {
	case r.Method == "GET" && len(parts) == 6 && parts[3] == "issues" && parts[5] == "comments":
		var out []map[string]any
		for _, id := range f.ids() {
			out = append(out, map[string]any{"id": id, "body": f.comments[id]})
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == "POST" && len(parts) == 6 && parts[3] == "issues" && parts[5] == "comments":
		var in struct{ Body string }
		json.NewDecoder(r.Body).Decode(&in)
		if tooLong(w, in.Body) {
			return
		}
		f.next++
		f.comments[f.next] = in.Body
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": f.next, "body": in.Body})
	case (r.Method == "PATCH" || r.Method == "DELETE") && len(parts) == 6 && parts[3] == "issues" && parts[4] == "comments":
		id, _ := strconv.ParseInt(parts[5], 10, 64)
		if _, ok := f.comments[id]; !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method == "DELETE" {
			delete(f.comments, id)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		var in struct{ Body string }
		json.NewDecoder(r.Body).Decode(&in)
		if tooLong(w, in.Body) {
			return
		}
		f.comments[id] = in.Body
		json.NewEncoder(w).Encode(map[string]any{"id": id, "body": in.Body})
	case r.Method == "GET" && len(parts) == 4 && parts[3] == "pulls":
		f.pullLists = append(f.pullLists, r.URL.Path+"?"+r.URL.RawQuery)
		q := r.URL.Query()
		out := []map[string]any{}
		for _, p := range f.pulls {
			if p.Repo == parts[1]+"/"+parts[2] && q.Get("state") == "open" && q.Get("head") == parts[1]+":"+p.Head {
				out = append(out, map[string]any{"number": p.Number, "head": map[string]any{"ref": p.Head, "sha": p.SHA}, "base": map[string]any{"ref": p.Base}})
			}
		}
		json.NewEncoder(w).Encode(out)
	case r.Method == "POST" && len(parts) == 5 && parts[3] == "statuses":
		var in struct{ State, Context, Description string }
		json.NewDecoder(r.Body).Decode(&in)
		f.statuses = append(f.statuses, fmt.Sprintf("%s %s %s: %s", parts[4], in.Context, in.State, in.Description))
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"id": len(f.statuses)})
	default:
		f.unexpected = append(f.unexpected, r.Method+" "+r.URL.Path)
		http.NotFound(w, r)
	}
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

func (f *fakeGitHub) ids() []int64 {
	var ids []int64
	for id := range f.comments {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

type forgeKey struct{}

type forgeHolder struct{ f *fakeGitHub }

// fakegithub TOKEN: start a fake GitHub API and set GITHUB_API_URL to it.
// fakegithub dump: print every comment (id, then body), every status and every unexpected request.
func cmdFakeGitHub(ts *testscript.TestScript, neg bool, args []string) {
	h := ts.Value(forgeKey{}).(*forgeHolder)
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fakegithub TOKEN | fakegithub dump")
	}
	if args[0] == "dump" {
		f := h.f
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, id := range f.ids() {
			fmt.Fprintf(ts.Stdout(), "comment %d:\n%s\n", id, f.comments[id])
		}
		for _, s := range f.statuses {
			fmt.Fprintf(ts.Stdout(), "status %s\n", s)
		}
		for _, u := range f.unexpected {
			fmt.Fprintf(ts.Stdout(), "unexpected %s\n", u)
		}
		return
	}
	h.f = &fakeGitHub{token: args[0], comments: map[int64]string{}}
	srv := httptest.NewServer(h.f)
	ts.Defer(srv.Close)
	ts.Setenv("GITHUB_API_URL", srv.URL)
}

type gitlabKey struct{}

type gitlabHolder struct {
	mu       sync.Mutex
	requests []string
}

// fakegitlab TOKEN SHA BRANCH: start a fake GitLab API whose only route lists the merge requests
// of commit SHA: one, merged from BRANCH by SHA; set CI_API_V4_URL to it. Requests must carry
// TOKEN in the JOB-TOKEN or PRIVATE-TOKEN header.
// fakegitlab dump: print every request (method, path, which token header).
func cmdFakeGitLab(ts *testscript.TestScript, neg bool, args []string) {
	h := ts.Value(gitlabKey{}).(*gitlabHolder)
	if neg || (len(args) != 3 && (len(args) != 1 || args[0] != "dump")) {
		ts.Fatalf("usage: fakegitlab TOKEN SHA BRANCH | fakegitlab dump")
	}
	if args[0] == "dump" {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, r := range h.requests {
			fmt.Fprintln(ts.Stdout(), r)
		}
		return
	}
	token, sha, branch := args[0], args[1], args[2]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := "JOB-TOKEN"
		if r.Header.Get(header) == "" {
			header = "PRIVATE-TOKEN"
		}
		h.mu.Lock()
		h.requests = append(h.requests, r.Method+" "+r.URL.EscapedPath()+" "+header)
		h.mu.Unlock()
		if r.Header.Get(header) != token {
			http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		prefix := "/api/v4/projects/"
		if r.Method != "GET" || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, "/repository/commits/"+sha+"/merge_requests") {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("[]"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode([]map[string]any{{"iid": 12, "state": "merged", "source_branch": branch,
			"target_branch": "main", "sha": "0123", "merge_commit_sha": sha}})
	}))
	ts.Defer(srv.Close)
	ts.Setenv("CI_API_V4_URL", srv.URL+"/api/v4")
}

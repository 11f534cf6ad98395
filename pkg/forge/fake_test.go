package forge

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// fakeComment is a comment or note held by a fake forge.
type fakeComment struct {
	ID     int64  `json:"id"`
	Body   string `json:"body"`
	System bool   `json:"system,omitempty"`
}

// fake is the state a fake forge keeps, shared by the GitHub and GitLab fakes: comments in
// creation order, statuses posted, a log of every request, and faults to inject.
type fake struct {
	t        *testing.T
	mu       sync.Mutex
	comments []fakeComment
	nextID   int64
	statuses []map[string]any
	pulls    []map[string]any
	byCommit map[string][]map[string]any // GitLab: the merge requests of a commit
	log      []string                    // "METHOD path"
	queries  []string                    // every request's query
	bodies   []string                    // every request body
	headers  []http.Header
	pageSize int
	limit    int // largest comment body accepted, in characters, as the real forge counts them
	tooLong  int // the forge's status for a longer one
	tooMsg   any // and its answer
	failNext int // answer the next requests with 502
	failWith int // status for failNext; 502 when 0
	srv      *httptest.Server
}

func newFake(t *testing.T, limit, tooLong int, tooMsg any) *fake {
	return &fake{t: t, nextID: 100, pageSize: 2, limit: limit, tooLong: tooLong, tooMsg: tooMsg}
}

// seed adds comments as if posted earlier, returning their IDs.
func (f *fake) seed(bodies ...string) []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []int64
	for _, b := range bodies {
		f.nextID++
		f.comments = append(f.comments, fakeComment{ID: f.nextID, Body: b})
		ids = append(ids, f.nextID)
	}
	return ids
}

func (f *fake) snapshot() []fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.comments)
}

// takeLog returns and clears the request log.
func (f *fake) takeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log
	f.log = nil
	return l
}

// serve wraps the forge's routes: it logs the request, injects faults, and fails the test on any
// route the mux does not know ("/" catches them).
func (f *fake) serve(mux *http.ServeMux) http.Handler {
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.Error(w, "unexpected route", http.StatusNotFound)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		f.mu.Lock()
		f.log = append(f.log, r.Method+" "+r.URL.Path)
		f.queries = append(f.queries, r.URL.RawQuery)
		f.bodies = append(f.bodies, string(body))
		f.headers = append(f.headers, r.Header.Clone())
		fail := f.failNext > 0
		if fail {
			f.failNext--
		}
		status := cmpOr(f.failWith, http.StatusBadGateway)
		f.mu.Unlock()
		if fail {
			http.Error(w, `{"message":"injected fault"}`, status)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// readBody decodes the JSON body field of a create/update request.
func (f *fake) readBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var in struct {
		Body string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		f.t.Errorf("%s %s: body is not JSON: %v", r.Method, r.URL.Path, err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return "", false
	}
	if utf8.RuneCountInString(in.Body) > f.limit {
		writeJSON(w, f.tooLong, f.tooMsg)
		return "", false
	}
	return in.Body, true
}

func (f *fake) create(body string) fakeComment {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	c := fakeComment{ID: f.nextID, Body: body}
	f.comments = append(f.comments, c)
	return c
}

// update and remove report false when no comment has the id.
func (f *fake) update(id int64, body string) (fakeComment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.comments {
		if f.comments[i].ID == id {
			f.comments[i].Body = body
			return f.comments[i], true
		}
	}
	return fakeComment{}, false
}

func (f *fake) remove(id int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.comments {
		if f.comments[i].ID == id {
			f.comments = slices.Delete(f.comments, i, i+1)
			return true
		}
	}
	return false
}

// page returns comments of 1-based page p and whether there is a next page.
func (f *fake) page(p int) ([]fakeComment, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p = max(p, 1)
	lo := min((p-1)*f.pageSize, len(f.comments))
	hi := min(lo+f.pageSize, len(f.comments))
	return slices.Clone(f.comments[lo:hi]), hi < len(f.comments)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func pathID(t *testing.T, r *http.Request, name string) int64 {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		t.Errorf("%s: %s is not a number", r.URL.Path, name)
	}
	return n
}

// startGitHub serves the GitHub REST routes cac uses under prefix ("" or "/api/v3"), for
// repository o/r and pull request 7, checking the bearer token on every request.
func startGitHub(t *testing.T, prefix, token string) *fake {
	// GitHub refuses a comment body over 65,536 characters with 422.
	f := newFake(t, 65536, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{
		"resource": "IssueComment", "code": "custom", "field": "body",
		"message": "body is too long (maximum is 65536 characters)"}}})
	mux := http.NewServeMux()
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if got := r.Header.Get("Authorization"); got != "Bearer "+token {
				t.Errorf("%s %s: Authorization %q", r.Method, r.URL.Path, got)
			}
			h(w, r)
		}
	}
	repo := prefix + "/repos/o/r"
	mux.HandleFunc("GET "+repo+"/issues/7/comments", auth(func(w http.ResponseWriter, r *http.Request) {
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		cs, more := f.page(p)
		if more {
			next := *r.URL
			q := next.Query()
			q.Set("page", strconv.Itoa(max(p, 1)+1))
			next.RawQuery = q.Encode()
			w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, f.srv.URL, next.String()))
		}
		writeJSON(w, http.StatusOK, cs)
	}))
	mux.HandleFunc("POST "+repo+"/issues/7/comments", auth(func(w http.ResponseWriter, r *http.Request) {
		if body, ok := f.readBody(w, r); ok {
			writeJSON(w, http.StatusCreated, f.create(body))
		}
	}))
	mux.HandleFunc("PATCH "+repo+"/issues/comments/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		body, ok := f.readBody(w, r)
		if !ok {
			return
		}
		c, found := f.update(pathID(t, r, "id"), body)
		if !found {
			t.Errorf("PATCH of a missing comment %s", r.PathValue("id"))
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, c)
	}))
	mux.HandleFunc("DELETE "+repo+"/issues/comments/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		if !f.remove(pathID(t, r, "id")) {
			t.Errorf("DELETE of a missing comment %s", r.PathValue("id"))
			http.Error(w, `{"message":"Not Found"}`, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST "+repo+"/statuses/{sha}", auth(func(w http.ResponseWriter, r *http.Request) {
		var st map[string]any
		if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
			t.Errorf("status body: %v", err)
		}
		st["sha"] = r.PathValue("sha")
		f.mu.Lock()
		f.statuses = append(f.statuses, st)
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, st)
	}))
	mux.HandleFunc("POST "+repo+"/pulls", auth(func(w http.ResponseWriter, r *http.Request) {
		var pr map[string]any
		json.NewDecoder(r.Body).Decode(&pr)
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.pulls {
			if p["head"] == pr["head"] && p["base"] == pr["base"] {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed",
					"errors": []map[string]string{{"message": "A pull request already exists for o:" + pr["head"].(string) + "."}}})
				return
			}
		}
		n := len(f.pulls) + 1
		pr["html_url"] = fmt.Sprintf("https://github.example/o/r/pull/%d", n)
		f.pulls = append(f.pulls, pr)
		writeJSON(w, http.StatusCreated, map[string]any{"number": n, "html_url": pr["html_url"]})
	}))
	mux.HandleFunc("GET "+repo+"/pulls", auth(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		defer f.mu.Unlock()
		var out []map[string]any
		for i, p := range f.pulls {
			if "o:"+p["head"].(string) == q.Get("head") && (q.Get("base") == "" || p["base"] == q.Get("base")) && q.Get("state") == "open" {
				out = append(out, map[string]any{"html_url": p["html_url"], "number": i + 1,
					"head": map[string]any{"ref": p["head"], "sha": "sha-" + p["head"].(string)}, "base": map[string]any{"ref": p["base"]}})
			}
		}
		writeJSON(w, http.StatusOK, out)
	}))
	f.srv = httptest.NewServer(f.serve(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// startGitLab serves the GitLab v4 routes cac uses for project 42 and merge request 7, checking
// that exactly one of the token headers carries token.
func startGitLab(t *testing.T, token string, jobToken bool) *fake {
	// GitLab refuses a note body over 1,000,000 characters with 400.
	f := newFake(t, 1000000, http.StatusBadRequest, map[string]any{"message": `400 (Bad request) "Note {:note=>["is too long (maximum is 1000000 characters)"]}" not given`})
	mux := http.NewServeMux()
	want, other := "Private-Token", "Job-Token"
	if jobToken {
		want, other = other, want
	}
	auth := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if got := r.Header.Get(want); got != token {
				t.Errorf("%s %s: header %s = %q", r.Method, r.URL.Path, want, got)
			}
			if r.Header.Get(other) != "" {
				t.Errorf("%s %s: unexpected header %s", r.Method, r.URL.Path, other)
			}
			h(w, r)
		}
	}
	notes := "/api/v4/projects/{pid}/merge_requests/7/notes"
	checkPID := func(r *http.Request) {
		if pid := r.PathValue("pid"); pid != "42" && pid != "group/app" {
			t.Errorf("%s: project %q", r.URL.Path, pid)
		}
	}
	mux.HandleFunc("GET "+notes, auth(func(w http.ResponseWriter, r *http.Request) {
		checkPID(r)
		p, _ := strconv.Atoi(r.URL.Query().Get("page"))
		cs, more := f.page(p)
		if more {
			w.Header().Set("X-Next-Page", strconv.Itoa(max(p, 1)+1))
		}
		writeJSON(w, http.StatusOK, cs)
	}))
	mux.HandleFunc("POST "+notes, auth(func(w http.ResponseWriter, r *http.Request) {
		checkPID(r)
		if body, ok := f.readBody(w, r); ok {
			writeJSON(w, http.StatusCreated, f.create(body))
		}
	}))
	mux.HandleFunc("PUT "+notes+"/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		body, ok := f.readBody(w, r)
		if !ok {
			return
		}
		c, found := f.update(pathID(t, r, "id"), body)
		if !found {
			t.Errorf("PUT of a missing note %s", r.PathValue("id"))
			http.Error(w, `{"message":"404 Not found"}`, http.StatusNotFound)
			return
		}
		writeJSON(w, http.StatusOK, c)
	}))
	mux.HandleFunc("DELETE "+notes+"/{id}", auth(func(w http.ResponseWriter, r *http.Request) {
		if !f.remove(pathID(t, r, "id")) {
			t.Errorf("DELETE of a missing note %s", r.PathValue("id"))
			http.Error(w, `{"message":"404 Not found"}`, http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("POST /api/v4/projects/{pid}/statuses/{sha}", auth(func(w http.ResponseWriter, r *http.Request) {
		checkPID(r)
		var st map[string]any
		if err := json.NewDecoder(r.Body).Decode(&st); err != nil {
			t.Errorf("status body: %v", err)
		}
		st["sha"] = r.PathValue("sha")
		f.mu.Lock()
		f.statuses = append(f.statuses, st)
		f.mu.Unlock()
		writeJSON(w, http.StatusCreated, st)
	}))
	mux.HandleFunc("POST /api/v4/projects/{pid}/merge_requests", auth(func(w http.ResponseWriter, r *http.Request) {
		var mr map[string]any
		json.NewDecoder(r.Body).Decode(&mr)
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.pulls {
			if p["source_branch"] == mr["source_branch"] && p["target_branch"] == mr["target_branch"] {
				writeJSON(w, http.StatusConflict, map[string]any{"message": []string{"Another open merge request already exists for this source branch: !1"}})
				return
			}
		}
		mr["web_url"] = fmt.Sprintf("https://gitlab.example/group/app/-/merge_requests/%d", len(f.pulls)+1)
		mr["iid"], mr["project_id"], mr["source_project_id"], mr["target_project_id"] = len(f.pulls)+1, 42, 42, 42
		mr["sha"] = "sha-" + mr["source_branch"].(string)
		f.pulls = append(f.pulls, mr)
		writeJSON(w, http.StatusCreated, mr)
	}))
	mux.HandleFunc("GET /api/v4/projects/{pid}/repository/commits/{sha}/merge_requests", auth(func(w http.ResponseWriter, r *http.Request) {
		checkPID(r)
		f.mu.Lock()
		defer f.mu.Unlock()
		writeJSON(w, http.StatusOK, append([]map[string]any{}, f.byCommit[r.PathValue("sha")]...))
	}))
	mux.HandleFunc("GET /api/v4/projects/{pid}/merge_requests", auth(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		f.mu.Lock()
		defer f.mu.Unlock()
		var out []map[string]any
		for _, p := range f.pulls {
			if p["source_branch"] == q.Get("source_branch") && (q.Get("target_branch") == "" || p["target_branch"] == q.Get("target_branch")) && q.Get("state") == "opened" {
				out = append(out, p)
			}
		}
		writeJSON(w, http.StatusOK, out)
	}))
	f.srv = httptest.NewServer(f.serve(mux))
	t.Cleanup(f.srv.Close)
	return f
}

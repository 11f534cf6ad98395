package serve

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

var secret = []byte("s3cret-hook")

const glToken = "gl-hook-t0ken"

// fakeRunner records runs. A run waits until its head sha is released (release), and notes
// whether its context was cancelled by then; with honour set, it returns as soon as it is.
type fakeRunner struct {
	honour  bool
	started chan Job

	mu        sync.Mutex
	runs      []Job
	cancelled map[string]bool
	gates     map[string]chan struct{}
}

func newFakeRunner() *fakeRunner {
	return &fakeRunner{started: make(chan Job, 100), cancelled: map[string]bool{}, gates: map[string]chan struct{}{}}
}

func (f *fakeRunner) gate(sha string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gates[sha] == nil {
		f.gates[sha] = make(chan struct{})
	}
	return f.gates[sha]
}

func (f *fakeRunner) release(sha string) { close(f.gate(sha)) }

func (f *fakeRunner) Run(ctx context.Context, job Job) error {
	f.mu.Lock()
	f.runs = append(f.runs, job)
	f.mu.Unlock()
	f.started <- job
	var done <-chan struct{}
	if f.honour {
		done = ctx.Done()
	}
	select {
	case <-f.gate(job.HeadSHA):
	case <-done:
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ctx.Err() != nil {
		f.cancelled[job.HeadSHA] = true
	}
	return ctx.Err()
}

func (f *fakeRunner) shas() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, j := range f.runs {
		out = append(out, j.HeadSHA)
	}
	return out
}

func ghPayload(action string, number int, sha string) []byte {
	b, _ := json.Marshal(map[string]any{
		"action":     action,
		"number":     number,
		"repository": map[string]any{"full_name": "acme/user"},
		"pull_request": map[string]any{
			"number": number,
			"head":   map[string]any{"sha": sha, "ref": "feature", "repo": map[string]any{"clone_url": "https://github.com/fork/user.git"}},
			"base":   map[string]any{"sha": "b0", "ref": "main", "repo": map[string]any{"clone_url": "https://github.com/acme/user.git", "full_name": "acme/user"}},
		},
	})
	return b
}

const zeros = "0000000000000000000000000000000000000000"

// ghPush is a GitHub push delivery of repo's ref.
func ghPush(repo, ref, after string, deleted bool) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": ref, "before": "sha-before", "after": after, "deleted": deleted,
		"repository": map[string]any{"full_name": repo, "clone_url": "https://github.com/" + repo + ".git", "default_branch": "main"},
	})
	return b
}

func glPayload(action string, iid int, sha, oldrev string) []byte {
	b, _ := json.Marshal(map[string]any{
		"object_kind": "merge_request",
		"event_type":  "merge_request",
		"project":     map[string]any{"id": 42, "path_with_namespace": "shop/user", "git_http_url": "https://gitlab.example.com/shop/user.git"},
		"object_attributes": map[string]any{
			"iid": iid, "action": action, "oldrev": oldrev, "source_branch": "feature", "target_branch": "main",
			"last_commit": map[string]any{"id": sha},
			"source":      map[string]any{"http_url": "https://gitlab.example.com/shop/user.git"},
			"target":      map[string]any{"http_url": "https://gitlab.example.com/shop/user.git"},
		},
	})
	return b
}

func sign(body, key []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// delivery is one request to the webhook endpoint.
type delivery struct {
	method  string
	headers map[string]string
	body    []byte
	chunked bool // no Content-Length
}

func ghHook(event, id string, body []byte) delivery {
	return delivery{body: body, headers: map[string]string{"X-GitHub-Event": event, "X-GitHub-Delivery": id,
		"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, secret)}}
}

func gitlabHook(event, id string, body []byte) delivery {
	return delivery{body: body, headers: map[string]string{"X-Gitlab-Event": event, "X-Gitlab-Event-UUID": id,
		"Content-Type": "application/json", "X-Gitlab-Token": glToken}}
}

func (d delivery) with(k, v string) delivery {
	h := map[string]string{}
	for a, b := range d.headers {
		h[a] = b
	}
	if v == "" {
		delete(h, k)
	} else {
		h[k] = v
	}
	d.headers = h
	return d
}

func send(t testing.TB, client *http.Client, url string, d delivery) (int, answer) {
	t.Helper()
	method := d.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(d.body)
	if d.chunked {
		body = io.MultiReader(body) // hides the length: sent chunked
	}
	req, err := http.NewRequest(method, url+"/webhook", body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range d.headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s answer is not JSON: %v", resp.Status, err)
	}
	io.Copy(io.Discard, resp.Body) // so the connection is reused
	return resp.StatusCode, a
}

func newTestServer(t *testing.T, r Runner, opt Options) (*Server, string) {
	t.Helper()
	opt.Runner = r
	if opt.GitHubSecret == nil {
		opt.GitHubSecret = secret
	}
	if opt.GitLabToken == "" {
		opt.GitLabToken = glToken
	}
	s, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// TestVerify: every delivery that is not signed with the secret, or not carrying the token, is
// refused with 401 and never reaches the runner; verified ones are queued or ignored with a reason.
func TestVerify(t *testing.T) {
	runner := newFakeRunner() // runner.started is not read: its buffer holds the starts
	s, url := newTestServer(t, runner, Options{IgnorePush: func(j Job) string {
		if j.Repo == "acme/config" || j.Project == "15" {
			return ""
		}
		return "not the config repo"
	}})
	glPush, err := os.ReadFile("testdata/gitlab-push-hook.json")
	if err != nil {
		t.Fatal(err)
	}
	ghBody := ghPayload("opened", 1, "sha-gh-ok")
	sha1sig := func(body []byte) string {
		m := hmac.New(sha1.New, secret)
		m.Write(body)
		return "sha1=" + hex.EncodeToString(m.Sum(nil))
	}
	tampered := ghHook("pull_request", "d-tampered", ghPayload("opened", 9, "sha-tampered"))
	tampered.body = ghPayload("opened", 9, "sha-evil")
	form := neturl.Values{"payload": {string(ghPayload("reopened", 10, "sha-form"))}}.Encode()
	tests := []struct {
		name    string
		d       delivery
		status  int
		want    answer
		runsSHA string
	}{
		{"github signed", ghHook("pull_request", "d1", ghBody), 202, answer{Queued: true}, "sha-gh-ok"},
		{"github synchronize", ghHook("pull_request", "d2", ghPayload("synchronize", 2, "sha-sync")), 202, answer{Queued: true}, "sha-sync"},
		{"github form-encoded", delivery{body: []byte(form), headers: map[string]string{"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-form",
			"Content-Type": "application/x-www-form-urlencoded", "X-Hub-Signature-256": sign([]byte(form), secret)}}, 202, answer{Queued: true}, "sha-form"},
		{"github unsigned", ghHook("pull_request", "d3", ghPayload("opened", 3, "sha-x")).with("X-Hub-Signature-256", ""), 401, answer{Error: "no X-Hub-Signature-256 header"}, ""},
		{"github sha1 only", ghHook("pull_request", "d4", ghPayload("opened", 4, "sha-x")).with("X-Hub-Signature-256", "").
			with("X-Hub-Signature", sha1sig(ghPayload("opened", 4, "sha-x"))), 401, answer{Error: "no X-Hub-Signature-256 header"}, ""},
		{"github wrong secret", ghHook("pull_request", "d5", ghBody).with("X-Hub-Signature-256", sign(ghBody, []byte("guess"))), 401, answer{Error: "bad signature"}, ""},
		{"github garbage signature", ghHook("pull_request", "d6", ghBody).with("X-Hub-Signature-256", "sha256=zz"), 401, answer{Error: "bad signature"}, ""},
		{"github tampered body", tampered, 401, answer{Error: "bad signature"}, ""},
		{"github ping", ghHook("ping", "d7", []byte(`{"zen":"hi"}`)), 202, answer{Ignored: "event ping is not pull_request or push"}, ""},
		{"github closed", ghHook("pull_request", "d8", ghPayload("closed", 5, "sha-closed")), 202, answer{Ignored: "pull_request action closed changes no code"}, ""},
		{"github malformed", ghHook("pull_request", "d9", []byte(`{"action":`)), 400, answer{}, ""},
		{"github no head", ghHook("pull_request", "d10", ghPayload("opened", 6, "")), 400, answer{Error: "pull_request payload: no head sha"}, ""},
		{"gitlab token", gitlabHook("Merge Request Hook", "u1", glPayload("open", 1, "sha-gl-ok", "")), 202, answer{Queued: true}, "sha-gl-ok"},
		{"gitlab update with commits", gitlabHook("Merge Request Hook", "u2", glPayload("update", 2, "sha-gl-upd", "old")), 202, answer{Queued: true}, "sha-gl-upd"},
		{"gitlab update without commits", gitlabHook("Merge Request Hook", "u3", glPayload("update", 3, "sha-x", "")), 202, answer{Ignored: "merge request update without new commits"}, ""},
		{"gitlab merge", gitlabHook("Merge Request Hook", "u4", glPayload("merge", 3, "sha-x", "")), 202, answer{Ignored: "merge request action merge changes no code"}, ""},
		{"gitlab push hook", gitlabHook("Push Hook", "u5", glPush), 202, answer{Queued: true}, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7"},
		{"gitlab tag push hook", gitlabHook("Tag Push Hook", "u9", []byte(`{}`)), 202, answer{Ignored: "event Tag Push Hook is not Merge Request Hook or Push Hook"}, ""},
		{"github push", ghHook("push", "p1", ghPush("acme/config", "refs/heads/feature-x", "sha-push", false)), 202, answer{Queued: true}, "sha-push"},
		{"github push elsewhere", ghHook("push", "p2", ghPush("acme/user", "refs/heads/feature-x", "sha-x", false)), 202, answer{Ignored: "not the config repo"}, ""},
		{"github tag push", ghHook("push", "p3", ghPush("acme/config", "refs/tags/v1", "sha-x", false)), 202, answer{Ignored: "push of refs/tags/v1 is not a branch push"}, ""},
		{"github branch deleted", ghHook("push", "p4", ghPush("acme/config", "refs/heads/feature-x", zeros, true)), 202, answer{Ignored: "push deletes branch feature-x"}, ""},
		{"gitlab wrong token", gitlabHook("Merge Request Hook", "u6", glPayload("open", 4, "sha-x", "")).with("X-Gitlab-Token", glToken+"x"), 401, answer{Error: "bad X-Gitlab-Token"}, ""},
		{"gitlab no token", gitlabHook("Merge Request Hook", "u7", glPayload("open", 4, "sha-x", "")).with("X-Gitlab-Token", ""), 401, answer{Error: "bad X-Gitlab-Token"}, ""},
		{"gitlab token as prefix", gitlabHook("Merge Request Hook", "u8", glPayload("open", 4, "sha-x", "")).with("X-Gitlab-Token", glToken[:4]), 401, answer{Error: "bad X-Gitlab-Token"}, ""},
		{"neither forge", delivery{body: ghBody}, 400, answer{Error: "not a GitHub or GitLab webhook (no X-GitHub-Event or X-Gitlab-Event header)"}, ""},
		{"GET", delivery{method: "GET", headers: map[string]string{"X-GitHub-Event": "ping"}}, 405, answer{Error: "webhooks are POSTed"}, ""},
	}
	var want []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, a := send(t, http.DefaultClient, url, tt.d)
			if tt.name == "github malformed" {
				a.Error = "" // the JSON decoder's wording
			}
			if status != tt.status || a != tt.want {
				t.Errorf("answer %d %+v, want %d %+v", status, a, tt.status, tt.want)
			}
		})
		if tt.runsSHA != "" {
			want = append(want, tt.runsSHA)
			runner.release(tt.runsSHA)
		}
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := runner.shas()
	if strings.Join(sorted(got), " ") != strings.Join(sorted(want), " ") {
		t.Errorf("runs %v, want %v", got, want)
	}
	for _, j := range runner.runs {
		if j.HeadSHA == "sha-gh-ok" && (j != Job{Forge: "github", Repo: "acme/user", Number: 1, HeadSHA: "sha-gh-ok", HeadBranch: "feature", BaseBranch: "main",
			CloneURL: "https://github.com/fork/user.git", BaseCloneURL: "https://github.com/acme/user.git", Delivery: "d1"}) {
			t.Errorf("github job %+v", j)
		}
		if j.HeadSHA == "sha-gl-ok" && (j != Job{Forge: "gitlab", Project: "42", Number: 1, HeadSHA: "sha-gl-ok", HeadBranch: "feature", BaseBranch: "main",
			CloneURL: "https://gitlab.example.com/shop/user.git", BaseCloneURL: "https://gitlab.example.com/shop/user.git", Delivery: "u1"}) {
			t.Errorf("gitlab job %+v", j)
		}
		if j.HeadSHA == "sha-push" && (j != Job{Kind: Push, Forge: "github", Repo: "acme/config", HeadSHA: "sha-push", HeadBranch: "feature-x", Before: "sha-before",
			CloneURL: "https://github.com/acme/config.git", DefaultBranch: "main", Delivery: "p1"}) {
			t.Errorf("github push job %+v", j)
		}
		// GitLab's documented Push Hook example (testdata/gitlab-push-hook.json, trimmed from the
		// "Push events" example of GitLab's "Webhook events" documentation).
		if j.Kind == Push && j.Forge == "gitlab" && (j != Job{Kind: Push, Forge: "gitlab", Project: "15", HeadSHA: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			HeadBranch: "master", Before: "95790bf891e76fee5e1747ab589903a6a1f80f22", CloneURL: "http://example.com/mike/diaspora.git",
			DefaultBranch: "master", Delivery: "u5"}) {
			t.Errorf("gitlab push job %+v", j)
		}
	}
	st := s.Stats()
	if st.Rejected != 12 || st.Queued != 7 || st.Ignored != 8 {
		t.Errorf("stats %+v", st)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestOneForgeOnly: a server with only a GitLab token refuses GitHub deliveries, and the other
// way round; New refuses a server that could verify nothing.
func TestOneForgeOnly(t *testing.T) {
	runner := newFakeRunner()
	for _, tt := range []struct {
		opt  Options
		d    delivery
		want string
	}{
		{Options{GitLabToken: glToken, GitHubSecret: []byte{}}, ghHook("pull_request", "a", ghPayload("opened", 1, "s")),
			"GitHub deliveries are not accepted: the server has no CAC_WEBHOOK_SECRET"},
	} {
		tt.opt.Runner = runner
		s, err := New(tt.opt)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s.Handler())
		status, a := send(t, srv.Client(), srv.URL, tt.d)
		srv.Close()
		if status != 401 || a.Error != tt.want {
			t.Errorf("answer %d %+v", status, a)
		}
	}
	s, err := New(Options{Runner: runner, GitHubSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if status, a := send(t, srv.Client(), srv.URL, gitlabHook("Merge Request Hook", "u", glPayload("open", 1, "s", ""))); status != 401 ||
		a.Error != "GitLab deliveries are not accepted: the server has no CAC_GITLAB_WEBHOOK_TOKEN" {
		t.Errorf("answer %d %+v", status, a)
	}
	if _, err := New(Options{Runner: runner}); err == nil {
		t.Error("New without any secret succeeded")
	}
	if _, err := New(Options{GitHubSecret: secret}); err == nil {
		t.Error("New without a runner succeeded")
	}
}

// TestBodyLimit: a body over the limit is refused with 413, whether its length is announced or
// streamed, and never verified or run.
func TestBodyLimit(t *testing.T) {
	runner := newFakeRunner()
	s, url := newTestServer(t, runner, Options{})
	big := append(ghPayload("opened", 1, "sha-big"), bytes.Repeat([]byte(" "), 5<<20)...)
	for _, chunked := range []bool{false, true} {
		d := ghHook("pull_request", fmt.Sprint("big", chunked), big)
		d.chunked = chunked
		status, a := send(t, http.DefaultClient, url, d)
		if status != http.StatusRequestEntityTooLarge || a.Error != "body larger than 5242880 bytes" {
			t.Errorf("chunked=%v: answer %d %+v", chunked, status, a)
		}
	}
	// Just under the limit is fine.
	ok := ghPayload("opened", 1, "sha-fits")
	ok = append(ok, bytes.Repeat([]byte(" "), 5<<20-len(ok))...)
	if status, a := send(t, http.DefaultClient, url, ghHook("pull_request", "fits", ok)); status != 202 || !a.Queued {
		t.Errorf("a body of exactly 5 MiB: %d %+v", status, a)
	}
	runner.release("sha-fits")
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := runner.shas(); len(got) != 1 || got[0] != "sha-fits" {
		t.Errorf("runs %v", got)
	}
}

// TestDuplicateDelivery: a delivery id seen before is answered but not run again; ids are per
// forge; the memory is bounded (least recently seen forgotten first).
func TestDuplicateDelivery(t *testing.T) {
	runner := newFakeRunner()
	s, url := newTestServer(t, runner, Options{Deliveries: 2})
	runner.release("sha-1")
	runner.release("sha-2")
	runner.release("sha-3")
	d := ghHook("pull_request", "same-id", ghPayload("opened", 1, "sha-1"))
	if status, a := send(t, http.DefaultClient, url, d); status != 202 || !a.Queued {
		t.Fatalf("first: %d %+v", status, a)
	}
	if status, a := send(t, http.DefaultClient, url, d); status != 202 || a.Ignored != "delivery same-id was received before" {
		t.Errorf("repeat: %d %+v", status, a)
	}
	// The same id from GitLab is another delivery.
	if status, a := send(t, http.DefaultClient, url, gitlabHook("Merge Request Hook", "same-id", glPayload("open", 1, "sha-2", ""))); status != 202 || !a.Queued {
		t.Errorf("gitlab with the same id: %d %+v", status, a)
	}
	// A refused delivery does not take an id: the genuine one with that id still runs.
	forged := ghHook("pull_request", "id-3", ghPayload("opened", 3, "sha-3")).with("X-Hub-Signature-256", "sha256=00")
	if status, _ := send(t, http.DefaultClient, url, forged); status != 401 {
		t.Errorf("forged: %d", status)
	}
	if status, a := send(t, http.DefaultClient, url, ghHook("pull_request", "id-3", ghPayload("opened", 3, "sha-3"))); status != 202 || !a.Queued {
		t.Errorf("genuine after forged: %d %+v", status, a)
	}
	// Two more ids were seen since same-id: it is forgotten.
	if status, a := send(t, http.DefaultClient, url, d); status != 202 || !a.Queued {
		t.Errorf("after eviction: %d %+v", status, a)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(runner.shas(), " "); got != "sha-1 sha-2 sha-3 sha-1" {
		t.Errorf("runs %s", got)
	}
	if st := s.Stats(); st.Duplicates != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestLRU(t *testing.T) {
	c := newLRU(2)
	for _, step := range []struct {
		key  string
		seen bool
	}{{"a", false}, {"b", false}, {"a", true}, {"c", false}, {"b", false}, {"a", false}, {"c", false}} {
		if got := c.add(step.key); got != step.seen {
			t.Errorf("add(%s) = %v, want %v", step.key, got, step.seen)
		}
	}
}

// TestCoalesce: runs for one merge request are serialised; a newer head cancels the run in
// progress and replaces the job waiting; other merge requests run meanwhile.
func TestCoalesce(t *testing.T) {
	runner := newFakeRunner()
	s, url := newTestServer(t, runner, Options{})
	post := func(id string, number int, sha string) {
		t.Helper()
		if status, a := send(t, http.DefaultClient, url, ghHook("pull_request", id, ghPayload("synchronize", number, sha))); status != 202 || !a.Queued {
			t.Fatalf("%s: %d %+v", id, status, a)
		}
	}
	expectStart := func(sha string) {
		t.Helper()
		if j := <-runner.started; j.HeadSHA != sha {
			t.Fatalf("started %s, want %s", j.HeadSHA, sha)
		}
	}
	post("1", 7, "a1")
	expectStart("a1")
	post("2", 7, "a2") // waits; a1 is cancelled
	post("3", 7, "a3") // replaces a2
	post("4", 8, "b1") // another MR: runs at once
	expectStart("b1")
	runner.release("a1")
	expectStart("a3")
	post("5", 7, "a3") // the same head again (a re-open): waits, but does not cancel a3
	runner.release("b1")
	runner.release("a3")
	expectStart("a3")
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(runner.shas(), " "); got != "a1 b1 a3 a3" {
		t.Errorf("runs %s, want a1 b1 a3 a3", got)
	}
	if !runner.cancelled["a1"] || runner.cancelled["a3"] || runner.cancelled["b1"] {
		t.Errorf("cancelled %v, want only a1", runner.cancelled)
	}
	st := s.Stats()
	if st.Queued != 5 || st.Replaced != 1 || st.Started != 4 || st.Cancelled != 1 || st.Failed != 0 || st.Running != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestShutdownDrains: after Shutdown begins, deliveries get 503 and /healthz says so; the run in
// progress and the job waiting behind it both finish before Shutdown returns.
func TestShutdownDrains(t *testing.T) {
	runner := newFakeRunner()
	s, url := newTestServer(t, runner, Options{})
	send(t, http.DefaultClient, url, ghHook("pull_request", "1", ghPayload("opened", 1, "s1")))
	<-runner.started
	send(t, http.DefaultClient, url, ghHook("pull_request", "2", ghPayload("synchronize", 1, "s2")))
	done := make(chan error)
	go func() { done <- s.Shutdown(context.Background()) }()
	for {
		resp, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(time.Millisecond) // waiting for the goroutine above, not measuring
	}
	if status, a := send(t, http.DefaultClient, url, ghHook("pull_request", "3", ghPayload("synchronize", 1, "s3"))); status != 503 || a.Error != ErrClosed.Error() {
		t.Errorf("delivery during shutdown: %d %+v", status, a)
	}
	runner.release("s1")
	<-runner.started
	runner.release("s2")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(runner.shas(), " "); got != "s1 s2" {
		t.Errorf("runs %s", got)
	}
}

// TestShutdownTimeout: when the grace period ends first, the runs are cancelled and Shutdown
// says so after they returned.
func TestShutdownTimeout(t *testing.T) {
	runner := newFakeRunner()
	runner.honour = true
	s, url := newTestServer(t, runner, Options{})
	send(t, http.DefaultClient, url, gitlabHook("Merge Request Hook", "1", glPayload("open", 1, "s1", "")))
	<-runner.started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); err == nil || !strings.Contains(err.Error(), "runs cancelled") {
		t.Errorf("Shutdown = %v", err)
	}
	if !runner.cancelled["s1"] {
		t.Error("the run was not cancelled")
	}
}

// TestServe: Serve answers on a real listener and returns once its context ends and the runs drained.
func TestServe(t *testing.T) {
	runner := newFakeRunner()
	s, err := New(Options{Runner: runner, GitHubSecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	l := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- s.Serve(ctx, l, time.Minute) }()
	url := "http://" + l.Addr().String()
	if status, a := send(t, http.DefaultClient, url, ghHook("pull_request", "1", ghPayload("opened", 1, "s1"))); status != 202 || !a.Queued {
		t.Fatalf("%d %+v", status, a)
	}
	<-runner.started
	cancel()
	runner.release("s1")
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if got := runner.shas(); len(got) != 1 {
		t.Errorf("runs %v", got)
	}
}

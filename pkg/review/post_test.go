package review

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cacproj/cac/pkg/diff"
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

// memForge is a forge in memory that, like the real API, refuses a comment body over its limit
// (counted in characters), and keeps every body it was sent.
type memForge struct {
	limit    int // the real forge's limit, 65,536 (GitHub) or 1,000,000 (GitLab)
	reported int // what the client reports: forge.GitHubMaxCommentChars or forge.GitLabMaxCommentChars
	next     int64
	comments []forge.Comment
	sent     []string
}

var _ forge.Forge = (*memForge)(nil)

func (m *memForge) ListComments(context.Context) ([]forge.Comment, error) {
	return slices.Clone(m.comments), nil
}

func (m *memForge) check(body string) error {
	m.sent = append(m.sent, body)
	if n := utf8.RuneCountInString(body); n > m.limit {
		return fmt.Errorf("422 body is too long: %d characters (maximum is %d characters)", n, m.limit)
	}
	return nil
}

func (m *memForge) CreateComment(_ context.Context, body string) (forge.Comment, error) {
	if err := m.check(body); err != nil {
		return forge.Comment{}, err
	}
	m.next++
	c := forge.Comment{ID: m.next, Body: body}
	m.comments = append(m.comments, c)
	return c, nil
}

func (m *memForge) UpdateComment(_ context.Context, id int64, body string) error {
	if err := m.check(body); err != nil {
		return err
	}
	for i := range m.comments {
		if m.comments[i].ID == id {
			m.comments[i].Body = body
			return nil
		}
	}
	return fmt.Errorf("no comment %d", id)
}

func (m *memForge) DeleteComment(_ context.Context, id int64) error {
	m.comments = slices.DeleteFunc(m.comments, func(c forge.Comment) bool { return c.ID == id })
	return nil
}

func (m *memForge) MaxCommentChars() int { return m.reported }

func (m *memForge) SetStatus(context.Context, string, forge.State, string, string, string) error {
	return nil
}

func (m *memForge) OpenPullRequest(context.Context, string, string, string, string) (string, error) {
	return "", errors.New("memForge opens no pull requests")
}

var postSeed = flag.Int64("seed", 0, "seed of TestPostFitsLimit (default: the time)")

// TestPostFitsLimit posts random diffs of every shape (many small files, one huge file, very
// long lines, multi-byte lines, many regions, long headers, long failure lists) to GitHub- and
// GitLab-sized forges, and checks what was sent: every body within the real limit, the summary
// in part 1, fences and <details> balanced in every part, and every changed line either shown
// or counted in a left-out note.
func TestPostFitsLimit(t *testing.T) {
	seed := *postSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	defer func() {
		if t.Failed() {
			t.Logf("seed %d: replay with go test ./pkg/review -run TestPostFitsLimit -seed %d", seed, seed)
		}
	}()
	var split, gitlabSplit, leftOut, failuresCut int // how often each case came up
	for run := range 300 {
		gitlab := rng.IntN(6) == 0
		f := &memForge{limit: 65536, reported: forge.GitHubMaxCommentChars}
		if gitlab {
			f = &memForge{limit: 1000000, reported: forge.GitLabMaxCommentChars}
		}
		shape, res := randomResult(rng, gitlab)
		maxParts := 1 + rng.IntN(12)
		name := fmt.Sprintf("run %d: %s, gitlab=%v, max %d parts", run, shape, gitlab, maxParts)
		usn := randomText(rng, 1+rng.IntN(40), false)
		up, err := Post(context.Background(), f, forge.Target{}, res, PostOptions{USN: usn, MaxParts: maxParts})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(up.Created) != len(f.sent) {
			t.Fatalf("%s: %d comments created from %d bodies sent", name, len(up.Created), len(f.sent))
		}
		for i, body := range f.sent {
			if n := utf8.RuneCountInString(body); n > f.limit {
				t.Fatalf("%s: part %d is %d characters, over %d", name, i+1, n, f.limit)
			}
			if err := balanced(body); err != nil {
				t.Fatalf("%s: part %d: %v\n%s", name, i+1, err, body)
			}
		}
		last := f.sent[len(f.sent)-1]
		if len(res.Findings) > 0 {
			checkFailure(t, name, f.sent, res)
			if strings.Contains(last, "more: run `cac build`") {
				failuresCut++
			}
			continue
		}
		if len(f.sent) > maxParts {
			t.Fatalf("%s: %d parts", name, len(f.sent))
		}
		checkShown(t, name, f.sent, res.Diff)
		if len(f.sent) > 1 {
			split++
			if gitlab {
				gitlabSplit++
			}
		}
		if strings.Contains(last, "Left out:") {
			leftOut++
		}
	}
	t.Logf("split %d times (GitLab %d), left something out %d times, cut %d failure lists", split, gitlabSplit, leftOut, failuresCut)
	if split == 0 || gitlabSplit == 0 || leftOut == 0 || failuresCut == 0 {
		t.Error("some case never came up: the shapes are too small")
	}
}

// randomResult builds a review result of a random shape; big ones exceed GitLab's limit when
// gitlab is set.
func randomResult(rng *rand.Rand, gitlab bool) (string, *Result) {
	scale := 1
	if gitlab {
		scale = 1 + rng.IntN(8)
	}
	res := &Result{
		Base: Side{Name: "main", CodeCommit: "0123456789abcdef", ConfigBranch: "main"},
		Head: Side{Name: randomText(rng, 1+rng.IntN(250), false), CodeCommit: "fedcba9876543210"},
	}
	res.Head.ConfigBranch = res.Head.Name
	if rng.IntN(2) == 0 { // no such config branch: the default branch was used, and said so
		res.Head.ConfigFallback, res.Head.ConfigBranch = true, "main"
		res.Base.ConfigFallback = true
		res.Base.Name = randomText(rng, 1+rng.IntN(250), false)
	}
	if rng.IntN(3) == 0 {
		res.Base.Note = "the base does not build (" + randomText(rng, rng.IntN(5000), true) + "); every file is shown as new"
	}
	if rng.IntN(10) == 0 {
		for i := range 1 + rng.IntN(3000) {
			res.Findings = append(res.Findings, report.Finding{Pos: report.Pos{File: "app.ini", Line: i + 1, Col: 1}, Region: "eu",
				Path: "db.port", Rule: "unresolved", Message: randomText(rng, rng.IntN(2000), true), Severity: report.SeverityError})
		}
		return "failure", res
	}
	base, head := diff.Tree{}, diff.Tree{}
	// file adds a file to head and, unless it is new, to base, with changes every few lines
	// (dense changes only in small files: the line diff costs lines × changes).
	file := func(region, path string, lines int, line func(i int) string) {
		if base[region] == nil {
			base[region], head[region] = map[string][]byte{}, map[string][]byte{}
		}
		every := 2 + rng.IntN(3)
		if lines > 2000 {
			every = 50 + rng.IntN(200)
		}
		var b, h strings.Builder
		for i := range lines {
			l := line(i)
			switch rng.IntN(every) {
			case 0:
				b.WriteString(l + "\n")
			case 1:
				h.WriteString(l + " changed\n")
			default:
				b.WriteString(l + "\n")
				h.WriteString(l + "\n")
			}
		}
		switch rng.IntN(10) {
		case 0: // removed
			base[region][path] = []byte(b.String())
		case 1, 2: // new
			head[region][path] = []byte(h.String())
		default: // changed, sometimes without a final newline
			base[region][path] = []byte(b.String())
			head[region][path] = []byte(strings.TrimSuffix(h.String(), "\n"))
		}
	}
	kv := func(i int) string { return fmt.Sprintf("key_%05d = %s", i, randomText(rng, rng.IntN(60), false)) }
	var shape string
	switch rng.IntN(5) {
	case 0:
		shape = "many small files"
		for i := range (1 + rng.IntN(400)) * scale {
			file("eu", fmt.Sprintf("conf/file-%04d.conf", i), 1+rng.IntN(20), kv)
		}
	case 1:
		shape = "one huge file"
		file("eu", "conf/huge.conf", (1000+rng.IntN(12000))*scale, kv)
	case 2:
		shape = "very long lines"
		file("eu", "conf/long.json", 1+rng.IntN(20), func(int) string { return randomText(rng, rng.IntN(40000*scale), rng.IntN(2) == 0) })
	case 3:
		shape = "multi-byte lines"
		for i := range 1 + rng.IntN(20) {
			file("ap", fmt.Sprintf("conf/日本-%d.conf", i), (1+rng.IntN(2000))*scale, func(int) string { return randomText(rng, rng.IntN(200), true) })
		}
	case 4:
		shape = "many regions"
		for r := range (1 + rng.IntN(300)) * scale {
			region := fmt.Sprintf("region-%04d-%s", r, randomText(rng, rng.IntN(30), false))
			for i := range 1 + rng.IntN(3) {
				file(region, fmt.Sprintf("%s/app-%d.conf", randomText(rng, rng.IntN(200), false), i), 1+rng.IntN(60), kv)
			}
		}
	}
	res.Diff = diff.Compute(base, head, diff.Options{})
	return shape, res
}

// randomText is about n bytes of ASCII letters, or with multi, of a mix of 1- to 4-byte
// characters (emoji among them) and markdown-like ones, cut from a pool at character boundaries.
func randomText(rng *rand.Rand, n int, multi bool) string {
	pool := asciiPool
	if multi {
		pool = multiPool
	}
	n = min(n, len(pool))
	i := rng.IntN(len(pool) - n + 1)
	j := i + n
	for i > 0 && !utf8.RuneStart(pool[i]) {
		i--
	}
	for j < len(pool) && !utf8.RuneStart(pool[j]) {
		j++
	}
	return pool[i:j]
}

var asciiPool, multiPool = func() (string, string) {
	rng := rand.New(rand.NewPCG(1, 1))
	const ascii = "abcdefghijklmnopqrstuvwxyz-_."
	multis := []string{"é", "—", "日", "本", "🌈", "😀", "`", "```", "<details>", "</details>", "|", "<", "&", "a", "b"}
	var a, m strings.Builder
	for range 1 << 20 {
		a.WriteByte(ascii[rng.IntN(len(ascii))])
	}
	for m.Len() < 1<<20 {
		m.WriteString(multis[rng.IntN(len(multis))])
	}
	return a.String(), m.String()
}()

// balanced reports an error when a body leaves a code fence or a <details> open, or closes one
// it did not open. A fence closes on a line of at least as many backticks and nothing else, as
// in CommonMark; <details> are counted outside fences only.
func balanced(body string) error {
	fence, details := "", 0
	for i, l := range strings.Split(body, "\n") {
		if fence != "" {
			if strings.HasPrefix(l, fence) && strings.Trim(l, "`") == "" {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(l, "```") {
			fence = l[:len(l)-len(strings.TrimLeft(l, "`"))]
			continue
		}
		details += strings.Count(l, "<details>") - strings.Count(l, "</details>")
		if details < 0 {
			return fmt.Errorf("line %d closes a <details> never opened", i+1)
		}
	}
	if fence != "" {
		return errors.New("a code fence is left open")
	}
	if details != 0 {
		return fmt.Errorf("%d <details> left open", details)
	}
	return nil
}

var leftOutRe = regexp.MustCompile(`Left out: (\d+) files?( and the end of one more)?, (\d+) of (\d+) changed lines?\.`)

// checkShown reads the files back from the parts and checks that each is shown whole, or, from
// the first one not shown whole on, counted in the left-out note.
func checkShown(t *testing.T, name string, parts []string, r *diff.Result) {
	t.Helper()
	if !r.Changed() {
		if len(parts) != 1 || !strings.Contains(parts[0], "No change to the rendered config") {
			t.Fatalf("%s: no change, but %d parts", name, len(parts))
		}
		return
	}
	tt := r.Totals
	total := fmt.Sprintf("| **total** | **%d** | **%d** | **%d** |", tt.Files, tt.Added, tt.Removed)
	if !strings.Contains(parts[0], total) {
		t.Fatalf("%s: part 1 lacks the summary's totals %q", name, total)
	}
	// Each file's fenced lines, in layout order; a "continued" block adds to the file before.
	var shown []*strings.Builder
	for _, p := range parts {
		var fence string
		for _, l := range strings.SplitAfter(p, "\n") {
			switch {
			case fence != "" && strings.TrimSuffix(l, "\n") == fence:
				fence = ""
			case fence != "":
				shown[len(shown)-1].WriteString(l)
			case strings.HasPrefix(l, "<details><summary>"):
				if !strings.Contains(l, ", continued)</summary>") {
					shown = append(shown, &strings.Builder{})
				}
			case strings.HasPrefix(l, "```") && strings.HasSuffix(l, "diff\n"):
				fence = strings.TrimSuffix(l, "diff\n")
			}
		}
	}
	var files []diff.File
	for _, reg := range r.Regions {
		files = append(files, reg.Files...)
	}
	flat := func(s string) string { return strings.ReplaceAll(s, "\n", "") }
	wantFiles, wantLines, cutShort := 0, 0, false
	for i, f := range files {
		body := f.Unified
		if f.Binary {
			body = "Binary files differ\n"
		}
		if i >= len(shown) {
			wantFiles++
			wantLines += f.Added + f.Removed
			continue
		}
		got, all := flat(shown[i].String()), flat(body)
		if !strings.HasPrefix(all, got) {
			t.Fatalf("%s: %s/%s is not shown as it is", name, f.Region, f.Path)
		}
		if got == all {
			continue
		}
		if cutShort || i != len(shown)-1 {
			t.Fatalf("%s: %s/%s is cut short, but is not the last file shown", name, f.Region, f.Path)
		}
		cutShort = true
		size := 0 // the lines not shown whole count as left out
		for _, l := range strings.SplitAfter(body, "\n") {
			size += len(flat(l))
			if size > len(got) && l != "" && (l[0] == '+' || l[0] == '-') {
				wantLines++
			}
		}
	}
	if len(shown) > len(files) {
		t.Fatalf("%s: %d files shown, %d changed", name, len(shown), len(files))
	}
	m := leftOutRe.FindStringSubmatch(parts[len(parts)-1])
	if wantFiles == 0 && !cutShort {
		if m != nil || strings.Contains(strings.Join(parts, ""), "too long for") {
			t.Fatalf("%s: a left-out note, but nothing left out", name)
		}
		return
	}
	want := fmt.Sprintf("%d %v %d %d", wantFiles, cutShort, wantLines, tt.Added+tt.Removed)
	if m == nil || fmt.Sprintf("%s %v %s %s", m[1], m[2] != "", m[3], m[4]) != want {
		t.Fatalf("%s: left-out note %q, want files, cut short, lines, total = %s", name, m, want)
	}
}

// checkFailure: the failure comment lists findings, one a line, and counts the rest.
func checkFailure(t *testing.T, name string, parts []string, res *Result) {
	t.Helper()
	if len(parts) != 1 {
		t.Fatalf("%s: %d failure comments", name, len(parts))
	}
	listed := strings.Count(parts[0], "\napp.ini:")
	more := 0
	if m := regexp.MustCompile(`… and (\d+) more: run`).FindStringSubmatch(parts[0]); m != nil {
		more, _ = strconv.Atoi(m[1])
	}
	if listed+more != len(res.Findings) {
		t.Fatalf("%s: %d findings listed + %d more, want %d", name, listed, more, len(res.Findings))
	}
}

// TestPostLongDiff posts a 9,000-line diff with a long config-fallback note through the GitHub
// client to a fake that refuses bodies over 65,536 characters, as GitHub does: every part is
// taken.
func TestPostLongDiff(t *testing.T) {
	fake, target := newFakeGitHub(t)
	f, err := forge.Open(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b, h strings.Builder
	for i := range 4500 {
		fmt.Fprintf(&b, "setting_%04d = \"värde — %d\"\n", i, i)
		fmt.Fprintf(&h, "setting_%04d = \"värde — %d\"\n", i, i+1)
	}
	res := &Result{
		Base: Side{Name: "main", CodeCommit: "0123456789abcdef", ConfigBranch: "main", Note: "the base does not build (" + strings.Repeat("a long reason, ", 40) + ")"},
		Head: Side{Name: "feature/" + strings.Repeat("x", 90), CodeCommit: "fedcba9876543210", ConfigBranch: "main", ConfigFallback: true},
		Diff: diff.Compute(diff.Tree{"eu": {"app.conf": []byte(b.String())}}, diff.Tree{"eu": {"app.conf": []byte(h.String())}}, diff.Options{}),
	}
	up, err := Post(context.Background(), f, target, res, PostOptions{USN: "user"})
	if err != nil {
		t.Fatal(err)
	}
	bodies := fake.bodies()
	if len(up.Created) != len(bodies) || len(bodies) < 3 {
		t.Fatalf("%d parts posted: %+v", len(bodies), up)
	}
	for i, body := range bodies {
		if n := utf8.RuneCountInString(body); n > 65536 || n < 60000 && i+1 < len(bodies) {
			t.Errorf("part %d is %d characters: want the parts full, within 65,536", i+1, n)
		}
	}
	if !strings.Contains(bodies[0], "no `feature/xxx") || !strings.Contains(bodies[0], "a long reason") {
		t.Errorf("part 1 lacks the sides line or the note:\n%.600s", bodies[0])
	}
}

// TestSidesLineIsText: branch names and the note cannot open markup in the comment.
func TestSidesLineIsText(t *testing.T) {
	res := &Result{
		Base: Side{Name: "main", ConfigBranch: "main", Note: "the base does not build (a\n```\n<details> broke)"},
		Head: Side{Name: "fix`it", ConfigBranch: "main", ConfigFallback: true},
	}
	got := sidesLine(res)
	for _, want := range []string{"no ``` fix`it ``` branch", "> the base does not build (a ``` &lt;details&gt; broke)\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("sides line lacks %q:\n%s", want, got)
		}
	}
}

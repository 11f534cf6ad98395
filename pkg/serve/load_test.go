package serve

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// loadRunner records every run per merge request and any overlap of two runs of one.
type loadRunner struct {
	mu      sync.Mutex
	active  map[int64]int
	runs    map[int64][]string
	overlap []string
}

func (r *loadRunner) Run(ctx context.Context, job Job) error {
	r.mu.Lock()
	r.active[job.Number]++
	if r.active[job.Number] > 1 {
		r.overlap = append(r.overlap, job.HeadSHA)
	}
	r.runs[job.Number] = append(r.runs[job.Number], job.HeadSHA)
	r.mu.Unlock()
	select { // some work, cut short by a newer head
	case <-time.After(2 * time.Millisecond):
	case <-ctx.Done():
	}
	r.mu.Lock()
	r.active[job.Number]--
	r.mu.Unlock()
	return nil
}

// TestLoad: 200 signed deliveries, 20 at a time, across 10 merge requests, through a real
// listener. Every one is answered 202; no merge request ever has two runs at once; each one's
// last delivered head is the last one run; and no job is lost: every queued job was run,
// replaced by a newer one while waiting, or skipped for a newer one before a run slot freed.
// The answers' latency percentiles are logged (not asserted).
func TestLoad(t *testing.T) {
	const total, concurrent, mrs = 200, 20, 10
	runner := &loadRunner{active: map[int64]int{}, runs: map[int64][]string{}}
	heapBefore := heapInUse()
	s, err := New(Options{Runner: runner, GitHubSecret: secret, GitLabToken: glToken})
	if err != nil {
		t.Fatal(err)
	}
	l := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- s.Serve(ctx, l, time.Minute) }()
	base := "http://" + l.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrent}}

	// Delivery i is for merge request n = i%mrs+1, head "mr<n>-<i>": odd n are GitHub pull
	// requests, even n GitLab merge requests. The last delivery of each merge request is sent
	// after all the others were answered, so "last" is well defined.
	mk := func(i int) delivery {
		n := i%mrs + 1
		sha := fmt.Sprintf("mr%d-%03d", n, i)
		if i%2 == 0 {
			return ghHook("pull_request", fmt.Sprint("gh-", i), ghPayload("synchronize", n, sha))
		}
		return gitlabHook("Merge Request Hook", fmt.Sprint("gl-", i), glPayload("update", n, sha, "old"))
	}
	var mu sync.Mutex
	var latencies []time.Duration
	var failures []string
	fire := func(from, to int) {
		work := make(chan int)
		var wg sync.WaitGroup
		for w := 0; w < concurrent; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					start := time.Now()
					status, a := send(t, client, base, mk(i))
					d := time.Since(start)
					mu.Lock()
					latencies = append(latencies, d)
					if status != http.StatusAccepted || !a.Queued {
						failures = append(failures, fmt.Sprintf("delivery %d: %d %+v", i, status, a))
					}
					mu.Unlock()
				}
			}()
		}
		for i := from; i < to; i++ {
			work <- i
		}
		close(work)
		wg.Wait()
	}
	fire(0, total-mrs)
	fire(total-mrs, total)
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	for _, f := range failures {
		t.Error(f)
	}
	if len(latencies) != total {
		t.Fatalf("%d answers, want %d", len(latencies), total)
	}
	if len(runner.overlap) > 0 {
		t.Errorf("runs overlapping another run of their merge request: %v", runner.overlap)
	}
	started := 0
	for n := int64(1); n <= mrs; n++ {
		runs := runner.runs[n]
		started += len(runs)
		last := fmt.Sprintf("mr%d-%03d", n, total-mrs+int(n)-1)
		if len(runs) == 0 || runs[len(runs)-1] != last {
			t.Errorf("merge request %d: runs %v, want the last to be %s", n, runs, last)
		}
		seen := map[string]bool{}
		for _, sha := range runs {
			if seen[sha] {
				t.Errorf("merge request %d: %s ran twice", n, sha)
			}
			seen[sha] = true
		}
	}
	st := s.Stats()
	if st.Queued != total || int(st.Started) != started || st.Queued != st.Replaced+st.Skipped+st.Started || st.Running != 0 {
		t.Errorf("stats %+v; the runner saw %d runs", st, started)
	}
	slices.Sort(latencies)
	pct := func(p int) time.Duration { return latencies[(len(latencies)*p+99)/100-1] }
	// Memory stays bounded: queued work is at most one job per merge request and delivery ids are
	// an LRU, so after the load the live heap is back near where it started.
	grown := int64(heapInUse()) - int64(heapBefore)
	if grown > 64<<20 {
		t.Errorf("the live heap grew by %d MiB over %d deliveries", grown>>20, total)
	}
	t.Logf("%d deliveries, %d concurrent, %d merge requests: p50 %v, p95 %v, p99 %v, max %v; %d runs, %d replaced while queued, %d skipped, %d cancelled; live heap %+d KiB",
		total, concurrent, mrs, pct(50), pct(95), pct(99), latencies[len(latencies)-1], st.Started, st.Replaced, st.Skipped, st.Cancelled, grown>>10)
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkDelivery is the server's own cost of one signed GitHub delivery (verify, parse,
// dedupe, queue), without the network; the runner does nothing.
func BenchmarkDelivery(b *testing.B) {
	s, err := New(Options{Runner: RunnerFunc(func(context.Context, Job) error { return nil }), GitHubSecret: secret})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := ghHook("pull_request", fmt.Sprint(i), ghPayload("synchronize", i%10+1, fmt.Sprint("sha", i)))
		req := httptest.NewRequest("POST", "/webhook", bytes.NewReader(d.body))
		for k, v := range d.headers {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusAccepted {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.StopTimer()
	if err := s.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
}

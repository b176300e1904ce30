package rush

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// slowServer answers one request at a time, each after d: a server whose
// capacity is 1/d requests a second, whatever is offered.
func slowServer(t *testing.T, d time.Duration) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		time.Sleep(d)
		mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(ctx context.Context, url string) Answer {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Answer{Label: errLabel(err)}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return Answer{Label: "ok", OK: true}
}

// The point of the tool: a server that takes 10 ms per request and can serve
// 100 a second, offered 200 a second. A tool timing each request from its
// actual send sees ~10 ms (it only sends when the server is free); from the
// intended send time, request n waits behind n/2 others, and the p99 is
// close to the full second the queue grew for.
func TestOpenLoopCountsQueueingFromIntendedTime(t *testing.T) {
	url := slowServer(t, 10*time.Millisecond)
	var mu sync.Mutex
	var service []time.Duration // what a closed-loop tool would report
	do := func(ctx context.Context, n int) Answer {
		t0 := time.Now()
		a := get(ctx, url)
		mu.Lock()
		service = append(service, time.Since(t0))
		mu.Unlock()
		return a
	}
	// One request in flight: the pool is exhausted all the time, and every
	// request waits for a slot before it is even sent.
	p := Open{Rate: 200, Duration: time.Second, InFlight: 1, Drain: 5 * time.Second}.Run(context.Background(), "slow", do)
	if p.Scheduled != 200 || p.Requests != 200 || p.Unsent != 0 || p.ErrorCount() != 0 {
		t.Fatalf("scheduled %d, answered %d, unsent %d, errors %v", p.Scheduled, p.Requests, p.Unsent, p.Errors)
	}
	sort.Slice(service, func(i, j int) bool { return service[i] < service[j] })
	naiveP99 := service[len(service)*99/100]
	t.Logf("p50 %s p99 %s max %s; from the actual send the p99 would be %s", ms(p.Latency.P50), ms(p.Latency.P99), ms(p.Latency.Max), naiveP99)
	// Request n is due at 5n ms and answered at about 10(n+1) ms: it is
	// late by 5n+10 ms, so the median ~0.5 s and the p99 ~1 s.
	if p.Latency.P99 < 800_000 || p.Latency.P50 < 400_000 {
		t.Errorf("p50 %s, p99 %s: the queueing is hidden", ms(p.Latency.P50), ms(p.Latency.P99))
	}
	if naiveP99 > 100*time.Millisecond {
		t.Errorf("service time p99 %s: the server is not what the test means", naiveP99)
	}
	if p.SendLag == nil || p.SendLag.P99 < 800_000 {
		t.Errorf("send lag %+v: the wait for a slot should show there", p.SendLag)
	}
}

// With enough slots, the queue is in the server, and it counts just the same.
func TestOpenLoopCountsServerQueue(t *testing.T) {
	url := slowServer(t, 10*time.Millisecond)
	p := Open{Rate: 200, Duration: 500 * time.Millisecond, InFlight: 200, Drain: 5 * time.Second}.
		Run(context.Background(), "slow", func(ctx context.Context, n int) Answer { return get(ctx, url) })
	if p.Requests != 100 || p.Latency.P99 < 400_000 {
		t.Fatalf("answered %d, p99 %s: want 100 and about 0.5 s", p.Requests, ms(p.Latency.P99))
	}
	if p.SendLag.P99 > 50_000 {
		t.Errorf("send lag p99 %s with free slots", ms(p.SendLag.P99))
	}
}

// A fast server at a modest rate: the schedule is kept, the count exact.
func TestOpenLoopKeepsTheSchedule(t *testing.T) {
	start := time.Now()
	p := Open{Rate: 2000, Duration: 500 * time.Millisecond, InFlight: 16, Drain: time.Second}.
		Run(context.Background(), "fast", func(context.Context, int) Answer { return Answer{Label: "ok", OK: true} })
	took := time.Since(start)
	if p.Requests != 1000 || p.Unsent != 0 || p.Outcomes["ok"] != 1000 {
		t.Fatalf("answered %d, unsent %d, outcomes %v", p.Requests, p.Unsent, p.Outcomes)
	}
	if took < 490*time.Millisecond || took > 2*time.Second {
		t.Errorf("a 0.5 s schedule took %s", took)
	}
	if len(p.Timeline) != 1 || p.Timeline[0].Requests != 1000 {
		t.Errorf("timeline %+v", p.Timeline)
	}
	if p.Throughput < 1000 || p.Throughput > 3000 {
		t.Errorf("throughput %.0f/s for an offered 2000/s", p.Throughput)
	}
}

// Requests the pool never had room for before the cutoff are not dropped:
// each is an "unsent" error with its lateness at the cutoff.
func TestOpenLoopUnsentAreCounted(t *testing.T) {
	p := Open{Rate: 100, Duration: 200 * time.Millisecond, InFlight: 1, Drain: 100 * time.Millisecond}.
		Run(context.Background(), "stuck", func(ctx context.Context, n int) Answer {
			if n == 0 {
				select {
				case <-time.After(500 * time.Millisecond):
				case <-ctx.Done():
				}
			}
			return Answer{Label: "ok", OK: true}
		})
	if p.Scheduled != 20 || p.Unsent != 19 || p.Errors["unsent"] != 19 || p.Requests != 1 {
		t.Fatalf("scheduled %d, unsent %d, errors %v, answered %d", p.Scheduled, p.Unsent, p.Errors, p.Requests)
	}
	// Request 1 was due at 10 ms and still waiting at the 300 ms cutoff.
	if p.Latency.P99 < 250_000 {
		t.Errorf("p99 %s: the unsent requests' wait is missing", ms(p.Latency.P99))
	}
}

func TestClosedLoopIsBounded(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]bool{}
	do := func(ctx context.Context, n int) Answer {
		mu.Lock()
		seen[n] = true
		mu.Unlock()
		time.Sleep(time.Millisecond)
		return Answer{Label: "ok", OK: true}
	}
	start := time.Now()
	p := Closed{Workers: 4, Duration: 10 * time.Second, MaxRequests: 500}.Run(context.Background(), "capped", do)
	if p.Requests != 500 || len(seen) != 500 || time.Since(start) > 5*time.Second {
		t.Fatalf("answered %d (distinct %d) in %s: want 500, stopping at the cap", p.Requests, len(seen), time.Since(start))
	}
	start = time.Now()
	p = Closed{Workers: 4, Duration: 200 * time.Millisecond}.Run(context.Background(), "timed", do)
	if took := time.Since(start); took > time.Second || p.Requests < 50 {
		t.Fatalf("answered %d in %s: want a 0.2 s phase", p.Requests, took)
	}
	if p.Goodput <= 0 || p.Latency.P50 < 1000 {
		t.Errorf("goodput %.0f, p50 %s", p.Goodput, ms(p.Latency.P50))
	}
}

func TestRecorderKeepsWhatIsOutOfRange(t *testing.T) {
	r := NewRecorder(2)
	r.Record(0, 0, Answer{Label: "ok", OK: true})
	r.Record(1, time.Hour, Answer{Label: "timeout"})
	tot := r.Totals()
	if tot.Count != 2 || tot.Latency.Max < histHighest*99/100 || tot.Errors["timeout"] != 1 || tot.OK["ok"] != 1 {
		t.Fatalf("totals %+v", tot)
	}
}

package rush

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Do sends request number n and says what came back. It must give up when
// ctx ends.
type Do func(ctx context.Context, n int) Answer

// Phase is what one phase measured.
type Phase struct {
	Name string `json:"name"`
	// Mode is "closed" (N workers, each sending when its last answer came:
	// finds the rate the server sustains) or "open" (a fixed schedule:
	// measures latency at a chosen rate).
	Mode string `json:"mode"`
	// Concurrency is the workers of a closed phase, or the bound on
	// requests in flight of an open one.
	Concurrency int `json:"concurrency"`
	// OfferedRate is the open phase's schedule, requests per second.
	OfferedRate float64 `json:"offered_rate,omitempty"`
	// Scheduled is the open phase's number of intended requests.
	Scheduled int64 `json:"scheduled,omitempty"`
	// Requests is the requests that got an answer or an error, Unsent
	// those of the schedule abandoned at the cutoff because the pool never
	// freed a slot for them (each counted in the latency as at least its
	// wait until the cutoff, and as an "unsent" error).
	Requests int64 `json:"requests"`
	Unsent   int64 `json:"unsent,omitempty"`
	// ElapsedMS runs from the first intended send to the last answer.
	ElapsedMS float64 `json:"elapsed_ms"`
	// Throughput is answered requests (errors included) per second;
	// Goodput counts only the answers the phase expects.
	Throughput float64 `json:"throughput"`
	Goodput    float64 `json:"goodput"`
	Latency    Latency `json:"latency"`
	// SendLag (open phases) is how late requests left against their
	// intended time: the dispatcher's own granularity (about 1 ms, see
	// minSleep) plus any wait for the CPU or for a free slot in the pool.
	// It is part of Latency, shown apart so the tool's share can be told
	// from the server's.
	SendLag *Latency `json:"send_lag,omitempty"`
	// Split is the latency of the requests Open.Split picked.
	Split *SplitLatency `json:"split,omitempty"`
	// Timeline is the phase second by second (an open phase's by intended
	// send time, a closed one's by answer time): a transient (a cold cache
	// at the gate, a stall) shows where it happened, not only in the tail.
	Timeline []Tick `json:"timeline,omitempty"`
	// CPU is what the phase's wall time cost in CPUs: this process (the
	// shop and the tool) and the whole machine (with PostgreSQL, Redis and
	// whatever else runs). Nil where it cannot be read.
	CPU      *CPUUse          `json:"cpu,omitempty"`
	Outcomes map[string]int64 `json:"outcomes"`
	Errors   map[string]int64 `json:"errors"`
}

// CPUUse is CPUs busy on average over a phase. The machine's figure
// includes every process on it, other people's too.
type CPUUse struct {
	Process  float64 `json:"process"` // the shop and the tool
	Postgres float64 `json:"postgres"`
	Redis    float64 `json:"redis"`
	Machine  float64 `json:"machine"`
}

type serviceCPU struct {
	name  string
	ticks int64
}

type cpuMark struct {
	at            time.Time
	proc, machine time.Duration
	services      map[int]serviceCPU
	ok            bool
}

func markCPU() cpuMark {
	p, ok1 := cpuTime()
	m, ok2 := machineBusy()
	return cpuMark{at: time.Now(), proc: p, machine: m, services: serviceTicks(), ok: ok1 && ok2}
}

// since is the CPUs used from the mark until now. A service process that
// started or ended in between is left out.
func (m cpuMark) since() *CPUUse {
	now := markCPU()
	wall := float64(now.at.Sub(m.at))
	if !m.ok || !now.ok || wall <= 0 {
		return nil
	}
	u := &CPUUse{Process: float64(now.proc-m.proc) / wall, Machine: float64(now.machine-m.machine) / wall}
	for pid, after := range now.services {
		before, ok := m.services[pid]
		if !ok || before.name != after.name {
			continue
		}
		cpus := float64(time.Duration(after.ticks-before.ticks)*time.Second/clockTicks) / wall
		switch after.name {
		case "postgres":
			u.Postgres += cpus
		case "redis":
			u.Redis += cpus
		}
	}
	return u
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100
// on every Linux this runs on.
const clockTicks = 100

// Tick is one second of an open phase, by intended send time.
type Tick struct {
	At       int     `json:"at_s"` // seconds after the phase began
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	Latency  Latency `json:"latency"`
}

// SplitLatency is the latency of part of a phase's requests.
type SplitLatency struct {
	Requests int64   `json:"requests"`
	Latency  Latency `json:"latency"`
}

// ErrorCount is the requests that failed, unsent ones included.
func (p Phase) ErrorCount() int64 { return sum(p.Errors) }

func (p *Phase) fill(t Totals, elapsed time.Duration) {
	p.Latency = t.Latency
	p.Outcomes, p.Errors = t.OK, t.Errors
	p.Requests = t.Count - p.Unsent
	p.ElapsedMS = float64(elapsed) / float64(time.Millisecond)
	if s := elapsed.Seconds(); s > 0 {
		p.Throughput = float64(p.Requests) / s
		p.Goodput = float64(sum(t.OK)) / s
	}
}

// Closed is a saturation phase: Workers goroutines send back to back for
// Duration (or until MaxRequests have been sent). Its latencies are measured
// from each actual send, so they show service time plus the queue the
// workers themselves make; they are not the latency figure (Open is).
type Closed struct {
	Workers     int
	Duration    time.Duration
	MaxRequests int // 0: no cap
}

// Run runs the phase.
func (c Closed) Run(ctx context.Context, name string, do Do) Phase {
	workers := max(c.Workers, 1)
	rec := NewRecorder(shards(workers))
	seconds := newTimeline(c.Duration, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	end := start.Add(c.Duration)
	var next atomic.Int64
	var last atomic.Int64 // the last answer, ns after start
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(end) {
				n := next.Add(1) - 1
				if c.MaxRequests > 0 && n >= int64(c.MaxRequests) {
					return
				}
				t0 := time.Now()
				a := do(ctx, int(n))
				done := time.Now()
				rec.Record(w, done.Sub(t0), a)
				seconds.at(done.Sub(start)).Record(w, done.Sub(t0), a)
				storeMax(&last, int64(done.Sub(start)))
			}
		}()
	}
	wg.Wait()
	p := Phase{Name: name, Mode: "closed", Concurrency: workers}
	p.fill(rec.Totals(), time.Duration(last.Load()))
	p.Timeline = seconds.ticks()
	return p
}

// Open is a latency phase: requests are due at fixed intervals (Rate a
// second, for Duration, at most MaxRequests), each measured from the moment
// it was due. At most InFlight are outstanding; when all are, the schedule
// does not stop: the next requests go out as soon as slots free up, already
// late, and their lateness counts. Dispatching stops at Duration + Drain;
// requests still unsent then are recorded as "unsent" with their lateness
// at that moment, a lower bound.
type Open struct {
	Rate        float64
	Duration    time.Duration
	MaxRequests int
	InFlight    int
	Drain       time.Duration
	// Split, if set, picks requests by their intended time whose latency
	// is also summarized apart (Phase.Split): the rush's requests due
	// before the sell-out, say, among the many after it.
	Split func(due time.Time) bool
}

type job struct {
	n   int
	due time.Time
}

// Run runs the phase.
func (o Open) Run(ctx context.Context, name string, do Do) Phase {
	inflight := max(o.InFlight, 1)
	p := Phase{Name: name, Mode: "open", Concurrency: inflight, OfferedRate: o.Rate}
	if o.Rate <= 0 {
		return p
	}
	total := int64(o.Rate * o.Duration.Seconds())
	if o.MaxRequests > 0 {
		total = min(total, int64(o.MaxRequests))
	}
	p.Scheduled = total
	rec := NewRecorder(shards(inflight))
	lag := NewRecorder(shards(inflight))
	split := NewRecorder(shards(inflight))
	seconds := newTimeline(o.Duration, inflight)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	jobs := make(chan job) // unbuffered: a send succeeds only into a free worker
	var last atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	second := func(due time.Time) *Recorder { return seconds.at(due.Sub(start)) }
	for w := range inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				lag.Record(w, time.Since(j.due), Answer{OK: true})
				a := do(ctx, j.n)
				done := time.Now()
				rec.Record(w, done.Sub(j.due), a)
				second(j.due).Record(w, done.Sub(j.due), a)
				if o.Split != nil && o.Split(j.due) {
					split.Record(w, done.Sub(j.due), a)
				}
				storeMax(&last, int64(done.Sub(start)))
			}
		}()
	}

	interval := float64(time.Second) / o.Rate
	due := func(n int64) time.Time { return start.Add(time.Duration(float64(n) * interval)) }
	cutoff := time.NewTimer(o.Duration + max(o.Drain, 0))
	defer cutoff.Stop()
	wait := time.NewTimer(0)
	<-wait.C
	n := int64(0)
dispatch:
	for ; n < total; n++ {
		d := due(n)
		// Sleep only when ahead of the schedule, and for at least
		// minSleep: the requests due meanwhile then go out together. When
		// behind, requests go out back to back until it is caught up.
		if ahead := time.Until(d); ahead > 0 {
			wait.Reset(max(ahead, minSleep))
			select {
			case <-wait.C:
			case <-cutoff.C:
				break dispatch
			case <-ctx.Done():
				break dispatch
			}
		}
		select {
		case jobs <- job{int(n), d}:
		case <-cutoff.C:
			break dispatch
		case <-ctx.Done():
			break dispatch
		}
	}
	close(jobs)
	// What was due and never sent waited at least until now.
	if n < total {
		now := time.Now()
		p.Unsent = total - n
		for ; n < total; n++ {
			rec.Record(int(n), now.Sub(due(n)), Answer{Label: "unsent"})
			second(due(n)).Record(int(n), now.Sub(due(n)), Answer{Label: "unsent"})
		}
	}
	wg.Wait()
	p.fill(rec.Totals(), time.Duration(last.Load()))
	l := lag.Totals().Latency
	p.SendLag = &l
	p.Timeline = seconds.ticks()
	if o.Split != nil {
		t := split.Totals()
		p.Split = &SplitLatency{Requests: t.Count, Latency: t.Latency}
	}
	return p
}

// minSleep is the dispatcher's shortest sleep. Waking for every request
// (10,000 times a second) costs the machine more than the requests: in a
// trial on this package's fake shop, an open loop at half the closed loop's
// rate used 117 to 145 µs of CPU per request waking per request (with
// nanosleep, precise to 0.1 ms) against 81 to 98 µs waking at most once a
// millisecond, and the closed loop 54 µs. On two cores shared with the shop
// that difference is queueing the tool itself would add. The price is up to
// about a millisecond of lateness (more when the Go runtime's timer, idle,
// oversleeps), counted in each request's latency and shown as send lag.
const minSleep = time.Millisecond

// timeline is a recorder per second of a phase; the last one also takes
// whatever comes after the phase's nominal end.
type timeline []*Recorder

func newTimeline(d time.Duration, concurrency int) timeline {
	t := make(timeline, int(d/time.Second)+1)
	for i := range t {
		t[i] = NewRecorder(min(shards(concurrency), 4))
	}
	return t
}

func (t timeline) at(since time.Duration) *Recorder {
	return t[max(0, min(int(since/time.Second), len(t)-1))]
}

func (t timeline) ticks() []Tick {
	var out []Tick
	for i, r := range t {
		if tot := r.Totals(); tot.Count > 0 {
			out = append(out, Tick{At: i, Requests: tot.Count, Errors: sum(tot.Errors), Latency: tot.Latency})
		}
	}
	return out
}

func shards(concurrency int) int { return min(concurrency, 4*runtime.GOMAXPROCS(0)) }

func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}

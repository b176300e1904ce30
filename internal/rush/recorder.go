package rush

import (
	"maps"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// The histogram's range, in microseconds: 1 µs to 10 minutes at 3
// significant digits (a p99 of 9.87 ms is told apart from 9.88 ms). A latency
// above the range is recorded as the range's top, never dropped: a dropped
// sample is exactly the omission the tool exists to avoid.
const (
	histLowest  = 1
	histHighest = int64(10 * time.Minute / time.Microsecond)
	histDigits  = 3
)

// Answer is what one request came back with.
type Answer struct {
	// Label names the answer: "won", "sold_out", "limit_reached", "ok",
	// or for an error "409 flash_not_open", "timeout", ...
	Label string
	// OK: an answer the phase expects (a decision, or the noop's ok), as
	// opposed to an error.
	OK bool
}

// Recorder collects one phase's latencies and answers from many goroutines.
// It is sharded so that workers seldom wait for each other: each shard is an
// HDR histogram and counters under a mutex, and Record picks a shard by the
// worker's number.
type Recorder struct {
	shards []shard
}

type shard struct {
	mu     sync.Mutex
	h      *hdrhistogram.Histogram
	ok     map[string]int64
	errors map[string]int64
	_      [40]byte // keeps neighbouring shards' mutexes off one cache line
}

// NewRecorder returns a recorder with n shards (at least 1).
func NewRecorder(n int) *Recorder {
	if n < 1 {
		n = 1
	}
	r := &Recorder{shards: make([]shard, n)}
	for i := range r.shards {
		r.shards[i].h = hdrhistogram.New(histLowest, histHighest, histDigits)
		r.shards[i].ok = map[string]int64{}
		r.shards[i].errors = map[string]int64{}
	}
	return r
}

// Record adds one request's latency and answer.
func (r *Recorder) Record(worker int, lat time.Duration, a Answer) {
	s := &r.shards[worker%len(r.shards)]
	s.mu.Lock()
	s.h.RecordValue(micros(lat))
	if a.OK {
		s.ok[a.Label]++
	} else {
		s.errors[a.Label]++
	}
	s.mu.Unlock()
}

// RecordN adds n requests of the same latency and answer.
func (r *Recorder) RecordN(worker int, lat time.Duration, a Answer, n int64) {
	s := &r.shards[worker%len(r.shards)]
	s.mu.Lock()
	s.h.RecordValues(micros(lat), n)
	if a.OK {
		s.ok[a.Label] += n
	} else {
		s.errors[a.Label] += n
	}
	s.mu.Unlock()
}

func micros(d time.Duration) int64 {
	v := int64(d / time.Microsecond)
	switch {
	case v < histLowest:
		return histLowest
	case v > histHighest:
		return histHighest
	}
	return v
}

// Latency is a phase's latency distribution, in microseconds.
type Latency struct {
	P50  int64   `json:"p50_us"`
	P90  int64   `json:"p90_us"`
	P99  int64   `json:"p99_us"`
	P999 int64   `json:"p999_us"`
	Max  int64   `json:"max_us"`
	Mean float64 `json:"mean_us"`
}

// Totals is everything recorded: the merged histogram's summary and the
// answers counted by label.
type Totals struct {
	Count   int64
	Latency Latency
	OK      map[string]int64
	Errors  map[string]int64
	Hist    *hdrhistogram.Histogram
}

// Totals merges the shards. Call it when recording has stopped.
func (r *Recorder) Totals() Totals {
	t := Totals{Hist: hdrhistogram.New(histLowest, histHighest, histDigits), OK: map[string]int64{}, Errors: map[string]int64{}}
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		t.Hist.Merge(s.h)
		for k, v := range s.ok {
			t.OK[k] += v
		}
		for k, v := range s.errors {
			t.Errors[k] += v
		}
		s.mu.Unlock()
	}
	t.Count = t.Hist.TotalCount()
	t.Latency = summarize(t.Hist)
	return t
}

func summarize(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		P50: h.ValueAtQuantile(50), P90: h.ValueAtQuantile(90), P99: h.ValueAtQuantile(99),
		P999: h.ValueAtQuantile(99.9), Max: h.Max(), Mean: h.Mean(),
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for v := range maps.Values(m) {
		n += v
	}
	return n
}

package rush

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is a run's figures and verdicts.
type Report struct {
	Started time.Time `json:"started"`
	Setup   Setup     `json:"setup"`
	Machine Machine   `json:"machine"`

	Phases     []Phase      `json:"phases"`
	Sales      []SaleCheck  `json:"sales"`
	RedisBench []RedisBench `json:"redis_benchmark,omitempty"`
	Ratios     Ratios       `json:"ratios"`

	// Failures lists every breached invariant; empty means the run passed.
	Failures []string `json:"failures"`
	Notes    []string `json:"notes,omitempty"`
}

// Setup is what the run was asked to do.
type Setup struct {
	Database    string  `json:"database"` // sqlite or postgres
	Counters    string  `json:"counters"` // in-process or redis
	Buyers      int     `json:"buyers"`
	Units       int     `json:"units"`
	Limit       int     `json:"limit"`
	Retry       float64 `json:"retry_share"`
	Second      float64 `json:"second_request_share"`
	DurationMS  float64 `json:"phase_duration_ms"`
	Workers     int     `json:"workers"`
	InFlight    int     `json:"in_flight"`
	Fraction    float64 `json:"fraction"`
	MaxRequests int     `json:"max_requests,omitempty"`
}

// Machine is where the run ran: the figures mean little without it.
type Machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
}

// Ratios are the run's figures against its own ceilings.
type Ratios struct {
	// NoopMax is the trivial handler's closed-loop goodput, req/s.
	NoopMax float64 `json:"noop_max"`
	// Decisions is buy-max's goodput over NoopMax: win-or-lose decisions
	// through HTTP against the ceiling (goal >= 0.5 with Redis).
	Decisions float64 `json:"decisions_over_noop"`
	// SoldOut is soldout-max's goodput over NoopMax (goal >= 0.8).
	SoldOut float64 `json:"soldout_over_noop"`
}

// LocalMachine describes this machine.
func LocalMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), CPUModel: cpuModel(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version()}
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// Phase returns the named phase, if it ran.
func (r *Report) Phase(name string) (Phase, bool) {
	i := slices.IndexFunc(r.Phases, func(p Phase) bool { return p.Name == name })
	if i < 0 {
		return Phase{}, false
	}
	return r.Phases[i], true
}

// finish computes the ratios and the failures.
func (r *Report) finish() {
	if p, ok := r.Phase("noop-max"); ok && p.Goodput > 0 {
		r.Ratios.NoopMax = p.Goodput
		if b, ok := r.Phase("buy-max"); ok {
			r.Ratios.Decisions = b.Goodput / p.Goodput
		}
		if s, ok := r.Phase("soldout-max"); ok {
			r.Ratios.SoldOut = s.Goodput / p.Goodput
		}
	}
	r.Failures = []string{}
	for _, p := range r.Phases {
		if n := p.ErrorCount(); n > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %s of %s requests failed (%s)", p.Name, thousands(n), thousands(p.Requests+p.Unsent), counts(p.Errors)))
		}
	}
	for _, s := range r.Sales {
		if s.Winners == 0 {
			// Nothing sold proves nothing: a shop answering 503 to every
			// press would pass every other check.
			r.Failures = append(r.Failures, s.Name+": nobody won anything, so nothing was checked")
		}
		for _, v := range []struct {
			n    int
			what string
		}{{s.Oversold, "units oversold"}, {s.LimitViolations, "buyers above the limit"}, {s.Lost, "winners without an order"}, {s.Duplicated, "duplicated orders or wins"}} {
			if v.n != 0 {
				r.Failures = append(r.Failures, fmt.Sprintf("%s: %d %s", s.Name, v.n, v.what))
			}
		}
	}
}

// Failed reports whether any invariant was breached (or nothing was sold,
// so nothing was checked).
func (r *Report) Failed() bool { return len(r.Failures) > 0 }

// WriteText writes the report as tables for a person.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	s := r.Setup
	fmt.Fprintf(bw, "siyu rush  %s  %s, %s counters\n", r.Started.Format(time.RFC3339), s.Database, s.Counters)
	fmt.Fprintf(bw, "  %s buyers, %s units, limit %d, %.0f%% retries, %.0f%% second requests; phases of %s, %d workers closed, %d in flight open, open at %.2f of closed\n",
		thousands(int64(s.Buyers)), thousands(int64(s.Units)), s.Limit, 100*s.Retry, 100*s.Second,
		time.Duration(s.DurationMS*float64(time.Millisecond)), s.Workers, s.InFlight, s.Fraction)
	m := r.Machine
	fmt.Fprintf(bw, "  machine: %d CPUs (%s), GOMAXPROCS %d, %s\n", m.CPUs, m.CPUModel, m.GOMAXPROCS, m.Go)
	fmt.Fprintln(bw, "  latency is from each request's intended send time (open) or its send (closed); closed phases start warm (every buyer's token")
	fmt.Fprintln(bw, "  cached by one noop each), open phases cold; every phase starts once the shop, PostgreSQL and Redis are idle")
	fmt.Fprintln(bw)

	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\tmode\tconc\toffered/s\trequests\treq/s\tp50\tp99\tp999\tmax\terrors\tsend lag p99\tCPUs shop/pg/redis/all\t")
	for _, p := range r.Phases {
		offered, lag := "-", "-"
		if p.Mode == "open" {
			offered = thousands(int64(p.OfferedRate))
			if p.SendLag != nil {
				lag = ms(p.SendLag.P99)
			}
		}
		cpu := "-"
		if p.CPU != nil {
			cpu = fmt.Sprintf("%.2f/%.2f/%.2f/%.2f", p.CPU.Process, p.CPU.Postgres, p.CPU.Redis, p.CPU.Machine)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", p.Name, p.Mode, p.Concurrency, offered,
			thousands(p.Requests), thousands(int64(p.Goodput)), ms(p.Latency.P50), ms(p.Latency.P99),
			ms(p.Latency.P999), ms(p.Latency.Max), thousands(p.ErrorCount()), lag, cpu)
	}
	tw.Flush()
	for _, p := range r.Phases {
		if p.Split != nil {
			l := p.Split.Latency
			fmt.Fprintf(bw, "  %s, requests due before the sell-out: %s, p50 %s, p99 %s, p999 %s, max %s\n", p.Name,
				thousands(p.Split.Requests), ms(l.P50), ms(l.P99), ms(l.P999), ms(l.Max))
		}
	}
	fmt.Fprintln(bw, "\nsecond by second: requests answered (closed) or due (open), and their p99 in ms")
	for _, p := range r.Phases {
		fmt.Fprintf(bw, "  %-12s", p.Name)
		for i, sec := range p.Timeline {
			if i > 0 {
				fmt.Fprint(bw, " |")
			}
			fmt.Fprintf(bw, " %s %.1f", thousands(sec.Requests), float64(sec.Latency.P99)/1000)
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw)
	for _, p := range r.Phases {
		fmt.Fprintf(bw, "  %-12s %s", p.Name, counts(p.Outcomes))
		if len(p.Errors) > 0 {
			fmt.Fprintf(bw, "; errors: %s", counts(p.Errors))
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintln(bw)

	tw = tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "sale\tquota\tlimit\twinners\tunits won\tdb units\torders\toversold\tover limit\tlost\tduplicated\tsold out after\tdurable after\t")
	for _, c := range r.Sales {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t\n", c.Name, thousands(int64(c.Quota)), c.Limit,
			thousands(int64(c.Winners)), thousands(int64(c.UnitsWon)), thousands(int64(c.DBUnitsWon)), thousands(int64(c.Orders)),
			c.Oversold, c.LimitViolations, c.Lost, c.Duplicated, msOrDash(c.SoldOutAfterMS), msOrDash(c.DurableAfterMS))
	}
	tw.Flush()
	fmt.Fprintln(bw, "  (durable after: from sell-out to the last winner's order in the database; for a sale that did not sell out, from its phase's end)")
	fmt.Fprintln(bw)

	fmt.Fprintf(bw, "ceilings\n  noop handler through HTTP          %s req/s\n", thousands(int64(r.Ratios.NoopMax)))
	for _, b := range r.RedisBench {
		fmt.Fprintf(bw, "  redis-benchmark, %-17s %s req/s (%d clients, %s requests)\n", b.Case, thousands(int64(b.RPS)), b.Clients, thousands(int64(b.Requests)))
	}
	fmt.Fprintf(bw, "  decisions through HTTP / noop      %.2f (goal with Redis >= 0.5)\n", r.Ratios.Decisions)
	fmt.Fprintf(bw, "  after sell-out / noop              %.2f (goal with Redis >= 0.8)\n", r.Ratios.SoldOut)
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "note: %s\n", n)
	}
	if r.Failed() {
		fmt.Fprintf(bw, "\nFAIL: %s\n", strings.Join(r.Failures, "; "))
	} else {
		fmt.Fprintln(bw, "\nPASS: nothing oversold, no buyer above the limit, every winner exactly one order")
	}
	return bw.Flush()
}

// ms formats microseconds as milliseconds.
func ms(us int64) string { return strconv.FormatFloat(float64(us)/1000, 'f', 2, 64) + " ms" }

func msOrDash(v float64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
}

func counts(m map[string]int64) string {
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+" "+thousands(m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// thousands formats n with thousands separators: 20,000.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

package rush

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/siyu-commerce/siyu/internal/flashsale"
)

// Config is one run.
type Config struct {
	BaseURL string  // the loopback server
	Buyers  []Buyer // signed in, each with an address
	Units   int     // the rush sale's quota
	Limit   int     // units one buyer may hold, in both sales
	Retry   float64 // share of requests resent with the same request id
	Second  float64 // share of requests that are a buyer's further request

	Duration    time.Duration // each phase's length
	Workers     int           // closed phases' concurrency
	InFlight    int           // open phases' bound on requests in flight
	Fraction    float64       // open phases run at this fraction of the closed phase's rate
	Rate        float64       // if > 0, the rush phase's rate instead
	MaxRequests int           // cap per phase (0: none)
	Timeout     time.Duration // one request's timeout
	Settle      time.Duration // how long wins may take to become orders
	RunID       string        // makes request ids unique to the run: [A-Za-z0-9]{1,40}
	Seed        uint64
	Database    string // the engine, for the report: sqlite or postgres
	Counters    string // in-process or redis

	// RedisBench, if set, measures the reserve script's ceiling on Redis
	// after the HTTP phases.
	RedisBench func(ctx context.Context) ([]RedisBench, error)
	// Log gets a line as each step starts and ends (nil: silent).
	Log io.Writer
}

// The API's paths.
const NoopPath = "/api/v1/flash/noop"

// Run runs the phases against the shop and returns the report:
//
//  1. noop-max: the trivial handler, closed loop: the HTTP ceiling.
//  2. noop-open: the same, open loop at Fraction of it.
//  3. buy-max: buys, closed loop, on a sale that cannot sell out
//     (SellingQuota): the rate of win-or-lose decisions the server
//     sustains while it sells.
//  4. rush: the sale, open loop at Fraction of buy-max: it sells out in
//     the first moments and is hammered on; latency from intended times,
//     and the time from sell-out until every winner is a durable order.
//  5. soldout-max: buys on the sold-out sale, closed loop: what a loser
//     costs.
//
// Before each phase the run waits for the shop to go idle (quiet), and
// before each closed-loop phase every buyer sends one noop (prime), so the
// three ceilings are measured alike, warm; the open-loop phases start cold.
// Then both sales are read back from the database and checked, and, with
// RedisBench, the script's own ceiling is measured.
func Run(ctx context.Context, cfg Config, shop Shop) (*Report, error) {
	if len(cfg.Buyers) == 0 || cfg.Units < 1 || cfg.Limit < 1 {
		return nil, errors.New("rush: need buyers, units >= 1 and limit >= 1")
	}
	cl, err := NewClient(cfg.BaseURL, max(cfg.Workers, cfg.InFlight), cfg.Timeout)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	r := &run{cfg: cfg, shop: shop, cl: cl, rep: &Report{Started: time.Now().UTC(), Machine: LocalMachine(), Setup: Setup{
		Database: cfg.Database, Counters: cfg.Counters, Buyers: len(cfg.Buyers), Units: cfg.Units, Limit: cfg.Limit,
		Retry: cfg.Retry, Second: cfg.Second, DurationMS: msf(cfg.Duration), Workers: cfg.Workers, InFlight: cfg.InFlight,
		Fraction: cfg.Fraction, MaxRequests: cfg.MaxRequests,
	}}}
	if err := r.phases(ctx); err != nil {
		return r.rep, err
	}
	if cfg.RedisBench != nil {
		r.logf("redis-benchmark on the reserve script")
		rb, err := cfg.RedisBench(ctx)
		if err != nil {
			r.rep.Notes = append(r.rep.Notes, "redis-benchmark: "+err.Error())
		}
		r.rep.RedisBench = rb
	}
	r.rep.finish()
	return r.rep, nil
}

type run struct {
	cfg  Config
	shop Shop
	cl   *Client
	rep  *Report
}

func (r *run) logf(format string, args ...any) {
	if r.cfg.Log != nil {
		fmt.Fprintf(r.cfg.Log, "rush: "+format+"\n", args...)
	}
}

func (r *run) mix(phase string) Mix {
	return Mix{Buyers: len(r.cfg.Buyers), Retry: r.cfg.Retry, Second: r.cfg.Second,
		Seed: splitmix(r.cfg.Seed + uint64(phase[0])), IDPrefix: "rush" + r.cfg.RunID + phase}
}

func (r *run) closed() Closed {
	return Closed{Workers: r.cfg.Workers, Duration: r.cfg.Duration, MaxRequests: r.cfg.MaxRequests}
}

func (r *run) open(rate float64) Open {
	return Open{Rate: rate, Duration: r.cfg.Duration, MaxRequests: r.cfg.MaxRequests, InFlight: r.cfg.InFlight,
		Drain: max(r.cfg.Duration/2, time.Second)}
}

// quietCPU is the share of one CPU under which the shop counts as idle.
const quietCPU = 0.1

// quiet waits, before a phase, until this process (the shop and the tool)
// and the PostgreSQL and Redis processes together have used under quietCPU
// of a CPU for a whole window, or the settle time has passed. Each phase
// leaves work behind: buy-max's winners' orders bring events to deliver,
// their handlers read and write for seconds after the last answer, and
// PostgreSQL vacuums what they wrote. Measured under the next phase, that
// work would be charged to it.
func (r *run) quiet(ctx context.Context, next string) {
	const window = 250 * time.Millisecond
	start := time.Now()
	for time.Since(start) < r.cfg.Settle && ctx.Err() == nil {
		m := markCPU()
		time.Sleep(window)
		u := m.since()
		if u == nil || u.Process+u.Postgres+u.Redis < quietCPU {
			break
		}
	}
	if waited := time.Since(start); waited > 2*window {
		r.logf("%s: waited %s for the shop to go idle", next, waited.Round(time.Millisecond))
	}
}

// prime has every buyer send one noop before a closed-loop phase, so that
// the phase finds what a sale in full swing finds: every buyer's token in
// the server's short-lived cache. The closed-loop phases are compared with
// each other (the ratios), so they must start alike; without this, each
// began with one token read from the database per buyer, a share of the
// phase that depended on how fast the phase went. The open-loop phases
// are not primed: the rush starts as a gate opens, cold.
func (r *run) prime(ctx context.Context, next, skuID string) {
	start := time.Now()
	p := Closed{Workers: r.cfg.Workers, Duration: r.cfg.Settle, MaxRequests: len(r.cfg.Buyers)}.Run(ctx, "prime",
		func(ctx context.Context, n int) Answer {
			b := r.cfg.Buyers[n]
			return r.cl.Noop(ctx, NoopPath, b, BuyRequest{SKUID: skuID, Qty: 1, AddressID: b.AddressID, RequestID: "rush" + r.cfg.RunID + "p-" + strconv.Itoa(n)})
		})
	r.logf("%s: primed %d buyers' tokens in %s (%d errors)", next, p.Requests, time.Since(start).Round(time.Millisecond), p.ErrorCount())
}

// phase runs one phase after its log line, and records it with the CPU it
// took.
func (r *run) phase(what string, run func() Phase) Phase {
	r.logf("%s", what)
	m := markCPU()
	p := run()
	p.CPU = m.since()
	r.logf("%s: %d requests, %.0f/s, p99 %s, %d errors", p.Name, p.Requests, p.Goodput, ms(p.Latency.P99), p.ErrorCount())
	r.rep.Phases = append(r.rep.Phases, p)
	return p
}

// noop is the trivial handler's request for n.
func (r *run) noop(m Mix, skuID string) Do {
	return func(ctx context.Context, n int) Answer {
		a := m.Ask(n)
		b := r.cfg.Buyers[a.Buyer]
		return r.cl.Noop(ctx, NoopPath, b, BuyRequest{SKUID: skuID, Qty: 1, AddressID: b.AddressID, RequestID: a.RequestID})
	}
}

// buy is a buy of the sale for n, noted in the tally.
func (r *run) buy(m Mix, s Sale, t *Tally) Do {
	path := s.BuyPath()
	return func(ctx context.Context, n int) Answer {
		a := m.Ask(n)
		b := r.cfg.Buyers[a.Buyer]
		ans := r.cl.Buy(ctx, path, b, BuyRequest{SKUID: s.SKUID, Qty: 1, AddressID: b.AddressID, RequestID: a.RequestID})
		t.Note(a, ans, time.Now())
		return ans.Label()
	}
}

// SellingQuota is the quota of the sale buy-max runs on: more than any
// phase can sell, so that every answer there is a decision taken on stock
// that is still there (a win, or limit_reached once a buyer holds his
// limit), never the sold-out shortcut.
const SellingQuota = flashsale.MaxQuota

func (r *run) phases(ctx context.Context) error {
	cfg := r.cfg
	// Both sales are created before any load, as an operator creates a
	// session ahead of its start.
	selling, err := r.shop.OpenSale(ctx, "selling", SellingQuota, cfg.Limit)
	if err != nil {
		return fmt.Errorf("opening the selling sale: %w", err)
	}
	rushing, err := r.shop.OpenSale(ctx, "rush", cfg.Units, cfg.Limit)
	if err != nil {
		return fmt.Errorf("opening the rush sale: %w", err)
	}

	// The ceiling first, on a machine nothing else has warmed.
	r.quiet(ctx, "noop-max")
	r.prime(ctx, "noop-max", rushing.SKUID)
	noopMax := r.phase(fmt.Sprintf("noop-max: %d workers for %s", cfg.Workers, cfg.Duration), func() Phase {
		return r.closed().Run(ctx, "noop-max", r.noop(r.mix("a"), rushing.SKUID))
	})
	r.quiet(ctx, "noop-open")
	rate := cfg.Fraction * noopMax.Goodput
	r.phase(fmt.Sprintf("noop-open: %.0f/s for %s", rate, cfg.Duration), func() Phase {
		return r.open(rate).Run(ctx, "noop-open", r.noop(r.mix("b"), rushing.SKUID))
	})

	sold, buyMax, err := r.sell(ctx, selling)
	if err != nil {
		return err
	}
	rate = cfg.Rate
	if rate <= 0 {
		rate = cfg.Fraction * buyMax.Goodput
	}
	rushed, err := r.rush(ctx, rushing, rate)
	if err != nil {
		return err
	}
	return r.check(ctx, sold, rushed)
}

// saleRun is a sale under load: its tally, and when it started and its
// winners were all durable (-1: not within the settle timeout).
type saleRun struct {
	sale    Sale
	tally   *Tally
	started time.Time // zero: not timed (the selling sale does not sell out)
	durable time.Duration
}

// sell runs buy-max on the selling sale, then waits for its winners'
// orders.
func (r *run) sell(ctx context.Context, s Sale) (saleRun, Phase, error) {
	sr := saleRun{sale: s, tally: NewTally(1)}
	r.quiet(ctx, "buy-max")
	r.prime(ctx, "buy-max", s.SKUID)
	p := r.phase(fmt.Sprintf("buy-max: %d workers for %s", r.cfg.Workers, r.cfg.Duration), func() Phase {
		return r.closed().Run(ctx, "buy-max", r.buy(r.mix("c"), s, sr.tally))
	})
	ended := time.Now()
	won := sr.tally.Summary(s.Limit).Units
	r.logf("buy-max: %d won; waiting until they are orders", won)
	var err error
	sr.durable, err = settle(ctx, r.shop, s, won, ended, r.cfg.Settle)
	return sr, p, err
}

// rush runs the rush phase at rate, timing the sell-out and the writing of
// its winners, then soldout-max on the sold-out sale.
func (r *run) rush(ctx context.Context, s Sale, rate float64) (saleRun, error) {
	r.quiet(ctx, "rush")
	sr := saleRun{sale: s, tally: NewTally(1), started: time.Now()}
	phaseDone := make(chan struct{})
	watch := r.watchDurable(ctx, s, sr.tally, phaseDone)
	load := r.open(rate)
	// The requests due before the sell-out are the sale itself: summarized
	// apart, or the many sold-out answers after it would hide them.
	load.Split = func(due time.Time) bool {
		at := sr.tally.SoldOutAt()
		return at.IsZero() || due.Before(at)
	}
	r.phase(fmt.Sprintf("rush: %d units, %.0f/s for %s", s.Quota, rate, r.cfg.Duration), func() Phase {
		return load.Run(ctx, "rush", r.buy(r.mix("d"), s, sr.tally))
	})
	close(phaseDone)
	d := <-watch
	if d.err != nil {
		return sr, d.err
	}
	sr.durable = d.d
	if sr.tally.SoldOutAt().IsZero() {
		r.rep.Notes = append(r.rep.Notes, "the rush did not sell out: no soldout-max phase (raise --duration or the rate, or lower --units)")
		var err error
		sr.durable, err = settle(ctx, r.shop, s, sr.tally.Summary(s.Limit).Units, time.Now(), r.cfg.Settle)
		return sr, err
	}
	r.quiet(ctx, "soldout-max")
	r.prime(ctx, "soldout-max", s.SKUID)
	r.phase(fmt.Sprintf("soldout-max: %d workers for %s", r.cfg.Workers, r.cfg.Duration), func() Phase {
		return r.closed().Run(ctx, "soldout-max", r.buy(r.mix("e"), s, sr.tally))
	})
	return sr, nil
}

// check reads each sale back from the database and compares. Answers that
// arrived after the sell-out was timed may still be on their way to the
// database, so each sale first gets the settle time for all of them.
func (r *run) check(ctx context.Context, runs ...saleRun) error {
	for _, sr := range runs {
		if _, err := settle(ctx, r.shop, sr.sale, sr.tally.Summary(sr.sale.Limit).Units, time.Now(), r.cfg.Settle); err != nil {
			return err
		}
		truth, err := r.shop.Truth(ctx, sr.sale)
		if err != nil {
			return fmt.Errorf("reading %s back: %w", sr.sale.Name, err)
		}
		c := Check(sr.sale, sr.tally.Summary(sr.sale.Limit), truth, func(i int) string { return r.cfg.Buyers[i].ID })
		if at := sr.tally.SoldOutAt(); !at.IsZero() && !sr.started.IsZero() {
			c.SoldOutAfterMS = msf(at.Sub(sr.started))
		}
		if sr.durable >= 0 {
			c.DurableAfterMS = msf(sr.durable)
		}
		r.rep.Sales = append(r.rep.Sales, c)
	}
	return nil
}

type durable struct {
	d   time.Duration
	err error
}

// watchDurable waits, alongside the rush, for its sell-out, then polls until
// every unit is a durable order; the channel gets the time that took (-1 if
// the sale did not sell out before phaseDone closed, or its orders were not
// all written within the settle timeout).
func (r *run) watchDurable(ctx context.Context, s Sale, t *Tally, phaseDone <-chan struct{}) <-chan durable {
	out := make(chan durable, 1)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if at := t.SoldOutAt(); !at.IsZero() {
				d, err := settle(ctx, r.shop, s, s.Quota, at, r.cfg.Settle)
				out <- durable{d, err}
				return
			}
			select {
			case <-tick.C:
				continue
			case <-ctx.Done():
			case <-phaseDone:
				if !t.SoldOutAt().IsZero() {
					continue
				}
			}
			out <- durable{-1, nil}
			return
		}
	}()
	return out
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

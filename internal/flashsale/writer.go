package flashsale

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// The order writer turns wins into orders, a batch per transaction.
//
// A win is acknowledged to the queue only after its batch committed, so a
// writer that dies mid-batch loses nothing: its wins are handed out again
// (to it, restarted, or to another replica's writer) and the store skips
// the tickets it already wrote, so nothing is written twice either. The
// database has the last word on the quota and the buyer's limit: a win the
// hot path let through but the database cannot hold (only possible after
// the hot path lost its state) is refused, never oversold.

// Refusal reasons.
const (
	ReasonQuota     = "quota"             // the session's quota is written out
	ReasonLimit     = "limit"             // the buyer would pass the limit
	ReasonAddress   = "address_not_found" // not the buyer's address
	ReasonNoSession = "session_not_found"
)

// RunWriters runs the configured number of order writers, and the sweep
// that closes ended sessions, until ctx ends.
func (s *Service) RunWriters(ctx context.Context) {
	cfg := s.config()
	if err := s.EnsureAll(ctx); err != nil && ctx.Err() == nil {
		s.log().Error("loading flash sessions on the hot path", "err", err)
	}
	var wg sync.WaitGroup
	for i := range cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runWriter(ctx, cfg.Consumer+"-"+strconv.Itoa(i))
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.runSweep(ctx) }()
	wg.Wait()
	// In the embedded mode the queue dies with the process: write what it
	// holds before going.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Flush(fctx); err != nil {
		s.log().Error("writing the last flash orders", "err", err)
	}
}

// Flush writes every win queued now, batch by batch, and returns when the
// queue is empty: a graceful stop, and tests, which must not wait for a
// background writer.
func (s *Service) Flush(ctx context.Context) error {
	// The writers' own names first: what they were handed and did not
	// acknowledge (stopped mid-batch) is theirs to take back.
	cfg := s.config()
	for i := range cfg.Writers {
		if err := s.flushAs(ctx, cfg.Consumer+"-"+strconv.Itoa(i)); err != nil {
			return err
		}
	}
	return s.flushAs(ctx, cfg.Consumer+"-flush")
}

func (s *Service) flushAs(ctx context.Context, consumer string) error {
	for {
		wins, err := s.Reserver.Wins(ctx, consumer, s.config().BatchSize, 0)
		if err != nil || len(wins) == 0 {
			return err
		}
		if err := s.WriteBatch(ctx, wins); err != nil {
			return err
		}
		if err := s.Reserver.Ack(ctx, wins); err != nil {
			return err
		}
	}
}

func (s *Service) runWriter(ctx context.Context, consumer string) {
	cfg := s.config()
	for ctx.Err() == nil {
		wins, err := s.Reserver.Wins(ctx, consumer, cfg.BatchSize, 200*time.Millisecond)
		if err != nil {
			if ctx.Err() == nil {
				s.log().Warn("flash wins unavailable", "err", err)
				pause(ctx, time.Second)
			}
			continue
		}
		if len(wins) == 0 {
			continue
		}
		// Retried until it commits: the wins are the buyers' and stay
		// queued (unacknowledged) meanwhile.
		for attempt := 0; ; attempt++ {
			if err = s.WriteBatch(ctx, wins); err == nil || ctx.Err() != nil {
				break
			}
			s.log().Error("writing flash orders", "wins", len(wins), "attempt", attempt, "err", err)
			pause(ctx, min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second))
		}
		if err != nil {
			return
		}
		for attempt := 0; ; attempt++ {
			if err = s.Reserver.Ack(ctx, wins); err == nil || ctx.Err() != nil {
				break
			}
			pause(ctx, min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second))
		}
	}
}

// WriteBatch writes one batch of wins as orders (or refusals) and gives
// the units of wins refused for a bad address back to the pool. It is safe
// to run twice on the same wins.
func (s *Service) WriteBatch(ctx context.Context, wins []Win) error {
	slices.SortFunc(wins, func(a, b Win) int { return a.At.Compare(b.At) })
	p, err := s.prepare(ctx, wins)
	if err != nil {
		return err
	}
	var freed []Win
	err = s.Store.WriteFlashWins(ctx, wins, func(k Known) ([]Placement, error) {
		freed = freed[:0]
		out, err := p.decide(k)
		for _, pl := range out {
			if pl.Reason == ReasonAddress {
				freed = append(freed, pl.Win)
			}
		}
		return out, err
	})
	if err != nil {
		return err
	}
	for _, w := range freed {
		if err := s.Reserver.Release(ctx, w.SessionID, w.SKUID, w.Ticket); err != nil && !errs.Is(err, ErrNothingHeld.Code) {
			s.log().Warn("giving back a refused flash unit", "ticket", w.Ticket, "err", err)
		}
	}
	return nil
}

// batch is what the writer read before its transaction: the sessions, SKUs,
// prices and addresses of a batch of wins.
type batch struct {
	svc      *Service
	now      time.Time
	sessions map[string]*Session
	skus     map[string]catalog.SKUWithProduct
	quotes   map[string]*pricing.Quote // session|sku|qty
	shipTo   map[string]order.ShipTo   // buyer|address
	wins     []Win
}

func (s *Service) prepare(ctx context.Context, wins []Win) (*batch, error) {
	b := &batch{svc: s, now: s.Clock.Now(), sessions: map[string]*Session{}, quotes: map[string]*pricing.Quote{},
		shipTo: map[string]order.ShipTo{}, wins: wins}
	var skuIDs []string
	for _, w := range wins {
		if _, ok := b.sessions[w.SessionID]; !ok {
			sess, err := s.cached(ctx, w.SessionID)
			if err != nil && !errs.Is(err, ErrSessionNotFound.Code) {
				return nil, err
			}
			b.sessions[w.SessionID] = sess
		}
		if !slices.Contains(skuIDs, w.SKUID) {
			skuIDs = append(skuIDs, w.SKUID)
		}
	}
	var err error
	if b.skus, err = s.Catalog.SKUs(ctx, skuIDs); err != nil {
		return nil, err
	}
	if err := b.lookUpAddresses(ctx); err != nil {
		return nil, err
	}
	for _, w := range wins {
		sess := b.sessions[w.SessionID]
		k, ok := sess.sku(w.SKUID)
		sp, found := b.skus[w.SKUID]
		key := quoteKey(w)
		if !ok || !found || b.quotes[key] != nil {
			continue
		}
		// One quote per session SKU and quantity: the price is the same
		// for every buyer (DOMAIN.md), so a batch prices a handful of
		// lines, not a thousand.
		q, err := s.Pricing.Price(ctx, []pricing.Line{{SKUID: w.SKUID, Qty: w.Qty, ListPrice: sp.SKU.ListPrice,
			SalePrice: sp.SKU.SalePrice, OfferPrice: k.Price, OfferRef: w.SessionID}})
		if err != nil {
			return nil, err
		}
		b.quotes[key] = q
	}
	return b, nil
}

func quoteKey(w Win) string { return w.SessionID + "|" + w.SKUID + "|" + strconv.Itoa(w.Qty) }

// lookUpAddresses resolves each winner's address, a few at a time. An
// address that is not the buyer's is left out (the win is refused).
func (b *batch) lookUpAddresses(ctx context.Context) error {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
		slots = make(chan struct{}, 16)
		seen  = map[string]bool{}
	)
	for _, w := range b.wins {
		key := w.BuyerID + "|" + w.Data
		if seen[key] {
			continue
		}
		seen[key] = true
		slots <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			to, err := b.svc.Addresses.ShipTo(ctx, w.BuyerID, w.Data)
			mu.Lock()
			defer mu.Unlock()
			switch k := errs.KindOf(err); {
			case err == nil:
				b.shipTo[key] = to
			case k != errs.NotFound && k != errs.Invalid && first == nil:
				first = err
			}
		}()
	}
	wg.Wait()
	return first
}

// decide places each win not yet written, in the order won: an order while
// the quota and the buyer's limit allow (counting the batch's own earlier
// wins), a refusal otherwise.
func (b *batch) decide(k Known) ([]Placement, error) {
	won := map[string]int{}  // session|sku -> units placed in this batch
	held := map[string]int{} // session|sku|buyer -> units placed in this batch
	var out []Placement
	for _, w := range b.wins {
		if k.Written[w.Ticket] {
			continue
		}
		sk := w.SessionID + "|" + w.SKUID
		bk := sk + "|" + w.BuyerID
		row, ok := k.SKUs[w.SessionID][w.SKUID]
		reason := ""
		switch {
		case !ok || b.sessions[w.SessionID] == nil:
			reason = ReasonNoSession
		case row.Won+won[sk]+w.Qty > row.Quota:
			reason = ReasonQuota
		case k.Held[w.SessionID][w.SKUID][w.BuyerID]+held[bk]+w.Qty > row.Limit:
			reason = ReasonLimit
		}
		to, hasAddress := b.shipTo[w.BuyerID+"|"+w.Data]
		if reason == "" && !hasAddress {
			reason = ReasonAddress
		}
		if reason != "" {
			out = append(out, Placement{Win: w, Reason: reason})
			continue
		}
		won[sk] += w.Qty
		held[bk] += w.Qty
		d, err := b.order(w, to)
		if err != nil {
			return nil, err
		}
		out = append(out, Placement{Win: w, Draft: d})
	}
	return out, nil
}

// order builds the win's order: one line at the flash price, paid within
// the session's pay window counted from the win (at least a minute from
// now, should the writer have been held up).
func (b *batch) order(w Win, to order.ShipTo) (*order.Draft, error) {
	q := b.quotes[quoteKey(w)]
	sp := b.skus[w.SKUID]
	sess := b.sessions[w.SessionID]
	if q == nil || len(q.Lines) != 1 {
		return nil, fmt.Errorf("flashsale: no quote for %s", quoteKey(w))
	}
	payBy := w.At.Add(sess.PayWindow)
	if floor := b.now.Add(time.Minute); payBy.Before(floor) {
		payBy = floor
	}
	pl := q.Lines[0]
	o := &order.Order{
		ID: ids.New(), BuyerID: w.BuyerID, Status: order.PendingPayment,
		Subtotal: q.Subtotal, Discount: q.Discount, Shipping: q.Shipping, Total: q.Total,
		ShipTo: to, PayBy: payBy, CreatedAt: b.now, UpdatedAt: b.now,
		Activity: &order.Activity{Kind: order.ActivityFlashSale, ID: w.SessionID, Ref: w.Ticket},
		Lines: []order.Line{{
			ID: ids.New(), SKUID: w.SKUID, ProductID: sp.Product.ID, Title: sp.Product.Title, Spec: sp.SKU.SpecText(),
			Qty: pl.Qty, ListPrice: pl.ListPrice, SalePrice: pl.SalePrice, Amount: pl.Amount,
			Adjustments: slices.Clone(pl.Adjustments),
		}},
	}
	return b.svc.Orders.Compose(o), nil
}

func (s *Session) sku(id string) (SessionSKU, bool) {
	if s == nil {
		return SessionSKU{}, false
	}
	return s.SKU(id)
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

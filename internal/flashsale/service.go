package flashsale

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Config holds the flash sale rules that are the operator's to set.
type Config struct {
	// BatchSize is the most wins the order writer puts in one transaction.
	BatchSize int
	// Writers is how many order writers run in this process.
	Writers int
	// Consumer names this process's writers in the queue; a restarted
	// process with the same name takes back its unacknowledged wins at
	// once (others take them over after the engine's claim delay).
	Consumer string
	// CloseAfter is how long after its end a session is closed and its
	// unsold units given back to the shop: long enough for the writer to
	// have written every win.
	CloseAfter time.Duration
}

// DefaultConfig: batches of 1,000 (one transaction writes them well inside
// the goal of 10,000 winners in 2 seconds), two writers so address lookups
// overlap a commit, and a 5-minute close delay.
var DefaultConfig = Config{BatchSize: 1000, Writers: 2, CloseAfter: 5 * time.Minute}

// Session rules.
const (
	DefaultPayMinutes = 5  // a winner who does not pay frees the unit soon
	MaxPayMinutes     = 30 // the order's own pay window caps nothing here; this does
	MaxSKUs           = 20
	MaxDuration       = 24 * time.Hour
	MaxWarmup         = 7 * 24 * time.Hour
	MaxQuota          = 1_000_000
	MaxLimit          = 100
	MaxNameLen        = 60
)

// Service runs flash sales: sessions, the hot-path decision, the order
// writer and the return of unpaid units.
type Service struct {
	Store     Store
	Reserver  Reserver
	Orders    *order.Service // Compose; its pricing pipeline prices the orders
	Catalog   catalog.Store
	Addresses order.Addresses
	Pricing   *pricing.Pipeline
	Clock     clock.Clock
	Log       *slog.Logger
	Config    Config

	cacheMu sync.Mutex
	cache   map[string]cachedSession
	loadMu  sync.Mutex // one session read from the database at a time
	rebuild sync.Mutex
}

type cachedSession struct {
	s  *Session
	at time.Time
}

// sessionTTL bounds how stale the hot path's copy of a session may be: a
// cancellation reaches every replica within it.
const sessionTTL = 2 * time.Second

func (s *Service) config() Config {
	c := s.Config
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultConfig.BatchSize
	}
	if c.Writers <= 0 {
		c.Writers = DefaultConfig.Writers
	}
	if c.CloseAfter <= 0 {
		c.CloseAfter = DefaultConfig.CloseAfter
	}
	if c.Consumer == "" {
		c.Consumer = "writer"
	}
	return c
}

// NewSession is an operator's request for a session.
type NewSession struct {
	Name       string
	WarmupAt   time.Time // zero: shown only once open
	StartsAt   time.Time
	EndsAt     time.Time
	PayMinutes int // 0: DefaultPayMinutes
	SKUs       []NewSessionSKU
}

// NewSessionSKU is one SKU of a NewSession.
type NewSessionSKU struct {
	SKUID string
	Price money.Fen
	Quota int
	Limit int
}

// CreateSession checks the request, carves the quota out of the stock and
// loads the session on the hot path.
func (s *Service) CreateSession(ctx context.Context, actorID string, in NewSession) (*Session, error) {
	now := s.Clock.Now()
	sess, err := s.parse(ctx, in, now)
	if err != nil {
		return nil, err
	}
	sess.ID, sess.CreatedBy, sess.CreatedAt, sess.UpdatedAt = ids.New(), actorID, now, now
	if err := s.Store.CreateFlashSession(ctx, sess); err != nil {
		if e, ok := errs.As(err); ok && e.Code == "out_of_stock" {
			i := slices.IndexFunc(in.SKUs, func(k NewSessionSKU) bool { return k.SKUID == e.Field })
			return nil, &errs.Error{Kind: errs.Conflict, Code: "out_of_stock", Field: fmt.Sprintf("skus[%d].quota", i),
				Message: "not enough stock for the quota of SKU " + e.Field}
		}
		return nil, err
	}
	s.remember(sess)
	if err := s.ensure(ctx, sess); err != nil {
		// The session stands; the first buyer (or the writer's start) loads it.
		s.log().Warn("flash session not loaded on the hot path", "session", sess.ID, "err", err)
	}
	return sess, nil
}

func (s *Service) parse(ctx context.Context, in NewSession, now time.Time) (*Session, error) {
	var l errs.List
	name := strings.TrimSpace(in.Name)
	if name == "" || len([]rune(name)) > MaxNameLen {
		l.Add("name", "invalid_name", "a name of 1 to %d characters", MaxNameLen)
	}
	switch {
	case in.StartsAt.IsZero() || !in.StartsAt.After(now):
		l.Add("starts_at", "invalid_time", "the start must be in the future")
	case !in.EndsAt.After(in.StartsAt):
		l.Add("ends_at", "invalid_time", "the end must come after the start")
	case in.EndsAt.Sub(in.StartsAt) > MaxDuration:
		l.Add("ends_at", "invalid_time", "a flash sale lasts at most 24 hours")
	}
	var warmup *time.Time
	if !in.WarmupAt.IsZero() {
		switch {
		case !in.WarmupAt.Before(in.StartsAt):
			l.Add("warmup_at", "invalid_time", "the warm-up starts before the gate opens")
		case in.StartsAt.Sub(in.WarmupAt) > MaxWarmup:
			l.Add("warmup_at", "invalid_time", "a warm-up lasts at most 7 days")
		}
		w := in.WarmupAt.UTC()
		warmup = &w
	}
	pay := in.PayMinutes
	if pay == 0 {
		pay = DefaultPayMinutes
	}
	if pay < 1 || pay > MaxPayMinutes {
		l.Add("pay_minutes", "out_of_range", "between 1 and %d minutes", MaxPayMinutes)
	}
	if len(in.SKUs) == 0 || len(in.SKUs) > MaxSKUs {
		l.Add("skus", "invalid_skus", "1 to %d SKUs", MaxSKUs)
	}
	skuIDs := make([]string, 0, len(in.SKUs))
	for i, k := range in.SKUs {
		f := fmt.Sprintf("skus[%d]", i)
		switch {
		case !ids.Valid(k.SKUID):
			l.Add(f+".sku_id", "invalid_id", "must be a SKU id")
		case slices.ContainsFunc(in.SKUs[:i], func(o NewSessionSKU) bool { return o.SKUID == k.SKUID }):
			l.Add(f+".sku_id", "duplicate_sku", "each SKU appears once")
		default:
			skuIDs = append(skuIDs, k.SKUID)
		}
		if k.Price < 1 {
			l.Add(f+".price", "out_of_range", "at least 1 fen")
		}
		if k.Quota < 1 || k.Quota > MaxQuota {
			l.Add(f+".quota", "out_of_range", "between 1 and %d units", MaxQuota)
		}
		if k.Limit < 1 || k.Limit > MaxLimit {
			l.Add(f+".limit", "out_of_range", "between 1 and %d units per buyer", MaxLimit)
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	found, err := s.Catalog.SKUs(ctx, skuIDs)
	if err != nil {
		return nil, err
	}
	sess := &Session{Name: name, WarmupAt: warmup, StartsAt: in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(),
		PayWindow: time.Duration(pay) * time.Minute, Status: Scheduled}
	for i, k := range in.SKUs {
		f := fmt.Sprintf("skus[%d]", i)
		sp, ok := found[k.SKUID]
		switch {
		case !ok:
			l.Add(f+".sku_id", "sku_not_found", "no such SKU")
		case sp.Product.Status != catalog.OnSale:
			l.Add(f+".sku_id", "product_unavailable", "the product is not on sale")
		case k.Price >= sp.SKU.SalePrice:
			// A "flash price" at or above the everyday price is a false
			// claim of a discount (DOMAIN.md, prices).
			l.Add(f+".price", "not_a_discount", "below the sale price of %s", sp.SKU.SalePrice)
		}
		sess.SKUs = append(sess.SKUs, SessionSKU{SKUID: k.SKUID, Price: k.Price, Quota: k.Quota, Limit: k.Limit})
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return sess, nil
}

// Cancel calls a session off before its start and gives its quota back.
func (s *Service) Cancel(ctx context.Context, id string) (*Session, error) {
	sess, err := s.Store.FlashSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if !s.Clock.Now().Before(sess.StartsAt) {
		return nil, ErrStarted
	}
	if sess, err = s.Store.EndFlashSession(ctx, id, Cancelled, s.Clock.Now()); err != nil {
		return nil, err
	}
	s.forget(id)
	return sess, nil
}

// Session returns a session as the database has it (its won counts are the
// units written as orders).
func (s *Service) Session(ctx context.Context, id string) (*Session, error) {
	return s.Store.FlashSession(ctx, id)
}

// Stats is Session, named for what a load test reads: quota, and units won
// and written, per SKU.
func (s *Service) Stats(ctx context.Context, id string) (*Session, error) { return s.Session(ctx, id) }

// Sessions lists sessions not ended long ago (operators), soonest first.
func (s *Service) Sessions(ctx context.Context, f SessionFilter) ([]Session, error) {
	return s.Store.FlashSessions(ctx, f)
}

// Showing lists what buyers see: sessions in warm-up or open.
func (s *Service) Showing(ctx context.Context) ([]Session, error) {
	now := s.Clock.Now()
	all, err := s.Store.FlashSessions(ctx, SessionFilter{EndsAfter: now, Statuses: []Status{Scheduled}, Limit: 100})
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, x := range all {
		if p := x.PhaseAt(now); p == PhaseWarmup || p == PhaseOpen {
			out = append(out, x)
		}
	}
	return out, nil
}

// Shown returns a session a buyer may see (in warm-up, open or ended);
// before its warm-up it is not found.
func (s *Service) Shown(ctx context.Context, id string) (*Session, error) {
	sess, err := s.cached(ctx, id)
	if err != nil {
		return nil, err
	}
	if sess.PhaseAt(s.Clock.Now()) == PhaseHidden {
		return nil, ErrSessionNotFound
	}
	return sess, nil
}

// Reservation returns one of the buyer's reservations; another buyer's is
// not found.
func (s *Service) Reservation(ctx context.Context, buyerID, id string) (*Reservation, error) {
	r, err := s.Store.FlashReservation(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.BuyerID != buyerID {
		return nil, ErrReservationNotFound
	}
	return r, nil
}

// Reservations lists the buyer's reservations in a session, newest first:
// where a buyer whose press got no answer (or, on Redis after sell-out, a
// retry answered by the sold-out flag) finds out whether it won.
func (s *Service) Reservations(ctx context.Context, buyerID, sessionID string) ([]Reservation, error) {
	if _, err := s.cached(ctx, sessionID); err != nil {
		return nil, err
	}
	return s.Store.FlashReservations(ctx, sessionID, buyerID)
}

// cached is the session from this process's short-lived copy, read from the
// database at most once per sessionTTL: the hot path reads no table.
func (s *Service) cached(ctx context.Context, id string) (*Session, error) {
	now := time.Now()
	s.cacheMu.Lock()
	c, ok := s.cache[id]
	s.cacheMu.Unlock()
	if ok && now.Sub(c.at) < sessionTTL {
		return c.s, nil
	}
	// One read per refresh, not one per waiting buyer: the first rush
	// after a refresh would otherwise send every press to the database.
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	s.cacheMu.Lock()
	c, ok = s.cache[id]
	s.cacheMu.Unlock()
	if ok && time.Since(c.at) < sessionTTL {
		return c.s, nil
	}
	sess, err := s.Store.FlashSession(ctx, id)
	if err != nil {
		return nil, err
	}
	s.remember(sess)
	return sess, nil
}

func (s *Service) remember(sess *Session) {
	s.cacheMu.Lock()
	if s.cache == nil {
		s.cache = map[string]cachedSession{}
	}
	s.cache[sess.ID] = cachedSession{s: sess, at: time.Now()}
	s.cacheMu.Unlock()
}

func (s *Service) forget(id string) {
	s.cacheMu.Lock()
	delete(s.cache, id)
	s.cacheMu.Unlock()
}

// ensure loads the session on the hot path if the engine has no state for
// it, from the database's holds.
func (s *Service) ensure(ctx context.Context, sess *Session) error {
	holds, err := s.Store.FlashHolds(ctx, sess.ID)
	if err != nil {
		return err
	}
	snap := Snapshot{SessionID: sess.ID, StartsAt: sess.StartsAt, EndsAt: sess.EndsAt}
	for _, k := range sess.SKUs {
		snap.SKUs = append(snap.SKUs, SKUState{SKUID: k.SKUID, Quota: k.Quota, Limit: k.Limit, Holds: holds[k.SKUID]})
	}
	if sess.Status != Scheduled {
		// A cancelled session keeps nothing to sell: its gate is shut.
		snap.EndsAt = snap.StartsAt.Add(time.Millisecond)
	}
	n, err := s.Reserver.Ensure(ctx, snap)
	if n > 0 {
		s.log().Info("flash session loaded on the hot path", "session", sess.ID, "skus", n)
	}
	return err
}

// EnsureAll loads every session not yet ended on the hot path: at start,
// and after the engine lost its state.
func (s *Service) EnsureAll(ctx context.Context) error {
	all, err := s.Store.FlashSessions(ctx, SessionFilter{EndsAfter: s.Clock.Now(), Statuses: []Status{Scheduled}, Limit: 1000})
	if err != nil {
		return err
	}
	for i := range all {
		if err := s.ensure(ctx, &all[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

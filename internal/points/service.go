package points

import (
	"context"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// Book creates the points' ledger accounts.
type Book interface {
	CreateAccount(ctx context.Context, a ledger.Account) error
}

// Service runs the points rules.
type Service struct {
	Store Store
	Book  Book
	Clock clock.Clock

	mu    sync.Mutex
	ready bool
}

var _ order.Points = (*Service)(nil)

// Setup creates the ledger accounts, once per process (CreateAccount is
// idempotent; a failure is retried on the next call). Every change that
// posts to the ledger runs it first.
func (s *Service) Setup(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return nil
	}
	for _, a := range Accounts {
		if err := s.Book.CreateAccount(ctx, a); err != nil {
			return err
		}
	}
	s.ready = true
	return nil
}

// Config is the rules in force.
func (s *Service) Config(ctx context.Context) (Config, error) { return s.Store.PointsConfig(ctx) }

// SetConfig checks and stores the operator's rules.
func (s *Service) SetConfig(ctx context.Context, c Config) (Config, error) {
	var l errs.List
	if c.EarnRate < 0 || c.EarnRate > 10000 {
		l.Add("earn_rate_bp", "out_of_range", "earn_rate_bp is 0 to 10000")
	}
	if c.SignIn < 0 || c.SignIn > 1000 {
		l.Add("sign_in_points", "out_of_range", "sign_in_points is 0 to 1000")
	}
	if c.SpendCap < 0 || c.SpendCap > 10000 {
		l.Add("spend_cap_bp", "out_of_range", "spend_cap_bp is 0 to 10000")
	}
	if c.ExpiryDays < 1 || c.ExpiryDays > 3650 {
		l.Add("expiry_days", "out_of_range", "expiry_days is 1 to 3650")
	}
	if err := l.Err(); err != nil {
		return Config{}, err
	}
	return c, s.Store.SetPointsConfig(ctx, c, s.Clock.Now())
}

// Account is a buyer's (or, for an operator, any buyer's) points: the
// balance, the live lots and the latest movements.
type Account struct {
	Balance
	Lots    []Lot      `json:"lots"`
	History []Movement `json:"history"`
}

// MaxList bounds the lots and movements one read returns.
const MaxList = 100

// Account reads a buyer's points.
func (s *Service) Account(ctx context.Context, buyerID string) (*Account, error) {
	now := s.Clock.Now()
	b, err := s.Store.PointsBalance(ctx, buyerID, now)
	if err != nil {
		return nil, err
	}
	lots, err := s.Store.PointsLots(ctx, buyerID, now, MaxList)
	if err != nil {
		return nil, err
	}
	hist, err := s.Store.PointsHistory(ctx, buyerID, MaxList)
	if err != nil {
		return nil, err
	}
	return &Account{Balance: b, Lots: lots, History: hist}, nil
}

// shanghai is the shop's day: a sign-in counts once per calendar day in
// China, the buyers' day, not UTC's.
var shanghai = time.FixedZone("CST", 8*60*60)

// SignIn gives the day's sign-in points, once a day.
func (s *Service) SignIn(ctx context.Context, buyerID string) (*Movement, error) {
	if err := s.Setup(ctx); err != nil {
		return nil, err
	}
	c, err := s.Store.PointsConfig(ctx)
	if err != nil {
		return nil, err
	}
	if c.SignIn <= 0 {
		return nil, ErrSignInOff
	}
	now := s.Clock.Now()
	day := now.In(shanghai).Format(time.DateOnly)
	a := Add{Key: "sign_in:" + buyerID + ":" + day, BuyerID: buyerID, Source: SourceSignIn, Points: c.SignIn,
		Ref: day, At: now, Expires: c.Expiry(now)}
	ok, err := s.Store.AddPoints(ctx, a)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrSignedIn
	}
	return &Movement{Kind: SourceSignIn, Points: c.SignIn, Ref: day, CreatedAt: now}, nil
}

// Grant is an operator's task award.
type Grant struct {
	BuyerID string `json:"buyer_id"`
	Points  int64  `json:"points"`
	Reason  string `json:"reason"`
	Key     string `json:"key"` // the task completion's id: one award per key
}

// MaxGrant bounds one award: a point is a yuan.
const MaxGrant = 100000

// Grant awards task points, once per key.
func (s *Service) Grant(ctx context.Context, g Grant) (*Movement, error) {
	var l errs.List
	if !ids.Valid(g.BuyerID) {
		l.Add("buyer_id", "invalid_id", "buyer_id must be an id")
	}
	if g.Points < 1 || g.Points > MaxGrant {
		l.Add("points", "out_of_range", "points is 1 to %d", MaxGrant)
	}
	if g.Reason == "" || len(g.Reason) > 200 {
		l.Add("reason", "required", "a reason of at most 200 bytes")
	}
	if g.Key == "" || len(g.Key) > 100 {
		l.Add("key", "required", "a key of at most 100 bytes")
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	if err := s.Setup(ctx); err != nil {
		return nil, err
	}
	c, err := s.Store.PointsConfig(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	ok, err := s.Store.AddPoints(ctx, Add{Key: "task:" + g.Key, BuyerID: g.BuyerID, Source: SourceTask, Points: g.Points,
		Ref: g.Key, Reason: g.Reason, At: now, Expires: c.Expiry(now)})
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrGranted
	}
	return &Movement{Kind: SourceTask, Points: g.Points, Ref: g.Key, Reason: g.Reason, CreatedAt: now}, nil
}

// Terms checks the buyer holds n points and gives the pricing step's
// terms. The store checks again, atomically, when the order is written.
func (s *Service) Terms(ctx context.Context, buyerID string, n int64) (*pricing.Points, error) {
	c, err := s.Store.PointsConfig(ctx)
	if err != nil {
		return nil, err
	}
	b, err := s.Store.PointsBalance(ctx, buyerID, s.Clock.Now())
	if err != nil {
		return nil, err
	}
	if b.Points < n {
		return nil, ErrInsufficient
	}
	return &pricing.Points{Want: n, Unit: FenPerPoint, Cap: c.SpendCap}, nil
}

// CreateOrder stores an order that spends points.
func (s *Service) CreateOrder(ctx context.Context, d *order.Draft) error {
	if err := s.Setup(ctx); err != nil {
		return err
	}
	return s.Store.SpendPoints(ctx, d, s.Clock.Now())
}

// Expire expires lots past their expiry, in batches; it returns how many.
func (s *Service) Expire(ctx context.Context) (int, error) {
	if err := s.Setup(ctx); err != nil {
		return 0, err
	}
	now := s.Clock.Now()
	total := 0
	for {
		n, err := s.Store.ExpirePoints(ctx, now, 500)
		total += n
		if err != nil || n < 500 {
			return total, err
		}
	}
}

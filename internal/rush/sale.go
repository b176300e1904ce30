package rush

import (
	"context"
	"fmt"
	"time"
)

// Shop is the shop under load, as the run needs it beyond HTTP: it opens
// sales and tells the database's truth about them. cmd/siyu implements it on
// the app it starts; tests implement it on a fake.
type Shop interface {
	// OpenSale creates a flash session selling quota units of one SKU with
	// a per-buyer limit, and returns once its gate is open.
	OpenSale(ctx context.Context, name string, quota, limit int) (Sale, error)
	// Ordered is the units of the sale that are durable orders now. It is
	// polled while the sale runs, so it should be cheap.
	Ordered(ctx context.Context, s Sale) (int, error)
	// Truth reads the sale back from the database after the run.
	Truth(ctx context.Context, s Sale) (Truth, error)
}

// Sale is an open flash session of one SKU.
type Sale struct {
	Name      string
	SessionID string
	SKUID     string
	Quota     int
	Limit     int
}

// BuyPath is the sale's buy endpoint.
func (s Sale) BuyPath() string { return "/api/v1/flash/sessions/" + s.SessionID + "/buy" }

// Truth is a sale as the database records it after the run: the server's
// truth, against which the answers are checked.
type Truth struct {
	// UnitsWon is the units the server records as won (its reservations,
	// written or not yet written as orders); -1 if it cannot tell apart
	// from OrderedUnits.
	UnitsWon int
	// Orders is the sale's orders, OrderedUnits the units they hold.
	Orders       int
	OrderedUnits int
	// BuyerUnits is the units each buyer (by id) holds in the database.
	BuyerUnits map[string]int
	// OrdersByReservation counts the orders of each reservation id; nil
	// when the shop cannot tell (then lost and duplicated orders are
	// judged by counts alone).
	OrdersByReservation map[string]int
}

// SaleCheck is one sale's figures and verdicts.
type SaleCheck struct {
	Name      string `json:"name"`
	SessionID string `json:"session_id"`
	SKUID     string `json:"sku_id"`
	Quota     int    `json:"quota"`
	Limit     int    `json:"limit"`

	// From the answers.
	Winners    int   `json:"winners"`
	UnitsWon   int   `json:"units_won"`
	Repeats    int64 `json:"repeat_answers"`
	DoubleWins int   `json:"double_wins"`
	// From the database.
	DBUnitsWon   int `json:"db_units_won"`
	Orders       int `json:"orders"`
	OrderedUnits int `json:"ordered_units"`

	// Verdicts: each must be 0.
	Oversold        int `json:"oversold"`
	LimitViolations int `json:"limit_violations"`
	Lost            int `json:"lost_orders"`
	Duplicated      int `json:"duplicated_orders"`

	// SoldOutAfterMS is when the sale sold out, after its phase began
	// (-1: it did not). DurableAfterMS is how long after sell-out (or,
	// for a sale that did not sell out, after its phase's end) every won
	// unit was a durable order (-1: not within the settle timeout).
	SoldOutAfterMS float64 `json:"sold_out_after_ms"`
	DurableAfterMS float64 `json:"durable_after_ms"`
}

// Breaches is the sum of the verdicts.
func (c SaleCheck) Breaches() int { return c.Oversold + c.LimitViolations + c.Lost + c.Duplicated }

// Check compares a sale's answers with the database's truth. buyerID maps a
// buyer's index in the run to the id the database knows.
func Check(s Sale, ans Summary, truth Truth, buyerID func(int) string) SaleCheck {
	c := SaleCheck{Name: s.Name, SessionID: s.SessionID, SKUID: s.SKUID, Quota: s.Quota, Limit: s.Limit,
		Winners: ans.Winners, UnitsWon: ans.Units, Repeats: ans.Repeats, DoubleWins: ans.DoubleWins,
		DBUnitsWon: truth.UnitsWon, Orders: truth.Orders, OrderedUnits: truth.OrderedUnits,
		SoldOutAfterMS: -1, DurableAfterMS: -1}
	if c.DBUnitsWon < 0 {
		c.DBUnitsWon = truth.OrderedUnits
	}

	// Oversold: more units taken than the quota, by any account of it.
	c.Oversold = max(0, max(ans.Units, c.DBUnitsWon, truth.OrderedUnits)-s.Quota)

	// Limit: every buyer, by the larger of the two accounts.
	units := map[string]int{}
	for b, u := range ans.BuyerUnits {
		units[buyerID(b)] = u
	}
	for id, u := range truth.BuyerUnits {
		units[id] = max(units[id], u)
	}
	for _, u := range units {
		if u > s.Limit {
			c.LimitViolations++
		}
	}

	// Lost: a win the buyer was told of, or the server recorded, with no
	// order. Duplicated: a win with more than one order, or a request
	// that won twice.
	if truth.OrdersByReservation != nil {
		for id := range ans.Reservations {
			if truth.OrdersByReservation[id] == 0 {
				c.Lost++
			}
		}
		for _, n := range truth.OrdersByReservation {
			c.Duplicated += max(0, n-1)
		}
	} else {
		c.Lost = max(0, ans.Winners-truth.Orders)
		c.Duplicated = max(0, truth.Orders-max(ans.Winners, c.DBUnitsWon))
	}
	if c.DBUnitsWon > truth.OrderedUnits {
		c.Lost = max(c.Lost, c.DBUnitsWon-truth.OrderedUnits)
	}
	c.Duplicated += ans.DoubleWins
	return c
}

// settle waits until the sale's durable orders hold at least want units,
// polling every few milliseconds; it returns how long that took, or -1 if
// timeout passed first.
func settle(ctx context.Context, shop Shop, s Sale, want int, since time.Time, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := shop.Ordered(ctx, s)
		if err != nil && ctx.Err() == nil {
			return -1, fmt.Errorf("reading the orders of %s: %w", s.Name, err)
		}
		if err == nil && got >= want {
			return time.Since(since), nil
		}
		select {
		case <-ctx.Done():
			return -1, nil
		case <-tick.C:
		}
	}
}

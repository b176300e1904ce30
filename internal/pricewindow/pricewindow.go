// Package pricewindow owns limited-time prices on ordinary products (限时抢购,
// issue 6): windows in which a SKU sells at a lower price, applied by the
// pricing pipeline's limited-time step; and the crossed-out price rule of
// DOMAIN.md ("Prices"): a crossed-out "original" price is no higher than the
// lowest price actually charged in the 7 days before the discount, and no
// sale price is raised just before a discount.
//
// To judge the rule it keeps two records, both fed by events: every SKU's
// prices as the catalog's events report them (a raise is on record), and
// the unit prices orders were placed at (what was actually charged). Both
// are the same for every buyer, and so is everything shown: a displayed
// price does not depend on who is looking.
//
// docs/pricing.md explains the rules and their sources.
package pricewindow

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// The rules' numbers.
const (
	// MaxLength: a window lasts at most 7 days, as every activity does
	// (DOMAIN.md, "Social fission": an activity runs at most 7 days). A
	// discount that runs longer is the price, not a promotion.
	MaxLength = 7 * 24 * time.Hour
	// MaxAhead is how far ahead a window may start: far enough to plan a
	// season, near enough that a typo in the year is refused.
	MaxAhead = 90 * 24 * time.Hour
	// StartGrace lets a window "start now" from a console whose clock is a
	// little behind: a start up to this far in the past is accepted.
	StartGrace = 5 * time.Minute
	// Period is the 7 days the crossed-out price rule looks back over, and
	// the 7 days before a discount in which no sale price may rise
	// (DOMAIN.md "Prices"; SAMR 《规范促销行为暂行规定》 2020).
	Period = 7 * 24 * time.Hour

	DefaultLimit = 20
	MaxLimit     = 100
)

// State is where a window stands at an instant; it is judged when read,
// never stored.
type State string

const (
	Upcoming State = "upcoming"
	Running  State = "running"
	Ended    State = "ended"
)

// Window is one limited-time price of one SKU, in force in [StartsAt,
// EndsAt). An early end moves EndsAt to the moment it was ended.
type Window struct {
	ID        string    `json:"id"`
	SKUID     string    `json:"sku_id"`
	ProductID string    `json:"product_id"`
	Price     money.Fen `json:"price"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	// AnnounceAt, when set, is when buyers start to see the window before
	// it opens (a warm-up); unset, it shows only while it runs.
	AnnounceAt *time.Time `json:"announce_at,omitempty"`
	EndedEarly bool       `json:"ended_early"`
	State      State      `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// StateAt is the window's state at now.
func (w *Window) StateAt(now time.Time) State {
	switch {
	case now.Before(w.StartsAt):
		return Upcoming
	case now.Before(w.EndsAt):
		return Running
	}
	return Ended
}

// Overlaps reports whether the window shares an instant with [start, end).
// Windows that only touch (one ends as the next starts) do not overlap, nor
// does a window ended the instant it started.
func (w *Window) Overlaps(start, end time.Time) bool {
	return w.StartsAt.Before(w.EndsAt) && w.StartsAt.Before(end) && start.Before(w.EndsAt)
}

// announcedAt reports whether buyers see the window, not started yet, at now.
func (w *Window) announcedAt(now time.Time) bool {
	return w.AnnounceAt != nil && !now.Before(*w.AnnounceAt) && now.Before(w.StartsAt)
}

// PriceRecord is a SKU's prices as one catalog event reported them.
type PriceRecord struct {
	SKUID     string
	EventID   string
	ListPrice money.Fen
	SalePrice money.Fen
	At        time.Time
}

// ChargedPrice says orders for a SKU were placed at UnitPrice on one UTC
// day, the first at FirstAt and the last at LastAt. The store keeps one per
// SKU, day and price.
type ChargedPrice struct {
	SKUID     string
	UnitPrice money.Fen
	FirstAt   time.Time
	LastAt    time.Time
}

// Facts are what a new window is judged against, read by the store under
// the lock that serialises the SKU's windows and its price changes.
type Facts struct {
	ProductID string
	SalePrice money.Fen // the SKU's sale price now
	// Overlapping are the SKU's windows sharing an instant with the new one.
	Overlapping []Window
	// Prices are the SKU's price records at or after the lookback's start,
	// and the last one before it, oldest first.
	Prices []PriceRecord
}

// Filter selects the windows of one SKU or of one product, newest first.
type Filter struct {
	SKUID     string
	ProductID string
	Cursor    string
	Limit     int
}

// Page is a page of windows.
type Page struct {
	Windows    []Window `json:"items"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Store keeps windows and the two price records.
type Store interface {
	// CreatePriceWindow locks the SKU's product (the lock a catalog update
	// takes too), reads the Facts with price records from since, lets
	// check judge them, and inserts w with its ProductID set, unless check
	// refuses. An unknown SKU is ErrSKUNotFound.
	CreatePriceWindow(ctx context.Context, w *Window, since time.Time, check func(Facts) error) error
	PriceWindow(ctx context.Context, id string) (*Window, error)
	PriceWindows(ctx context.Context, f Filter) (Page, error)
	// EndPriceWindow ends a window running at `at` there and then; any
	// other window is left as it is. It returns the window as it stands.
	EndPriceWindow(ctx context.Context, id string, at time.Time) (*Window, error)
	// DeletePriceWindow deletes a window that starts after `at`:
	// ErrStarted for one that has started, ErrNotFound for none.
	DeletePriceWindow(ctx context.Context, id string, at time.Time) error
	// ShownPriceWindows returns the windows of the SKUs that are running
	// at `at` or announced by then and not started.
	ShownPriceWindows(ctx context.Context, skuIDs []string, at time.Time) ([]Window, error)
	// PriceWindowsBetween returns the windows of the SKUs that share an
	// instant with [from, to).
	PriceWindowsBetween(ctx context.Context, skuIDs []string, from, to time.Time) ([]Window, error)

	// RecordPrices stores price records; one already stored (same SKU and
	// event) is left as it is.
	RecordPrices(ctx context.Context, recs []PriceRecord) error
	// PriceHistory returns the SKUs' records at or after since and the
	// last one of each before it, by SKU, oldest first.
	PriceHistory(ctx context.Context, skuIDs []string, since time.Time) ([]PriceRecord, error)
	// RecordCharged merges what orders were placed at into the SKU, day
	// and price rows (first_at the least, last_at the greatest).
	RecordCharged(ctx context.Context, cs []ChargedPrice) error
	// ChargedPrices returns the SKUs' rows with an order at or after from
	// (LastAt >= from) and one before to (FirstAt < to).
	ChargedPrices(ctx context.Context, skuIDs []string, from, to time.Time) ([]ChargedPrice, error)
}

package pricewindow

import (
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// MaxPrice matches the catalog's bound on a price (ten million yuan).
const MaxPrice = money.Fen(10_000_000_00)

// NewWindow is an operator's request for a window.
type NewWindow struct {
	SKUID      string
	Price      money.Fen
	StartsAt   time.Time
	EndsAt     time.Time
	AnnounceAt *time.Time
}

// Faults collects every fault the request shows on its own, before the
// store is asked anything. The HTTP converter merges them with its own
// (a time that does not parse), so a client hears of all at once.
func (in NewWindow) Faults(now time.Time) errs.List {
	var l errs.List
	if !ids.Valid(in.SKUID) {
		l.Add("sku_id", "invalid_id", "sku_id must be the id of a SKU")
	}
	if in.Price < 1 || in.Price > MaxPrice {
		l.Add("price", "price_out_of_range", "price must be 1 to %d fen", int64(MaxPrice))
	}
	switch {
	case in.StartsAt.IsZero():
		l.Add("starts_at", "required", "starts_at is required")
	case in.StartsAt.Before(now.Add(-StartGrace)):
		l.Add("starts_at", "starts_in_past", "starts_at is in the past")
	case in.StartsAt.After(now.Add(MaxAhead)):
		l.Add("starts_at", "starts_too_far_ahead", "a window starts within %d days", int(MaxAhead/(24*time.Hour)))
	}
	switch {
	case in.EndsAt.IsZero():
		l.Add("ends_at", "required", "ends_at is required")
	case in.StartsAt.IsZero():
	case !in.EndsAt.After(in.StartsAt):
		l.Add("ends_at", "invalid_window", "ends_at must be after starts_at")
	case in.EndsAt.Sub(in.StartsAt) > MaxLength:
		l.Add("ends_at", "window_too_long", "a limited-time price lasts at most %d days", int(MaxLength/(24*time.Hour)))
	}
	if in.AnnounceAt != nil && !in.StartsAt.IsZero() && in.AnnounceAt.After(in.StartsAt) {
		l.Add("announce_at", "announce_after_start", "announce_at must be at or before starts_at")
	}
	return l
}

// judge decides a new window against what the store read under its lock:
// the price must be below the SKU's sale price, the window must not overlap
// another of the SKU's, and the sale price must not have risen since
// `since` (7 days before the window starts).
func judge(w *Window, f Facts, since, now time.Time) error {
	if w.Price >= f.SalePrice {
		return errs.Field("price", "price_not_below_sale_price",
			"a limited-time price is below the SKU's sale price, %d fen", int64(f.SalePrice))
	}
	if len(f.Overlapping) > 0 {
		o := f.Overlapping[0]
		e := *ErrOverlap
		e.Message = fmt.Sprintf("%s (%s, %s to %s)", e.Message, o.ID,
			o.StartsAt.Format(time.RFC3339), o.EndsAt.Format(time.RFC3339))
		return &e
	}
	if at, raised := lastRaise(f.Prices, since, f.SalePrice, now); raised {
		e := *ErrRecentRaise
		e.Message = fmt.Sprintf("%s (at %s); it may start from %s", e.Message,
			at.Format(time.RFC3339), at.Add(Period).Format(time.RFC3339))
		return &e
	}
	return nil
}

// lastRaise finds the last rise of a SKU's sale price after since (a rise
// exactly 7 days before the start is 7 days before it, not within), in its
// records (oldest first, the first possibly before since as the price it
// rose from). A sale price now above the last record is a rise whose event
// is not recorded yet: it happened at most now, so it counts as now.
func lastRaise(recs []PriceRecord, since time.Time, current money.Fen, now time.Time) (time.Time, bool) {
	if n := len(recs); n > 0 && current > recs[n-1].SalePrice && now.After(since) {
		return now, true
	}
	for i := len(recs) - 1; i > 0; i-- {
		if !recs[i].At.After(since) {
			break
		}
		if recs[i].SalePrice > recs[i-1].SalePrice {
			return recs[i].At, true
		}
	}
	return time.Time{}, false
}

// dropAt is when the SKU's current sale price began, if it began with a
// drop after `after`: then the sale price is a discount that started then,
// and the crossed-out price looks at the 7 days before it. A price that
// began with a rise, or long ago, or whose records lag behind the catalog,
// gives nothing, and the look-back ends now: the strict reading.
func dropAt(recs []PriceRecord, current money.Fen, after time.Time) (time.Time, bool) {
	n := len(recs)
	if n < 2 || recs[n-1].SalePrice != current {
		return time.Time{}, false
	}
	for i := n - 1; i > 0; i-- {
		if recs[i].SalePrice == recs[i-1].SalePrice {
			continue
		}
		if recs[i].SalePrice < recs[i-1].SalePrice && recs[i].At.After(after) {
			return recs[i].At, true
		}
		return time.Time{}, false
	}
	return time.Time{}, false
}

// lowestCharged is the lowest unit price of the SKU's orders placed in
// [from, to), from its day rows. A row counts when it has an order at or
// after from and one before to; since a row's orders all fall in one day
// and the period is 7 days, such a row always has an order inside the
// period, so the minimum is exact, not an estimate.
func lowestCharged(rows []ChargedPrice, skuID string, from, to time.Time) (money.Fen, bool) {
	var low money.Fen
	found := false
	for _, r := range rows {
		if r.SKUID != skuID || r.LastAt.Before(from) || !r.FirstAt.Before(to) {
			continue
		}
		if !found || r.UnitPrice < low {
			low, found = r.UnitPrice, true
		}
	}
	return low, found
}

// crossedOut is the crossed-out price a SKU may show next to price: its
// list price, capped at the lowest unit price its orders were placed at in
// the 7 days before the discount began. None (0) when no order was placed
// then, or when the cap is not above the price: showing a price nobody paid
// as the "original" is what the rule forbids.
func crossedOut(list, price money.Fen, rows []ChargedPrice, skuID string, began time.Time) money.Fen {
	low, ok := lowestCharged(rows, skuID, began.Add(-Period), began)
	if !ok {
		return 0
	}
	if ref := min(list, low); ref > price {
		return ref
	}
	return 0
}

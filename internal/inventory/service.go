package inventory

import (
	"context"
	"regexp"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/platform/page"
)

// Limits of an operator's adjustment. MaxDelta catches a slipped finger (a
// barcode scanned into the quantity field) before it becomes stock.
const (
	MaxDelta = 1_000_000
	MaxNote  = 200

	DefaultJournal = 50
	MaxJournal     = 500
)

var locationCode = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// Service is the operators' side of stock: receiving goods, correcting
// counts, and reading levels and the journal. Orders move stock through the
// order store, not here.
type Service struct {
	Store Store
	Clock clock.Clock
	// SKUExists tells a SKU with no stock yet from no SKU at all; nil
	// treats every id as a SKU.
	SKUExists func(ctx context.Context, skuID string) (bool, error)
}

// Stock is one SKU's levels at every location and its newest movements.
type Stock struct {
	SKUID   string     `json:"sku_id"`
	Levels  []Level    `json:"levels"`
	Journal []Movement `json:"journal"`
}

// Stock returns a SKU's levels and journal; an unknown SKU is not found.
func (s *Service) Stock(ctx context.Context, skuID string, journalLimit int) (Stock, error) {
	if !ids.Valid(skuID) {
		return Stock{}, ErrSKUNotFound
	}
	levels, err := s.Store.Levels(ctx, []string{skuID})
	if err != nil {
		return Stock{}, err
	}
	if len(levels) == 0 && s.SKUExists != nil {
		ok, err := s.SKUExists(ctx, skuID)
		if err != nil {
			return Stock{}, err
		}
		if !ok {
			return Stock{}, ErrSKUNotFound
		}
	}
	journal, err := s.Store.Journal(ctx, skuID, JournalLimit(journalLimit))
	if err != nil {
		return Stock{}, err
	}
	if levels == nil {
		levels = []Level{}
	}
	if journal == nil {
		journal = []Movement{}
	}
	return Stock{SKUID: skuID, Levels: levels, Journal: journal}, nil
}

// Adjust changes the units on hand of a SKU at a location. Receiving adds
// units; a count correction may add or remove them, but never below what
// unpaid orders have reserved (ErrBelowReserved). An unknown SKU is the
// store's catalog.ErrSKUNotFound.
func (s *Service) Adjust(ctx context.Context, skuID, location string, delta int64, reason Reason, note string) (Level, error) {
	var l errs.List
	if !ids.Valid(skuID) {
		l.Add("sku_id", "sku_not_found", "no such SKU")
	}
	if !locationCode.MatchString(location) {
		l.Add("location", "invalid_location", "a location is 1-32 of a-z, 0-9, _ and -")
	}
	switch {
	case delta == 0:
		l.Add("delta", "zero_delta", "an adjustment changes the stock")
	case delta > MaxDelta || delta < -MaxDelta:
		l.Add("delta", "delta_out_of_range", "at most %d units at once", MaxDelta)
	}
	switch reason {
	case Receive:
		if delta < 0 {
			l.Add("delta", "receive_negative", "receiving adds units; use adjust to remove them")
		}
	case Adjust:
	default:
		l.Add("reason", "invalid_reason", "reason is receive or adjust")
	}
	if utf8.RuneCountInString(note) > MaxNote {
		l.Add("note", "too_long", "at most %d characters", MaxNote)
	}
	if err := l.Err(); err != nil {
		return Level{}, err
	}
	return s.Store.AdjustStock(ctx, Movement{
		ID: ids.New(), SKUID: skuID, Location: location, OnHandDelta: delta,
		Reason: reason, Ref: note, At: s.Clock.Now(),
	})
}

// Levels returns the stock of the SKUs at every location they are kept.
func (s *Service) Levels(ctx context.Context, skuIDs []string) ([]Level, error) {
	return s.Store.Levels(ctx, skuIDs)
}

// Journal returns a SKU's movements, newest first.
func (s *Service) Journal(ctx context.Context, skuID string, limit int) ([]Movement, error) {
	return s.Store.Journal(ctx, skuID, JournalLimit(limit))
}

// JournalLimit applies the page-size rule for the journal: DefaultJournal
// when unset, at most MaxJournal. Stores apply it too.
func JournalLimit(n int) int { return page.Size(n, DefaultJournal, MaxJournal) }

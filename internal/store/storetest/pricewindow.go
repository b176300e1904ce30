package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
)

func init() { register("pricewindow", testPriceWindow) }

// The limited-time price tests prove the store's half of docs/pricing.md:
// windows of a SKU never overlap, whatever races; ending and deleting keep
// to their states; the two price records are idempotent and read back
// exactly. pricewindow_world.go runs the rules over real orders and real
// catalog changes.
func testPriceWindow(t *testing.T, open Opener) {
	t.Run("windows", func(t *testing.T) { testPriceWindows(t, newPriceWorld(t, open)) })
	t.Run("end_and_delete", func(t *testing.T) { testPriceWindowEndDelete(t, newPriceWorld(t, open)) })
	t.Run("shown", func(t *testing.T) { testPriceWindowsShown(t, newPriceWorld(t, open)) })
	t.Run("race_overlap", func(t *testing.T) { testPriceWindowRace(t, newPriceWorld(t, open)) })
	t.Run("records", func(t *testing.T) { testPriceRecords(t, newPriceWorld(t, open)) })
	t.Run("pipeline", func(t *testing.T) { testPriceWindowPipeline(t, newPriceWorld(t, open)) })
	t.Run("crossed_out", func(t *testing.T) { testCrossedOut(t, newPriceWorld(t, open)) })
	t.Run("crossed_out_after_drop", func(t *testing.T) { testCrossedOutAfterDrop(t, newPriceWorld(t, open)) })
	t.Run("raise_before_discount", func(t *testing.T) { testRaiseBeforeDiscount(t, newPriceWorld(t, open)) })
	t.Run("race_raise", func(t *testing.T) { testRaceRaise(t, newPriceWorld(t, open)) })
}

// window builds a window of sku from start for length at price.
func window(sku catalog.SKU, price money.Fen, start time.Time, length time.Duration) *pricewindow.Window {
	return &pricewindow.Window{ID: ids.New(), SKUID: sku.ID, Price: price, StartsAt: start, EndsAt: start.Add(length),
		CreatedAt: start, UpdatedAt: start}
}

// put stores w with no rule but the store's own (what Facts it reads).
func (w *priceWorld) put(t *testing.T, pw *pricewindow.Window) (pricewindow.Facts, error) {
	t.Helper()
	var seen pricewindow.Facts
	err := w.s.CreatePriceWindow(context.Background(), pw, pw.StartsAt.Add(-pricewindow.Period), func(f pricewindow.Facts) error {
		seen = f
		if len(f.Overlapping) > 0 {
			return pricewindow.ErrOverlap
		}
		return nil
	})
	return seen, err
}

func testPriceWindows(t *testing.T, w *priceWorld) {
	ctx := context.Background()
	now := w.clock.Now()
	sku := w.sku
	first := window(sku, 7900, now.Add(time.Hour), 24*time.Hour)
	announce := now.Add(30 * time.Minute)
	first.AnnounceAt = &announce
	f, err := w.put(t, first)
	failOn(t, err)
	if f.ProductID != sku.ProductID || f.SalePrice != 9900 || len(f.Overlapping) != 0 {
		t.Fatalf("facts = %+v", f)
	}
	if first.ProductID != sku.ProductID {
		t.Fatalf("product id not set: %+v", first)
	}
	got, err := w.s.PriceWindow(ctx, first.ID)
	failOn(t, err)
	if !reflect.DeepEqual(got, first) {
		t.Fatalf("PriceWindow =\n%+v\nwant\n%+v", got, first)
	}

	// Touching windows are fine; one sharing an instant is not, and the
	// overlap the check saw is the stored window.
	next := window(sku, 8900, first.EndsAt, time.Hour)
	_, err = w.put(t, next)
	failOn(t, err)
	clash := window(sku, 6900, first.EndsAt.Add(-time.Microsecond), time.Hour)
	f, err = w.put(t, clash)
	if !errs.Is(err, pricewindow.ErrOverlap.Code) || len(f.Overlapping) != 2 || f.Overlapping[0].ID != first.ID {
		t.Fatalf("overlap: %v, %+v", err, f.Overlapping)
	}
	if _, err := w.s.PriceWindow(ctx, clash.ID); !errs.Is(err, pricewindow.ErrNotFound.Code) {
		t.Fatalf("a refused window was stored: %v", err)
	}
	for _, id := range []string{ids.New(), "nope"} {
		if _, err := w.put(t, window(catalog.SKU{ID: id}, 1, now.Add(time.Hour), time.Hour)); !errs.Is(err, pricewindow.ErrSKUNotFound.Code) {
			t.Fatalf("unknown SKU %q: %v", id, err)
		}
	}
	other := w.newSKU(t, 5000, 4000)
	_, err = w.put(t, window(other, 3000, first.StartsAt, time.Hour)) // another SKU: no overlap
	failOn(t, err)

	t.Run("listing by SKU and product, newest first, in pages", func(t *testing.T) {
		var all []string
		cur := ""
		for {
			page, err := w.s.PriceWindows(ctx, pricewindow.Filter{SKUID: sku.ID, Cursor: cur, Limit: 1})
			failOn(t, err)
			for _, pw := range page.Windows {
				all = append(all, pw.ID)
			}
			if cur = page.NextCursor; cur == "" {
				break
			}
		}
		if !reflect.DeepEqual(all, []string{next.ID, first.ID}) {
			t.Fatalf("pages by SKU = %v", all)
		}
		page, err := w.s.PriceWindows(ctx, pricewindow.Filter{ProductID: other.ProductID, Limit: 10})
		failOn(t, err)
		if len(page.Windows) != 1 || page.Windows[0].SKUID != other.ID || page.NextCursor != "" {
			t.Fatalf("by product = %+v", page)
		}
		if _, err := w.s.PriceWindows(ctx, pricewindow.Filter{SKUID: sku.ID, Cursor: "junk"}); !errs.Is(err, pricewindow.ErrBadCursor.Code) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}

func testPriceWindowEndDelete(t *testing.T, w *priceWorld) {
	ctx := context.Background()
	now := w.clock.Now()
	running := window(w.sku, 7900, now.Add(-time.Hour), 3*time.Hour)
	upcoming := window(w.sku, 7900, now.Add(2*time.Hour), time.Hour)
	for _, pw := range []*pricewindow.Window{running, upcoming} {
		_, err := w.put(t, pw)
		failOn(t, err)
	}

	ended, err := w.s.EndPriceWindow(ctx, running.ID, now)
	failOn(t, err)
	if !ended.EndsAt.Equal(now) || !ended.EndedEarly || !ended.UpdatedAt.Equal(now) {
		t.Fatalf("ended = %+v", ended)
	}
	again, err := w.s.EndPriceWindow(ctx, running.ID, now.Add(time.Minute))
	failOn(t, err)
	if !reflect.DeepEqual(again, ended) {
		t.Fatalf("ending twice changed it: %+v", again)
	}
	still, err := w.s.EndPriceWindow(ctx, upcoming.ID, now)
	failOn(t, err)
	if !reflect.DeepEqual(still, upcoming) {
		t.Fatalf("ending an upcoming window changed it: %+v", still)
	}
	if _, err := w.s.EndPriceWindow(ctx, ids.New(), now); !errs.Is(err, pricewindow.ErrNotFound.Code) {
		t.Fatalf("end unknown: %v", err)
	}

	// The freed time takes a new window: the early end is the effective end.
	_, err = w.put(t, window(w.sku, 6900, now, time.Hour))
	failOn(t, err)

	if err := w.s.DeletePriceWindow(ctx, running.ID, now); !errs.Is(err, pricewindow.ErrStarted.Code) {
		t.Fatalf("delete a started window: %v", err)
	}
	// At its very start a window has started.
	if err := w.s.DeletePriceWindow(ctx, upcoming.ID, upcoming.StartsAt); !errs.Is(err, pricewindow.ErrStarted.Code) {
		t.Fatalf("delete at the start: %v", err)
	}
	failOn(t, w.s.DeletePriceWindow(ctx, upcoming.ID, now))
	if err := w.s.DeletePriceWindow(ctx, upcoming.ID, now); !errs.Is(err, pricewindow.ErrNotFound.Code) {
		t.Fatalf("delete twice: %v", err)
	}
	if err := w.s.DeletePriceWindow(ctx, "nope", now); !errs.Is(err, pricewindow.ErrNotFound.Code) {
		t.Fatalf("delete a malformed id: %v", err)
	}
}

func testPriceWindowsShown(t *testing.T, w *priceWorld) {
	ctx := context.Background()
	now := w.clock.Now()
	a, b, c := w.sku, w.newSKU(t, 5000, 4000), w.newSKU(t, 5000, 4000)
	running := window(a, 7900, now.Add(-time.Hour), 2*time.Hour)
	announced := window(a, 6900, now.Add(time.Hour), time.Hour)
	at := now.Add(-time.Minute)
	announced.AnnounceAt = &at
	silent := window(b, 3000, now.Add(time.Hour), time.Hour) // not announced
	later := window(b, 3000, now.Add(3*time.Hour), time.Hour)
	soon := now.Add(time.Minute) // announced a minute from now
	later.AnnounceAt = &soon
	over := window(c, 3000, now.Add(-2*time.Hour), time.Hour)
	for _, pw := range []*pricewindow.Window{running, announced, silent, later, over} {
		_, err := w.put(t, pw)
		failOn(t, err)
	}
	zero := window(c, 3000, now.Add(-30*time.Minute), time.Hour)
	_, err := w.put(t, zero)
	failOn(t, err)
	_, err = w.s.EndPriceWindow(ctx, zero.ID, zero.StartsAt) // ended the instant it started
	failOn(t, err)

	shown, err := w.s.ShownPriceWindows(ctx, []string{a.ID, b.ID, c.ID, "junk"}, now)
	failOn(t, err)
	if got := windowIDs(shown); !reflect.DeepEqual(got, map[string]bool{running.ID: true, announced.ID: true}) {
		t.Fatalf("shown = %v", got)
	}
	shown, err = w.s.ShownPriceWindows(ctx, []string{b.ID}, soon)
	failOn(t, err)
	if got := windowIDs(shown); !reflect.DeepEqual(got, map[string]bool{later.ID: true}) {
		t.Fatalf("shown once announced = %v", got)
	}
	between, err := w.s.PriceWindowsBetween(ctx, []string{a.ID, b.ID, c.ID}, now, now.Add(90*time.Minute))
	failOn(t, err)
	if got := windowIDs(between); !reflect.DeepEqual(got, map[string]bool{running.ID: true, announced.ID: true, silent.ID: true}) {
		t.Fatalf("between = %v", got)
	}
}

func windowIDs(ws []pricewindow.Window) map[string]bool {
	out := map[string]bool{}
	for _, pw := range ws {
		out[pw.ID] = true
	}
	return out
}

// testPriceWindowRace: 30 operators set overlapping windows of one SKU at
// once; exactly one is stored.
func testPriceWindowRace(t *testing.T, w *priceWorld) {
	const racers = 30
	now := w.clock.Now()
	wins := make([]*pricewindow.Window, racers)
	results := concurrently(racers, func(i int) error {
		wins[i] = window(w.sku, 7900, now.Add(time.Hour+time.Duration(i)*time.Minute), time.Hour)
		_, err := w.put(t, wins[i])
		return err
	})
	wantOutcomes(t, results, map[string]int{"": 1, pricewindow.ErrOverlap.Code: racers - 1})
	page, err := w.s.PriceWindows(context.Background(), pricewindow.Filter{SKUID: w.sku.ID, Limit: 100})
	failOn(t, err)
	if len(page.Windows) != 1 {
		t.Fatalf("%d windows stored", len(page.Windows))
	}
}

func testPriceRecords(t *testing.T, w *priceWorld) {
	ctx := context.Background()
	s1, s2 := ids.New(), ids.New()
	at := func(h int) time.Time { return orderT0.Add(time.Duration(h) * time.Hour) }
	rec := func(sku string, h int, sale money.Fen) pricewindow.PriceRecord {
		return pricewindow.PriceRecord{SKUID: sku, EventID: ids.New(), ListPrice: 12900, SalePrice: sale, At: at(h)}
	}
	recs := []pricewindow.PriceRecord{rec(s1, -300, 9900), rec(s1, -200, 8900), rec(s1, -100, 9900), rec(s1, 0, 7900), rec(s2, -50, 500)}
	failOn(t, w.s.RecordPrices(ctx, recs))
	dup := recs[3]
	dup.SalePrice = 1 // a redelivery never rewrites what was recorded
	failOn(t, w.s.RecordPrices(ctx, []pricewindow.PriceRecord{dup}))
	got, err := w.s.PriceHistory(ctx, []string{s1, s2, "junk"}, at(-150))
	failOn(t, err)
	if want := []pricewindow.PriceRecord{recs[1], recs[2], recs[3], recs[4]}; !reflect.DeepEqual(got, want) {
		t.Fatalf("PriceHistory =\n%+v\nwant\n%+v", got, want)
	}

	// Charged prices merge by SKU, day and price, in any order, any number
	// of times.
	day := orderT0.Truncate(24 * time.Hour)
	c := func(sku string, at time.Time, unit money.Fen) pricewindow.ChargedPrice {
		return pricewindow.ChargedPrice{SKUID: sku, UnitPrice: unit, FirstAt: at, LastAt: at}
	}
	for _, batch := range [][]pricewindow.ChargedPrice{
		{c(s1, day.Add(5*time.Hour), 9900), c(s2, day.Add(time.Hour), 100)},
		{c(s1, day.Add(2*time.Hour), 9900)},
		{c(s1, day.Add(9*time.Hour), 9900), c(s1, day.Add(3*time.Hour), 8000)},
		{c(s1, day.Add(5*time.Hour), 9900)},
		{c(s1, day.Add(30*time.Hour), 9900)}, // the next day
	} {
		failOn(t, w.s.RecordCharged(ctx, batch))
	}
	rows, err := w.s.ChargedPrices(ctx, []string{s1}, day, day.Add(24*time.Hour))
	failOn(t, err)
	want := map[money.Fen][2]time.Time{9900: {day.Add(2 * time.Hour), day.Add(9 * time.Hour)}, 8000: {day.Add(3 * time.Hour), day.Add(3 * time.Hour)}}
	if len(rows) != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	for _, r := range rows {
		if w, ok := want[r.UnitPrice]; !ok || !r.FirstAt.Equal(w[0]) || !r.LastAt.Equal(w[1]) || r.SKUID != s1 {
			t.Fatalf("row %+v, want %v", r, want)
		}
	}
	// A row counts only with an order at or after from and one before to.
	rows, err = w.s.ChargedPrices(ctx, []string{s1, s2}, day.Add(9*time.Hour+time.Microsecond), day.Add(31*time.Hour))
	failOn(t, err)
	if len(rows) != 1 || !rows[0].FirstAt.Equal(day.Add(30*time.Hour)) {
		t.Fatalf("rows after 09:00 = %+v", rows)
	}
}

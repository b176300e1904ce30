package pricewindow

import (
	"slices"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

var t0 = time.Date(2031, 11, 1, 12, 0, 0, 0, time.UTC)

func day(n float64) time.Duration { return time.Duration(n * float64(24*time.Hour)) }

func TestFaults(t *testing.T) {
	ok := NewWindow{SKUID: ids.New(), Price: 799, StartsAt: t0.Add(time.Hour), EndsAt: t0.Add(day(7) + time.Hour)}
	if l := ok.Faults(t0); len(l) != 0 {
		t.Fatalf("a good window: %v", l)
	}
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	cases := []struct {
		name   string
		change func(*NewWindow)
		fields []string // every fault, in order
	}{
		{"everything missing", func(w *NewWindow) { *w = NewWindow{} }, []string{"sku_id", "price", "starts_at", "ends_at"}},
		{"a price of 0 and a bad id", func(w *NewWindow) { w.Price, w.SKUID = 0, "x" }, []string{"sku_id", "price"}},
		{"a price over the bound", func(w *NewWindow) { w.Price = MaxPrice + 1 }, []string{"price"}},
		{"started 6 minutes ago", func(w *NewWindow) { w.StartsAt, w.EndsAt = t0.Add(-6*time.Minute), t0.Add(day(1)) }, []string{"starts_at"}},
		{"started 4 minutes ago: a console's clock", func(w *NewWindow) { w.StartsAt, w.EndsAt = t0.Add(-4*time.Minute), t0.Add(day(1)) }, nil},
		{"91 days ahead", func(w *NewWindow) { w.StartsAt, w.EndsAt = t0.Add(day(91)), t0.Add(day(92)) }, []string{"starts_at"}},
		{"ends as it starts", func(w *NewWindow) { w.EndsAt = w.StartsAt }, []string{"ends_at"}},
		{"7 days and a second", func(w *NewWindow) { w.EndsAt = w.StartsAt.Add(day(7) + time.Second) }, []string{"ends_at"}},
		{"announced after the start", func(w *NewWindow) { w.AnnounceAt = at(2 * time.Hour) }, []string{"announce_at"}},
		{"announced at the start", func(w *NewWindow) { w.AnnounceAt = at(time.Hour) }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := ok
			c.change(&in)
			var got []string
			for _, e := range in.Faults(t0) {
				got = append(got, e.Field)
			}
			if !slices.Equal(got, c.fields) {
				t.Fatalf("faults at %v, want %v", got, c.fields)
			}
		})
	}
}

func rec(at time.Duration, sale money.Fen) PriceRecord {
	return PriceRecord{SKUID: "s", EventID: ids.New(), ListPrice: 12900, SalePrice: sale, At: t0.Add(at)}
}

func TestJudge(t *testing.T) {
	w := &Window{ID: ids.New(), Price: 7900, StartsAt: t0.Add(day(1)), EndsAt: t0.Add(day(2))}
	since := w.StartsAt.Add(-Period)
	cases := []struct {
		name string
		f    Facts
		code string
	}{
		{"fine", Facts{SalePrice: 9900, Prices: []PriceRecord{rec(-day(30), 9900)}}, ""},
		{"at the sale price", Facts{SalePrice: 7900}, "price_not_below_sale_price"},
		{"overlapping", Facts{SalePrice: 9900, Overlapping: []Window{{ID: "o"}}}, "price_window_overlap"},
		{"raised 5 days before the start", Facts{SalePrice: 9900, Prices: []PriceRecord{rec(-day(30), 8900), rec(-day(4), 9900)}}, "sale_price_recently_raised"},
		{"raised 8 days before the start", Facts{SalePrice: 9900, Prices: []PriceRecord{rec(-day(30), 8900), rec(-day(7), 9900)}}, ""},
		{"raised exactly 7 days before the start", Facts{SalePrice: 9900, Prices: []PriceRecord{rec(-day(30), 8900), rec(-day(6), 9900)}}, ""},
		{"raised 7 days less a second before", Facts{SalePrice: 9900, Prices: []PriceRecord{rec(-day(30), 8900), rec(-day(6)+time.Second, 9900)}}, "sale_price_recently_raised"},
		{"raised, then lowered back", Facts{SalePrice: 8900, Prices: []PriceRecord{rec(-day(30), 8900), rec(-day(3), 9900), rec(-day(2), 8900)}}, "sale_price_recently_raised"},
		{"lowered only", Facts{SalePrice: 8900, Prices: []PriceRecord{rec(-day(30), 9900), rec(-day(2), 8900)}}, ""},
		{"raised, not on record yet", Facts{SalePrice: 9900, Prices: []PriceRecord{rec(-day(30), 8900)}}, "sale_price_recently_raised"},
		{"no record at all", Facts{SalePrice: 9900}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := judge(w, c.f, since, t0)
			if c.code == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if e, ok := errs.As(err); !ok || e.Code != c.code {
				t.Fatalf("got %v, want %s", err, c.code)
			}
		})
	}
}

func TestDropAt(t *testing.T) {
	after := t0.Add(-Period)
	cases := []struct {
		name    string
		recs    []PriceRecord
		current money.Fen
		want    time.Duration
		ok      bool
	}{
		{"dropped 3 days ago", []PriceRecord{rec(-day(20), 9900), rec(-day(3), 7900), rec(-day(1), 7900)}, 7900, -day(3), true},
		{"dropped 8 days ago", []PriceRecord{rec(-day(20), 9900), rec(-day(8), 7900)}, 7900, 0, false},
		{"raised 3 days ago", []PriceRecord{rec(-day(20), 7900), rec(-day(3), 9900)}, 9900, 0, false},
		{"records lag the catalog", []PriceRecord{rec(-day(20), 9900), rec(-day(3), 7900)}, 6900, 0, false},
		{"one record", []PriceRecord{rec(-day(3), 7900)}, 7900, 0, false},
	}
	for _, c := range cases {
		at, ok := dropAt(c.recs, c.current, after)
		if ok != c.ok || (ok && !at.Equal(t0.Add(c.want))) {
			t.Errorf("%s: dropAt = %v, %v", c.name, at, ok)
		}
	}
}

func TestCrossedOut(t *testing.T) {
	began := t0
	row := func(first, last time.Duration, unit money.Fen) ChargedPrice {
		return ChargedPrice{SKUID: "s", UnitPrice: unit, FirstAt: t0.Add(first), LastAt: t0.Add(last)}
	}
	cases := []struct {
		name string
		rows []ChargedPrice
		want money.Fen
	}{
		{"no order in the 7 days: nothing crossed out", nil, 0},
		{"sold at the sale price: capped there", []ChargedPrice{row(-day(2), -day(1), 9900)}, 9900},
		{"sold at list: the list price", []ChargedPrice{row(-day(2), -day(2), 12900)}, 12900},
		{"sold under the price now: nothing", []ChargedPrice{row(-day(2), -day(2), 9900), row(-day(1), -day(1), 6900)}, 0},
		{"a row that ended before the period does not count", []ChargedPrice{row(-day(8), -day(7)-time.Second, 100), row(-day(1), -day(1), 9900)}, 9900},
		{"a row reaching into the period counts", []ChargedPrice{row(-day(7)-time.Hour, -day(7), 100)}, 0},
		{"orders at or after the start do not count", []ChargedPrice{row(0, time.Hour, 7900), row(-day(3), -day(3), 9900)}, 9900},
		{"another SKU's orders do not count", []ChargedPrice{{SKUID: "x", UnitPrice: 100, FirstAt: t0.Add(-day(1)), LastAt: t0.Add(-day(1))}}, 0},
	}
	for _, c := range cases {
		if got := crossedOut(12900, 7900, c.rows, "s", began); got != c.want {
			t.Errorf("%s: crossedOut = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestChargedUnit(t *testing.T) {
	l := order.Line{Qty: 3, Amount: 20000, Adjustments: []pricing.Adjustment{
		{Step: pricing.StepSale, Amount: 3000}, {Step: pricing.StepLimitedTime, Amount: 600},
		{Step: pricing.StepCoupon, Amount: 1000}, {Step: pricing.StepPoints, Amount: 1},
	}}
	// (20000 + 1000 + 1) / 3 = 7000.33: rounded down.
	if got := ChargedUnit(l); got != 7000 {
		t.Fatalf("ChargedUnit = %d, want 7000", got)
	}
}

func TestWindowState(t *testing.T) {
	w := Window{StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	for _, c := range []struct {
		at   time.Time
		want State
	}{{t0.Add(-time.Nanosecond), Upcoming}, {t0, Running}, {t0.Add(time.Hour - time.Microsecond), Running}, {t0.Add(time.Hour), Ended}} {
		if got := w.StateAt(c.at); got != c.want {
			t.Errorf("StateAt(%v) = %s, want %s", c.at, got, c.want)
		}
	}
	if w.Overlaps(t0.Add(time.Hour), t0.Add(2*time.Hour)) || w.Overlaps(t0.Add(-time.Hour), t0) {
		t.Error("touching windows overlap")
	}
	if !w.Overlaps(t0.Add(59*time.Minute), t0.Add(2*time.Hour)) {
		t.Error("overlapping windows do not")
	}
	zero := Window{StartsAt: t0, EndsAt: t0}
	if zero.Overlaps(t0.Add(-time.Hour), t0.Add(time.Hour)) {
		t.Error("a window ended as it started overlaps")
	}
}

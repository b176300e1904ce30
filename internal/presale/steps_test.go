package presale

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/order"
)

func TestQuoteByUnits(t *testing.T) {
	it := &Item{Quota: 300, Steps: []Step{{FromUnit: 1, Price: 9900}, {FromUnit: 101, Price: 10900}, {FromUnit: 201, Price: 11900}}}
	cases := []struct {
		sold, qty int
		runs      []order.Run
		from, to  int
	}{
		{0, 1, []order.Run{{Qty: 1, Price: 9900}}, 0, 99},
		{99, 1, []order.Run{{Qty: 1, Price: 9900}}, 0, 99},
		{100, 1, []order.Run{{Qty: 1, Price: 10900}}, 100, 199},
		{95, 5, []order.Run{{Qty: 5, Price: 9900}}, 0, 95},
		{96, 5, []order.Run{{Qty: 4, Price: 9900}, {Qty: 1, Price: 10900}}, 96, 96},
		{98, 105, []order.Run{{Qty: 2, Price: 9900}, {Qty: 100, Price: 10900}, {Qty: 3, Price: 11900}}, 98, 98},
		{250, 10, []order.Run{{Qty: 10, Price: 11900}}, 200, math.MaxInt32},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d+%d", c.sold, c.qty), func(t *testing.T) {
			q := it.quote(ByUnits, c.sold, c.qty, time.Time{})
			if fmt.Sprint(q.Runs) != fmt.Sprint(c.runs) || q.From != c.from || q.To != c.to {
				t.Fatalf("quote = %v [%d, %d]; want %v [%d, %d]", q.Runs, q.From, q.To, c.runs, c.from, c.to)
			}
			// Every count in the range prices the units the same.
			for _, n := range []int{q.From, q.To} {
				if n == math.MaxInt32 {
					continue
				}
				if got := it.quote(ByUnits, n, c.qty, time.Time{}); fmt.Sprint(got.Runs) != fmt.Sprint(q.Runs) {
					t.Fatalf("at %d: %v, at %d: %v", n, got.Runs, c.sold, q.Runs)
				}
			}
			// Just outside it, they are priced differently.
			if q.From > 0 {
				if got := it.quote(ByUnits, q.From-1, c.qty, time.Time{}); fmt.Sprint(got.Runs) == fmt.Sprint(q.Runs) {
					t.Fatalf("at %d (below the range) the same runs %v", q.From-1, got.Runs)
				}
			}
		})
	}
}

func TestQuoteByTime(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	it := &Item{Quota: 10, Steps: []Step{{FromTime: &t0, Price: 1000}, {FromTime: &t1, Price: 1500}, {FromTime: &t2, Price: 2000}}}
	for _, c := range []struct {
		at   time.Time
		want int64
	}{{t0, 1000}, {t1.Add(-time.Microsecond), 1000}, {t1, 1500}, {t2.Add(time.Hour), 2000}} {
		q := it.quote(ByTime, 7, 2, c.at)
		if len(q.Runs) != 1 || int64(q.Runs[0].Price) != c.want || q.Runs[0].Qty != 2 || q.From != 0 {
			t.Fatalf("at %s: %+v; want 2 at %d", c.at, q, c.want)
		}
		if p := it.current(ByTime, c.at); int64(p) != c.want {
			t.Fatalf("current at %s: %d", c.at, p)
		}
	}
	if got := less([]order.Run{{Qty: 2, Price: 1000}, {Qty: 1, Price: 1500}}, 200); fmt.Sprint(got) != fmt.Sprint([]order.Run{{Qty: 2, Price: 800}, {Qty: 1, Price: 1300}}) {
		t.Fatalf("less: %v", got)
	}
}

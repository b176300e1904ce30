package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/points"
)

func init() { register("points", testPoints) }

// The points tests prove the store's half of docs/points.md: movements
// happen once per key, lots are spent oldest-expiring first and never
// overspent however checkouts race, refunds take back and return in
// proportion (with a debt when the points are gone), lots expire, and the
// ledger stays sound after every one of them.
func testPoints(t *testing.T, open Opener) {
	t.Run("earn_once", func(t *testing.T) { testPointsEarnOnce(t, newPointsWorld(t, open)) })
	t.Run("spend_oldest_first", func(t *testing.T) { testPointsSpendOrder(t, newPointsWorld(t, open)) })
	t.Run("settle", func(t *testing.T) { testPointsSettle(t, newPointsWorld(t, open)) })
	t.Run("race_spend", func(t *testing.T) { testPointsRaceSpend(t, newPointsWorld(t, open)) })
	t.Run("refund", func(t *testing.T) { testPointsRefund(t, newPointsWorld(t, open)) })
	t.Run("expiry", func(t *testing.T) { testPointsExpiry(t, newPointsWorld(t, open)) })
}

type pointsWorld struct {
	*orderWorld
	svc   *points.Service
	skuID string // 1999 fen, 1000 units
}

func newPointsWorld(t *testing.T, open Opener) *pointsWorld {
	w := newOrderWorld(t, open)
	sku := w.sku(t, "Longjing", skuFixture{Spec: "50g", List: 2599, Sale: 1999, Stock: 1000})
	svc := &points.Service{Store: w.s, Book: w.s, Clock: w.clock}
	failOn(t, svc.Setup(context.Background()))
	return &pointsWorld{orderWorld: w, svc: svc, skuID: sku.ID}
}

// add gives buyer n points of source expiring in days, under key.
func (w *pointsWorld) add(t *testing.T, buyer, key string, n int64, days int) bool {
	t.Helper()
	now := w.clock.Now()
	ok, err := w.s.AddPoints(context.Background(), points.Add{Key: key, BuyerID: buyer, Source: points.SourceTask,
		Points: n, Ref: key, At: now, Expires: now.Add(time.Duration(days) * 24 * time.Hour)})
	failOn(t, err)
	return ok
}

func (w *pointsWorld) balance(t *testing.T, buyer string) points.Balance {
	t.Helper()
	b, err := w.s.PointsBalance(context.Background(), buyer, w.clock.Now())
	failOn(t, err)
	return b
}

func (w *pointsWorld) wantBalance(t *testing.T, buyer string, pts, debt int64) {
	t.Helper()
	if b := w.balance(t, buyer); b.Points != pts || b.Debt != debt || b.Value != points.Value(pts) {
		t.Fatalf("balance = %+v, want %d points, debt %d", b, pts, debt)
	}
}

// sound fails on any ledger breach, and checks that points are conserved
// like money: points:liability, less what unpaid orders hold pending,
// is exactly the value of the buyers' unspent lots (every lot past its
// expiry has been expired by then).
func (w *pointsWorld) sound(t *testing.T, buyers ...string) {
	t.Helper()
	br, err := w.s.CheckLedger(context.Background())
	failOn(t, err)
	if len(br) > 0 {
		t.Fatalf("ledger breaches: %+v", br)
	}
	var held int64
	for _, b := range buyers {
		held += w.balance(t, b).Points
	}
	if l := w.liability(t); l.Posted()-l.PendingDebits != points.Value(held) {
		t.Fatalf("points:liability %d (pending out %d) but the lots hold %d points", l.Posted(), l.PendingDebits, held)
	}
}

func (w *pointsWorld) liability(t *testing.T) ledger.Balance {
	t.Helper()
	bs, err := w.s.Balances(context.Background())
	failOn(t, err)
	for _, b := range bs {
		if b.Account.ID == points.LiabilityAccount {
			return b
		}
	}
	t.Fatal("no points liability account")
	return ledger.Balance{}
}

// spend stores an order of one unit spending n points.
func (w *pointsWorld) spend(t testing.TB, buyer string, n int64) (*order.Draft, error) {
	t.Helper()
	d, err := w.orderWorld.svc.Prepare(context.Background(), order.PlaceInput{BuyerID: buyer, AddressID: ids.New(),
		Lines: []order.LineInput{{SKUID: w.skuID, Qty: 1}}})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	d.Points = n
	return d, w.s.SpendPoints(context.Background(), d, w.clock.Now())
}

func testPointsEarnOnce(t *testing.T, w *pointsWorld) {
	b := ids.New()
	if !w.add(t, b, "task:a", 30, 365) || w.add(t, b, "task:a", 30, 365) {
		t.Fatal("an award with a key must happen exactly once")
	}
	w.wantBalance(t, b, 30, 0)
	// An order's earning records the order's base for later refunds.
	ctx := context.Background()
	oid := ids.New()
	now := w.clock.Now()
	ok, err := w.s.AddPoints(ctx, points.Add{Key: "order:" + oid, BuyerID: b, Source: points.SourceOrder, Points: 5,
		Ref: oid, At: now, Expires: now.AddDate(1, 0, 0), Paid: 50000})
	failOn(t, err)
	if !ok {
		t.Fatal("earn not added")
	}
	op, err := w.s.PointsOrder(ctx, oid)
	failOn(t, err)
	if op == nil || op.Paid != 50000 || op.Earned != 5 {
		t.Fatalf("order points = %+v", op)
	}
	w.wantBalance(t, b, 35, 0)
	hist, err := w.s.PointsHistory(ctx, b, 10)
	failOn(t, err)
	if len(hist) != 2 || hist[0].Points+hist[1].Points != 35 {
		t.Fatalf("history = %+v", hist)
	}
	if l := w.liability(t); l.Posted() != points.Value(35) {
		t.Fatalf("liability = %d, want %d", l.Posted(), points.Value(35))
	}
	w.sound(t, b)
}

func testPointsSpendOrder(t *testing.T, w *pointsWorld) {
	b := ids.New()
	w.add(t, b, "late", 10, 300)
	w.add(t, b, "early", 10, 30)
	w.add(t, b, "middle", 10, 100)
	if _, err := w.spend(t, b, 15); err != nil {
		t.Fatalf("spend: %v", err)
	}
	lots, err := w.s.PointsLots(context.Background(), b, w.clock.Now(), 10)
	failOn(t, err)
	// early (30 days) is used up, middle (100 days) half, late untouched.
	if len(lots) != 2 || lots[0].Ref != "middle" || lots[0].Remaining != 5 || lots[1].Ref != "late" || lots[1].Remaining != 10 {
		t.Fatalf("lots = %+v", lots)
	}
	if _, err := w.spend(t, b, 16); err != points.ErrInsufficient {
		t.Fatalf("overspend: err = %v, want ErrInsufficient", err)
	}
	w.wantBalance(t, b, 15, 0)
	w.sound(t, b)
}

func testPointsSettle(t *testing.T, w *pointsWorld) {
	ctx := context.Background()
	b := ids.New()
	w.add(t, b, "a", 20, 365)
	paid, err := w.spend(t, b, 5)
	failOn(t, err)
	unpaid, err := w.spend(t, b, 7)
	failOn(t, err)
	w.wantBalance(t, b, 8, 0)
	if l := w.liability(t); l.PendingDebits != points.Value(12) {
		t.Fatalf("pending debits = %d, want %d", l.PendingDebits, points.Value(12))
	}
	now := w.clock.Now()
	for i := 0; i < 2; i++ { // the second delivery changes nothing
		ok, err := w.s.SettlePointsSpend(ctx, paid.Order.ID, true, now, now.AddDate(1, 0, 0))
		failOn(t, err)
		if ok != (i == 0) {
			t.Fatalf("settle paid #%d = %v", i, ok)
		}
		ok, err = w.s.SettlePointsSpend(ctx, unpaid.Order.ID, false, now, now.AddDate(1, 0, 0))
		failOn(t, err)
		if ok != (i == 0) {
			t.Fatalf("settle unpaid #%d = %v", i, ok)
		}
	}
	w.wantBalance(t, b, 15, 0)
	tr, err := w.s.Transfer(ctx, points.SpendTransferID(paid.Order.ID))
	failOn(t, err)
	if tr.State != ledger.Posted {
		t.Fatalf("paid spend transfer is %s", tr.State)
	}
	if l := w.liability(t); l.Posted() != points.Value(15) || l.PendingDebits != 0 {
		t.Fatalf("liability = %+v", l)
	}
	w.sound(t, b)
}

// Two checkouts spending the same points at once: exactly one wins.
func testPointsRaceSpend(t *testing.T, w *pointsWorld) {
	b := ids.New()
	w.add(t, b, "a", 10, 365)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.spend(t, b, 6)
		}()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch err {
		case nil:
			won++
		case points.ErrInsufficient:
		default:
			t.Fatalf("spend: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d checkouts spent the same points, want 1", won)
	}
	w.wantBalance(t, b, 4, 0)
	w.sound(t, b)
}

func testPointsRefund(t *testing.T, w *pointsWorld) {
	ctx := context.Background()
	b := ids.New()
	w.add(t, b, "gift", 10, 365)
	d, err := w.spend(t, b, 4) // the order pays 10000 fen and spends 4 points
	failOn(t, err)
	oid := d.Order.ID
	now := w.clock.Now()
	_, err = w.s.SettlePointsSpend(ctx, oid, true, now, now)
	failOn(t, err)
	// It earns 10 points on a payment of 10000 fen (the store takes the
	// base as given; the service computes it).
	_, err = w.s.AddPoints(ctx, points.Add{Key: "order:" + oid, BuyerID: b, Source: points.SourceOrder, Points: 10,
		Ref: oid, At: now, Expires: now.AddDate(1, 0, 0), Paid: 10000})
	failOn(t, err)
	w.wantBalance(t, b, 16, 0)

	// A quarter refunded: 3 of 10 earned taken back (rounded up, the
	// buyer keeps floor(10 x 3/4) = 7), 1 of 4 spent returned.
	r1 := points.Refund{RefundID: ids.New(), OrderID: oid, Amount: 2500, At: now, Expires: now.AddDate(1, 0, 0)}
	for i := 0; i < 2; i++ {
		ok, err := w.s.RefundPoints(ctx, r1)
		failOn(t, err)
		if ok != (i == 0) {
			t.Fatalf("refund #%d applied = %v", i, ok)
		}
	}
	w.wantBalance(t, b, 14, 0)
	// The buyer spends what is left, then the rest is refunded: 7 earned
	// points are owed and gone, so they become a debt; 3 spent come back.
	_, err = w.spend(t, b, 14)
	failOn(t, err)
	_, err = w.s.RefundPoints(ctx, points.Refund{RefundID: ids.New(), OrderID: oid, Amount: 7500, Full: true, At: now, Expires: now.AddDate(1, 0, 0)})
	failOn(t, err)
	op, err := w.s.PointsOrder(ctx, oid)
	failOn(t, err)
	if op.Clawed != 10 || op.Returned != 4 || op.Refunded != 10000 {
		t.Fatalf("order points = %+v", op)
	}
	// 3 returned pay 3 of the 7 owed: 0 points, debt 4.
	w.wantBalance(t, b, 0, 4)
	// The next earning pays the debt first.
	w.add(t, b, "later", 6, 365)
	w.wantBalance(t, b, 2, 0)

	// Money captured after an order closed is refunded in full: the spent
	// points came back when it closed, and do not come back twice.
	closed, err := w.spend(t, b, 2)
	failOn(t, err)
	_, err = w.s.SettlePointsSpend(ctx, closed.Order.ID, false, now, now.AddDate(1, 0, 0))
	failOn(t, err)
	w.wantBalance(t, b, 2, 0)
	_, err = w.s.RefundPoints(ctx, points.Refund{RefundID: ids.New(), OrderID: closed.Order.ID, Amount: closed.Order.Total, Full: true, At: now, Expires: now.AddDate(1, 0, 0)})
	failOn(t, err)
	w.wantBalance(t, b, 2, 0)
	w.sound(t, b)
}

func testPointsExpiry(t *testing.T, w *pointsWorld) {
	ctx := context.Background()
	b := ids.New()
	w.add(t, b, "short", 10, 10)
	w.add(t, b, "long", 5, 100)
	_, err := w.spend(t, b, 3) // from "short"
	failOn(t, err)
	w.clock.Advance(11 * 24 * time.Hour)
	w.wantBalance(t, b, 5, 0) // the expired lot no longer counts, before the job runs
	if _, err := w.spend(t, b, 6); err != points.ErrInsufficient {
		t.Fatalf("spending expired points: err = %v", err)
	}
	n, err := w.s.ExpirePoints(ctx, w.clock.Now(), 100)
	failOn(t, err)
	if n != 1 {
		t.Fatalf("expired %d lots, want 1", n)
	}
	if n, _ := w.s.ExpirePoints(ctx, w.clock.Now(), 100); n != 0 {
		t.Fatalf("expired again: %d", n)
	}
	tr, err := w.s.Transfer(ctx, "points_expire:"+mustLotID(t, w, b))
	if err == nil && tr != nil {
		t.Fatal("the live lot has an expiry transfer")
	}
	bs, err := w.s.Balances(ctx)
	failOn(t, err)
	for _, bl := range bs {
		if bl.Account.ID == points.BreakageAccount && bl.Posted() != points.Value(7) {
			t.Fatalf("breakage = %d, want %d", bl.Posted(), points.Value(7))
		}
	}
	hist, err := w.s.PointsHistory(ctx, b, 10)
	failOn(t, err)
	if hist[0].Kind != points.SourceExpire || hist[0].Points != -7 {
		t.Fatalf("latest movement = %+v", hist[0])
	}
	w.sound(t, b)
}

func mustLotID(t *testing.T, w *pointsWorld, buyer string) string {
	t.Helper()
	lots, err := w.s.PointsLots(context.Background(), buyer, w.clock.Now(), 10)
	failOn(t, err)
	if len(lots) != 1 {
		t.Fatalf("lots = %+v", lots)
	}
	return lots[0].ID
}

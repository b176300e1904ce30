package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

func init() { register("flashsale", testFlashSale) }

// The flash sale tests prove the store's half of a flash sale: a session's
// quota is carved out of the stock whole or not at all and the unsold part
// given back once; the order writer writes each ticket once, whatever
// replicas race, and never lets won pass the quota; a released unit goes
// back to the session, or out of its quota, never both.
func testFlashSale(t *testing.T, open Opener) {
	t.Run("sessions", func(t *testing.T) { testFlashSessions(t, newFlashWorld(t, open)) })
	t.Run("create_short", func(t *testing.T) { testFlashCreateShort(t, newFlashWorld(t, open)) })
	t.Run("end", func(t *testing.T) { testFlashEnd(t, newFlashWorld(t, open)) })
	t.Run("write_wins", func(t *testing.T) { testFlashWriteWins(t, newFlashWorld(t, open)) })
	t.Run("write_twice", func(t *testing.T) { testFlashWriteTwice(t, newFlashWorld(t, open)) })
	t.Run("race_writers", func(t *testing.T) { testFlashRaceWriters(t, newFlashWorld(t, open)) })
	t.Run("quota_guard", func(t *testing.T) { testFlashQuotaGuard(t, newFlashWorld(t, open)) })
	t.Run("holds", func(t *testing.T) { testFlashHolds(t, newFlashWorld(t, open)) })
	t.Run("release", func(t *testing.T) { testFlashRelease(t, newFlashWorld(t, open)) })
}

type flashWorld struct {
	*orderWorld
	tea, cup string // 100 and 20 units on hand
	sessions map[string]*flashsale.Session
	mu       sync.Mutex
	drafts   map[string]*order.Draft // by order id: what the writer composed
}

func newFlashWorld(t *testing.T, open Opener) *flashWorld {
	w := newOrderWorld(t, open)
	skus := w.product(t, "Longjing",
		skuFixture{Spec: "50g", List: 2599, Sale: 1999, Stock: 100},
		skuFixture{Spec: "cup", List: 999, Sale: 899, Stock: 20})
	return &flashWorld{orderWorld: w, tea: skus[0].ID, cup: skus[1].ID, sessions: map[string]*flashsale.Session{},
		drafts: map[string]*order.Draft{}}
}

// session stores a scheduled session, open from now for an hour, of the
// SKUs given (price, quota and limit each).
func (w *flashWorld) session(t testing.TB, skus ...flashsale.SessionSKU) *flashsale.Session {
	t.Helper()
	fs := w.newSession(skus...)
	if err := w.s.CreateFlashSession(context.Background(), fs); err != nil {
		t.Fatalf("CreateFlashSession: %v", err)
	}
	w.sessions[fs.ID] = fs
	return fs
}

func (w *flashWorld) newSession(skus ...flashsale.SessionSKU) *flashsale.Session {
	now := w.clock.Now()
	warmup := now.Add(-time.Hour)
	return &flashsale.Session{
		ID: ids.New(), Name: "10:00 场", WarmupAt: &warmup, StartsAt: now, EndsAt: now.Add(time.Hour),
		PayWindow: 15 * time.Minute, Status: flashsale.Scheduled, SKUs: skus, CreatedBy: ids.New(),
		CreatedAt: now, UpdatedAt: now,
	}
}

func flashSKU(sku string, price money.Fen, quota, limit int) flashsale.SessionSKU {
	return flashsale.SessionSKU{SKUID: sku, Price: price, Quota: quota, Limit: limit}
}

func (w *flashWorld) read(t testing.TB, id string) *flashsale.Session {
	t.Helper()
	fs, err := w.s.FlashSession(context.Background(), id)
	if err != nil {
		t.Fatalf("FlashSession: %v", err)
	}
	return fs
}

// sku is a session SKU as stored now.
func (w *flashWorld) sessionSKU(t testing.TB, sessionID, skuID string) flashsale.SessionSKU {
	t.Helper()
	k, ok := w.read(t, sessionID).SKU(skuID)
	if !ok {
		t.Fatalf("session %s has no SKU %s", sessionID, skuID)
	}
	return k
}

// wantSKU checks a session SKU's quota and won.
func (w *flashWorld) wantSKU(t testing.TB, sessionID, skuID string, quota, won int) {
	t.Helper()
	if k := w.sessionSKU(t, sessionID, skuID); k.Quota != quota || k.Won != won {
		t.Fatalf("session SKU: quota %d, won %d; want %d, %d", k.Quota, k.Won, quota, won)
	}
}

// flashMoves sums the journal's reserved deltas of a SKU referencing the
// session, by reason.
func (w *flashWorld) flashMoves(t testing.TB, skuID, sessionID string) map[inventory.Reason]int64 {
	t.Helper()
	ms, err := w.s.Journal(context.Background(), skuID, inventory.MaxJournal)
	if err != nil {
		t.Fatalf("Journal: %v", err)
	}
	out := map[inventory.Reason]int64{}
	for _, m := range ms {
		if m.Ref == "flash:"+sessionID {
			out[m.Reason] += m.ReservedDelta
		}
	}
	return out
}

// win is a won claim of qty units for buyer, as the hot path queues it.
func (w *flashWorld) win(fs *flashsale.Session, skuID, buyer string, qty int) flashsale.Win {
	ticket := flashsale.TicketFor(fs.ID, skuID, buyer, ids.Token(8))
	return flashsale.Win{Claim: flashsale.Claim{SessionID: fs.ID, SKUID: skuID, BuyerID: buyer, Qty: qty, Ticket: ticket,
		Data: "address-1"}, At: w.clock.Now()}
}

// draft is the win's order as the order writer composes it: one line at
// the flash price, its creation event and its close job.
func (w *flashWorld) draft(win flashsale.Win) *order.Draft {
	fs := w.sessions[win.SessionID]
	k, _ := fs.SKU(win.SKUID)
	now := w.clock.Now()
	amount := k.Price * money.Fen(win.Qty)
	o := &order.Order{
		ID: ids.New(), BuyerID: win.BuyerID, Status: order.PendingPayment,
		Subtotal: amount, Total: amount, ShipTo: orderShipTo, PayBy: win.At.Add(fs.PayWindow),
		CreatedAt: now, UpdatedAt: now,
		Activity: &order.Activity{Kind: order.ActivityFlashSale, ID: fs.ID, Ref: win.Ticket},
		Lines: []order.Line{{
			ID: ids.New(), SKUID: win.SKUID, ProductID: ids.New(), Title: "Longjing", Spec: "size: 50g", Qty: win.Qty,
			ListPrice: 2599, SalePrice: k.Price, Amount: amount,
			Adjustments: []pricing.Adjustment{{Step: "activity", Amount: -(2599 - k.Price) * money.Fen(win.Qty), Ref: fs.ID}},
		}},
	}
	d := w.svc.Compose(o)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.drafts[o.ID] = d
	return d
}

// fair places wins as the order writer does: skipping the tickets written,
// an order while the quota and the buyer's limit allow (counting the
// batch's own earlier wins), a refusal otherwise. saw, if set, gets the
// Known it was handed.
func (w *flashWorld) fair(wins []flashsale.Win, saw *flashsale.Known) func(flashsale.Known) ([]flashsale.Placement, error) {
	return func(k flashsale.Known) ([]flashsale.Placement, error) {
		if saw != nil {
			*saw = k
		}
		won, held := map[string]int{}, map[string]int{}
		var out []flashsale.Placement
		for _, win := range wins {
			if k.Written[win.Ticket] {
				continue
			}
			row, ok := k.SKUs[win.SessionID][win.SKUID]
			sk, bk := win.SessionID+win.SKUID, win.SessionID+win.SKUID+win.BuyerID
			switch {
			case !ok:
				out = append(out, flashsale.Placement{Win: win, Reason: "session_not_found"})
			case row.Won+won[sk]+win.Qty > row.Quota:
				out = append(out, flashsale.Placement{Win: win, Reason: "quota"})
			case k.Held[win.SessionID][win.SKUID][win.BuyerID]+held[bk]+win.Qty > row.Limit:
				out = append(out, flashsale.Placement{Win: win, Reason: "limit"})
			default:
				won[sk] += win.Qty
				held[bk] += win.Qty
				out = append(out, flashsale.Placement{Win: win, Draft: w.draft(win)})
			}
		}
		return out, nil
	}
}

// blind orders every win it is handed, written or not, quota or not: the
// store must hold its ground against a decide gone wrong.
func (w *flashWorld) blind(wins []flashsale.Win) func(flashsale.Known) ([]flashsale.Placement, error) {
	return func(flashsale.Known) ([]flashsale.Placement, error) {
		out := make([]flashsale.Placement, len(wins))
		for i, win := range wins {
			out[i] = flashsale.Placement{Win: win, Draft: w.draft(win)}
		}
		return out, nil
	}
}

func (w *flashWorld) write(t testing.TB, wins []flashsale.Win) {
	t.Helper()
	if err := w.s.WriteFlashWins(context.Background(), wins, w.fair(wins, nil)); err != nil {
		t.Fatalf("WriteFlashWins: %v", err)
	}
}

func (w *flashWorld) reservation(t testing.TB, ticket string) *flashsale.Reservation {
	t.Helper()
	r, err := w.s.FlashReservation(context.Background(), ticket)
	if err != nil {
		t.Fatalf("FlashReservation(%s): %v", ticket, err)
	}
	return r
}

// buyerOrders is every order of a buyer.
func (w *flashWorld) buyerOrders(t *testing.T, buyer string) []order.Order {
	t.Helper()
	os, _ := listOrders(t, w.s, order.ListFilter{BuyerID: buyer, Limit: 100})
	return os
}

func testFlashSessions(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	a := w.session(t, flashSKU(w.tea, 999, 30, 2), flashSKU(w.cup, 1, 5, 1))
	got := w.read(t, a.ID)
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("FlashSession = %+v\nwant %+v", got, a)
	}
	// The quota is carved out of the online stock, journalled.
	w.wantLevel(t, w.tea, 100, 30)
	w.wantLevel(t, w.cup, 20, 5)
	if m := w.flashMoves(t, w.tea, a.ID); !reflect.DeepEqual(m, map[inventory.Reason]int64{inventory.Reserve: 30}) {
		t.Fatalf("tea's journal for the session: %v; want reserve 30", m)
	}
	if _, err := w.s.FlashSession(ctx, ids.New()); !errs.Is(err, flashsale.ErrSessionNotFound.Code) {
		t.Fatalf("FlashSession(unknown) = %v; want flash_session_not_found", err)
	}
	if _, err := w.s.FlashSession(ctx, "not-an-id"); !errs.Is(err, flashsale.ErrSessionNotFound.Code) {
		t.Fatalf("FlashSession(not an id) = %v; want flash_session_not_found", err)
	}

	// Listing: soonest first, filtered by end and status, limited.
	later := w.newSession(flashSKU(w.tea, 999, 1, 1))
	later.StartsAt, later.EndsAt = a.StartsAt.Add(2*time.Hour), a.StartsAt.Add(3*time.Hour)
	earlier := w.newSession(flashSKU(w.tea, 999, 1, 1))
	earlier.StartsAt, earlier.EndsAt, earlier.WarmupAt = a.StartsAt.Add(-3*time.Hour), a.StartsAt.Add(-2*time.Hour), nil
	for _, fs := range []*flashsale.Session{later, earlier} {
		failOn(t, w.s.CreateFlashSession(ctx, fs))
	}
	_, err := w.s.EndFlashSession(ctx, earlier.ID, flashsale.Closed, w.clock.Now())
	failOn(t, err)
	for _, c := range []struct {
		name string
		f    flashsale.SessionFilter
		want []string
	}{
		{"all", flashsale.SessionFilter{}, []string{earlier.ID, a.ID, later.ID}},
		{"ending after now", flashsale.SessionFilter{EndsAfter: w.clock.Now()}, []string{a.ID, later.ID}},
		{"scheduled", flashsale.SessionFilter{Statuses: []flashsale.Status{flashsale.Scheduled}}, []string{a.ID, later.ID}},
		{"closed or cancelled", flashsale.SessionFilter{Statuses: []flashsale.Status{flashsale.Closed, flashsale.Cancelled}}, []string{earlier.ID}},
		{"limit", flashsale.SessionFilter{Limit: 2}, []string{earlier.ID, a.ID}},
		{"none", flashsale.SessionFilter{EndsAfter: later.EndsAt}, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			list, err := w.s.FlashSessions(ctx, c.f)
			failOn(t, err)
			got := []string{}
			for _, fs := range list {
				got = append(got, fs.ID)
				if len(fs.SKUs) == 0 {
					t.Errorf("session %s listed without its SKUs", fs.ID)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("FlashSessions = %v; want %v", got, c.want)
			}
		})
	}
}

// testFlashCreateShort: a SKU short of its quota fails the session whole,
// naming the SKU, and carves nothing from the SKUs that had enough.
func testFlashCreateShort(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	fs := w.newSession(flashSKU(w.tea, 999, 30, 1), flashSKU(w.cup, 1, 21, 1))
	err := w.s.CreateFlashSession(ctx, fs)
	if e := wantErrCode(t, err, "out_of_stock"); e.Field != w.cup {
		t.Fatalf("out of stock names %q; want the cup %s", e.Field, w.cup)
	}
	if _, err := w.s.FlashSession(ctx, fs.ID); !errs.Is(err, flashsale.ErrSessionNotFound.Code) {
		t.Fatalf("FlashSession after a refused creation = %v; want flash_session_not_found", err)
	}
	w.wantLevel(t, w.tea, 100, 0)
	w.wantLevel(t, w.cup, 20, 0)
	if m := w.flashMoves(t, w.tea, fs.ID); len(m) != 0 {
		t.Fatalf("the refused session journalled %v", m)
	}
	// A SKU with no stock at all is short too; one that does not exist
	// (quota 0: nothing to carve) is not found.
	noStock := w.sku(t, "Gift box", skuFixture{Spec: "box", List: 100, Sale: 100})
	wantErrCode(t, w.s.CreateFlashSession(ctx, w.newSession(flashSKU(noStock.ID, 1, 1, 1))), "out_of_stock")
	wantErrCode(t, w.s.CreateFlashSession(ctx, w.newSession(flashSKU(ids.New(), 1, 0, 1))), inventory.ErrSKUNotFound.Code)
	// Exactly what is available is enough.
	w.session(t, flashSKU(w.cup, 1, 20, 1))
	w.wantLevel(t, w.cup, 20, 20)
}

// testFlashEnd: ending gives back what nobody holds, once.
func testFlashEnd(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	fs := w.session(t, flashSKU(w.tea, 999, 10, 3), flashSKU(w.cup, 1, 4, 1))
	w.write(t, []flashsale.Win{w.win(fs, w.tea, ids.New(), 3)})
	w.wantLevel(t, w.tea, 100, 10) // the order moved no stock: the carve holds it

	at := w.clock.Now().Add(2 * time.Hour)
	got, err := w.s.EndFlashSession(ctx, fs.ID, flashsale.Closed, at)
	failOn(t, err)
	if got.Status != flashsale.Closed || !got.UpdatedAt.Equal(at) {
		t.Fatalf("ended session: status %s, updated %v; want closed at %v", got.Status, got.UpdatedAt, at)
	}
	want := []flashsale.SessionSKU{{SKUID: w.tea, Price: 999, Quota: 3, Limit: 3, Won: 3}, {SKUID: w.cup, Price: 1, Quota: 0, Limit: 1}}
	if !reflect.DeepEqual(got.SKUs, want) {
		t.Fatalf("ended SKUs = %+v; want %+v", got.SKUs, want)
	}
	if stored := w.read(t, fs.ID); !reflect.DeepEqual(stored, got) {
		t.Fatalf("stored %+v\nreturned %+v", stored, got)
	}
	w.wantLevel(t, w.tea, 100, 3)
	w.wantLevel(t, w.cup, 20, 0)
	if m := w.flashMoves(t, w.tea, fs.ID); m[inventory.Release] != -7 {
		t.Fatalf("tea's journal for the session: %v; want release 7", m)
	}

	// Again, or cancelled now: unchanged, no error, nothing moved.
	for _, st := range []flashsale.Status{flashsale.Closed, flashsale.Cancelled} {
		again, err := w.s.EndFlashSession(ctx, fs.ID, st, at.Add(time.Hour))
		failOn(t, err)
		if !reflect.DeepEqual(again, got) {
			t.Fatalf("ending again (%s) = %+v; want %+v", st, again, got)
		}
	}
	w.wantLevel(t, w.tea, 100, 3)

	// Cancelled before anyone won: every unit goes back.
	c := w.session(t, flashSKU(w.tea, 999, 50, 1))
	w.wantLevel(t, w.tea, 100, 53)
	got, err = w.s.EndFlashSession(ctx, c.ID, flashsale.Cancelled, at)
	failOn(t, err)
	if got.Status != flashsale.Cancelled || got.SKUs[0].Quota != 0 {
		t.Fatalf("cancelled session: %+v", got)
	}
	w.wantLevel(t, w.tea, 100, 3)

	if _, err := w.s.EndFlashSession(ctx, ids.New(), flashsale.Closed, at); !errs.Is(err, flashsale.ErrSessionNotFound.Code) {
		t.Fatalf("EndFlashSession(unknown) = %v; want flash_session_not_found", err)
	}
	if _, err := w.s.EndFlashSession(ctx, c.ID, flashsale.Scheduled, at); errs.KindOf(err) != errs.Invalid {
		t.Fatalf("EndFlashSession(scheduled) = %v; want invalid", err)
	}
}

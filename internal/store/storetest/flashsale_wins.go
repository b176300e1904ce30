package storetest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// testFlashWriteWins: a batch becomes its orders (as the order store writes
// them), their lines, events and jobs, a reservation per ticket, and the
// SKUs' won; a refusal is a reservation with its reason and no order.
func testFlashWriteWins(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	fs := w.session(t, flashSKU(w.tea, 999, 10, 2), flashSKU(w.cup, 1, 3, 1))
	b1, b2 := ids.New(), ids.New()
	wins := []flashsale.Win{
		w.win(fs, w.tea, b1, 2),
		w.win(fs, w.tea, b2, 1),
		w.win(fs, w.cup, b2, 1),
		w.win(fs, w.cup, b1, 1),
		w.win(fs, w.cup, b2, 1), // past b2's limit of 1
		w.win(fs, w.tea, b1, 1), // past b1's limit of 2
	}
	var saw flashsale.Known
	failOn(t, w.s.WriteFlashWins(ctx, wins, w.fair(wins, &saw)))
	wantKnown := flashsale.Known{
		SKUs: map[string]map[string]flashsale.SessionSKU{fs.ID: {
			w.tea: {SKUID: w.tea, Price: 999, Quota: 10, Limit: 2},
			w.cup: {SKUID: w.cup, Price: 1, Quota: 3, Limit: 1},
		}},
		Written: map[string]bool{},
		Held:    map[string]map[string]map[string]int{},
	}
	if !reflect.DeepEqual(saw, wantKnown) {
		t.Fatalf("Known = %+v\nwant %+v", saw, wantKnown)
	}

	for i, win := range wins {
		r := w.reservation(t, win.Ticket)
		if i >= 4 {
			want := flashsale.Reservation{ID: win.Ticket, SessionID: fs.ID, SKUID: win.SKUID, BuyerID: win.BuyerID, Qty: win.Qty,
				Status: flashsale.Refused, Reason: "limit", WonAt: win.At, UpdatedAt: r.UpdatedAt}
			if !reflect.DeepEqual(*r, want) {
				t.Fatalf("refused reservation = %+v\nwant %+v", *r, want)
			}
			continue
		}
		d := w.drafts[r.OrderID]
		if d == nil {
			t.Fatalf("reservation %d: order %q is none the writer composed", i, r.OrderID)
		}
		want := flashsale.Reservation{ID: win.Ticket, SessionID: fs.ID, SKUID: win.SKUID, BuyerID: win.BuyerID, Qty: win.Qty,
			Status: flashsale.Ordered, OrderID: d.Order.ID, WonAt: win.At, UpdatedAt: d.Order.CreatedAt}
		if !reflect.DeepEqual(*r, want) {
			t.Fatalf("reservation = %+v\nwant %+v", *r, want)
		}
		o, err := w.s.Order(ctx, d.Order.ID)
		failOn(t, err)
		if !reflect.DeepEqual(o, d.Order) {
			t.Fatalf("stored order = %+v\nwant %+v", o, d.Order)
		}
		if got := w.topics(t, o.ID); !reflect.DeepEqual(got, map[string]int{order.TopicCreated: 1}) {
			t.Fatalf("events of order %s: %v; want one %s", o.ID, got, order.TopicCreated)
		}
		w.peek = w.peek.Add(time.Hour)
		if js := w.jobsDue(t, o.ID, w.peek); len(js) != 1 || js[0].Kind != order.JobCloseUnpaid {
			t.Fatalf("jobs of order %s: %+v; want its close", o.ID, js)
		}
	}
	w.wantSKU(t, fs.ID, w.tea, 10, 3)
	w.wantSKU(t, fs.ID, w.cup, 3, 2)
	// The orders moved no stock: the session's carve holds their units.
	w.wantLevel(t, w.tea, 100, 10)
	w.wantLevel(t, w.cup, 20, 3)

	rs, err := w.s.FlashReservations(ctx, fs.ID, b2)
	failOn(t, err)
	if got := reservationTickets(rs); !reflect.DeepEqual(got, sorted(wins[1].Ticket, wins[2].Ticket, wins[4].Ticket)) {
		t.Fatalf("b2's reservations = %v", got)
	}
	rs, err = w.s.FlashReservations(ctx, ids.New(), b2)
	failOn(t, err)
	if len(rs) != 0 {
		t.Fatalf("reservations in another session: %+v", rs)
	}
	if _, err := w.s.FlashReservation(ctx, "NOSUCHTICKET"); !errs.Is(err, flashsale.ErrReservationNotFound.Code) {
		t.Fatalf("FlashReservation(unknown) = %v; want flash_reservation_not_found", err)
	}

	// Empty batches write nothing and do not call decide.
	failOn(t, w.s.WriteFlashWins(ctx, nil, func(flashsale.Known) ([]flashsale.Placement, error) {
		t.Fatal("decide called for no wins")
		return nil, nil
	}))
}

// testFlashWriteTwice: a batch written again (its acknowledgement lost)
// writes nothing more, even when decide places its wins again; a batch
// mixing written and new tickets writes the new ones; a failing decide
// writes nothing.
func testFlashWriteTwice(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	fs := w.session(t, flashSKU(w.tea, 999, 10, 5))
	buyers := []string{ids.New(), ids.New(), ids.New(), ids.New()}
	var wins []flashsale.Win
	for _, b := range buyers {
		wins = append(wins, w.win(fs, w.tea, b, 1))
	}
	w.write(t, wins)
	first := map[string]string{}
	for _, win := range wins {
		first[win.Ticket] = w.reservation(t, win.Ticket).OrderID
	}

	var saw flashsale.Known
	record := func(k flashsale.Known) ([]flashsale.Placement, error) { saw = k; return w.blind(wins)(k) }
	failOn(t, w.s.WriteFlashWins(ctx, wins, record))
	for _, win := range wins {
		if !saw.Written[win.Ticket] {
			t.Fatalf("Known.Written lacks %s", win.Ticket)
		}
		if saw.Held[fs.ID][w.tea][win.BuyerID] != 1 {
			t.Fatalf("Known.Held = %v; want 1 for each buyer", saw.Held)
		}
		if got := w.reservation(t, win.Ticket).OrderID; got != first[win.Ticket] {
			t.Fatalf("ticket %s now names order %s; want %s", win.Ticket, got, first[win.Ticket])
		}
		if os := w.buyerOrders(t, win.BuyerID); len(os) != 1 {
			t.Fatalf("buyer %s has %d orders; want 1", win.BuyerID, len(os))
		}
	}
	if saw.SKUs[fs.ID][w.tea].Won != 4 {
		t.Fatalf("Known.SKUs = %+v; want won 4", saw.SKUs)
	}
	w.wantSKU(t, fs.ID, w.tea, 10, 4)

	// Old and new tickets, one of them twice in the batch.
	fresh := w.win(fs, w.tea, buyers[0], 2)
	mixed := append(slices.Clone(wins), fresh, fresh)
	failOn(t, w.s.WriteFlashWins(ctx, mixed, w.blind(mixed)))
	w.wantSKU(t, fs.ID, w.tea, 10, 6)
	if os := w.buyerOrders(t, buyers[0]); len(os) != 2 {
		t.Fatalf("buyer 0 has %d orders; want 2", len(os))
	}

	boom := errors.New("boom")
	late := w.win(fs, w.tea, ids.New(), 1)
	err := w.s.WriteFlashWins(ctx, []flashsale.Win{late}, func(flashsale.Known) ([]flashsale.Placement, error) {
		return []flashsale.Placement{{Win: late, Draft: w.draft(late)}}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteFlashWins with a failing decide = %v; want boom", err)
	}
	if _, err := w.s.FlashReservation(ctx, late.Ticket); !errs.Is(err, flashsale.ErrReservationNotFound.Code) {
		t.Fatalf("a failed decide wrote %s: %v", late.Ticket, err)
	}
	w.wantSKU(t, fs.ID, w.tea, 10, 6)
}

// testFlashRaceWriters: two order writers (two replicas) given overlapping
// batches at once, over two SKUs taken in opposite orders, write every
// ticket exactly once, never past a quota, and do not deadlock.
func testFlashRaceWriters(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	for round := range 3 {
		fs := w.session(t, flashSKU(w.tea, 999, 25, 1), flashSKU(w.cup, 1, 4, 1))
		var teaWins, cupWins []flashsale.Win
		for range 30 {
			teaWins = append(teaWins, w.win(fs, w.tea, ids.New(), 1))
		}
		for range 6 {
			cupWins = append(cupWins, w.win(fs, w.cup, ids.New(), 1))
		}
		// A: tea 0-19 then cup 0-3; B: cup 2-5 then tea 10-29.
		a := append(slices.Clone(teaWins[:20]), cupWins[:4]...)
		b := append(slices.Clone(cupWins[2:]), teaWins[10:]...)
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, batch := range [][]flashsale.Win{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = w.s.WriteFlashWins(ctx, batch, w.fair(batch, nil))
			}()
		}
		wg.Wait()
		for _, err := range results {
			failOn(t, err)
		}
		for sku, want := range map[string]struct{ quota, wins int }{w.tea: {25, 30}, w.cup: {4, 6}} {
			all := teaWins
			if sku == w.cup {
				all = cupWins
			}
			ordered := 0
			for _, win := range all {
				rs, err := w.s.FlashReservations(ctx, fs.ID, win.BuyerID)
				failOn(t, err)
				if len(rs) != 1 || rs[0].ID != win.Ticket {
					t.Fatalf("round %d: buyer %s has reservations %+v; want ticket %s once", round, win.BuyerID, rs, win.Ticket)
				}
				os := w.buyerOrders(t, win.BuyerID)
				switch rs[0].Status {
				case flashsale.Ordered:
					ordered++
					if len(os) != 1 || os[0].ID != rs[0].OrderID {
						t.Fatalf("round %d: ordered ticket %s, buyer's orders %d", round, win.Ticket, len(os))
					}
				case flashsale.Refused:
					if len(os) != 0 || rs[0].Reason != "quota" {
						t.Fatalf("round %d: refused ticket %s (%s) with %d orders", round, win.Ticket, rs[0].Reason, len(os))
					}
				}
			}
			if ordered != want.quota {
				t.Fatalf("round %d: %d of %d wins ordered; want the quota, %d", round, ordered, want.wins, want.quota)
			}
			w.wantSKU(t, fs.ID, sku, want.quota, want.quota)
		}
		holds, err := w.s.FlashHolds(ctx, fs.ID)
		failOn(t, err)
		if len(holds[w.tea]) != 25 || len(holds[w.cup]) != 4 {
			t.Fatalf("round %d: holds tea %d, cup %d; want 25, 4", round, len(holds[w.tea]), len(holds[w.cup]))
		}
	}
}

// testFlashQuotaGuard: a decide that lets more through than the quota
// fails the whole batch, and writes nothing of it.
func testFlashQuotaGuard(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	fs := w.session(t, flashSKU(w.tea, 999, 3, 5))
	var wins []flashsale.Win
	for range 4 {
		wins = append(wins, w.win(fs, w.tea, ids.New(), 1))
	}
	wantNothing := func(wins []flashsale.Win) {
		t.Helper()
		for _, win := range wins {
			if _, err := w.s.FlashReservation(ctx, win.Ticket); !errs.Is(err, flashsale.ErrReservationNotFound.Code) {
				t.Fatalf("the refused batch wrote %s: %v", win.Ticket, err)
			}
			if os := w.buyerOrders(t, win.BuyerID); len(os) != 0 {
				t.Fatalf("the refused batch wrote an order of %s", win.BuyerID)
			}
		}
	}
	if err := w.s.WriteFlashWins(ctx, wins, w.blind(wins)); err == nil {
		t.Fatal("a batch past the quota was written")
	}
	wantNothing(wins)
	w.wantSKU(t, fs.ID, w.tea, 3, 0)

	// Across batches: the quota written out, one more unit fails.
	w.write(t, wins) // three ordered, one refused
	w.wantSKU(t, fs.ID, w.tea, 3, 3)
	extra := []flashsale.Win{w.win(fs, w.tea, ids.New(), 1)}
	if err := w.s.WriteFlashWins(ctx, extra, w.blind(extra)); err == nil {
		t.Fatal("a unit past the quota was written")
	}
	wantNothing(extra)
	w.wantSKU(t, fs.ID, w.tea, 3, 3)
	w.wantLevel(t, w.tea, 100, 3)
}

// testFlashHolds: the holds are the ordered reservations, per SKU; a
// refused or released one holds nothing.
func testFlashHolds(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	fs := w.session(t, flashSKU(w.tea, 999, 10, 2), flashSKU(w.cup, 1, 3, 1))
	b1, b2, b3 := ids.New(), ids.New(), ids.New()
	wins := []flashsale.Win{
		w.win(fs, w.tea, b1, 2),
		w.win(fs, w.tea, b2, 1),
		w.win(fs, w.cup, b3, 1),
		w.win(fs, w.tea, b1, 1), // refused: past the limit
	}
	w.write(t, wins)
	released, err := w.s.ReleaseFlashReservation(ctx, wins[1].Ticket, false, w.clock.Now())
	failOn(t, err)
	if released {
		t.Fatal("a release without recarve went back to the pool")
	}
	holds, err := w.s.FlashHolds(ctx, fs.ID)
	failOn(t, err)
	want := map[string][]flashsale.Hold{
		w.tea: {{Ticket: wins[0].Ticket, BuyerID: b1, Qty: 2}},
		w.cup: {{Ticket: wins[2].Ticket, BuyerID: b3, Qty: 1}},
	}
	if !reflect.DeepEqual(holds, want) {
		t.Fatalf("FlashHolds = %+v\nwant %+v", holds, want)
	}
	for _, id := range []string{ids.New(), "not-an-id"} {
		holds, err := w.s.FlashHolds(ctx, id)
		failOn(t, err)
		if holds == nil || len(holds) != 0 {
			t.Fatalf("FlashHolds(%s) = %#v; want an empty map", id, holds)
		}
	}
}

// testFlashRelease follows one session's books through every kind of
// release; at the end the SKU's reserved units are exactly the shop's
// order's: the session's releases gave back what they took, no more.
func testFlashRelease(t *testing.T, w *flashWorld) {
	ctx := context.Background()
	fs := w.session(t, flashSKU(w.tea, 999, 10, 5))
	w.wantLevel(t, w.tea, 100, 10)
	// winClose writes a win and closes its order unpaid, which gives its
	// units back to the shop.
	winClose := func(buyer string, qty int, close bool) flashsale.Win {
		t.Helper()
		win := w.win(fs, w.tea, buyer, qty)
		w.write(t, []flashsale.Win{win})
		if close {
			_, err := w.svc.Close(ctx, w.reservation(t, win.Ticket).OrderID, "unpaid")
			failOn(t, err)
		}
		return win
	}
	release := func(win flashsale.Win, recarve, want bool) {
		t.Helper()
		at := w.clock.Now().Add(time.Minute)
		got, err := w.s.ReleaseFlashReservation(ctx, win.Ticket, recarve, at)
		failOn(t, err)
		if got != want {
			t.Fatalf("ReleaseFlashReservation(recarve %v) = %v; want %v", recarve, got, want)
		}
		if r := w.reservation(t, win.Ticket); r.Status != flashsale.Released || !r.UpdatedAt.Equal(at) {
			t.Fatalf("released reservation: %s at %v", r.Status, r.UpdatedAt)
		}
	}

	// Recarved: the units are the session's again.
	first := winClose(ids.New(), 2, true)
	w.wantLevel(t, w.tea, 100, 8)
	release(first, true, true)
	w.wantSKU(t, fs.ID, w.tea, 10, 0)
	w.wantLevel(t, w.tea, 100, 10)
	// Twice: nothing more.
	again, err := w.s.ReleaseFlashReservation(ctx, first.Ticket, true, w.clock.Now())
	failOn(t, err)
	if again {
		t.Fatal("a second release went back to the pool")
	}
	w.wantSKU(t, fs.ID, w.tea, 10, 0)
	w.wantLevel(t, w.tea, 100, 10)

	// The shop sold the units meanwhile: the quota shrinks instead.
	sold := winClose(ids.New(), 2, true)
	w.place(t, ids.New(), order.LineInput{SKUID: w.tea, Qty: 92})
	w.wantLevel(t, w.tea, 100, 100)
	release(sold, true, false)
	w.wantSKU(t, fs.ID, w.tea, 8, 0)
	w.wantLevel(t, w.tea, 100, 100)

	// Not recarved (the session's end has passed): out of the quota too,
	// or the session's close would give the units back a second time.
	late := winClose(ids.New(), 1, true)
	release(late, false, false)
	w.wantSKU(t, fs.ID, w.tea, 7, 0)
	w.wantLevel(t, w.tea, 100, 99)

	// Closed with a unit held, whose order closes afterwards: a recarve
	// asked for a session no longer running is refused.
	held := winClose(ids.New(), 1, false)
	_, err = w.s.EndFlashSession(ctx, fs.ID, flashsale.Closed, w.clock.Now())
	failOn(t, err)
	w.wantSKU(t, fs.ID, w.tea, 1, 1)
	w.wantLevel(t, w.tea, 100, 93)
	_, err = w.svc.Close(ctx, w.reservation(t, held.Ticket).OrderID, "unpaid")
	failOn(t, err)
	release(held, true, false)
	w.wantSKU(t, fs.ID, w.tea, 0, 0)
	w.wantLevel(t, w.tea, 100, 92) // the shop's order's, and nothing else
	m := w.flashMoves(t, w.tea, fs.ID)
	if m[inventory.Reserve] != 12 || m[inventory.Release] != -6 {
		t.Fatalf("the session's journal: %v; want reserve 10+2, release 6", m)
	}

	// A refusal holds nothing to release; an unknown ticket is not found.
	refused := w.win(fs, w.tea, ids.New(), 1)
	failOn(t, w.s.WriteFlashWins(ctx, []flashsale.Win{refused}, w.fair([]flashsale.Win{refused}, nil)))
	if r := w.reservation(t, refused.Ticket); r.Status != flashsale.Refused {
		t.Fatalf("a win past a quota of 0: %s", r.Status)
	}
	if back, err := w.s.ReleaseFlashReservation(ctx, refused.Ticket, true, w.clock.Now()); back || err != nil {
		t.Fatalf("releasing a refusal = %v, %v; want false, nil", back, err)
	}
	if _, err := w.s.ReleaseFlashReservation(ctx, "NOSUCHTICKET", true, w.clock.Now()); !errs.Is(err, flashsale.ErrReservationNotFound.Code) {
		t.Fatalf("releasing an unknown ticket = %v; want flash_reservation_not_found", err)
	}
}

func reservationTickets(rs []flashsale.Reservation) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	slices.Sort(out)
	return out
}

func sorted(ss ...string) []string {
	slices.Sort(ss)
	return ss
}

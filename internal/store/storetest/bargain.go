package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

func init() { register("bargain", testBargain) }

var bargainT0 = time.Date(2031, 7, 1, 10, 0, 0, 0, time.UTC)

type bargainWorld struct {
	*shopFixture
	s      Engine
	orders *order.Service
	sku    string
}

func newBargainWorld(t *testing.T, open Opener) *bargainWorld {
	s := open(t)
	clk := clock.NewFake(bargainT0)
	p, err := pricing.New(pricing.Sale{}, pricing.Activity{}, pricing.Shipping{Fee: 800, FreeOver: 9900})
	if err != nil {
		t.Fatal(err)
	}
	w := &bargainWorld{shopFixture: newShopFixture(t, s, clk), s: s}
	w.orders = &order.Service{Store: s, Catalog: s, Carts: s, Addresses: fixedShipTo(orderShipTo), Pricing: p, Clock: clk}
	w.sku = w.sku1(t, 1000)
	return w
}

func (w *bargainWorld) sku1(t *testing.T, stock int64) string {
	return w.shopFixture.sku(t, "砍价茶 "+ids.Token(3), skuFixture{Spec: "50g", List: 5999, Sale: 4999, Stock: stock}).ID
}

// activity stores an activity with the given status and quota.
func (w *bargainWorld) activity(t *testing.T, status bargain.ActivityStatus, quota, limit int, at time.Time) *bargain.Activity {
	t.Helper()
	a := &bargain.Activity{
		ID: ids.New(), Title: "砍价", Rules: "规则全文", ShareNotice: "可能需要付费", Status: status,
		StartsAt: at, EndsAt: at.Add(72 * time.Hour), SKUID: w.sku, FromPrice: 5999, FloorPrice: 0, Helpers: 5,
		BargainHours: 10, BuyAtCurrent: true, PayHours: 24, Quota: quota, PerBuyerLimit: limit,
		ShowSchedule: true, MaxDepth: 3, CreatedAt: at, UpdatedAt: at,
	}
	failOn(t, w.s.CreateBargainActivity(context.Background(), a))
	return a
}

func newBargain(a *bargain.Activity, buyer string, at time.Time) *bargain.Bargain {
	return &bargain.Bargain{
		ID: ids.New(), ActivityID: a.ID, InitiatorID: buyer, SKUID: a.SKUID, From: a.FromPrice, Floor: a.FloorPrice,
		Schedule: a.Preview(), Price: a.FromPrice, Status: bargain.Open, BuyAtCurrent: a.BuyAtCurrent,
		PayHours: a.PayHours, Reward: a.Reward, ExpiresAt: at.Add(10 * time.Hour), CreatedAt: at, UpdatedAt: at,
	}
}

func (w *bargainWorld) open(t *testing.T, a *bargain.Activity, buyer string, at time.Time) *bargain.Bargain {
	t.Helper()
	b := newBargain(a, buyer, at)
	got, opened, err := w.s.OpenBargain(context.Background(), b, a.PerBuyerLimit, nil, nil)
	failOn(t, err)
	if !opened {
		t.Fatalf("OpenBargain returned an earlier bargain %s", got.ID)
	}
	return got
}

// applyNext is a help rule for the store tests: once per helper, a cut
// while slots are left, and refused past cap helps a day.
func applyNext(helper, device string, at time.Time, cap int) func(b *bargain.Bargain, f bargain.HelpFacts) (bargain.HelpChange, error) {
	return func(b *bargain.Bargain, f bargain.HelpFacts) (bargain.HelpChange, error) {
		if f.Existing != nil {
			return bargain.HelpChange{Help: f.Existing}, nil
		}
		if cap > 0 && f.HelperToday >= cap {
			return bargain.HelpChange{}, bargain.ErrDailyCap
		}
		if b.Cuts >= len(b.Schedule) {
			return bargain.HelpChange{}, bargain.ErrComplete
		}
		slot := b.Cuts
		h := &bargain.Help{ID: ids.New(), BargainID: b.ID, HelperID: helper, HelperSince: at.Add(-30 * 24 * time.Hour),
			DeviceID: device, IP: "10.0.0.1", Slot: &slot, Amount: b.Schedule[slot], Status: bargain.Applied,
			Reasons: []string{}, CreatedAt: at}
		b.Cuts++
		b.Price -= h.Amount
		if b.Cuts == len(b.Schedule) {
			b.Status = bargain.Succeeded
		}
		return bargain.HelpChange{Help: h, Insert: true, Bargain: true,
			Events: []outbox.Event{outbox.New(bargain.TopicHelped, b.ID, map[string]int{"slot": slot}, at)}}, nil
	}
}

func helpQuery(b *bargain.Bargain, helper, device, ip string, at time.Time) bargain.HelpQuery {
	return bargain.HelpQuery{BargainID: b.ID, HelperID: helper, DeviceID: device, IP: ip,
		DayStart: at.Add(-2 * time.Hour), RateSince: at.Add(-time.Minute), WatchSince: at.Add(-24 * time.Hour),
		NewSince: at.Add(-7 * 24 * time.Hour)}
}

func testBargain(t *testing.T, open Opener) {
	ctx := context.Background()

	t.Run("activities read back, change in a transaction, and page", func(t *testing.T) {
		w := newBargainWorld(t, open)
		var made []*bargain.Activity
		for i := range 5 {
			a := w.activity(t, bargain.Draft, 10, 1, bargainT0.Add(time.Duration(i)*time.Minute))
			made = append(made, a)
		}
		made[1].Reward = &bargain.Reward{Value: 300, Description: "3 元券"}
		got, err := w.s.UpdateBargainActivity(ctx, made[1].ID, func(a *bargain.Activity) error {
			a.Reward, a.Status = made[1].Reward, bargain.Published
			published := bargainT0.Add(time.Hour)
			a.PublishedAt, a.UpdatedAt = &published, published
			return nil
		})
		failOn(t, err)
		made[1] = got
		for _, want := range made {
			got, err := w.s.BargainActivity(ctx, want.ID)
			failOn(t, err)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("BargainActivity = %+v, want %+v", got, want)
			}
		}
		if _, err := w.s.UpdateBargainActivity(ctx, made[0].ID, func(a *bargain.Activity) error {
			a.Title = "changed"
			return bargain.ErrNotDraft
		}); !errs.Is(err, "bargain_activity_not_draft") {
			t.Fatalf("refused update: %v", err)
		}
		if got, _ := w.s.BargainActivity(ctx, made[0].ID); got.Title != "砍价" {
			t.Fatal("a refused update was written")
		}
		for _, id := range []string{ids.New(), "nope"} {
			if _, err := w.s.BargainActivity(ctx, id); !errs.Is(err, "bargain_activity_not_found") {
				t.Fatalf("BargainActivity(%s): %v", id, err)
			}
		}
		var seen []string
		f := bargain.ActivityFilter{Limit: 2}
		for {
			page, err := w.s.BargainActivities(ctx, f)
			failOn(t, err)
			for _, a := range page.Activities {
				seen = append(seen, a.ID)
			}
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		if len(seen) != 5 || seen[0] != made[4].ID || seen[4] != made[0].ID {
			t.Fatalf("paged %v", seen)
		}
		page, err := w.s.BargainActivities(ctx, bargain.ActivityFilter{Status: bargain.Published})
		failOn(t, err)
		if len(page.Activities) != 1 || page.Activities[0].ID != made[1].ID {
			t.Fatalf("published: %+v", page.Activities)
		}
		if _, err := w.s.BargainActivities(ctx, bargain.ActivityFilter{Cursor: "forged"}); !errs.Is(err, "invalid_cursor") {
			t.Fatalf("bad cursor: %v", err)
		}
	})

	t.Run("open: published only, one open per buyer, a limit per buyer", func(t *testing.T) {
		w := newBargainWorld(t, open)
		draft := w.activity(t, bargain.Draft, 10, 1, bargainT0)
		if _, _, err := w.s.OpenBargain(ctx, newBargain(draft, ids.New(), bargainT0), 1, nil, nil); !errs.Is(err, "bargain_activity_not_open") {
			t.Fatalf("open on a draft: %v", err)
		}
		a := w.activity(t, bargain.Published, 10, 2, bargainT0)
		buyer := ids.New()
		b := newBargain(a, buyer, bargainT0)
		b.Reward = &bargain.Reward{Value: 100, Description: "券"}
		ev := outbox.New(bargain.TopicOpened, b.ID, map[string]string{"id": b.ID}, bargainT0)
		got, opened, err := w.s.OpenBargain(ctx, b, 2, []outbox.Event{ev}, []jobs.Job{jobs.New(bargain.JobExpire, b.ID, b.ExpiresAt, nil)})
		failOn(t, err)
		if !opened || got != b {
			t.Fatalf("opened %v", opened)
		}
		read, err := w.s.Bargain(ctx, b.ID)
		failOn(t, err)
		if !reflect.DeepEqual(read, b) {
			t.Fatalf("Bargain = %+v, want %+v", read, b)
		}
		again, opened, err := w.s.OpenBargain(ctx, newBargain(a, buyer, bargainT0.Add(time.Minute)), 2, nil, nil)
		failOn(t, err)
		if opened || again.ID != b.ID {
			t.Fatalf("a second open made %s (opened %v), want the open %s", again.ID, opened, b.ID)
		}
		if js := claimJobs(t, w.s, "t", b.ExpiresAt, time.Minute, 100); countKinds(js)[bargain.JobExpire] != 1 {
			t.Fatalf("jobs: %v", countKinds(js))
		}
		expire := func(id string) {
			_, err := w.s.UpdateBargain(ctx, id, func(b *bargain.Bargain) (bargain.Change, error) {
				b.Status = bargain.Expired
				return bargain.Change{}, nil
			})
			failOn(t, err)
		}
		expire(b.ID)
		second := w.open(t, a, buyer, bargainT0.Add(time.Hour))
		expire(second.ID)
		if _, _, err := w.s.OpenBargain(ctx, newBargain(a, buyer, bargainT0.Add(2*time.Hour)), 2, nil, nil); !errs.Is(err, "bargain_limit_reached") {
			t.Fatalf("third open: %v", err)
		}
		for _, id := range []string{ids.New(), "x"} {
			if _, err := w.s.Bargain(ctx, id); !errs.Is(err, "bargain_not_found") {
				t.Fatalf("Bargain(%s): %v", id, err)
			}
		}
		page, err := w.s.Bargains(ctx, bargain.BargainFilter{ActivityID: a.ID, Status: bargain.Expired, Limit: 1})
		failOn(t, err)
		if len(page.Bargains) != 1 || page.Bargains[0].ID != second.ID || page.NextCursor == "" {
			t.Fatalf("page: %+v", page)
		}
		page, err = w.s.Bargains(ctx, bargain.BargainFilter{ActivityID: a.ID, Status: bargain.Expired, Cursor: page.NextCursor})
		failOn(t, err)
		if len(page.Bargains) != 1 || page.Bargains[0].ID != b.ID || page.NextCursor != "" {
			t.Fatalf("second page: %+v", page)
		}
	})

	t.Run("concurrent opens by one buyer make one bargain", func(t *testing.T) {
		w := newBargainWorld(t, open)
		a := w.activity(t, bargain.Published, 10, 1, bargainT0)
		buyer := ids.New()
		got := make([]string, 20)
		results := concurrently(20, func(i int) error {
			b, _, err := w.s.OpenBargain(ctx, newBargain(a, buyer, bargainT0), 1, nil, nil)
			if err == nil {
				got[i] = b.ID
			}
			return err
		})
		wantOutcomes(t, results, map[string]int{"": 20})
		for _, id := range got {
			if id != got[0] {
				t.Fatalf("two bargains: %s and %s", got[0], id)
			}
		}
		page, err := w.s.Bargains(ctx, bargain.BargainFilter{ActivityID: a.ID})
		failOn(t, err)
		if len(page.Bargains) != 1 {
			t.Fatalf("%d bargains", len(page.Bargains))
		}
	})

	t.Run("helps: counts, once per helper, never past the schedule", func(t *testing.T) {
		w := newBargainWorld(t, open)
		a := w.activity(t, bargain.Published, 10, 1, bargainT0)
		b := w.open(t, a, ids.New(), bargainT0)
		helper := ids.New()
		at := bargainT0.Add(time.Hour)
		h, got, err := w.s.HelpBargain(ctx, helpQuery(b, helper, "dev-1", "10.0.0.1", at), applyNext(helper, "dev-1", at, 0))
		failOn(t, err)
		if *h.Slot != 0 || h.Amount != b.Schedule[0] || got.Cuts != 1 || got.Price != b.From-b.Schedule[0] {
			t.Fatalf("first help %+v, bargain %+v", h, got)
		}
		read, err := w.s.Bargain(ctx, b.ID)
		failOn(t, err)
		if !reflect.DeepEqual(read, got) {
			t.Fatalf("Bargain = %+v, want %+v", read, got)
		}
		// The repeat sees the first help and writes nothing.
		again, _, err := w.s.HelpBargain(ctx, helpQuery(b, helper, "dev-1", "10.0.0.1", at), applyNext(helper, "dev-1", at, 0))
		failOn(t, err)
		if !reflect.DeepEqual(again, h) {
			t.Fatalf("repeat = %+v, want %+v", again, h)
		}
		// The facts a second helper on the same device and address sees.
		var facts bargain.HelpFacts
		other := ids.New()
		_, _, err = w.s.HelpBargain(ctx, helpQuery(b, other, "dev-1", "10.0.0.1", at.Add(30*time.Second)),
			func(b *bargain.Bargain, f bargain.HelpFacts) (bargain.HelpChange, error) {
				facts = f
				return bargain.HelpChange{}, bargain.ErrRateLimited
			})
		if !errs.Is(err, "rate_limited") {
			t.Fatalf("refusal: %v", err)
		}
		// The first helper's account is a month old: not a new account.
		want := bargain.HelpFacts{DeviceRecent: 1, IPRecent: 1, DeviceHelpers: 1}
		if !reflect.DeepEqual(facts, want) {
			t.Fatalf("facts %+v, want %+v", facts, want)
		}
		// A held help takes no slot; approving it later does.
		hold := ids.New()
		held, _, err := w.s.HelpBargain(ctx, helpQuery(b, hold, "dev-9", "", at),
			func(b *bargain.Bargain, f bargain.HelpFacts) (bargain.HelpChange, error) {
				if f.IPRecent != 0 {
					t.Errorf("an empty address counted %d helps", f.IPRecent)
				}
				return bargain.HelpChange{Insert: true, Help: &bargain.Help{ID: ids.New(), BargainID: b.ID, HelperID: hold,
					HelperSince: at, DeviceID: "dev-9", Status: bargain.Held, Reasons: []string{"new_account_cluster"}, CreatedAt: at}}, nil
			})
		failOn(t, err)
		// The held helper's account is new: the facts of the next help
		// list its help; the first helper sees their own.
		_, _, err = w.s.HelpBargain(ctx, helpQuery(b, helper, "dev-1", "", at),
			func(b *bargain.Bargain, f bargain.HelpFacts) (bargain.HelpChange, error) {
				if f.Existing == nil || !reflect.DeepEqual(*f.Existing, *h) || len(f.Helps) != 1 || !reflect.DeepEqual(f.Helps[0], *held) {
					t.Errorf("facts: existing %+v, new-account helps %+v", f.Existing, f.Helps)
				}
				return bargain.HelpChange{}, bargain.ErrRateLimited
			})
		if !errs.Is(err, "rate_limited") {
			t.Fatalf("refusal: %v", err)
		}
		decidedAt := at.Add(time.Hour)
		approved, after, err := w.s.DecideBargainHelp(ctx, held.ID, func(h *bargain.Help, b *bargain.Bargain) (bargain.HelpChange, error) {
			slot := b.Cuts
			h.Status, h.Slot, h.Amount, h.DecidedAt, h.DecidedBy = bargain.Applied, &slot, b.Schedule[slot], &decidedAt, "op"
			b.Cuts++
			b.Price -= h.Amount
			return bargain.HelpChange{Help: h, Update: true, Bargain: true}, nil
		})
		failOn(t, err)
		if *approved.Slot != 1 || after.Cuts != 2 {
			t.Fatalf("approved %+v, bargain %+v", approved, after)
		}
		page, err := w.s.BargainHelps(ctx, bargain.HelpFilter{BargainID: b.ID})
		failOn(t, err)
		if len(page.Helps) != 2 || !reflect.DeepEqual(page.Helps[0], *approved) || !reflect.DeepEqual(page.Helps[1], *h) {
			t.Fatalf("helps %+v", page.Helps)
		}
		if page, _ := w.s.BargainHelps(ctx, bargain.HelpFilter{Status: bargain.Held}); len(page.Helps) != 0 {
			t.Fatalf("held after approval: %+v", page.Helps)
		}
		for _, id := range []string{ids.New(), "x"} {
			if _, _, err := w.s.DecideBargainHelp(ctx, id, nil); !errs.Is(err, "bargain_help_not_found") {
				t.Fatalf("DecideBargainHelp(%s): %v", id, err)
			}
		}
		if _, _, err := w.s.HelpBargain(ctx, helpQuery(&bargain.Bargain{ID: ids.New()}, helper, "d", "", at), nil); !errs.Is(err, "bargain_not_found") {
			t.Fatalf("help on nothing: %v", err)
		}
	})

	t.Run("racing helpers take each slot once", func(t *testing.T) {
		w := newBargainWorld(t, open)
		a := w.activity(t, bargain.Published, 10, 1, bargainT0)
		b := w.open(t, a, ids.New(), bargainT0)
		helpers := make([]string, 40)
		for i := range helpers {
			helpers[i] = ids.New()
		}
		results := concurrently(len(helpers)*2, func(i int) error {
			helper := helpers[i%len(helpers)] // every helper twice
			_, _, err := w.s.HelpBargain(ctx, helpQuery(b, helper, "d", "", bargainT0), applyNext(helper, "d", bargainT0, 0))
			return err
		})
		applied := 0
		for _, err := range results {
			if err == nil {
				applied++
			} else if !errs.Is(err, "bargain_complete") {
				t.Fatal(err)
			}
		}
		got, err := w.s.Bargain(ctx, b.ID)
		failOn(t, err)
		page, err := w.s.BargainHelps(ctx, bargain.HelpFilter{BargainID: b.ID, Limit: 100})
		failOn(t, err)
		if got.Cuts != 5 || got.Price != 0 || got.Status != bargain.Succeeded || len(page.Helps) != 5 {
			t.Fatalf("bargain %+v with %d helps", got, len(page.Helps))
		}
		slots := map[int]bool{}
		for _, h := range page.Helps {
			slots[*h.Slot] = true
		}
		if len(slots) != 5 {
			t.Fatalf("slots %v", slots)
		}
	})

	t.Run("one helper's helps on many bargains keep the daily cap", func(t *testing.T) {
		w := newBargainWorld(t, open)
		a := w.activity(t, bargain.Published, 10, 1, bargainT0)
		helper := ids.New()
		var bs []*bargain.Bargain
		for range 10 {
			bs = append(bs, w.open(t, a, ids.New(), bargainT0))
		}
		results := concurrently(len(bs), func(i int) error {
			_, _, err := w.s.HelpBargain(ctx, helpQuery(bs[i], helper, "d", "", bargainT0), applyNext(helper, "d", bargainT0, 3))
			return err
		})
		wantOutcomes(t, results, map[string]int{"": 3, "helper_daily_cap": 7})
	})

	t.Run("orders: one per bargain, never past the quota, freed once", func(t *testing.T) {
		w := newBargainWorld(t, open)
		a := w.activity(t, bargain.Published, 3, 1, bargainT0)
		var bs []*bargain.Bargain
		for range 8 {
			bs = append(bs, w.open(t, a, ids.New(), bargainT0))
		}
		draft := func(b *bargain.Bargain) *order.Draft {
			d, err := w.orders.Prepare(ctx, order.PlaceInput{BuyerID: b.InitiatorID, AddressID: ids.New(),
				Lines: []order.LineInput{{SKUID: b.SKUID, Qty: 1}}, Offer: &order.Offer{
					Activity: order.Activity{Kind: order.ActivityBargain, ID: b.ActivityID, Ref: b.ID},
					Prices:   map[string]money.Fen{b.SKUID: b.Price}}})
			failOn(t, err)
			return d
		}
		once := func(b *bargain.Bargain) error {
			if b.OrderID != "" {
				return bargain.ErrOrdered
			}
			return nil
		}
		drafts := make([]*order.Draft, len(bs))
		for i, b := range bs {
			drafts[i] = draft(b)
		}
		results := concurrently(len(bs), func(i int) error {
			_, err := w.s.OrderBargain(ctx, bs[i].ID, drafts[i], once)
			return err
		})
		wantOutcomes(t, results, map[string]int{"": 3, "bargain_sold_out": 5})
		got, err := w.s.BargainActivity(ctx, a.ID)
		failOn(t, err)
		if got.Sold != 3 {
			t.Fatalf("sold %d", got.Sold)
		}
		var winner *bargain.Bargain
		for i, err := range results {
			b, _ := w.s.Bargain(ctx, bs[i].ID)
			_, oerr := w.s.Order(ctx, drafts[i].Order.ID)
			if (err == nil) != (b.OrderID == drafts[i].Order.ID) || (err == nil) != (oerr == nil) {
				t.Fatalf("bargain %d: err %v, order id %q, order read %v", i, err, b.OrderID, oerr)
			}
			if err == nil {
				winner = b
			}
		}
		// The bargain's price (5999, uncut) is above the sale price: the
		// buyer never pays more for joining (pricing.Activity).
		if o, _ := w.s.Order(ctx, winner.OrderID); o.Activity == nil || o.Activity.Ref != winner.ID || o.Total != 4999+800 {
			t.Fatalf("order %+v", o)
		}
		// A second order of the same bargain is refused by the check,
		// with the bargain locked.
		if _, err := w.s.OrderBargain(ctx, winner.ID, draft(winner), once); !errs.Is(err, "bargain_ordered") {
			t.Fatalf("second order: %v", err)
		}
		freed, err := w.s.FreeBargainOrder(ctx, winner.ID, winner.OrderID, bargainT0.Add(time.Hour))
		failOn(t, err)
		again, err := w.s.FreeBargainOrder(ctx, winner.ID, winner.OrderID, bargainT0.Add(time.Hour))
		failOn(t, err)
		if !freed || again {
			t.Fatalf("freed %v, then %v", freed, again)
		}
		if got, _ := w.s.BargainActivity(ctx, a.ID); got.Sold != 2 {
			t.Fatalf("sold %d after a free", got.Sold)
		}
		if b, _ := w.s.Bargain(ctx, winner.ID); b.OrderID != "" {
			t.Fatalf("order id kept: %s", b.OrderID)
		}
		// Out of stock when the order is stored (another order took the
		// last unit after this one was priced): nothing of it is written.
		w.sku = w.sku1(t, 1)
		short := w.activity(t, bargain.Published, 3, 1, bargainT0)
		sb := w.open(t, short, ids.New(), bargainT0)
		d := draft(sb)
		w.orders.Place(ctx, order.PlaceInput{BuyerID: ids.New(), AddressID: ids.New(), Lines: []order.LineInput{{SKUID: w.sku, Qty: 1}}}) //nolint:errcheck
		if _, err := w.s.OrderBargain(ctx, sb.ID, d, once); !errs.Is(err, "out_of_stock") {
			t.Fatalf("short order: %v", err)
		}
		if got, _ := w.s.BargainActivity(ctx, short.ID); got.Sold != 0 {
			t.Fatalf("sold %d after a short order", got.Sold)
		}
		if b, _ := w.s.Bargain(ctx, sb.ID); b.OrderID != "" {
			t.Fatal("a short order was noted on the bargain")
		}
		if ok, err := w.s.FreeBargainOrder(ctx, ids.New(), ids.New(), bargainT0); ok || err != nil {
			t.Fatalf("free nothing: %v %v", ok, err)
		}
	})
}

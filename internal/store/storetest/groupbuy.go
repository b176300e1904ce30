package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

func init() { register("groupbuy", testGroupBuy) }

// The group buy tests prove invariant 7's half that lives in the store
// (seats <= team size, the quota and the per-buyer limit never passed,
// whatever races) and that every claim writes all of itself or nothing.
func testGroupBuy(t *testing.T, open Opener) {
	t.Run("activities", func(t *testing.T) { testGroupBuyActivities(t, newGroupBuyWorld(t, open)) })
	t.Run("claims", func(t *testing.T) { testGroupBuyClaims(t, newGroupBuyWorld(t, open)) })
	t.Run("update_team", func(t *testing.T) { testGroupBuyUpdateTeam(t, newGroupBuyWorld(t, open)) })
	t.Run("race_last_seat", func(t *testing.T) { testGroupBuyRaceLastSeat(t, newGroupBuyWorld(t, open)) })
	t.Run("race_quota", func(t *testing.T) { testGroupBuyRaceQuota(t, newGroupBuyWorld(t, open)) })
	t.Run("teams", func(t *testing.T) { testGroupBuyTeams(t, newGroupBuyWorld(t, open)) })
}

type groupBuyWorld struct {
	*orderWorld
	skuID string // 1999 fen, 1000 units
}

func newGroupBuyWorld(t *testing.T, open Opener) *groupBuyWorld {
	w := newOrderWorld(t, open)
	p, err := pricing.New(pricing.Sale{}, pricing.Activity{}, pricing.Shipping{Fee: 800, FreeOver: 9900})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.Pricing = p
	sku := w.sku(t, "Longjing", skuFixture{Spec: "50g", List: 2599, Sale: 1999, Stock: 1000})
	return &groupBuyWorld{orderWorld: w, skuID: sku.ID}
}

// activity stores a published activity of the world's SKU: teams of 3,
// tiers 2 -> 1799 and 3 -> 1599.
func (w *groupBuyWorld) activity(t *testing.T, quota int64, limit int) *groupbuy.Activity {
	t.Helper()
	return w.activityOf(t, w.skuID, quota, limit)
}

func (w *groupBuyWorld) activityOf(t *testing.T, sku string, quota int64, limit int) *groupbuy.Activity {
	t.Helper()
	now := w.clock.Now()
	a := &groupbuy.Activity{
		ID: ids.New(), Title: "Three friends", Rules: "rules", ShareNotice: "notice", Status: groupbuy.Published,
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(72 * time.Hour), TeamSize: 3, TeamHours: 24,
		PerBuyerLimit: limit, MaxDepth: 3, Leader: groupbuy.Leader{Kind: groupbuy.LeaderNone},
		Items:     []groupbuy.Item{{SKUID: sku, Quota: quota, Tiers: []groupbuy.Tier{{Size: 2, Price: 1799}, {Size: 3, Price: 1599}}}},
		CreatedAt: now, UpdatedAt: now,
	}
	failOn(t, w.s.CreateGroupBuy(context.Background(), a))
	return a
}

// draft prices a seat's order at price.
func (w *groupBuyWorld) draft(t testing.TB, a *groupbuy.Activity, teamID, buyer string, qty int, price money.Fen) *order.Draft {
	t.Helper()
	sku := a.Items[0].SKUID
	d, err := w.svc.Prepare(context.Background(), order.PlaceInput{
		BuyerID: buyer, Lines: []order.LineInput{{SKUID: sku, Qty: qty}}, AddressID: ids.New(),
		Offer: &order.Offer{Activity: order.Activity{Kind: order.ActivityGroupBuy, ID: a.ID, Ref: teamID},
			Prices: map[string]money.Fen{sku: price}, Hold: true},
	})
	if err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return d
}

func seatOf(t *groupbuy.Team, buyer string, d *order.Draft, leader bool, qty int, price money.Fen, now time.Time) *groupbuy.Seat {
	return &groupbuy.Seat{ID: ids.New(), TeamID: t.ID, ActivityID: t.ActivityID, BuyerID: buyer, OrderID: d.Order.ID,
		Leader: leader, Qty: qty, UnitPrice: price, Amount: d.Order.Lines[0].Amount, State: groupbuy.SeatReserved, JoinedAt: now}
}

// openTeam opens a team led by a new buyer and, if open, makes it open
// (as the leader's payment would), expiring in an hour.
func (w *groupBuyWorld) openTeam(t testing.TB, a *groupbuy.Activity, open bool) (*groupbuy.Team, *groupbuy.Seat) {
	t.Helper()
	ctx := context.Background()
	now := w.clock.Now()
	tm := &groupbuy.Team{ID: ids.New(), ActivityID: a.ID, SKUID: a.Items[0].SKUID, LeaderID: ids.New(), Status: groupbuy.TeamPending,
		Capacity: a.TeamSize, Taken: 1, CreatedAt: now, UpdatedAt: now}
	d := w.draft(t, a, tm.ID, tm.LeaderID, 1, 1799)
	seat := seatOf(tm, tm.LeaderID, d, true, 1, 1799, now)
	if err := w.s.OpenTeam(ctx, tm, seat, w.claim(a, tm.LeaderID, 1), d); err != nil {
		t.Fatalf("OpenTeam: %v", err)
	}
	if open {
		got, err := w.s.UpdateTeam(ctx, tm.ID, func(tm *groupbuy.Team, seats []groupbuy.Seat) (groupbuy.TeamChange, error) {
			exp := now.Add(time.Hour)
			tm.Status, tm.ExpiresAt, tm.OpenedAt, tm.Paid = groupbuy.TeamOpen, &exp, &now, 1
			seats[0].State, seats[0].PaidAt = groupbuy.SeatPaid, &now
			return groupbuy.TeamChange{}, nil
		})
		if err != nil {
			t.Fatalf("open the team: %v", err)
		}
		tm = got
	}
	return tm, seat
}

func (w *groupBuyWorld) claim(a *groupbuy.Activity, buyer string, qty int) groupbuy.Claim {
	return groupbuy.Claim{ActivityID: a.ID, SKUID: a.Items[0].SKUID, BuyerID: buyer, Qty: qty, BuyerLimit: a.PerBuyerLimit}
}

// join tries to seat buyer in tm at the price of its next size.
func (w *groupBuyWorld) join(t testing.TB, a *groupbuy.Activity, tm *groupbuy.Team, buyer string, qty, lo, hi int) (*groupbuy.Seat, error) {
	t.Helper()
	now := w.clock.Now()
	price := groupbuy.TierPrice(a.Items[0].Tiers, lo)
	d := w.draft(t, a, tm.ID, buyer, qty, price)
	seat := seatOf(tm, buyer, d, false, qty, price, now)
	j := groupbuy.Join{Claim: w.claim(a, buyer, qty), TeamID: tm.ID, Now: now, MinSize: lo, MaxSize: hi}
	return seat, w.s.JoinTeam(context.Background(), seat, j, d)
}

func (w *groupBuyWorld) item(t testing.TB, id string) groupbuy.Item {
	t.Helper()
	a, err := w.s.GroupBuy(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Items[0]
}

func (w *groupBuyWorld) team(t testing.TB, id string) *groupbuy.Team {
	t.Helper()
	tm, err := w.s.Team(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func testGroupBuyActivities(t *testing.T, w *groupBuyWorld) {
	ctx := context.Background()
	a := w.activity(t, 100, 2)
	got, err := w.s.GroupBuy(ctx, a.ID)
	failOn(t, err)
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("GroupBuy = %+v\nwant %+v", got, a)
	}
	for _, id := range []string{ids.New(), "not-an-id"} {
		if _, err := w.s.GroupBuy(ctx, id); !errs.Is(err, groupbuy.ErrNotFound.Code) {
			t.Fatalf("GroupBuy(%s) = %v", id, err)
		}
	}

	t.Run("a draft's items are replaced; a published one's are kept", func(t *testing.T) {
		d := w.activity(t, 10, 1)
		_, err := w.s.UpdateGroupBuy(ctx, d.ID, func(x *groupbuy.Activity) error {
			x.Status, x.Title = groupbuy.Draft, "Draft"
			x.Items[0].Quota, x.Items[0].Tiers = 20, []groupbuy.Tier{{Size: 3, Price: 1500}}
			return nil
		})
		failOn(t, err)
		if it := w.item(t, d.ID); it.Quota != 20 || len(it.Tiers) != 1 {
			t.Fatalf("draft item = %+v", it)
		}
		_, err = w.s.UpdateGroupBuy(ctx, d.ID, func(x *groupbuy.Activity) error {
			now := w.clock.Now()
			x.Status, x.PublishedAt, x.Items[0].Quota = groupbuy.Published, &now, 99
			return nil
		})
		failOn(t, err)
		if it := w.item(t, d.ID); it.Quota != 20 {
			t.Fatalf("a published activity's items changed: %+v", it)
		}
		refusal := errs.E(errs.Conflict, "nope", "no")
		if _, err := w.s.UpdateGroupBuy(ctx, d.ID, func(x *groupbuy.Activity) error { x.Title = "x"; return refusal }); err != refusal {
			t.Fatalf("a refusing fn: %v", err)
		}
		if got, _ := w.s.GroupBuy(ctx, d.ID); got.Title != "Draft" || got.Status != groupbuy.Published || got.PublishedAt == nil {
			t.Fatalf("after a refusal: %+v", got)
		}
	})

	t.Run("listing pages newest first", func(t *testing.T) {
		for range 3 {
			w.clock.Advance(time.Second)
			w.activity(t, 1, 1)
		}
		var all []groupbuy.Activity
		f := groupbuy.ActivityFilter{Status: groupbuy.Published, Limit: 2}
		for {
			page, err := w.s.GroupBuys(ctx, f)
			failOn(t, err)
			all = append(all, page.Activities...)
			if page.NextCursor == "" {
				break
			}
			f.Cursor = page.NextCursor
		}
		if len(all) != 5 || len(all[0].Items) != 1 || !all[0].CreatedAt.After(all[4].CreatedAt) {
			t.Fatalf("listed %d: %+v", len(all), all)
		}
		if _, err := w.s.GroupBuys(ctx, groupbuy.ActivityFilter{Cursor: "forged", Limit: 2}); !errs.Is(err, "invalid_cursor") {
			t.Fatalf("forged cursor: %v", err)
		}
	})
}

func testGroupBuyClaims(t *testing.T, w *groupBuyWorld) {
	ctx := context.Background()
	a := w.activity(t, 5, 2)
	tm, leader := w.openTeam(t, a, false)

	t.Run("open writes the team, the seat, the order, the units", func(t *testing.T) {
		got := w.team(t, tm.ID)
		if got.Status != groupbuy.TeamPending || got.Taken != 1 || got.LeaderID != tm.LeaderID {
			t.Fatalf("team = %+v", got)
		}
		s, err := w.s.SeatByOrder(ctx, leader.OrderID)
		failOn(t, err)
		if !reflect.DeepEqual(s, leader) {
			t.Fatalf("seat = %+v, want %+v", s, leader)
		}
		o, err := w.s.Order(ctx, leader.OrderID)
		failOn(t, err)
		if !o.Held || o.Activity == nil || o.Activity.Ref != tm.ID || o.Lines[0].Amount != 1799 {
			t.Fatalf("order = %+v", o)
		}
		if it := w.item(t, a.ID); it.Sold != 1 {
			t.Fatalf("sold = %d", it.Sold)
		}
		w.wantLevel(t, w.skuID, 1000, 1)
	})

	t.Run("a pending team cannot be joined", func(t *testing.T) {
		_, err := w.join(t, a, tm, ids.New(), 1, 2, 2)
		if !errors.Is(err, groupbuy.ErrTeamNotOpen) {
			t.Fatalf("join a pending team: %v", err)
		}
	})

	open, _ := w.openTeam(t, a, true)
	refused := func(t *testing.T, want error, buyer string, qty, lo, hi int) {
		t.Helper()
		before, level, taken := w.item(t, a.ID), w.online(t, w.skuID), w.team(t, open.ID).Taken
		seat, err := w.join(t, a, open, buyer, qty, lo, hi)
		if !errors.Is(err, want) {
			t.Fatalf("join: %v, want %v", err, want)
		}
		if _, err := w.s.Order(ctx, seat.OrderID); !errs.Is(err, order.ErrNotFound.Code) {
			t.Fatalf("a refused join stored its order: %v", err)
		}
		if _, err := w.s.SeatByOrder(ctx, seat.OrderID); !errs.Is(err, groupbuy.ErrSeatNotFound.Code) {
			t.Fatalf("a refused join stored its seat: %v", err)
		}
		if after := w.item(t, a.ID); after.Sold != before.Sold || w.online(t, w.skuID) != level || w.team(t, open.ID).Taken != taken {
			t.Fatalf("a refused join changed the counts: sold %d -> %d", before.Sold, after.Sold)
		}
	}
	t.Run("refusals write nothing", func(t *testing.T) {
		refused(t, groupbuy.ErrAlreadyInTeam, open.LeaderID, 1, 2, 2)
		refused(t, groupbuy.ErrSizeMoved, ids.New(), 1, 3, 3)
		refused(t, groupbuy.ErrBuyerLimit, ids.New(), 3, 2, 2)
	})

	t.Run("out of stock", func(t *testing.T) {
		scarce := w.sku(t, "Scarce", skuFixture{Spec: "1", List: 2599, Sale: 1999, Stock: 2})
		a := w.activityOf(t, scarce.ID, 10, 3)
		tm, _ := w.openTeam(t, a, true)
		// Priced while a unit was left; the unit sells before the seat is claimed.
		buyer := ids.New()
		d := w.draft(t, a, tm.ID, buyer, 1, 1799)
		w.place(t, ids.New(), order.LineInput{SKUID: scarce.ID, Qty: 1})
		seat := seatOf(tm, buyer, d, false, 1, 1799, w.clock.Now())
		err := w.s.JoinTeam(ctx, seat, groupbuy.Join{Claim: w.claim(a, buyer, 1), TeamID: tm.ID, Now: w.clock.Now(), MinSize: 2, MaxSize: 2}, d)
		if !errs.Is(err, "out_of_stock") {
			t.Fatalf("the last unit sold meanwhile: %v", err)
		}
		if _, err := w.s.SeatByOrder(ctx, seat.OrderID); !errs.Is(err, groupbuy.ErrSeatNotFound.Code) {
			t.Fatalf("a join short of stock stored its seat: %v", err)
		}
		if it := w.item(t, a.ID); it.Sold != 1 || w.team(t, tm.ID).Taken != 1 {
			t.Fatalf("a join short of stock changed the counts: %+v", it)
		}
	})

	t.Run("a join takes a seat", func(t *testing.T) {
		bob := ids.New()
		seat, err := w.join(t, a, open, bob, 2, 2, 2)
		failOn(t, err)
		if got := w.team(t, open.ID); got.Taken != 2 {
			t.Fatalf("taken = %d", got.Taken)
		}
		if it := w.item(t, a.ID); it.Sold != 4 {
			t.Fatalf("sold = %d", it.Sold)
		}
		seats, err := w.s.TeamSeats(ctx, open.ID)
		failOn(t, err)
		if len(seats) != 2 || seats[1].ID != seat.ID || seats[1].BuyerID != bob || seats[1].Qty != 2 {
			t.Fatalf("seats = %+v", seats)
		}
		// bob holds 2 units, his limit: another team is refused too.
		other, _ := w.openTeam(t, a, true)
		if _, err := w.join(t, a, other, bob, 1, 2, 2); !errors.Is(err, groupbuy.ErrBuyerLimit) {
			t.Fatalf("past the limit in another team: %v", err)
		}
	})

	t.Run("the quota and the team size hold", func(t *testing.T) {
		// 5 sold of 5 (two leaders, bob's 2, and the other team's leader).
		refused(t, groupbuy.ErrQuotaExhausted, ids.New(), 1, 3, 3)
		w.clock.Advance(2 * time.Hour)
		refused(t, groupbuy.ErrTeamClosed, ids.New(), 1, 3, 3)
	})
}

func testGroupBuyUpdateTeam(t *testing.T, w *groupBuyWorld) {
	ctx := context.Background()
	a := w.activity(t, 100, 3)
	tm, _ := w.openTeam(t, a, true)
	carol := ids.New()
	_, err := w.join(t, a, tm, carol, 3, 2, 2)
	failOn(t, err)

	t.Run("a no-op writes nothing", func(t *testing.T) {
		before := w.team(t, tm.ID)
		got, err := w.s.UpdateTeam(ctx, tm.ID, func(tm *groupbuy.Team, seats []groupbuy.Seat) (groupbuy.TeamChange, error) {
			tm.Taken = 0
			return groupbuy.TeamChange{}, groupbuy.ErrNoop
		})
		failOn(t, err)
		if !reflect.DeepEqual(got, before) || !reflect.DeepEqual(w.team(t, tm.ID), before) {
			t.Fatalf("no-op: %+v, stored %+v", got, w.team(t, tm.ID))
		}
		if _, err := w.s.UpdateTeam(ctx, ids.New(), nil); !errs.Is(err, groupbuy.ErrTeamNotFound.Code) {
			t.Fatalf("unknown team: %v", err)
		}
	})

	t.Run("a freed seat gives its units back, with events and jobs", func(t *testing.T) {
		now := w.clock.Now()
		ev := outbox.New("groupbuy.test", tm.ID, map[string]string{"x": "y"}, now)
		job := jobs.New("groupbuy.test", tm.ID, now, map[string]string{})
		_, err := w.s.UpdateTeam(ctx, tm.ID, func(tm *groupbuy.Team, seats []groupbuy.Seat) (groupbuy.TeamChange, error) {
			if len(seats) != 2 || seats[1].BuyerID != carol {
				return groupbuy.TeamChange{}, fmt.Errorf("seats %+v", seats)
			}
			seats[1].State, seats[1].EndedAt = groupbuy.SeatReleased, &now
			tm.Taken--
			return groupbuy.TeamChange{Events: []outbox.Event{ev}, Jobs: []jobs.Job{job}}, nil
		})
		failOn(t, err)
		if it := w.item(t, a.ID); it.Sold != 1 {
			t.Fatalf("sold = %d after carol's 3 units came back", it.Sold)
		}
		// carol may now claim her 3 units again.
		if _, err := w.join(t, a, w.team(t, tm.ID), carol, 3, 2, 2); err != nil {
			t.Fatalf("carol's units did not come back: %v", err)
		}
		if w.topics(t, tm.ID)["groupbuy.test"] != 1 || len(w.jobsDue(t, tm.ID, now)) != 1 {
			t.Fatal("the change's event or job is missing")
		}
	})
}

// testGroupBuyRaceLastSeat: many buyers race for a team's last seat;
// exactly one gets it, the rest are told it is full.
func testGroupBuyRaceLastSeat(t *testing.T, w *groupBuyWorld) {
	a := w.activity(t, 1000, 1)
	tm, _ := w.openTeam(t, a, true)
	_, err := w.join(t, a, tm, ids.New(), 1, 2, 2)
	failOn(t, err)
	const racers = 40
	drafts := make([]func() error, racers)
	for i := range drafts {
		buyer := ids.New()
		price := groupbuy.TierPrice(a.Items[0].Tiers, 3)
		d := w.draft(t, a, tm.ID, buyer, 1, price)
		seat := seatOf(tm, buyer, d, false, 1, price, w.clock.Now())
		j := groupbuy.Join{Claim: w.claim(a, buyer, 1), TeamID: tm.ID, Now: w.clock.Now(), MinSize: 3, MaxSize: 3}
		drafts[i] = func() error { return w.s.JoinTeam(context.Background(), seat, j, d) }
	}
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range drafts {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = drafts[i]() }()
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, groupbuy.ErrTeamFull):
			t.Errorf("a racer got %v, want team_full", err)
		}
	}
	if got := w.team(t, tm.ID); won != 1 || got.Taken != 3 {
		t.Fatalf("%d racers won; taken %d of 3", won, got.Taken)
	}
	if it := w.item(t, a.ID); it.Sold != 3 {
		t.Fatalf("sold = %d, want 3", it.Sold)
	}
}

// testGroupBuyRaceQuota: more buyers than the quota open teams at once;
// the quota is sold exactly, never past.
func testGroupBuyRaceQuota(t *testing.T, w *groupBuyWorld) {
	const quota, racers = 7, 30
	a := w.activity(t, quota, 1)
	var wg sync.WaitGroup
	results := make(chan error, racers)
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			now := w.clock.Now()
			tm := &groupbuy.Team{ID: ids.New(), ActivityID: a.ID, SKUID: a.Items[0].SKUID, LeaderID: ids.New(), Status: groupbuy.TeamPending,
				Capacity: 3, Taken: 1, CreatedAt: now, UpdatedAt: now}
			d := w.draft(t, a, tm.ID, tm.LeaderID, 1, 1799)
			results <- w.s.OpenTeam(context.Background(), tm, seatOf(tm, tm.LeaderID, d, true, 1, 1799, now), w.claim(a, tm.LeaderID, 1), d)
		}()
	}
	wg.Wait()
	close(results)
	opened := 0
	for err := range results {
		switch {
		case err == nil:
			opened++
		case !errors.Is(err, groupbuy.ErrQuotaExhausted):
			t.Errorf("an opener got %v, want quota_exhausted", err)
		}
	}
	if it := w.item(t, a.ID); opened != quota || it.Sold != quota {
		t.Fatalf("%d teams opened, sold %d; quota %d", opened, it.Sold, quota)
	}
	w.wantLevel(t, w.skuID, 1000, quota)
}

func testGroupBuyTeams(t *testing.T, w *groupBuyWorld) {
	ctx := context.Background()
	a := w.activity(t, 100, 1)
	pending, _ := w.openTeam(t, a, false)
	var open []*groupbuy.Team
	for range 3 {
		w.clock.Advance(time.Second)
		tm, _ := w.openTeam(t, a, true)
		open = append(open, tm)
	}
	full := open[0]
	for range 2 {
		_, err := w.join(t, a, w.team(t, full.ID), ids.New(), 1, 2, 3)
		failOn(t, err)
	}
	list := func(f groupbuy.TeamFilter) []string {
		t.Helper()
		var out []string
		for {
			page, err := w.s.Teams(ctx, f)
			failOn(t, err)
			for _, tm := range page.Teams {
				out = append(out, tm.ID)
			}
			if page.NextCursor == "" {
				return out
			}
			f.Cursor = page.NextCursor
		}
	}
	if got := list(groupbuy.TeamFilter{ActivityID: a.ID, Limit: 1}); len(got) != 4 || got[3] != pending.ID {
		t.Fatalf("all teams = %v", got)
	}
	if got := list(groupbuy.TeamFilter{ActivityID: a.ID, Status: groupbuy.TeamPending}); !reflect.DeepEqual(got, []string{pending.ID}) {
		t.Fatalf("pending = %v", got)
	}
	now := w.clock.Now()
	if got := list(groupbuy.TeamFilter{ActivityID: a.ID, Joinable: true, Now: now, Limit: 2}); !reflect.DeepEqual(got, []string{open[2].ID, open[1].ID}) {
		t.Fatalf("joinable = %v (the full and the pending team are not)", got)
	}
	if got := list(groupbuy.TeamFilter{ActivityID: a.ID, Joinable: true, Now: now.Add(2 * time.Hour)}); len(got) != 0 {
		t.Fatalf("joinable after their time = %v", got)
	}
	if got := list(groupbuy.TeamFilter{ActivityID: ids.New()}); len(got) != 0 {
		t.Fatalf("another activity's teams = %v", got)
	}
	if _, err := w.s.Teams(ctx, groupbuy.TeamFilter{ActivityID: a.ID, Cursor: "forged"}); !errs.Is(err, "invalid_cursor") {
		t.Fatalf("forged cursor: %v", err)
	}
	for _, id := range []string{ids.New(), "x"} {
		if _, err := w.s.Team(ctx, id); !errs.Is(err, groupbuy.ErrTeamNotFound.Code) {
			t.Fatalf("Team(%s) = %v", id, err)
		}
		if _, err := w.s.SeatByOrder(ctx, id); !errs.Is(err, groupbuy.ErrSeatNotFound.Code) {
			t.Fatalf("SeatByOrder(%s) = %v", id, err)
		}
	}
}

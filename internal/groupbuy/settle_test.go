package groupbuy

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// teamOf3 is an activity with teams of 3 (tiers 2: 1799, 3: 1599) and an
// open team whose leader and first member paid 1799 each, and a third
// seat reserved at 1599.
func teamOf3(leader Leader) (*Activity, *Team, []Seat) {
	a := &Activity{ID: ids.New(), TeamSize: 3, TeamHours: 24, EndsAt: t0.Add(72 * time.Hour), Leader: leader,
		Items: []Item{{SKUID: "sku", Quota: 10, Tiers: []Tier{{2, 1799}, {3, 1599}}}}}
	exp := t0.Add(24 * time.Hour)
	t := &Team{ID: ids.New(), ActivityID: a.ID, SKUID: "sku", Status: TeamOpen, Capacity: 3, Taken: 3, Paid: 2, ExpiresAt: &exp}
	entry := a.LeaderEntry(&a.Items[0])
	seats := []Seat{
		{ID: ids.New(), OrderID: ids.New(), Leader: true, Qty: 1, UnitPrice: entry, Amount: entry, State: SeatPaid},
		{ID: ids.New(), OrderID: ids.New(), Qty: 2, UnitPrice: 1799, Amount: 3598, State: SeatPaid},
		{ID: ids.New(), OrderID: ids.New(), Qty: 1, UnitPrice: 1599, Amount: 1599, State: SeatReserved},
	}
	return a, t, seats
}

// adjustments are the settle jobs' amounts by order, and the refund jobs.
func jobsByKind(t *testing.T, js []jobs.Job) (settle map[string]money.Fen, refunds []string, expire int) {
	t.Helper()
	settle = map[string]money.Fen{}
	for _, j := range js {
		var p seatPayload
		switch j.Kind {
		case JobSettle:
			if err := json.Unmarshal(j.Payload, &p); err != nil {
				t.Fatal(err)
			}
			settle[p.OrderID] = p.Adjust
		case JobRefund:
			refunds = append(refunds, j.Key)
		case JobExpire:
			expire++
		}
	}
	return settle, refunds, expire
}

func TestTheLastPaymentFillsTheTeam(t *testing.T) {
	for _, c := range []struct {
		leader       Leader
		leaderAdjust money.Fen
	}{
		{Leader{Kind: LeaderNone}, 200},  // paid the 2-person tier, the team ended at 3
		{Leader{LeaderPrice, 1200}, 0},   // paid the leader price at once
		{Leader{Kind: LeaderFree}, 1799}, // gets the goods' price back
	} {
		t.Run(string(c.leader.Kind), func(t *testing.T) {
			a, tm, seats := teamOf3(c.leader)
			paidAt := t0.Add(time.Hour)
			ch, err := seatPaid(a, tm, seats, &seats[2], paidAt, paidAt)
			if err != nil {
				t.Fatal(err)
			}
			if tm.Status != TeamSucceeded || tm.Paid != 3 || tm.FinalSize != 3 || tm.FinalPrice != 1599 {
				t.Fatalf("team = %+v", tm)
			}
			settle, refunds, _ := jobsByKind(t, ch.Jobs)
			want := map[string]money.Fen{seats[0].OrderID: c.leaderAdjust, seats[1].OrderID: 400, seats[2].OrderID: 0}
			if len(settle) != 3 || len(refunds) != 0 {
				t.Fatalf("jobs = %v, refunds %v", settle, refunds)
			}
			for id, w := range want {
				if settle[id] != w {
					t.Errorf("adjust of %s = %s, want %s", id, settle[id], w)
				}
			}
			if len(ch.Events) != 1 || ch.Events[0].Topic != TopicTeamSucceeded {
				t.Fatalf("events = %+v", ch.Events)
			}
			if _, err := seatPaid(a, tm, seats, &seats[2], paidAt, paidAt); !errors.Is(err, ErrNoop) {
				t.Fatalf("the same payment again: %v", err)
			}
		})
	}
}

func TestTheLeaderOpensTheTeam(t *testing.T) {
	a, _, _ := teamOf3(Leader{Kind: LeaderNone})
	tm := &Team{ID: ids.New(), SKUID: "sku", Status: TeamPending, Capacity: 3, Taken: 1}
	seats := []Seat{{ID: ids.New(), OrderID: ids.New(), Leader: true, Qty: 1, State: SeatReserved}}
	paidAt := a.EndsAt.Add(-2 * time.Hour) // the window is cut at the activity's end
	ch, err := seatPaid(a, tm, seats, &seats[0], paidAt, paidAt.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if tm.Status != TeamOpen || tm.Paid != 1 || !tm.ExpiresAt.Equal(a.EndsAt) {
		t.Fatalf("team = %+v", tm)
	}
	if _, _, expire := jobsByKind(t, ch.Jobs); expire != 1 || ch.Jobs[0].RunAt != a.EndsAt || ch.Events[0].Topic != TopicTeamOpened {
		t.Fatalf("jobs %+v events %+v", ch.Jobs, ch.Events)
	}

	t.Run("a leader who never pays cancels the team", func(t *testing.T) {
		tm := &Team{Status: TeamPending, Capacity: 3, Taken: 1}
		st := Seat{Leader: true, State: SeatReserved}
		if _, err := seatReleased(tm, &st, t0); err != nil || tm.Status != TeamCancelled || tm.Taken != 0 || st.State != SeatReleased {
			t.Fatalf("team %+v seat %+v err %v", tm, st, err)
		}
		if _, err := seatReleased(tm, &st, t0); !errors.Is(err, ErrNoop) {
			t.Fatalf("released twice: %v", err)
		}
	})
}

func TestPaymentsTooLate(t *testing.T) {
	t.Run("after the deadline", func(t *testing.T) {
		a, tm, seats := teamOf3(Leader{Kind: LeaderNone})
		late := tm.ExpiresAt.Add(time.Second)
		ch, err := seatPaid(a, tm, seats, &seats[2], late, late)
		if err != nil {
			t.Fatal(err)
		}
		_, refunds, _ := jobsByKind(t, ch.Jobs)
		if tm.Status != TeamOpen || tm.Taken != 2 || tm.Paid != 2 || seats[2].State != SeatRefunded || len(refunds) != 1 {
			t.Fatalf("team %+v seat %+v refunds %v", tm, seats[2], refunds)
		}
	})
	t.Run("after the team ended, or its order was released", func(t *testing.T) {
		for _, st := range []SeatState{SeatReserved, SeatReleased} {
			a, tm, seats := teamOf3(Leader{Kind: LeaderNone})
			tm.Status, seats[2].State = TeamFailed, st
			ch, err := seatPaid(a, tm, seats, &seats[2], t0, t0)
			if _, refunds, _ := jobsByKind(t, ch.Jobs); err != nil || len(refunds) != 1 || seats[2].State != SeatRefunded {
				t.Fatalf("%s: refunds %v, seat %+v, %v", st, refunds, seats[2], err)
			}
		}
	})
}

func TestExpired(t *testing.T) {
	paidOrder := func(at time.Time) *order.Order { return &order.Order{Status: order.Paid, PaidAt: &at} }

	t.Run("below the threshold every paid seat is refunded", func(t *testing.T) {
		a, tm, seats := teamOf3(Leader{Kind: LeaderNone})
		now := tm.ExpiresAt.Add(time.Minute)
		closed := map[string]*order.Order{seats[2].OrderID: {Status: order.Closed}}
		ch, err := expired(a, tm, seats, closed, now)
		if err != nil {
			t.Fatal(err)
		}
		_, refunds, _ := jobsByKind(t, ch.Jobs)
		if tm.Status != TeamFailed || tm.Taken != 2 || len(refunds) != 2 || seats[2].State != SeatReleased ||
			seats[0].State != SeatRefunded || ch.Events[0].Topic != TopicTeamFailed {
			t.Fatalf("team %+v refunds %v seats %+v", tm, refunds, seats)
		}
	})
	t.Run("at the threshold it succeeds at the tier it reached", func(t *testing.T) {
		a, tm, seats := teamOf3(Leader{Kind: LeaderNone})
		a.SuccessThreshold = 2
		ch, err := expired(a, tm, seats, map[string]*order.Order{seats[2].OrderID: {Status: order.Cancelled}}, tm.ExpiresAt.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		settle, refunds, _ := jobsByKind(t, ch.Jobs)
		if tm.Status != TeamSucceeded || tm.FinalSize != 2 || tm.FinalPrice != 1799 || len(settle) != 2 || len(refunds) != 0 ||
			settle[seats[0].OrderID] != 0 || settle[seats[1].OrderID] != 0 {
			t.Fatalf("team %+v settle %v refunds %v", tm, settle, refunds)
		}
	})
	t.Run("a payment made in time counts, though its callback came late", func(t *testing.T) {
		a, tm, seats := teamOf3(Leader{Kind: LeaderNone})
		_, err := expired(a, tm, seats, map[string]*order.Order{seats[2].OrderID: paidOrder(tm.ExpiresAt.Add(-time.Second))}, tm.ExpiresAt.Add(time.Hour))
		if err != nil || tm.Status != TeamSucceeded || tm.FinalPrice != 1599 {
			t.Fatalf("team %+v, %v", tm, err)
		}
	})
	t.Run("a payment after the deadline is given back", func(t *testing.T) {
		a, tm, seats := teamOf3(Leader{Kind: LeaderNone})
		ch, err := expired(a, tm, seats, map[string]*order.Order{seats[2].OrderID: paidOrder(tm.ExpiresAt.Add(time.Second))}, tm.ExpiresAt.Add(time.Hour))
		_, refunds, _ := jobsByKind(t, ch.Jobs)
		if err != nil || tm.Status != TeamFailed || len(refunds) != 3 {
			t.Fatalf("team %+v refunds %v, %v", tm, refunds, err)
		}
	})
	t.Run("an order not settled yet waits", func(t *testing.T) {
		a, tm, seats := teamOf3(Leader{Kind: LeaderNone})
		if _, err := expired(a, tm, seats, map[string]*order.Order{seats[2].OrderID: {Status: order.PendingPayment}}, t0); !errors.Is(err, errUnsettled) {
			t.Fatalf("pending order: %v", err)
		}
		tm.Status = TeamSucceeded
		if _, err := expired(a, tm, seats, nil, t0); !errors.Is(err, ErrNoop) {
			t.Fatalf("an ended team: %v", err)
		}
	})
}

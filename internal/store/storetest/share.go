package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/share"
)

func init() { register("share", testShare) }

func testShare(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2031, 5, 1, 9, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	newShare := func(t *testing.T, sharer, activity string, parent *share.Share, min int) *share.Share {
		t.Helper()
		sh := &share.Share{ID: ids.New(), SharerID: sharer, TargetKind: share.Product, TargetID: ids.New(),
			ActivityID: activity, Depth: 1, CreatedAt: at(min)}
		if parent != nil {
			sh.TargetID, sh.Depth, sh.ParentID = parent.TargetID, parent.Depth+1, parent.ID
		}
		failOn(t, s.CreateShare(ctx, sh))
		return sh
	}
	visit := func(t *testing.T, sh *share.Share, visitor string, min int) share.Visit {
		t.Helper()
		v := share.Visit{ID: ids.New(), ShareID: sh.ID, VisitorID: visitor, Scene: share.ShareCard,
			Own: visitor == sh.SharerID, At: at(min)}
		failOn(t, s.AddShareVisit(ctx, &v))
		return v
	}

	t.Run("shares read back as written", func(t *testing.T) {
		root := newShare(t, ids.New(), "", nil, 0)
		child := newShare(t, ids.New(), ids.New(), root, 1)
		for _, want := range []*share.Share{root, child} {
			got, err := s.ShareByID(ctx, want.ID)
			failOn(t, err)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ShareByID = %+v, want %+v", got, want)
			}
		}
		for _, id := range []string{ids.New(), "not-an-id"} {
			if _, err := s.ShareByID(ctx, id); !errs.Is(err, "share_not_found") {
				t.Fatalf("ShareByID(%s) = %v, want share_not_found", id, err)
			}
		}
	})

	t.Run("touches: others' shares in the window, newest first", func(t *testing.T) {
		sharer, visitor := ids.New(), ids.New()
		a, b := newShare(t, sharer, "", nil, 0), newShare(t, visitor, "", nil, 0)
		v1 := visit(t, a, visitor, 10)
		visit(t, b, visitor, 20) // their own: never a touch
		v3 := visit(t, a, visitor, 30)
		visit(t, a, visitor, 50) // after the window
		got, err := s.ShareTouches(ctx, visitor, at(10), at(40))
		failOn(t, err)
		if len(got) != 2 || got[0].Visit != v3 || got[1].Visit != v1 || !reflect.DeepEqual(got[0].Share, *a) {
			t.Fatalf("touches = %+v; want visits %v, %v of %+v", got, v3.ID, v1.ID, a)
		}
		for _, c := range []struct {
			who, share string
			want       bool
		}{{visitor, a.ID, true}, {visitor, b.ID, true}, {sharer, a.ID, false}, {ids.New(), a.ID, false}} {
			ok, err := s.ShareVisited(ctx, c.who, c.share)
			failOn(t, err)
			if ok != c.want {
				t.Errorf("ShareVisited(%s, %s) = %v, want %v", c.who, c.share, ok, c.want)
			}
		}
	})

	t.Run("a visitor's recent visits, newest first, limited", func(t *testing.T) {
		visitor := ids.New()
		a := newShare(t, ids.New(), "", nil, 0)
		visit(t, a, visitor, 1) // at since: not after it
		v2 := visit(t, a, visitor, 2)
		v3 := visit(t, a, visitor, 3)
		v4 := visit(t, a, visitor, 4)
		visit(t, a, ids.New(), 5) // someone else's
		got, err := s.ShareVisitsSince(ctx, visitor, at(1), 10)
		failOn(t, err)
		if !reflect.DeepEqual(got, []share.Visit{v4, v3, v2}) {
			t.Fatalf("ShareVisitsSince = %+v; want the visits at 4, 3, 2", got)
		}
		got, err = s.ShareVisitsSince(ctx, visitor, at(0), 2)
		failOn(t, err)
		if len(got) != 2 || got[0] != v4 || got[1] != v3 {
			t.Fatalf("ShareVisitsSince limited to 2 = %+v", got)
		}
		if got, err := s.ShareVisitsSince(ctx, "not-an-id", at(0), 2); err != nil || len(got) != 0 {
			t.Fatalf("ShareVisitsSince of a bad id = %+v, %v", got, err)
		}
	})

	t.Run("a visit keeps the device it was made on", func(t *testing.T) {
		visitor := ids.New()
		sh := newShare(t, ids.New(), "", nil, 0)
		v := share.Visit{ID: ids.New(), ShareID: sh.ID, VisitorID: visitor, DeviceID: "dev-Ab1_:x", Scene: share.QRScan, At: at(1)}
		failOn(t, s.AddShareVisit(ctx, &v))
		none := visit(t, sh, visitor, 2) // no device named
		got, err := s.ShareVisitsSince(ctx, visitor, at(0), 10)
		failOn(t, err)
		if !reflect.DeepEqual(got, []share.Visit{none, v}) {
			t.Fatalf("ShareVisitsSince = %+v; want %+v then %+v", got, none, v)
		}
		touches, err := s.ShareTouches(ctx, visitor, at(0), at(10))
		failOn(t, err)
		if len(touches) != 2 || touches[0].Visit != none || touches[1].Visit != v {
			t.Fatalf("touches = %+v; want the visits %+v, %+v", touches, none, v)
		}
	})

	t.Run("one order, one credit", func(t *testing.T) {
		sh := newShare(t, ids.New(), "", nil, 0)
		c := share.Credit{OrderID: ids.New(), ShareID: sh.ID, SharerID: sh.SharerID, BuyerID: ids.New(),
			Amount: 2999, NewBuyer: true, Chain: []string{sh.ID}, Scene: share.Article, At: at(5)}
		if _, err := s.ShareCredit(ctx, c.OrderID); !errs.Is(err, "share_credit_not_found") {
			t.Fatalf("ShareCredit before = %v", err)
		}
		added, err := s.AddShareCredit(ctx, &c)
		failOn(t, err)
		again := c
		again.Amount, again.NewBuyer = 1, false
		dup, err := s.AddShareCredit(ctx, &again)
		failOn(t, err)
		if !added || dup {
			t.Fatalf("AddShareCredit = %v then %v; want true then false", added, dup)
		}
		got, err := s.ShareCredit(ctx, c.OrderID)
		failOn(t, err)
		if !reflect.DeepEqual(*got, c) {
			t.Fatalf("ShareCredit = %+v, want the first %+v", got, c)
		}
	})

	t.Run("stats count per activity and per sharer", func(t *testing.T) {
		// A store of its own: the counts cover everything in it.
		s := open(t)
		mk := func(sharer, activity string, min int) *share.Share {
			sh := &share.Share{ID: ids.New(), SharerID: sharer, TargetKind: share.Team, TargetID: ids.New(),
				ActivityID: activity, Depth: 1, CreatedAt: at(min)}
			failOn(t, s.CreateShare(ctx, sh))
			return sh
		}
		see := func(sh *share.Share, visitor string, min int, scene ...share.Scene) {
			sc := share.QRScan
			if len(scene) > 0 {
				sc = scene[0]
			}
			failOn(t, s.AddShareVisit(ctx, &share.Visit{ID: ids.New(), ShareID: sh.ID, VisitorID: visitor,
				Scene: sc, Own: visitor == sh.SharerID, At: at(min)}))
		}
		credit := func(sh *share.Share, buyer string, amount money.Fen, isNew bool, min int, scene share.Scene) {
			_, err := s.AddShareCredit(ctx, &share.Credit{OrderID: ids.New(), ShareID: sh.ID, SharerID: sh.SharerID,
				BuyerID: buyer, Amount: amount, NewBuyer: isNew, Chain: []string{sh.ID}, Scene: scene, At: at(min)})
			failOn(t, err)
		}
		act := ids.New()
		ann, ben, x, y := ids.New(), ids.New(), ids.New(), ids.New()
		a1, a2, b1 := mk(ann, act, 0), mk(ann, act, 1), mk(ben, act, 2)
		none := mk(ben, "", 3)
		see(a1, x, 10)
		see(a1, x, 11)
		see(a2, y, 12)
		see(a1, ann, 13) // ann's own: active, not a visit
		see(b1, y, 14, share.ShareCard)
		see(none, x, 15)
		credit(a1, x, 1000, true, 20, share.QRScan)
		credit(b1, y, 500, true, 21, share.ShareCard)
		credit(a2, y, 300, false, 22, share.QRScan)
		credit(b1, x, 7, false, 200, share.QRScan) // after To
		got, err := s.ShareStats(ctx, share.StatsFilter{From: at(0), To: at(100), Limit: 10})
		failOn(t, err)
		want := share.RawStats{
			Activities: []share.ActivityCounts{
				{ActivityID: "", Counts: share.Counts{Sharers: 1, Shares: 1, Visits: 1, UniqueVisitors: 1, ActiveBuyers: 2}},
				{ActivityID: act, Counts: share.Counts{Sharers: 2, Shares: 3, Visits: 4, UniqueVisitors: 2, ActiveBuyers: 4,
					NewBuyers: 2, Orders: 3, GMV: 1800}},
			},
			Sharers: []share.SharerCounts{
				{SharerID: ann, Counts: share.Counts{Sharers: 1, Shares: 2, Visits: 3, UniqueVisitors: 2, ActiveBuyers: 3,
					NewBuyers: 1, Orders: 2, GMV: 1300}},
				{SharerID: ben, Counts: share.Counts{Sharers: 1, Shares: 2, Visits: 2, UniqueVisitors: 2, ActiveBuyers: 3,
					NewBuyers: 1, Orders: 1, GMV: 500}},
			},
			// By entry scene: a visit under its own scene, an order under
			// the scene of the visit that won it.
			Scenes: []share.SceneCounts{
				{Scene: share.QRScan, Counts: share.Counts{Visits: 4, UniqueVisitors: 2, ActiveBuyers: 2, NewBuyers: 1, Orders: 2, GMV: 1300}},
				{Scene: share.ShareCard, Counts: share.Counts{Visits: 1, UniqueVisitors: 1, ActiveBuyers: 1, NewBuyers: 1, Orders: 1, GMV: 500}},
			},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ShareStats =\n%+v\nwant\n%+v", got, want)
		}
		got, err = s.ShareStats(ctx, share.StatsFilter{ActivityID: act, From: at(0), To: at(100), Limit: 1})
		failOn(t, err)
		if len(got.Activities) != 1 || got.Activities[0] != want.Activities[1] || len(got.Sharers) != 1 || got.Sharers[0].SharerID != ann {
			t.Fatalf("ShareStats of one activity, one sharer = %+v", got)
		}
	})
}

package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/campaign"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/points"
)

func init() { register("campaign", testCampaign) }

// testCampaign runs the campaign service over the engine with the real
// consent, coupon and points services: review rules, the consent gate, the
// recorded holdout, the frequency cap, the budget, and reruns.
func testCampaign(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	// Monday 2026-11-23 09:00 Shanghai.
	clk := clock.NewFake(time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC))
	cons := &consent.Service{Store: s, Clock: clk}
	cps := &coupon.Service{Store: s, Clock: clk}
	pts := &points.Service{Store: s, Book: s, Clock: clk}
	svc := &campaign.Service{Store: s, Consent: cons, Coupons: cps, Points: pts, Audit: s, Clock: clk, BatchSize: 7}
	author, reviewer := ids.New(), ids.New()

	// 40 members; all consent but the first 5 (never) and the next 5
	// (withdrawn).
	var buyers []string
	for range 40 {
		b, err := s.UpsertBuyer(ctx, "openid-campaign-"+ids.Token(8), "", "", clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		buyers = append(buyers, b.ID)
	}
	for i, b := range buyers {
		if i < 5 {
			continue
		}
		if _, err := cons.Grant(ctx, b, consent.PersonalisedMarketing, 1); err != nil {
			t.Fatal(err)
		}
		if i < 10 {
			if _, err := cons.Withdraw(ctx, b, consent.PersonalisedMarketing); err != nil {
				t.Fatal(err)
			}
		}
	}
	now := clk.Now()
	seg := &crm.Segment{ID: ids.New(), Name: "campaign test", Expr: "orders >= 0", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateSegment(ctx, seg); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceSegmentMembers(ctx, seg, buyers); err != nil {
		t.Fatal(err)
	}
	tpl := &coupon.Template{ID: ids.New(), Terms: coupon.Terms{Name: "回归券", Kind: coupon.Fixed, Off: 500, Scope: coupon.All, ScopeIDs: []string{}},
		ValidDays: 7, PerBuyer: 1, Quantity: 1000, Mode: coupon.Recall, Status: coupon.Active, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateCouponTemplate(ctx, tpl); err != nil {
		t.Fatal(err)
	}
	draft := func(t *testing.T, startsAt time.Time, change func(*campaign.NewCampaign)) *campaign.Campaign {
		t.Helper()
		in := campaign.NewCampaign{Name: "冬季回归", SegmentID: seg.ID, StartsAt: startsAt, HoldoutBP: 2000,
			Actions: []campaign.Action{{Kind: campaign.IssueCoupon, TemplateID: tpl.ID}, {Kind: campaign.GrantPoints, Points: 10}}}
		if change != nil {
			change(&in)
		}
		c, err := svc.Create(ctx, author, in)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	friday := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)   // Mon -> Fri: Tue, Wed, Thu
	thursday := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC) // Tue, Wed: too late

	t.Run("banned words are refused with the words", func(t *testing.T) {
		_, err := svc.Create(ctx, author, campaign.NewCampaign{Name: "全网最低 特效 根治", SegmentID: seg.ID, StartsAt: friday,
			Actions: []campaign.Action{{Kind: campaign.GrantPoints, Points: 1}}})
		fs := errs.Fields(err)
		if len(fs) != 1 || fs[0].Code != "campaign_banned_words" || !strings.Contains(fs[0].Message, "最, 根治, 特效") {
			t.Fatalf("err = %v (%+v)", err, fs)
		}
	})

	t.Run("a submission less than 3 working days ahead is refused", func(t *testing.T) {
		c := draft(t, thursday, nil)
		if _, err := svc.Submit(ctx, author, c.ID); err != campaign.ErrTooLate {
			t.Fatalf("err = %v", err)
		}
		holiday := draft(t, friday, nil)
		svc.Calendar = campaign.Calendar{Holidays: map[string]bool{"2026-11-25": true}}
		defer func() { svc.Calendar = campaign.Calendar{} }()
		if _, err := svc.Submit(ctx, author, holiday.ID); err != campaign.ErrTooLate {
			t.Fatalf("a holiday counted as a working day: %v", err)
		}
	})

	var c *campaign.Campaign
	t.Run("the author cannot approve; another reviewer can", func(t *testing.T) {
		c = draft(t, friday, nil)
		if _, err := svc.Run(ctx, author, c.ID, false); err != campaign.ErrStatus {
			t.Fatalf("a draft ran: %v", err)
		}
		if _, err := svc.Submit(ctx, author, c.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Review(ctx, author, c.ID, true, ""); err != campaign.ErrOwnReview {
			t.Fatalf("err = %v", err)
		}
		got, err := svc.Review(ctx, reviewer, c.ID, true, "ok")
		if err != nil || got.Status != campaign.Scheduled || got.ReviewerID != reviewer {
			t.Fatalf("review = %+v, %v", got, err)
		}
		if _, err := svc.Review(ctx, reviewer, c.ID, true, ""); err != campaign.ErrStatus {
			t.Fatalf("reviewed twice: %v", err)
		}
		if _, err := svc.Run(ctx, author, c.ID, false); err != campaign.ErrNotStarted {
			t.Fatalf("ran before its start: %v", err)
		}
	})

	var first *campaign.Result
	t.Run("a run excludes opted-out buyers and records its holdout", func(t *testing.T) {
		dry, err := svc.Run(ctx, author, c.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(friday.Sub(clk.Now()))
		first, err = svc.Run(ctx, author, c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if first.Members != 40 || first.Excluded[campaign.ExcludedNoConsent] != 10 || first.Holdout+first.Treated != 30 {
			t.Fatalf("result = %+v", first)
		}
		if first.Holdout == 0 || first.Coupons != first.Treated || first.Points != int64(10*first.Treated) {
			t.Fatalf("result = %+v", first)
		}
		if dry.Treated != first.Treated || dry.Holdout != first.Holdout || len(dry.Sample) == 0 || strings.Contains(dry.Sample[0].Buyer, buyers[0][4:20]) {
			t.Fatalf("dry run = %+v, run = %+v", dry, first)
		}
		if first.TotalHoldout != first.Holdout || first.TotalTreated != first.Treated {
			t.Fatalf("totals = %+v", first)
		}
		for _, b := range buyers[:10] {
			if campaign.InHoldout(c.ID, b, 2000) {
				continue
			}
			page, err := cps.Coupons(ctx, coupon.CouponFilter{BuyerID: b, Now: clk.Now()})
			if err != nil || len(page.Coupons) != 0 {
				t.Fatalf("an opted-out buyer got a coupon: %v %v", page, err)
			}
		}
		got, _ := svc.Get(ctx, c.ID)
		if got.Status != campaign.Finished || got.Result == nil {
			t.Fatalf("campaign = %+v", got)
		}
	})

	t.Run("reruns, two at once, give nothing twice", func(t *testing.T) {
		var wg sync.WaitGroup
		res := make([]*campaign.Result, 2)
		errc := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); res[i], errc[i] = svc.Run(ctx, author, c.ID, false) }()
		}
		wg.Wait()
		for i := range 2 {
			if errc[i] != nil {
				t.Fatal(errc[i])
			}
			if res[i].Treated != 0 || res[i].Coupons != 0 || res[i].Points != 0 || res[i].Already != first.Treated {
				t.Fatalf("rerun %d = %+v", i, res[i])
			}
		}
		n := 0
		for _, b := range buyers {
			page, err := cps.Coupons(ctx, coupon.CouponFilter{BuyerID: b, Now: clk.Now()})
			if err != nil {
				t.Fatal(err)
			}
			n += len(page.Coupons)
		}
		if n != first.Treated {
			t.Fatalf("%d coupons for %d treated buyers", n, first.Treated)
		}
	})

	t.Run("the frequency cap and the budget stop a second campaign", func(t *testing.T) {
		clk.Advance(time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC).Sub(clk.Now())) // Monday
		c2 := draft(t, time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC), func(in *campaign.NewCampaign) {
			in.Name, in.FrequencyCap, in.FrequencyDays, in.Budget, in.HoldoutBP = "第二波", 1, 7, 3, 0
			in.Actions = []campaign.Action{{Kind: campaign.GrantPoints, Points: 5}}
		})
		if _, err := svc.Submit(ctx, author, c2.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Review(ctx, reviewer, c2.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC).Sub(clk.Now()))
		r, err := svc.Run(ctx, author, c2.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		// 30 consenting: first.Treated treated 7 days ago (capped), the
		// rest go up to the budget of 3.
		// The holdout is drawn from random ids, so the rest may be fewer
		// than the budget.
		rest := 30 - first.Treated
		if r.Excluded[campaign.ExcludedFrequencyCap] != first.Treated || r.Treated != min(3, rest) || r.Excluded[campaign.ExcludedBudget] != max(rest-3, 0) {
			t.Fatalf("result = %+v (first treated %d)", r, first.Treated)
		}
	})

	t.Run("a message goes only to buyers who consented to messages, once, into the outbox", func(t *testing.T) {
		for _, b := range buyers[10:20] {
			if _, err := cons.Grant(ctx, b, consent.SubscriptionMessages, 1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := svc.Create(ctx, author, campaign.NewCampaign{Name: "消息", SegmentID: seg.ID, StartsAt: clk.Now(),
			Actions: []campaign.Action{{Kind: campaign.SendMessage, Text: "第一品牌，特效"}}}); len(errs.Fields(err)) != 1 {
			t.Fatalf("banned words in a message: %v", err)
		}
		start := clk.Now().Add(7 * 24 * time.Hour)
		c3 := draft(t, start, func(in *campaign.NewCampaign) {
			in.Name, in.HoldoutBP = "消息", 0
			in.Actions = []campaign.Action{{Kind: campaign.SendMessage, Text: "您的会员礼已到账"}}
		})
		if _, err := svc.Submit(ctx, author, c3.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Review(ctx, reviewer, c3.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		clk.Advance(start.Sub(clk.Now()))
		for range 2 {
			r, err := svc.Run(ctx, author, c3.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if r.Excluded[campaign.ExcludedNoConsent] != 10 || r.Excluded[campaign.ExcludedNoMessages] != 20 || r.Treated+r.Already != 10 || r.Messages != r.Treated {
				t.Fatalf("result = %+v", r)
			}
		}
		ms, err := svc.Messages(ctx, c3.ID)
		if err != nil || len(ms) != 10 || ms[0].Text != "您的会员礼已到账" {
			t.Fatalf("outbox = %+v, %v", ms, err)
		}
	})

	t.Run("every step is in the audit log", func(t *testing.T) {
		page, err := s.AuditEntries(ctx, audit.Filter{ActorID: author, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, e := range page.Entries {
			seen[e.Action] = true
		}
		for _, a := range []string{"campaign.create", "campaign.submit", "campaign.start", "campaign.finish"} {
			if !seen[a] {
				t.Fatalf("no %s in %v", a, seen)
			}
		}
	})
}

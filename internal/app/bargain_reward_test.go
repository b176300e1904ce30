package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
)

// replayStore hands a dispatcher the events it was given, once: a second
// delivery of events already delivered, as after a crash.
type replayStore struct {
	mu     sync.Mutex
	events []outbox.Event
}

func (r *replayStore) Publish(context.Context, ...outbox.Event) error { return nil }

func (r *replayStore) ClaimEvents(context.Context, time.Time, time.Duration, int) ([]outbox.Event, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events
	r.events = nil
	return evs, nil
}

func (r *replayStore) MarkDelivered(context.Context, []string, time.Time) error { return nil }

func (s *bargainShop) rewardTemplate(t *testing.T, change func(*coupon.NewTemplate)) *coupon.Template {
	t.Helper()
	in := coupon.NewTemplate{Terms: coupon.Terms{Name: "帮砍红包", Kind: coupon.Fixed, Off: 500, Scope: coupon.All},
		ValidDays: 7, PerBuyer: 10, Quantity: 100, Mode: coupon.Recall}
	if change != nil {
		change(&in)
	}
	tpl, err := s.app.Coupons.CreateTemplate(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

func (s *bargainShop) couponsOf(t *testing.T, buyerID string) []coupon.Coupon {
	t.Helper()
	p, err := s.app.Coupons.Coupons(context.Background(), coupon.CouponFilter{BuyerID: buyerID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return p.Coupons
}

func TestBargainRewardCoupon(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newBargainShop(t, engine, nil)
			ctx := context.Background()
			people := s.buyers(t, 6)
			s.app.Clock.Advance(8 * 24 * time.Hour)
			tpl := s.rewardTemplate(t, nil)

			// Every bargain.helped event delivered, kept for a replay.
			replay := &replayStore{}
			s.app.Events.On(bargain.TopicHelped, func(_ context.Context, e outbox.Event) error {
				replay.mu.Lock()
				defer replay.mu.Unlock()
				replay.events = append(replay.events, e)
				return nil
			})

			act := s.activity(t, func(in *bargain.ActivityInput) {
				in.Reward = &bargain.Reward{CouponTemplateID: tpl.ID}
			})
			if r := act.Reward; r == nil || r.Value != 500 || r.Description != tpl.Name || r.CouponTemplateID != tpl.ID {
				t.Fatalf("reward %+v; want the template's 500 fen, its name and id", r)
			}
			b, err := s.app.Bargains.Open(ctx, people[0].id, act.ID)
			if err != nil {
				t.Fatal(err)
			}
			if b.Reward == nil || b.Reward.CouponTemplateID != tpl.ID {
				t.Fatalf("the bargain's reward %+v", b.Reward)
			}

			// An applied help: one coupon, however often it is delivered.
			h, _, err := s.help(b, people[1], "dev-1", "10.2.0.1")
			if err != nil || h.Status != bargain.Applied {
				t.Fatalf("help %+v, %v", h, err)
			}
			s.app.Drain(t)
			if cs := s.couponsOf(t, people[1].id); len(cs) != 1 || cs[0].TemplateID != tpl.ID || cs[0].Off != 500 {
				t.Fatalf("the helper's coupons after one delivery: %+v", cs)
			}
			again := &outbox.Dispatcher{Store: replay, Clock: s.app.Clock}
			s.app.Bargains.RegisterConsumers(again)
			if n, err := again.DeliverOnce(ctx); err != nil || n != 1 {
				t.Fatalf("the replay delivered %d, %v", n, err)
			}
			if cs := s.couponsOf(t, people[1].id); len(cs) != 1 {
				t.Fatalf("the helper's coupons after a second delivery: %d; want 1", len(cs))
			}

			// Held helps: none until approved; a rejected one never.
			s.app.Bargains.Config.DeviceHelpers = 2
			if h, _, err := s.help(b, people[2], "dev-shared", "10.2.0.2"); err != nil || h.Status != bargain.Applied {
				t.Fatalf("help %+v, %v", h, err)
			}
			held, _, err := s.help(b, people[3], "dev-shared", "10.2.0.3")
			if err != nil || held.Status != bargain.Held {
				t.Fatalf("help on a shared device %+v, %v; want held", held, err)
			}
			refused, _, err := s.help(b, people[4], "dev-shared", "10.2.0.4")
			if err != nil || refused.Status != bargain.Held {
				t.Fatalf("help on a shared device %+v, %v; want held", refused, err)
			}
			s.app.Drain(t)
			if cs := s.couponsOf(t, people[3].id); len(cs) != 0 {
				t.Fatalf("a held helper has %d coupons; want none", len(cs))
			}
			if _, _, err := s.app.Bargains.ApproveHelp(ctx, held.ID, "op"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.app.Bargains.RejectHelp(ctx, refused.ID, "op"); err != nil {
				t.Fatal(err)
			}
			s.app.Drain(t)
			if cs := s.couponsOf(t, people[3].id); len(cs) != 1 {
				t.Fatalf("an approved helper has %d coupons; want 1", len(cs))
			}
			if cs := s.couponsOf(t, people[4].id); len(cs) != 0 {
				t.Fatalf("a rejected helper has %d coupons; want none", len(cs))
			}
		})
	}
}

// TestBargainRewardRunOut: a template with no coupons left gives the helper
// none, and the help stands.
func TestBargainRewardRunOut(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newBargainShop(t, engine, nil)
			ctx := context.Background()
			people := s.buyers(t, 3)
			s.app.Clock.Advance(8 * 24 * time.Hour)
			tpl := s.rewardTemplate(t, func(in *coupon.NewTemplate) { in.Quantity = 1 })
			act := s.activity(t, func(in *bargain.ActivityInput) {
				in.Reward = &bargain.Reward{Value: 300, Description: "3 元红包", CouponTemplateID: tpl.ID}
			})
			if act.Reward.Value != 300 {
				t.Fatalf("an explicit value %d; want 300 kept", act.Reward.Value)
			}
			b, err := s.app.Bargains.Open(ctx, people[0].id, act.ID)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range people[1:] {
				if h, _, err := s.help(b, p, "dev-"+p.id, fmt.Sprintf("10.3.0.%d", i+1)); err != nil || h.Status != bargain.Applied {
					t.Fatalf("help %+v, %v", h, err)
				}
			}
			s.app.Drain(t)
			if n1, n2 := len(s.couponsOf(t, people[1].id)), len(s.couponsOf(t, people[2].id)); n1 != 1 || n2 != 0 {
				t.Fatalf("coupons %d and %d; want the first helper's only", n1, n2)
			}
			after, err := s.app.Bargains.Bargain(ctx, b.ID)
			if err != nil || after.Cuts != 2 {
				t.Fatalf("the bargain %+v, %v; want both cuts applied", after, err)
			}
		})
	}
}

// TestBargainRewardTemplateChecks: a reward's template must exist and be of
// issue mode recall, and the lint measures what its coupon saves.
func TestBargainRewardTemplateChecks(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newBargainShop(t, engine, nil)
			ctx := context.Background()
			claimable := s.rewardTemplate(t, func(in *coupon.NewTemplate) { in.Mode = coupon.Claim })
			now := s.app.Clock.Now()
			input := func(r *bargain.Reward) bargain.ActivityInput {
				return bargain.ActivityInput{
					Title: "好友帮砍", Rules: "邀请 5 位好友帮忙，每位好友砍掉的金额在活动页公布。", ShareNotice: "好友参与活动可能需要付费",
					StartsAt: now, EndsAt: now.Add(72 * time.Hour), SKUID: s.sku, FromPrice: 5999, Helpers: 5, Quota: 10,
					Reward: r,
				}
			}
			for _, tc := range []struct {
				name, id, code string
			}{
				{"claim mode", claimable.ID, "coupon_template_not_recall"},
				{"no such template", "0190d7f6-0000-7000-8000-00000000dead", "coupon_template_not_found"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := s.app.Bargains.CreateActivity(ctx, input(&bargain.Reward{CouponTemplateID: tc.id}))
					var got string
					for _, f := range errs.Fields(err) {
						if f.Field == "reward.coupon_template_id" {
							got = f.Code
						}
					}
					if got != tc.code {
						t.Fatalf("create: %v; want reward.coupon_template_id %s", err, tc.code)
					}
				})
			}

			// A percent coupon capped at 20 yuan is worth 2000 fen to the
			// lint: over 30% of the 49.99 yuan sale price.
			capped := s.rewardTemplate(t, func(in *coupon.NewTemplate) {
				in.Kind, in.Off, in.Rate, in.Cap = coupon.Percent, 0, 5000, 2000
			})
			a, err := s.app.Bargains.CreateActivity(ctx, input(&bargain.Reward{CouponTemplateID: capped.ID}))
			if err != nil {
				t.Fatal(err)
			}
			if a.Reward.Value != money.Fen(2000) {
				t.Fatalf("reward value %d; want the cap, 2000", a.Reward.Value)
			}
			report, err := s.app.Bargains.Checks(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range report.Checks {
				if c.Code == "reward_limit" && c.Passed {
					t.Fatalf("the lint passed a 2000 fen reward on a 4999 fen price: %+v", c)
				}
			}
			if _, err := s.app.Bargains.Publish(ctx, a.ID); err == nil {
				t.Fatal("published an activity whose coupon reward is over the limit")
			}
		})
	}
}

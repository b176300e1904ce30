package bargain

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
)

var ruleT0 = time.Date(2031, 3, 1, 9, 0, 0, 0, time.UTC)

func goodInput() ActivityInput {
	return ActivityInput{
		Title: "砍到 0 元拿走", Rules: "邀请 5 位好友帮忙砍价，每位好友砍掉的金额事先公布。", ShareNotice: "好友参与活动可能需要付费",
		StartsAt: ruleT0, EndsAt: ruleT0.Add(72 * time.Hour), SKUID: "0190d7f6-0000-7000-8000-000000000001",
		FromPrice: 5999, FloorPrice: 0, Helpers: 5, Quota: 100,
	}
}

func ptr[T any](v T) *T { return &v }

func TestActivityTerms(t *testing.T) {
	sku := &catalog.SKU{ListPrice: 5999, SalePrice: 4999}
	c := DefaultConfig
	a, err := c.activityTerms(goodInput(), sku, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The defaults: DOMAIN.md's 10-hour window, 24 hours to order, one
	// bargain per buyer, the schedule shown, chains of 3.
	if a.BargainHours != 10 || a.PayHours != 24 || a.PerBuyerLimit != 1 || !a.ShowSchedule || a.MaxDepth != 3 || a.Reward != nil {
		t.Fatalf("defaults: %+v", a)
	}

	cases := []struct {
		name   string
		change func(*ActivityInput)
		sku    *catalog.SKU
		fields []string
	}{
		{"no title", func(in *ActivityInput) { in.Title = "  " }, sku, []string{"title"}},
		{"no SKU", func(in *ActivityInput) {}, nil, []string{"sku_id"}},
		{"over the list price", func(in *ActivityInput) { in.FromPrice = 6000 }, sku, []string{"from_price"}},
		{"floor at the start", func(in *ActivityInput) { in.FloorPrice = 5999 }, sku, []string{"floor_price"}},
		{"negative floor", func(in *ActivityInput) { in.FloorPrice = -1 }, sku, []string{"floor_price"}},
		{"cuts under a fen", func(in *ActivityInput) { in.FromPrice, in.FloorPrice, in.Helpers = 10, 6, 5 }, sku, []string{"helpers"}},
		{"101 helpers", func(in *ActivityInput) { in.Helpers = 101 }, sku, []string{"helpers"}},
		{"7-hour window", func(in *ActivityInput) { in.BargainHours = ptr(7) }, sku, []string{"bargain_hours"}},
		{"13-hour window", func(in *ActivityInput) { in.BargainHours = ptr(13) }, sku, []string{"bargain_hours"}},
		{"ends first", func(in *ActivityInput) { in.EndsAt = in.StartsAt }, sku, []string{"ends_at"}},
		{"no quota", func(in *ActivityInput) { in.Quota = 0 }, sku, []string{"quota"}},
		{"free reward", func(in *ActivityInput) { in.Reward = &Reward{Value: 0, Description: "券"} }, sku, []string{"reward.value"}},
		{"reward without words", func(in *ActivityInput) { in.Reward = &Reward{Value: 100} }, sku, []string{"reward.description"}},
		{"zero limit", func(in *ActivityInput) { in.PerBuyerLimit = ptr(0) }, sku, []string{"per_buyer_limit"}},
		{"zero depth", func(in *ActivityInput) { in.MaxDepth = ptr(0) }, sku, []string{"max_depth"}},
		{"pay hours", func(in *ActivityInput) { in.PayHours = ptr(0) }, sku, []string{"pay_hours"}},
		{"rules too long", func(in *ActivityInput) { in.Rules = strings.Repeat("规", MaxRules+1) }, sku, []string{"rules"}},
		{"everything at once", func(in *ActivityInput) {
			*in = ActivityInput{BargainHours: ptr(24)}
		}, nil, []string{"title", "bargain_hours", "starts_at", "ends_at", "sku_id", "from_price", "floor_price", "helpers", "quota"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := goodInput()
			tc.change(&in)
			_, err := c.activityTerms(in, tc.sku, nil)
			var got []string
			for _, f := range errs.Fields(err) {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tc.fields) {
				t.Fatalf("fields %v (%v), want %v", got, err, tc.fields)
			}
		})
	}
	// A draft may hold what the compliance lint refuses at publishing:
	// the lint, not validation, owns those lines.
	in := goodInput()
	in.Rules, in.ShareNotice, in.MaxDepth, in.ShowSchedule = "", "", ptr(5), ptr(false)
	in.EndsAt = in.StartsAt.Add(30 * 24 * time.Hour)
	in.Reward = &Reward{Value: 4000, Description: "大额券"}
	if _, err := c.activityTerms(in, sku, nil); err != nil {
		t.Fatalf("a non-compliant draft was refused: %v", err)
	}
}

func TestRewardTerms(t *testing.T) {
	sku := &catalog.SKU{ListPrice: 5999, SalePrice: 4999}
	recall := &RewardCoupon{Name: "帮砍红包", Recall: true, MaxSaving: 800}
	const tpl = "0190d7f6-0000-7000-8000-0000000000c1"
	for _, tc := range []struct {
		name   string
		reward Reward
		tpl    *RewardCoupon
		want   *Reward // nil: refused
		code   string
	}{
		{"the template's value and name", Reward{CouponTemplateID: tpl}, recall,
			&Reward{Value: 800, Description: "帮砍红包", CouponTemplateID: tpl}, ""},
		{"an explicit value and description kept", Reward{Value: 300, Description: "3 元", CouponTemplateID: tpl}, recall,
			&Reward{Value: 300, Description: "3 元", CouponTemplateID: tpl}, ""},
		{"free shipping in a shop that ships free is worth 0", Reward{CouponTemplateID: tpl}, &RewardCoupon{Name: "包邮", Recall: true},
			&Reward{Value: 0, Description: "包邮", CouponTemplateID: tpl}, ""},
		{"not recall", Reward{CouponTemplateID: tpl}, &RewardCoupon{Name: "x", MaxSaving: 100}, nil, "coupon_template_not_recall"},
		{"no such template", Reward{CouponTemplateID: tpl}, nil, nil, "coupon_template_not_found"},
		{"no template, no value", Reward{Description: "红包"}, nil, nil, "out_of_range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := goodInput()
			in.Reward = &tc.reward
			a, err := DefaultConfig.activityTerms(in, sku, tc.tpl)
			if tc.want != nil {
				if err != nil || a.Reward == nil || *a.Reward != *tc.want {
					t.Fatalf("reward %+v, %v; want %+v", a.Reward, err, tc.want)
				}
				return
			}
			fields := errs.Fields(err)
			if len(fields) != 1 || fields[0].Code != tc.code {
				t.Fatalf("%v; want one error %s", err, tc.code)
			}
		})
	}
}

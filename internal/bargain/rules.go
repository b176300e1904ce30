package bargain

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
)

// Config holds the bargain rules that are the operator's to set. The zero
// value of a field means its default (DefaultConfig).
type Config struct {
	// MinHours and MaxHours bound a bargain's window, DefaultHours is the
	// window an activity gets when it names none: DOMAIN.md's 8 to 12
	// hours.
	MinHours, MaxHours, DefaultHours int
	// DefaultPayHours is how long a buyer may order after success.
	DefaultPayHours int
	// MinHelperAge is how old a helper's account must be: accounts made to
	// help are the cheapest fraud there is.
	MinHelperAge time.Duration
	// DailyCap is how many helps one helper makes a day over all bargains
	// (the day of China Standard Time, where the shops sell).
	DailyCap int
	// RateWindow is the rate limits' window; HelperRate, DeviceRate and
	// IPRate the helps each may make in it.
	RateWindow                     time.Duration
	HelperRate, DeviceRate, IPRate int
	// WatchWindow is how far back the device checks look: a help is held
	// when its device helped DeviceBargains distinct bargains (with this
	// one), or served DeviceHelpers distinct helper accounts (with this
	// one), in it.
	WatchWindow                   time.Duration
	DeviceBargains, DeviceHelpers int
	// A help is held when it makes ClusterSize helpers of one bargain
	// whose accounts are younger than NewAccount and were made within
	// ClusterSpan of each other: a batch of accounts made for the purpose.
	NewAccount, ClusterSpan time.Duration
	ClusterSize             int
}

// DefaultConfig is DOMAIN.md's window and the fraud thresholds siyu ships
// with.
var DefaultConfig = Config{
	MinHours: 8, MaxHours: 12, DefaultHours: 10, DefaultPayHours: 24,
	MinHelperAge: 24 * time.Hour, DailyCap: 3,
	RateWindow: time.Minute, HelperRate: 2, DeviceRate: 3, IPRate: 30,
	WatchWindow: 24 * time.Hour, DeviceBargains: 4, DeviceHelpers: 3,
	NewAccount: 7 * 24 * time.Hour, ClusterSpan: time.Hour, ClusterSize: 3,
}

// withDefaults fills the zero fields of c from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig
	set := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	set(&c.MinHours, d.MinHours)
	set(&c.MaxHours, d.MaxHours)
	set(&c.DefaultHours, d.DefaultHours)
	set(&c.DefaultPayHours, d.DefaultPayHours)
	setD(&c.MinHelperAge, d.MinHelperAge)
	set(&c.DailyCap, d.DailyCap)
	setD(&c.RateWindow, d.RateWindow)
	set(&c.HelperRate, d.HelperRate)
	set(&c.DeviceRate, d.DeviceRate)
	set(&c.IPRate, d.IPRate)
	setD(&c.WatchWindow, d.WatchWindow)
	set(&c.DeviceBargains, d.DeviceBargains)
	set(&c.DeviceHelpers, d.DeviceHelpers)
	setD(&c.NewAccount, d.NewAccount)
	setD(&c.ClusterSpan, d.ClusterSpan)
	set(&c.ClusterSize, d.ClusterSize)
	return c
}

// Bounds of an activity's fields. MaxHelpers keeps a schedule short enough
// to show on one screen; the depth and reward limits are the compliance
// lint's to enforce at publishing, so a draft may hold any sane value.
const (
	MaxTitle       = 100
	MaxRules       = 5000
	MaxShareNotice = 200
	MaxRewardText  = 100
	MaxHelpers     = 100
	MaxPayHours    = 7 * 24
	MaxQuota       = 1_000_000
	MaxBuyerLimit  = 100
	MaxDepthField  = 10
	MaxPrice       = money.Fen(100_000_000) // 1,000,000 yuan
)

// ActivityInput is an operator's activity, as sent. The pointer fields are
// optional: nil takes the default.
type ActivityInput struct {
	Title, Rules, ShareNotice string
	StartsAt, EndsAt          time.Time
	SKUID                     string
	FromPrice, FloorPrice     money.Fen
	Helpers                   int
	BargainHours              *int
	Reward                    *Reward
	BuyAtCurrent              bool
	PayHours                  *int
	Quota                     int
	PerBuyerLimit             *int
	ShowSchedule              *bool
	MaxDepth                  *int
}

// activityTerms checks in against the rules and the SKU it names (nil when
// there is no such SKU) and returns the terms it sets, reporting every field
// error at once.
//
// tpl is the coupon template the reward names (nil when it names none or
// one that does not exist).
func (c Config) activityTerms(in ActivityInput, sku *catalog.SKU, tpl *RewardCoupon) (Activity, error) {
	var l errs.List
	text := func(field, s string, min, max int) string {
		s = strings.TrimSpace(s)
		n := utf8.RuneCountInString(s)
		if !utf8.ValidString(s) || n < min || n > max {
			l.Add(field, "invalid_text", "%s must be %d to %d characters", field, min, max)
		}
		return s
	}
	intIn := func(field string, v *int, def, min, max int) int {
		if v == nil {
			return def
		}
		if *v < min || *v > max {
			l.Add(field, "out_of_range", "%s must be from %d to %d", field, min, max)
		}
		return *v
	}
	a := Activity{
		Title: text("title", in.Title, 1, MaxTitle), Rules: text("rules", in.Rules, 0, MaxRules),
		ShareNotice: text("share_notice", in.ShareNotice, 0, MaxShareNotice),
		StartsAt:    in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(), SKUID: in.SKUID,
		FromPrice: in.FromPrice, FloorPrice: in.FloorPrice, Helpers: in.Helpers,
		BargainHours:  intIn("bargain_hours", in.BargainHours, c.DefaultHours, c.MinHours, c.MaxHours),
		BuyAtCurrent:  in.BuyAtCurrent,
		PayHours:      intIn("pay_hours", in.PayHours, c.DefaultPayHours, 1, MaxPayHours),
		Quota:         in.Quota,
		PerBuyerLimit: intIn("per_buyer_limit", in.PerBuyerLimit, 1, 1, MaxBuyerLimit),
		ShowSchedule:  in.ShowSchedule == nil || *in.ShowSchedule,
		MaxDepth:      intIn("max_depth", in.MaxDepth, 3, 1, MaxDepthField),
	}
	if in.StartsAt.IsZero() {
		l.Add("starts_at", "required", "starts_at is required")
	}
	switch {
	case in.EndsAt.IsZero():
		l.Add("ends_at", "required", "ends_at is required")
	case !in.EndsAt.After(in.StartsAt):
		l.Add("ends_at", "invalid_window", "ends_at must be after starts_at")
	}
	c.checkPrices(&l, a, sku)
	if a.Quota < 1 || a.Quota > MaxQuota {
		l.Add("quota", "out_of_range", "quota must be from 1 to %d units", MaxQuota)
	}
	if r := in.Reward; r != nil {
		a.Reward = rewardTerms(&l, text, r, tpl)
	}
	return a, l.Err()
}

// rewardTerms checks a reward and the coupon template it names. A coupon
// reward's value, unless given, is the most one coupon of the template
// saves, so the lint measures what the helper really gets; its description,
// unless given, is the template's name.
func rewardTerms(l *errs.List, text func(field, s string, min, max int) string, r *Reward, tpl *RewardCoupon) *Reward {
	out := &Reward{Value: r.Value, CouponTemplateID: r.CouponTemplateID}
	desc := r.Description
	badTemplate := false
	if r.CouponTemplateID != "" {
		badTemplate = tpl == nil || !tpl.Recall
		switch {
		case tpl == nil:
			l.Add("reward.coupon_template_id", "coupon_template_not_found", "no such coupon template")
		case !tpl.Recall:
			// A claimable template's coupon is anyone's for the asking:
			// helping would earn nothing, and the lint would measure a
			// reward that is not one.
			l.Add("reward.coupon_template_id", "coupon_template_not_recall",
				"a reward's coupon template must be of issue mode recall (issued by the shop, not claimed)")
		default:
			if r.Value == 0 {
				out.Value = tpl.MaxSaving
			}
			if strings.TrimSpace(desc) == "" {
				desc = tpl.Name
			}
		}
	}
	// A missing description would have been the template's name: the
	// template's own error says all there is to say.
	if !badTemplate || strings.TrimSpace(desc) != "" {
		out.Description = text("reward.description", desc, 1, MaxRewardText)
	}
	if (r.CouponTemplateID == "" || r.Value != 0) && (r.Value < 1 || r.Value > MaxPrice) {
		l.Add("reward.value", "out_of_range", "reward.value must be from 1 to %d fen", MaxPrice)
	}
	return out
}

// checkPrices checks the prices and the helpers against each other and the
// SKU: every cut must be at least 1 fen, and bargaining never starts above
// the price the shop crosses out.
func (c Config) checkPrices(l *errs.List, a Activity, sku *catalog.SKU) {
	if sku == nil {
		l.Add("sku_id", "sku_not_found", "no such SKU")
	}
	switch {
	case a.FromPrice < 1 || a.FromPrice > MaxPrice:
		l.Add("from_price", "out_of_range", "from_price must be from 1 to %d fen", MaxPrice)
	case sku != nil && a.FromPrice > sku.ListPrice:
		l.Add("from_price", "over_list_price", "from_price must be at most the SKU's list price, %d fen", sku.ListPrice)
	}
	if a.FloorPrice < 0 || a.FloorPrice >= a.FromPrice {
		l.Add("floor_price", "out_of_range", "floor_price must be 0 or more and below from_price")
	}
	switch {
	case a.Helpers < 1 || a.Helpers > MaxHelpers:
		l.Add("helpers", "out_of_range", "helpers must be from 1 to %d", MaxHelpers)
	case a.FloorPrice >= 0 && a.FloorPrice < a.FromPrice && a.FromPrice-a.FloorPrice < money.Fen(a.Helpers):
		l.Add("helpers", "cut_too_small", "from_price - floor_price must be at least helpers fen, so every cut is at least 1 fen")
	}
}

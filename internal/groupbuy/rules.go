package groupbuy

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/compliance"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// The bounds of an activity. Teams of 2 to 5 and the team window in hours
// are DOMAIN.md's (module 3); a window of up to 72 hours covers the
// platform's common 24-hour team and its longer variants.
const (
	MinTeamSize      = 2
	MaxTeamSize      = 5
	MinTeamHours     = 1
	MaxTeamHours     = 72
	DefaultTeamHours = 24
	DefaultBuyer     = 1 // units per buyer over the activity
	MaxBuyerLimit    = 99
	DefaultMaxDepth  = compliance.MaxDepth
	// MaxDepthInput is the deepest chain the form accepts; anything past
	// compliance.MaxDepth is kept so the checks can name it, and refused
	// at publishing.
	MaxDepthInput = 9
	MaxItems      = 20
	MaxQuota      = 1_000_000
	MaxTitle      = 60
	MaxRules      = 5000
	MaxNotice     = 200
	// MaxSpan bounds an activity's window as a form can state it; the
	// compliance checks refuse more than 7 days at publishing.
	MaxSpan = 90 * 24 * time.Hour
)

// ActivityInput is an operator's activity, as the form states it. A zero
// TeamHours, PerBuyerLimit or MaxDepth takes its default; an empty leader
// kind is none.
type ActivityInput struct {
	Title            string
	Rules            string
	ShareNotice      string
	StartsAt, EndsAt time.Time
	TeamSize         int
	TeamHours        int
	PerBuyerLimit    int
	SuccessThreshold int
	MaxDepth         int
	Leader           Leader
	Items            []ItemInput
}

// ItemInput is one SKU of an activity as the form states it.
type ItemInput struct {
	SKUID string
	Quota int64
	Tiers []Tier
}

// parseActivity turns the form into an activity's terms, collecting every
// field error. skus are the items' SKUs as the catalogue has them: a tier
// must be below the SKU's current sale price, or the "group price" would be
// no discount at all.
func parseActivity(in ActivityInput, skus map[string]catalog.SKUWithProduct) (Activity, error) {
	var l errs.List
	a := Activity{
		Title: strings.TrimSpace(in.Title), Rules: strings.TrimSpace(in.Rules), ShareNotice: strings.TrimSpace(in.ShareNotice),
		StartsAt: in.StartsAt.UTC(), EndsAt: in.EndsAt.UTC(), TeamSize: in.TeamSize, TeamHours: in.TeamHours,
		PerBuyerLimit: in.PerBuyerLimit, SuccessThreshold: in.SuccessThreshold, MaxDepth: in.MaxDepth, Leader: in.Leader,
	}
	defaults(&a)
	checkTerms(&l, &a)
	sizeOK := a.TeamSize >= MinTeamSize && a.TeamSize <= MaxTeamSize
	smallest := parseItems(&l, &a, in.Items, skus, sizeOK)
	if t := a.SuccessThreshold; t != 0 && sizeOK && (t < smallest || t > a.TeamSize-1) {
		l.Add("success_threshold", "out_of_range",
			"success_threshold is 0 (none) or %d to %d: from the size of every item's smallest tier to one less than the team size", smallest, a.TeamSize-1)
	}
	return a, l.Err()
}

// defaults fills what the form may leave out.
func defaults(a *Activity) {
	if a.TeamHours == 0 {
		a.TeamHours = DefaultTeamHours
	}
	if a.PerBuyerLimit == 0 {
		a.PerBuyerLimit = DefaultBuyer
	}
	if a.MaxDepth == 0 {
		a.MaxDepth = DefaultMaxDepth
	}
	if a.Leader.Kind == "" {
		a.Leader.Kind = LeaderNone
	}
}

// checkTerms checks the activity's own fields: texts, window, sizes,
// limits and the leader benefit.
func checkTerms(l *errs.List, a *Activity) {
	text(l, "title", a.Title, 1, MaxTitle)
	text(l, "rules", a.Rules, 0, MaxRules)
	text(l, "share_notice", a.ShareNotice, 0, MaxNotice)
	window := a.EndsAt.Sub(a.StartsAt)
	switch {
	case a.StartsAt.IsZero():
		l.Add("starts_at", "required", "starts_at is required")
	case a.EndsAt.IsZero():
		l.Add("ends_at", "required", "ends_at is required")
	case window <= 0:
		l.Add("ends_at", "invalid_window", "ends_at must be after starts_at")
	case window > MaxSpan:
		l.Add("ends_at", "invalid_window", "an activity spans at most %d days", int(MaxSpan/(24*time.Hour)))
	}
	if a.TeamSize < MinTeamSize || a.TeamSize > MaxTeamSize {
		l.Add("team_size", "out_of_range", "team_size is %d to %d", MinTeamSize, MaxTeamSize)
	}
	switch {
	case a.TeamHours < MinTeamHours || a.TeamHours > MaxTeamHours:
		l.Add("team_hours", "out_of_range", "team_hours is %d to %d", MinTeamHours, MaxTeamHours)
	case window > 0 && time.Duration(a.TeamHours)*time.Hour > window:
		l.Add("team_hours", "longer_than_activity", "a team's %d hours must fit in the activity", a.TeamHours)
	}
	if a.PerBuyerLimit < 1 || a.PerBuyerLimit > MaxBuyerLimit {
		l.Add("per_buyer_limit", "out_of_range", "per_buyer_limit is 1 to %d units", MaxBuyerLimit)
	}
	if a.MaxDepth < 1 || a.MaxDepth > MaxDepthInput {
		l.Add("max_depth", "out_of_range", "max_depth is 1 to %d levels", MaxDepthInput)
	}
	switch a.Leader.Kind {
	case LeaderNone, LeaderFree:
		if a.Leader.Price != 0 {
			l.Add("leader.price", "not_allowed", "a leader price goes with the leader kind price only")
		}
	case LeaderPrice:
		if a.Leader.Price < 1 {
			l.Add("leader.price", "out_of_range", "a leader price is at least 1 fen")
		}
	default:
		l.Add("leader.kind", "invalid_leader_kind", "leader.kind is none, price or free")
	}
}

// parseItems checks the items and adds them to a. It returns the size
// below which no item has a tier: a team that succeeds by the threshold
// must have reached a tier of its item. The tiers are checked only against
// a valid team size (sizeOK).
func parseItems(l *errs.List, a *Activity, items []ItemInput, skus map[string]catalog.SKUWithProduct, sizeOK bool) int {
	smallest := MinTeamSize
	switch {
	case len(items) == 0:
		l.Add("items", "required", "a group buy sells at least one SKU")
		return smallest
	case len(items) > MaxItems:
		l.Add("items", "too_many_items", "a group buy sells at most %d SKUs", MaxItems)
		return smallest
	}
	seen := map[string]bool{}
	for i, it := range items {
		f := fmt.Sprintf("items[%d]", i)
		item := Item{SKUID: it.SKUID, Quota: it.Quota, Tiers: append([]Tier(nil), it.Tiers...)}
		sp, known := skus[it.SKUID]
		switch {
		case !ids.Valid(it.SKUID):
			l.Add(f+".sku_id", "invalid_id", "sku_id must be the id of a SKU")
		case seen[it.SKUID]:
			l.Add(f+".sku_id", "duplicate_sku", "each SKU is an item once")
		case !known:
			l.Add(f+".sku_id", "sku_not_found", "no such SKU")
		case sp.Product.Status != catalog.OnSale:
			l.Add(f+".sku_id", "product_unavailable", "the SKU's product is not on sale")
		}
		seen[it.SKUID] = true
		if it.Quota < 1 || it.Quota > MaxQuota {
			l.Add(f+".quota", "out_of_range", "quota is 1 to %d units", MaxQuota)
		}
		var sale money.Fen
		if known {
			sale = sp.SKU.SalePrice
		}
		if sizeOK {
			checkTiers(l, f, item.Tiers, a.TeamSize, sale, a.Leader)
		}
		if len(item.Tiers) > 0 {
			smallest = max(smallest, item.Tiers[0].Size)
		}
		a.Items = append(a.Items, item)
	}
	return smallest
}

// checkTiers checks one item's tiers: sorted by size within 2..teamSize,
// the last of size teamSize, prices of at least 1 fen falling strictly as
// the team grows, each below the SKU's sale price, and above the leader's
// price.
func checkTiers(l *errs.List, f string, tiers []Tier, teamSize int, sale money.Fen, leader Leader) {
	if len(tiers) == 0 || len(tiers) > teamSize-1 {
		l.Add(f+".tiers", "invalid_tiers", "an item has 1 to %d tiers, one per team size", teamSize-1)
		return
	}
	for j, t := range tiers {
		tf := fmt.Sprintf("%s.tiers[%d]", f, j)
		switch {
		case t.Size < MinTeamSize || t.Size > teamSize:
			l.Add(tf+".size", "out_of_range", "a tier's size is %d to the team size %d", MinTeamSize, teamSize)
		case j > 0 && t.Size <= tiers[j-1].Size:
			l.Add(tf+".size", "tiers_unsorted", "tiers go by size, smallest first, each size once")
		}
		switch {
		case t.Price < 1:
			l.Add(tf+".price", "out_of_range", "a tier's price is at least 1 fen")
		case j > 0 && t.Price >= tiers[j-1].Price:
			l.Add(tf+".price", "tier_price_not_lower", "a bigger team pays less: each tier's price is below the one before")
		case sale > 0 && t.Price >= sale:
			l.Add(tf+".price", "tier_price_not_discount", "a tier's price must be below the SKU's sale price %s", sale)
		}
	}
	top := tiers[len(tiers)-1]
	if top.Size != teamSize {
		l.Add(fmt.Sprintf("%s.tiers[%d].size", f, len(tiers)-1), "top_tier_not_team_size",
			"the last tier is the full team, of size %d", teamSize)
	}
	if leader.Kind == LeaderPrice && leader.Price >= 1 && leader.Price >= top.Price {
		l.Add("leader.price", "leader_price_not_lower", "the leader price must be below every item's full-team price (%s here)", top.Price)
	}
}

func text(l *errs.List, field, s string, least, most int) {
	n := utf8.RuneCountInString(s)
	switch {
	case !utf8.ValidString(s):
		l.Add(field, "invalid_text", "not valid UTF-8")
	case n < least:
		l.Add(field, "required", "%s is required", field)
	case n > most:
		l.Add(field, "too_long", "at most %d characters", most)
	}
}

// TierPrice is the unit price of a team of size n: the price of the
// biggest tier of at most n members. A team smaller than the smallest tier
// is priced at the smallest tier: a seat is never priced below the size a
// team must reach to be a team at all. tiers are sorted by size.
func TierPrice(tiers []Tier, n int) money.Fen {
	if len(tiers) == 0 {
		return 0
	}
	p := tiers[0].Price
	for _, t := range tiers {
		if t.Size <= n {
			p = t.Price
		}
	}
	return p
}

// SizeRange is the team sizes, within 1..capacity, whose tier price is
// TierPrice(tiers, n): the sizes a join priced for size n may make and
// still be charged what its order says.
func SizeRange(tiers []Tier, capacity, n int) (lo, hi int) {
	p := TierPrice(tiers, n)
	lo, hi = n, n
	for lo > 1 && TierPrice(tiers, lo-1) == p {
		lo--
	}
	for hi < capacity && TierPrice(tiers, hi+1) == p {
		hi++
	}
	return lo, hi
}

// LeaderEntry is the unit price a team's leader pays on opening it: the
// leader price when the activity has one (it is below every tier), else
// the smallest tier's price, the team's worst case.
func (a *Activity) LeaderEntry(it *Item) money.Fen {
	entry := TierPrice(it.Tiers, 0)
	if a.Leader.Kind == LeaderPrice && a.Leader.Price < entry {
		entry = a.Leader.Price
	}
	return entry
}

// LeaderFinal is the leader's unit price once the team succeeded at
// tier: the leader price (never above the tier), nothing (free), or the
// tier like everyone (none).
func (a *Activity) LeaderFinal(tier money.Fen) money.Fen {
	switch a.Leader.Kind {
	case LeaderPrice:
		return min(a.Leader.Price, tier)
	case LeaderFree:
		return 0
	}
	return tier
}

// Reward is the leader's benefit on an item, as the compliance checks
// measure it: what the leader pays less than a full team's members.
func (a *Activity) Reward(it *Item) money.Fen {
	if a.Leader.Kind == LeaderNone || len(it.Tiers) == 0 {
		return 0
	}
	top := it.Tiers[len(it.Tiers)-1].Price
	return max(0, top-a.LeaderFinal(top))
}

// Facts states the activity for the compliance checks. The reward is
// measured on the item where it weighs most against the SKU's sale price
// (sale, by SKU id): if that one passes the 30% line, every item does.
func (a *Activity) Facts(sale map[string]money.Fen) compliance.Facts {
	f := compliance.Facts{MaxDepth: a.MaxDepth, StartsAt: a.StartsAt, EndsAt: a.EndsAt, Rules: a.Rules, ShareNotice: a.ShareNotice}
	for i := range a.Items {
		it := &a.Items[i]
		r, p := a.Reward(it), sale[it.SKUID]
		// r/p > f.Reward/f.RegularPrice, multiplied out: no division, no
		// float. The first item sets the pair whatever its reward.
		if i == 0 || int64(r)*int64(f.RegularPrice) > int64(f.Reward)*int64(p) {
			f.Reward, f.RegularPrice = r, p
		}
	}
	return f
}

// Joinable reports why a buyer cannot take a seat of t at now, or nil.
func (t *Team) Joinable(now time.Time) error {
	switch {
	case t.Status == TeamPending:
		return ErrTeamNotOpen
	case t.Status != TeamOpen || t.ExpiresAt == nil || !now.Before(*t.ExpiresAt):
		return ErrTeamClosed
	case t.Taken >= t.Capacity:
		return ErrTeamFull
	}
	return nil
}

// SeatsLeft is how many more buyers may join.
func (t *Team) SeatsLeft() int { return max(0, t.Capacity-t.Taken) }

// SeatPrices are a team's prices as anyone may see them: what a member
// pays at the team's size now (its final price once it succeeded), and
// what the next seat costs (0 when no seat can be taken).
func (a *Activity) SeatPrices(t *Team) (current, next money.Fen) {
	it, ok := a.Item(t.SKUID)
	if !ok {
		return 0, 0
	}
	current = TierPrice(it.Tiers, t.Taken)
	if t.Status == TeamSucceeded {
		current = t.FinalPrice
	}
	if !t.Status.Ended() && t.Taken < t.Capacity {
		next = TierPrice(it.Tiers, t.Taken+1)
	}
	return current, next
}

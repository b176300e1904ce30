package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
)

// The demo's activities run six days from the seed: inside the seven the
// compliance lint allows, long enough to try them for most of a week.
const activityDays = 6

// notice is the share card's notice every fission activity must carry.
const notice = "好友参与活动可能需要付费 · Joining may cost your friend money"

// seedActivities publishes a group buy and a bargain on the first two
// SKUs of the demo catalogue, through the same services (and the same
// compliance lint) the admin API uses. It returns their ids.
func seedActivities(ctx context.Context, s Services, now time.Time) (groupBuyID, bargainID string, err error) {
	page, err := s.Catalog.ListForBuyer(ctx, catalog.Filter{Limit: 2})
	if err != nil {
		return "", "", err
	}
	if len(page.Products) < 2 {
		return "", "", fmt.Errorf("demo activities need two products, the catalogue has %d", len(page.Products))
	}
	ends := now.Add(activityDays * 24 * time.Hour)

	gbSKU := page.Products[0].SKUs[0]
	sale := gbSKU.SalePrice
	gb, err := s.GroupBuys.Create(ctx, groupbuy.ActivityInput{
		Title: "三人成团 · Team of three",
		Rules: "2 人成团享 85 折，3 人成团享 75 折；开团后 24 小时内未成团全额退款，成团后按最终档位退还差价。" +
			"Two pay 85%, three pay 75%; a team that does not fill within 24 hours is refunded in full.",
		ShareNotice: notice, StartsAt: now, EndsAt: ends,
		TeamSize: 3, TeamHours: 24, PerBuyerLimit: 2, SuccessThreshold: 2, MaxDepth: 3,
		Leader: groupbuy.Leader{Kind: groupbuy.LeaderNone},
		Items: []groupbuy.ItemInput{{SKUID: gbSKU.ID, Quota: 100, Tiers: []groupbuy.Tier{
			{Size: 2, Price: sale.Rate(8500)}, {Size: 3, Price: sale.Rate(7500)},
		}}},
	})
	if err != nil {
		return "", "", fmt.Errorf("group buy: %w", err)
	}
	if _, err := s.GroupBuys.Publish(ctx, gb.ID); err != nil {
		return "", "", fmt.Errorf("publishing the group buy: %w", err)
	}

	bgSKU := page.Products[1].SKUs[0]
	helpers := 5
	bg, err := s.Bargains.CreateActivity(ctx, bargain.ActivityInput{
		Title: "好友帮砍 · Bargain with friends",
		Rules: "邀请 5 位好友各砍一刀即可半价购买，每刀金额开砍前公示；10 小时内有效。" +
			"Five friends' cuts take the price to half; every cut is shown before the first share.",
		ShareNotice: notice, StartsAt: now, EndsAt: ends,
		SKUID: bgSKU.ID, FromPrice: bgSKU.SalePrice, FloorPrice: bgSKU.SalePrice / 2, Helpers: helpers,
		BuyAtCurrent: true, Quota: 50,
	})
	if err != nil {
		return "", "", fmt.Errorf("bargain: %w", err)
	}
	if _, err := s.Bargains.Publish(ctx, bg.ID); err != nil {
		return "", "", fmt.Errorf("publishing the bargain: %w", err)
	}
	return gb.ID, bg.ID, nil
}

package app

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// wireCoupons builds the coupon service, lets checkout use coupons through
// it (order.Service.Coupons) and registers the consumers that give a
// coupon back when its order is cancelled, closed or refunded in full. It
// also lets a bargain reward name a coupon template (bargainCoupons), so
// neither the bargain nor the coupon package imports the other.
func (a *App) wireCoupons() {
	a.Coupons = &coupon.Service{Store: a.Store, Carts: a.Store, Catalog: a.Store, Pricing: a.Orders.Pricing, Clock: a.Clock}
	a.Orders.Coupons = a.Coupons
	a.Coupons.RegisterConsumers(a.Events)
	a.Bargains.Coupons = bargainCoupons{coupons: a.Coupons, shippingFee: a.Config.ShippingFee}
}

// bargainCoupons hands the bargain the coupon templates its rewards name
// and issues the helpers' coupons.
type bargainCoupons struct {
	coupons *coupon.Service
	// shippingFee is the shop's flat shipping fee: what a free-shipping
	// coupon saves at most (an order over the free-shipping threshold
	// ships free anyway, so the coupon saves less, never more).
	shippingFee money.Fen
}

var _ bargain.Coupons = bargainCoupons{}

func (c bargainCoupons) RewardCoupon(ctx context.Context, templateID string) (*bargain.RewardCoupon, error) {
	if !ids.Valid(templateID) {
		return nil, nil
	}
	t, err := c.coupons.Template(ctx, templateID)
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &bargain.RewardCoupon{Name: t.Name, Recall: t.Mode == coupon.Recall, MaxSaving: c.maxSaving(t)}, nil
}

// maxSaving is the most one coupon of t saves: a fixed or threshold
// coupon's amount, a percent coupon's cap, the shipping fee for free
// shipping.
func (c bargainCoupons) maxSaving(t *coupon.Template) money.Fen {
	switch t.Kind {
	case coupon.Fixed, coupon.Threshold:
		return t.Off
	case coupon.Percent:
		return t.Cap
	case coupon.FreeShipping:
		return c.shippingFee
	}
	return 0
}

func (c bargainCoupons) IssueReward(ctx context.Context, templateID, buyerID, key string) error {
	_, err := c.coupons.IssueOnce(ctx, templateID, buyerID, key)
	return err
}

// Package supply holds the operator's planning aids for agile supply
// (DOMAIN.md module 6, "Agile supply": presale and small-batch fast
// response; the first batch is 60% of expected sales, with 30% flexible
// capacity held back). It advises; it changes no stock.
package supply

import (
	"context"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// The split of expected demand, in basis points (DOMAIN.md).
const (
	FirstBatchBP = money.BP(6000)
	FlexibleBP   = money.BP(3000)
	// MaxExpected bounds the demand one plan takes: far above any one
	// SKU's season, low enough that units x basis points stays exact.
	MaxExpected = int64(100_000_000)
)

// Plan is the advice for one expected demand.
type Plan struct {
	ExpectedUnits int64 `json:"expected_units"`
	// FirstBatch is what to make (or buy) now: 60% of the expected units,
	// rounded up.
	FirstBatch int64 `json:"first_batch"`
	// FlexibleCapacity is what to hold back with the supplier, to make only
	// once sales confirm the demand: 30% of the expected units, so that the
	// two together are 90% of them, rounded up.
	FlexibleCapacity int64 `json:"flexible_capacity"`
	// Uncommitted is the rest of the expected units (about 10%), left to
	// replenishment from real sales velocity rather than committed now.
	Uncommitted  int64    `json:"uncommitted"`
	FirstBatchBP money.BP `json:"first_batch_bp"`
	FlexibleBP   money.BP `json:"flexible_bp"`

	// With a SKU named: its online stock not reserved, and the part of the
	// first batch that stock does not cover already.
	SKUID            string `json:"sku_id,omitempty"`
	Available        *int64 `json:"available,omitempty"`
	FirstBatchToMake *int64 `json:"first_batch_to_make,omitempty"`
}

// NewPlan splits expected demand into a first batch and flexible capacity.
//
// Rounding: the first batch is rounded up, because a unit short in the first
// batch is a stock-out and a rush order, which cost more than one unit too
// many; the flexible capacity is what brings the two to 90% of the demand,
// also rounded up, so the sum never rounds past 90% twice (7 units: 5 now,
// 2 held back; rounding each up alone would commit 8, more than the demand
// itself). Demand of one unit is all first batch.
func NewPlan(expected int64) (Plan, error) {
	if expected < 1 || expected > MaxExpected {
		return Plan{}, errs.Field("expected_units", "out_of_range", "expected_units must be 1 to %d", MaxExpected)
	}
	first := ceilShare(expected, FirstBatchBP)
	both := max(ceilShare(expected, FirstBatchBP+FlexibleBP), first)
	return Plan{
		ExpectedUnits: expected, FirstBatch: first, FlexibleCapacity: both - first, Uncommitted: expected - both,
		FirstBatchBP: FirstBatchBP, FlexibleBP: FlexibleBP,
	}, nil
}

// ceilShare is bp of n, rounded up, in integers.
func ceilShare(n int64, bp money.BP) int64 {
	return (n*int64(bp) + int64(money.Whole) - 1) / int64(money.Whole)
}

// Service answers plans, reading a SKU's stock when one is named.
type Service struct {
	Catalog catalog.Store
}

// PlanInput is an operator's question.
type PlanInput struct {
	ExpectedUnits int64
	SKUID         string // optional
}

// Plan splits the demand and, for a SKU, takes off the first batch what its
// online stock already covers.
func (s *Service) Plan(ctx context.Context, in PlanInput) (Plan, error) {
	var l errs.List
	p, err := NewPlan(in.ExpectedUnits)
	if e, ok := errs.As(err); ok {
		l = append(l, e)
	}
	if in.SKUID != "" && !ids.Valid(in.SKUID) {
		l.Add("sku_id", "invalid_id", "sku_id must be the id of a SKU")
	}
	if err := l.Err(); err != nil {
		return Plan{}, err
	}
	if in.SKUID == "" {
		return p, nil
	}
	skus, err := s.Catalog.SKUs(ctx, []string{in.SKUID})
	if err != nil {
		return Plan{}, err
	}
	sp, ok := skus[in.SKUID]
	if !ok {
		return Plan{}, &errs.Error{Kind: errs.NotFound, Code: "sku_not_found", Field: "sku_id", Message: "no such SKU"}
	}
	avail := max(sp.SKU.Available, 0)
	toMake := max(p.FirstBatch-avail, 0)
	p.SKUID, p.Available, p.FirstBatchToMake = in.SKUID, &avail, &toMake
	return p, nil
}

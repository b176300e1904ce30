package compliance

import (
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// The presale's limits.
const (
	// MaxPresaleDuration is how long a presale may sell: DOMAIN.md ("a
	// presale lasts at most 3 days", from the sources' "预售期不超过3天").
	MaxPresaleDuration = 3 * 24 * time.Hour
	// MaxDepositRate is the largest deposit (定金) for the price it
	// secures: Civil Code art. 586, "定金的数额…不得超过主合同标的额的百分之
	// 二十，超过部分不产生定金的效力". A deposit above it would not be a deposit
	// in law, so the part above could not be forfeited (art. 587).
	MaxDepositRate money.BP = 2000
)

// Codes of the presale's checks.
const (
	CodePresaleDuration = "presale_duration"
	CodeDeposit         = "deposit_limit"
	CodePriceSteps      = "price_steps"
)

// Presale is what a presale states about itself for its checks, besides the
// window (Facts.StartsAt, Facts.EndsAt) every activity states.
type Presale struct {
	Items []PresaleItem
}

// PresaleItem is one SKU a presale sells.
type PresaleItem struct {
	SKUID string
	// RegularPrice is the SKU's sale price outside the presale.
	RegularPrice money.Fen
	// Steps are the unit prices of its price steps, in the order they
	// apply (units sold, or time); one step is a single price.
	Steps []money.Fen
	// Deposit is the deposit per unit; 0 for a presale paid in full.
	Deposit money.Fen
}

// lintPresale runs the presale's checks: the 3-day window, the deposit's
// legal limit, and price steps that only rise and are prices someone pays.
func lintPresale(f Facts, add func(code string, ok bool, format string, args ...any)) {
	switch d := f.EndsAt.Sub(f.StartsAt); {
	case f.StartsAt.IsZero() || f.EndsAt.IsZero() || d <= 0:
		add(CodePresaleDuration, false, "the presale needs a start and a later end")
	case d > MaxPresaleDuration:
		add(CodePresaleDuration, false, "the presale sells for %s, more than the 3 days allowed", d.Round(time.Minute))
	default:
		add(CodePresaleDuration, true, "the presale sells for %s, within 3 days", d.Round(time.Minute))
	}

	depositOK, stepsOK := true, len(f.Presale.Items) > 0
	var depositMsg, stepsMsg string
	for _, it := range f.Presale.Items {
		lowest := money.Fen(0)
		for i, p := range it.Steps {
			switch {
			case p <= 0:
				stepsOK, stepsMsg = false, "SKU "+it.SKUID+" has a step without a price"
			case i > 0 && p <= it.Steps[i-1]:
				// A step down after a step up would be a raise before a
				// discount (DOMAIN.md, "Prices").
				stepsOK, stepsMsg = false, "the steps of SKU "+it.SKUID+" must each be higher than the one before"
			case it.RegularPrice > 0 && p > it.RegularPrice:
				// Nobody pays more than the regular price for joining an
				// activity, so a step above it announces a price never charged.
				stepsOK, stepsMsg = false, "a step of SKU "+it.SKUID+" is above its regular price "+it.RegularPrice.String()
			}
			if i == 0 || p < lowest {
				lowest = p
			}
		}
		if len(it.Steps) == 0 {
			stepsOK, stepsMsg = false, "SKU "+it.SKUID+" has no price"
		}
		// Compared exactly, not rounded: the law's 20% is a ceiling.
		if it.Deposit > 0 && (lowest <= 0 || int64(it.Deposit)*int64(money.Whole) > int64(lowest)*int64(MaxDepositRate)) {
			depositOK = false
			depositMsg = "the deposit " + it.Deposit.String() + " of SKU " + it.SKUID + " is more than 20% of its lowest price " +
				lowest.String() + " (Civil Code art. 586)"
		}
	}
	if depositOK {
		add(CodeDeposit, true, "every deposit is at most 20%% of the price it secures (Civil Code art. 586)")
	} else {
		add(CodeDeposit, false, "%s", depositMsg)
	}
	if stepsOK {
		add(CodePriceSteps, true, "every SKU's price steps rise and stay within its regular price")
	} else {
		if stepsMsg == "" {
			stepsMsg = "the presale sells nothing"
		}
		add(CodePriceSteps, false, "%s", stepsMsg)
	}
}

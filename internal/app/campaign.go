package app

import (
	"context"
	"os"
	"strings"

	"github.com/siyu-commerce/siyu/internal/campaign"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/jobs"
)

// wireCampaigns builds the campaign service over the consent, coupon and
// points services and registers the run at a campaign's start as a durable
// job (keyed by the campaign, so one run however many replicas; a second
// one would give nothing twice anyway). The review calendar's holidays and
// make-up working days come from SIYU_CAMPAIGN_HOLIDAYS and
// SIYU_CAMPAIGN_WORKDAYS (comma-separated dates, docs/campaign.md).
func (a *App) wireCampaigns() *campaign.Service {
	s := &campaign.Service{Store: a.Store, Consent: &consent.Service{Store: a.Store, Clock: a.Clock},
		Coupons: a.Coupons, Points: a.Points, Jobs: a.Store, Audit: a.Store, Clock: a.Clock,
		Calendar: campaign.Calendar{Holidays: dates(os.Getenv("SIYU_CAMPAIGN_HOLIDAYS")), Workdays: dates(os.Getenv("SIYU_CAMPAIGN_WORKDAYS"))}}
	a.Jobs.Handle(campaign.JobRun, func(ctx context.Context, j jobs.Job) error {
		res, err := s.Run(ctx, "", j.Key, false)
		if err != nil {
			return err
		}
		a.Log.Info("campaign run", "campaign", j.Key, "treated", res.Treated, "holdout", res.Holdout, "excluded", res.Excluded)
		return nil
	})
	return s
}

// dates parses "2026-10-01,2026-10-02" into a set.
func dates(v string) map[string]bool {
	out := map[string]bool{}
	for _, d := range strings.Split(v, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out[d] = true
		}
	}
	return out
}

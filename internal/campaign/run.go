package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/points"
)

// Exclusion reasons, as counted in a Result.
const (
	ExcludedNoConsent    = "no_marketing_consent" // opted out of, or never gave, personalised marketing (PIPL)
	ExcludedNoMessages   = "no_message_consent"   // a message campaign: never consented to subscription messages
	ExcludedFrequencyCap = "frequency_cap"
	ExcludedBudget       = "budget"
)

// Result is what a run did, or a dry run would do.
type Result struct {
	DryRun   bool           `json:"dry_run"`
	Members  int            `json:"members"`
	Excluded map[string]int `json:"excluded"` // by reason
	Holdout  int            `json:"holdout"`  // held out this run (recorded, nothing given)
	Treated  int            `json:"treated"`  // given the actions this run
	Already  int            `json:"already"`  // treated by an earlier run: nothing given twice
	Coupons  int            `json:"coupons"`  // coupons issued this run
	Points   int64          `json:"points"`   // points granted this run
	Messages int            `json:"messages"` // messages sent this run
	Refused  map[string]int `json:"refused"`  // an action refused, by error code (sold out, ...)
	Sample   []SampleBuyer  `json:"sample"`   // masked, at most SampleSize
	// TotalTreated and TotalHoldout count the campaign's recorded touches
	// after the run: the console's uplift compares the two groups.
	TotalTreated int       `json:"total_treated"`
	TotalHoldout int       `json:"total_holdout"`
	At           time.Time `json:"at"`
}

// SampleBuyer is one buyer of a run's sample, masked.
type SampleBuyer struct {
	Buyer   string `json:"buyer"`
	Outcome string `json:"outcome"` // treated, holdout, or an exclusion reason
}

// SampleSize bounds a result's sample.
const SampleSize = 10

// InHoldout reports whether buyerID is in campaign id's holdout group of
// bp basis points: a hash of the pair, so the draw is random across buyers
// yet the same on every run and replica (it needs no stored seed).
func InHoldout(id, buyerID string, bp int) bool {
	if bp <= 0 {
		return false
	}
	h := sha256.Sum256([]byte(id + "/" + buyerID))
	return binary.BigEndian.Uint64(h[:8])%10000 < uint64(bp)
}

// mask shows a buyer id's first and last 4 characters, enough to tell
// buyers apart in a console sample without naming anyone.
func mask(id string) string {
	if len(id) < 12 {
		return "****"
	}
	return id[:4] + "****" + id[len(id)-4:]
}

// Run runs an approved campaign whose start has come: it gates on consent,
// records the holdout, skips buyers over the frequency cap, and applies the
// actions once per (campaign, buyer) up to the budget. A rerun, or a second
// replica running it at once, gives nobody anything twice: the touch is
// recorded once, and each action carries the key "campaign:ID:BUYER" that
// its own store honours once. dry reads everything and writes nothing.
func (s *Service) Run(ctx context.Context, actorID, id string, dry bool) (*Result, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Status != Scheduled && c.Status != Running && c.Status != Finished {
		return nil, ErrStatus
	}
	now := s.Clock.Now()
	if !dry && now.Before(c.StartsAt) {
		return nil, ErrNotStarted
	}
	if !dry && c.Status == Scheduled {
		c.Status, c.UpdatedAt = Running, now
		err := s.Store.SaveCampaign(ctx, c, Scheduled)
		if err != nil && err != ErrConflict { // a conflict: another replica started it
			return nil, err
		}
		if err == nil {
			if err := s.audit(ctx, actorID, "campaign.start", c.ID); err != nil {
				return nil, err
			}
		}
	}
	treated, _, err := s.Store.CampaignTouchTotals(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	r := &Result{DryRun: dry, Excluded: map[string]int{}, Refused: map[string]int{}, Sample: []SampleBuyer{}, At: now}
	st := runState{c: c, r: r, dry: dry, now: now, budgetLeft: c.Budget - treated}
	batch := s.BatchSize
	if batch <= 0 {
		batch = 500
	}
	after := ""
	for {
		page, err := s.Store.CampaignSegmentMembers(ctx, c.SegmentID, after, batch)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			break
		}
		if err := s.runPage(ctx, &st, page); err != nil {
			return nil, err
		}
		after = page[len(page)-1]
	}
	if r.TotalTreated, r.TotalHoldout, err = s.Store.CampaignTouchTotals(ctx, c.ID); err != nil {
		return nil, err
	}
	if dry {
		r.TotalTreated += r.Treated
		r.TotalHoldout += r.Holdout
		return r, nil
	}
	return r, s.finish(ctx, actorID, c.ID, r)
}

type runState struct {
	c          *Campaign
	r          *Result
	dry        bool
	now        time.Time
	budgetLeft int // dry runs only: the real claim checks the budget itself
}

func (st *runState) sample(buyer, outcome string) {
	if len(st.r.Sample) < SampleSize {
		st.r.Sample = append(st.r.Sample, SampleBuyer{Buyer: mask(buyer), Outcome: outcome})
	}
}

func (s *Service) runPage(ctx context.Context, st *runState, page []string) error {
	c, r := st.c, st.r
	r.Members += len(page)
	ok, err := s.Consent.AllowedSet(ctx, page, consent.PersonalisedMarketing)
	if err != nil {
		return err
	}
	msgOK := ok
	if st.c.sends() {
		if msgOK, err = s.Consent.AllowedSet(ctx, page, consent.SubscriptionMessages); err != nil {
			return err
		}
	}
	var counts map[string]int
	if c.FrequencyCap > 0 {
		since := st.now.AddDate(0, 0, -c.FrequencyDays)
		if counts, err = s.Store.CampaignTouchCounts(ctx, page, since, c.ID); err != nil {
			return err
		}
	}
	for _, b := range page {
		if !ok[b] {
			r.Excluded[ExcludedNoConsent]++
			st.sample(b, ExcludedNoConsent)
			continue
		}
		if !msgOK[b] {
			r.Excluded[ExcludedNoMessages]++
			st.sample(b, ExcludedNoMessages)
			continue
		}
		if InHoldout(c.ID, b, c.HoldoutBP) {
			if !st.dry {
				if _, err := s.Store.ClaimCampaignTouch(ctx, Touch{CampaignID: c.ID, BuyerID: b, Holdout: true, At: st.now}, 0); err != nil {
					return err
				}
			}
			r.Holdout++
			st.sample(b, "holdout")
			continue
		}
		if c.FrequencyCap > 0 && counts[b] >= c.FrequencyCap {
			r.Excluded[ExcludedFrequencyCap]++
			st.sample(b, ExcludedFrequencyCap)
			continue
		}
		if st.dry {
			if c.Budget > 0 && st.budgetLeft <= 0 {
				r.Excluded[ExcludedBudget]++
				st.sample(b, ExcludedBudget)
				continue
			}
			st.budgetLeft--
			r.Treated++
			st.sample(b, "treated")
			continue
		}
		claim, err := s.Store.ClaimCampaignTouch(ctx, Touch{CampaignID: c.ID, BuyerID: b, At: st.now}, c.Budget)
		if err != nil {
			return err
		}
		switch claim {
		case OverBudget:
			r.Excluded[ExcludedBudget]++
			st.sample(b, ExcludedBudget)
			continue
		case Existing:
			r.Already++
		default:
			r.Treated++
			st.sample(b, "treated")
		}
		if err := s.apply(ctx, c, b, r); err != nil {
			return err
		}
	}
	return nil
}

// apply does a treated buyer's actions; each is keyed, so applying them
// again (a rerun after a crash between the touch and the actions) gives
// only what is still missing.
func (s *Service) apply(ctx context.Context, c *Campaign, buyer string, r *Result) error {
	key := "campaign:" + c.ID + ":" + buyer
	for _, a := range c.Actions {
		var given bool
		var err error
		switch a.Kind {
		case IssueCoupon:
			given, err = s.Coupons.IssueOnce(ctx, a.TemplateID, buyer, key)
			if given {
				r.Coupons++
			}
		case GrantPoints:
			_, err = s.Points.Grant(ctx, points.Grant{BuyerID: buyer, Points: a.Points, Reason: "campaign", Key: key})
			if err == points.ErrGranted {
				err = nil
			} else if err == nil {
				r.Points += a.Points
			}
		case SendMessage:
			given, err = s.messenger().Send(ctx, Message{CampaignID: c.ID, BuyerID: buyer, Text: a.Text, SentAt: r.At})
			if given {
				r.Messages++
			}
		}
		if e, ok := errs.As(err); ok && e.Kind != errs.Internal {
			r.Refused[e.Code]++
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sends reports whether c sends a message (and so needs that consent too).
func (c *Campaign) sends() bool {
	for _, a := range c.Actions {
		if a.Kind == SendMessage {
			return true
		}
	}
	return false
}

// finish records the run's result and ends the campaign.
func (s *Service) finish(ctx context.Context, actorID, id string, r *Result) error {
	for range 3 {
		c, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		from := c.Status
		at := r.At
		c.Status, c.Result, c.FinishedAt, c.UpdatedAt = Finished, r, &at, r.At
		err = s.Store.SaveCampaign(ctx, c, from)
		if err == ErrConflict {
			continue
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, actorID, "campaign.finish", id)
	}
	return ErrConflict
}

// Package campaign owns marketing campaigns: a segment of the crm pool, the
// actions it takes for each member (issue a recall coupon, grant task
// points), its schedule, budget, per-buyer frequency cap and holdout group,
// the compliance review a campaign passes before it may run (DOMAIN.md,
// "Compliance and risk": a joint review filed at least 3 working days before
// the start, no efficacy words), and the run that applies the actions once
// per buyer however often it is repeated.
package campaign

import (
	"context"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// Status is where a campaign is in its life.
type Status string

// The review workflow: draft -> submitted -> approved (by a reviewer who is
// not the author; the approval schedules it at once) or rejected (back to
// editing as a draft) -> scheduled -> running -> finished.
const (
	Draft     Status = "draft"
	Submitted Status = "submitted"
	Rejected  Status = "rejected"
	Scheduled Status = "scheduled"
	Running   Status = "running"
	Finished  Status = "finished"
)

// ActionKind is what a campaign does for a treated buyer.
type ActionKind string

// The actions.
const (
	IssueCoupon ActionKind = "issue_coupon"
	GrantPoints ActionKind = "grant_points"
	SendMessage ActionKind = "send_message" // a subscription message, through the Messenger
)

// Action is one thing done for each treated buyer.
type Action struct {
	Kind       ActionKind `json:"kind"`
	TemplateID string     `json:"template_id,omitempty"` // issue_coupon: a recall template
	Points     int64      `json:"points,omitempty"`      // grant_points
	Text       string     `json:"text,omitempty"`        // send_message
}

// Message is one subscription message a campaign sent a buyer.
type Message struct {
	CampaignID string    `json:"campaign_id"`
	BuyerID    string    `json:"buyer_id"`
	Text       string    `json:"text"`
	SentAt     time.Time `json:"sent_at"`
}

// Campaign is one campaign.
type Campaign struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	SegmentID string    `json:"segment_id"`
	Actions   []Action  `json:"actions"`
	StartsAt  time.Time `json:"starts_at"`
	// Budget is the most buyers the campaign treats (each treated buyer
	// costs one unit: every action once); 0 is no cap.
	Budget int `json:"budget"`
	// FrequencyCap: a buyer already treated by FrequencyCap campaigns in
	// the last FrequencyDays days is skipped; 0 is no cap.
	FrequencyCap  int `json:"frequency_cap"`
	FrequencyDays int `json:"frequency_days"`
	// HoldoutBP is the share of the consenting audience held back (bp) to
	// measure the uplift against.
	HoldoutBP int `json:"holdout_bp"`

	Status      Status     `json:"status"`
	AuthorID    string     `json:"author_id"`
	ReviewerID  string     `json:"reviewer_id,omitempty"`
	ReviewNote  string     `json:"review_note,omitempty"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	ReviewedAt  *time.Time `json:"reviewed_at,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	Result      *Result    `json:"result,omitempty"` // the last run's counts
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Touch is one buyer's place in one campaign, recorded once: treated, or
// held out (the control group the uplift is measured against).
type Touch struct {
	CampaignID string
	BuyerID    string
	Holdout    bool
	At         time.Time
}

// Claim is what recording a touch found.
type Claim int

// The claims.
const (
	Claimed    Claim = iota // recorded now
	Existing                // recorded before (a rerun, another replica): apply the idempotent actions again
	OverBudget              // the campaign's budget of treated buyers is spent
)

// Store is what campaigns need of a store engine.
type Store interface {
	CreateCampaign(ctx context.Context, c *Campaign) error
	Campaign(ctx context.Context, id string) (*Campaign, error)
	// Campaigns lists campaigns, newest first, at most limit.
	Campaigns(ctx context.Context, limit int) ([]Campaign, error)
	// SaveCampaign writes c if the stored status is still from (a
	// compare-and-set: two reviewers, two replicas), else ErrConflict.
	SaveCampaign(ctx context.Context, c *Campaign, from Status) error
	// CampaignSegmentMembers pages through a crm segment's members by buyer
	// id, after after.
	CampaignSegmentMembers(ctx context.Context, segmentID, after string, limit int) ([]string, error)
	// ClaimCampaignTouch records t once per (campaign, buyer); a treated
	// touch is refused with OverBudget when budget (> 0) treated touches
	// exist, atomically.
	ClaimCampaignTouch(ctx context.Context, t Touch, budget int) (Claim, error)
	// CampaignTouchCounts counts each buyer's treated touches at or after
	// since in campaigns other than except.
	CampaignTouchCounts(ctx context.Context, buyerIDs []string, since time.Time, except string) (map[string]int, error)
	// CampaignTouchTotals counts a campaign's treated and held-out buyers.
	CampaignTouchTotals(ctx context.Context, id string) (treated, holdout int, err error)
	// AddCampaignMessage records m in the sandbox outbox once per
	// (campaign, buyer); false when it is there already.
	AddCampaignMessage(ctx context.Context, m Message) (bool, error)
	// CampaignMessages lists a campaign's sandbox messages by buyer id.
	CampaignMessages(ctx context.Context, id string, limit int) ([]Message, error)
}

// The campaign errors a client sees.
var (
	ErrNotFound    = errs.E(errs.NotFound, "campaign_not_found", "no such campaign")
	ErrConflict    = errs.E(errs.Conflict, "campaign_state_changed", "the campaign changed meanwhile; reload it")
	ErrStatus      = errs.E(errs.Conflict, "campaign_wrong_status", "the campaign is not in a status that allows this")
	ErrOwnReview   = errs.E(errs.Forbidden, "campaign_own_review", "a campaign is reviewed by someone other than its author")
	ErrTooLate     = errs.Field("starts_at", "campaign_review_too_late", "a campaign is submitted at least %d working days before it starts", MinWorkingDays)
	ErrNotStarted  = errs.E(errs.Conflict, "campaign_not_started", "the campaign's start has not come")
	ErrNoSegment   = errs.Field("segment_id", "segment_not_found", "no such segment")
	ErrBannedWords = errs.E(errs.Invalid, "campaign_banned_words", "the copy uses banned efficacy words")
)

// MinWorkingDays is the review lead: DOMAIN.md, "Compliance and risk" (a
// joint review filed at least 3 working days before a campaign starts).
const MinWorkingDays = 3

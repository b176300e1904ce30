package campaign

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/points"
)

// JobRun is the job that runs a scheduled campaign at its start.
const JobRun = "campaign.run"

// Consent answers which buyers consented to a purpose (consent.Service).
type Consent interface {
	AllowedSet(ctx context.Context, buyerIDs []string, purpose consent.Purpose) (map[string]bool, error)
}

// Coupons issues a recall coupon once per key (coupon.Service.IssueOnce).
type Coupons interface {
	IssueOnce(ctx context.Context, templateID, buyerID, key string) (bool, error)
}

// Points grants task points once per key (points.Service.Grant, which
// answers points.ErrGranted for a key granted already).
type Points interface {
	Grant(ctx context.Context, g points.Grant) (*points.Movement, error)
}

// Messenger sends a subscription message once per (campaign, buyer); sent
// is false when it was sent already. The platform's subscription-message
// API is the production adapter; Sandbox records messages in an outbox
// the operator reads.
type Messenger interface {
	Send(ctx context.Context, m Message) (sent bool, err error)
}

// Sandbox is the Messenger that sends nothing: it keeps each message in
// the store's outbox (GET /admin/api/v1/campaigns/{id}/messages).
type Sandbox struct{ Store Store }

// Send records m.
func (x Sandbox) Send(ctx context.Context, m Message) (bool, error) {
	return x.Store.AddCampaignMessage(ctx, m)
}

// Scheduler enqueues the run at the start (the job table).
type Scheduler interface {
	Enqueue(ctx context.Context, js ...jobs.Job) error
}

// Service runs campaigns.
type Service struct {
	Store     Store
	Consent   Consent
	Coupons   Coupons
	Points    Points
	Messenger Messenger   // nil is Sandbox{Store}
	Jobs      Scheduler   // nil: no job at the start, only "run now"
	Audit     audit.Store // every step, whoever takes it
	Clock     clock.Clock
	Calendar  Calendar
	Banned    []string // nil is DefaultBannedWords
	BatchSize int      // members read per page; 0 is 500
}

// Limits on a campaign's input.
const (
	MaxName    = 100
	MaxActions = 5
	MaxPoints  = 100000
	MaxBudget  = 10000000
	MaxText    = 200
)

// NewCampaign is an operator's draft.
type NewCampaign struct {
	Name          string
	SegmentID     string
	Actions       []Action
	StartsAt      time.Time
	Budget        int
	FrequencyCap  int
	FrequencyDays int
	HoldoutBP     int
}

func (s *Service) banned() []string {
	if s.Banned != nil {
		return s.Banned
	}
	return DefaultBannedWords
}

// check collects every field error of a draft, the banned words included.
func (s *Service) check(in NewCampaign) error {
	var l errs.List
	if in.Name == "" || utf8.RuneCountInString(in.Name) > MaxName {
		l.Add("name", "required", "a name of 1 to %d characters", MaxName)
	}
	if !ids.Valid(in.SegmentID) {
		l.Add("segment_id", "invalid_id", "segment_id must be an id")
	}
	if len(in.Actions) == 0 || len(in.Actions) > MaxActions {
		l.Add("actions", "out_of_range", "1 to %d actions", MaxActions)
	}
	for _, a := range in.Actions {
		switch a.Kind {
		case IssueCoupon:
			if !ids.Valid(a.TemplateID) {
				l.Add("actions", "invalid_id", "issue_coupon needs a template_id")
			}
		case GrantPoints:
			if a.Points < 1 || a.Points > MaxPoints {
				l.Add("actions", "out_of_range", "grant_points gives 1 to %d points", MaxPoints)
			}
		case SendMessage:
			if a.Text == "" || utf8.RuneCountInString(a.Text) > MaxText {
				l.Add("actions", "out_of_range", "send_message has a text of 1 to %d characters", MaxText)
			}
			if w := BannedWords(s.banned(), a.Text); len(w) > 0 {
				l.Add("actions", ErrBannedWords.Code, "banned efficacy words: %s", strings.Join(w, ", "))
			}
		default:
			l.Add("actions", "unknown_action", "an action is issue_coupon, grant_points or send_message")
		}
	}
	if in.StartsAt.IsZero() {
		l.Add("starts_at", "required", "starts_at is required")
	}
	if in.Budget < 0 || in.Budget > MaxBudget {
		l.Add("budget", "out_of_range", "budget is 0 (no cap) to %d buyers", MaxBudget)
	}
	if in.FrequencyCap < 0 || in.FrequencyCap > 100 {
		l.Add("frequency_cap", "out_of_range", "frequency_cap is 0 (no cap) to 100")
	}
	if in.FrequencyCap > 0 && (in.FrequencyDays < 1 || in.FrequencyDays > 365) {
		l.Add("frequency_days", "out_of_range", "frequency_days is 1 to 365 with a cap")
	}
	if in.HoldoutBP < 0 || in.HoldoutBP > 5000 {
		l.Add("holdout_bp", "out_of_range", "holdout_bp is 0 to 5000")
	}
	if w := BannedWords(s.banned(), in.Name); len(w) > 0 {
		l.Add("name", ErrBannedWords.Code, "banned efficacy words: %s", strings.Join(w, ", "))
	}
	return l.Err()
}

// Create saves a draft.
func (s *Service) Create(ctx context.Context, actorID string, in NewCampaign) (*Campaign, error) {
	if err := s.check(in); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	c := &Campaign{ID: ids.New(), Name: in.Name, SegmentID: in.SegmentID, Actions: in.Actions, StartsAt: in.StartsAt.UTC(),
		Budget: in.Budget, FrequencyCap: in.FrequencyCap, FrequencyDays: in.FrequencyDays, HoldoutBP: in.HoldoutBP,
		Status: Draft, AuthorID: actorID, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateCampaign(ctx, c); err != nil {
		return nil, err
	}
	return c, s.audit(ctx, actorID, "campaign.create", c.ID)
}

// Get reads one campaign.
func (s *Service) Get(ctx context.Context, id string) (*Campaign, error) {
	if !ids.Valid(id) {
		return nil, ErrNotFound
	}
	return s.Store.Campaign(ctx, id)
}

// Messages lists what the sandbox outbox holds for a campaign.
func (s *Service) Messages(ctx context.Context, id string) ([]Message, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	return s.Store.CampaignMessages(ctx, id, 500)
}

func (s *Service) messenger() Messenger {
	if s.Messenger != nil {
		return s.Messenger
	}
	return Sandbox{Store: s.Store}
}

// List lists the newest campaigns.
func (s *Service) List(ctx context.Context) ([]Campaign, error) { return s.Store.Campaigns(ctx, 200) }

// Submit files a draft (or a rejected campaign) for review: at least
// MinWorkingDays working days before its start, with clean copy.
func (s *Service) Submit(ctx context.Context, actorID, id string) (*Campaign, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Status != Draft && c.Status != Rejected {
		return nil, ErrStatus
	}
	if err := s.check(NewCampaign{Name: c.Name, SegmentID: c.SegmentID, Actions: c.Actions, StartsAt: c.StartsAt, Budget: c.Budget,
		FrequencyCap: c.FrequencyCap, FrequencyDays: c.FrequencyDays, HoldoutBP: c.HoldoutBP}); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if s.Calendar.WorkingDaysBetween(now, c.StartsAt) < MinWorkingDays {
		return nil, ErrTooLate
	}
	from := c.Status
	c.Status, c.SubmittedAt, c.UpdatedAt = Submitted, &now, now
	c.ReviewerID, c.ReviewNote, c.ReviewedAt = "", "", nil
	if err := s.Store.SaveCampaign(ctx, c, from); err != nil {
		return nil, err
	}
	return c, s.audit(ctx, actorID, "campaign.submit", c.ID)
}

// Review approves (and so schedules) or rejects a submitted campaign. The
// reviewer is never the author: the joint review is a second pair of eyes.
func (s *Service) Review(ctx context.Context, reviewerID, id string, approve bool, note string) (*Campaign, error) {
	if utf8.RuneCountInString(note) > 500 {
		return nil, errs.Field("note", "too_long", "a note of at most 500 characters")
	}
	c, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Status != Submitted {
		return nil, ErrStatus
	}
	if c.AuthorID == reviewerID {
		return nil, ErrOwnReview
	}
	now := s.Clock.Now()
	c.ReviewerID, c.ReviewNote, c.ReviewedAt, c.UpdatedAt = reviewerID, note, &now, now
	c.Status = Rejected
	action := "campaign.reject"
	if approve {
		c.Status, action = Scheduled, "campaign.approve"
	}
	if err := s.Store.SaveCampaign(ctx, c, Submitted); err != nil {
		return nil, err
	}
	if approve && s.Jobs != nil {
		if err := s.Jobs.Enqueue(ctx, jobs.New(JobRun, c.ID, c.StartsAt, struct{}{})); err != nil {
			return nil, err
		}
	}
	return c, s.audit(ctx, reviewerID, action, c.ID)
}

func (s *Service) audit(ctx context.Context, actorID, action, id string) error {
	if s.Audit == nil {
		return nil
	}
	role := "operator"
	if actorID == "" {
		actorID, role = "system", "system"
	}
	return s.Audit.RecordAudit(ctx, audit.Entry{ID: ids.New(), At: s.Clock.Now(), ActorID: actorID, Role: role,
		Action: action, Target: id, Status: 200})
}

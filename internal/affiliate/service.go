package affiliate

import (
	"context"
	"crypto/rand"
	"log/slog"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/share"
)

// Orders is what distribution reads of the order capability.
type Orders interface {
	Order(ctx context.Context, id string) (*order.Order, error)
}

// Touches is what binding reads of the share capability: the visits of
// others' links a buyer made, each with its share.
type Touches interface {
	ShareTouches(ctx context.Context, visitorID string, from, to time.Time) ([]share.Touch, error)
}

// Book is what distribution needs of the ledger beside the transfers its
// store writes: its accounts, and the balances the liability view checks.
type Book interface {
	CreateAccount(ctx context.Context, a ledger.Account) error
	Balances(ctx context.Context) ([]ledger.Balance, error)
}

// Payees gives the openid a promoter's wallet is paid to.
type Payees interface {
	OpenID(ctx context.Context, buyerID string) (string, error)
}

// Service runs the distribution rules.
type Service struct {
	Store   Store
	Orders  Orders
	Touches Touches
	Book    Book
	Audit   audit.Store
	Jobs    jobs.Store
	Payouts Payouts
	Payees  Payees
	Clock   clock.Clock
	Log     *slog.Logger

	ready bool
	mu    sync.Mutex
}

// Operator is who acts in the admin API.
type Operator struct {
	ID   string
	Role string
}

// ActionTierSignOff is the audit log's action for the owner's legal
// sign-off of a third tier: the program's check reads it back.
const ActionTierSignOff = "affiliate.tier3_legal_signoff"

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// ensureAccounts creates distribution's ledger accounts, once per process
// (CreateAccount is idempotent; a failure is retried on the next call).
func (s *Service) ensureAccounts(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready {
		return nil
	}
	for _, a := range Accounts {
		if err := s.Book.CreateAccount(ctx, a); err != nil {
			return err
		}
	}
	s.ready = true
	return nil
}

// Program returns the program in force: the stored one, or the default.
func (s *Service) Program(ctx context.Context) (Program, error) {
	p, err := s.Store.AffiliateProgram(ctx)
	if errs.Is(err, ErrNoProgram.Code) {
		return DefaultProgram(), nil
	}
	if err != nil {
		return Program{}, err
	}
	return *p, nil
}

// SetProgram saves an operator's program. A third tier needs the owner's
// legal sign-off in the audit log: the check reads the log, so the
// sign-off cannot be claimed without being there.
func (s *Service) SetProgram(ctx context.Context, op Operator, p Program) (Program, error) {
	var signed *SignOff
	if p.Tiers > FreeTiers {
		var err error
		if signed, err = s.findSignOff(ctx); err != nil {
			return Program{}, err
		}
	}
	if p.Activities == nil {
		p.Activities = map[string]bool{}
	}
	if err := p.Validate(signed != nil); err != nil {
		return Program{}, err
	}
	p.TierSignOff, p.UpdatedAt, p.UpdatedBy = signed, s.Clock.Now().UTC(), op.ID
	if err := s.Store.SaveAffiliateProgram(ctx, &p); err != nil {
		return Program{}, err
	}
	return p, nil
}

// SignOffThirdTier records the owner's legal sign-off of a third tier in
// the audit log, with who and when. Only the owner may give it.
func (s *Service) SignOffThirdTier(ctx context.Context, op Operator) (SignOff, error) {
	if op.Role != "owner" {
		return SignOff{}, ErrForbidden
	}
	e := audit.Entry{ID: ids.New(), At: s.Clock.Now().UTC(), ActorID: op.ID, Role: op.Role,
		Action: ActionTierSignOff, Target: "affiliate.tiers", Status: 200}
	e.RequestID = e.ID
	if err := s.Audit.RecordAudit(ctx, e); err != nil {
		return SignOff{}, err
	}
	return SignOff{AuditID: e.ID, ActorID: e.ActorID, At: e.At}, nil
}

// findSignOff looks for the latest sign-off in the audit log, newest
// first; nil if there is none.
func (s *Service) findSignOff(ctx context.Context) (*SignOff, error) {
	f := audit.Filter{Limit: audit.MaxLimit}
	for {
		page, err := s.Audit.AuditEntries(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Entries {
			if e.Action == ActionTierSignOff && e.Role == "owner" {
				return &SignOff{AuditID: e.ID, ActorID: e.ActorID, At: e.At}, nil
			}
		}
		if page.NextCursor == "" {
			return nil, nil
		}
		f.Cursor = page.NextCursor
	}
}

// Rules lists the rate rules.
func (s *Service) Rules(ctx context.Context) ([]Rule, error) { return s.Store.CommissionRules(ctx) }

// SetRule saves a rate rule, checked against the program in force.
func (s *Service) SetRule(ctx context.Context, r Rule) (Rule, error) {
	p, err := s.Program(ctx)
	if err != nil {
		return Rule{}, err
	}
	if err := r.Validate(p); err != nil {
		return Rule{}, err
	}
	r.UpdatedAt = s.Clock.Now().UTC()
	return r, s.Store.SaveCommissionRule(ctx, r)
}

// DeleteRule removes a rate rule.
func (s *Service) DeleteRule(ctx context.Context, scope Scope, targetID string) error {
	return s.Store.DeleteCommissionRule(ctx, scope, targetID)
}

// codeAlphabet has no 0/O or 1/I/L, so a code read aloud is typed right.
const codeAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func newInviteCode() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b)
}

// Apply makes a buyer a promoter, or an applicant when an operator
// approves. It asks for nothing: no fee, no purchase (DOMAIN.md). A
// rejected applicant may apply again.
func (s *Service) Apply(ctx context.Context, buyerID string) (*Promoter, error) {
	p, err := s.Program(ctx)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now().UTC()
	if cur, err := s.Store.Promoter(ctx, buyerID); err == nil {
		if cur.Status != Rejected {
			return cur, nil
		}
		return s.Store.UpdatePromoter(ctx, buyerID, func(x *Promoter) error {
			if x.Status != Rejected {
				return ErrNoop
			}
			x.Status, x.AppliedAt, x.DecidedAt, x.DecidedBy, x.Note = Applied, now, nil, "", ""
			return nil
		})
	} else if !errs.Is(err, ErrNotPromoter.Code) {
		return nil, err
	}
	pr := &Promoter{ID: buyerID, Status: Applied, AppliedAt: now}
	if p.AutoApprove {
		if err := s.openAccount(ctx, buyerID); err != nil {
			return nil, err
		}
		pr.Status, pr.DecidedAt, pr.DecidedBy = Approved, &now, "auto"
	}
	for range 5 {
		pr.InviteCode = newInviteCode()
		err = s.Store.CreatePromoter(ctx, pr)
		switch {
		case err == nil:
			return pr, nil
		case errs.Is(err, ErrAlreadyPromoter.Code):
			return s.Store.Promoter(ctx, buyerID)
		case !errs.Is(err, ErrCodeTaken.Code):
			return nil, err
		}
	}
	return nil, err
}

func (s *Service) openAccount(ctx context.Context, promoterID string) error {
	if err := s.ensureAccounts(ctx); err != nil {
		return err
	}
	return s.Book.CreateAccount(ctx, PromoterAccount(promoterID))
}

// Decide is an operator approving or rejecting an application.
func (s *Service) Decide(ctx context.Context, op Operator, id string, approve bool, note string) (*Promoter, error) {
	if approve {
		if err := s.openAccount(ctx, id); err != nil {
			return nil, err
		}
	}
	now := s.Clock.Now().UTC()
	return s.Store.UpdatePromoter(ctx, id, func(p *Promoter) error {
		want := Rejected
		if approve {
			want = Approved
		}
		if p.Status == want {
			return ErrNoop
		}
		if p.Status != Applied {
			return ErrDecided
		}
		p.Status, p.DecidedAt, p.DecidedBy, p.Note = want, &now, op.ID, note
		return nil
	})
}

// Promoter returns one promoter.
func (s *Service) Promoter(ctx context.Context, id string) (*Promoter, error) {
	return s.Store.Promoter(ctx, id)
}

// Promoters lists promoters.
func (s *Service) Promoters(ctx context.Context, f PromoterFilter) (PromoterPage, error) {
	f.Limit = Limit(f.Limit)
	return s.Store.Promoters(ctx, f)
}

// approved returns the promoter if approved; ErrNotApproved otherwise.
func (s *Service) approved(ctx context.Context, id string) (*Promoter, error) {
	p, err := s.Store.Promoter(ctx, id)
	if errs.Is(err, ErrNotPromoter.Code) {
		return nil, ErrNotApproved
	}
	if err != nil {
		return nil, err
	}
	if p.Status != Approved {
		return nil, ErrNotApproved
	}
	return p, nil
}

// BindResult is a binding and whether this call made it.
type BindResult struct {
	Binding *Binding `json:"binding"`
	Changed bool     `json:"changed"`
}

// BindByCode binds a buyer through a promoter's invite code, entered on
// deviceID ("" when the client named none), as the mode allows: under
// first touch an existing binding stays, and the answer says so.
func (s *Service) BindByCode(ctx context.Context, buyerID, code, deviceID string) (BindResult, error) {
	pr, err := s.Store.PromoterByCode(ctx, code)
	if errs.Is(err, ErrNotPromoter.Code) {
		return BindResult{}, ErrBadCode
	}
	if err != nil {
		return BindResult{}, err
	}
	if pr.Status != Approved {
		return BindResult{}, ErrBadCode
	}
	return s.bind(ctx, Binding{BuyerID: buyerID, PromoterID: pr.ID, Via: ViaInviteCode, Ref: code,
		DeviceID: deviceID, BoundAt: s.Clock.Now().UTC()})
}

func (s *Service) bind(ctx context.Context, b Binding) (BindResult, error) {
	p, err := s.Program(ctx)
	if err != nil {
		return BindResult{}, err
	}
	changed := false
	got, err := s.Store.Bind(ctx, b, func(cur, next *Binding, chain []string) error {
		err := decideBinding(p, cur, next, chain)
		changed = err == nil
		return err
	})
	if err != nil {
		return BindResult{}, err
	}
	return BindResult{Binding: got, Changed: changed}, nil
}

// catchUp binds a buyer through the share links of promoters they opened
// before t, oldest first, each as the mode allows: share visits are the
// share capability's, and a visit binds when distribution next looks (at
// payment), with the visit's own time and device. A link of a buyer who is not an
// approved promoter binds nobody; a link that would bind a buyer to
// themselves or close a cycle is skipped.
func (s *Service) catchUp(ctx context.Context, buyerID string, t time.Time) error {
	from := time.Unix(0, 0).UTC()
	if cur, err := s.Store.Binding(ctx, buyerID); err == nil {
		from = cur.BoundAt
	} else if !errs.Is(err, ErrNotBound.Code) {
		return err
	}
	touches, err := s.Touches.ShareTouches(ctx, buyerID, from, t)
	if err != nil {
		return err
	}
	for i := len(touches) - 1; i >= 0; i-- {
		tc := touches[i]
		if tc.Share.TargetKind != share.Product && tc.Share.TargetKind != share.PromoterPage {
			continue
		}
		if _, err := s.approved(ctx, tc.Share.SharerID); err != nil {
			if errs.Is(err, ErrNotApproved.Code) {
				continue
			}
			return err
		}
		_, err := s.bind(ctx, Binding{BuyerID: buyerID, PromoterID: tc.Share.SharerID, Via: ViaShare,
			Ref: tc.Share.ID, DeviceID: tc.Visit.DeviceID, BoundAt: tc.Visit.At.UTC()})
		if err != nil && !errs.Is(err, ErrSelfBinding.Code) && !errs.Is(err, ErrCycle.Code) {
			return err
		}
	}
	return nil
}

// PromoterPageExists tells the share capability whether a promoter page
// may be shared: only an approved promoter's.
func (s *Service) PromoterPageExists(ctx context.Context, id string) (bool, error) {
	_, err := s.approved(ctx, id)
	if errs.Is(err, ErrNotApproved.Code) {
		return false, nil
	}
	return err == nil, err
}

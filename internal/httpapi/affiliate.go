package httpapi

import (
	"context"
	"net/http"
	"slices"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Who may do what in distribution: operators run the program and approve
// promoters; finance reads it and decides withdrawals; the owner alone signs
// off a third tier (DOMAIN.md, "Distribution").
var (
	affiliateReadRoles     = []identity.Role{identity.Operator, identity.Finance}
	affiliateWriteRoles    = []identity.Role{identity.Operator}
	affiliateFinanceRoles  = []identity.Role{identity.Finance}
	affiliateSignOffRoles  []identity.Role // the owner's alone
	maxAffiliateNote       = 200
	maxInviteCode          = 16
	maxWithdrawal          = money.Fen(100000000)
	affiliateWithdrawalSts = func() []string {
		var out []string
		for _, s := range affiliate.WithdrawalStates {
			out = append(out, string(s))
		}
		return out
	}()
)

// affiliateRoutes registers the distribution API, buyer and admin.
func (a *api) affiliateRoutes() {
	a.handle("POST /api/v1/affiliate/promoter", a.buyer(a.applyPromoter))
	a.handle("GET /api/v1/affiliate/me", a.buyer(a.myAffiliate))
	a.handle("POST /api/v1/affiliate/bindings", a.buyer(a.bindByCode))
	a.handle("GET /api/v1/affiliate/commissions", a.buyer(a.myCommissions))
	a.handle("GET /api/v1/affiliate/team", a.buyer(a.myTeam))
	a.handle("POST /api/v1/affiliate/withdrawals", a.buyer(a.idempotent(a.withdraw)))
	a.handle("GET /api/v1/affiliate/withdrawals", a.buyer(a.myWithdrawals))

	a.handle("GET /admin/api/v1/affiliate/program", a.admin(affiliateReadRoles, a.getProgram))
	a.handle("PUT /admin/api/v1/affiliate/program", a.admin(affiliateWriteRoles, a.putProgram))
	a.handle("POST /admin/api/v1/affiliate/tier3-signoff", a.admin(affiliateSignOffRoles, a.signOffThirdTier))
	a.handle("GET /admin/api/v1/affiliate/rules", a.admin(affiliateReadRoles, a.listRules))
	a.handle("PUT /admin/api/v1/affiliate/rules/{scope}/{id}", a.admin(affiliateWriteRoles, a.putRule))
	a.handle("DELETE /admin/api/v1/affiliate/rules/{scope}/{id}", a.admin(affiliateWriteRoles, a.deleteRule))
	a.handle("GET /admin/api/v1/affiliate/promoters", a.admin(affiliateReadRoles, a.listPromoters))
	a.handle("POST /admin/api/v1/affiliate/promoters/{id}/approve", a.admin(affiliateWriteRoles, a.decidePromoter(true)))
	a.handle("POST /admin/api/v1/affiliate/promoters/{id}/reject", a.admin(affiliateWriteRoles, a.decidePromoter(false)))
	a.handle("GET /admin/api/v1/affiliate/top", a.admin(affiliateReadRoles, a.topPromoters))
	a.handle("GET /admin/api/v1/affiliate/liability", a.admin(affiliateReadRoles, a.liability))
	a.handle("GET /admin/api/v1/affiliate/suspicious", a.admin(affiliateReadRoles, a.suspicious))
	a.handle("GET /admin/api/v1/affiliate/withdrawals", a.admin(affiliateReadRoles, a.listWithdrawals))
	a.handle("POST /admin/api/v1/affiliate/withdrawals/{id}/approve", a.admin(affiliateFinanceRoles, a.decideWithdrawal(true)))
	a.handle("POST /admin/api/v1/affiliate/withdrawals/{id}/reject", a.admin(affiliateFinanceRoles, a.decideWithdrawal(false)))
}

func operatorOf(p identity.Principal) affiliate.Operator {
	return affiliate.Operator{ID: p.ID, Role: string(p.Role)}
}

// emptyRequest is the body of a POST that takes no input: {} and nothing
// else.
type emptyRequest struct{}

func (a *api) applyPromoter(w http.ResponseWriter, r *http.Request, buyerID string) {
	if err := decode(r, &emptyRequest{}); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Affiliates.Apply(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, p)
}

// affiliateMe is a buyer's own view: who brought them is masked.
type affiliateMe struct {
	Promoter *affiliate.Promoter `json:"promoter"`
	Earnings affiliate.Earnings  `json:"earnings"`
	BoundTo  string              `json:"bound_to,omitempty"`
}

func (a *api) myAffiliate(w http.ResponseWriter, r *http.Request, buyerID string) {
	st, err := a.d.Affiliates.MyStatus(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, affiliateMe{Promoter: st.Promoter, Earnings: st.Earnings, BoundTo: st.BoundToMasked})
}

type bindRequest struct {
	InviteCode string `json:"invite_code"`
}

// bindAnswer says to whom the buyer is bound now (masked) and whether this
// request changed it.
type bindAnswer struct {
	BoundTo   string        `json:"bound_to"`
	Via       affiliate.Via `json:"via"`
	BoundAt   string        `json:"bound_at"`
	ExpiresAt string        `json:"expires_at,omitempty"`
	Changed   bool          `json:"changed"`
}

func (a *api) bindByCode(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req bindRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.InviteCode == "" || utf8.RuneCountInString(req.InviteCode) > maxInviteCode {
		writeError(w, r, affiliate.ErrBadCode)
		return
	}
	device, err := deviceID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	res, err := a.d.Affiliates.BindByCode(r.Context(), buyerID, req.InviteCode, device)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := bindAnswer{BoundTo: affiliate.Mask(res.Binding.PromoterID), Via: res.Binding.Via,
		BoundAt: res.Binding.BoundAt.UTC().Format(timeFormat), Changed: res.Changed}
	if res.Binding.ExpiresAt != nil {
		out.ExpiresAt = res.Binding.ExpiresAt.UTC().Format(timeFormat)
	}
	writeJSON(w, r, http.StatusOK, out)
}

const timeFormat = "2006-01-02T15:04:05.999999999Z07:00"

func (a *api) myCommissions(w http.ResponseWriter, r *http.Request, buyerID string) {
	q := newQuery(r, "cursor", "limit")
	f := affiliate.CommissionFilter{PromoterID: buyerID, Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Affiliates.Commissions(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) myTeam(w http.ResponseWriter, r *http.Request, buyerID string) {
	q := newQuery(r, "tier", "cursor", "limit")
	tier := 1
	if q.oneOf("tier", "1", "2") == "2" {
		tier = 2
	}
	f := affiliate.TeamFilter{Tier: tier, Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Affiliates.Team(r.Context(), buyerID, f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

type withdrawRequest struct {
	Amount money.Fen `json:"amount"`
}

func (a *api) withdraw(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req withdrawRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Amount <= 0 || req.Amount > maxWithdrawal {
		writeError(w, r, errs.Field("amount", "out_of_range", "amount must be 1 to %d fen", maxWithdrawal))
		return
	}
	wd, err := a.d.Affiliates.Withdraw(r.Context(), buyerID, req.Amount)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, wd)
}

func (a *api) myWithdrawals(w http.ResponseWriter, r *http.Request, buyerID string) {
	q := newQuery(r, "cursor", "limit")
	f := affiliate.WithdrawalFilter{PromoterID: buyerID, Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Affiliates.Withdrawals(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) getProgram(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	p, err := a.d.Affiliates.Program(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, p)
}

// programRequest is the body of PUT /admin/api/v1/affiliate/program. It has
// no field for an entry fee or a qualifying purchase: there is none.
type programRequest struct {
	AutoApprove  bool                      `json:"auto_approve"`
	Binding      string                    `json:"binding"`
	BindDays     int                       `json:"bind_days"`
	Tiers        int                       `json:"tiers"`
	Rates        []money.BP                `json:"rates"`
	MaxShare     money.BP                  `json:"max_share"`
	SelfPurchase bool                      `json:"self_purchase"`
	Activities   map[string]bool           `json:"activities"`
	SettleDays   int                       `json:"settle_days"`
	Withdrawals  affiliate.WithdrawalRules `json:"withdrawals"`
}

func (req programRequest) toProgram() affiliate.Program {
	return affiliate.Program{AutoApprove: req.AutoApprove, Binding: affiliate.BindMode(req.Binding), BindDays: req.BindDays,
		Tiers: req.Tiers, Rates: req.Rates, MaxShare: req.MaxShare, SelfPurchase: req.SelfPurchase,
		Activities: req.Activities, SettleDays: req.SettleDays, Withdrawals: req.Withdrawals}
}

func (a *api) putProgram(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	var req programRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	got, err := a.d.Affiliates.SetProgram(r.Context(), operatorOf(p), req.toProgram())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, got)
}

func (a *api) signOffThirdTier(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	if err := decode(r, &emptyRequest{}); err != nil {
		writeError(w, r, err)
		return
	}
	so, err := a.d.Affiliates.SignOffThirdTier(r.Context(), operatorOf(p))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, so)
}

// ruleList is the rate rules.
type ruleList struct {
	Items []affiliate.Rule `json:"items"`
}

func (a *api) listRules(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	rs, err := a.d.Affiliates.Rules(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, ruleList{Items: rs})
}

type ruleRequest struct {
	Rates []money.BP `json:"rates"`
}

// ruleTarget parses the scope and id of a rule's path.
func ruleTarget(r *http.Request) (affiliate.Scope, string, error) {
	scope, id := affiliate.Scope(r.PathValue("scope")), r.PathValue("id")
	if !slices.Contains([]affiliate.Scope{affiliate.ScopeProduct, affiliate.ScopeSKU}, scope) || !ids.Valid(id) {
		return "", "", affiliate.ErrRuleNotFound
	}
	return scope, id, nil
}

func (a *api) putRule(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	scope, id, err := ruleTarget(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req ruleRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	rule, err := a.d.Affiliates.SetRule(r.Context(), affiliate.Rule{Scope: scope, TargetID: id, Rates: req.Rates})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, rule)
}

func (a *api) deleteRule(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	scope, id, err := ruleTarget(r)
	if err == nil {
		err = a.d.Affiliates.DeleteRule(r.Context(), scope, id)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) listPromoters(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "status", "cursor", "limit")
	f := affiliate.PromoterFilter{
		Status: affiliate.PromoterStatus(q.oneOf("status", string(affiliate.Applied), string(affiliate.Approved), string(affiliate.Rejected))),
		Cursor: q.cursor(), Limit: q.limit(),
	}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Affiliates.Promoters(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

type decisionRequest struct {
	Note string `json:"note"`
}

func (req decisionRequest) check() error {
	if !utf8.ValidString(req.Note) || utf8.RuneCountInString(req.Note) > maxAffiliateNote {
		return errs.Field("note", "too_long", "note must be at most %d characters", maxAffiliateNote)
	}
	return nil
}

func (a *api) decidePromoter(approve bool) adminHandler {
	return decideAffiliate(affiliate.ErrNotPromoter, func(ctx context.Context, op affiliate.Operator, id, note string) (any, error) {
		return a.d.Affiliates.Decide(ctx, op, id, approve, note)
	})
}

// statsList is a list of promoters' numbers.
type statsList struct {
	Items any `json:"items"`
}

func (a *api) topPromoters(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "limit")
	limit := q.limit()
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	top, err := a.d.Affiliates.Top(r.Context(), limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, statsList{Items: top})
}

func (a *api) liability(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	l, err := a.d.Affiliates.Liability(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, l)
}

func (a *api) suspicious(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	s, err := a.d.Affiliates.Suspicious(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, statsList{Items: s})
}

func (a *api) listWithdrawals(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "state", "promoter_id", "cursor", "limit")
	f := affiliate.WithdrawalFilter{State: affiliate.WithdrawalState(q.oneOf("state", affiliateWithdrawalSts...)),
		PromoterID: q.id("promoter_id"), Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Affiliates.Withdrawals(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) decideWithdrawal(approve bool) adminHandler {
	return decideAffiliate(affiliate.ErrWithdrawalNotFound, func(ctx context.Context, op affiliate.Operator, id, note string) (any, error) {
		return a.d.Affiliates.DecideWithdrawal(ctx, op, id, approve, note)
	})
}

// decideAffiliate is an operator's approval or rejection of the object
// named by the path, with a note: a malformed id is the object's not-found.
func decideAffiliate(notFound error, decide func(ctx context.Context, op affiliate.Operator, id, note string) (any, error)) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) {
		var req decisionRequest
		if err := decode(r, &req); err != nil {
			writeError(w, r, err)
			return
		}
		if err := req.check(); err != nil {
			writeError(w, r, err)
			return
		}
		id := r.PathValue("id")
		if !ids.Valid(id) {
			writeError(w, r, notFound)
			return
		}
		got, err := decide(r.Context(), operatorOf(p), id, req.Note)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, got)
	}
}

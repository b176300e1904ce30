package httpapi

import (
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Who may see consents and publish policies. Reading a buyer's consent
// history is evidence work for operators and the compliance reviewer;
// publishing a new policy version voids every consent to that purpose, so
// it is the reviewer's (legal sign-off) and the owner's alone.
var (
	consentReadRoles    = []identity.Role{identity.Operator, identity.Reviewer}
	consentPublishRoles = []identity.Role{identity.Reviewer}
)

// consentRoutes registers consents (package consent) and data rights
// (package datarights). See docs/privacy.md.
func (a *api) consentRoutes() {
	a.handle("GET /api/v1/consent-policies", http.HandlerFunc(a.listPublicPolicies))
	a.handle("GET /api/v1/consents", a.buyer(a.listMyConsents))
	a.handle("POST /api/v1/consents/{purpose}/grant", a.buyer(a.grantConsent))
	a.handle("POST /api/v1/consents/{purpose}/withdraw", a.buyer(a.withdrawConsent))
	a.handle("GET /api/v1/me/data-export", a.buyer(a.exportMyData))
	a.handle("POST /api/v1/me/erasure", a.buyer(a.eraseMe))

	a.handle("GET /admin/api/v1/consent-policies", a.admin(consentReadRoles, a.adminListPolicies))
	a.handle("POST /admin/api/v1/consent-policies", a.admin(consentPublishRoles, a.publishPolicy))
	a.handle("GET /admin/api/v1/buyers/{id}/consents", a.admin(consentReadRoles, a.buyerConsents))
}

type policyList struct {
	Items []consent.PolicySet `json:"items"`
}

type consentStates struct {
	Items []consent.State `json:"items"`
}

// purposeOf is the {purpose} of the path; an unknown one is a 400 naming
// the field, as a wrong value in a body would be.
func purposeOf(r *http.Request) (consent.Purpose, error) {
	p := consent.Purpose(r.PathValue("purpose"))
	if !p.Valid() {
		return "", consent.ErrUnknownPurpose
	}
	return p, nil
}

// listPublicPolicies shows buyers what they consent to; who published a
// version is the shop's business, not theirs.
func (a *api) listPublicPolicies(w http.ResponseWriter, r *http.Request) {
	sets, err := a.d.Consent.PolicyVersions(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	for i := range sets {
		for j := range sets[i].Versions {
			sets[i].Versions[j].PublishedBy = ""
		}
	}
	writeJSON(w, r, http.StatusOK, policyList{Items: sets})
}

func (a *api) listMyConsents(w http.ResponseWriter, r *http.Request, buyerID string) {
	st, err := a.d.Consent.States(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, consentStates{Items: st})
}

// grantRequest names the version the buyer was shown: a consent counts
// only for the text it was given to.
type grantRequest struct {
	PolicyVersion int `json:"policy_version"`
}

func (a *api) grantConsent(w http.ResponseWriter, r *http.Request, buyerID string) {
	p, err := purposeOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req grantRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	st, err := a.d.Consent.Grant(r.Context(), buyerID, p, req.PolicyVersion)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, st)
}

// withdrawConsent takes no body: withdrawing must be as easy as granting
// (PIPL art. 15), so there is nothing to fill in.
func (a *api) withdrawConsent(w http.ResponseWriter, r *http.Request, buyerID string) {
	p, err := purposeOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	st, err := a.d.Consent.Withdraw(r.Context(), buyerID, p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, st)
}

func (a *api) exportMyData(w http.ResponseWriter, r *http.Request, buyerID string) {
	x, err := a.d.DataRights.Export(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="siyu-my-data.json"`)
	writeJSON(w, r, http.StatusOK, x)
}

// eraseMe erases the caller; their session ends with it, so a repeat from
// the same client is a 401, and the service is idempotent for any other
// path that repeats it.
func (a *api) eraseMe(w http.ResponseWriter, r *http.Request, buyerID string) {
	e, err := a.d.DataRights.Erase(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, e)
}

func (a *api) adminListPolicies(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	sets, err := a.d.Consent.PolicyVersions(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, policyList{Items: sets})
}

type publishRequest struct {
	Purpose string `json:"purpose"`
	Summary string `json:"summary"`
}

func (a *api) publishPolicy(w http.ResponseWriter, r *http.Request, op identity.Principal) {
	var req publishRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Consent.Publish(r.Context(), consent.Purpose(req.Purpose), req.Summary, op.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, p)
}

// maskedBuyer is who a consent history belongs to, as an operator may see
// them: the id, and the default address's name and phone masked by
// identity's rules (DOMAIN.md: masked wherever an operator sees it).
type maskedBuyer struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Name      string    `json:"name,omitempty"`
	Phone     string    `json:"phone,omitempty"`
}

type buyerConsentView struct {
	Buyer      maskedBuyer      `json:"buyer"`
	States     []consent.State  `json:"states"`
	History    []consent.Record `json:"items"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

func (a *api) buyerConsents(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id := r.PathValue("id")
	q := newQuery(r, "cursor", "limit")
	f := consent.HistoryFilter{BuyerID: id, Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	if !ids.Valid(id) {
		writeError(w, r, identity.ErrBuyerNotFound)
		return
	}
	ctx := r.Context()
	b, err := a.d.Identity.Store.Buyer(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	view := buyerConsentView{Buyer: maskedBuyer{ID: b.ID, CreatedAt: b.CreatedAt}}
	addrs, err := a.d.Identity.Addresses(ctx, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if len(addrs) > 0 { // the default comes first
		view.Buyer.Name, view.Buyer.Phone = identity.MaskName(addrs[0].Name), identity.MaskPhone(addrs[0].Phone)
	}
	if view.States, err = a.d.Consent.States(ctx, id); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Consent.History(ctx, f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	view.History, view.NextCursor = page.Records, page.NextCursor
	writeJSON(w, r, http.StatusOK, view)
}

package httpapi

import (
	"context"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Who runs bargains: operators set them up and watch the helps; a
// compliance reviewer publishes (DOMAIN.md: the reviewer approves every
// activity before it goes live); both read the compliance checks.
var (
	bargainRoles      = []identity.Role{identity.Operator}
	bargainPublish    = []identity.Role{identity.Reviewer}
	bargainCheckRoles = []identity.Role{identity.Operator, identity.Reviewer}
)

// bargainRoutes registers the bargain API. An activity and a bargain are
// public to read (a helper arrives through a share card before anything
// else); opening, helping and ordering need the buyer's session.
func (a *api) bargainRoutes() {
	a.handle("GET /api/v1/bargain-activities/{id}", http.HandlerFunc(a.getBargainActivity))
	a.handle("POST /api/v1/bargain-activities/{id}/bargains", a.buyer(a.idempotent(a.openBargain)))
	a.handle("GET /api/v1/bargains/{id}", http.HandlerFunc(a.getBargain))
	a.handle("POST /api/v1/bargains/{id}/helps", a.buyer(a.idempotent(a.helpBargain)))
	a.handle("POST /api/v1/bargains/{id}/order", a.buyer(a.idempotent(a.orderBargain)))

	a.handle("POST /admin/api/v1/bargain-activities", a.admin(bargainRoles, a.createBargainActivity))
	a.handle("GET /admin/api/v1/bargain-activities", a.admin(bargainRoles, a.listBargainActivities))
	a.handle("GET /admin/api/v1/bargain-activities/{id}", a.admin(bargainRoles, a.bargainActivityAction(a.d.Bargains.Activity)))
	a.handle("PUT /admin/api/v1/bargain-activities/{id}", a.admin(bargainRoles, a.updateBargainActivity))
	a.handle("GET /admin/api/v1/bargain-activities/{id}/checks", a.admin(bargainCheckRoles, a.bargainChecks))
	a.handle("POST /admin/api/v1/bargain-activities/{id}/publish", a.admin(bargainPublish, a.bargainActivityAction(a.d.Bargains.Publish)))
	a.handle("POST /admin/api/v1/bargain-activities/{id}/end", a.admin(bargainRoles, a.bargainActivityAction(a.d.Bargains.End)))
	a.handle("GET /admin/api/v1/bargains", a.admin(bargainRoles, a.adminListBargains))
	a.handle("GET /admin/api/v1/bargain-helps", a.admin(bargainRoles, a.listBargainHelps))
	a.handle("POST /admin/api/v1/bargain-helps/{id}/approve", a.admin(bargainRoles, a.decideBargainHelp(a.d.Bargains.ApproveHelp)))
	a.handle("POST /admin/api/v1/bargain-helps/{id}/reject", a.admin(bargainRoles, a.decideBargainHelp(a.d.Bargains.RejectHelp)))
}

// bargainActivityRequest is the body that creates or replaces a draft. The
// optional numbers are pointers: absent takes the default, 0 is refused.
type bargainActivityRequest struct {
	Title         string                `json:"title"`
	Rules         string                `json:"rules"`
	ShareNotice   string                `json:"share_notice"`
	StartsAt      string                `json:"starts_at"`
	EndsAt        string                `json:"ends_at"`
	SKUID         string                `json:"sku_id"`
	FromPrice     money.Fen             `json:"from_price"`
	FloorPrice    money.Fen             `json:"floor_price"`
	Helpers       int                   `json:"helpers"`
	BargainHours  *int                  `json:"bargain_hours"`
	Reward        *bargainRewardRequest `json:"reward"`
	BuyAtCurrent  bool                  `json:"buy_at_current"`
	PayHours      *int                  `json:"pay_hours"`
	Quota         int                   `json:"quota"`
	PerBuyerLimit *int                  `json:"per_buyer_limit"`
	ShowSchedule  *bool                 `json:"show_schedule"`
	MaxDepth      *int                  `json:"max_depth"`
}

type bargainRewardRequest struct {
	Value            money.Fen `json:"value"`
	Description      string    `json:"description"`
	CouponTemplateID string    `json:"coupon_template_id"`
}

// toActivityInput parses the times; the bargain rules judge the rest.
func (req bargainActivityRequest) toActivityInput() (bargain.ActivityInput, error) {
	var l errs.List
	parse := func(field, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			l.Add(field, "invalid_time", "%s must be an RFC 3339 time, e.g. 2026-11-22T08:00:00+08:00", field)
		}
		return t
	}
	in := bargain.ActivityInput{
		Title: req.Title, Rules: req.Rules, ShareNotice: req.ShareNotice,
		StartsAt: parse("starts_at", req.StartsAt), EndsAt: parse("ends_at", req.EndsAt), SKUID: req.SKUID,
		FromPrice: req.FromPrice, FloorPrice: req.FloorPrice, Helpers: req.Helpers, BargainHours: req.BargainHours,
		BuyAtCurrent: req.BuyAtCurrent, PayHours: req.PayHours, Quota: req.Quota, PerBuyerLimit: req.PerBuyerLimit,
		ShowSchedule: req.ShowSchedule, MaxDepth: req.MaxDepth,
	}
	if req.Reward != nil {
		in.Reward = &bargain.Reward{Value: req.Reward.Value, Description: req.Reward.Description,
			CouponTemplateID: req.Reward.CouponTemplateID}
	}
	return in, l.Err()
}

// bargainActivityView is an activity with the schedule every bargain of it
// gets: DOMAIN.md's disclosure before the first share.
type bargainActivityView struct {
	*bargain.Activity
	Schedule []money.Fen `json:"schedule"`
}

func bargainActivityOf(act *bargain.Activity) bargainActivityView {
	return bargainActivityView{Activity: act, Schedule: act.Preview()}
}

type bargainActivityPage struct {
	Items      []bargainActivityView `json:"items"`
	NextCursor string                `json:"next_cursor,omitempty"`
}

// bargainView is a bargain as anyone may see it: its terms and progress,
// never who opened it, who helped, or the order.
type bargainView struct {
	ID           string      `json:"id"`
	ActivityID   string      `json:"activity_id"`
	SKUID        string      `json:"sku_id"`
	From         money.Fen   `json:"from_price"`
	Floor        money.Fen   `json:"floor_price"`
	Schedule     []money.Fen `json:"schedule"`
	Helpers      int         `json:"helpers"`
	Cuts         int         `json:"cuts_applied"`
	Price        money.Fen   `json:"price"`
	Status       string      `json:"status"`
	BuyAtCurrent bool        `json:"buy_at_current"`
	Ordered      bool        `json:"ordered"`
	ExpiresAt    time.Time   `json:"expires_at"`
	OrderBy      *time.Time  `json:"order_by,omitempty"`
	CreatedAt    time.Time   `json:"created_at"`
}

func publicBargain(b *bargain.Bargain) bargainView {
	return bargainView{ID: b.ID, ActivityID: b.ActivityID, SKUID: b.SKUID, From: b.From, Floor: b.Floor,
		Schedule: b.Schedule, Helpers: len(b.Schedule), Cuts: b.Cuts, Price: b.Price, Status: string(b.Status),
		BuyAtCurrent: b.BuyAtCurrent, Ordered: b.OrderID != "", ExpiresAt: b.ExpiresAt, OrderBy: b.OrderBy,
		CreatedAt: b.CreatedAt}
}

// bargainHelpView is what a helper learns of their help: the slot and the cut, or
// that it is held. Why it is held is the operators' to know.
type bargainHelpView struct {
	ID        string    `json:"id"`
	Slot      *int      `json:"slot,omitempty"`
	Amount    money.Fen `json:"amount"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
}

type bargainHelpAnswer struct {
	Help    bargainHelpView `json:"help"`
	Bargain bargainView     `json:"bargain"`
}

type bargainHelpDecision struct {
	Help    *bargain.Help    `json:"help"`
	Bargain *bargain.Bargain `json:"bargain"`
}

// bargainPathID is the {id} of the path; a malformed one names nothing.
func bargainPathID(r *http.Request, notFound error) (string, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", notFound
	}
	return id, nil
}

func (a *api) getBargainActivity(w http.ResponseWriter, r *http.Request) {
	id, err := bargainPathID(r, bargain.ErrActivityNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	act, err := a.d.Bargains.PublicActivity(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, bargainActivityOf(act))
}

func (a *api) openBargain(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := bargainPathID(r, bargain.ErrActivityNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	b, err := a.d.Bargains.Open(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, publicBargain(b))
}

func (a *api) getBargain(w http.ResponseWriter, r *http.Request) {
	id, err := bargainPathID(r, bargain.ErrNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	b, err := a.d.Bargains.Bargain(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, publicBargain(b))
}

// bargainPeerIP is the address the request came from: the connection's peer.
// siyu reads no forwarding header (a client could forge one); a deployment
// behind a proxy must make the proxy's peer address the client's (e.g. the
// PROXY protocol), or the per-IP limit counts the proxy.
func bargainPeerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (a *api) helpBargain(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := bargainPathID(r, bargain.ErrNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	device, err := deviceID(r)
	if err != nil || device == "" {
		writeError(w, r, bargain.ErrDeviceRequired)
		return
	}
	h, b, err := a.d.Bargains.Help(r.Context(), bargain.HelpInput{BargainID: id, HelperID: buyerID, DeviceID: device, IP: bargainPeerIP(r)})
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, bargainHelpAnswer{
		Help:    bargainHelpView{ID: h.ID, Slot: h.Slot, Amount: h.Amount, Status: string(h.Status), CreatedAt: h.CreatedAt},
		Bargain: publicBargain(b),
	})
}

// bargainOrderRequest is the body of a bargain's order: where to send it.
// The price is the bargain's; the body cannot name one.
type bargainOrderRequest struct {
	AddressID string `json:"address_id"`
	Remark    string `json:"remark"`
}

func (a *api) orderBargain(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := bargainPathID(r, bargain.ErrNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req bargainOrderRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	var l errs.List
	if !ids.Valid(req.AddressID) {
		l.Add("address_id", "invalid_id", "address_id must be the id of one of your addresses")
	}
	if !utf8.ValidString(req.Remark) || utf8.RuneCountInString(req.Remark) > maxRemark {
		l.Add("remark", "too_long", "remark is at most %d characters", maxRemark)
	}
	if err := l.Err(); err != nil {
		writeError(w, r, err)
		return
	}
	o, err := a.d.Bargains.Order(r.Context(), bargain.OrderInput{BuyerID: buyerID, BargainID: id, AddressID: req.AddressID, Remark: req.Remark})
	if err != nil {
		writeError(w, r, err)
		return
	}
	a.metrics.ordersPlaced.Inc()
	writeJSON(w, r, http.StatusCreated, orderView(o))
}

func (a *api) createBargainActivity(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req bargainActivityRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toActivityInput()
	if err != nil {
		writeError(w, r, err)
		return
	}
	act, err := a.d.Bargains.CreateActivity(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, bargainActivityOf(act))
}

func (a *api) updateBargainActivity(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := bargainPathID(r, bargain.ErrActivityNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req bargainActivityRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toActivityInput()
	if err != nil {
		writeError(w, r, err)
		return
	}
	act, err := a.d.Bargains.UpdateActivity(r.Context(), id, in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, bargainActivityOf(act))
}

// bargainActivityAction runs one service method on the activity of the
// path and answers with the activity.
func (a *api) bargainActivityAction(do func(ctx context.Context, id string) (*bargain.Activity, error)) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
		id, err := bargainPathID(r, bargain.ErrActivityNotFound)
		if err != nil {
			writeError(w, r, err)
			return
		}
		act, err := do(r.Context(), id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, bargainActivityOf(act))
	}
}

func (a *api) bargainChecks(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := bargainPathID(r, bargain.ErrActivityNotFound)
	if err != nil {
		writeError(w, r, err)
		return
	}
	rep, err := a.d.Bargains.Checks(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, rep)
}

func (a *api) listBargainActivities(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "status", "cursor", "limit")
	f := bargain.ActivityFilter{Status: bargain.ActivityStatus(q.oneOf("status", bargainEnum(bargain.ActivityStatuses)...)),
		Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Bargains.Activities(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := bargainActivityPage{Items: make([]bargainActivityView, len(page.Activities)), NextCursor: page.NextCursor}
	for i := range page.Activities {
		out.Items[i] = bargainActivityOf(&page.Activities[i])
	}
	writeJSON(w, r, http.StatusOK, out)
}

func (a *api) adminListBargains(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "activity_id", "status", "cursor", "limit")
	f := bargain.BargainFilter{ActivityID: q.id("activity_id"), Status: bargain.Status(q.oneOf("status", bargainEnum(bargain.Statuses)...)),
		Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Bargains.Bargains(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) listBargainHelps(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "bargain_id", "status", "cursor", "limit")
	f := bargain.HelpFilter{BargainID: q.id("bargain_id"), Status: bargain.HelpStatus(q.oneOf("status", bargainEnum(bargain.HelpStatuses)...)),
		Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Bargains.Helps(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

// decideBargainHelp approves or rejects a held help as the operator.
func (a *api) decideBargainHelp(decide func(ctx context.Context, id, operatorID string) (*bargain.Help, *bargain.Bargain, error)) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, op identity.Principal) {
		id, err := bargainPathID(r, bargain.ErrHelpNotFound)
		if err != nil {
			writeError(w, r, err)
			return
		}
		h, b, err := decide(r.Context(), id, op.ID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, r, http.StatusOK, bargainHelpDecision{Help: h, Bargain: b})
	}
}

func bargainEnum[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

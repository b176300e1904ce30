package httpapi

import (
	"context"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Who may do what with group buys. Operators set them up and run them; a
// compliance reviewer approves one before it goes live (DOMAIN.md: the
// joint review approves every campaign), and so may read it and its checks.
var (
	groupBuyRoles        = []identity.Role{identity.Operator}
	groupBuyReadRoles    = []identity.Role{identity.Operator, identity.Reviewer}
	groupBuyPublishRoles = []identity.Role{identity.Reviewer}
)

// groupBuyRoutes registers the group buy API, buyer and admin. Reading an
// activity or a team needs no login: a share link is opened by people who
// may not have signed in yet, and nothing personal is shown.
func (a *api) groupBuyRoutes() {
	a.handle("GET /api/v1/group-buys/{id}", http.HandlerFunc(a.getGroupBuy))
	a.handle("GET /api/v1/group-buys/{id}/teams", http.HandlerFunc(a.listJoinableTeams))
	a.handle("POST /api/v1/group-buys/{id}/teams", a.buyer(a.idempotent(a.openTeam)))
	a.handle("GET /api/v1/teams/{id}", http.HandlerFunc(a.getTeam))
	a.handle("POST /api/v1/teams/{id}/members", a.buyer(a.idempotent(a.joinTeam)))

	a.handle("POST /admin/api/v1/group-buys", a.admin(groupBuyRoles, a.createGroupBuy))
	a.handle("GET /admin/api/v1/group-buys", a.admin(groupBuyReadRoles, a.adminListGroupBuys))
	a.handle("GET /admin/api/v1/group-buys/{id}", a.admin(groupBuyReadRoles, a.adminGetGroupBuy))
	a.handle("PUT /admin/api/v1/group-buys/{id}", a.admin(groupBuyRoles, a.updateGroupBuy))
	a.handle("GET /admin/api/v1/group-buys/{id}/checks", a.admin(groupBuyReadRoles, a.groupBuyChecks))
	a.handle("POST /admin/api/v1/group-buys/{id}/publish", a.admin(groupBuyPublishRoles, a.publishGroupBuy))
	a.handle("POST /admin/api/v1/group-buys/{id}/end", a.admin(groupBuyRoles, a.endGroupBuy))
	a.handle("GET /admin/api/v1/group-buys/{id}/teams", a.admin(groupBuyRoles, a.adminListTeams))
	a.handle("GET /admin/api/v1/teams/{id}", a.admin(groupBuyRoles, a.adminGetTeam))
}

// groupBuyRequest is the body of POST and PUT /admin/api/v1/group-buys:
// the whole activity. Omitted numbers take their defaults (team_hours 24,
// per_buyer_limit 1, max_depth 3, success_threshold none).
type groupBuyRequest struct {
	Title            string         `json:"title"`
	Rules            string         `json:"rules"`
	ShareNotice      string         `json:"share_notice"`
	StartsAt         string         `json:"starts_at"`
	EndsAt           string         `json:"ends_at"`
	TeamSize         int            `json:"team_size"`
	TeamHours        int            `json:"team_hours"`
	PerBuyerLimit    int            `json:"per_buyer_limit"`
	SuccessThreshold int            `json:"success_threshold"`
	MaxDepth         int            `json:"max_depth"`
	Leader           *leaderRequest `json:"leader"`
	Items            []itemRequest  `json:"items"`
}

type leaderRequest struct {
	Kind  string    `json:"kind"`
	Price money.Fen `json:"price"`
}

type itemRequest struct {
	SKUID string        `json:"sku_id"`
	Quota int64         `json:"quota"`
	Tiers []tierRequest `json:"tiers"`
}

type tierRequest struct {
	Size  int       `json:"size"`
	Price money.Fen `json:"price"`
}

// toInput converts the times (the domain checks the rest, every field at
// once).
func (req groupBuyRequest) toInput() (groupbuy.ActivityInput, error) {
	var l errs.List
	at := func(field, s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			l.Add(field, "invalid_time", "%s must be an RFC 3339 time, e.g. 2026-11-22T08:00:00+08:00", field)
		}
		return t
	}
	in := groupbuy.ActivityInput{
		Title: req.Title, Rules: req.Rules, ShareNotice: req.ShareNotice,
		StartsAt: at("starts_at", req.StartsAt), EndsAt: at("ends_at", req.EndsAt),
		TeamSize: req.TeamSize, TeamHours: req.TeamHours, PerBuyerLimit: req.PerBuyerLimit,
		SuccessThreshold: req.SuccessThreshold, MaxDepth: req.MaxDepth,
	}
	if req.Leader != nil {
		in.Leader = groupbuy.Leader{Kind: groupbuy.LeaderKind(req.Leader.Kind), Price: req.Leader.Price}
	}
	for _, it := range req.Items {
		item := groupbuy.ItemInput{SKUID: it.SKUID, Quota: it.Quota}
		for _, t := range it.Tiers {
			item.Tiers = append(item.Tiers, groupbuy.Tier{Size: t.Size, Price: t.Price})
		}
		in.Items = append(in.Items, item)
	}
	return in, l.Err()
}

func (a *api) createGroupBuy(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req groupBuyRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toInput()
	if err != nil {
		writeError(w, r, err)
		return
	}
	gb, err := a.d.GroupBuys.Create(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, gb)
}

func (a *api) updateGroupBuy(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req groupBuyRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toInput()
	if err != nil {
		writeError(w, r, err)
		return
	}
	gb, err := a.d.GroupBuys.Update(r.Context(), r.PathValue("id"), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, gb)
}

var groupBuyStatuses = []string{string(groupbuy.Draft), string(groupbuy.Published), string(groupbuy.Ended)}

func (a *api) adminListGroupBuys(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "status", "cursor", "limit")
	f := groupbuy.ActivityFilter{Status: groupbuy.Status(q.oneOf("status", groupBuyStatuses...)), Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.GroupBuys.List(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if page.Activities == nil {
		page.Activities = []groupbuy.Activity{}
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) adminGetGroupBuy(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	a.groupBuyAction(w, r, a.d.GroupBuys.Get)
}

func (a *api) publishGroupBuy(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	a.groupBuyAction(w, r, a.d.GroupBuys.Publish)
}

func (a *api) endGroupBuy(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	a.groupBuyAction(w, r, a.d.GroupBuys.End)
}

func (a *api) groupBuyAction(w http.ResponseWriter, r *http.Request, do func(ctx context.Context, id string) (*groupbuy.Activity, error)) {
	gb, err := do(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, gb)
}

func (a *api) groupBuyChecks(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	rep, err := a.d.GroupBuys.Checks(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, rep)
}

var teamStatuses = func() []string {
	out := make([]string, len(groupbuy.TeamStatuses))
	for i, s := range groupbuy.TeamStatuses {
		out[i] = string(s)
	}
	return out
}()

func (a *api) adminListTeams(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "status", "cursor", "limit")
	f := groupbuy.TeamFilter{ActivityID: r.PathValue("id"), Status: groupbuy.TeamStatus(q.oneOf("status", teamStatuses...)),
		Cursor: q.cursor(), Limit: q.limit()}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.GroupBuys.Teams(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, page)
}

// adminTeam is a team as an operator sees it: with its seats, each naming
// its buyer and order by id (no name, phone or address).
type adminTeam struct {
	Team  *groupbuy.Team  `json:"team"`
	Seats []groupbuy.Seat `json:"seats"`
}

func (a *api) adminGetTeam(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	info, err := a.d.GroupBuys.Team(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, adminTeam{Team: info.Team, Seats: info.Seats})
}

// groupBuyView is an activity as a buyer sees it: its terms, and per item
// the units left, never who bought them.
type groupBuyView struct {
	ID               string             `json:"id"`
	Title            string             `json:"title"`
	Rules            string             `json:"rules"`
	ShareNotice      string             `json:"share_notice"`
	Status           groupbuy.Status    `json:"status"`
	StartsAt         time.Time          `json:"starts_at"`
	EndsAt           time.Time          `json:"ends_at"`
	TeamSize         int                `json:"team_size"`
	TeamHours        int                `json:"team_hours"`
	PerBuyerLimit    int                `json:"per_buyer_limit"`
	SuccessThreshold int                `json:"success_threshold"`
	Leader           groupbuy.Leader    `json:"leader"`
	Items            []groupBuyItemView `json:"items"`
}

type groupBuyItemView struct {
	SKUID string          `json:"sku_id"`
	Left  int64           `json:"left"`
	Tiers []groupbuy.Tier `json:"tiers"`
}

func publicGroupBuy(gb *groupbuy.Activity) groupBuyView {
	v := groupBuyView{ID: gb.ID, Title: gb.Title, Rules: gb.Rules, ShareNotice: gb.ShareNotice, Status: gb.Status,
		StartsAt: gb.StartsAt, EndsAt: gb.EndsAt, TeamSize: gb.TeamSize, TeamHours: gb.TeamHours,
		PerBuyerLimit: gb.PerBuyerLimit, SuccessThreshold: gb.SuccessThreshold, Leader: gb.Leader,
		Items: make([]groupBuyItemView, len(gb.Items))}
	for i, it := range gb.Items {
		v.Items[i] = groupBuyItemView{SKUID: it.SKUID, Left: max(0, it.Quota-it.Sold), Tiers: it.Tiers}
	}
	return v
}

func (a *api) getGroupBuy(w http.ResponseWriter, r *http.Request) {
	gb, err := a.d.GroupBuys.Published(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, publicGroupBuy(gb))
}

// teamView is a team as anyone may see it: counts, prices, and of its
// members only whether each leads and when they joined.
type teamView struct {
	ID            string              `json:"id"`
	ActivityID    string              `json:"activity_id"`
	SKUID         string              `json:"sku_id"`
	Status        groupbuy.TeamStatus `json:"status"`
	Capacity      int                 `json:"capacity"`
	Taken         int                 `json:"taken"`
	Paid          int                 `json:"paid"`
	SeatsLeft     int                 `json:"seats_left"`
	ExpiresAt     *time.Time          `json:"expires_at,omitempty"`
	CurrentPrice  money.Fen           `json:"current_price"`
	NextSeatPrice money.Fen           `json:"next_seat_price,omitempty"`
	FinalSize     int                 `json:"final_size,omitempty"`
	FinalPrice    money.Fen           `json:"final_price,omitempty"`
	Tiers         []groupbuy.Tier     `json:"tiers"`
	Members       []memberView        `json:"members,omitempty"` // absent in listings
}

type memberView struct {
	Leader   bool      `json:"leader"`
	JoinedAt time.Time `json:"joined_at"`
}

func publicTeam(info *groupbuy.TeamInfo) teamView {
	t := info.Team
	current, next := info.Activity.SeatPrices(t)
	v := teamView{ID: t.ID, ActivityID: t.ActivityID, SKUID: t.SKUID, Status: t.Status, Capacity: t.Capacity,
		Taken: t.Taken, Paid: t.Paid, SeatsLeft: t.SeatsLeft(), ExpiresAt: t.ExpiresAt, CurrentPrice: current,
		NextSeatPrice: next, FinalSize: t.FinalSize, FinalPrice: t.FinalPrice, Tiers: []groupbuy.Tier{}, Members: []memberView{}}
	if t.Status.Ended() {
		v.SeatsLeft = 0
	}
	if it, ok := info.Activity.Item(t.SKUID); ok {
		v.Tiers = it.Tiers
	}
	for _, st := range info.Seats {
		// Members are the live seats, and those who paid before the
		// team ended (a failed team's, refunded).
		if st.State.Live() || (st.State == groupbuy.SeatRefunded && st.PaidAt != nil) {
			v.Members = append(v.Members, memberView{Leader: st.Leader, JoinedAt: st.JoinedAt})
		}
	}
	return v
}

func (a *api) getTeam(w http.ResponseWriter, r *http.Request) {
	info, err := a.d.GroupBuys.Team(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, publicTeam(info))
}

func (a *api) listJoinableTeams(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r, "cursor", "limit")
	cur, limit := q.cursor(), q.limit()
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	gb, page, err := a.d.GroupBuys.JoinableTeams(r.Context(), r.PathValue("id"), cur, limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	out := struct {
		Items      []teamView `json:"items"`
		NextCursor string     `json:"next_cursor,omitempty"`
	}{Items: make([]teamView, len(page.Teams)), NextCursor: page.NextCursor}
	for i := range page.Teams {
		out.Items[i] = publicTeam(&groupbuy.TeamInfo{Team: &page.Teams[i], Activity: gb})
		out.Items[i].Members = nil // a listing shows counts; the team's page shows its members
	}
	writeJSON(w, r, http.StatusOK, out)
}

// joinRequest is the body of joining a team; openRequest, of opening one,
// adds the item's SKU. Like an order request neither names a price: the
// team's terms price the seat.
type joinRequest struct {
	Qty       int    `json:"qty"`
	AddressID string `json:"address_id"`
	Remark    string `json:"remark"`
}

type openRequest struct {
	SKUID     string `json:"sku_id"`
	Qty       int    `json:"qty"`
	AddressID string `json:"address_id"`
	Remark    string `json:"remark"`
}

func (req joinRequest) check(l *errs.List) {
	checkQty(l, "qty", req.Qty)
	if !ids.Valid(req.AddressID) {
		l.Add("address_id", "invalid_id", "address_id must be the id of one of your addresses")
	}
	if !utf8.ValidString(req.Remark) || utf8.RuneCountInString(req.Remark) > maxRemark {
		l.Add("remark", "too_long", "remark is at most %d characters", maxRemark)
	}
}

// seatMade is the answer to opening or joining a team: the team as anyone
// sees it, and the buyer's own order to pay.
type seatMade struct {
	Team  teamView     `json:"team"`
	Order *order.Order `json:"order"`
}

func (a *api) openTeam(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req openRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	var l errs.List
	if !ids.Valid(req.SKUID) {
		l.Add("sku_id", "invalid_id", "sku_id must be the id of one of the group buy's SKUs")
	}
	joinRequest{Qty: req.Qty, AddressID: req.AddressID, Remark: req.Remark}.check(&l)
	if err := l.Err(); err != nil {
		writeError(w, r, err)
		return
	}
	t, o, err := a.d.GroupBuys.Open(r.Context(), groupbuy.OpenInput{BuyerID: buyerID, ActivityID: r.PathValue("id"),
		SKUID: req.SKUID, Qty: req.Qty, AddressID: req.AddressID, Remark: req.Remark})
	a.writeSeat(w, r, t, o, err)
}

func (a *api) joinTeam(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req joinRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	var l errs.List
	req.check(&l)
	if err := l.Err(); err != nil {
		writeError(w, r, err)
		return
	}
	t, o, err := a.d.GroupBuys.Join(r.Context(), groupbuy.JoinInput{BuyerID: buyerID, TeamID: r.PathValue("id"),
		Qty: req.Qty, AddressID: req.AddressID, Remark: req.Remark})
	a.writeSeat(w, r, t, o, err)
}

func (a *api) writeSeat(w http.ResponseWriter, r *http.Request, t *groupbuy.Team, o *order.Order, err error) {
	if err != nil {
		if errs.Is(err, "out_of_stock") {
			a.metrics.reservationsFailed.Inc()
		}
		writeError(w, r, err)
		return
	}
	a.metrics.ordersPlaced.Inc()
	info, err := a.d.GroupBuys.Team(r.Context(), t.ID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, seatMade{Team: publicTeam(info), Order: orderView(o)})
}

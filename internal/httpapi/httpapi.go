// Package httpapi is siyu's HTTP face: the buyer API under /api/v1, the
// admin API under /admin/api/v1, health, metrics and the contract at
// /openapi.json. Handlers are thin: they decode and convert the request,
// call one service method and encode the answer; errors leave as
// application/problem+json (RFC 9457) with a stable code. No business rule
// lives here: a rule found in a handler belongs in its domain's service.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/audit"
	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/campaign"
	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/consent"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/crm"
	"github.com/siyu-commerce/siyu/internal/datarights"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/idempotency"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/points"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/share"
	"github.com/siyu-commerce/siyu/internal/supply"
)

// Limits bound what one request may ask of the server.
type Limits struct {
	MaxBody int64 // request body cap in bytes; default 1 MiB
	// IdempotencyWait is how long a repeat of an Idempotency-Key waits for
	// the first request, still in flight, before giving up; default 10 s.
	IdempotencyWait time.Duration
}

// DefaultLimits are the limits used for any left zero.
var DefaultLimits = Limits{MaxBody: 1 << 20, IdempotencyWait: 10 * time.Second}

// Deps is what the HTTP layer needs from the rest of the app.
type Deps struct {
	Catalog   *catalog.Service
	Carts     *cart.Service
	Inventory *inventory.Service
	Orders    *order.Service
	Identity  *identity.Service
	Payments  *payment.Service
	Refunds   *refund.Service
	// Shares makes share links, records their visits and reads the
	// fission numbers.
	Shares *share.Service
	// GroupBuys runs group buys (拼团); Bargains runs bargains (砍价).
	GroupBuys *groupbuy.Service
	Bargains  *bargain.Service
	// Affiliates runs distribution (分销): promoters, commissions, withdrawals.
	Affiliates *affiliate.Service
	// Coupons runs coupon templates, claims and their use at checkout.
	Coupons *coupon.Service
	// Flash runs flash sales: sessions, the buy button, reservations.
	Flash *flashsale.Service
	// PriceWindows runs limited-time prices and decides the price a buyer
	// sees crossed out; Supply answers the operator's planning questions.
	PriceWindows *pricewindow.Service
	Supply       *supply.Service
	// Presales runs presales (预售): deposits, balances, price steps.
	Presales *presale.Service
	// Consent records buyers' consents per purpose; DataRights exports and
	// erases a buyer's data (docs/privacy.md).
	Consent    *consent.Service
	DataRights *datarights.Service
	// Points runs buyers' points: balances, sign-ins, task awards, rules.
	Points *points.Service
	// Members runs member tiers: growth, the program, tier changes.
	Members *membership.Service
	// CRM runs layers, RFM, tags and segments (internal/crm).
	CRM *crm.Service
	// Campaigns runs campaigns and their review (internal/campaign).
	Campaigns *campaign.Service
	// Ledger is the book as finance reads it; the HTTP layer never writes it.
	Ledger Ledger
	// PayNotifications verifies and decrypts the payment platform's
	// callbacks (the WeChat Pay client).
	PayNotifications PayNotifications
	Idempotency      idempotency.Store
	// Audit records operators' changes and lets the owner read them.
	Audit audit.Store
	// Ready reports whether the server can take traffic (the database
	// answers, migrations are applied); nil means always ready.
	Ready   func(ctx context.Context) error
	Logger  *slog.Logger
	Metrics *prometheus.Registry // nil: a private registry
	Limits  Limits
	Clock   clock.Clock // nil: the wall clock
}

type api struct {
	root         http.Handler
	d            Deps
	log          *slog.Logger
	limits       Limits
	metrics      *metrics
	clock        clock.Clock
	mux          *http.ServeMux
	authenticate func(ctx context.Context, token string) (identity.Principal, error) // a seam for tests
	hotAuth      authCache                                                           // the flash sale's routes
}

// New builds the HTTP handler of the whole API.
func New(d Deps) http.Handler { return newAPI(d).root }

func newAPI(d Deps) *api {
	a := &api{d: d, log: d.Logger, limits: d.Limits, clock: d.Clock, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.limits.MaxBody <= 0 {
		a.limits.MaxBody = DefaultLimits.MaxBody
	}
	if a.limits.IdempotencyWait <= 0 {
		a.limits.IdempotencyWait = DefaultLimits.IdempotencyWait
	}
	if a.clock == nil {
		a.clock = clock.Real{}
	}
	reg := d.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	a.metrics = newMetrics(reg)
	if d.Identity != nil {
		a.authenticate = d.Identity.Authenticate
	}

	a.handle("GET /healthz", http.HandlerFunc(a.healthz))
	a.handle("GET /readyz", http.HandlerFunc(a.readyz))
	a.handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	a.handle("GET /openapi.json", http.HandlerFunc(a.openapi))
	a.buyerRoutes()
	a.adminRoutes()
	a.groupBuyRoutes()
	a.bargainRoutes()
	a.affiliateRoutes()
	a.couponRoutes()
	a.crmRoutes()
	a.campaignRoutes()
	a.consentRoutes()
	a.presaleRoutes()
	a.pointsRoutes()
	a.membershipRoutes()
	a.priceWindowRoutes()
	a.flashRoutes()
	a.callbackRoutes()

	// Callbacks skip the body cap: the notification parser reads the raw
	// body under its own limit and every answer, even to an oversized body,
	// must be the platform's {"code":"FAIL"} rather than a problem.
	capped := a.limitBody(http.HandlerFunc(a.dispatch))
	a.root = a.observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, callbackPrefix) {
			a.dispatch(w, r)
			return
		}
		capped.ServeHTTP(w, r)
	}))
	return a
}

func (a *api) handle(pattern string, h http.Handler) { a.mux.Handle(pattern, route(h)) }

// dispatch hands the request to its route. The mux's own answers for an
// unknown path or method are plain text; the API speaks problem+json
// throughout, so those are answered here instead.
func (a *api) dispatch(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.mux.Handler(r); pattern == "" {
		a.noRoute(w, r)
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *api) noRoute(w http.ResponseWriter, r *http.Request) {
	// Ask the mux what it would have said, to tell 405 from 404 and learn
	// the Allow header, then say it as a problem.
	probe := &headerProbe{h: http.Header{}}
	h, _ := a.mux.Handler(r)
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.h.Get("Allow"))
		writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			msg: "this path does not take " + r.Method})
		return
	}
	writeError(w, r, &httpError{status: http.StatusNotFound, code: "route_not_found", msg: "no such route"})
}

// headerProbe is a ResponseWriter that keeps the status and headers and
// drops the body.
type headerProbe struct {
	h      http.Header
	status int
}

func (p *headerProbe) Header() http.Header { return p.h }
func (p *headerProbe) WriteHeader(code int) {
	if p.status == 0 {
		p.status = code
	}
}
func (p *headerProbe) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return len(b), nil
}

// Package app wires siyu together: configuration -> store engine ->
// services -> HTTP handler, plus the background workers (the outbox
// dispatcher and the job runner). cmd/siyu runs it; tests build it too, so
// the binary and the tests exercise the same wiring.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/cart"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/coupon"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/groupbuy"
	"github.com/siyu-commerce/siyu/internal/httpapi"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/membership"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/config"
	"github.com/siyu-commerce/siyu/internal/platform/seal"
	"github.com/siyu-commerce/siyu/internal/points"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/pricewindow"
	"github.com/siyu-commerce/siyu/internal/pricing"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/share"
	"github.com/siyu-commerce/siyu/internal/store"
	"github.com/siyu-commerce/siyu/internal/supply"
	"github.com/siyu-commerce/siyu/internal/wechat"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
	"github.com/siyu-commerce/siyu/web"
)

// App is a wired siyu.
type App struct {
	Config config.Config
	Log    *slog.Logger
	Clock  clock.Clock
	Store  store.Engine

	Catalog    *catalog.Service
	Carts      *cart.Service
	Inventory  *inventory.Service
	Orders     *order.Service
	Identity   *identity.Service
	Payments   *payment.Service
	Refunds    *refund.Service
	Shares     *share.Service
	GroupBuys  *groupbuy.Service
	Bargains   *bargain.Service
	Affiliates *affiliate.Service
	Coupons    *coupon.Service
	Flash      *flashsale.Service
	Presales   *presale.Service
	Points     *points.Service
	Members    *membership.Service

	// PriceWindows runs limited-time prices and the crossed-out price rule;
	// Supply answers the operator's planning questions.
	PriceWindows *pricewindow.Service
	Supply       *supply.Service

	// PayGateway is the WeChat Pay v3 client; PaySandbox the simulator it
	// talks to in sandbox mode (nil in production).
	PayGateway *pay.Client
	PaySandbox *sandbox.Pay

	Events  *outbox.Dispatcher
	Jobs    *jobs.Runner
	Metrics *prometheus.Registry
	Handler http.Handler

	redis *redis.Client // SIYU_REDIS_URL's client, if set
}

// Options are what tests may change about the wiring.
type Options struct {
	Clock clock.Clock  // default the wall clock
	Log   *slog.Logger // default JSON to stderr at the configured level
	// WeChatHTTP replaces the HTTP client of the WeChat API clients.
	WeChatHTTP *http.Client
	// PayCompress divides the pay simulator's callback retry schedule
	// (tests compress WeChat's 24 hours into moments); default 1.
	PayCompress int
	// RefundDelay is how long the pay simulator takes to complete a refund.
	RefundDelay time.Duration
	// Replica names this process among replicas (the flash sale's order
	// writers); default the host name.
	Replica string
	// FlashPrefix is the flash sale's Redis key prefix (tests keep apart).
	FlashPrefix string
	// PaySandbox, if set, is the simulator to talk to instead of a new one:
	// a test restarting the app keeps the platform it was talking to.
	PaySandbox *sandbox.Pay
}

// New opens the store and builds the services. It does not migrate: call
// Migrate (serve does, unless told not to).
func New(ctx context.Context, cfg config.Config, opt Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Clock: opt.Clock, Log: opt.Log}
	if a.Clock == nil {
		a.Clock = clock.Real{}
	}
	if a.Log == nil {
		a.Log = NewLogger(os.Stderr, cfg.LogLevel)
	}
	key, err := dataKey(cfg)
	if err != nil {
		return nil, err
	}
	sealer, err := seal.New(key)
	if err != nil {
		return nil, err
	}
	a.Store, err = store.Open(ctx, cfg.DatabaseURL, sealer)
	if err != nil {
		return nil, err
	}

	login := &wechat.LoginClient{BaseURL: cfg.WeChatAPIBase, AppID: cfg.WeChatAppID, AppSecret: cfg.WeChatAppSecret, HTTP: opt.WeChatHTTP}
	if cfg.Mode == config.Sandbox && login.HTTP == nil {
		// The production client, unchanged, talking to the simulator in
		// process: the only sandbox-specific piece is the transport.
		sim := sandbox.NewLogin(cfg.WeChatAppID, cfg.WeChatAppSecret, key)
		login.HTTP = &http.Client{Transport: sandbox.Transport(sim), Timeout: 5 * time.Second}
	}

	// Limited-time prices are priced by the pipeline's own step, at the
	// instant of pricing by the app's clock (package pricewindow).
	a.PriceWindows = &pricewindow.Service{Store: a.Store, Orders: a.Store, Clock: a.Clock}
	pipeline, err := pricing.New(pricing.Sale{}, pricing.LimitedTime{Prices: a.PriceWindows, Clock: a.Clock}, pricing.Activity{},
		pricing.MemberStep{}, pricing.CouponStep{}, pricing.PointsStep{}, pricing.Shipping{Fee: cfg.ShippingFee, FreeOver: cfg.FreeShippingOver})
	if err != nil {
		return nil, err
	}
	a.Catalog = &catalog.Service{Store: a.Store, Clock: a.Clock, PriceGuard: a.PriceWindows}
	a.Carts = &cart.Service{Store: a.Store, Catalog: a.Store, Clock: a.Clock, Pricing: pipeline}
	a.Inventory = &inventory.Service{Store: a.Store, Clock: a.Clock, SKUExists: func(ctx context.Context, id string) (bool, error) {
		found, err := a.Store.SKUs(ctx, []string{id})
		return len(found) == 1, err
	}}
	a.Identity = &identity.Service{Store: a.Store, Clock: a.Clock, WeChat: login}
	a.Orders = &order.Service{
		Store: a.Store, Catalog: a.Store, Carts: a.Store, Addresses: addressBook{a.Identity},
		Pricing: pipeline, Clock: a.Clock,
		Config: order.Config{PayWindow: cfg.PayWindow, AutoConfirm: cfg.AutoConfirm},
	}

	self := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.Handler.ServeHTTP(w, r) })
	if a.PayGateway, a.PaySandbox, err = payGateway(cfg, opt, a, self); err != nil {
		a.Store.Close()
		return nil, err
	}
	a.Payments = &payment.Service{
		Store: a.Store, Orders: a.Orders, Gateway: a.PayGateway, Payers: a.Identity, Clock: a.Clock, Log: a.Log,
		Config: payment.Config{FeeBP: cfg.PayFeeBP, ReconcileAfter: payment.DefaultConfig.ReconcileAfter},
	}
	// Before an unpaid order closes, its payment is settled with the
	// platform: a payment that got through wins over the close.
	a.Orders.BeforeClose = a.Payments.BeforeClose
	a.Refunds = &refund.Service{Store: a.Store, Payments: a.Store, Gateway: a.PayGateway, Clock: a.Clock, Log: a.Log}

	// Share links are signed with their own key when one is given, so it
	// can be rotated (invalidating shared links) without touching the key
	// that encrypts personal data; otherwise with one derived from it. Only
	// products can be checked before sharing until teams and bargains exist.
	shareKey := share.KeyFrom(key)
	if cfg.ShareKey != "" {
		if shareKey, err = seal.ParseKey(cfg.ShareKey); err != nil {
			err = fmt.Errorf("SIYU_SHARE_KEY: %w", err)
		}
	}
	var signer *share.Signer
	if err == nil {
		signer, err = share.NewSigner(shareKey)
	}
	if err != nil {
		a.Close()
		return nil, err
	}
	a.Shares = &share.Service{Store: a.Store, Orders: a.Store, Signer: signer, Clock: a.Clock,
		Exists: func(ctx context.Context, kind share.TargetKind, id string) (share.Target, error) {
			// Each capability wraps this for its own kind (wireGroupBuys, ...).
			if kind != share.Product {
				return share.Target{Shareable: true}, nil
			}
			p, err := a.Store.Product(ctx, id)
			if errs.Is(err, catalog.ErrNotFound.Code) {
				return share.Target{}, nil
			}
			return share.Target{Shareable: err == nil && p.Status == catalog.OnSale}, err
		}}

	a.Events = &outbox.Dispatcher{Store: a.Store, Clock: a.Clock, Log: a.Log}
	a.Jobs = &jobs.Runner{Store: a.Store, Clock: a.Clock, Log: a.Log}
	a.Orders.RegisterJobs(a.Jobs)
	a.Payments.RegisterJobs(a.Jobs)
	a.Refunds.RegisterJobs(a.Jobs)
	a.Refunds.RegisterConsumers(a.Events)
	a.Events.On(refund.TopicSucceeded, a.Orders.OnRefundSucceeded)
	a.Shares.RegisterConsumers(a.Events)
	a.registerHousekeeping()
	a.wireGroupBuys()
	a.wireBargains()
	a.wireAffiliates()
	a.wireCoupons()
	a.wirePresales()
	a.wirePoints()
	a.PriceWindows.RegisterConsumers(a.Events)
	a.Supply = &supply.Service{Catalog: a.Store}
	if err := a.wireFlashSales(opt); err != nil {
		a.Close()
		return nil, err
	}

	a.Metrics = prometheus.NewRegistry()
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api := httpapi.New(httpapi.Deps{
		Catalog: a.Catalog, Carts: a.Carts, Inventory: a.Inventory, Orders: a.Orders, Identity: a.Identity,
		Payments: a.Payments, Refunds: a.Refunds, Shares: a.Shares, GroupBuys: a.GroupBuys, Bargains: a.Bargains, Affiliates: a.Affiliates, Coupons: a.Coupons, Flash: a.Flash, Ledger: a.Store, PayNotifications: a.PayGateway, Audit: a.Store,
		Idempotency: a.Store, Ready: a.Ready, Logger: a.Log, Metrics: a.Metrics, Clock: a.Clock, PriceWindows: a.PriceWindows, Supply: a.Supply, Points: a.Points, Members: a.Members,
		Consent: a.wireConsent(), DataRights: a.wireDataRights(), Campaigns: a.wireCampaigns(),
		Presales: a.Presales,
		CRM:      a.wireCRM(),
		Limits:   httpapi.Limits{MaxBody: cfg.MaxBody, IdempotencyWait: httpapi.DefaultLimits.IdempotencyWait},
	})
	root := http.NewServeMux()
	if a.PaySandbox != nil {
		// The simulated WeChat Pay: its v3 API (the client reaches it in
		// process; mounted too so a developer can look at it), the "buyer
		// pays" action the demo and the tests use, and its fault injection.
		root.Handle("/sandbox/wechatpay/v3/", http.StripPrefix("/sandbox/wechatpay", a.PaySandbox))
		root.Handle("POST /sandbox/pay", a.PaySandbox)
		root.Handle("POST /sandbox/faults", a.PaySandbox)
	}
	root.Handle("/console/", web.Console())
	root.Handle("/", api)
	a.Handler = root
	return a, nil
}

// Migrate applies pending migrations.
func (a *App) Migrate(ctx context.Context) (int, error) { return a.Store.Migrate(ctx) }

// Ready reports whether the app can take traffic: the database answers and
// every migration is applied.
func (a *App) Ready(ctx context.Context) error {
	if err := a.Store.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	n, err := a.Store.Pending(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d migrations not applied", n)
	}
	return nil
}

// RunWorkers runs the outbox dispatcher and the job runner until ctx ends,
// then waits for the work in hand to finish.
func (a *App) RunWorkers(ctx context.Context) {
	if err := a.scheduleHousekeeping(context.WithoutCancel(ctx), a.Clock.Now()); err != nil {
		a.Log.Error("scheduling housekeeping", "err", err)
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); a.Events.Run(ctx) }()
	go func() { defer wg.Done(); a.Jobs.Run(ctx) }()
	go func() { defer wg.Done(); a.runFlashWriters(ctx) }()
	wg.Wait()
}

// Serve listens on the configured address and serves until ctx ends, then
// shuts down gracefully: it stops accepting, lets requests in flight finish
// (up to 15 seconds), and drains the workers.
func (a *App) Serve(ctx context.Context, ready func(addr string)) error {
	srv := &http.Server{
		Addr: a.Config.Addr, Handler: a.Handler,
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute,
	}
	ln, err := listen(ctx, a.Config.Addr)
	if err != nil {
		return err
	}
	workers, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { a.RunWorkers(workers); close(done) }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	a.Log.Info("serving", "addr", ln.Addr().String(), "mode", a.Config.Mode)
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.Log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopWorkers()
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Close stops the pay simulator's deliveries and releases the store.
func (a *App) Close() error {
	if a.PaySandbox != nil {
		a.PaySandbox.Close()
	}
	if a.redis != nil {
		a.redis.Close()
	}
	return a.Store.Close()
}

// dataKey is SIYU_DATA_KEY, or in sandbox mode a key generated once and kept
// in the data directory.
func dataKey(cfg config.Config) ([]byte, error) {
	if cfg.DataKey != "" {
		return seal.ParseKey(cfg.DataKey)
	}
	if cfg.Mode != config.Sandbox {
		return nil, errors.New("SIYU_DATA_KEY is required outside sandbox mode")
	}
	return seal.LoadOrCreateKeyFile(filepath.Join(cfg.Dir(), "data.key"))
}

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/siyu-commerce/siyu/internal/app"
	"github.com/siyu-commerce/siyu/internal/demo"
	"github.com/siyu-commerce/siyu/internal/platform/config"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve [flags]", stderr)
	noMigrate := fs.Bool("no-migrate", false, "do not apply migrations at start (run `siyu migrate` yourself)")
	load := configFlags(fs, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	a, err := start(ctx, cfg, !*noMigrate, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Serve(ctx, nil)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "demo [flags]", stderr)
	load := configFlags(fs, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if cfg.Mode != config.Sandbox {
		return fmt.Errorf("demo runs in sandbox mode only (SIYU_MODE=%s)", cfg.Mode)
	}
	a, err := start(ctx, cfg, true, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := demo.Seed(ctx, demo.Services{Catalog: a.Catalog, Inventory: a.Inventory, Identity: a.Identity,
		GroupBuys: a.GroupBuys, Bargains: a.Bargains, Now: a.Clock.Now}, cfg.Dir())
	if err != nil {
		return fmt.Errorf("seeding the demo shop: %w", err)
	}
	return a.Serve(ctx, func(addr string) {
		base := "http://" + displayAddr(addr)
		state := "seeded now"
		if !res.Seeded {
			state = "already seeded; nothing added"
		}
		activities := ""
		if res.GroupBuyID != "" {
			activities = fmt.Sprintf("  group buy      %s/api/v1/group-buys/%s\n  bargain        %s/api/v1/bargain-activities/%s\n",
				base, res.GroupBuyID, base, res.BargainID)
		}
		fmt.Fprintf(stdout, `
siyu demo shop (%s, %d products, database %s)

  buyer API      %s/api/v1/products
%s  admin API      %s/admin/api/v1   (owner: %s / %s)
  contract       %s/openapi.json
  console        %s/console/   (the operator console arrives with its own capability)
  health         %s/healthz  %s/readyz  %s/metrics

Log in as a buyer with any code, e.g.
  curl -XPOST %s/api/v1/sessions -H 'Content-Type: application/json' -d '{"code":"alice.1"}'
Pay an order through the simulated WeChat Pay: POST /api/v1/orders/{id}/payments, then play the
buyer's WeChat app with POST %s/sandbox/pay {"out_trade_no": "<order id without dashes>"}.
Ctrl-C stops the shop; the data stays in %s.
`, state, res.Products, cfg.DatabaseURL, base, activities, base, res.OwnerEmail, res.OwnerPassword, base, base, base, base, base, base, base, cfg.Dir())
	})
}

// start builds the app, logs to stderr and applies migrations if asked.
func start(ctx context.Context, cfg config.Config, migrate bool, stderr io.Writer) (*app.App, error) {
	a, err := app.New(ctx, cfg, app.Options{Log: app.NewLogger(stderr, cfg.LogLevel)})
	if err != nil {
		return nil, err
	}
	if migrate {
		n, err := a.Migrate(ctx)
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("migrating: %w", err)
		}
		if n > 0 {
			a.Log.Info("migrations applied", "count", n)
		}
	}
	return a, nil
}

// displayAddr turns ":8080" or "[::]:8080" into "localhost:8080".
func displayAddr(addr string) string {
	for _, p := range []string{"[::]", "0.0.0.0", ""} {
		if len(addr) > len(p) && addr[:len(p)] == p && addr[len(p)] == ':' {
			return "localhost" + addr[len(p):]
		}
	}
	return addr
}

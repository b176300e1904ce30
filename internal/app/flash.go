package app

import (
	"context"
	"fmt"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/flashsale/flashredis"
)

// wireFlashSales builds the flash sale service on the hot-path engine the
// configuration names: Redis when SIYU_REDIS_URL is set (replicas share
// it), the in-process engine otherwise (one process: the embedded mode).
// The order writers and the session sweep run with the other workers.
func (a *App) wireFlashSales(opt Options) error {
	var reserver flashsale.Reserver = flashsale.NewMemory(a.Clock)
	if a.Config.RedisURL != "" {
		ro, err := redis.ParseURL(a.Config.RedisURL)
		if err != nil {
			return fmt.Errorf("SIYU_REDIS_URL: %w", err)
		}
		// Enough connections for a rush: every buy is one script call,
		// and each writer holds one in a blocking read.
		ro.PoolSize = max(ro.PoolSize, 256)
		a.redis = redis.NewClient(ro)
		reserver = flashredis.New(a.redis, flashredis.Options{Prefix: opt.FlashPrefix, Clock: a.Clock})
	}
	consumer := opt.Replica
	if consumer == "" {
		// A restarted process on the same host takes its unacknowledged
		// wins back at once; other replicas take them over after the
		// engine's claim delay.
		consumer, _ = os.Hostname()
	}
	a.Flash = &flashsale.Service{
		Store: a.Store, Reserver: reserver, Orders: a.Orders, Catalog: a.Store, Addresses: addressBook{a.Identity},
		Pricing: a.Orders.Pricing, Clock: a.Clock, Log: a.Log,
		Config: flashsale.Config{Consumer: "siyu-" + consumer},
	}
	a.Flash.RegisterConsumers(a.Events)
	return nil
}

// runFlashWriters runs the flash sale's order writers until ctx ends.
func (a *App) runFlashWriters(ctx context.Context) { a.Flash.RunWriters(ctx) }

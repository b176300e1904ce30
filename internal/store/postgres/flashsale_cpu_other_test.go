//go:build !linux

package postgres_test

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// processCPU and backendCPU read Linux's accounting; elsewhere the
// benchmark reports its time only.
func processCPU() time.Duration { return 0 }

func backendCPU(context.Context, *pgx.Conn) map[int]time.Duration { return nil }

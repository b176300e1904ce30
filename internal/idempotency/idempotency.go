// Package idempotency makes a request safe to repeat: the first response to
// an Idempotency-Key is stored and replayed for every repeat of the same
// request; the same key with a different request is refused (422).
package idempotency

import (
	"context"
	"time"
)

// Record is one key's state. Until the first request finishes it has no
// response (Status 0); repeats wait for it.
type Record struct {
	Scope       string // who sent it: a principal, so keys never collide across callers
	Key         string
	RequestHash string // method, path and body, hashed
	Status      int
	Body        []byte
	CreatedAt   time.Time
}

// Store keeps records.
type Store interface {
	// ClaimKey inserts a new record and returns (nil, true) if the key is
	// new; otherwise it returns the existing record and false.
	ClaimKey(ctx context.Context, r Record) (*Record, bool, error)
	// FinishKey stores the response of a claimed key.
	FinishKey(ctx context.Context, scope, key string, status int, body []byte) error
	// ReleaseKey forgets a claimed key whose request failed before it did
	// anything, so it may be tried again.
	ReleaseKey(ctx context.Context, scope, key string) error
	// PurgeKeys deletes records created before the cutoff.
	PurgeKeys(ctx context.Context, before time.Time) (int, error)
}

package httpapi

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/identity"
)

// authCache remembers, for a few seconds, who a token belongs to. Only the
// flash sale's hot routes use it: there every request would otherwise read
// the sessions table, and the rule is that deciding a buyer's press reads
// no table. The price is that a token revoked on another replica keeps
// working on these routes for up to authCacheTTL (a logout on this replica
// forgets it at once).
type authCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedPrincipal
}

type cachedPrincipal struct {
	p       identity.Principal
	expires time.Time
}

const (
	authCacheTTL = 10 * time.Second
	authCacheMax = 200_000 // entries; the whole cache is dropped past it
)

func (c *authCache) get(ctx context.Context, tok string, resolve func(context.Context, string) (identity.Principal, error)) (identity.Principal, error) {
	key := sha256.Sum256([]byte(tok))
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.p, nil
	}
	p, err := resolve(ctx, tok)
	if err != nil {
		return p, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= authCacheMax {
		c.entries = map[[32]byte]cachedPrincipal{}
	}
	c.entries[key] = cachedPrincipal{p: p, expires: now.Add(authCacheTTL)}
	c.mu.Unlock()
	return p, nil
}

func (c *authCache) forget(tok string) {
	key := sha256.Sum256([]byte(tok))
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

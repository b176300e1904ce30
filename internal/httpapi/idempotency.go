package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/idempotency"
	"github.com/siyu-commerce/siyu/internal/identity"
)

// pollEvery is how often a repeat of a key still in flight looks again.
const pollEvery = 20 * time.Millisecond

var (
	errKeyReused = errs.E(errs.Unprocessable, "idempotency_key_reused",
		"this Idempotency-Key was used for a different request")
	errKeyInFlight = errs.E(errs.Conflict, "idempotency_key_in_flight",
		"the first request with this Idempotency-Key is still being processed; retry shortly")
	errBadKey = &errs.Error{Kind: errs.Invalid, Code: "invalid_idempotency_key", Field: "Idempotency-Key",
		Message: "an Idempotency-Key is 1 to 255 printable ASCII characters"}
)

func validIdempotencyKey(k string) bool {
	if len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// idempotent honours an Idempotency-Key on a buyer's request. The first
// request with a key runs and its response, success or client error, is
// stored and replayed to every repeat, byte for byte; a repeat with another
// body is refused; a repeat that arrives while the first is still running
// waits for it. A server error is not stored, so the client may retry it.
// Keys are scoped to the buyer: two buyers can never see each other's
// responses through a shared key.
func (a *api) idempotent(next buyerHandler) buyerHandler {
	return func(w http.ResponseWriter, r *http.Request, buyerID string) {
		a.once(w, r, "buyer:"+buyerID, func(w http.ResponseWriter, r *http.Request) { next(w, r, buyerID) })
	}
}

// adminIdempotent is idempotent for an operator's request (a refund by
// finance): keys are scoped to the operator.
func (a *api) adminIdempotent(next adminHandler) adminHandler {
	return func(w http.ResponseWriter, r *http.Request, op identity.Principal) {
		a.once(w, r, "operator:"+op.ID, func(w http.ResponseWriter, r *http.Request) { next(w, r, op) })
	}
}

// once runs next under the request's Idempotency-Key, if it has one, within
// scope.
func (a *api) once(w http.ResponseWriter, r *http.Request, scope string, next http.HandlerFunc) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		next(w, r)
		return
	}
	if !validIdempotencyKey(key) {
		writeError(w, r, errBadKey)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, r, errBodyTooLarge(mbe.Limit))
			return
		}
		writeError(w, r, errs.E(errs.Invalid, "malformed_json", "the request body could not be read"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := idempotency.Record{Scope: scope, Key: key, RequestHash: requestHash(r, body), CreatedAt: a.clock.Now()}

	ctx := r.Context()
	deadline := time.Now().Add(a.limits.IdempotencyWait)
	for {
		prev, claimed, err := a.d.Idempotency.ClaimKey(ctx, rec)
		switch {
		case err != nil:
			writeError(w, r, errs.Wrap(err, "claim idempotency key"))
			return
		case claimed:
			a.runOnce(w, r, rec, next)
			return
		case prev.RequestHash != rec.RequestHash:
			writeError(w, r, errKeyReused)
			return
		case prev.Status != 0:
			replay(w, prev)
			return
		case time.Now().After(deadline):
			writeError(w, r, errKeyInFlight)
			return
		}
		// Claiming again rather than merely reading: if the first
		// request failed and released its key, this repeat takes over.
		select {
		case <-ctx.Done():
			writeError(w, r, errs.E(errs.Unavailable, "request_cancelled", "the request was cancelled"))
			return
		case <-time.After(pollEvery):
		}
	}
}

// runOnce runs the first request of a key, stores its response and only
// then sends it, so a client never holds a response a repeat cannot replay.
func (a *api) runOnce(w http.ResponseWriter, r *http.Request, rec idempotency.Record, next http.HandlerFunc) {
	// The key's fate must be settled even if the client hangs up.
	ctx := context.WithoutCancel(r.Context())
	rw := &recorder{header: http.Header{}}
	finished := false
	defer func() {
		if !finished { // a panic: free the key, then let the panic be answered
			if err := a.d.Idempotency.ReleaseKey(ctx, rec.Scope, rec.Key); err != nil {
				a.log.ErrorContext(ctx, "release idempotency key", "request_id", requestID(ctx), "error", err.Error())
			}
		}
	}()
	next(rw, r)
	finished = true
	status := rw.statusCode()
	if status >= 500 {
		if err := a.d.Idempotency.ReleaseKey(ctx, rec.Scope, rec.Key); err != nil {
			a.log.ErrorContext(ctx, "release idempotency key", "request_id", requestID(ctx), "error", err.Error())
		}
	} else if err := a.d.Idempotency.FinishKey(ctx, rec.Scope, rec.Key, status, rw.body.Bytes()); err != nil {
		// The request's effect is done and cannot be undone here; leaving
		// the key claimed makes repeats wait and fail rather than repeat
		// the effect.
		a.log.ErrorContext(ctx, "store idempotent response", "request_id", requestID(ctx), "error", err.Error())
	}
	for k, v := range rw.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(rw.body.Bytes())
}

func replay(w http.ResponseWriter, rec *idempotency.Record) {
	ct := "application/json"
	if rec.Status >= 400 {
		ct = "application/problem+json"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

// requestHash identifies a request by method, path and body, so a key sent
// again with anything else is caught.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// recorder keeps a response in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rw *recorder) Header() http.Header { return rw.header }
func (rw *recorder) WriteHeader(code int) {
	if rw.status == 0 {
		rw.status = code
	}
}
func (rw *recorder) Write(b []byte) (int, error) {
	rw.WriteHeader(http.StatusOK)
	return rw.body.Write(b)
}
func (rw *recorder) statusCode() int {
	if rw.status == 0 {
		return http.StatusOK
	}
	return rw.status
}

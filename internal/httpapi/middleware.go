package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// reqInfo is what the outer middleware needs to learn from the inner layers:
// the route pattern the mux matched. The mux sets r.Pattern on the request
// it is handed, which is not the one the outer middleware holds once an
// inner layer has called WithContext, so the route handler writes it here.
type reqInfo struct {
	id     string
	route  string
	logger *slog.Logger
}

type ctxKey int

const (
	infoKey ctxKey = iota
	principalKey
)

func infoFrom(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(infoKey).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{logger: slog.Default()}
}

func requestID(ctx context.Context) string { return infoFrom(ctx).id }

func loggerFrom(ctx context.Context) *slog.Logger { return infoFrom(ctx).logger }

// validRequestID accepts a caller's id only if it is short printable ASCII:
// it is echoed in a header and written to the logs, so anything else could
// forge log lines or headers.
func validRequestID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe is the outermost layer: it gives the request its id, recovers a
// panic into a 500 problem, and records the access log line and metrics.
// It never logs bodies, query strings, tokens or anything about the person.
func (a *api) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			id = ids.New()
		}
		ri := &reqInfo{id: id, logger: a.log}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey, ri))

		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { // the server's own signal to drop the connection
					panic(v)
				}
				a.log.ErrorContext(r.Context(), "panic", slog.String("request_id", id),
					slog.String("route", ri.route), slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					writeError(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			route := ri.route
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			a.metrics.observe(route, r.Method, status, elapsed)
			a.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", route),
				slog.Int("status", status), slog.Int64("bytes", sw.bytes), slog.Duration("duration", elapsed))
		}()
		next.ServeHTTP(sw, r)
	})
}

// limitBody caps every request body. A declared length over the cap is
// refused before reading a byte; an undeclared one is cut off by
// MaxBytesReader and refused when a decoder hits the cap.
func (a *api) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > a.limits.MaxBody {
			writeError(w, r, errBodyTooLarge(a.limits.MaxBody))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, a.limits.MaxBody)
		}
		next.ServeHTTP(w, r)
	})
}

// route wraps a route's handler so the outer layers learn the pattern that
// matched (for the metrics label and the log) and never the raw path, which
// carries ids and would explode the label set.
func route(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		infoFrom(r.Context()).route = r.Pattern
		h.ServeHTTP(w, r)
	})
}

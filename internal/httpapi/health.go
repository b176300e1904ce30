package httpapi

import (
	"context"
	"net/http"
	"time"

	spec "github.com/siyu-commerce/siyu/api"
	"github.com/siyu-commerce/siyu/internal/errs"
)

type healthStatus struct {
	Status string `json:"status"`
}

// healthz says the process is alive; it checks nothing else, so a slow
// database never gets a live process restarted.
func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, healthStatus{Status: "ok"})
}

// readyz says whether this replica should get traffic.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	if a.d.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.d.Ready(ctx); err != nil {
			writeError(w, r, &errs.Error{Kind: errs.Unavailable, Code: "not_ready",
				Message: "the server is not ready to take requests", Err: err})
			return
		}
	}
	writeJSON(w, r, http.StatusOK, healthStatus{Status: "ready"})
}

func (a *api) openapi(w http.ResponseWriter, r *http.Request) {
	b, err := spec.OpenAPIJSON()
	if err != nil {
		writeError(w, r, errs.Wrap(err, "convert the OpenAPI document"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

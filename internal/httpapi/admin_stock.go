package httpapi

import (
	"net/http"

	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
)

// adjustmentRequest is the body of POST /admin/api/v1/stock/adjustments.
type adjustmentRequest struct {
	SKUID    string           `json:"sku_id"`
	Location string           `json:"location"`
	Delta    int64            `json:"delta"`
	Reason   inventory.Reason `json:"reason"`
	Note     string           `json:"note"`
}

// stockView is a SKU's stock: its levels at every location and the newest
// lines of its journal.
type stockView struct {
	SKUID   string               `json:"sku_id"`
	Levels  []stockLevel         `json:"levels"`
	Journal []inventory.Movement `json:"journal"`
}

// stockLevel adds what is available to a level, so no client computes it.
type stockLevel struct {
	inventory.Level
	Available int64 `json:"available"`
}

func toStockLevel(l inventory.Level) stockLevel {
	return stockLevel{Level: l, Available: l.Available()}
}

func (a *api) adjustStock(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req adjustmentRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	// inventory owns the rules on delta, reason and location, and reports
	// every fault at once; the only HTTP concern is the default location.
	loc := req.Location
	if loc == "" {
		loc = inventory.Online
	}
	lvl, err := a.d.Inventory.Adjust(r.Context(), req.SKUID, loc, req.Delta, req.Reason, req.Note)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, toStockLevel(lvl))
}

func (a *api) getStock(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "limit")
	limit := q.limit()
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	st, err := a.d.Inventory.Stock(r.Context(), r.PathValue("sku_id"), limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	v := stockView{SKUID: st.SKUID, Levels: make([]stockLevel, len(st.Levels)), Journal: st.Journal}
	for i, l := range st.Levels {
		v.Levels[i] = toStockLevel(l)
	}
	writeJSON(w, r, http.StatusOK, v)
}

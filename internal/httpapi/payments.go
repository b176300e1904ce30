package httpapi

import (
	"net/http"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/payment"
)

// payOrder starts (or resumes) paying one of the buyer's orders and answers
// the parameters of wx.requestPayment. Its only body is none: the amount is
// the order's, priced by the server.
func (a *api) payOrder(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	params, err := a.d.Payments.Pay(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, params)
}

// paymentView is what a buyer may know of their order's payment: where it
// stands at the platform, as the platform itself told us. The mini
// program's own "payment succeeded" is no evidence and there is no route
// by which a client reports it; a client polls this instead.
type paymentView struct {
	OrderID string        `json:"order_id"`
	State   payment.State `json:"state"`
	Amount  money.Fen     `json:"amount"`
	PaidAt  *time.Time    `json:"paid_at,omitempty"`
}

func (a *api) getMyPayment(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := orderID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Payments.Get(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, paymentView{OrderID: p.OrderID, State: p.State, Amount: p.Amount, PaidAt: p.PaidAt})
}

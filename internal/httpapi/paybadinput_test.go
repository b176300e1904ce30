package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// TestPaymentBadInput sends the payment, after-sale, refund and finance
// routes what a careless or hostile client might; each gets its clear
// error and changes nothing: no after-sale, no refund, no money moved.
func TestPaymentBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		paid := w.paid(w.alice, w.aliceAddr.ID, w.skuA, 2, w.skuB, 1)
		unpaid := w.placeOrder(w.alice, w.aliceAddr.ID, w.skuB, 1)
		bobs := w.paid(w.bob, w.bobAddr.ID, w.skuB, 1)
		cancelled := w.placeOrder(w.alice, w.aliceAddr.ID, w.skuA, 1)
		w.alice.must(200, "POST", "/api/v1/orders/"+cancelled.ID+"/cancel", nil, nil)
		lineA, lineB := paid.Lines[0].ID, paid.Lines[1].ID

		line := func(id string, qty any) map[string]any { return map[string]any{"order_line_id": id, "qty": qty} }
		ask := func(extra map[string]any, lines ...map[string]any) map[string]any {
			if lines == nil {
				lines = []map[string]any{line(lineA, 1)}
			}
			b := map[string]any{"kind": "refund_only", "reason": "破损", "lines": lines}
			for k, v := range extra {
				b[k] = v
			}
			return b
		}
		refundBody := func(extra map[string]any) map[string]any {
			b := map[string]any{"reason": "补偿", "lines": []map[string]any{line(lineA, 1)}}
			for k, v := range extra {
				if v == nil {
					delete(b, k)
				} else {
					b[k] = v
				}
			}
			return b
		}
		manyLines := []map[string]any{}
		for i := range 51 {
			manyLines = append(manyLines, line(fmt.Sprintf("0190d7f6-0000-7000-8000-%012d", i), 1))
		}
		afterSales := "/api/v1/orders/" + paid.ID + "/after-sales"
		refunds := "/admin/api/v1/orders/" + paid.ID + "/refunds"
		unknown := ids.New()

		// An after-sale to decide on.
		var open struct {
			ID string `json:"id"`
		}
		w.alice.must(201, "POST", afterSales, ask(nil, line(lineB, 1)), &open)

		cases := []struct {
			name        string
			c           *client
			method      string
			path        string
			body        any
			hdr         []string
			status      int
			code, field string
		}{
			// Paying.
			{"pay bob's order", w.alice, "POST", "/api/v1/orders/" + bobs.ID + "/payments", nil, nil, 404, "order_not_found", ""},
			{"pay a malformed id", w.alice, "POST", "/api/v1/orders/x/payments", nil, nil, 404, "order_not_found", ""},
			{"pay a cancelled order", w.alice, "POST", "/api/v1/orders/" + cancelled.ID + "/payments", nil, nil, 409, "order_not_payable", ""},
			{"pay with a bad key", w.alice, "POST", "/api/v1/orders/" + unpaid.ID + "/payments", nil, []string{"Idempotency-Key", "ключ"}, 400, "invalid_idempotency_key", "Idempotency-Key"},
			{"bob's payment", w.alice, "GET", "/api/v1/orders/" + bobs.ID + "/payment", nil, nil, 404, "order_not_found", ""},
			{"an operator pays", w.owner, "POST", "/api/v1/orders/" + unpaid.ID + "/payments", nil, nil, 401, "unauthenticated", ""},

			// Asking for an after-sale.
			{"malformed JSON", w.alice, "POST", afterSales, raw(`{"kind":`), nil, 400, "malformed_json", ""},
			{"not JSON", w.alice, "POST", afterSales, raw(`{}`), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", "Content-Type"},
			{"an amount asked for", w.alice, "POST", afterSales, ask(map[string]any{"amount": 1999}), nil, 400, "unknown_field", "amount"},
			{"an amount on a line", w.alice, "POST", afterSales, ask(nil, map[string]any{"order_line_id": lineA, "qty": 1, "amount": 1}), nil, 400, "unknown_field", "amount"},
			{"unknown kind", w.alice, "POST", afterSales, ask(map[string]any{"kind": "exchange"}), nil, 400, "invalid_kind", "kind"},
			{"no reason", w.alice, "POST", afterSales, ask(map[string]any{"reason": "  "}), nil, 400, "required", "reason"},
			{"long reason", w.alice, "POST", afterSales, ask(map[string]any{"reason": strings.Repeat("坏", 201)}), nil, 400, "too_long", "reason"},
			{"no lines", w.alice, "POST", afterSales, ask(map[string]any{"lines": []any{}}), nil, 400, "required", "lines"},
			{"51 lines", w.alice, "POST", afterSales, ask(nil, manyLines...), nil, 400, "too_many_lines", "lines"},
			{"malformed line id", w.alice, "POST", afterSales, ask(nil, line("1 OR 1=1", 1)), nil, 400, "invalid_id", "lines[0].order_line_id"},
			{"a line twice", w.alice, "POST", afterSales, ask(nil, line(lineA, 1), line(lineA, 1)), nil, 400, "duplicate_line", "lines[1].order_line_id"},
			{"zero units", w.alice, "POST", afterSales, ask(nil, line(lineA, 0)), nil, 400, "qty_out_of_range", "lines[0].qty"},
			{"qty as a string", w.alice, "POST", afterSales, ask(nil, line(lineA, "1")), nil, 400, "invalid_type", "lines.qty"},
			{"more units than bought", w.alice, "POST", afterSales, ask(nil, line(lineA, 3)), nil, 409, "refund_exceeds_qty", "lines[0].qty"},
			{"a line of another order", w.alice, "POST", afterSales, ask(nil, line(bobs.Lines[0].ID, 1)), nil, 400, "order_line_not_found", "lines[0].order_line_id"},
			{"a line with one open already", w.alice, "POST", afterSales, ask(nil, line(lineB, 1)), nil, 409, "aftersale_open", ""},
			{"a return before shipping", w.alice, "POST", afterSales, ask(map[string]any{"kind": "return_refund"}), nil, 400, "aftersale_return_not_shipped", "kind"},
			{"an unpaid order", w.alice, "POST", "/api/v1/orders/" + unpaid.ID + "/after-sales", ask(nil, line(unpaid.Lines[0].ID, 1)), nil, 409, "aftersale_order_not_eligible", ""},
			{"bob's order", w.alice, "POST", "/api/v1/orders/" + bobs.ID + "/after-sales", ask(nil, line(bobs.Lines[0].ID, 1)), nil, 404, "order_not_found", ""},
			{"bob reads alice's", w.bob, "GET", "/api/v1/after-sales/" + open.ID, nil, nil, 404, "aftersale_not_found", ""},
			{"bob withdraws alice's", w.bob, "POST", "/api/v1/after-sales/" + open.ID + "/withdraw", nil, nil, 404, "aftersale_not_found", ""},
			{"malformed after-sale id", w.alice, "GET", "/api/v1/after-sales/x", nil, nil, 404, "aftersale_not_found", ""},
			{"bad state filter", w.alice, "GET", "/api/v1/after-sales?state=lost", nil, nil, 400, "invalid_parameter", "state"},
			{"bad order filter", w.alice, "GET", "/api/v1/after-sales?order_id=1", nil, nil, 400, "invalid_parameter", "order_id"},
			{"forged cursor", w.alice, "GET", "/api/v1/after-sales?cursor=forged", nil, nil, 400, "invalid_cursor", "cursor"},

			// Deciding one.
			{"reject without a note", w.operator, "POST", "/admin/api/v1/after-sales/" + open.ID + "/reject", map[string]any{"note": ""}, nil, 400, "required", "note"},
			{"a long note", w.operator, "POST", "/admin/api/v1/after-sales/" + open.ID + "/approve", map[string]any{"note": strings.Repeat("好", 201)}, nil, 400, "too_long", "note"},
			{"a decision with an amount", w.operator, "POST", "/admin/api/v1/after-sales/" + open.ID + "/approve", map[string]any{"amount": 1}, nil, 400, "unknown_field", "amount"},
			{"a decision without a body", w.operator, "POST", "/admin/api/v1/after-sales/" + open.ID + "/approve", nil, nil, 415, "unsupported_media_type", "Content-Type"},
			{"receive a refund-only request", w.operator, "POST", "/admin/api/v1/after-sales/" + open.ID + "/receive-return", map[string]any{}, nil, 409, "aftersale_invalid_state", ""},
			{"decide an unknown one", w.operator, "POST", "/admin/api/v1/after-sales/" + unknown + "/approve", map[string]any{}, nil, 404, "aftersale_not_found", ""},

			// Refunding directly.
			{"lines and all", w.finance, "POST", refunds, refundBody(map[string]any{"all": true}), nil, 400, "conflicting_fields", "lines"},
			{"neither lines nor all", w.finance, "POST", refunds, refundBody(map[string]any{"lines": nil}), nil, 400, "required", "lines"},
			{"a refund without a reason", w.finance, "POST", refunds, refundBody(map[string]any{"reason": nil}), nil, 400, "required", "reason"},
			{"a refund naming its amount", w.finance, "POST", refunds, refundBody(map[string]any{"amount": 100}), nil, 400, "unknown_field", "amount"},
			{"a refund of zero units", w.finance, "POST", refunds, refundBody(map[string]any{"lines": []any{line(lineA, 0)}}), nil, 400, "qty_out_of_range", "lines[0].qty"},
			{"a refund of a fraction", w.finance, "POST", refunds, refundBody(map[string]any{"lines": []any{line(lineA, 0.5)}}), nil, 400, "invalid_type", "lines.qty"},
			{"a refund of too many units", w.finance, "POST", refunds, refundBody(map[string]any{"lines": []any{line(lineA, 3)}}), nil, 409, "refund_exceeds_qty", "lines[0].qty"},
			{"a refund of an unpaid order", w.finance, "POST", "/admin/api/v1/orders/" + unpaid.ID + "/refunds", refundBody(map[string]any{"lines": nil, "all": true}), nil, 409, "refund_order_not_paid", ""},
			{"a refund with a bad key", w.finance, "POST", refunds, refundBody(nil), []string{"Idempotency-Key", strings.Repeat("k", 256)}, 400, "invalid_idempotency_key", "Idempotency-Key"},
			{"refunds of an unknown order", w.finance, "GET", "/admin/api/v1/orders/" + unknown + "/refunds", nil, nil, 404, "order_not_found", ""},
			{"bad refund state", w.finance, "GET", "/admin/api/v1/refunds?state=lost", nil, nil, 400, "invalid_parameter", "state"},
			{"an unknown refund", w.finance, "GET", "/admin/api/v1/refunds/" + unknown, nil, nil, 404, "refund_not_found", ""},

			// Resolving an abnormal refund.
			{"an unknown resolution", w.finance, "POST", "/admin/api/v1/refunds/" + unknown + "/resolve", map[string]any{"resolution": "forgiven", "note": "x"}, nil, 400, "invalid_resolution", "resolution"},
			{"a resolution without a note", w.finance, "POST", "/admin/api/v1/refunds/" + unknown + "/resolve", map[string]any{"resolution": "closed"}, nil, 400, "required", "note"},
			{"resolve an unknown refund", w.finance, "POST", "/admin/api/v1/refunds/" + unknown + "/resolve", map[string]any{"resolution": "closed", "note": "x"}, nil, 404, "refund_not_found", ""},
			{"resolve with an amount", w.finance, "POST", "/admin/api/v1/refunds/" + unknown + "/resolve", map[string]any{"resolution": "closed", "note": "x", "amount": 1}, nil, 400, "unknown_field", "amount"},

			// The book.
			{"a statement from a date", w.finance, "GET", "/admin/api/v1/ledger/accounts/clearing:wechat/statement?from=2026-11-22", nil, nil, 400, "invalid_parameter", "from"},
			{"a statement ending before it starts", w.finance, "GET", "/admin/api/v1/ledger/accounts/clearing:wechat/statement?from=2026-11-22T00:00:00Z&to=2026-11-21T00:00:00Z", nil, nil, 400, "invalid_parameter", "to"},
			{"a statement of 1001 lines", w.finance, "GET", "/admin/api/v1/ledger/accounts/clearing:wechat/statement?limit=1001", nil, nil, 400, "invalid_parameter", "limit"},
			{"an unknown account", w.finance, "GET", "/admin/api/v1/ledger/accounts/savings:mine/statement", nil, nil, 404, "ledger_account_not_found", ""},
			{"a day that is not", w.finance, "GET", "/admin/api/v1/ledger/settlements/2026-13-01", nil, nil, 400, "invalid_parameter", "day"},
			{"a day as a time", w.finance, "GET", "/admin/api/v1/ledger/settlements/2026-11-22T00:00:00Z", nil, nil, 400, "invalid_parameter", "day"},
			{"a parameter the trial balance lacks", w.finance, "GET", "/admin/api/v1/ledger/trial-balance?account=x", nil, nil, 400, "unknown_parameter", "account"},
		}
		before := w.soundLedger()
		var refundsBefore refundPage
		w.finance.must(200, "GET", "/admin/api/v1/refunds", nil, &refundsBefore)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				cl := &client{t: t, h: c.c.h, token: c.c.token}
				r := cl.do(c.method, c.path, c.body, c.hdr...)
				if r.Status != c.status {
					t.Fatalf("got %d, want %d: %s", r.Status, c.status, r.Body)
				}
				p := r.problem(t)
				if p.Code != c.code || (c.field != "" && !p.hasField(c.field)) {
					t.Fatalf("got %s field %q %+v, want %s field %q", p.Code, p.Field, p.Errors, c.code, c.field)
				}
			})
		}
		w.settle()
		var mine afterSalePage
		w.alice.must(200, "GET", "/api/v1/after-sales", nil, &mine)
		if len(mine.Items) != 1 || mine.Items[0].ID != open.ID || mine.Items[0].State != "requested" {
			t.Errorf("alice's after-sales: %+v", mine)
		}
		var refundsAfter refundPage
		w.finance.must(200, "GET", "/admin/api/v1/refunds", nil, &refundsAfter)
		if len(refundsAfter.Items) != len(refundsBefore.Items) {
			t.Errorf("%d refunds, had %d", len(refundsAfter.Items), len(refundsBefore.Items))
		}
		if after := w.soundLedger(); after.Totals != before.Totals {
			t.Errorf("the book moved: %+v, was %+v", after.Totals, before.Totals)
		}
		w.alice.must(404, "GET", "/api/v1/orders/"+unpaid.ID+"/payment", nil, nil)
	})
}

package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/siyu-commerce/siyu/internal/money"
)

// The merchant transfer to a wallet (商家转账, /v3/fund-app/mch-transfer/
// transfer-bills), which pays promoters' withdrawals: create, idempotent by
// out_bill_no, and query by it. A bill is ACCEPTED when made and ends
// SUCCESS at once unless its faults say otherwise; the platform's callback
// for bills is not simulated (the shop queries, as it must anyway when an
// answer is lost).

// TransferFaults change what happens to one transfer bill.
type TransferFaults struct {
	Fail bool // the bill ends FAIL: no money moved
	// Lost: the bill is made, but the create call answers 500 SYSTEM_ERROR,
	// as if the answer were lost on the way.
	Lost bool
	// Hang: the bill is made, and the create call answers nothing until the
	// caller gives up.
	Hang bool
	// Hold keeps the bill ACCEPTED (as if waiting for the payee's
	// confirmation) until the faults are cleared.
	Hold bool
}

type transferBill struct {
	outBillNo, billNo, openID, remark string
	amount                            money.Fen
	state, failReason                 string
	created, updated                  time.Time
}

type transferBook struct {
	mu     sync.Mutex
	bills  map[string]*transferBill
	faults map[string]TransferFaults
}

// books holds each simulator's transfer bills, beside the simulator rather
// than in it, so the payment simulator's own state stays as it is.
var books sync.Map // *Pay -> *transferBook

func (p *Pay) transfers() *transferBook {
	b, _ := books.LoadOrStore(p, &transferBook{bills: map[string]*transferBill{}, faults: map[string]TransferFaults{}})
	return b.(*transferBook)
}

// routeTransfers registers the transfer endpoints; NewPay calls it.
func (p *Pay) routeTransfers() {
	p.mux.Handle("POST /v3/fund-app/mch-transfer/transfer-bills", p.v3Hang(p.createTransfer))
	p.mux.Handle("GET /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{no}", p.v3(p.queryTransfer))
}

// InjectTransfer sets the faults of the bill with this out_bill_no; the
// zero TransferFaults clears them (and lets a held bill end SUCCESS, or FAIL).
func (p *Pay) InjectTransfer(outBillNo string, f TransferFaults) {
	b := p.transfers()
	b.mu.Lock()
	defer b.mu.Unlock()
	if f == (TransferFaults{}) {
		delete(b.faults, outBillNo)
	} else {
		b.faults[outBillNo] = f
	}
	if bill := b.bills[outBillNo]; bill != nil && bill.state == "ACCEPTED" && !f.Hold {
		p.finishTransfer(bill, f)
	}
}

// TransferState is the state of a bill ("" if there is none), for tests.
func (p *Pay) TransferState(outBillNo string) string {
	b := p.transfers()
	b.mu.Lock()
	defer b.mu.Unlock()
	if bill := b.bills[outBillNo]; bill != nil {
		return bill.state
	}
	return ""
}

// finishTransfer ends an accepted bill; the caller holds the book's lock.
func (p *Pay) finishTransfer(bill *transferBill, f TransferFaults) {
	bill.updated = p.now().Truncate(time.Second)
	if f.Fail {
		bill.state, bill.failReason = "FAIL", "PAYEE_ACCOUNT_ABNORMAL"
		return
	}
	bill.state = "SUCCESS"
}

var outBillNoRE = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)

type transferRequest struct {
	AppID       string    `json:"appid"`
	OutBillNo   string    `json:"out_bill_no"`
	SceneID     string    `json:"transfer_scene_id"`
	OpenID      string    `json:"openid"`
	Amount      money.Fen `json:"transfer_amount"`
	Remark      string    `json:"transfer_remark"`
	ReportInfos []struct {
		Type    string `json:"info_type"`
		Content string `json:"info_content"`
	} `json:"transfer_scene_report_infos"`
}

// hangSignal is what createTransfer answers to have v3Hang hold the call.
type hangSignal struct{}

// v3Hang is v3 for an endpoint that may be told to hang: it holds the
// request until the caller's context ends (or the simulator closes).
func (p *Pay) v3Hang(h func(r *http.Request, body []byte) (int, any)) http.Handler {
	return p.v3(func(r *http.Request, body []byte) (int, any) {
		status, v := h(r, body)
		if _, hang := v.(hangSignal); hang {
			select {
			case <-r.Context().Done():
			case <-p.ctx.Done():
			}
			return fail(http.StatusGatewayTimeout, "SYSTEM_ERROR", "the simulator hung this call")
		}
		return status, v
	})
}

func (p *Pay) createTransfer(_ *http.Request, body []byte) (int, any) {
	var in transferRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return fail(http.StatusBadRequest, "PARAM_ERROR", "the body is not valid JSON")
	}
	switch {
	case in.AppID != p.cfg.AppID:
		return fail(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid is not the merchant's")
	case !outBillNoRE.MatchString(in.OutBillNo):
		return fail(http.StatusBadRequest, "PARAM_ERROR", "out_bill_no must be 1 to 32 letters and digits")
	case in.Amount < 10:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "transfer_amount must be at least 10 fen")
	case in.OpenID == "":
		return fail(http.StatusBadRequest, "PARAM_ERROR", "openid is required")
	case in.SceneID == "" || len(in.ReportInfos) == 0:
		return fail(http.StatusBadRequest, "PARAM_ERROR", "transfer_scene_id and its report infos are required")
	case len([]rune(in.Remark)) > 32 || in.Remark == "":
		return fail(http.StatusBadRequest, "PARAM_ERROR", "transfer_remark must be 1 to 32 characters")
	}
	b := p.transfers()
	b.mu.Lock()
	defer b.mu.Unlock()
	f := b.faults[in.OutBillNo]
	bill := b.bills[in.OutBillNo]
	if bill != nil {
		// out_bill_no is the idempotency key: a retry gets the first bill.
		if bill.amount != in.Amount || bill.openID != in.OpenID {
			return fail(http.StatusBadRequest, "INVALID_REQUEST", "out_bill_no was used with other parameters")
		}
	} else {
		now := p.now().Truncate(time.Second)
		p.mu.Lock()
		p.seq++
		seq := p.seq
		p.mu.Unlock()
		bill = &transferBill{outBillNo: in.OutBillNo, openID: in.OpenID, remark: in.Remark, amount: in.Amount,
			state: "ACCEPTED", created: now, updated: now,
			billNo: fmt.Sprintf("1330%s%016d", now.In(chinaTime).Format("20060102"), seq)}
		b.bills[in.OutBillNo] = bill
		answer := p.transferJSON(bill, false)
		if !f.Hold {
			p.finishTransfer(bill, f)
		}
		switch {
		case f.Hang:
			return 0, hangSignal{}
		case f.Lost:
			return fail(http.StatusInternalServerError, "SYSTEM_ERROR", "system error")
		}
		return http.StatusOK, answer
	}
	return http.StatusOK, p.transferJSON(bill, false)
}

func (p *Pay) queryTransfer(r *http.Request, _ []byte) (int, any) {
	b := p.transfers()
	b.mu.Lock()
	defer b.mu.Unlock()
	bill := b.bills[r.PathValue("no")]
	if bill == nil {
		return fail(http.StatusNotFound, "NOT_FOUND", "no such transfer bill")
	}
	return http.StatusOK, p.transferJSON(bill, true)
}

// transferJSON is a bill as the platform answers it: create gives its
// numbers and state; query adds the rest.
func (p *Pay) transferJSON(b *transferBill, full bool) any {
	type created struct {
		OutBillNo   string `json:"out_bill_no"`
		BillNo      string `json:"transfer_bill_no"`
		CreateTime  string `json:"create_time"`
		State       string `json:"state"`
		PackageInfo string `json:"package_info,omitempty"`
	}
	c := created{OutBillNo: b.outBillNo, BillNo: b.billNo, CreateTime: b.created.In(chinaTime).Format(time.RFC3339), State: b.state}
	if !full {
		return c
	}
	return struct {
		created
		MchID      string    `json:"mch_id"`
		AppID      string    `json:"appid"`
		Amount     money.Fen `json:"transfer_amount"`
		Remark     string    `json:"transfer_remark"`
		FailReason string    `json:"fail_reason,omitempty"`
		OpenID     string    `json:"openid"`
		UpdateTime string    `json:"update_time"`
	}{c, p.cfg.MchID, p.cfg.AppID, b.amount, b.remark, b.failReason, b.openID, b.updated.In(chinaTime).Format(time.RFC3339)}
}

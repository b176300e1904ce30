package affiliate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/jobs"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// TransferState is a wallet transfer's state at the payment platform
// (WeChat Pay's merchant transfer: ACCEPTED, PROCESSING, WAIT_USER_CONFIRM,
// TRANSFERING, SUCCESS, FAIL, CANCELING, CANCELLED).
type TransferState string

const (
	TransferAccepted    TransferState = "ACCEPTED"
	TransferProcessing  TransferState = "PROCESSING"
	TransferWaitConfirm TransferState = "WAIT_USER_CONFIRM"
	TransferTransfering TransferState = "TRANSFERING"
	TransferSuccess     TransferState = "SUCCESS"
	TransferFail        TransferState = "FAIL"
	TransferCanceling   TransferState = "CANCELING"
	TransferCancelled   TransferState = "CANCELLED"
)

// Final reports whether the transfer can no longer change.
func (t TransferState) Final() bool {
	return t == TransferSuccess || t == TransferFail || t == TransferCancelled
}

// TransferRequest is one transfer to a promoter's wallet. OutBillNo is the
// idempotency key at the platform: sent again, it finds the first transfer.
type TransferRequest struct {
	OutBillNo string
	OpenID    string
	Amount    money.Fen
	Remark    string
}

// TransferResult is what the platform says of a transfer.
type TransferResult struct {
	OutBillNo  string
	BillNo     string // the platform's number
	State      TransferState
	FailReason string
	// PackageInfo, while the transfer waits for the payee's confirmation,
	// is what the mini program passes to wx.requestMerchantTransfer.
	PackageInfo string
}

// Payouts pays promoters' withdrawals into their WeChat wallets. Errors of
// kind Unavailable (or unclassified ones) mean the answer was not heard:
// the transfer may or may not exist, and the caller asks again with the
// same OutBillNo. QueryTransfer answers ErrTransferNotFound (a NotFound
// errs code "payout_not_found") when the platform has no such transfer.
type Payouts interface {
	Transfer(ctx context.Context, r TransferRequest) (TransferResult, error)
	QueryTransfer(ctx context.Context, outBillNo string) (TransferResult, error)
}

// CodeTransferNotFound is the code of a query for a transfer the platform
// does not have.
const CodeTransferNotFound = "payout_not_found"

// WithdrawalState is where a withdrawal is.
//
//	requested -> approved (finance) -> processing -> succeeded | failed
//	requested -> rejected (finance)
//	approved (automatic under the threshold) -> ...
type WithdrawalState string

const (
	WithdrawalRequested  WithdrawalState = "requested"
	WithdrawalApproved   WithdrawalState = "approved"   // intent: the send job pays it
	WithdrawalProcessing WithdrawalState = "processing" // the platform accepted it
	WithdrawalSucceeded  WithdrawalState = "succeeded"
	WithdrawalFailed     WithdrawalState = "failed"
	WithdrawalRejected   WithdrawalState = "rejected"
)

// WithdrawalStates lists the states.
var WithdrawalStates = []WithdrawalState{WithdrawalRequested, WithdrawalApproved, WithdrawalProcessing,
	WithdrawalSucceeded, WithdrawalFailed, WithdrawalRejected}

// Live reports whether the withdrawal still holds its amount.
func (s WithdrawalState) Live() bool {
	return s == WithdrawalRequested || s == WithdrawalApproved || s == WithdrawalProcessing
}

// Withdrawal is a promoter taking their balance to their wallet.
type Withdrawal struct {
	ID          string          `json:"id"`
	PromoterID  string          `json:"promoter_id"`
	Amount      money.Fen       `json:"amount"`
	State       WithdrawalState `json:"state"`
	OutBillNo   string          `json:"out_bill_no"`
	BillNo      string          `json:"bill_no,omitempty"`
	Failure     string          `json:"failure,omitempty"`
	PackageInfo string          `json:"package_info,omitempty"`
	DecidedBy   string          `json:"decided_by,omitempty"` // finance, or "auto"
	Note        string          `json:"note,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
}

// Job kinds of withdrawals.
const (
	JobSendWithdrawal  = "affiliate.withdrawal_send"
	JobQueryWithdrawal = "affiliate.withdrawal_query"
)

// Platform rules of WeChat Pay's merchant transfer: the least transfer is
// 0.1 yuan, out_bill_no is up to 32 of [0-9A-Za-z].
const (
	sendAttempts = 100
	queryFirst   = time.Minute
	queryMax     = time.Hour
)

type withdrawalJob struct {
	WithdrawalID string `json:"withdrawal_id"`
	Check        int    `json:"check,omitempty"`
}

func sendJob(w *Withdrawal, now time.Time) jobs.Job {
	j := jobs.New(JobSendWithdrawal, w.ID, now, withdrawalJob{WithdrawalID: w.ID})
	j.MaxAttempts = sendAttempts
	return j
}

func queryJob(w *Withdrawal, n int, now time.Time) jobs.Job {
	wait := queryFirst
	for i := 1; i < n && wait < queryMax; i++ {
		wait *= 2
	}
	return jobs.New(JobQueryWithdrawal, fmt.Sprintf("%s:%d", w.ID, n), now.Add(min(wait, queryMax)),
		withdrawalJob{WithdrawalID: w.ID, Check: n})
}

// transferID is the withdrawal's one ledger transfer: pending while the
// money is on its way, posted when it arrived, voided when it did not.
func transferID(w *Withdrawal) string { return KindWithdrawal + ":" + w.ID }

// Withdraw starts a withdrawal of amount from the promoter's available
// balance, within the program's least amount and daily limits (per
// business day in Asia/Shanghai, WeChat Pay's day). At most the auto
// threshold it is approved at once; above it, finance decides. The amount
// is held from the moment of the request (a pending ledger outflow), so it
// cannot be asked for twice.
func (s *Service) Withdraw(ctx context.Context, promoterID string, amount money.Fen) (*Withdrawal, error) {
	p, err := s.Program(ctx)
	if err != nil {
		return nil, err
	}
	rules := p.Withdrawals
	if amount < rules.Min {
		return nil, ErrBelowMin
	}
	now := s.Clock.Now().UTC()
	start, end := ledger.BusinessDay(now)
	return s.Store.CreateWithdrawal(ctx, promoterID, start, end, func(pr *Promoter, e Earnings, day DayUse) (*Withdrawal, Change, error) {
		switch {
		case pr.Status != Approved:
			return nil, Change{}, ErrNotApproved
		case day.Count >= rules.DailyCount:
			return nil, Change{}, ErrDailyCount
		case day.Amount+amount > rules.DailyAmount:
			return nil, Change{}, ErrDailyAmount
		case amount > e.Available:
			return nil, Change{}, ErrOverBalance
		}
		id := ids.New()
		w := &Withdrawal{ID: id, PromoterID: pr.ID, Amount: amount, State: WithdrawalRequested,
			OutBillNo: strings.ReplaceAll(id, "-", ""), CreatedAt: now, UpdatedAt: now}
		c := Change{Transfers: []ledger.Transfer{{ID: transferID(w), Kind: KindWithdrawal, Ref: pr.ID,
			State: ledger.Pending, CreatedAt: now,
			Entries: []ledger.Entry{ledger.Dr(Account(pr.ID), amount), ledger.Cr(OperatingAccount, amount)}}}}
		if amount <= rules.AutoApproveUnder {
			w.State, w.DecidedBy = WithdrawalApproved, "auto"
			c.Jobs = []jobs.Job{sendJob(w, now)}
		}
		return w, c, nil
	})
}

// DecideWithdrawal is finance approving (the send job pays it) or
// rejecting (its amount is free again) a requested withdrawal.
func (s *Service) DecideWithdrawal(ctx context.Context, op Operator, id string, approve bool, note string) (*Withdrawal, error) {
	now := s.Clock.Now().UTC()
	return s.Store.UpdateWithdrawal(ctx, id, func(w *Withdrawal) (Change, error) {
		if (approve && w.State == WithdrawalApproved) || (!approve && w.State == WithdrawalRejected) {
			return Change{}, ErrNoop
		}
		if w.State != WithdrawalRequested {
			return Change{}, ErrWithdrawalState
		}
		w.DecidedBy, w.Note, w.UpdatedAt = op.ID, note, now
		if approve {
			w.State = WithdrawalApproved
			return Change{Jobs: []jobs.Job{sendJob(w, now)}}, nil
		}
		w.State, w.FinishedAt = WithdrawalRejected, &now
		return Change{Void: []string{transferID(w)}}, nil
	})
}

// Withdrawal returns one withdrawal; promoterID, when set, must own it.
func (s *Service) Withdrawal(ctx context.Context, promoterID, id string) (*Withdrawal, error) {
	w, err := s.Store.Withdrawal(ctx, id)
	if err != nil {
		return nil, err
	}
	if promoterID != "" && w.PromoterID != promoterID {
		return nil, ErrWithdrawalNotFound
	}
	return w, nil
}

// Withdrawals lists withdrawals.
func (s *Service) Withdrawals(ctx context.Context, f WithdrawalFilter) (WithdrawalPage, error) {
	f.Limit = Limit(f.Limit)
	return s.Store.Withdrawals(ctx, f)
}

// sendHandler pays an approved withdrawal. Every attempt sends the same
// out_bill_no, by which the platform is idempotent; an attempt after one
// whose answer was lost asks the platform first, so it learns what the
// lost answer said instead of guessing.
func (s *Service) sendHandler(ctx context.Context, j jobs.Job) error {
	w, err := s.jobWithdrawal(ctx, j)
	if err != nil || w == nil || w.State != WithdrawalApproved {
		return err
	}
	if j.Attempts > 1 {
		res, err := s.Payouts.QueryTransfer(ctx, w.OutBillNo)
		switch {
		case err == nil:
			return s.applyTransfer(ctx, w.ID, res, 1)
		case !errs.Is(err, CodeTransferNotFound):
			return err
		}
	}
	openID, err := s.Payees.OpenID(ctx, w.PromoterID)
	if err != nil {
		return err
	}
	res, err := s.Payouts.Transfer(ctx, TransferRequest{OutBillNo: w.OutBillNo, OpenID: openID, Amount: w.Amount,
		Remark: "佣金提现"})
	if err != nil {
		if k := errs.KindOf(err); k == errs.Unavailable || k == errs.Internal {
			return err
		}
		// The platform refused it: no money left. The withdrawal fails
		// and its amount is free again; it is an alarm all the same.
		s.log().Error("affiliate: the payment platform refused a withdrawal", "withdrawal", w.ID, "err", err)
		return s.applyTransfer(ctx, w.ID, TransferResult{OutBillNo: w.OutBillNo, State: TransferFail,
			FailReason: "refused by the payment platform"}, 1)
	}
	return s.applyTransfer(ctx, w.ID, res, 1)
}

// queryHandler asks about a transfer the platform accepted; still under
// way, the next query is scheduled, each waiting twice as long.
func (s *Service) queryHandler(ctx context.Context, j jobs.Job) error {
	w, err := s.jobWithdrawal(ctx, j)
	if err != nil || w == nil || w.State != WithdrawalProcessing {
		return err
	}
	var p withdrawalJob
	_ = json.Unmarshal(j.Payload, &p)
	res, err := s.Payouts.QueryTransfer(ctx, w.OutBillNo)
	if err != nil {
		return err
	}
	return s.applyTransfer(ctx, w.ID, res, p.Check+1)
}

func (s *Service) jobWithdrawal(ctx context.Context, j jobs.Job) (*Withdrawal, error) {
	var p withdrawalJob
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return nil, err
	}
	w, err := s.Store.Withdrawal(ctx, p.WithdrawalID)
	if errs.Is(err, ErrWithdrawalNotFound.Code) {
		return nil, nil
	}
	return w, err
}

// applyTransfer is the one path by which the platform's answer moves a
// withdrawal: success posts its transfer, failure voids it (the balance is
// back), anything else keeps it processing with a query scheduled.
func (s *Service) applyTransfer(ctx context.Context, id string, res TransferResult, check int) error {
	now := s.Clock.Now().UTC()
	_, err := s.Store.UpdateWithdrawal(ctx, id, func(w *Withdrawal) (Change, error) {
		if !w.State.Live() || w.State == WithdrawalRequested {
			return Change{}, ErrNoop
		}
		if res.BillNo != "" {
			w.BillNo = res.BillNo
		}
		w.PackageInfo, w.UpdatedAt = res.PackageInfo, now
		switch res.State {
		case TransferSuccess:
			w.State, w.FinishedAt, w.PackageInfo = WithdrawalSucceeded, &now, ""
			return Change{Post: []string{transferID(w)}}, nil
		case TransferFail, TransferCancelled:
			w.State, w.FinishedAt, w.Failure, w.PackageInfo = WithdrawalFailed, &now, res.FailReason, ""
			if w.Failure == "" {
				w.Failure = string(res.State)
			}
			return Change{Void: []string{transferID(w)}}, nil
		}
		w.State = WithdrawalProcessing
		return Change{Jobs: []jobs.Job{queryJob(w, check, now)}}, nil
	})
	return err
}

package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/affiliate"
	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/refund"
	"github.com/siyu-commerce/siyu/internal/share"
	"github.com/siyu-commerce/siyu/internal/wechat/sandbox"
)

var ownerOp = affiliate.Operator{ID: ids.New(), Role: "owner"}

// distWorld is a seeded shop with a distribution program.
type distWorld struct {
	*apptest.App
	t   *testing.T
	sku string
}

func newDistWorld(t *testing.T, engine apptest.Engine, mod func(p *affiliate.Program)) *distWorld {
	t.Helper()
	a := apptest.New(t, engine, nil)
	seed(t, a)
	o, sku := buyerWithOrder(t, a, "dist-seed", 1)
	_ = o
	p := affiliate.DefaultProgram()
	p.AutoApprove, p.Tiers, p.Rates = true, 2, []money.BP{1000, 500}
	if mod != nil {
		mod(&p)
	}
	if _, err := a.Affiliates.SetProgram(context.Background(), ownerOp, p); err != nil {
		t.Fatal(err)
	}
	return &distWorld{App: a, t: t, sku: sku}
}

func (w *distWorld) buyer(code string) string {
	w.t.Helper()
	_, b, _, err := w.Identity.Login(context.Background(), code)
	if err != nil {
		w.t.Fatal(err)
	}
	return b.ID
}

func (w *distWorld) promoter(code string) *affiliate.Promoter {
	w.t.Helper()
	p, err := w.Affiliates.Apply(context.Background(), w.buyer(code))
	if err != nil || p.Status != affiliate.Approved {
		w.t.Fatalf("apply: %+v %v", p, err)
	}
	return p
}

func (w *distWorld) bind(buyerID string, to *affiliate.Promoter) {
	w.t.Helper()
	if _, err := w.Affiliates.BindByCode(context.Background(), buyerID, to.InviteCode, ""); err != nil {
		w.t.Fatal(err)
	}
}

// buy places and pays an order of qty units for the buyer.
func (w *distWorld) buy(buyerID string, qty int) *order.Order {
	w.t.Helper()
	ctx := context.Background()
	addr, err := w.Identity.CreateAddress(ctx, buyerID, identity.AddressInput{
		Name: "韩梅梅", Phone: "13912345678", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文一路 8 号",
	})
	if err != nil {
		w.t.Fatal(err)
	}
	o, err := w.Orders.Place(ctx, order.PlaceInput{BuyerID: buyerID, Lines: []order.LineInput{{SKUID: w.sku, Qty: qty}}, AddressID: addr.ID})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.Payments.Pay(ctx, buyerID, o.ID); err != nil {
		w.t.Fatal(err)
	}
	if err := w.PaySandbox.PayOrder(payment.OutTradeNo(o.ID)); err != nil {
		w.t.Fatal(err)
	}
	settle(w.t, w.App)
	o, _ = w.Store.Order(ctx, o.ID)
	if o.Status != order.Paid {
		w.t.Fatalf("order %s", o.Status)
	}
	return o
}

// complete ships an order and has the buyer confirm receipt.
func (w *distWorld) complete(o *order.Order) {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.Orders.Ship(ctx, o.ID, order.ShipInput{Carrier: "SF", TrackingNo: "SF123456"}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.Orders.ConfirmReceipt(ctx, o.BuyerID, o.ID); err != nil {
		w.t.Fatal(err)
	}
	settle(w.t, w.App)
}

func (w *distWorld) commissions(orderID string) map[int]affiliate.Commission {
	w.t.Helper()
	page, err := w.Affiliates.Commissions(context.Background(), affiliate.CommissionFilter{OrderID: orderID})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[int]affiliate.Commission{}
	for _, c := range page.Commissions {
		out[c.Tier] = c
	}
	return out
}

func (w *distWorld) earnings(p *affiliate.Promoter) affiliate.Earnings {
	w.t.Helper()
	e, err := w.Affiliates.Earnings(context.Background(), p.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	return e
}

// sound checks the ledger and that the commission liability matches it.
func (w *distWorld) sound() {
	w.t.Helper()
	checkLedger(w.t, w.App)
	l, err := w.Affiliates.Liability(context.Background())
	if err != nil || !l.Matches {
		w.t.Fatalf("liability %+v %v", l, err)
	}
}

func (w *distWorld) days(n int) {
	w.Clock.Advance(time.Duration(n) * 24 * time.Hour)
	settle(w.t, w.App)
}

func lineCommission(amount money.Fen, rates ...money.BP) []money.Fen {
	var sum money.BP
	ws := make([]money.Fen, len(rates))
	for i, r := range rates {
		sum += r
		ws[i] = money.Fen(r)
	}
	return money.Allocate(amount*money.Fen(sum)/10000, ws)
}

// TestTwoTierCommissionSettlesAfterTheWindow: a paid order earns its
// buyer's promoter tier 1 and that promoter's promoter tier 2, pending on
// the ledger; it settles only once receipt is confirmed and the settle
// window has passed.
func TestTwoTierCommissionSettlesAfterTheWindow(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newDistWorld(t, engine, nil)
			top, mid := w.promoter("dist-top"), w.promoter("dist-mid")
			w.bind(mid.ID, top)
			buyer := w.buyer("dist-buyer")
			w.bind(buyer, mid)
			o := w.buy(buyer, 2)
			want := lineCommission(o.Lines[0].Amount, 1000, 500)
			cs := w.commissions(o.ID)
			if cs[1].PromoterID != mid.ID || cs[1].Amount != want[0] || cs[2].PromoterID != top.ID || cs[2].Amount != want[1] {
				t.Fatalf("commissions %+v, want %v", cs, want)
			}
			if e := w.earnings(mid); e.Pending != want[0] || e.Available != 0 {
				t.Fatalf("mid before settlement %+v", e)
			}
			w.sound()

			w.complete(o)
			w.days(6)
			if e := w.earnings(mid); e.Available != 0 {
				t.Fatalf("settled inside the window: %+v", e)
			}
			w.days(2)
			if e := w.earnings(mid); e.Pending != 0 || e.Available != want[0] {
				t.Fatalf("mid after the window %+v", e)
			}
			if e := w.earnings(top); e.Available != want[1] {
				t.Fatalf("top after the window %+v", e)
			}
			w.sound()
		})
	}
}

// TestPartialRefundBeforeSettlement: refunding one of two units reverses
// half the pending commission (rounded so the promoter never keeps more
// than the program's share), and only the rest settles.
func TestPartialRefundBeforeSettlement(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newDistWorld(t, engine, nil)
			mid := w.promoter("part-mid")
			buyer := w.buyer("part-buyer")
			w.bind(buyer, mid)
			o := w.buy(buyer, 2)
			c := w.commissions(o.ID)[1]
			ctx := context.Background()
			if _, err := w.Refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, Lines: []refund.LineQty{{OrderLineID: o.Lines[0].ID, Qty: 1}},
				Reason: "one broke", Operator: "finance"}); err != nil {
				t.Fatal(err)
			}
			settle(t, w.App)
			after := w.commissions(o.ID)[1]
			half := o.Lines[0].Amount / 2
			taken := (c.Amount*half + o.Lines[0].Amount - 1) / o.Lines[0].Amount
			if after.Refunded != half || after.Reversed != taken {
				t.Fatalf("after the refund %+v; want reversed %d", after, taken)
			}
			w.sound()
			w.complete(o)
			w.days(8)
			if e := w.earnings(mid); e.Available != c.Amount-taken || e.Pending != 0 {
				t.Fatalf("settled %+v, want %d", e, c.Amount-taken)
			}
			w.sound()
		})
	}
}

// TestRefundAfterSettlementAndWithdrawal: the promoter withdraws what
// settled (paid through the simulator's transfer), then the order is
// refunded in full: the commission is clawed back, the account goes below
// zero, and a later commission nets against it.
func TestRefundAfterSettlementAndWithdrawal(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newDistWorld(t, engine, func(p *affiliate.Program) { p.Tiers, p.Rates = 1, []money.BP{1500} })
			ctx := context.Background()
			mid := w.promoter("claw-mid")
			buyer := w.buyer("claw-buyer")
			w.bind(buyer, mid)
			o := w.buy(buyer, 3)
			w.complete(o)
			w.days(8)
			earned := w.earnings(mid).Available
			if earned <= 0 {
				t.Fatalf("nothing settled")
			}
			wd, err := w.Affiliates.Withdraw(ctx, mid.ID, earned)
			if err != nil || wd.State != affiliate.WithdrawalApproved {
				t.Fatalf("withdraw: %+v %v", wd, err)
			}
			settle(t, w.App)
			w.Clock.Advance(2 * time.Minute) // the query after the platform accepted it
			settle(t, w.App)
			if got, _ := w.Affiliates.Withdrawal(ctx, mid.ID, wd.ID); got.State != affiliate.WithdrawalSucceeded {
				t.Fatalf("withdrawal %+v", got)
			}
			if e := w.earnings(mid); e.Withdrawn != earned || e.Available != 0 {
				t.Fatalf("after withdrawal %+v", e)
			}
			w.sound()

			if _, err := w.Refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, All: true, Reason: "returned", Operator: "finance"}); err != nil {
				t.Fatal(err)
			}
			settle(t, w.App)
			if e := w.earnings(mid); e.Available != -earned || e.ClawedBack != earned {
				t.Fatalf("after the refund %+v; want %d", e, -earned)
			}
			w.sound()

			o2 := w.buy(buyer, 1)
			w.complete(o2)
			w.days(8)
			c2 := w.commissions(o2.ID)[1]
			if e := w.earnings(mid); e.Available != c2.Amount-earned {
				t.Fatalf("netted %+v; want %d", e, c2.Amount-earned)
			}
			if _, err := w.Affiliates.Withdraw(ctx, mid.ID, 100); !errs.Is(err, affiliate.ErrOverBalance.Code) {
				t.Fatalf("withdrew from a negative balance: %v", err)
			}
			w.sound()
		})
	}
}

// TestBindingModes: through share links of promoters, first touch keeps
// the first, last touch takes the latest, and an expiring binding lets a
// new link rebind once it has expired.
func TestBindingModes(t *testing.T) {
	for _, engine := range apptest.Engines() {
		for _, c := range []struct {
			name      string
			mode      affiliate.BindMode
			days      int
			waitDays  int
			secondWin bool
		}{
			{"first_touch", affiliate.FirstTouch, 0, 0, false},
			{"last_touch", affiliate.LastTouch, 0, 0, true},
			{"expiring_held", affiliate.FirstTouchExpiring, 3, 1, false},
			{"expiring_expired", affiliate.FirstTouchExpiring, 3, 4, true},
		} {
			t.Run(string(engine)+"_"+c.name, func(t *testing.T) {
				w := newDistWorld(t, engine, func(p *affiliate.Program) { p.Binding, p.BindDays = c.mode, c.days })
				ctx := context.Background()
				first, second := w.promoter("bind-first"), w.promoter("bind-second")
				buyer := w.buyer("bind-buyer")
				for i, p := range []*affiliate.Promoter{first, second} {
					m, err := w.Shares.Create(ctx, p.ID, share.NewShare{TargetKind: share.PromoterPage, TargetID: p.ID})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := w.Shares.Visit(ctx, buyer, m.Token, share.ShareCard, ""); err != nil {
						t.Fatal(err)
					}
					if i == 0 {
						w.Clock.Advance(time.Duration(c.waitDays)*24*time.Hour + time.Minute)
					}
				}
				o := w.buy(buyer, 1)
				want := first.ID
				if c.secondWin {
					want = second.ID
				}
				if got := w.commissions(o.ID)[1].PromoterID; got != want {
					t.Fatalf("commission to %s, want %s (first %s)", got, want, first.ID)
				}
			})
		}
	}
}

// TestBindingRefusals: no self-binding, no cycle; a share of a promoter
// page is only for an approved promoter.
func TestBindingRefusals(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newDistWorld(t, engine, nil)
			ctx := context.Background()
			a, b, c := w.promoter("ref-a"), w.promoter("ref-b"), w.promoter("ref-c")
			if _, err := w.Affiliates.BindByCode(ctx, a.ID, a.InviteCode, ""); !errs.Is(err, affiliate.ErrSelfBinding.Code) {
				t.Fatalf("self: %v", err)
			}
			w.bind(a.ID, b) // a under b
			w.bind(b.ID, c) // b under c
			if _, err := w.Affiliates.BindByCode(ctx, c.ID, a.InviteCode, ""); !errs.Is(err, affiliate.ErrCycle.Code) {
				t.Fatalf("c under a would close a cycle: %v", err)
			}
			stranger := w.buyer("ref-stranger")
			if _, err := w.Shares.Create(ctx, stranger, share.NewShare{TargetKind: share.PromoterPage, TargetID: stranger}); !errs.Is(err, share.ErrTargetAbsent.Code) {
				t.Fatalf("a non-promoter's page was shared: %v", err)
			}
		})
	}
}

// TestThirdTierNeedsTheOwnersSignOff: three tiers are refused until the
// owner's legal sign-off is in the audit log, which only the owner can put
// there; then a third tier earns.
func TestThirdTierNeedsTheOwnersSignOff(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newDistWorld(t, engine, nil)
			ctx := context.Background()
			p, _ := w.Affiliates.Program(ctx)
			p.Tiers, p.Rates = 3, []money.BP{800, 400, 200}
			if _, err := w.Affiliates.SetProgram(ctx, ownerOp, p); !errs.Is(err, affiliate.CodeTierSignOff) {
				t.Fatalf("three tiers without sign-off: %v", err)
			}
			if _, err := w.Affiliates.SignOffThirdTier(ctx, affiliate.Operator{ID: "op", Role: "operator"}); err == nil {
				t.Fatal("an operator signed off")
			}
			so, err := w.Affiliates.SignOffThirdTier(ctx, ownerOp)
			if err != nil {
				t.Fatal(err)
			}
			got, err := w.Affiliates.SetProgram(ctx, ownerOp, p)
			if err != nil || got.TierSignOff == nil || got.TierSignOff.AuditID != so.AuditID || got.TierSignOff.ActorID != ownerOp.ID {
				t.Fatalf("after sign-off: %+v %v", got.TierSignOff, err)
			}
			t1, t2, t3 := w.promoter("t-1"), w.promoter("t-2"), w.promoter("t-3")
			w.bind(t2.ID, t3)
			w.bind(t1.ID, t2)
			buyer := w.buyer("t-buyer")
			w.bind(buyer, t1)
			o := w.buy(buyer, 1)
			if cs := w.commissions(o.ID); len(cs) != 3 || cs[3].PromoterID != t3.ID {
				t.Fatalf("three tiers %+v", cs)
			}
			w.sound()
		})
	}
}

// TestWithdrawalRecovery: finance approves above the threshold; a transfer
// whose answer is lost is found by the next attempt's query, not sent
// twice; a failed transfer frees the balance; limits hold.
func TestWithdrawalRecovery(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newDistWorld(t, engine, func(p *affiliate.Program) {
				p.Tiers, p.Rates = 1, []money.BP{3000}
				p.Withdrawals.AutoApproveUnder, p.Withdrawals.DailyCount = 150, 3
			})
			ctx := context.Background()
			mid := w.promoter("wd-mid")
			buyer := w.buyer("wd-buyer")
			w.bind(buyer, mid)
			o := w.buy(buyer, 3)
			w.complete(o)
			w.days(8)
			avail := w.earnings(mid).Available
			if avail < 500 {
				t.Fatalf("too little earned for the test: %d", avail)
			}
			if _, err := w.Affiliates.Withdraw(ctx, mid.ID, 99); !errs.Is(err, affiliate.ErrBelowMin.Code) {
				t.Fatalf("below min: %v", err)
			}
			if _, err := w.Affiliates.Withdraw(ctx, mid.ID, avail+1); !errs.Is(err, affiliate.ErrOverBalance.Code) {
				t.Fatalf("over balance: %v", err)
			}
			// Above the threshold: finance decides; a rejection frees it.
			big, err := w.Affiliates.Withdraw(ctx, mid.ID, 200)
			if err != nil || big.State != affiliate.WithdrawalRequested {
				t.Fatalf("big: %+v %v", big, err)
			}
			if e := w.earnings(mid); e.Withdrawing != 200 || e.Available != avail-200 {
				t.Fatalf("held %+v", e)
			}
			if _, err := w.Affiliates.DecideWithdrawal(ctx, affiliate.Operator{ID: "fin"}, big.ID, false, "no"); err != nil {
				t.Fatal(err)
			}
			if e := w.earnings(mid); e.Withdrawing != 0 || e.Available != avail {
				t.Fatalf("after rejection %+v", e)
			}
			// Approved, and its answer lost: the retry queries and finds it.
			lost, err := w.Affiliates.Withdraw(ctx, mid.ID, 200)
			if err != nil {
				t.Fatal(err)
			}
			w.PaySandbox.InjectTransfer(lost.OutBillNo, sandbox.TransferFaults{Lost: true})
			if _, err := w.Affiliates.DecideWithdrawal(ctx, affiliate.Operator{ID: "fin"}, lost.ID, true, ""); err != nil {
				t.Fatal(err)
			}
			settle(t, w.App)
			if w.PaySandbox.TransferState(lost.OutBillNo) != "SUCCESS" {
				t.Fatalf("bill %q", w.PaySandbox.TransferState(lost.OutBillNo))
			}
			if got, _ := w.Affiliates.Withdrawal(ctx, "", lost.ID); got.State != affiliate.WithdrawalApproved {
				t.Fatalf("state after the lost answer: %s", got.State)
			}
			w.Clock.Advance(5 * time.Second) // the retry's backoff
			settle(t, w.App)
			if got, _ := w.Affiliates.Withdrawal(ctx, "", lost.ID); got.State != affiliate.WithdrawalSucceeded || got.BillNo == "" {
				t.Fatalf("after the retry: %+v", got)
			}
			// Fails at the platform: the balance comes back.
			failed, err := w.Affiliates.Withdraw(ctx, mid.ID, 100)
			if err != nil {
				t.Fatal(err)
			}
			w.PaySandbox.InjectTransfer(failed.OutBillNo, sandbox.TransferFaults{Fail: true})
			settle(t, w.App)
			w.Clock.Advance(2 * time.Minute)
			settle(t, w.App)
			if got, _ := w.Affiliates.Withdrawal(ctx, "", failed.ID); got.State != affiliate.WithdrawalFailed {
				t.Fatalf("failed transfer: %+v", got)
			}
			if e := w.earnings(mid); e.Withdrawn != 200 || e.Available != avail-200 {
				t.Fatalf("after the failure %+v", e)
			}
			// Daily count: rejected and failed ones do not count; three live ones do.
			for i := 0; i < 2; i++ {
				if _, err := w.Affiliates.Withdraw(ctx, mid.ID, 100); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.Affiliates.Withdraw(ctx, mid.ID, 100); !errs.Is(err, affiliate.ErrDailyCount.Code) {
				t.Fatalf("fourth today: %v", err)
			}
			settle(t, w.App)
			w.sound()
		})
	}
}

// TestTransferThatHangs: the WeChat Pay client against the simulator's
// transfer to a wallet told to hang. The call gives up with a retryable
// error; the bill exists all the same, the query finds it, and sending it
// again with the same out_bill_no returns it rather than paying twice.
func TestTransferThatHangs(t *testing.T) {
	a := apptest.New(t, apptest.SQLite, nil)
	openID := "o-sandbox-payee"
	a.PaySandbox.InjectTransfer("bill0001", sandbox.TransferFaults{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req := affiliate.TransferRequest{OutBillNo: "bill0001", OpenID: openID, Amount: 150, Remark: "佣金提现"}
	if _, err := a.PayGateway.Transfer(ctx, req); errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("hung transfer: %v", err)
	}
	res, err := a.PayGateway.QueryTransfer(context.Background(), "bill0001")
	if err != nil || res.State != affiliate.TransferSuccess || res.BillNo == "" {
		t.Fatalf("query: %+v %v", res, err)
	}
	a.PaySandbox.InjectTransfer("bill0001", sandbox.TransferFaults{})
	again, err := a.PayGateway.Transfer(context.Background(), req)
	if err != nil || again.BillNo != res.BillNo {
		t.Fatalf("resent: %+v %v", again, err)
	}
	req.Amount = 151
	if _, err := a.PayGateway.Transfer(context.Background(), req); err == nil {
		t.Fatal("out_bill_no reused with another amount was accepted")
	}
	if _, err := a.PayGateway.QueryTransfer(context.Background(), "nosuchbill"); !errs.Is(err, affiliate.CodeTransferNotFound) {
		t.Fatalf("unknown bill: %v", err)
	}
}

// TestCommissionsUnderRandomRefundsAndSettlements: a seeded random run of
// orders, partial and full refunds and settlements on the real stack: the
// ledger stays sound, the commission liability matches it after every
// step, and no order earns more than the program's share of what it still
// paid.
func TestCommissionsUnderRandomRefundsAndSettlements(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			w := newDistWorld(t, engine, nil)
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(5, 5))
			top, mid := w.promoter("prop-top"), w.promoter("prop-mid")
			w.bind(mid.ID, top)
			var orders []*order.Order
			for i := 0; i < 6; i++ {
				buyer := w.buyer(fmt.Sprintf("prop-buyer%d", i))
				w.bind(buyer, mid)
				orders = append(orders, w.buy(buyer, 1+rng.IntN(3)))
			}
			for step := 0; step < 12; step++ {
				o := orders[rng.IntN(len(orders))]
				switch rng.IntN(3) {
				case 0: // refund one unit, if any is left
					_, _ = w.Refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID,
						Lines: []refund.LineQty{{OrderLineID: o.Lines[0].ID, Qty: 1}}, Reason: "random", Operator: "finance"})
				case 1:
					if cur, _ := w.Store.Order(ctx, o.ID); cur.Status == order.Paid {
						w.complete(cur)
					}
				case 2:
					w.days(1 + rng.IntN(8))
				}
				settle(t, w.App)
				w.sound()
			}
			p, _ := w.Affiliates.Program(ctx)
			for _, o := range orders {
				pos, err := w.Store.Position(ctx, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				var refunded money.Fen
				for _, l := range pos.Lines {
					refunded += l.RefundedAmount
				}
				var earned money.Fen
				for _, c := range w.commissions(o.ID) {
					earned += c.Earned()
				}
				standing := o.Lines[0].Amount - refunded
				if limit := standing * money.Fen(p.MaxShare) / 10000; earned > limit {
					t.Fatalf("order %s earns %d, over %d of %d standing", o.ID, earned, limit, standing)
				}
			}
		})
	}
}

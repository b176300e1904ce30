package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/ledger"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/presale"
	"github.com/siyu-commerce/siyu/internal/refund"
)

// presaleShop is an app with one SKU on sale (list 12900, sale 11900 fen)
// and 100 units in stock.
type presaleShop struct {
	app *apptest.App
	sku string
}

type presaleBuyer struct{ id, address string }

var presaleCodes sync.Mutex
var presaleCodeSeq int

func newPresaleShop(t testing.TB, engine apptest.Engine) *presaleShop {
	t.Helper()
	a := apptest.New(t, engine, nil)
	ctx := context.Background()
	cat, err := a.Catalog.CreateCategory(ctx, catalog.NewCategory{Name: "presale"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Catalog.CreateProduct(ctx, catalog.NewProduct{CategoryID: cat.ID, Title: "新茶预售", Status: catalog.OnSale,
		SKUs: []catalog.NewSKU{{Specs: []catalog.Spec{{Name: "weight", Value: "250g"}}, ListPrice: 12900, SalePrice: 11900}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Inventory.Adjust(ctx, p.SKUs[0].ID, inventory.Online, 100, inventory.Receive, "stock"); err != nil {
		t.Fatal(err)
	}
	return &presaleShop{app: a, sku: p.SKUs[0].ID}
}

func (s *presaleShop) buyers(t testing.TB, n int) []presaleBuyer {
	t.Helper()
	ctx := context.Background()
	out := make([]presaleBuyer, n)
	for i := range out {
		presaleCodes.Lock()
		presaleCodeSeq++
		code := fmt.Sprintf("presale%d-%d.1", presaleCodeSeq, time.Now().UnixNano())
		presaleCodes.Unlock()
		_, b, _, err := s.app.Identity.Login(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		addr, err := s.app.Identity.CreateAddress(ctx, b.ID, identity.AddressInput{
			Name: "赵小雨", Phone: "13700000000", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "龙井路 2 号",
		})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = presaleBuyer{b.ID, addr.ID}
	}
	return out
}

// presaleRules is a rules text long enough for the lint.
const presaleRules = "预售 3 天，定金 19 元/件，尾款在尾款期内支付；逾期未付尾款，定金不退（《民法典》第五百八十七条）。"

// presale publishes a presale starting now and selling for 3 days: deposit
// mode, 19.00 deposit per unit, units 1-3 at 99.00 and from the 4th at
// 109.00, a quota of 10, the balance window the 2 days after the selling,
// unless change says otherwise.
func (s *presaleShop) presale(t testing.TB, change func(*presale.ActivityInput)) *presale.Activity {
	t.Helper()
	ctx := context.Background()
	now := s.app.Clock.Now()
	ends := now.Add(72 * time.Hour)
	bs, be := ends, ends.Add(48*time.Hour)
	in := presale.ActivityInput{
		Title: "新茶预售", Rules: presaleRules, ShareNotice: "好友参与活动可能需要付费",
		Mode: presale.Deposit, Basis: presale.ByUnits, StartsAt: now, EndsAt: ends,
		BalanceStartsAt: &bs, BalanceEndsAt: &be, ShipsBy: be.Add(7 * 24 * time.Hour),
		Items: []presale.ItemInput{{SKUID: s.sku, Quota: 10, Deposit: 1900,
			Steps: []presale.Step{{FromUnit: 1, Price: 9900}, {FromUnit: 4, Price: 10900}}}},
	}
	if change != nil {
		change(&in)
	}
	a, err := s.app.Presales.CreateActivity(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.app.Presales.Publish(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	return a
}

func (s *presaleShop) buy(t testing.TB, a *presale.Activity, b presaleBuyer, qty int) (*presale.Order, *order.Order) {
	t.Helper()
	po, o, err := s.app.Presales.Buy(context.Background(), presale.BuyInput{BuyerID: b.id, ActivityID: a.ID, SKUID: s.sku,
		Qty: qty, AddressID: b.address})
	if err != nil {
		t.Fatalf("Buy: %v", err)
	}
	return po, o
}

// pay pays an order through the simulator, as the buyer would.
func (s *presaleShop) pay(t *testing.T, o *order.Order) {
	t.Helper()
	if _, err := s.app.Payments.Pay(context.Background(), o.BuyerID, o.ID); err != nil {
		t.Fatalf("Pay %s: %v", o.ID, err)
	}
	if err := s.app.PaySandbox.PayOrder(payment.OutTradeNo(o.ID)); err != nil {
		t.Fatal(err)
	}
	settle(t, s.app)
}

// at moves the clock forward to t.
func (s *presaleShop) at(t time.Time) { s.app.Clock.Advance(t.Sub(s.app.Clock.Now())) }

func (s *presaleShop) purchase(t testing.TB, id string) *presale.Order {
	t.Helper()
	po, err := s.app.Presales.PresaleOrder(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return po
}

func (s *presaleShop) order(t testing.TB, id string) *order.Order {
	t.Helper()
	o, err := s.app.Orders.Order(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (s *presaleShop) level(t testing.TB) inventory.Level {
	t.Helper()
	ls, err := s.app.Inventory.Levels(context.Background(), []string{s.sku})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		if l.Location == inventory.Online {
			return l
		}
	}
	return inventory.Level{}
}

func (s *presaleShop) wantLevel(t testing.TB, onHand, reserved int64) {
	t.Helper()
	if l := s.level(t); l.OnHand != onHand || l.Reserved != reserved {
		t.Fatalf("stock: on hand %d, reserved %d; want %d, %d", l.OnHand, l.Reserved, onHand, reserved)
	}
}

func (s *presaleShop) balance(t testing.TB, account string) money.Fen {
	t.Helper()
	bs, err := s.app.Store.Balances(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs {
		if b.Account.ID == account {
			return b.Posted()
		}
	}
	return 0
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if !errs.Is(err, code) {
		t.Fatalf("err = %v; want %s", err, code)
	}
}

// TestPresaleDepositAndBalance: a deposit buys the units at their steps
// (a purchase crossing a step pays each unit at its own), the presale
// reserves the stock, the deposit order carries no shipping and cannot
// ship; a deposit never paid gives its units and stock back; the balance
// is refused outside its window, then paid in it: the purchase is paid,
// its stock sold, the goods order ships; the ledger stays sound.
func TestPresaleDepositAndBalance(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newPresaleShop(t, engine)
			ctx := context.Background()
			act := s.presale(t, nil)
			people := s.buyers(t, 2)
			alice, bob := people[0], people[1]

			po, dep := s.buy(t, act, alice, 2)
			if po.Amount != 19800 || po.Deposit != 3800 || po.Balance != 16000 || po.FirstUnit != 1 {
				t.Fatalf("alice's purchase: %+v", po)
			}
			if dep.Total != 3800 || dep.Shipping != 0 || !dep.Held || dep.Activity.Kind != order.ActivityPresaleDeposit {
				t.Fatalf("deposit order: total %d, shipping %d, held %v, %+v", dep.Total, dep.Shipping, dep.Held, dep.Activity)
			}
			s.wantLevel(t, 100, 2)
			s.pay(t, dep)
			if got := s.purchase(t, po.ID); got.Status != presale.DepositPaid || got.Stock != presale.StockReserved {
				t.Fatalf("after the deposit: %s, stock %s", got.Status, got.Stock)
			}
			s.wantLevel(t, 100, 2) // the deposit order moved no stock
			if _, err := s.app.Orders.Ship(ctx, dep.ID, order.ShipInput{Carrier: "SF", TrackingNo: "1"}); !errs.Is(err, "order_held") {
				t.Fatalf("shipping the deposit: %v", err)
			}

			// Bob's three units straddle the step at unit 4: units 3 at
			// 99.00, 4 and 5 at 109.00.
			bpo, bdep := s.buy(t, act, bob, 3)
			want := []order.Run{{Qty: 1, Price: 9900}, {Qty: 2, Price: 10900}}
			if fmt.Sprint(bpo.Runs) != fmt.Sprint(want) || bpo.Amount != 31700 || bpo.FirstUnit != 3 {
				t.Fatalf("bob's purchase: runs %v, amount %d, first unit %d", bpo.Runs, bpo.Amount, bpo.FirstUnit)
			}
			s.wantLevel(t, 100, 5)
			s.app.Clock.Advance(16 * time.Minute)
			settle(t, s.app)
			if got := s.purchase(t, bpo.ID); got.Status != presale.Closed || got.Stock != presale.StockReleased {
				t.Fatalf("bob's unpaid deposit: %s, %s", got.Status, got.Stock)
			}
			if got := s.order(t, bdep.ID); got.Status != order.Closed {
				t.Fatalf("bob's deposit order: %s", got.Status)
			}
			s.wantLevel(t, 100, 2)
			if a, _ := s.app.Presales.Activity(ctx, act.ID); a.Items[0].Sold != 2 {
				t.Fatalf("units sold after bob's close: %d", a.Items[0].Sold)
			}

			_, err := s.app.Presales.PayBalance(ctx, alice.id, po.ID, "")
			wantCode(t, err, "presale_balance_window")
			_, err = s.app.Presales.PayBalance(ctx, bob.id, po.ID, "")
			wantCode(t, err, "presale_order_not_found")

			s.at(*act.BalanceStartsAt)
			bal, err := s.app.Presales.PayBalance(ctx, alice.id, po.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if bal.Total != 16000 || bal.Activity.Kind != order.ActivityPresaleBalance || bal.Held {
				t.Fatalf("balance order: %+v", bal)
			}
			again, err := s.app.Presales.PayBalance(ctx, alice.id, po.ID, "")
			if err != nil || again.ID != bal.ID {
				t.Fatalf("asking again: %v, %v; want the same order", again, err)
			}
			s.pay(t, bal)
			got := s.purchase(t, po.ID)
			if got.Status != presale.Paid || got.Stock != presale.StockSold || got.PaidAt == nil {
				t.Fatalf("after the balance: %+v", got)
			}
			s.wantLevel(t, 98, 0)
			if _, err := s.app.Orders.Ship(ctx, bal.ID, order.ShipInput{Carrier: "SF", TrackingNo: "2"}); err != nil {
				t.Fatalf("shipping the goods: %v", err)
			}
			_, err = s.app.Presales.PayBalance(ctx, alice.id, po.ID, "")
			wantCode(t, err, "presale_balance_paid")
			checkLedger(t, s.app)
		})
	}
}

// TestPresaleForfeit: a balance not paid by the end of its window forfeits
// the deposit: the balance order left open is closed, the stock released,
// and the deposit moves on the ledger from sales revenue to forfeited
// deposits. A goodwill refund of it afterwards comes back out of forfeited
// deposits. The ledger is sound throughout.
func TestPresaleForfeit(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newPresaleShop(t, engine)
			ctx := context.Background()
			act := s.presale(t, nil)
			people := s.buyers(t, 2)
			// An ordinary sale, so sales revenue has money of its own.
			other, err := s.app.Orders.Place(ctx, order.PlaceInput{BuyerID: people[1].id,
				Lines: []order.LineInput{{SKUID: s.sku, Qty: 1}}, AddressID: people[1].address})
			if err != nil {
				t.Fatal(err)
			}
			s.pay(t, other)

			po, dep := s.buy(t, act, people[0], 2)
			s.pay(t, dep)
			revenue := s.balance(t, ledger.MerchantRevenue)
			s.at(act.BalanceEndsAt.Add(-10 * time.Minute))
			bal, err := s.app.Presales.PayBalance(ctx, people[0].id, po.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.app.Payments.Pay(ctx, people[0].id, bal.ID); err != nil {
				t.Fatal(err) // the buyer opens the payment, and never pays
			}
			// The buyer walks away: the balance window ends.
			s.at(act.BalanceEndsAt.Add(time.Minute))
			settle(t, s.app)
			got := s.purchase(t, po.ID)
			if got.Status != presale.Forfeited || got.Forfeited != 3800 || got.Stock != presale.StockReleased {
				t.Fatalf("after the window: %+v", got)
			}
			if o := s.order(t, bal.ID); o.Status != order.Closed {
				t.Fatalf("balance order: %s", o.Status)
			}
			// Only the ordinary sale's unit left.
			s.wantLevel(t, 99, 0)
			if f := s.balance(t, presale.ForfeitAccount); f != 3800 {
				t.Fatalf("forfeited deposits: %d", f)
			}
			if r := s.balance(t, ledger.MerchantRevenue); r != revenue-3800 {
				t.Fatalf("sales revenue %d, want %d", r, revenue-3800)
			}
			checkLedger(t, s.app)
			// The job again changes nothing.
			if again, err := s.app.Presales.EndBalance(ctx, po.ID); err != nil || again.Status != presale.Forfeited {
				t.Fatalf("again: %v, %v", again, err)
			}

			// Finance gives the deposit back after all (goodwill).
			if _, err := s.app.Presales.Refund(ctx, presale.RefundInput{PresaleOrderID: po.ID, Reason: "客诉协商退还定金", Operator: "finance"}); err != nil {
				t.Fatal(err)
			}
			settle(t, s.app)
			if f := s.balance(t, presale.ForfeitAccount); f != 0 {
				t.Fatalf("forfeited deposits after the refund: %d", f)
			}
			if r := s.balance(t, ledger.MerchantRevenue); r != revenue-3800 {
				t.Fatalf("sales revenue after the refund %d, want %d", r, revenue-3800)
			}
			if got := s.purchase(t, po.ID); len(got.Reversals) != 1 || got.Reversals[0].Amount != 3800 {
				t.Fatalf("reversals: %+v", got.Reversals)
			}
			s.wantLevel(t, 99, 0) // a deposit's refund gives no units back
			checkLedger(t, s.app)
		})
	}
}

// TestPresaleRefunds: a purchase with only the deposit paid is refunded
// through the refund service (its stock released, its purchase ended);
// one paid in full is refunded from its goods order, and the deposit
// follows the goods' units; a purchase paid in full mode is refunded from
// its one order. The refunds never exceed what was paid, and the ledger
// stays sound.
func TestPresaleRefunds(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newPresaleShop(t, engine)
			ctx := context.Background()
			act := s.presale(t, func(in *presale.ActivityInput) { in.Items[0].Quota = 20 })
			people := s.buyers(t, 3)

			only, dep := s.buy(t, act, people[0], 1)
			s.pay(t, dep)
			if _, err := s.app.Presales.Refund(ctx, presale.RefundInput{PresaleOrderID: only.ID, Reason: "不想要了", Operator: "f"}); err != nil {
				t.Fatal(err)
			}
			settle(t, s.app)
			if got := s.purchase(t, only.ID); got.Status != presale.Refunded || got.Stock != presale.StockReleased {
				t.Fatalf("deposit-only refund: %s, %s", got.Status, got.Stock)
			}
			if o := s.order(t, dep.ID); o.Status != order.Refunded {
				t.Fatalf("deposit order: %s", o.Status)
			}
			s.wantLevel(t, 100, 0)
			_, err := s.app.Presales.Refund(ctx, presale.RefundInput{PresaleOrderID: only.ID, Reason: "again", Operator: "f"})
			wantCode(t, err, "presale_nothing_to_refund")

			full, dep2 := s.buy(t, act, people[1], 2)
			s.pay(t, dep2)
			s.at(*act.BalanceStartsAt)
			bal, err := s.app.Presales.PayBalance(ctx, people[1].id, full.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			s.pay(t, bal)
			s.wantLevel(t, 98, 0)
			if _, err := s.app.Presales.Refund(ctx, presale.RefundInput{PresaleOrderID: full.ID, Reason: "质量问题", Operator: "f"}); err != nil {
				t.Fatal(err)
			}
			settle(t, s.app)
			for _, id := range []string{dep2.ID, bal.ID} {
				if o := s.order(t, id); o.Status != order.Refunded {
					t.Fatalf("order %s after the full refund: %s", id, o.Status)
				}
				pos, err := s.app.Refunds.Position(ctx, id)
				if err != nil || pos.Refunded != pos.Paid.Amount {
					t.Fatalf("order %s: refunded %d of %d (%v)", id, pos.Refunded, pos.Paid.Amount, err)
				}
			}
			if got := s.purchase(t, full.ID); got.Status != presale.Refunded {
				t.Fatalf("paid purchase after its refund: %s", got.Status)
			}
			// The goods never left: their units are back on hand, once.
			s.wantLevel(t, 100, 0)
			checkLedger(t, s.app)
		})
	}
}

// TestPresaleFullMode: a presale paid in full is one ordinary order at the
// steps' prices, with its stock reserved by the order and shipping
// charged as any order's; paid, it ships; refunded, its purchase ends.
func TestPresaleFullMode(t *testing.T) {
	for _, engine := range apptest.Engines() {
		t.Run(string(engine), func(t *testing.T) {
			s := newPresaleShop(t, engine)
			ctx := context.Background()
			act := s.presale(t, func(in *presale.ActivityInput) {
				in.Mode, in.BalanceStartsAt, in.BalanceEndsAt = presale.Full, nil, nil
				in.ShipsBy = in.EndsAt.Add(3 * 24 * time.Hour)
				in.Items[0].Deposit = 0
				in.Items[0].Steps = []presale.Step{{FromUnit: 1, Price: 5000}, {FromUnit: 3, Price: 6000}}
			})
			b := s.buyers(t, 1)[0]
			po, o := s.buy(t, act, b, 3)
			// 5000 + 5000 + 6000, and the shop's shipping under 99.00? No:
			// 160.00 ships free.
			if o.Total != 16000 || po.Amount != 16000 || o.Activity.Kind != order.ActivityPresale || o.Held {
				t.Fatalf("full order: total %d, amount %d, %+v", o.Total, po.Amount, o.Activity)
			}
			if len(o.Lines) != 1 || o.Lines[0].Qty != 3 || o.Lines[0].Amount != 16000 {
				t.Fatalf("one line of 3 units: %+v", o.Lines)
			}
			s.wantLevel(t, 100, 3)
			s.pay(t, o)
			if got := s.purchase(t, po.ID); got.Status != presale.Paid || got.Stock != presale.NoStock {
				t.Fatalf("after paying: %+v", got)
			}
			s.wantLevel(t, 97, 0)
			_, err := s.app.Presales.PayBalance(ctx, b.id, po.ID, "")
			wantCode(t, err, "presale_paid_in_full_mode")
			if _, err := s.app.Refunds.Refund(ctx, refund.RefundInput{OrderID: o.ID, All: true, Reason: "退款", Operator: "f"}); err != nil {
				t.Fatal(err)
			}
			settle(t, s.app)
			if got := s.purchase(t, po.ID); got.Status != presale.Refunded {
				t.Fatalf("after the refund: %s", got.Status)
			}
			s.wantLevel(t, 100, 0)
			checkLedger(t, s.app)
		})
	}
}

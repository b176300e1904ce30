package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/app/apptest"
	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/payment"
	"github.com/siyu-commerce/siyu/internal/wechat/pay"
)

// BenchmarkPayCallbacks measures verified payment callbacks handled per
// second: each one is a distinct order's TRANSACTION.SUCCESS, signed and
// sealed as the platform does it, delivered to the app's own handler by 32
// concurrent deliverers; the handler checks the signature, decrypts the
// resource and captures the payment (order paid, stock committed, ledger
// posted, events written) in one transaction. The load is fixed: 2,000
// callbacks per run (use -benchtime 1x). The orders spread over 100 SKUs,
// as a shop's do ("spread"), or all buy one SKU, as a flash sale's do
// ("hot": every capture then commits stock on the same row).
//
//	SIYU_TEST_DATABASE_URL=postgres://... go test ./internal/httpapi/ -run '^$' -bench PayCallbacks -benchtime 1x -count 3
func BenchmarkPayCallbacks(b *testing.B) {
	for _, engine := range apptest.Engines() {
		b.Run(string(engine)+"/spread", func(b *testing.B) { benchCallbacks(b, engine, 2000, 32, 100) })
		b.Run(string(engine)+"/hot", func(b *testing.B) { benchCallbacks(b, engine, 2000, 32, 1) })
	}
}

func benchCallbacks(b *testing.B, engine apptest.Engine, n, workers, skus int) {
	a := apptest.New(b, engine, nil)
	ctx := context.Background()
	cat, err := a.Catalog.CreateCategory(ctx, catalog.NewCategory{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	in := catalog.NewProduct{CategoryID: cat.ID, Title: "bench", Status: catalog.OnSale}
	for k := range skus {
		in.SKUs = append(in.SKUs, catalog.NewSKU{Specs: []catalog.Spec{{Name: "n", Value: fmt.Sprint(k)}}, ListPrice: 1000, SalePrice: 900})
	}
	p, err := a.Catalog.CreateProduct(ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range p.SKUs {
		if _, err := a.Inventory.Adjust(ctx, k.ID, inventory.Online, int64(n), inventory.Receive, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	_, buyer, _, err := a.Identity.Login(ctx, fmt.Sprintf("cbbench.%d", time.Now().UnixNano()))
	if err != nil {
		b.Fatal(err)
	}
	addr, err := a.Identity.CreateAddress(ctx, buyer.ID, identity.AddressInput{
		Name: "买家", Phone: "13800000000", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号"})
	if err != nil {
		b.Fatal(err)
	}
	keyFile, err := os.ReadFile(filepath.Join(a.Config.Dir(), "wechatpay-sandbox.pem"))
	if err != nil {
		b.Fatal(err)
	}
	keys, err := pay.ParseSandboxKeys(keyFile)
	if err != nil {
		b.Fatal(err)
	}
	// Prepared before the clock starts: n paid-for orders and their
	// callbacks, each signed once.
	type callback struct {
		body string
		hdr  []string
	}
	calls := make([]callback, n)
	var plat platform
	for i := range calls {
		o, err := a.Orders.Place(ctx, order.PlaceInput{BuyerID: buyer.ID, AddressID: addr.ID,
			Lines: []order.LineInput{{SKUID: p.SKUs[i%skus].ID, Qty: 1}}})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Payments.Pay(ctx, buyer.ID, o.ID); err != nil {
			b.Fatal(err)
		}
		if i == 0 {
			tx, err := a.PayGateway.QueryPayment(ctx, payment.OutTradeNo(o.ID))
			if err != nil {
				b.Fatal(err)
			}
			plat = platform{keys: keys, appID: tx.AppID, mchID: tx.MchID, now: a.Clock.Now}
		}
		tx := payment.Transaction{OutTradeNo: payment.OutTradeNo(o.ID), TransactionID: fmt.Sprintf("42000%027d", i),
			PayerOpenID: "bench", SuccessTime: a.Clock.Now()}
		body := plat.notification(b, pay.EventTransactionSuccess, plat.transaction(tx, o.Total))
		calls[i] = callback{body: body, hdr: plat.sign(b, body, a.Clock.Now())}
	}

	var next, failed atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				req := httptest.NewRequest(http.MethodPost, "/callbacks/wechatpay/pay", strings.NewReader(calls[i].body))
				req.Header.Set("Content-Type", "application/json")
				for k := 0; k+1 < len(calls[i].hdr); k += 2 {
					req.Header.Set(calls[i].hdr[k], calls[i].hdr[k+1])
				}
				rec := httptest.NewRecorder()
				a.Handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					if failed.Add(1) == 1 {
						b.Errorf("callback %d: %d %s", i, rec.Code, rec.Body)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "callbacks/s")
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d callbacks failed", f, n)
	}
}

package httpapi

import (
	"net/http"

	"github.com/siyu-commerce/siyu/internal/identity"
)

// buyerRoutes registers the buyer API. The catalogue is public, as a shop
// window is; everything about a person needs their session.
func (a *api) buyerRoutes() {
	a.handle("POST /api/v1/sessions", http.HandlerFunc(a.buyerLogin))
	a.handle("DELETE /api/v1/sessions/current", a.buyer(func(w http.ResponseWriter, r *http.Request, _ string) { a.logout(w, r) }))

	a.handle("GET /api/v1/categories", http.HandlerFunc(a.listCategories))
	a.handle("GET /api/v1/products", http.HandlerFunc(a.listProducts))
	a.handle("GET /api/v1/products/{id}", http.HandlerFunc(a.getProduct))

	a.handle("GET /api/v1/cart", a.buyer(a.getCart))
	a.handle("POST /api/v1/cart/items", a.buyer(a.addToCart))
	a.handle("PUT /api/v1/cart/items/{sku_id}", a.buyer(a.setCartQty))
	a.handle("DELETE /api/v1/cart/items/{sku_id}", a.buyer(a.removeFromCart))

	a.handle("GET /api/v1/addresses", a.buyer(a.listAddresses))
	a.handle("POST /api/v1/addresses", a.buyer(a.createAddress))
	a.handle("GET /api/v1/addresses/{id}", a.buyer(a.getAddress))
	a.handle("PUT /api/v1/addresses/{id}", a.buyer(a.updateAddress))
	a.handle("DELETE /api/v1/addresses/{id}", a.buyer(a.deleteAddress))

	a.handle("POST /api/v1/orders", a.buyer(a.idempotent(a.placeOrder)))
	a.handle("GET /api/v1/orders", a.buyer(a.listMyOrders))
	a.handle("GET /api/v1/orders/{id}", a.buyer(a.getMyOrder))
	a.handle("POST /api/v1/orders/{id}/cancel", a.buyer(a.cancelMyOrder))
	a.handle("POST /api/v1/orders/{id}/confirm-receipt", a.buyer(a.confirmReceipt))

	// Paying: the buyer gets the signed parameters of wx.requestPayment
	// and may read the payment's state; only the platform's callback (or
	// our query of it) records the money.
	a.handle("POST /api/v1/orders/{id}/payments", a.buyer(a.idempotent(a.payOrder)))
	a.handle("GET /api/v1/orders/{id}/payment", a.buyer(a.getMyPayment))

	a.handle("POST /api/v1/orders/{id}/after-sales", a.buyer(a.idempotent(a.requestAfterSale)))
	a.handle("GET /api/v1/after-sales", a.buyer(a.listMyAfterSales))
	a.handle("GET /api/v1/after-sales/{id}", a.buyer(a.getMyAfterSale))
	a.handle("POST /api/v1/after-sales/{id}/withdraw", a.buyer(a.withdrawAfterSale))

	// Sharing records who brought whom; it unlocks nothing (package share).
	a.handle("POST /api/v1/shares", a.buyer(a.createShare))
	a.handle("POST /api/v1/share-visits", a.buyer(a.recordShareVisit))
}

// adminRoutes registers the admin API; each route names the roles besides
// the owner that may use it.
func (a *api) adminRoutes() {
	a.handle("POST /admin/api/v1/sessions", http.HandlerFunc(a.operatorLogin))
	// Any operator may end their own session, whatever their role.
	a.handle("DELETE /admin/api/v1/sessions/current", a.authed(identity.KindOperator,
		func(w http.ResponseWriter, r *http.Request, _ identity.Principal) { a.logout(w, r) }))

	a.handle("GET /admin/api/v1/categories", a.admin(catalogRoles, a.adminListCategories))
	a.handle("POST /admin/api/v1/categories", a.admin(catalogRoles, a.createCategory))
	a.handle("GET /admin/api/v1/products", a.admin(catalogRoles, a.adminListProducts))
	a.handle("POST /admin/api/v1/products", a.admin(catalogRoles, a.createProduct))
	a.handle("GET /admin/api/v1/products/{id}", a.admin(catalogRoles, a.adminGetProduct))
	a.handle("PATCH /admin/api/v1/products/{id}", a.admin(catalogRoles, a.updateProduct))
	a.handle("POST /admin/api/v1/products/{id}/status", a.admin(catalogRoles, a.setProductStatus))

	a.handle("POST /admin/api/v1/stock/adjustments", a.admin(stockRoles, a.adjustStock))
	a.handle("GET /admin/api/v1/stock/{sku_id}", a.admin(stockRoles, a.getStock))

	a.handle("GET /admin/api/v1/orders", a.admin(orderReadRoles, a.adminListOrders))
	a.handle("GET /admin/api/v1/orders/{id}", a.admin(orderReadRoles, a.adminGetOrder))
	a.handle("POST /admin/api/v1/orders/{id}/ship", a.admin(orderWriteRoles, a.shipOrder))
	a.handle("POST /admin/api/v1/orders/{id}/close", a.admin(orderWriteRoles, a.closeOrder))
	a.handle("POST /admin/api/v1/orders/{id}/deliver", a.admin(orderWriteRoles, a.deliverOrder))

	a.handle("GET /admin/api/v1/after-sales", a.admin(afterSaleReadRoles, a.adminListAfterSales))
	a.handle("GET /admin/api/v1/after-sales/{id}", a.admin(afterSaleReadRoles, a.adminGetAfterSale))
	a.handle("POST /admin/api/v1/after-sales/{id}/approve", a.admin(afterSaleWriteRoles, a.decideAfterSale(a.d.Refunds.ApproveAfterSale)))
	a.handle("POST /admin/api/v1/after-sales/{id}/reject", a.admin(afterSaleWriteRoles, a.decideAfterSale(a.d.Refunds.RejectAfterSale)))
	a.handle("POST /admin/api/v1/after-sales/{id}/receive-return", a.admin(afterSaleWriteRoles, a.decideAfterSale(a.d.Refunds.ReceiveReturn)))

	a.handle("POST /admin/api/v1/orders/{id}/refunds", a.admin(refundRoles, a.adminIdempotent(a.createRefund)))
	a.handle("GET /admin/api/v1/orders/{id}/refunds", a.admin(refundRoles, a.listOrderRefunds))
	a.handle("GET /admin/api/v1/refunds", a.admin(refundRoles, a.listRefunds))
	a.handle("GET /admin/api/v1/audit", a.admin(nil, a.listAudit))
	a.handle("GET /admin/api/v1/refunds/{id}", a.admin(refundRoles, a.getRefund))
	a.handle("POST /admin/api/v1/refunds/{id}/resolve", a.admin(refundRoles, a.resolveRefund))

	a.handle("GET /admin/api/v1/ledger/trial-balance", a.admin(financeRoles, a.trialBalance))
	a.handle("GET /admin/api/v1/ledger/accounts/{account}/statement", a.admin(financeRoles, a.accountStatement))
	a.handle("GET /admin/api/v1/ledger/settlements/{day}", a.admin(financeRoles, a.settlement))
	a.handle("GET /admin/api/v1/ledger/check", a.admin(financeRoles, a.checkLedger))

	a.handle("GET /admin/api/v1/shares/stats", a.admin(shareRoles, a.shareStats))
}

package httpapi

import (
	"net/http"
	"strconv"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Catalog requests carry prices: an operator sets them. Their rules (ranges,
// sale at most list, spec combinations) are catalog's; the converters here
// only check what the HTTP shape can get wrong, such as an id that is not
// one.

type categoryRequest struct {
	Name     string `json:"name"`
	ParentID string `json:"parent_id"`
	Sort     int    `json:"sort"`
}

func (req categoryRequest) toNewCategory() (catalog.NewCategory, error) {
	var l errs.List
	if req.ParentID != "" && !ids.Valid(req.ParentID) {
		l.Add("parent_id", "invalid_id", "parent_id must be the id of a category")
	}
	return catalog.NewCategory{Name: req.Name, ParentID: req.ParentID, Sort: req.Sort}, l.Err()
}

type specRequest struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type newSKURequest struct {
	Code          string               `json:"code"`
	Specs         []specRequest        `json:"specs"`
	ListPrice     money.Fen            `json:"list_price"`
	SalePrice     money.Fen            `json:"sale_price"`
	ChannelPrices map[string]money.Fen `json:"channel_prices"`
}

func (req newSKURequest) toNewSKU() catalog.NewSKU {
	specs := make([]catalog.Spec, len(req.Specs))
	for i, s := range req.Specs {
		specs[i] = catalog.Spec{Name: s.Name, Value: s.Value}
	}
	return catalog.NewSKU{Code: req.Code, Specs: specs, ListPrice: req.ListPrice, SalePrice: req.SalePrice, ChannelPrices: req.ChannelPrices}
}

type productRequest struct {
	CategoryID  string          `json:"category_id"`
	Title       string          `json:"title"`
	Subtitle    string          `json:"subtitle"`
	Description string          `json:"description"`
	Images      []string        `json:"images"`
	Status      catalog.Status  `json:"status"`
	SKUs        []newSKURequest `json:"skus"`
}

func (req productRequest) toNewProduct() (catalog.NewProduct, error) {
	var l errs.List
	if req.CategoryID != "" && !ids.Valid(req.CategoryID) {
		l.Add("category_id", "invalid_id", "category_id must be the id of a category")
	}
	if len(req.SKUs) > catalog.MaxSKUs {
		l.Add("skus", "too_many_skus", "a product has at most %d SKUs", catalog.MaxSKUs)
	}
	in := catalog.NewProduct{CategoryID: req.CategoryID, Title: req.Title, Subtitle: req.Subtitle,
		Description: req.Description, Images: req.Images, Status: req.Status}
	for _, s := range req.SKUs {
		in.SKUs = append(in.SKUs, s.toNewSKU())
	}
	return in, l.Err()
}

// productPatchRequest is the body of PATCH /admin/api/v1/products/{id}: a
// field left out (or null) is left as it is.
type productPatchRequest struct {
	CategoryID  *string           `json:"category_id"`
	Title       *string           `json:"title"`
	Subtitle    *string           `json:"subtitle"`
	Description *string           `json:"description"`
	Images      []string          `json:"images"`
	Status      *catalog.Status   `json:"status"`
	SKUs        []skuPatchRequest `json:"skus"`
	NewSKUs     []newSKURequest   `json:"new_skus"`
}

type skuPatchRequest struct {
	ID            string               `json:"id"`
	Code          *string              `json:"code"`
	ListPrice     *money.Fen           `json:"list_price"`
	SalePrice     *money.Fen           `json:"sale_price"`
	ChannelPrices map[string]money.Fen `json:"channel_prices"`
}

func (req productPatchRequest) toPatch() (catalog.ProductPatch, error) {
	var l errs.List
	if req.CategoryID != nil && !ids.Valid(*req.CategoryID) {
		l.Add("category_id", "invalid_id", "category_id must be the id of a category")
	}
	if len(req.SKUs)+len(req.NewSKUs) > catalog.MaxSKUs {
		l.Add("skus", "too_many_skus", "a product has at most %d SKUs", catalog.MaxSKUs)
	}
	p := catalog.ProductPatch{CategoryID: req.CategoryID, Title: req.Title, Subtitle: req.Subtitle,
		Description: req.Description, Images: req.Images, Status: req.Status}
	for i, s := range req.SKUs {
		if !ids.Valid(s.ID) {
			l.Add("skus["+strconv.Itoa(i)+"].id", "invalid_id", "id must be the id of one of the product's SKUs")
		}
		p.SKUs = append(p.SKUs, catalog.SKUPatch{ID: s.ID, Code: s.Code, ListPrice: s.ListPrice,
			SalePrice: s.SalePrice, ChannelPrices: s.ChannelPrices})
	}
	for _, s := range req.NewSKUs {
		p.NewSKUs = append(p.NewSKUs, s.toNewSKU())
	}
	return p, l.Err()
}

type statusRequest struct {
	Status catalog.Status `json:"status"`
}

func (a *api) adminListCategories(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	a.listCategories(w, r)
}

func (a *api) createCategory(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req categoryRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toNewCategory()
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, err := a.d.Catalog.CreateCategory(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, c)
}

var productStatuses = []string{string(catalog.Draft), string(catalog.OnSale), string(catalog.OffSale)}

func (a *api) adminListProducts(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	f, q := productFilter(r, "status")
	f.Status = catalog.Status(q.oneOf("status", productStatuses...))
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	page, err := a.d.Catalog.List(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if page.Products == nil {
		page.Products = []catalog.Product{}
	}
	for i := range page.Products {
		adminProduct(&page.Products[i])
	}
	writeJSON(w, r, http.StatusOK, page)
}

func (a *api) createProduct(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	var req productRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toNewProduct()
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Catalog.CreateProduct(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, adminProduct(p))
}

func (a *api) adminGetProduct(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := productID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Catalog.Product(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, adminProduct(p))
}

func (a *api) updateProduct(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := productID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req productPatchRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	patch, err := req.toPatch()
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := a.d.Catalog.UpdateProduct(r.Context(), id, patch)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, adminProduct(p))
}

func (a *api) setProductStatus(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	id, err := productID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req statusRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if !req.Status.Valid() {
		writeError(w, r, errs.Field("status", "invalid_status", "status is draft, on_sale or off_sale"))
		return
	}
	p, err := a.d.Catalog.SetStatus(r.Context(), id, req.Status)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, adminProduct(p))
}

// adminProduct fills nil slices so a product's JSON always has arrays where
// the contract promises them, whatever the store left unset.
func adminProduct(p *catalog.Product) *catalog.Product {
	if p.Images == nil {
		p.Images = []string{}
	}
	if p.SKUs == nil {
		p.SKUs = []catalog.SKU{}
	}
	for i := range p.SKUs {
		if p.SKUs[i].Specs == nil {
			p.SKUs[i].Specs = []catalog.Spec{}
		}
	}
	return p
}

package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// catalogDB is what the catalog reads run on: the pool, or a transaction
// when a read must see (and lock within) the transaction.
type catalogDB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *Store) CreateCategory(ctx context.Context, c *catalog.Category, ev []outbox.Event) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var parent *string
		if c.ParentID != "" {
			if err := categoryExists(ctx, tx, c.ParentID); err != nil {
				return err
			}
			parent = &c.ParentID
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO categories (id, parent_id, name, sort, created_at) VALUES ($1, $2, $3, $4, $5)`,
			c.ID, parent, c.Name, c.Sort, c.CreatedAt)
		queueEvents(b, ev)
		return tx.SendBatch(ctx, b).Close()
	})
	return errs.Wrap(err, "catalog: create category")
}

func (s *Store) Categories(ctx context.Context) ([]catalog.Category, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, coalesce(parent_id::text, ''), name, sort, created_at
		FROM categories ORDER BY sort, created_at, id`)
	if err != nil {
		return nil, errs.Wrap(err, "catalog: categories")
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (catalog.Category, error) {
		var c catalog.Category
		err := row.Scan(&c.ID, &c.ParentID, &c.Name, &c.Sort, &c.CreatedAt)
		c.CreatedAt = c.CreatedAt.UTC()
		return c, err
	})
	if out == nil {
		out = []catalog.Category{}
	}
	return out, errs.Wrap(err, "catalog: categories")
}

func (s *Store) CreateProduct(ctx context.Context, p *catalog.Product, ev []outbox.Event) error {
	if !ids.Valid(p.CategoryID) {
		return catalog.ErrCategoryNotFound
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := categoryExists(ctx, tx, p.CategoryID); err != nil {
			return err
		}
		images, err := catalogJSON(p.Images)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO products (id, category_id, title, title_key, subtitle, description, images,
			status, min_price, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			p.ID, p.CategoryID, p.Title, titleKey(p.Title), p.Subtitle, p.Description, images,
			p.Status, p.MinPrice, p.CreatedAt, p.UpdatedAt)
		for i := range p.SKUs {
			if err := queueInsertSKU(b, p.ID, i, &p.SKUs[i]); err != nil {
				return err
			}
		}
		queueEvents(b, ev)
		return tx.SendBatch(ctx, b).Close()
	})
	return errs.Wrap(err, "catalog: create product")
}

// UpdateProduct locks the product row for the whole transaction, so two
// operators' edits are applied one after the other, each to what the other
// saved.
func (s *Store) UpdateProduct(ctx context.Context, id string, fn func(p *catalog.Product) ([]outbox.Event, error)) (*catalog.Product, error) {
	if !ids.Valid(id) {
		return nil, catalog.ErrNotFound
	}
	var out *catalog.Product
	err := s.tx(ctx, func(tx pgx.Tx) error {
		p, err := loadProduct(ctx, tx, id, " FOR UPDATE")
		if err != nil {
			return err
		}
		stored := map[string]bool{}
		for _, sku := range p.SKUs {
			stored[sku.ID] = true
		}
		oldCategory := p.CategoryID
		ev, err := fn(p)
		if err != nil {
			return err
		}
		if p.CategoryID != oldCategory {
			if !ids.Valid(p.CategoryID) {
				return catalog.ErrCategoryNotFound
			}
			if err := categoryExists(ctx, tx, p.CategoryID); err != nil {
				return err
			}
		}
		images, err := catalogJSON(p.Images)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE products SET category_id = $1, title = $2, title_key = $3, subtitle = $4,
			description = $5, images = $6, status = $7, min_price = $8, updated_at = $9
			WHERE id = $10`,
			p.CategoryID, p.Title, titleKey(p.Title), p.Subtitle, p.Description, images,
			p.Status, p.MinPrice, p.UpdatedAt, p.ID)
		// A SKU fn dropped from the slice stays stored: orders refer to it.
		for i := range p.SKUs {
			sku := &p.SKUs[i]
			if !stored[sku.ID] {
				if err := queueInsertSKU(b, p.ID, i, sku); err != nil {
					return err
				}
				continue
			}
			specs, err := catalogJSON(sku.Specs)
			if err != nil {
				return err
			}
			b.Queue(`UPDATE skus SET position = $1, code = $2, specs = $3, list_price = $4, sale_price = $5
				WHERE id = $6 AND product_id = $7`,
				i, sku.Code, specs, sku.ListPrice, sku.SalePrice, sku.ID, p.ID)
			b.Queue(`DELETE FROM sku_channel_prices WHERE sku_id = $1`, sku.ID)
			queueChannelPrices(b, sku)
		}
		queueEvents(b, ev)
		out = p
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, errs.Wrap(err, "catalog: update product %s", id)
	}
	return out, nil
}

func (s *Store) Product(ctx context.Context, id string) (*catalog.Product, error) {
	if !ids.Valid(id) {
		return nil, catalog.ErrNotFound
	}
	p, err := loadProduct(ctx, s.pool, id, "")
	if err != nil {
		return nil, errs.Wrap(err, "catalog: product %s", id)
	}
	return p, nil
}

// productSorts is each listing order with its keyset condition: rows
// strictly after the cursor's (key, id) in that order.
var productSorts = map[catalog.Sort]struct {
	orderBy, after string // after takes the key and the id placeholders
	key            func(p *catalog.Product) int64
	keyArg         func(key int64) any
}{
	catalog.SortNewest: {"created_at DESC, id DESC", "(created_at, id) < (%s, %s)",
		func(p *catalog.Product) int64 { return p.CreatedAt.UnixMicro() },
		func(key int64) any { return time.UnixMicro(key).UTC() }},
	catalog.SortPriceAsc: {"min_price, id", "(min_price, id) > (%s, %s)",
		func(p *catalog.Product) int64 { return int64(p.MinPrice) },
		func(key int64) any { return key }},
	catalog.SortPriceDesc: {"min_price DESC, id DESC", "(min_price, id) < (%s, %s)",
		func(p *catalog.Product) int64 { return int64(p.MinPrice) },
		func(key int64) any { return key }},
}

func (s *Store) Products(ctx context.Context, f catalog.Filter) (catalog.Page, error) {
	if f.Sort == "" {
		f.Sort = catalog.SortNewest
	}
	sort, ok := productSorts[f.Sort]
	if !ok {
		return catalog.Page{}, errs.Field("sort", "invalid_sort", "sort is newest, price_asc or price_desc")
	}
	if f.CategoryID != "" && !ids.Valid(f.CategoryID) {
		return catalog.Page{Products: []catalog.Product{}}, nil // no category has that id
	}
	limit := catalog.Limit(f.Limit)
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where := []string{"true"}
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	if f.CategoryID != "" {
		where = append(where, "category_id = "+arg(f.CategoryID))
	}
	if f.Query != "" {
		where = append(where, "strpos(title_key, "+arg(titleKey(f.Query))+") > 0")
	}
	if f.MinPrice > 0 {
		where = append(where, "min_price >= "+arg(f.MinPrice))
	}
	if f.MaxPrice > 0 {
		where = append(where, "min_price <= "+arg(f.MaxPrice))
	}
	if f.Cursor != "" {
		key, id, err := cursor.Decode(string(f.Sort), f.Cursor)
		if err != nil {
			return catalog.Page{}, catalog.ErrBadCursor
		}
		where = append(where, fmt.Sprintf(sort.after, arg(sort.keyArg(key)), arg(id)))
	}
	// One row past the page says whether there is a next one.
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products
		WHERE `+strings.Join(where, " AND ")+` ORDER BY `+sort.orderBy+` LIMIT `+arg(limit+1), args...)
	if err != nil {
		return catalog.Page{}, errs.Wrap(err, "catalog: products")
	}
	products, err := pgx.CollectRows(rows, scanProduct)
	if err != nil {
		return catalog.Page{}, errs.Wrap(err, "catalog: products")
	}
	page := catalog.Page{Products: products}
	if page.Products == nil {
		page.Products = []catalog.Product{}
	}
	page.Products, page.NextCursor = cursor.Page(string(f.Sort), page.Products, limit, func(p *catalog.Product) (int64, string) {
		return sort.key(p), p.ID
	})
	if err := attachSKUs(ctx, s.pool, page.Products); err != nil {
		return catalog.Page{}, errs.Wrap(err, "catalog: products")
	}
	return page, nil
}

func (s *Store) SKUs(ctx context.Context, skuIDs []string) (map[string]catalog.SKUWithProduct, error) {
	out := map[string]catalog.SKUWithProduct{}
	valid := validIDs(skuIDs)
	if len(valid) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+skuColumns+`, `+productColumnsOf("p")+`
		FROM skus s
		JOIN products p ON p.id = s.product_id
		LEFT JOIN stock_levels l ON l.sku_id = s.id AND l.location = $1
		WHERE s.id = ANY($2)`, inventory.Online, valid)
	if err != nil {
		return nil, errs.Wrap(err, "catalog: skus")
	}
	defer rows.Close()
	for rows.Next() {
		var sp catalog.SKUWithProduct
		var sr skuRow
		var pr productRow
		if err := rows.Scan(append(sr.dest(), pr.dest()...)...); err != nil {
			return nil, errs.Wrap(err, "catalog: skus")
		}
		if sp.SKU, err = sr.sku(); err != nil {
			return nil, errs.Wrap(err, "catalog: skus")
		}
		if sp.Product, err = pr.product(); err != nil {
			return nil, errs.Wrap(err, "catalog: skus")
		}
		out[sp.SKU.ID] = sp
	}
	return out, errs.Wrap(rows.Err(), "catalog: skus")
}

func categoryExists(ctx context.Context, tx pgx.Tx, id string) error {
	if !ids.Valid(id) {
		return catalog.ErrCategoryNotFound
	}
	var found bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM categories WHERE id = $1)`, id).Scan(&found); err != nil {
		return err
	}
	if !found {
		return catalog.ErrCategoryNotFound
	}
	return nil
}

func queueInsertSKU(b *pgx.Batch, productID string, position int, sku *catalog.SKU) error {
	sku.ProductID = productID
	specs, err := catalogJSON(sku.Specs)
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO skus (id, product_id, position, code, specs, list_price, sale_price)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		sku.ID, productID, position, sku.Code, specs, sku.ListPrice, sku.SalePrice)
	queueChannelPrices(b, sku)
	return nil
}

func queueChannelPrices(b *pgx.Batch, sku *catalog.SKU) {
	for ch, price := range sku.ChannelPrices {
		b.Queue(`INSERT INTO sku_channel_prices (sku_id, channel, price) VALUES ($1, $2, $3)`, sku.ID, ch, price)
	}
}

// loadProduct reads one product and its SKUs; lock, when set, is appended
// to the product's SELECT (" FOR UPDATE").
func loadProduct(ctx context.Context, db catalogDB, id, lock string) (*catalog.Product, error) {
	rows, err := db.Query(ctx, `SELECT `+productColumns+` FROM products WHERE id = $1`+lock, id)
	if err != nil {
		return nil, err
	}
	ps, err := pgx.CollectRows(rows, scanProduct)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, catalog.ErrNotFound
	}
	if err := attachSKUs(ctx, db, ps); err != nil {
		return nil, err
	}
	return &ps[0], nil
}

// attachSKUs fills in the products' SKUs with one query for all of them,
// not one per product.
func attachSKUs(ctx context.Context, db catalogDB, ps []catalog.Product) error {
	if len(ps) == 0 {
		return nil
	}
	at := map[string]int{}
	productIDs := make([]string, len(ps))
	for i, p := range ps {
		at[p.ID], productIDs[i] = i, p.ID
	}
	rows, err := db.Query(ctx, `SELECT `+skuColumns+`
		FROM skus s
		LEFT JOIN stock_levels l ON l.sku_id = s.id AND l.location = $1
		WHERE s.product_id = ANY($2)
		ORDER BY s.product_id, s.position`, inventory.Online, productIDs)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var sr skuRow
		if err := rows.Scan(sr.dest()...); err != nil {
			return err
		}
		sku, err := sr.sku()
		if err != nil {
			return err
		}
		p := &ps[at[sku.ProductID]]
		p.SKUs = append(p.SKUs, sku)
	}
	return rows.Err()
}

// skuColumns reads a SKU (alias s) with its online availability (alias l)
// and its channel prices folded into one JSON object (NULL when none).
const skuColumns = `s.id, s.product_id, s.code, s.specs, s.list_price, s.sale_price,
	coalesce(l.on_hand - l.reserved, 0),
	(SELECT jsonb_object_agg(c.channel, c.price) FROM sku_channel_prices c WHERE c.sku_id = s.id)`

type skuRow struct {
	s                 catalog.SKU
	specs, channels   []byte
	list, sale, avail int64
}

func (r *skuRow) dest() []any {
	return []any{&r.s.ID, &r.s.ProductID, &r.s.Code, &r.specs, &r.list, &r.sale, &r.avail, &r.channels}
}

func (r *skuRow) sku() (catalog.SKU, error) {
	s := r.s
	s.ListPrice, s.SalePrice, s.Available = money.Fen(r.list), money.Fen(r.sale), r.avail
	s.Specs = []catalog.Spec{}
	if err := json.Unmarshal(r.specs, &s.Specs); err != nil {
		return s, err
	}
	if r.channels != nil {
		if err := json.Unmarshal(r.channels, &s.ChannelPrices); err != nil {
			return s, err
		}
	}
	return s, nil
}

const productColumns = `id, category_id, title, subtitle, description, images, status, min_price, created_at, updated_at`

// productColumnsOf is productColumns qualified by a table alias, for joins.
func productColumnsOf(alias string) string {
	cols := strings.Split(productColumns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

type productRow struct {
	p      catalog.Product
	images []byte
	status string
	min    int64
}

func (r *productRow) dest() []any {
	return []any{&r.p.ID, &r.p.CategoryID, &r.p.Title, &r.p.Subtitle, &r.p.Description, &r.images,
		&r.status, &r.min, &r.p.CreatedAt, &r.p.UpdatedAt}
}

func (r *productRow) product() (catalog.Product, error) {
	p := r.p
	p.Status, p.MinPrice = catalog.Status(r.status), money.Fen(r.min)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	p.Images = []string{}
	return p, json.Unmarshal(r.images, &p.Images)
}

func scanProduct(row pgx.CollectableRow) (catalog.Product, error) {
	var r productRow
	if err := row.Scan(r.dest()...); err != nil {
		return catalog.Product{}, err
	}
	return r.product()
}

// validIDs drops strings that are not UUIDs: to the caller they name
// nothing, and PostgreSQL would refuse the whole query over one of them.
func validIDs(in []string) []string {
	out := make([]string, 0, len(in))
	for _, id := range in {
		if ids.Valid(id) {
			out = append(out, id)
		}
	}
	return out
}

// titleKey folds a title or a query the same way on both engines.
func titleKey(s string) string { return strings.ToLower(s) }

// catalogJSON encodes a list, nil as [] rather than null.
func catalogJSON[T any](s []T) (string, error) {
	if s == nil {
		s = []T{}
	}
	b, err := json.Marshal(s)
	return string(b), err
}

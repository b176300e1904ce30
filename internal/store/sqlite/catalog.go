package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/siyu-commerce/siyu/internal/catalog"
	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/inventory"
	"github.com/siyu-commerce/siyu/internal/money"
	"github.com/siyu-commerce/siyu/internal/outbox"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

// catalogDB is what the catalog reads run on: the reader pool, or the
// writer's transaction when a read must see the transaction's own state.
type catalogDB interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) CreateCategory(ctx context.Context, c *catalog.Category, ev []outbox.Event) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var parent any
		if c.ParentID != "" {
			if err := categoryExists(ctx, tx, c.ParentID); err != nil {
				return err
			}
			parent = c.ParentID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO categories (id, parent_id, name, sort, created_at)
			VALUES (?, ?, ?, ?, ?)`, c.ID, parent, c.Name, c.Sort, ts(c.CreatedAt)); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
	return errs.Wrap(err, "catalog: create category")
}

func (s *Store) Categories(ctx context.Context) ([]catalog.Category, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, coalesce(parent_id, ''), name, sort, created_at
		FROM categories ORDER BY sort, created_at, id`)
	if err != nil {
		return nil, errs.Wrap(err, "catalog: categories")
	}
	defer rows.Close()
	out := []catalog.Category{}
	for rows.Next() {
		var c catalog.Category
		var created int64
		if err := rows.Scan(&c.ID, &c.ParentID, &c.Name, &c.Sort, &created); err != nil {
			return nil, errs.Wrap(err, "catalog: categories")
		}
		c.CreatedAt = fromTS(created)
		out = append(out, c)
	}
	return out, errs.Wrap(rows.Err(), "catalog: categories")
}

func (s *Store) CreateProduct(ctx context.Context, p *catalog.Product, ev []outbox.Event) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := categoryExists(ctx, tx, p.CategoryID); err != nil {
			return err
		}
		images, err := catalogJSON(p.Images)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO products (id, category_id, title, title_key, subtitle,
			description, images, status, min_price, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.CategoryID, p.Title, titleKey(p.Title), p.Subtitle, p.Description, images,
			p.Status, p.MinPrice, ts(p.CreatedAt), ts(p.UpdatedAt)); err != nil {
			return err
		}
		for i := range p.SKUs {
			if err := insertSKU(ctx, tx, p.ID, i, &p.SKUs[i]); err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, ev)
	})
	return errs.Wrap(err, "catalog: create product")
}

// UpdateProduct runs fn inside the writer's immediate transaction, which is
// the lock: no other write can interleave between the load and the save.
func (s *Store) UpdateProduct(ctx context.Context, id string, fn func(p *catalog.Product) ([]outbox.Event, error)) (*catalog.Product, error) {
	var out *catalog.Product
	err := s.tx(ctx, func(tx *sql.Tx) error {
		p, err := loadProduct(ctx, tx, id)
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
			if err := categoryExists(ctx, tx, p.CategoryID); err != nil {
				return err
			}
		}
		images, err := catalogJSON(p.Images)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE products SET category_id = ?, title = ?, title_key = ?,
			subtitle = ?, description = ?, images = ?, status = ?, min_price = ?, updated_at = ?
			WHERE id = ?`,
			p.CategoryID, p.Title, titleKey(p.Title), p.Subtitle, p.Description, images,
			p.Status, p.MinPrice, ts(p.UpdatedAt), p.ID); err != nil {
			return err
		}
		// A SKU fn dropped from the slice stays stored: orders refer to it.
		for i := range p.SKUs {
			sku := &p.SKUs[i]
			if !stored[sku.ID] {
				if err := insertSKU(ctx, tx, p.ID, i, sku); err != nil {
					return err
				}
				continue
			}
			specs, err := catalogJSON(sku.Specs)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE skus SET position = ?, code = ?, specs = ?,
				list_price = ?, sale_price = ? WHERE id = ? AND product_id = ?`,
				i, sku.Code, specs, sku.ListPrice, sku.SalePrice, sku.ID, p.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM sku_channel_prices WHERE sku_id = ?`, sku.ID); err != nil {
				return err
			}
			if err := insertChannelPrices(ctx, tx, sku); err != nil {
				return err
			}
		}
		out = p
		return insertEvents(ctx, tx, ev)
	})
	if err != nil {
		return nil, errs.Wrap(err, "catalog: update product %s", id)
	}
	return out, nil
}

func (s *Store) Product(ctx context.Context, id string) (*catalog.Product, error) {
	p, err := loadProduct(ctx, s.r, id)
	if err != nil {
		return nil, errs.Wrap(err, "catalog: product %s", id)
	}
	return p, nil
}

// productSorts is each listing order with its keyset condition: rows
// strictly after the cursor's (key, id) in that order.
var productSorts = map[catalog.Sort]struct {
	orderBy, after string
	key            func(p *catalog.Product) int64
}{
	catalog.SortNewest: {"created_at DESC, id DESC", "(created_at, id) < (?, ?)",
		func(p *catalog.Product) int64 { return ts(p.CreatedAt) }},
	catalog.SortPriceAsc: {"min_price, id", "(min_price, id) > (?, ?)",
		func(p *catalog.Product) int64 { return int64(p.MinPrice) }},
	catalog.SortPriceDesc: {"min_price DESC, id DESC", "(min_price, id) < (?, ?)",
		func(p *catalog.Product) int64 { return int64(p.MinPrice) }},
}

func (s *Store) Products(ctx context.Context, f catalog.Filter) (catalog.Page, error) {
	if f.Sort == "" {
		f.Sort = catalog.SortNewest
	}
	sort, ok := productSorts[f.Sort]
	if !ok {
		return catalog.Page{}, errs.Field("sort", "invalid_sort", "sort is newest, price_asc or price_desc")
	}
	limit := catalog.Limit(f.Limit)
	where, args := []string{"1 = 1"}, []any{}
	if f.Status != "" {
		where, args = append(where, "status = ?"), append(args, f.Status)
	}
	if f.CategoryID != "" {
		where, args = append(where, "category_id = ?"), append(args, f.CategoryID)
	}
	if f.Query != "" {
		where, args = append(where, "instr(title_key, ?) > 0"), append(args, titleKey(f.Query))
	}
	if f.MinPrice > 0 {
		where, args = append(where, "min_price >= ?"), append(args, f.MinPrice)
	}
	if f.MaxPrice > 0 {
		where, args = append(where, "min_price <= ?"), append(args, f.MaxPrice)
	}
	if f.Cursor != "" {
		key, id, err := cursor.Decode(string(f.Sort), f.Cursor)
		if err != nil {
			return catalog.Page{}, catalog.ErrBadCursor
		}
		where, args = append(where, sort.after), append(args, key, id)
	}
	// One row past the page says whether there is a next one.
	args = append(args, limit+1)
	rows, err := s.r.QueryContext(ctx, `SELECT `+productColumns+` FROM products
		WHERE `+strings.Join(where, " AND ")+` ORDER BY `+sort.orderBy+` LIMIT ?`, args...)
	if err != nil {
		return catalog.Page{}, errs.Wrap(err, "catalog: products")
	}
	products, err := scanProducts(rows)
	if err != nil {
		return catalog.Page{}, errs.Wrap(err, "catalog: products")
	}
	page := catalog.Page{Products: products}
	page.Products, page.NextCursor = cursor.Page(string(f.Sort), page.Products, limit, func(p *catalog.Product) (int64, string) {
		return sort.key(p), p.ID
	})
	if err := attachSKUs(ctx, s.r, page.Products); err != nil {
		return catalog.Page{}, errs.Wrap(err, "catalog: products")
	}
	return page, nil
}

func (s *Store) SKUs(ctx context.Context, ids []string) (map[string]catalog.SKUWithProduct, error) {
	out := map[string]catalog.SKUWithProduct{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+skuColumns+`, `+productColumnsOf("p")+`
		FROM skus s
		JOIN products p ON p.id = s.product_id
		LEFT JOIN stock_levels l ON l.sku_id = s.id AND l.location = ?
		WHERE s.id IN (SELECT value FROM json_each(?))`, inventory.Online, string(list))
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

func categoryExists(ctx context.Context, tx *sql.Tx, id string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM categories WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return catalog.ErrCategoryNotFound
	}
	return nil
}

func insertSKU(ctx context.Context, tx *sql.Tx, productID string, position int, sku *catalog.SKU) error {
	sku.ProductID = productID
	specs, err := catalogJSON(sku.Specs)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO skus (id, product_id, position, code, specs, list_price, sale_price)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		sku.ID, productID, position, sku.Code, specs, sku.ListPrice, sku.SalePrice); err != nil {
		return err
	}
	return insertChannelPrices(ctx, tx, sku)
}

func insertChannelPrices(ctx context.Context, tx *sql.Tx, sku *catalog.SKU) error {
	for ch, price := range sku.ChannelPrices {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sku_channel_prices (sku_id, channel, price) VALUES (?, ?, ?)`,
			sku.ID, ch, price); err != nil {
			return err
		}
	}
	return nil
}

func loadProduct(ctx context.Context, db catalogDB, id string) (*catalog.Product, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+productColumns+` FROM products WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	ps, err := scanProducts(rows)
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
	ids := make([]string, len(ps))
	for i, p := range ps {
		at[p.ID], ids[i] = i, p.ID
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+skuColumns+`
		FROM skus s
		LEFT JOIN stock_levels l ON l.sku_id = s.id AND l.location = ?
		WHERE s.product_id IN (SELECT value FROM json_each(?))
		ORDER BY s.product_id, s.position`, inventory.Online, string(list))
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
// and its channel prices folded into one JSON object.
const skuColumns = `s.id, s.product_id, s.code, s.specs, s.list_price, s.sale_price,
	coalesce(l.on_hand - l.reserved, 0),
	(SELECT json_group_object(c.channel, c.price) FROM sku_channel_prices c WHERE c.sku_id = s.id)`

type skuRow struct {
	s                catalog.SKU
	specs            string
	channels         sql.NullString
	list, sale, avai int64
}

func (r *skuRow) dest() []any {
	return []any{&r.s.ID, &r.s.ProductID, &r.s.Code, &r.specs, &r.list, &r.sale, &r.avai, &r.channels}
}

func (r *skuRow) sku() (catalog.SKU, error) {
	s := r.s
	s.ListPrice, s.SalePrice, s.Available = money.Fen(r.list), money.Fen(r.sale), r.avai
	s.Specs = []catalog.Spec{}
	if err := json.Unmarshal([]byte(r.specs), &s.Specs); err != nil {
		return s, err
	}
	if r.channels.Valid && r.channels.String != "{}" {
		if err := json.Unmarshal([]byte(r.channels.String), &s.ChannelPrices); err != nil {
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
	p                catalog.Product
	images           string
	min              int64
	created, updated int64
}

func (r *productRow) dest() []any {
	return []any{&r.p.ID, &r.p.CategoryID, &r.p.Title, &r.p.Subtitle, &r.p.Description, &r.images,
		&r.p.Status, &r.min, &r.created, &r.updated}
}

func (r *productRow) product() (catalog.Product, error) {
	p := r.p
	p.MinPrice, p.CreatedAt, p.UpdatedAt = money.Fen(r.min), fromTS(r.created), fromTS(r.updated)
	p.Images = []string{}
	return p, json.Unmarshal([]byte(r.images), &p.Images)
}

func scanProducts(rows *sql.Rows) ([]catalog.Product, error) {
	defer rows.Close()
	out := []catalog.Product{}
	for rows.Next() {
		var r productRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		p, err := r.product()
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
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

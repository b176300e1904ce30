package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// flashWonQuota is the CHECK that keeps a session SKU's won at or under its
// quota (migration 0019).
const flashWonQuota = "flash_session_skus_won_quota"

// maxVariables is the most values one statement may bind: SQLite's
// SQLITE_MAX_VARIABLE_NUMBER, 32766 since 3.32.
const maxVariables = 32766

// WriteFlashWins is a flash sale's order writer: a batch of wins in one
// immediate transaction. The one writer connection serialises it against
// every other write, which is the lock PostgreSQL takes on the batch's
// session SKU rows; decide runs inside it on what the database knows. Each
// table is written with multi-row inserts, as many rows a statement as the
// variable limit allows. The orders move no stock: the session's carve
// reserved it. Should decide let a SKU pass its quota, the CHECK on won
// fails the whole transaction.
func (s *Store) WriteFlashWins(ctx context.Context, wins []flashsale.Win, decide func(flashsale.Known) ([]flashsale.Placement, error)) error {
	if len(wins) == 0 {
		return nil
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		k, err := flashKnown(ctx, tx, wins)
		if err != nil {
			return err
		}
		ps, err := decide(*k)
		if err != nil {
			return err
		}
		ps = freshPlacements(ps, k.Written)
		if len(ps) == 0 {
			return nil
		}
		return s.writeFlashPlacements(ctx, tx, ps, time.Now().UTC())
	})
	if err == nil {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err // decide's own refusal
	}
	if strings.Contains(err.Error(), flashWonQuota) {
		// decide let a SKU pass its quota: a bug, never a buyer's error.
		return errs.Wrap(err, "flashsale: write %d wins: a SKU would pass its quota", len(wins))
	}
	return errs.Wrap(err, "flashsale: write %d wins", len(wins))
}

// flashKnown reads what the database knows about the wins, in the writer's
// transaction.
func flashKnown(ctx context.Context, tx *sql.Tx, wins []flashsale.Win) (*flashsale.Known, error) {
	k := &flashsale.Known{
		SKUs:    map[string]map[string]flashsale.SessionSKU{},
		Written: map[string]bool{},
		Held:    map[string]map[string]map[string]int{},
	}
	type pair struct{ session, sku string }
	type triple struct{ session, sku, buyer string }
	var (
		pairs, triples, tickets [][]any
		seenPair                = map[pair]bool{}
		seenTriple              = map[triple]bool{}
	)
	for _, w := range wins {
		tickets = append(tickets, []any{w.Ticket})
		if p := (pair{w.SessionID, w.SKUID}); !seenPair[p] {
			seenPair[p] = true
			pairs = append(pairs, []any{p.session, p.sku})
		}
		if t := (triple{w.SessionID, w.SKUID, w.BuyerID}); !seenTriple[t] {
			seenTriple[t] = true
			triples = append(triples, []any{t.session, t.sku, t.buyer})
		}
	}
	err := queryRows(ctx, tx, `SELECT session_id, sku_id, price, quota, buyer_limit, won FROM flash_session_skus
		WHERE (session_id, sku_id) IN (VALUES `, `)`, pairs, func(rows *sql.Rows) error {
		var (
			session string
			sku     flashsale.SessionSKU
		)
		if err := rows.Scan(&session, &sku.SKUID, &sku.Price, &sku.Quota, &sku.Limit, &sku.Won); err != nil {
			return err
		}
		if k.SKUs[session] == nil {
			k.SKUs[session] = map[string]flashsale.SessionSKU{}
		}
		k.SKUs[session][sku.SKUID] = sku
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = queryRows(ctx, tx, `SELECT id FROM flash_reservations WHERE id IN (VALUES `, `)`, tickets, func(rows *sql.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		k.Written[id] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = queryRows(ctx, tx, `SELECT session_id, sku_id, buyer_id, sum(qty) FROM flash_reservations
		WHERE status = 'ordered' AND (session_id, sku_id, buyer_id) IN (VALUES `, `)
		GROUP BY session_id, sku_id, buyer_id`, triples, func(rows *sql.Rows) error {
		var (
			session, sku, buyer string
			held                int
		)
		if err := rows.Scan(&session, &sku, &buyer, &held); err != nil {
			return err
		}
		if k.Held[session] == nil {
			k.Held[session] = map[string]map[string]int{}
		}
		if k.Held[session][sku] == nil {
			k.Held[session][sku] = map[string]int{}
		}
		k.Held[session][sku][buyer] = held
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// freshPlacements drops the placements whose ticket is already written, or
// placed earlier in the same list: a ticket is one reservation, whatever
// decide returned.
func freshPlacements(ps []flashsale.Placement, written map[string]bool) []flashsale.Placement {
	seen := make(map[string]bool, len(ps))
	out := make([]flashsale.Placement, 0, len(ps))
	for _, p := range ps {
		if written[p.Win.Ticket] || seen[p.Win.Ticket] {
			continue
		}
		seen[p.Win.Ticket] = true
		out = append(out, p)
	}
	return out
}

// writeFlashPlacements writes the batch: the orders with the columns and
// encodings createOrder writes, their lines, the reservations (which
// reference the orders), the events, the jobs and the won of each SKU. A
// refusal's reservation is stamped now; an order's with its order's
// creation.
func (s *Store) writeFlashPlacements(ctx context.Context, tx *sql.Tx, ps []flashsale.Placement, now time.Time) error {
	rows := flashRows{jobsAt: ts(now), won: map[[2]string]int{}}
	for _, p := range ps {
		if err := rows.add(s, p, now); err != nil {
			return err
		}
	}
	return rows.write(ctx, tx)
}

// flashRows are a batch's rows, table by table.
type flashRows struct {
	orders, lines, reservations, events, jobs [][]any
	jobsAt                                    int64
	won                                       map[[2]string]int // units ordered by (session, SKU)
	skus                                      [][2]string       // won's keys, in the order met
}

func (r *flashRows) add(s *Store, p flashsale.Placement, now time.Time) error {
	w := p.Win
	if p.Draft == nil {
		r.reservations = append(r.reservations, []any{w.Ticket, w.SessionID, w.SKUID, w.BuyerID, w.Qty,
			string(flashsale.Refused), nil, p.Reason, ts(w.At), ts(now), ts(now)})
		return nil
	}
	o := p.Draft.Order
	shipTo, err := s.sealShipTo(o.ShipTo)
	if err != nil {
		return err
	}
	act := activityOf(o)
	r.orders = append(r.orders, []any{o.ID, o.BuyerID, o.Status, o.Subtotal, o.Discount, o.Shipping, o.Total, shipTo,
		o.Remark, o.FromCart, ts(o.PayBy), tsPtr(o.PaidAt), o.Carrier, o.TrackingNo, tsPtr(o.ShippedAt),
		tsPtr(o.DeliveredAt), tsPtr(o.CompletedAt), tsPtr(o.EndedAt), o.EndReason, ts(o.CreatedAt), ts(o.UpdatedAt),
		act.Kind, act.ID, act.Ref, o.Held})
	for i, l := range o.Lines {
		adj, err := adjustmentsJSON(l.Adjustments)
		if err != nil {
			return err
		}
		r.lines = append(r.lines, []any{l.ID, o.ID, i, l.SKUID, l.ProductID, l.Title, l.Spec, l.Qty, l.ListPrice,
			l.SalePrice, l.Amount, adj})
	}
	r.reservations = append(r.reservations, []any{w.Ticket, w.SessionID, w.SKUID, w.BuyerID, w.Qty,
		string(flashsale.Ordered), o.ID, "", ts(w.At), ts(o.CreatedAt), ts(o.CreatedAt)})
	for _, e := range p.Draft.Events {
		r.events = append(r.events, []any{e.ID, e.Topic, e.Key, payloadText(e.Payload), ts(e.CreatedAt)})
	}
	for _, j := range p.Draft.Jobs {
		if j.ID == "" {
			j.ID = ids.New()
		}
		r.jobs = append(r.jobs, []any{j.ID, j.Kind, j.Key, payloadText(j.Payload), ts(j.RunAt), j.MaxAttempts, r.jobsAt, r.jobsAt})
	}
	key := [2]string{w.SessionID, w.SKUID}
	if _, met := r.won[key]; !met {
		r.skus = append(r.skus, key)
	}
	r.won[key] += w.Qty
	return nil
}

func (r *flashRows) write(ctx context.Context, tx *sql.Tx) error {
	inserts := []struct {
		head, row, tail string
		rows            [][]any
	}{
		{`INSERT INTO orders (` + orderColumns + `) VALUES `, rowOf(25), ``, r.orders},
		{`INSERT INTO order_lines (id, order_id, position, sku_id, product_id, title, spec, qty, list_price, sale_price,
			amount, adjustments) VALUES `, rowOf(12), ``, r.lines},
		{`INSERT INTO flash_reservations (id, session_id, sku_id, buyer_id, qty, status, order_id, reason, won_at,
			created_at, updated_at) VALUES `, rowOf(11), ``, r.reservations},
		{`INSERT INTO outbox (id, topic, key, payload, created_at) VALUES `, rowOf(5), ``, r.events},
		// insertJobs' rule: a key a live job of its kind holds is skipped.
		{`INSERT INTO jobs (id, kind, key, payload, state, run_at, attempts, max_attempts, created_at, updated_at) VALUES `,
			`(?, ?, ?, ?, 'ready', ?, 0, ?, ?, ?)`, ` ON CONFLICT (kind, key) WHERE key <> '' AND state <> 'dead' DO NOTHING`, r.jobs},
	}
	for _, in := range inserts {
		if err := insertRows(ctx, tx, in.head, in.row, in.tail, in.rows); err != nil {
			return err
		}
	}
	for _, k := range r.skus {
		if _, err := tx.ExecContext(ctx, `UPDATE flash_session_skus SET won = won + ? WHERE session_id = ? AND sku_id = ?`,
			r.won[k], k[0], k[1]); err != nil {
			return err
		}
	}
	return nil
}

// adjustmentsJSON is a line's adjustments as createOrder stores them: an
// empty list as [], not null, the column always an array.
func adjustmentsJSON(adj []pricing.Adjustment) (string, error) {
	b, err := json.Marshal(append(make([]pricing.Adjustment, 0, len(adj)), adj...))
	return string(b), err
}

// rowOf is a VALUES row of n placeholders.
func rowOf(n int) string { return "(" + placeholders(n) + ")" }

// insertRows inserts rows (all as wide as row's placeholders) with
// multi-row VALUES: head, then as many rows as the variable limit allows,
// then tail, a statement at a time.
func insertRows(ctx context.Context, tx *sql.Tx, head, row, tail string, rows [][]any) error {
	return inChunks(rows, func(chunk [][]any, args []any) error {
		_, err := tx.ExecContext(ctx, head+strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", ")+tail, args...)
		return err
	})
}

// queryRows runs head + a VALUES list of keys + tail, as many keys a
// statement as the variable limit allows, and scans every row.
func queryRows(ctx context.Context, tx *sql.Tx, head, tail string, keys [][]any, scan func(*sql.Rows) error) error {
	return inChunks(keys, func(chunk [][]any, args []any) error {
		rows, err := tx.QueryContext(ctx, head+strings.TrimSuffix(strings.Repeat(rowOf(len(chunk[0]))+", ", len(chunk)), ", ")+tail, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// inChunks hands fn the rows a chunk at a time, each chunk with its values
// flattened, no chunk binding more than maxVariables.
func inChunks(rows [][]any, fn func(chunk [][]any, args []any) error) error {
	if len(rows) == 0 {
		return nil
	}
	per := max(1, maxVariables/len(rows[0]))
	for len(rows) > 0 {
		chunk := rows[:min(per, len(rows))]
		rows = rows[len(chunk):]
		args := make([]any, 0, len(chunk)*len(chunk[0]))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if err := fn(chunk, args); err != nil {
			return err
		}
	}
	return nil
}

package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/pricing"
)

// flashWonQuota is the CHECK that keeps a session SKU's won at or under its
// quota (migration 0019).
const flashWonQuota = "flash_session_skus_won_quota"

// WriteFlashWins is a flash sale's order writer: a batch of wins (up to a
// thousand or so) in one transaction of two round trips. The first batch
// begins it, locks the batch's session SKU rows sorted by (session, SKU),
// so writers on several replicas queue instead of deadlocking, and reads
// what decide needs (Known); the second carries every write, one
// multi-row statement per table (INSERT ... SELECT FROM unnest), and the
// COMMIT. Per-row statements would cost the server a parse, a plan and an
// execution each: five thousand of them for a thousand wins.
//
// The orders move no stock: the session's carve reserved it. The SKU rows'
// won goes up last; should decide let a SKU pass its quota, the CHECK fails
// the whole transaction.
func (s *Store) WriteFlashWins(ctx context.Context, wins []flashsale.Win, decide func(flashsale.Known) ([]flashsale.Placement, error)) error {
	if len(wins) == 0 {
		return nil
	}
	reads := &pgx.Batch{}
	known := queueFlashKnown(reads, wins)
	err := s.readThenCommit(ctx, reads, func() (*pgx.Batch, error) {
		ps, err := decide(*known)
		if err != nil {
			return nil, err
		}
		ps = freshPlacements(ps, known.Written)
		if len(ps) == 0 {
			return nil, errNothingToWrite
		}
		w := &pgx.Batch{}
		if err := s.queueFlashPlacements(w, ps, time.Now().UTC()); err != nil {
			return nil, err
		}
		return w, nil
	})
	if err == nil || errors.Is(err, errNothingToWrite) {
		return nil
	}
	if _, ok := errs.As(err); ok {
		return err // decide's own refusal
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.ConstraintName == flashWonQuota {
		// decide let a SKU pass its quota: a bug, never a buyer's error.
		return errs.Wrap(err, "flashsale: write %d wins: a SKU would pass its quota", len(wins))
	}
	return errs.Wrap(err, "flashsale: write %d wins", len(wins))
}

// queueFlashKnown queues the lock of the wins' session SKU rows and the
// reads of what the database knows about the wins; the Known is filled once
// the batch is read. Ids that are not UUIDs cannot be in the database and
// are left out of the reads.
func queueFlashKnown(b *pgx.Batch, wins []flashsale.Win) *flashsale.Known {
	k := &flashsale.Known{
		SKUs:    map[string]map[string]flashsale.SessionSKU{},
		Written: map[string]bool{},
		Held:    map[string]map[string]map[string]int{},
	}
	type pair struct{ session, sku string }
	type triple struct{ session, sku, buyer string }
	pairs, triples := map[pair]bool{}, map[triple]bool{}
	tickets := make([]string, 0, len(wins))
	for _, w := range wins {
		tickets = append(tickets, w.Ticket)
		if !ids.Valid(w.SessionID) || !ids.Valid(w.SKUID) {
			continue
		}
		pairs[pair{w.SessionID, w.SKUID}] = true
		if ids.Valid(w.BuyerID) {
			triples[triple{w.SessionID, w.SKUID, w.BuyerID}] = true
		}
	}
	var pSessions, pSKUs, tSessions, tSKUs, tBuyers []pgtype.UUID
	for p := range pairs {
		pSessions, pSKUs = append(pSessions, pgUUID(p.session)), append(pSKUs, pgUUID(p.sku))
	}
	for t := range triples {
		tSessions, tSKUs, tBuyers = append(tSessions, pgUUID(t.session)), append(tSKUs, pgUUID(t.sku)), append(tBuyers, pgUUID(t.buyer))
	}
	// The ORDER BY sorts the rows before they are locked: every writer locks
	// its SKU rows in the same order.
	b.Queue(`SELECT k.session_id, k.sku_id, k.price, k.quota, k.buyer_limit, k.won
		FROM flash_session_skus k
		JOIN unnest($1::uuid[], $2::uuid[]) AS b(session_id, sku_id) ON k.session_id = b.session_id AND k.sku_id = b.sku_id
		ORDER BY k.session_id, k.sku_id
		FOR NO KEY UPDATE OF k`, pSessions, pSKUs).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
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
		}
		return rows.Err()
	})
	// Read after the lock: a writer that waited for another's batch of the
	// same SKUs sees its tickets and holds. Both reads look each key up in
	// a LATERAL subquery, which PostgreSQL runs key by key, where an index
	// lookup is cheaper than a scan however small the table. Written as
	// "id = ANY($1)" or as a join, the plan a writer's connection caches at
	// a sale's start, the table near empty, was a scan of the whole table,
	// which the sale then grows: 0.7 s a batch at 25,000 reservations.
	b.Queue(`SELECT r.id FROM unnest($1::text[]) AS t(id),
		LATERAL (SELECT id FROM flash_reservations WHERE id = t.id) AS r`, tickets).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			k.Written[id] = true
		}
		return rows.Err()
	})
	b.Queue(`SELECT b.session_id, b.sku_id, b.buyer_id, h.qty
		FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS b(session_id, sku_id, buyer_id),
		LATERAL (SELECT sum(qty) AS qty FROM flash_reservations r
			WHERE r.session_id = b.session_id AND r.sku_id = b.sku_id AND r.buyer_id = b.buyer_id AND r.status = 'ordered') AS h
		WHERE h.qty IS NOT NULL`, tSessions, tSKUs, tBuyers).Query(func(rows pgx.Rows) error {
		defer rows.Close()
		for rows.Next() {
			var (
				session, sku, buyer string
				held                int64
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
			k.Held[session][sku][buyer] = int(held)
		}
		return rows.Err()
	})
	return k
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

// queueFlashPlacements queues the batch's writes, one statement per table:
// the orders, their lines, the reservations (which reference the orders),
// the events, the jobs and, last, the won of each SKU. A refusal's
// reservation is stamped now; an order's with its order's creation.
func (s *Store) queueFlashPlacements(b *pgx.Batch, ps []flashsale.Placement, now time.Time) error {
	var rows flashRows
	for _, p := range ps {
		if err := rows.add(s, p, now); err != nil {
			return err
		}
	}
	rows.queue(b)
	return nil
}

// flashRows are a batch's rows, table by table, as column arrays.
type flashRows struct {
	orders       flashOrderRows
	lines        flashLineRows
	reservations flashReservationRows
	events       flashEventRows
	jobs         flashJobRows
	won          map[[2]string]int // units ordered by (session, SKU)
}

func (r *flashRows) add(s *Store, p flashsale.Placement, now time.Time) error {
	if p.Draft == nil {
		r.reservations.add(p.Win, flashsale.Refused, "", p.Reason, now)
		return nil
	}
	o := p.Draft.Order
	if err := r.orders.add(s, o); err != nil {
		return err
	}
	for i, line := range o.Lines {
		if err := r.lines.add(o.ID, i, line); err != nil {
			return err
		}
	}
	r.reservations.add(p.Win, flashsale.Ordered, o.ID, "", o.CreatedAt)
	for _, e := range p.Draft.Events {
		r.events.add(e.ID, e.Topic, e.Key, payloadText(e.Payload), e.CreatedAt)
	}
	for _, j := range p.Draft.Jobs {
		r.jobs.add(j.ID, j.Kind, j.Key, payloadText(j.Payload), j.RunAt, j.MaxAttempts)
	}
	if r.won == nil {
		r.won = map[[2]string]int{}
	}
	r.won[[2]string{p.Win.SessionID, p.Win.SKUID}] += p.Win.Qty
	return nil
}

func (r *flashRows) queue(b *pgx.Batch) {
	if o := &r.orders; len(o.id) > 0 {
		b.Queue(`INSERT INTO orders (`+orderColumns+`)
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[],
				$8::text[], $9::text[], $10::boolean[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[],
				$15::timestamptz[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::text[],
				$20::timestamptz[], $21::timestamptz[], $22::text[], $23::text[], $24::text[], $25::boolean[])`,
			o.id, o.buyer, o.status, o.subtotal, o.discount, o.shipping, o.total, o.shipTo, o.remark, o.fromCart,
			o.payBy, o.paidAt, o.carrier, o.trackingNo, o.shippedAt, o.deliveredAt, o.completedAt, o.endedAt,
			o.endReason, o.createdAt, o.updatedAt, o.actKind, o.actID, o.actRef, o.held)
	}
	if l := &r.lines; len(l.id) > 0 {
		b.Queue(`INSERT INTO order_lines
			(id, order_id, position, sku_id, product_id, title, spec, qty, list_price, sale_price, amount, adjustments)
			SELECT id, order_id, position, sku_id, product_id, title, spec, qty, list_price, sale_price, amount, adjustments::jsonb
			FROM unnest($1::uuid[], $2::uuid[], $3::integer[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
				$8::integer[], $9::bigint[], $10::bigint[], $11::bigint[], $12::text[])
				AS l(id, order_id, position, sku_id, product_id, title, spec, qty, list_price, sale_price, amount, adjustments)`,
			l.id, l.orderID, l.position, l.sku, l.product, l.title, l.spec, l.qty, l.listPrice, l.salePrice, l.amount, l.adj)
	}
	if rs := &r.reservations; len(rs.id) > 0 {
		b.Queue(`INSERT INTO flash_reservations
				(id, session_id, sku_id, buyer_id, qty, status, order_id, reason, won_at, created_at, updated_at)
			SELECT id, session_id, sku_id, buyer_id, qty, status, order_id, reason, won_at, at, at
			FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::integer[], $6::text[], $7::uuid[],
				$8::text[], $9::timestamptz[], $10::timestamptz[])
				AS r(id, session_id, sku_id, buyer_id, qty, status, order_id, reason, won_at, at)`,
			rs.id, rs.session, rs.sku, rs.buyer, rs.qty, rs.status, rs.orderID, rs.reason, rs.wonAt, rs.at)
	}
	if e := &r.events; len(e.id) > 0 {
		b.Queue(`INSERT INTO outbox (id, topic, key, payload, created_at)
			SELECT id, topic, key, payload::jsonb, created_at
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS e(id, topic, key, payload, created_at)`,
			e.id, e.topic, e.key, e.payload, e.createdAt)
	}
	if j := &r.jobs; len(j.id) > 0 {
		// queueJobs' rule: a key a live job of its kind holds is skipped.
		b.Queue(`INSERT INTO jobs
			(id, kind, key, payload, state, run_at, attempts, max_attempts, created_at, updated_at)
			SELECT id, kind, key, payload::jsonb, 'ready', run_at, 0, max_attempts, now(), now()
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::integer[])
				AS j(id, kind, key, payload, run_at, max_attempts)
			ON CONFLICT (kind, key) WHERE key <> '' AND state <> 'dead' DO NOTHING`,
			j.id, j.kind, j.key, j.payload, j.runAt, j.maxAttempts)
	}
	if len(r.won) > 0 {
		keys := slices.SortedFunc(maps.Keys(r.won), func(a, b [2]string) int {
			return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
		})
		sessions, skus, qtys := make([]pgtype.UUID, len(keys)), make([]pgtype.UUID, len(keys)), make([]int64, len(keys))
		for i, k := range keys {
			sessions[i], skus[i], qtys[i] = pgUUID(k[0]), pgUUID(k[1]), int64(r.won[k])
		}
		b.Queue(`UPDATE flash_session_skus AS k SET won = k.won + w.n
			FROM unnest($1::uuid[], $2::uuid[], $3::integer[]) AS w(session_id, sku_id, n)
			WHERE k.session_id = w.session_id AND k.sku_id = w.sku_id`, sessions, skus, qtys)
	}
}

// The column arrays of each table's multi-row insert.
type (
	flashOrderRows struct {
		id, buyer                                                                      []pgtype.UUID
		status, shipTo, remark, carrier, trackingNo, endReason, actKind, actID, actRef []string
		subtotal, discount, shipping, total                                            []int64
		fromCart, held                                                                 []bool
		payBy, createdAt, updatedAt                                                    []time.Time
		paidAt, shippedAt, deliveredAt, completedAt, endedAt                           []*time.Time
	}
	flashLineRows struct {
		id, orderID, sku, product    []pgtype.UUID
		title, spec, adj             []string
		position, qty                []int64
		listPrice, salePrice, amount []int64
	}
	flashReservationRows struct {
		id, status, reason           []string
		session, sku, buyer, orderID []pgtype.UUID
		qty                          []int64
		wonAt, at                    []time.Time
	}
	flashEventRows struct {
		id                  []pgtype.UUID
		topic, key, payload []string
		createdAt           []time.Time
	}
	flashJobRows struct {
		id                 []pgtype.UUID
		kind, key, payload []string
		runAt              []time.Time
		maxAttempts        []int64
	}
)

// add appends an order with the columns and encodings queueCreateOrder
// writes: the ship-to sealed, the activity's columns.
func (r *flashOrderRows) add(s *Store, o *order.Order) error {
	shipTo, err := s.sealShipTo(o.ShipTo)
	if err != nil {
		return err
	}
	act := activityOf(o)
	r.id, r.buyer, r.status = append(r.id, pgUUID(o.ID)), append(r.buyer, pgUUID(o.BuyerID)), append(r.status, string(o.Status))
	r.subtotal, r.discount = append(r.subtotal, int64(o.Subtotal)), append(r.discount, int64(o.Discount))
	r.shipping, r.total = append(r.shipping, int64(o.Shipping)), append(r.total, int64(o.Total))
	r.shipTo, r.remark, r.fromCart = append(r.shipTo, shipTo), append(r.remark, o.Remark), append(r.fromCart, o.FromCart)
	r.payBy, r.paidAt = append(r.payBy, o.PayBy), append(r.paidAt, o.PaidAt)
	r.carrier, r.trackingNo = append(r.carrier, o.Carrier), append(r.trackingNo, o.TrackingNo)
	r.shippedAt, r.deliveredAt = append(r.shippedAt, o.ShippedAt), append(r.deliveredAt, o.DeliveredAt)
	r.completedAt, r.endedAt = append(r.completedAt, o.CompletedAt), append(r.endedAt, o.EndedAt)
	r.endReason, r.createdAt, r.updatedAt = append(r.endReason, o.EndReason), append(r.createdAt, o.CreatedAt), append(r.updatedAt, o.UpdatedAt)
	r.actKind, r.actID, r.actRef = append(r.actKind, act.Kind), append(r.actID, act.ID), append(r.actRef, act.Ref)
	r.held = append(r.held, o.Held)
	return nil
}

func (r *flashLineRows) add(orderID string, position int, l order.Line) error {
	adj, err := adjustmentsJSON(l.Adjustments)
	if err != nil {
		return errs.Wrap(err, "order: create %s", orderID)
	}
	r.id, r.orderID, r.position = append(r.id, pgUUID(l.ID)), append(r.orderID, pgUUID(orderID)), append(r.position, int64(position))
	r.sku, r.product, r.title, r.spec = append(r.sku, pgUUID(l.SKUID)), append(r.product, pgUUID(l.ProductID)), append(r.title, l.Title), append(r.spec, l.Spec)
	r.qty, r.listPrice, r.salePrice = append(r.qty, int64(l.Qty)), append(r.listPrice, int64(l.ListPrice)), append(r.salePrice, int64(l.SalePrice))
	r.amount, r.adj = append(r.amount, int64(l.Amount)), append(r.adj, adj)
	return nil
}

// adjustmentsJSON is a line's adjustments as queueCreateOrder stores them:
// an empty list as [], not null, the column always an array.
func adjustmentsJSON(adj []pricing.Adjustment) (string, error) {
	b, err := json.Marshal(append(make([]pricing.Adjustment, 0, len(adj)), adj...))
	return string(b), err
}

func (r *flashReservationRows) add(w flashsale.Win, status flashsale.ReservationStatus, orderID, reason string, at time.Time) {
	r.id, r.session, r.sku, r.buyer = append(r.id, w.Ticket), append(r.session, pgUUID(w.SessionID)), append(r.sku, pgUUID(w.SKUID)), append(r.buyer, pgUUID(w.BuyerID))
	r.qty, r.status, r.orderID, r.reason = append(r.qty, int64(w.Qty)), append(r.status, string(status)), append(r.orderID, pgUUID(orderID)), append(r.reason, reason)
	r.wonAt, r.at = append(r.wonAt, w.At), append(r.at, at)
}

func (r *flashEventRows) add(id, topic, key, payload string, at time.Time) {
	r.id, r.topic, r.key, r.payload, r.createdAt = append(r.id, pgUUID(id)), append(r.topic, topic), append(r.key, key), append(r.payload, payload), append(r.createdAt, at)
}

func (r *flashJobRows) add(id, kind, key, payload string, runAt time.Time, maxAttempts int) {
	if id == "" {
		id = ids.New()
	}
	r.id, r.kind, r.key, r.payload = append(r.id, pgUUID(id)), append(r.kind, kind), append(r.key, key), append(r.payload, payload)
	r.runAt, r.maxAttempts = append(r.runAt, runAt), append(r.maxAttempts, int64(maxAttempts))
}

// pgUUID is id as a binary uuid, NULL if it is not one (which the NOT NULL
// columns refuse). Handed a []string for a uuid[], pgx tries the binary
// encoding, fails (formatting an error that quotes the whole array) and
// falls back to text the server then parses element by element: for the
// writer's thousand-row arrays, a third of its CPU.
func pgUUID(id string) pgtype.UUID {
	u, err := uuid.Parse(id)
	return pgtype.UUID{Bytes: u, Valid: err == nil}
}

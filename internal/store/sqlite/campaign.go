package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/campaign"
	"github.com/siyu-commerce/siyu/internal/errs"
)

func (s *Store) CreateCampaign(ctx context.Context, c *campaign.Campaign) error {
	b, err := json.Marshal(c)
	if err != nil {
		return errs.Wrap(err, "campaign: encode")
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO campaigns (id, status, created_at, body) VALUES (?, ?, ?, ?)`,
		c.ID, c.Status, ts(c.CreatedAt), string(b))
	return errs.Wrap(err, "campaign: create")
}

func (s *Store) Campaign(ctx context.Context, id string) (*campaign.Campaign, error) {
	var b string
	err := s.r.QueryRowContext(ctx, `SELECT body FROM campaigns WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, campaign.ErrNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "campaign: read")
	}
	var c campaign.Campaign
	return &c, errs.Wrap(json.Unmarshal([]byte(b), &c), "campaign: decode")
}

func (s *Store) Campaigns(ctx context.Context, limit int) ([]campaign.Campaign, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT body FROM campaigns ORDER BY created_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, errs.Wrap(err, "campaign: list")
	}
	defer rows.Close()
	out := []campaign.Campaign{}
	for rows.Next() {
		var b string
		var c campaign.Campaign
		if err := rows.Scan(&b); err != nil {
			return nil, errs.Wrap(err, "campaign: list")
		}
		if err := json.Unmarshal([]byte(b), &c); err != nil {
			return nil, errs.Wrap(err, "campaign: decode")
		}
		out = append(out, c)
	}
	return out, errs.Wrap(rows.Err(), "campaign: list")
}

func (s *Store) SaveCampaign(ctx context.Context, c *campaign.Campaign, from campaign.Status) error {
	b, err := json.Marshal(c)
	if err != nil {
		return errs.Wrap(err, "campaign: encode")
	}
	res, err := s.w.ExecContext(ctx, `UPDATE campaigns SET status = ?, body = ? WHERE id = ? AND status = ?`, c.Status, string(b), c.ID, from)
	if err != nil {
		return errs.Wrap(err, "campaign: save")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return campaign.ErrConflict
	}
	return nil
}

func (s *Store) CampaignSegmentMembers(ctx context.Context, segmentID, after string, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT buyer_id FROM crm_segment_members
		WHERE segment_id = ? AND buyer_id > ? ORDER BY buyer_id LIMIT ?`, segmentID, after, limit)
	if err != nil {
		return nil, errs.Wrap(err, "campaign: members")
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, errs.Wrap(err, "campaign: members")
		}
		out = append(out, b)
	}
	return out, errs.Wrap(rows.Err(), "campaign: members")
}

// ClaimCampaignTouch runs in one write transaction: SQLite has one writer,
// so the budget count and the insert cannot interleave with another's.
func (s *Store) ClaimCampaignTouch(ctx context.Context, t campaign.Touch, budget int) (campaign.Claim, error) {
	claim := campaign.Claimed
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM campaign_touches WHERE campaign_id = ? AND buyer_id = ?`,
			t.CampaignID, t.BuyerID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			claim = campaign.Existing
			return nil
		}
		if !t.Holdout && budget > 0 {
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM campaign_touches WHERE campaign_id = ? AND holdout = 0`,
				t.CampaignID).Scan(&n); err != nil {
				return err
			}
			if n >= budget {
				claim = campaign.OverBudget
				return nil
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO campaign_touches (campaign_id, buyer_id, holdout, at) VALUES (?, ?, ?, ?)`,
			t.CampaignID, t.BuyerID, t.Holdout, ts(t.At))
		return err
	})
	return claim, errs.Wrap(err, "campaign: claim touch")
}

func (s *Store) CampaignTouchCounts(ctx context.Context, buyerIDs []string, since time.Time, except string) (map[string]int, error) {
	out := map[string]int{}
	if len(buyerIDs) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(buyerIDs)+2)
	args = append(args, ts(since), except)
	for _, b := range buyerIDs {
		args = append(args, b)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT buyer_id, count(*) FROM campaign_touches
		WHERE holdout = 0 AND at >= ? AND campaign_id <> ? AND buyer_id IN (?`+strings.Repeat(", ?", len(buyerIDs)-1)+`) GROUP BY buyer_id`, args...)
	if err != nil {
		return nil, errs.Wrap(err, "campaign: touch counts")
	}
	defer rows.Close()
	for rows.Next() {
		var b string
		var n int
		if err := rows.Scan(&b, &n); err != nil {
			return nil, errs.Wrap(err, "campaign: touch counts")
		}
		out[b] = n
	}
	return out, errs.Wrap(rows.Err(), "campaign: touch counts")
}

func (s *Store) CampaignTouchTotals(ctx context.Context, id string) (treated, holdout int, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT coalesce(sum(1 - holdout), 0), coalesce(sum(holdout), 0)
		FROM campaign_touches WHERE campaign_id = ?`, id).Scan(&treated, &holdout)
	return treated, holdout, errs.Wrap(err, "campaign: touch totals")
}

func (s *Store) AddCampaignMessage(ctx context.Context, m campaign.Message) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO campaign_messages (campaign_id, buyer_id, text, sent_at) VALUES (?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, m.CampaignID, m.BuyerID, m.Text, ts(m.SentAt))
	if err != nil {
		return false, errs.Wrap(err, "campaign: add message")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *Store) CampaignMessages(ctx context.Context, id string, limit int) ([]campaign.Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT campaign_id, buyer_id, text, sent_at FROM campaign_messages
		WHERE campaign_id = ? ORDER BY buyer_id LIMIT ?`, id, limit)
	if err != nil {
		return nil, errs.Wrap(err, "campaign: messages")
	}
	defer rows.Close()
	out := []campaign.Message{}
	for rows.Next() {
		var m campaign.Message
		var at int64
		if err := rows.Scan(&m.CampaignID, &m.BuyerID, &m.Text, &at); err != nil {
			return nil, errs.Wrap(err, "campaign: messages")
		}
		m.SentAt = fromTS(at)
		out = append(out, m)
	}
	return out, errs.Wrap(rows.Err(), "campaign: messages")
}

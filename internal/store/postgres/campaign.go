package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/siyu-commerce/siyu/internal/campaign"
	"github.com/siyu-commerce/siyu/internal/errs"
)

func (s *Store) CreateCampaign(ctx context.Context, c *campaign.Campaign) error {
	b, err := json.Marshal(c)
	if err != nil {
		return errs.Wrap(err, "campaign: encode")
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO campaigns (id, status, created_at, body) VALUES ($1, $2, $3, $4)`,
		c.ID, c.Status, c.CreatedAt, b)
	return errs.Wrap(err, "campaign: create")
}

func (s *Store) Campaign(ctx context.Context, id string) (*campaign.Campaign, error) {
	var b []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM campaigns WHERE id = $1`, id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, campaign.ErrNotFound
	}
	if err != nil {
		return nil, errs.Wrap(err, "campaign: read")
	}
	var c campaign.Campaign
	return &c, errs.Wrap(json.Unmarshal(b, &c), "campaign: decode")
}

func (s *Store) Campaigns(ctx context.Context, limit int) ([]campaign.Campaign, error) {
	rows, err := s.pool.Query(ctx, `SELECT body FROM campaigns ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, errs.Wrap(err, "campaign: list")
	}
	defer rows.Close()
	out := []campaign.Campaign{}
	for rows.Next() {
		var b []byte
		var c campaign.Campaign
		if err := rows.Scan(&b); err != nil {
			return nil, errs.Wrap(err, "campaign: list")
		}
		if err := json.Unmarshal(b, &c); err != nil {
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
	tag, err := s.pool.Exec(ctx, `UPDATE campaigns SET status = $2, body = $3 WHERE id = $1 AND status = $4`, c.ID, c.Status, b, from)
	if err != nil {
		return errs.Wrap(err, "campaign: save")
	}
	if tag.RowsAffected() == 0 {
		return campaign.ErrConflict
	}
	return nil
}

func (s *Store) CampaignSegmentMembers(ctx context.Context, segmentID, after string, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT buyer_id::text FROM crm_segment_members
		WHERE segment_id = $1 AND ($2 = '' OR buyer_id > $2::text::uuid) ORDER BY buyer_id LIMIT $3`, segmentID, after, limit)
	if err != nil {
		return nil, errs.Wrap(err, "campaign: members")
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, errs.Wrap(err, "campaign: members")
}

// ClaimCampaignTouch locks the campaign row so that two replicas count the
// budget one after the other.
func (s *Store) ClaimCampaignTouch(ctx context.Context, t campaign.Touch, budget int) (campaign.Claim, error) {
	claim := campaign.Claimed
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE`, t.CampaignID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM campaign_touches WHERE campaign_id = $1 AND buyer_id = $2`,
			t.CampaignID, t.BuyerID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			claim = campaign.Existing
			return nil
		}
		if !t.Holdout && budget > 0 {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM campaign_touches WHERE campaign_id = $1 AND NOT holdout`,
				t.CampaignID).Scan(&n); err != nil {
				return err
			}
			if n >= budget {
				claim = campaign.OverBudget
				return nil
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO campaign_touches (campaign_id, buyer_id, holdout, at) VALUES ($1, $2, $3, $4)`,
			t.CampaignID, t.BuyerID, t.Holdout, t.At)
		return err
	})
	return claim, errs.Wrap(err, "campaign: claim touch")
}

func (s *Store) CampaignTouchCounts(ctx context.Context, buyerIDs []string, since time.Time, except string) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT buyer_id::text, count(*) FROM campaign_touches
		WHERE buyer_id = ANY($1::text[]::uuid[]) AND NOT holdout AND at >= $2 AND campaign_id <> $3 GROUP BY buyer_id`, buyerIDs, since, except)
	if err != nil {
		return nil, errs.Wrap(err, "campaign: touch counts")
	}
	defer rows.Close()
	out := map[string]int{}
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
	err = s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT holdout), count(*) FILTER (WHERE holdout)
		FROM campaign_touches WHERE campaign_id = $1`, id).Scan(&treated, &holdout)
	return treated, holdout, errs.Wrap(err, "campaign: touch totals")
}

func (s *Store) AddCampaignMessage(ctx context.Context, m campaign.Message) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO campaign_messages (campaign_id, buyer_id, text, sent_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, m.CampaignID, m.BuyerID, m.Text, m.SentAt)
	if err != nil {
		return false, errs.Wrap(err, "campaign: add message")
	}
	return tag.RowsAffected() == 1, nil
}

func (s *Store) CampaignMessages(ctx context.Context, id string, limit int) ([]campaign.Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT campaign_id::text, buyer_id::text, text, sent_at FROM campaign_messages
		WHERE campaign_id = $1 ORDER BY buyer_id LIMIT $2`, id, limit)
	if err != nil {
		return nil, errs.Wrap(err, "campaign: messages")
	}
	defer rows.Close()
	out := []campaign.Message{}
	for rows.Next() {
		var m campaign.Message
		if err := rows.Scan(&m.CampaignID, &m.BuyerID, &m.Text, &m.SentAt); err != nil {
			return nil, errs.Wrap(err, "campaign: messages")
		}
		m.SentAt = m.SentAt.UTC()
		out = append(out, m)
	}
	return out, errs.Wrap(rows.Err(), "campaign: messages")
}

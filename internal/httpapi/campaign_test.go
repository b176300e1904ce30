package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/siyu-commerce/siyu/internal/campaign"
	"github.com/siyu-commerce/siyu/internal/crm"
)

// TestCampaign walks a campaign through the API: a draft, the review (not
// by its author), a dry run, the run that skips the buyer without
// marketing consent, and a rerun that gives nothing twice.
func TestCampaign(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		op, rv := w.operator, w.reviewer
		w.alice.must(200, "POST", "/api/v1/consents/personalised_marketing/grant", map[string]any{"policy_version": 1}, nil)
		w.alice.must(200, "POST", "/api/v1/consents/subscription_messages/grant", map[string]any{"policy_version": 1}, nil)
		var seg crm.Segment
		op.must(201, "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "everyone",
			"expr": `layer in ["new", "active", "silent", "loyal", "other"]`}, &seg)
		op.must(200, "POST", "/admin/api/v1/crm/recompute", nil, nil)
		tpl := w.couponTemplate(map[string]any{"issue_mode": "recall"})
		now := w.app.Clock.Now()
		body := map[string]any{"name": "冬季回归", "segment_id": seg.ID, "starts_at": now.Add(10 * 24 * time.Hour),
			"actions": []map[string]any{{"kind": "issue_coupon", "template_id": tpl.ID}, {"kind": "grant_points", "points": 10},
				{"kind": "send_message", "text": "冬季回归礼已到账"}}}
		var c campaign.Campaign
		op.must(201, "POST", "/admin/api/v1/campaigns", body, &c)
		if c.Status != campaign.Draft {
			t.Fatalf("campaign = %+v", c)
		}
		var list struct {
			Items []campaign.Campaign `json:"items"`
		}
		rv.must(200, "GET", "/admin/api/v1/campaigns", nil, &list)
		if len(list.Items) != 1 {
			t.Fatalf("list = %+v", list)
		}
		base := "/admin/api/v1/campaigns/" + c.ID
		op.must(200, "POST", base+"/submit", nil, &c)
		op.must(403, "POST", base+"/review", map[string]any{"decision": "approve"}, nil)
		rv.must(200, "POST", base+"/review", map[string]any{"decision": "approve", "note": "联合审核通过"}, &c)
		if c.Status != campaign.Scheduled {
			t.Fatalf("reviewed = %+v", c)
		}
		var dry campaign.Result
		op.must(200, "POST", base+"/run", map[string]any{"dry_run": true}, &dry)
		if !dry.DryRun || dry.Members != 2 || dry.Treated != 1 || dry.Excluded[campaign.ExcludedNoConsent] != 1 {
			t.Fatalf("dry run = %+v", dry)
		}
		if p := op.must(409, "POST", base+"/run", map[string]any{}, nil).problem(t); p.Code != "campaign_not_started" {
			t.Fatalf("problem = %+v", p)
		}
		w.app.Clock.Advance(11 * 24 * time.Hour)
		op, rv = w.operatorLogin("operator@shop.example"), w.operatorLogin("reviewer@shop.example") // the sessions expired
		var res campaign.Result
		op.must(200, "POST", base+"/run", map[string]any{}, &res)
		if res.Treated != 1 || res.Coupons != 1 || res.Points != 10 || res.Messages != 1 || res.Excluded[campaign.ExcludedNoConsent] != 1 {
			t.Fatalf("run = %+v", res)
		}
		op.must(200, "POST", base+"/run", map[string]any{}, &res)
		if res.Treated != 0 || res.Already != 1 || res.Coupons != 0 || res.Points != 0 || res.Messages != 0 {
			t.Fatalf("rerun = %+v", res)
		}
		var msgs struct {
			Items []campaign.Message `json:"items"`
		}
		rv.must(200, "GET", base+"/messages", nil, &msgs)
		if len(msgs.Items) != 1 || msgs.Items[0].Text != "冬季回归礼已到账" {
			t.Fatalf("messages = %+v", msgs)
		}
		rv.must(200, "GET", base, nil, &c)
		if c.Status != campaign.Finished || c.Result == nil {
			t.Fatalf("campaign = %+v", c)
		}
	})
}

// TestCampaignBadInput: field errors, banned words, a late submission, a
// review by the author, unknown ids and wrong roles.
func TestCampaignBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, w *world) {
		op, owner := w.operator, w.owner
		var seg crm.Segment
		op.must(201, "POST", "/admin/api/v1/crm/segments", map[string]any{"name": "all", "expr": `layer in ["new"]`}, &seg)
		now := w.app.Clock.Now()
		p := op.must(400, "POST", "/admin/api/v1/campaigns", map[string]any{"name": "", "actions": []any{}}, nil).problem(t)
		for _, f := range []string{"name", "segment_id", "actions", "starts_at"} {
			if !p.hasField(f) {
				t.Fatalf("no %s in %+v", f, p)
			}
		}
		p = op.must(400, "POST", "/admin/api/v1/campaigns", map[string]any{"name": "国家级特效", "segment_id": seg.ID,
			"starts_at": now.Add(240 * time.Hour), "actions": []map[string]any{{"kind": "grant_points", "points": 1}}}, nil).problem(t)
		if p.Code != "campaign_banned_words" || !strings.Contains(p.Detail, "国家级") || !strings.Contains(p.Detail, "特效") {
			t.Fatalf("problem = %+v", p)
		}
		op.must(400, "POST", "/admin/api/v1/campaigns", map[string]any{"name": "x", "segment_id": seg.ID, "starts_at": now,
			"actions": []map[string]any{{"kind": "send_money"}}, "holdout_bp": 9000}, nil)
		op.must(400, "POST", "/admin/api/v1/campaigns", `{"name":`, nil)

		var late campaign.Campaign
		op.must(201, "POST", "/admin/api/v1/campaigns", map[string]any{"name": "明天", "segment_id": seg.ID,
			"starts_at": now.Add(24 * time.Hour), "actions": []map[string]any{{"kind": "grant_points", "points": 1}}}, &late)
		if p := op.must(400, "POST", "/admin/api/v1/campaigns/"+late.ID+"/submit", nil, nil).problem(t); !strings.Contains(p.Code+p.Detail, "too_late") && !p.hasField("starts_at") {
			t.Fatalf("problem = %+v", p)
		}
		w.reviewer.must(409, "POST", "/admin/api/v1/campaigns/"+late.ID+"/review", map[string]any{"decision": "approve"}, nil)

		var own campaign.Campaign
		owner.must(201, "POST", "/admin/api/v1/campaigns", map[string]any{"name": "自审", "segment_id": seg.ID,
			"starts_at": now.Add(240 * time.Hour), "actions": []map[string]any{{"kind": "grant_points", "points": 1}}}, &own)
		owner.must(200, "POST", "/admin/api/v1/campaigns/"+own.ID+"/submit", nil, nil)
		if p := owner.must(403, "POST", "/admin/api/v1/campaigns/"+own.ID+"/review", map[string]any{"decision": "approve"}, nil).problem(t); p.Code != "campaign_own_review" {
			t.Fatalf("problem = %+v", p)
		}
		w.reviewer.must(400, "POST", "/admin/api/v1/campaigns/"+own.ID+"/review", map[string]any{"decision": "maybe"}, nil)
		w.reviewer.must(200, "POST", "/admin/api/v1/campaigns/"+own.ID+"/review", map[string]any{"decision": "reject", "note": "文案再改"}, nil)
		op.must(409, "POST", "/admin/api/v1/campaigns/"+own.ID+"/run", map[string]any{"dry_run": true}, nil)
		op.must(400, "POST", "/admin/api/v1/campaigns/"+own.ID+"/run", map[string]any{"dry_run": "yes"}, nil)

		op.must(404, "GET", "/admin/api/v1/campaigns/nope", nil, nil)
		op.must(404, "GET", "/admin/api/v1/campaigns/nope/messages", nil, nil)
		p = op.must(400, "POST", "/admin/api/v1/campaigns", map[string]any{"name": "回归", "segment_id": seg.ID, "starts_at": now,
			"actions": []map[string]any{{"kind": "send_message", "text": "无副作用，根治失眠"}}}, nil).problem(t)
		if !strings.Contains(p.Detail, "根治") || !strings.Contains(p.Detail, "无副作用") {
			t.Fatalf("problem = %+v", p)
		}
		op.must(404, "POST", "/admin/api/v1/campaigns/00000000-0000-7000-8000-000000000000/submit", nil, nil)
		w.finance.must(403, "GET", "/admin/api/v1/campaigns", nil, nil)
		w.alice.must(401, "GET", "/admin/api/v1/campaigns", nil, nil)
	})
}

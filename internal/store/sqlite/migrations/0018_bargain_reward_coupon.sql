-- A bargain reward may name a recall coupon template (issue 4): each applied
-- help issues the helper one coupon of it. '' means a reward with no coupon
-- (and rows made before this migration). A coupon issued for a help carries
-- the help as its issue key, unique, so a redelivered bargain.helped event
-- issues nothing more; coupons claimed by buyers have none (NULL).
ALTER TABLE bargain_activities ADD COLUMN reward_coupon_template_id TEXT NOT NULL DEFAULT '';
ALTER TABLE bargains ADD COLUMN reward_coupon_template_id TEXT NOT NULL DEFAULT '';
ALTER TABLE coupons ADD COLUMN issue_key TEXT;
CREATE UNIQUE INDEX coupons_issue_key ON coupons (issue_key) WHERE issue_key IS NOT NULL;

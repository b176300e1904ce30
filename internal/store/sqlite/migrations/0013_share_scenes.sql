-- A credit keeps the entry scene of the visit that won it, so conversion
-- can be measured per entry (share card, QR scan, article, channel video,
-- search). Credits made before this migration have none.
ALTER TABLE share_credits ADD COLUMN scene TEXT NOT NULL DEFAULT '';

-- Share links and attribution (internal/share). A share's chain is its
-- parent links; a credit keeps the chain as it stood, as a JSON array.
CREATE TABLE shares (
	id          TEXT PRIMARY KEY,
	sharer_id   TEXT NOT NULL,
	target_kind TEXT NOT NULL CHECK (target_kind IN ('product', 'team', 'bargain', 'promoter_page')),
	target_id   TEXT NOT NULL,
	activity_id TEXT,
	depth       INTEGER NOT NULL CHECK (depth BETWEEN 1 AND 3),
	parent_id   TEXT REFERENCES shares (id),
	created_at  INTEGER NOT NULL
);
CREATE INDEX shares_activity ON shares (activity_id, created_at);

CREATE TABLE share_visits (
	id         TEXT PRIMARY KEY,
	share_id   TEXT NOT NULL REFERENCES shares (id),
	visitor_id TEXT NOT NULL,
	scene      TEXT NOT NULL CHECK (scene IN ('share_card', 'qr_scan', 'article', 'channel_video', 'search')),
	own        INTEGER NOT NULL,
	at         INTEGER NOT NULL
);
CREATE INDEX share_visits_visitor ON share_visits (visitor_id, at);
CREATE INDEX share_visits_share ON share_visits (share_id);

-- One order, one credit: the primary key is what makes attribution safe
-- under at-least-once delivery.
CREATE TABLE share_credits (
	order_id  TEXT PRIMARY KEY,
	share_id  TEXT NOT NULL REFERENCES shares (id),
	sharer_id TEXT NOT NULL,
	buyer_id  TEXT NOT NULL,
	amount    INTEGER NOT NULL CHECK (amount >= 0),
	new_buyer INTEGER NOT NULL,
	chain     TEXT NOT NULL,
	at        INTEGER NOT NULL
);
CREATE INDEX share_credits_share ON share_credits (share_id);
CREATE INDEX share_credits_at ON share_credits (at);

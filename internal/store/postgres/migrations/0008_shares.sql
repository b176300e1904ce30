-- Share links and attribution (internal/share). A share's chain is its
-- parent links; a credit keeps the chain as it stood, as a JSON array.
CREATE TABLE shares (
	id          uuid PRIMARY KEY,
	sharer_id   uuid NOT NULL,
	target_kind text NOT NULL CHECK (target_kind IN ('product', 'team', 'bargain', 'promoter_page')),
	target_id   uuid NOT NULL,
	activity_id uuid,
	depth       smallint NOT NULL CHECK (depth BETWEEN 1 AND 3),
	parent_id   uuid REFERENCES shares (id),
	created_at  timestamptz NOT NULL
);
CREATE INDEX shares_activity ON shares (activity_id, created_at);

CREATE TABLE share_visits (
	id         uuid PRIMARY KEY,
	share_id   uuid NOT NULL REFERENCES shares (id),
	visitor_id uuid NOT NULL,
	scene      text NOT NULL CHECK (scene IN ('share_card', 'qr_scan', 'article', 'channel_video', 'search')),
	own        boolean NOT NULL,
	at         timestamptz NOT NULL
);
CREATE INDEX share_visits_visitor ON share_visits (visitor_id, at);
CREATE INDEX share_visits_share ON share_visits (share_id);

-- One order, one credit: the primary key is what makes attribution safe
-- under at-least-once delivery.
CREATE TABLE share_credits (
	order_id  uuid PRIMARY KEY,
	share_id  uuid NOT NULL REFERENCES shares (id),
	sharer_id uuid NOT NULL,
	buyer_id  uuid NOT NULL,
	amount    bigint NOT NULL CHECK (amount >= 0),
	new_buyer boolean NOT NULL,
	chain     text NOT NULL,
	at        timestamptz NOT NULL
);
CREATE INDEX share_credits_share ON share_credits (share_id);
CREATE INDEX share_credits_at ON share_credits (at);

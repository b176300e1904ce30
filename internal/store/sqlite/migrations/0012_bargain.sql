-- Bargains (internal/bargain): operators' activities, buyers' bargains and
-- friends' helps. A bargain's schedule is fixed when it opens and kept as a
-- JSON array of fen; a help's hold reasons as a JSON array of codes.
CREATE TABLE bargain_activities (
	id                 TEXT PRIMARY KEY,
	title              TEXT NOT NULL,
	rules              TEXT NOT NULL,
	share_notice       TEXT NOT NULL,
	status             TEXT NOT NULL CHECK (status IN ('draft', 'published', 'ended')),
	starts_at          INTEGER NOT NULL,
	ends_at            INTEGER NOT NULL,
	sku_id             TEXT NOT NULL,
	from_price         INTEGER NOT NULL CHECK (from_price >= 1),
	floor_price        INTEGER NOT NULL CHECK (floor_price >= 0 AND floor_price < from_price),
	helpers            INTEGER NOT NULL CHECK (helpers BETWEEN 1 AND 100),
	bargain_hours      INTEGER NOT NULL,
	reward_value       INTEGER NOT NULL DEFAULT 0 CHECK (reward_value >= 0),
	reward_description TEXT NOT NULL DEFAULT '',
	buy_at_current     INTEGER NOT NULL,
	pay_hours          INTEGER NOT NULL,
	quota              INTEGER NOT NULL CHECK (quota >= 1),
	-- Units held by live or paid orders. The check is what refuses an order
	-- past the quota, however many race for the last unit.
	sold               INTEGER NOT NULL DEFAULT 0,
	per_buyer_limit    INTEGER NOT NULL,
	show_schedule      INTEGER NOT NULL,
	max_depth          INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	published_at       INTEGER,
	ended_at           INTEGER,
	CONSTRAINT bargain_quota CHECK (sold BETWEEN 0 AND quota)
);
CREATE INDEX bargain_activities_newest ON bargain_activities (created_at DESC, id DESC);
CREATE INDEX bargain_activities_status ON bargain_activities (status, created_at DESC, id DESC);

CREATE TABLE bargains (
	id                 TEXT PRIMARY KEY,
	activity_id        TEXT NOT NULL REFERENCES bargain_activities (id),
	initiator_id       TEXT NOT NULL,
	sku_id             TEXT NOT NULL,
	from_price         INTEGER NOT NULL,
	floor_price        INTEGER NOT NULL,
	schedule           TEXT NOT NULL,
	cuts               INTEGER NOT NULL CHECK (cuts >= 0),
	price              INTEGER NOT NULL CHECK (price >= floor_price AND price <= from_price),
	status             TEXT NOT NULL CHECK (status IN ('open', 'succeeded', 'expired')),
	buy_at_current     INTEGER NOT NULL,
	pay_hours          INTEGER NOT NULL,
	reward_value       INTEGER NOT NULL DEFAULT 0,
	reward_description TEXT NOT NULL DEFAULT '',
	order_id           TEXT,
	expires_at         INTEGER NOT NULL,
	order_by           INTEGER,
	succeeded_at       INTEGER,
	expired_at         INTEGER,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL
);
-- One open bargain per buyer and activity: opening again returns it.
CREATE UNIQUE INDEX bargains_one_open ON bargains (activity_id, initiator_id) WHERE status = 'open';
CREATE INDEX bargains_initiator ON bargains (activity_id, initiator_id);
CREATE INDEX bargains_newest ON bargains (created_at DESC, id DESC);
CREATE INDEX bargains_activity ON bargains (activity_id, created_at DESC, id DESC);

CREATE TABLE bargain_helps (
	id           TEXT PRIMARY KEY,
	bargain_id   TEXT NOT NULL REFERENCES bargains (id),
	helper_id    TEXT NOT NULL,
	helper_since INTEGER NOT NULL,
	device_id    TEXT NOT NULL,
	ip           TEXT NOT NULL,
	slot         INTEGER,
	amount       INTEGER NOT NULL CHECK (amount >= 0),
	status       TEXT NOT NULL CHECK (status IN ('applied', 'held', 'rejected')),
	reasons      TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	decided_at   INTEGER,
	decided_by   TEXT NOT NULL DEFAULT '',
	CHECK ((status = 'applied') = (slot IS NOT NULL))
);
-- One help per helper and bargain; one help per slot of a schedule.
CREATE UNIQUE INDEX bargain_helps_once ON bargain_helps (bargain_id, helper_id);
CREATE UNIQUE INDEX bargain_helps_slot ON bargain_helps (bargain_id, slot) WHERE slot IS NOT NULL;
-- The help rules' reads: a helper's, a device's and an address's recent
-- helps, and a bargain's helps by new accounts.
CREATE INDEX bargain_helps_helper ON bargain_helps (helper_id, created_at);
CREATE INDEX bargain_helps_new_accounts ON bargain_helps (bargain_id, helper_since);
CREATE INDEX bargain_helps_device ON bargain_helps (device_id, created_at);
CREATE INDEX bargain_helps_ip ON bargain_helps (ip, created_at);
CREATE INDEX bargain_helps_newest ON bargain_helps (created_at DESC, id DESC);
CREATE INDEX bargain_helps_status ON bargain_helps (status, created_at DESC, id DESC);

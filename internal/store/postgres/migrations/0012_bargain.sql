-- Bargains (internal/bargain): operators' activities, buyers' bargains and
-- friends' helps. A bargain's schedule is fixed when it opens.
CREATE TABLE bargain_activities (
	id                 uuid PRIMARY KEY,
	title              text NOT NULL,
	rules              text NOT NULL,
	share_notice       text NOT NULL,
	status             text NOT NULL CHECK (status IN ('draft', 'published', 'ended')),
	starts_at          timestamptz NOT NULL,
	ends_at            timestamptz NOT NULL,
	sku_id             uuid NOT NULL,
	from_price         bigint NOT NULL CHECK (from_price >= 1),
	floor_price        bigint NOT NULL CHECK (floor_price >= 0 AND floor_price < from_price),
	helpers            integer NOT NULL CHECK (helpers BETWEEN 1 AND 100),
	bargain_hours      integer NOT NULL,
	reward_value       bigint NOT NULL DEFAULT 0 CHECK (reward_value >= 0),
	reward_description text NOT NULL DEFAULT '',
	buy_at_current     boolean NOT NULL,
	pay_hours          integer NOT NULL,
	quota              integer NOT NULL CHECK (quota >= 1),
	-- Units held by live or paid orders. The check is what refuses an order
	-- past the quota, however many race for the last unit: it aborts the
	-- order's transaction, which is sent whole in one round trip.
	sold               integer NOT NULL DEFAULT 0,
	per_buyer_limit    integer NOT NULL,
	show_schedule      boolean NOT NULL,
	max_depth          integer NOT NULL,
	created_at         timestamptz NOT NULL,
	updated_at         timestamptz NOT NULL,
	published_at       timestamptz,
	ended_at           timestamptz,
	CONSTRAINT bargain_quota CHECK (sold BETWEEN 0 AND quota)
);
CREATE INDEX bargain_activities_newest ON bargain_activities (created_at DESC, id DESC);
CREATE INDEX bargain_activities_status ON bargain_activities (status, created_at DESC, id DESC);

CREATE TABLE bargains (
	id                 uuid PRIMARY KEY,
	activity_id        uuid NOT NULL REFERENCES bargain_activities (id),
	initiator_id       uuid NOT NULL,
	sku_id             uuid NOT NULL,
	from_price         bigint NOT NULL,
	floor_price        bigint NOT NULL,
	schedule           bigint[] NOT NULL,
	cuts               integer NOT NULL CHECK (cuts >= 0),
	price              bigint NOT NULL CHECK (price >= floor_price AND price <= from_price),
	status             text NOT NULL CHECK (status IN ('open', 'succeeded', 'expired')),
	buy_at_current     boolean NOT NULL,
	pay_hours          integer NOT NULL,
	reward_value       bigint NOT NULL DEFAULT 0,
	reward_description text NOT NULL DEFAULT '',
	order_id           uuid,
	expires_at         timestamptz NOT NULL,
	order_by           timestamptz,
	succeeded_at       timestamptz,
	expired_at         timestamptz,
	created_at         timestamptz NOT NULL,
	updated_at         timestamptz NOT NULL
);
-- One open bargain per buyer and activity: opening again returns it.
CREATE UNIQUE INDEX bargains_one_open ON bargains (activity_id, initiator_id) WHERE status = 'open';
CREATE INDEX bargains_initiator ON bargains (activity_id, initiator_id);
CREATE INDEX bargains_newest ON bargains (created_at DESC, id DESC);
CREATE INDEX bargains_activity ON bargains (activity_id, created_at DESC, id DESC);

CREATE TABLE bargain_helps (
	id           uuid PRIMARY KEY,
	bargain_id   uuid NOT NULL REFERENCES bargains (id),
	helper_id    uuid NOT NULL,
	helper_since timestamptz NOT NULL,
	device_id    text NOT NULL,
	ip           text NOT NULL,
	slot         integer,
	amount       bigint NOT NULL CHECK (amount >= 0),
	status       text NOT NULL CHECK (status IN ('applied', 'held', 'rejected')),
	reasons      text[] NOT NULL,
	created_at   timestamptz NOT NULL,
	decided_at   timestamptz,
	decided_by   text NOT NULL DEFAULT '',
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

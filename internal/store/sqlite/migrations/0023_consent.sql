-- Consent under PIPL (package consent): an append-only history of grants
-- and withdrawals per buyer and purpose, each naming the policy version it
-- was given to, and the policy versions operators published. Nothing
-- updates or deletes a record: the history is the evidence of consent.
CREATE TABLE consent_records (
    id              TEXT PRIMARY KEY,
    buyer_id        TEXT NOT NULL,
    purpose         text NOT NULL,
    action          text NOT NULL CHECK (action IN ('grant', 'withdraw')),
    policy_version  integer NOT NULL CHECK (policy_version >= 1),
    created_at      INTEGER NOT NULL
);
-- The latest record per (buyer, purpose) is what counts; the same index
-- serves a campaign's bulk question, purpose first.
CREATE INDEX consent_records_latest ON consent_records (purpose, buyer_id, created_at DESC, id DESC);
CREATE INDEX consent_records_buyer ON consent_records (buyer_id, created_at DESC, id DESC);

-- Version 1 of every purpose is implicit (the launch policy); rows are the
-- versions published since. The key makes two concurrent publishers of the
-- same next version collide instead of both succeeding.
CREATE TABLE consent_policies (
    purpose       text NOT NULL,
    version       integer NOT NULL CHECK (version >= 2),
    summary       text NOT NULL,
    published_at  INTEGER NOT NULL,
    published_by  text NOT NULL DEFAULT '',
    PRIMARY KEY (purpose, version)
);

-- Data rights (package datarights). The last export per buyer: the hourly
-- limit is a conditional upsert on it, so it holds across replicas.
CREATE TABLE data_exports (
    buyer_id  TEXT PRIMARY KEY,
    last_at   INTEGER NOT NULL
);

-- One row per erased buyer: erasing again finds it and does nothing. The
-- counts are what the first erasure did; the token replaced the openid.
CREATE TABLE data_erasures (
    buyer_id    TEXT PRIMARY KEY,
    token       TEXT NOT NULL,
    erased_at   INTEGER NOT NULL,
    addresses   INTEGER NOT NULL,
    orders      INTEGER NOT NULL,
    sessions    INTEGER NOT NULL,
    cart_lines  INTEGER NOT NULL,
    devices     INTEGER NOT NULL,
    consents    INTEGER NOT NULL,
    replays     INTEGER NOT NULL
);

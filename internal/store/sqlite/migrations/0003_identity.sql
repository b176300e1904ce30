-- Identity: buyers (by openid), sessions (token hashes only), operators,
-- and buyers' addresses. Columns marked sealed hold seal.Sealer ciphertext
-- (PIPL: phone numbers and addresses encrypted at rest; the WeChat
-- session_key never leaves the server in the clear).

CREATE TABLE buyers (
    id             TEXT PRIMARY KEY,
    openid         TEXT NOT NULL UNIQUE,
    unionid        TEXT NOT NULL DEFAULT '',
    session_key    TEXT NOT NULL DEFAULT '',   -- sealed
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER NOT NULL
);
CREATE INDEX buyers_unionid ON buyers (unionid) WHERE unionid <> '';

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,          -- SHA-256 of the token, hex
    kind        TEXT NOT NULL CHECK (kind IN ('buyer', 'operator')),
    subject_id  TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE operators (
    id             TEXT PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,       -- lower-case
    password_hash  TEXT NOT NULL,              -- argon2id, PHC string
    role           TEXT NOT NULL CHECK (role IN ('owner', 'operator', 'finance', 'reviewer')),
    created_at     INTEGER NOT NULL
);

CREATE TABLE addresses (
    id          TEXT PRIMARY KEY,
    buyer_id    TEXT NOT NULL REFERENCES buyers (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,                 -- sealed
    province    TEXT NOT NULL,
    city        TEXT NOT NULL,
    district    TEXT NOT NULL,
    detail      TEXT NOT NULL,                 -- sealed
    is_default  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX addresses_buyer ON addresses (buyer_id, created_at DESC);
-- At most one default per buyer; the store keeps it so, this is the backstop.
CREATE UNIQUE INDEX addresses_one_default ON addresses (buyer_id) WHERE is_default = 1;

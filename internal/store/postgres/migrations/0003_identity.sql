-- Identity: buyers (by openid), sessions (token hashes only), operators,
-- and buyers' addresses. Columns marked sealed hold seal.Sealer ciphertext
-- (PIPL: phone numbers and addresses encrypted at rest; the WeChat
-- session_key never leaves the server in the clear).

CREATE TABLE buyers (
    id             uuid PRIMARY KEY,
    openid         text NOT NULL UNIQUE,
    unionid        text NOT NULL DEFAULT '',
    session_key    text NOT NULL DEFAULT '',   -- sealed
    created_at     timestamptz NOT NULL,
    last_login_at  timestamptz NOT NULL
);
CREATE INDEX buyers_unionid ON buyers (unionid) WHERE unionid <> '';

CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    token_hash  text NOT NULL UNIQUE,          -- SHA-256 of the token, hex
    kind        text NOT NULL CHECK (kind IN ('buyer', 'operator')),
    subject_id  uuid NOT NULL,
    role        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE operators (
    id             uuid PRIMARY KEY,
    email          text NOT NULL UNIQUE,       -- lower-case
    password_hash  text NOT NULL,              -- argon2id, PHC string
    role           text NOT NULL CHECK (role IN ('owner', 'operator', 'finance', 'reviewer')),
    created_at     timestamptz NOT NULL
);

CREATE TABLE addresses (
    id          uuid PRIMARY KEY,
    buyer_id    uuid NOT NULL REFERENCES buyers (id) ON DELETE CASCADE,
    name        text NOT NULL,
    phone       text NOT NULL,                 -- sealed
    province    text NOT NULL,
    city        text NOT NULL,
    district    text NOT NULL,
    detail      text NOT NULL,                 -- sealed
    is_default  boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX addresses_buyer ON addresses (buyer_id, created_at DESC);
-- At most one default per buyer; the store keeps it so, this is the backstop.
CREATE UNIQUE INDEX addresses_one_default ON addresses (buyer_id) WHERE is_default;

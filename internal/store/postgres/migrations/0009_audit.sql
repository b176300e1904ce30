-- The operators' audit log: append only, kept at least 3 years.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    actor_id    uuid NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    request_id  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_newest ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, created_at DESC, id DESC);

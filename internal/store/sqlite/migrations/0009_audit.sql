-- The operators' audit log: append only, kept at least 3 years.
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    actor_id    TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL DEFAULT '',
    status      INTEGER NOT NULL,
    request_id  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_newest ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, created_at DESC, id DESC);

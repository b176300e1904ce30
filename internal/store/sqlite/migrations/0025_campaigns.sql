-- Campaigns (internal/campaign): the campaign with its review state (the
-- whole campaign as JSON; status is a column for the compare-and-set of
-- the review workflow) and one touch per (campaign, buyer): treated or held
-- out. The touch's primary key is what makes a rerun give nothing twice.
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX campaigns_created ON campaigns (created_at DESC);

CREATE TABLE campaign_touches (
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    buyer_id     TEXT NOT NULL,
    holdout      INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, buyer_id)
);
-- The frequency cap counts a buyer's recent touches across campaigns.
CREATE INDEX campaign_touches_buyer ON campaign_touches (buyer_id, at);

-- The sandbox message outbox: the subscription messages a campaign would
-- have sent, one per (campaign, buyer), for the operator to read.
CREATE TABLE campaign_messages (
    campaign_id  TEXT NOT NULL REFERENCES campaigns (id),
    buyer_id     TEXT NOT NULL,
    text         TEXT NOT NULL,
    sent_at      INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, buyer_id)
);

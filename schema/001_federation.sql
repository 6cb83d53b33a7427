-- 001: the federation. Platform nodes (Art 3, 12: city, district, station),
-- enrolment of child nodes, and reliable delivery (DESIGN.md "Delivery"):
-- a transactional outbox per peer, and the last sequence applied from each
-- peer. Its functions are in functions/federation.sql.
--
-- 001-006 are the baseline of vigil 0.1.0: the schema as the migrations
-- before it left it, one file per domain (README.md).

CREATE TABLE node_settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);
-- The epoch names this database's outbox numbering. A recreated database has
-- a new epoch, so its peers know its sequence numbers restarted and ask for a
-- snapshot instead of trusting old numbers.
INSERT INTO node_settings (key, value) VALUES ('epoch', gen_random_uuid()::text);

CREATE TABLE nodes (
    id          text PRIMARY KEY CHECK (id ~ '^[0-9]{20}$'),
    parent_id   text CHECK (parent_id ~ '^[0-9]{20}$'),
    tier        text NOT NULL CHECK (tier IN ('city', 'district', 'station')),
    name        text NOT NULL,
    -- Only for this node's direct children: the CURVE key enrolled with
    -- `vigilctl node enroll`; the ZAP handler admits nothing else.
    public_key  text UNIQUE CHECK (public_key ~ '^.{40}$'),
    enrolled_at timestamptz,
    online      boolean NOT NULL DEFAULT false,
    last_seen   timestamptz,
    -- Version of the observation (observer's clock in microseconds, kept
    -- monotonic): a replica only takes a newer one.
    version     bigint NOT NULL DEFAULT 0,
    -- The direct child this row was learned through (NULL: this node itself
    -- or its own direct child). Snapshots from that child replace these rows.
    via         text,
    snapshot_mark boolean NOT NULL DEFAULT false
);
CREATE INDEX nodes_via ON nodes (via);

-- Outgoing changes, per destination peer (the parent, or a child). A row
-- holds a batch of consecutive changes, sequences seq .. last_seq: the
-- changes one statement appended (outbox_append). The sender reads rows by
-- last_seq and sends from the change it needs, and deletes a row once its
-- last change is acknowledged. One row per change cost each change a heap
-- tuple, an index entry, a WAL record for each, and the same again to
-- delete it: at a station importing a million cameras, and at its district
-- forwarding them, a quarter of the database's work
-- (tests/bench/catalog-sync).
CREATE TABLE outbox (
    peer_id    text NOT NULL,
    last_seq   bigint NOT NULL,
    seq        bigint NOT NULL,    -- the first change's sequence
    changes    bytea[] NOT NULL CHECK (cardinality(changes) = last_seq - seq + 1),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (peer_id, last_seq)
);
-- A batch of a thousand cameras is some 150 kB: stored out of line as it
-- is, without compressing what is read once and deleted.
ALTER TABLE outbox ALTER COLUMN changes SET STORAGE EXTERNAL;

CREATE TABLE outbox_seq (
    peer_id  text PRIMARY KEY,
    last_seq bigint NOT NULL DEFAULT 0
);

-- The last sequence applied from each peer, in that peer's epoch.
CREATE TABLE applied_seq (
    peer_id    text PRIMARY KEY,
    epoch      text NOT NULL,
    last_seq   bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Link probes. `vigilctl link probe` at a node sends a number of probe
-- changes through its reliable uplink; the parent stores them here. An
-- on-call engineer measures a link with it, and tests/bench measures the
-- delivery machinery with exactly what production runs.
CREATE TABLE link_probes (
    origin      text NOT NULL,
    probe_id    bigint NOT NULL,
    number      bigint NOT NULL,
    sent_at     timestamptz,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (origin, probe_id, number)
);

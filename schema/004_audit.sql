-- 004: the access log (Art 23(5)): one row per access and per step of the
-- access workflow, refusals included. hash = SHA-256(prev_hash ||
-- canonical record) (DESIGN.md "Audit"), computed in the inserting
-- transaction by the trigger of functions/audit.sql, so no writer can skip
-- it. Append-only, by triggers (functions/audit.sql) and by what the
-- daemon's role may do (006). The log travels up: each parent keeps copies
-- of its children's logs and raises an alarm at a fork or a gap.

CREATE TABLE audit_log (
    seq          bigint PRIMARY KEY,
    at           timestamptz NOT NULL,
    node_id      text NOT NULL,
    actor        text NOT NULL,        -- badge (or admin:KEY, or a node ID)
    action       text NOT NULL,        -- request, countersign, approve, deny, revoke, view, ...
    outcome      text NOT NULL CHECK (outcome IN ('ok', 'refused')),
    article      text,                 -- the rule a refusal cites
    camera       text,
    purpose      text,
    destination  text,
    request_id   text,
    emergency_id text,
    detail       text,
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL
);

-- The head of the chain, one row: appends serialise on it.
CREATE TABLE audit_head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- How far this node's own log has been sent to the parent.
CREATE TABLE audit_sent (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL
);
INSERT INTO audit_sent (seq) VALUES (0);

-- Copies of the logs of the nodes below, as they arrived; append-only too.
CREATE TABLE audit_copies (
    node_id      text NOT NULL,
    seq          bigint NOT NULL,
    at           timestamptz NOT NULL,
    actor        text NOT NULL,
    action       text NOT NULL,
    outcome      text NOT NULL,
    article      text,
    camera       text,
    purpose      text,
    destination  text,
    request_id   text,
    emergency_id text,
    detail       text,
    prev_hash    bytea NOT NULL,
    hash         bytea NOT NULL,
    via          text NOT NULL,
    PRIMARY KEY (node_id, seq)
);

-- A copy that does not extend the chain held: the node rewrote its history
-- (a fork), or something is missing (a gap). Raised once, kept.
CREATE TABLE audit_alarms (
    id        bigserial PRIMARY KEY,
    node_id   text NOT NULL,
    seq       bigint NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('fork', 'gap')),
    detail    text NOT NULL,
    raised_at timestamptz NOT NULL DEFAULT now(),
    logged    boolean NOT NULL DEFAULT false
);

-- Signed checkpoints of the access log (DESIGN.md "Audit"). Every node
-- signs the head of its own log (record SEQ has hash HASH) with its
-- Ed25519 sign key, at most every 10 s (with a batch of the log sent up, or
-- by itself when the log grew), keeps the checkpoint and sends it up; each
-- parent keeps its children's (and forwards them). Since every record's
-- hash chains all those before it, one checkpoint vouches for the whole log
-- up to it: anyone holding a node's sign.pub checks a parent's copy against
-- what the node itself said (`vigilctl audit checkpoints --key-file`), and
-- a copy rewritten at its holder, however consistently, no longer matches.
-- Kept like the log: append-only, even for the daemon's role.
CREATE TABLE audit_checkpoints (
    node_id     text NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 1),
    hash        bytea NOT NULL CHECK (length(hash) = 32),
    signed_at   timestamptz NOT NULL,
    signature   bytea NOT NULL CHECK (length(signature) = 64),
    via         text,                        -- the child it came through; NULL: this node's own
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node_id, seq)
);

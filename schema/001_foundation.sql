-- 001: the federation. Platform nodes (Art 3, 12: city, district, station),
-- enrolment of child nodes, and reliable delivery (DESIGN.md "Delivery"):
-- a transactional outbox per peer, and the last sequence applied from each
-- peer. Rules live here, where the data lives: sequence order is checked
-- inside the applying transaction, so nothing is applied twice even if the
-- daemon misbehaves.

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

-- Outgoing changes, per destination peer (the parent, or a child).
CREATE TABLE outbox (
    peer_id    text NOT NULL,
    seq        bigint NOT NULL,
    change     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (peer_id, seq)
);
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

-- Append changes for PEER in order; returns the last sequence given.
CREATE FUNCTION outbox_append(p_peer text, p_changes bytea[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first bigint;
    n int := coalesce(array_length(p_changes, 1), 0);
BEGIN
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox_seq AS s (peer_id, last_seq) VALUES (p_peer, n)
        ON CONFLICT (peer_id) DO UPDATE SET last_seq = s.last_seq + n
        RETURNING s.last_seq - n + 1 INTO first;
    INSERT INTO outbox (peer_id, seq, change)
        SELECT p_peer, first + u.i - 1, u.change FROM unnest(p_changes) WITH ORDINALITY AS u(change, i);
    RETURN first + n - 1;
END $$;

-- Accept sequences FIRST..LAST from PEER: they must follow exactly what was
-- applied before, in the same epoch. Called first in every applying
-- transaction; an exception aborts the whole transaction.
CREATE FUNCTION link_accept(p_peer text, p_epoch text, p_first bigint, p_last bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE applied_seq SET last_seq = p_last, updated_at = now()
        WHERE peer_id = p_peer AND epoch = p_epoch AND last_seq = p_first - 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sequence % from % (epoch %) does not follow what was applied',
            p_first, p_peer, p_epoch USING ERRCODE = 'VG001';
    END IF;
END $$;

-- A snapshot from PEER begins: forget its sequence, mark what came through it.
CREATE FUNCTION snapshot_begin(p_peer text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM applied_seq WHERE peer_id = p_peer;
    UPDATE nodes SET snapshot_mark = true WHERE via = p_peer;
END $$;

-- The snapshot ended at SEQ: remove what it did not contain (returning the
-- removed node IDs so they can be forwarded as removals) and continue after SEQ.
CREATE FUNCTION snapshot_end(p_peer text, p_epoch text, p_seq bigint)
RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO applied_seq (peer_id, epoch, last_seq) VALUES (p_peer, p_epoch, p_seq)
        ON CONFLICT (peer_id) DO UPDATE SET epoch = p_epoch, last_seq = p_seq, updated_at = now();
    RETURN QUERY DELETE FROM nodes WHERE via = p_peer AND snapshot_mark RETURNING id;
END $$;

-- Apply a node's state learned through child VIA. Takes only newer versions
-- (a snapshot item always clears its mark). If it changed anything and this
-- node has a parent, the same change bytes go into the uplink outbox in the
-- same transaction (store and forward). Returns whether it changed.
CREATE FUNCTION node_state_apply(p_via text, p_id text, p_parent text, p_tier text,
        p_name text, p_online boolean, p_last_seen timestamptz, p_version bigint,
        p_change bytea, p_uplink text, p_snapshot boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
BEGIN
    INSERT INTO nodes AS n (id, parent_id, tier, name, online, last_seen, version, via)
        VALUES (p_id, p_parent, p_tier, p_name, p_online, p_last_seen, p_version, p_via)
        ON CONFLICT (id) DO UPDATE SET parent_id = EXCLUDED.parent_id, tier = EXCLUDED.tier,
            name = EXCLUDED.name, online = EXCLUDED.online, last_seen = EXCLUDED.last_seen,
            version = EXCLUDED.version, via = EXCLUDED.via, snapshot_mark = false
        WHERE n.version < EXCLUDED.version
        RETURNING true INTO changed;
    changed := coalesce(changed, false);
    IF p_snapshot AND NOT changed THEN
        UPDATE nodes SET snapshot_mark = false WHERE id = p_id AND via = p_via;
    END IF;
    IF changed AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN changed;
END $$;

-- Remove a node learned through VIA (and forward the removal).
CREATE FUNCTION node_remove_apply(p_via text, p_id text, p_change bytea, p_uplink text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM nodes WHERE id = p_id AND via = p_via;
    IF FOUND AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN FOUND;
END $$;

-- This node observed its direct child's link going up or down.
CREATE FUNCTION node_observe(p_id text, p_online boolean, p_last_seen timestamptz,
        p_version bigint, p_change bytea, p_uplink text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    UPDATE nodes SET online = p_online, last_seen = coalesce(p_last_seen, last_seen), version = p_version
        WHERE id = p_id AND version < p_version
          AND (online IS DISTINCT FROM p_online OR last_seen IS DISTINCT FROM p_last_seen);
    IF FOUND AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN FOUND;
END $$;

-- `vigilctl node enroll`: admit a direct child's key, and tell the parent.
CREATE FUNCTION node_enroll(p_id text, p_parent text, p_tier text, p_name text, p_key text,
        p_version bigint, p_change bytea, p_uplink text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO nodes (id, parent_id, tier, name, public_key, enrolled_at, version)
        VALUES (p_id, p_parent, p_tier, p_name, p_key, now(), p_version)
        ON CONFLICT (id) DO UPDATE SET parent_id = EXCLUDED.parent_id, tier = EXCLUDED.tier,
            name = EXCLUDED.name, public_key = EXCLUDED.public_key, enrolled_at = now(),
            version = EXCLUDED.version, via = NULL;
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
END $$;

-- federation: this node, the platform nodes it knows (Art 3, 12: city,
-- district, station), enrolment of child nodes, and reliable delivery
-- (DESIGN.md "Delivery"): the transactional outbox per peer, the sequence
-- check on what a peer sends, and snapshots. Rules live here, where the
-- data lives: sequence order is checked inside the applying transaction,
-- so nothing is applied twice even if the daemon misbehaves.

-- This node's ID, so triggers and functions know which rows are its own.
-- PL/pgSQL, not SQL: it reads a table, so as an SQL function it was never
-- inlined, and every statement that called it parsed and planned its body
-- again (a station's emergency order went through four such calls).
-- PL/pgSQL keeps the plan for the session.
CREATE OR REPLACE FUNCTION vigil_self() RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT value FROM node_settings WHERE key = 'node_id');
END $$;

-- Is this node a station? Its centre code's grassroots-unit pair is not
-- 00 (DESIGN.md "Identity and tiers"). A database no vigild has started
-- on yet (no node ID) is not: it holds nothing a station alone may hold.
CREATE OR REPLACE FUNCTION vigil_self_is_station() RETURNS boolean
LANGUAGE sql STABLE
RETURN coalesce(substr(vigil_self(), 7, 2) <> '00', false);

-- The prefix of a node ID: its centre code without trailing "00" pairs
-- (DESIGN.md "Identity and tiers"); a camera is under a node if its ID
-- starts with the node's prefix. (016's unique index of one node per
-- centre code spells the same expression out: an index on this function
-- would go stale, unnoticed, if the function changed.)
CREATE OR REPLACE FUNCTION vigil_prefix(id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN substr(id, 7, 2) <> '00' THEN substr(id, 1, 8)
            WHEN substr(id, 5, 2) <> '00' THEN substr(id, 1, 6)
            ELSE substr(id, 1, 4) END;

-- The tier a node ID's centre code encodes (lib/base/nodeid.c
-- nodeid_tier): NULL for a code that fits none (a province, a grassroots
-- unit without a district).
CREATE OR REPLACE FUNCTION vigil_tier(id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN substr(id, 1, 2) = '00' OR substr(id, 3, 2) = '00' THEN NULL
            WHEN substr(id, 5, 2) = '00' AND substr(id, 7, 2) <> '00' THEN NULL
            WHEN substr(id, 7, 2) <> '00' THEN 'station'
            WHEN substr(id, 5, 2) <> '00' THEN 'district'
            ELSE 'city' END;

-- Is P_ID a platform node strictly below node P_ABOVE: of a lower tier
-- and under its prefix (nodeid_check_below)? Never P_ABOVE itself nor
-- another node of its centre code; nothing is below a station (issue 17,
-- fault 6: what a child may announce).
CREATE OR REPLACE FUNCTION vigil_node_below(p_id text, p_above text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(substr(p_id, 11, 3) = '200' AND vigil_tier(p_id) IS NOT NULL AND vigil_tier(p_above) IS NOT NULL
                AND length(vigil_prefix(p_id)) > length(vigil_prefix(p_above))
                AND left(p_id, length(vigil_prefix(p_above))) = vigil_prefix(p_above), false);

-- Versions (issue 17, fault 4). A replica keeps the newer version of a
-- row, so a revocation, a deactivation, an unconferral or an emergency's
-- end counts only if its version is above the one it replaces. The wall
-- clock alone is no such order: stepped back (NTP, a VM restored, an
-- operator), every replica ignored what this node decided next. So a
-- version is a hybrid logical clock: the wall clock in microseconds
-- (versions stay near the time, for a reader) or, if that is not above
-- the last one issued, the last one + 1; the last one is kept in
-- version_clock (016) and moved in the transaction that uses the version,
-- so it holds across restarts and a transaction that rolls back takes
-- its version back with it. One row: the versions of one origin are one
-- sequence, whatever kind they stamp. It is also a lock: transactions
-- that issue versions commit in the order of their versions.
CREATE OR REPLACE FUNCTION next_version() RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    INSERT INTO version_clock AS v (only_row, last)
        VALUES (true, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
        ON CONFLICT (only_row) DO UPDATE SET last = greatest(EXCLUDED.last, v.last + 1)
        RETURNING v.last;
$$;

-- vigild stamps most versions itself, as it encodes a change before the
-- transaction that writes it (lib/base/vtime.c): it reserves versions up
-- to P_UPTO here ahead of issuing them, and starts, after a restart,
-- above the last reserved, so its versions too never go back. Never
-- moves the clock back; returns the last version reserved or issued.
CREATE OR REPLACE FUNCTION version_reserve(p_upto bigint) RETURNS bigint
LANGUAGE sql VOLATILE AS $$
    INSERT INTO version_clock AS v (only_row, last) VALUES (true, p_upto)
        ON CONFLICT (only_row) DO UPDATE SET last = greatest(EXCLUDED.last, v.last)
        RETURNING v.last;
$$;

-- Append changes for PEER in order, as one outbox row (see the outbox
-- table for why a row holds a batch); returns the last sequence.
CREATE OR REPLACE FUNCTION outbox_append(p_peer text, p_changes bytea[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    last bigint;
    n int := coalesce(array_length(p_changes, 1), 0);
BEGIN
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO outbox_seq AS s (peer_id, last_seq) VALUES (p_peer, n)
        ON CONFLICT (peer_id) DO UPDATE SET last_seq = s.last_seq + n
        RETURNING s.last_seq INTO last;
    INSERT INTO outbox (peer_id, last_seq, seq, changes) VALUES (p_peer, last, last - n + 1, p_changes);
    RETURN last;
END $$;

-- Accept sequences FIRST..LAST from PEER: they must follow exactly what was
-- applied before, in the same epoch. Called first in every applying
-- transaction; an exception aborts the whole transaction.
CREATE OR REPLACE FUNCTION link_accept(p_peer text, p_epoch text, p_first bigint, p_last bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE applied_seq SET last_seq = p_last, updated_at = now()
        WHERE peer_id = p_peer AND epoch = p_epoch AND last_seq = p_first - 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sequence % from % (epoch %) does not follow what was applied',
            p_first, p_peer, p_epoch USING ERRCODE = 'VG001';
    END IF;
END $$;

-- A snapshot from child P_PEER begins: what was applied from it no longer
-- counts. (vigild marks, in the same transaction, the rows of every table
-- that came through the child: each snapshot section names its table, so a
-- new replicated table needs nothing here.)
CREATE OR REPLACE FUNCTION snapshot_begin(p_peer text) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM applied_seq WHERE peer_id = p_peer;
$$;

-- The snapshot ended at P_SEQ: deltas continue after it. (vigild removes,
-- in the same transaction, what is still marked and forwards the removals.)
CREATE OR REPLACE FUNCTION snapshot_end(p_peer text, p_epoch text, p_seq bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO applied_seq (peer_id, epoch, last_seq) VALUES (p_peer, p_epoch, p_seq)
        ON CONFLICT (peer_id) DO UPDATE SET epoch = p_epoch, last_seq = p_seq, updated_at = now();
$$;

-- Apply a node's state learned through child VIA. Takes only newer versions
-- (a snapshot item always clears its mark). If it changed anything and this
-- node has a parent, the same change bytes go into the uplink outbox in the
-- same transaction (store and forward). Returns whether it changed.
CREATE OR REPLACE FUNCTION node_state_apply(p_via text, p_id text, p_parent text, p_tier text,
        p_name text, p_online boolean, p_last_seen timestamptz, p_version bigint,
        p_change bytea, p_uplink text, p_snapshot boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
    twin nodes;
BEGIN
    -- A child announces only nodes strictly below itself, of a lower tier,
    -- each of its own centre code (issue 17, fault 6): vigild refuses any
    -- other first (delivery/tree.c); here the rule is where the data is.
    IF NOT coalesce(vigil_node_below(p_id, p_via) AND p_tier = vigil_tier(p_id)
                    AND (p_parent = p_via OR vigil_node_below(p_parent, p_via))
                    AND vigil_node_below(p_id, p_parent)
                    AND length(vigil_prefix(p_id)) = length(vigil_prefix(p_parent)) + 2, false) THEN
        RAISE EXCEPTION 'node state of % (parent %, tier %) refused: % may announce only nodes below itself, '
                        'of a lower tier, under their own parent', p_id, p_parent, p_tier, p_via
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT * INTO twin FROM nodes WHERE id <> p_id AND vigil_prefix(id) = vigil_prefix(p_id);
    IF FOUND THEN
        -- What the child's own snapshot replaces (it held the code under
        -- another ID before): it would go at the snapshot's end. Only the
        -- city takes a snapshot holding nodes (a station's holds none),
        -- so no removal is owed to a tier above.
        IF p_snapshot AND twin.via = p_via AND twin.snapshot_mark THEN
            DELETE FROM nodes WHERE id = twin.id;
        ELSE
            RAISE EXCEPTION 'node state of % refused: centre code % is already node %''s (%): one node per '
                            'centre code', p_id, vigil_prefix(p_id), twin.id, twin.name
                USING ERRCODE = 'unique_violation';
        END IF;
    END IF;
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

-- Removal purges (issue 15, Deliver 6): the officers and delegations that
-- came through a child P_NODE (every unit at or below it) end here when it
-- is removed or re-keyed, and the powers conferred here on them are
-- revoked (a newer version, which conferral_dispatch sends down: a
-- re-keyed child drops them too). Nothing of theirs is admitted after the
-- next roster load (within 2 s); the access log keeps their names. A
-- re-keyed child sends its officers again in a fresh snapshot, from the
-- server that holds the new key; their powers are conferred again. Returns
-- how many rows ended.
CREATE OR REPLACE FUNCTION officer_purge(p_node text, p_actor text, p_why text) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    pre text := vigil_prefix(p_node);
    n_officers integer;
    n_delegations integer;
    n_conferrals integer;
BEGIN
    DELETE FROM officers WHERE via IS NOT NULL AND (unit = p_node OR left(unit, length(pre)) = pre);
    GET DIAGNOSTICS n_officers = ROW_COUNT;
    DELETE FROM delegations WHERE via IS NOT NULL AND (unit = p_node OR left(unit, length(pre)) = pre);
    GET DIAGNOSTICS n_delegations = ROW_COUNT;
    UPDATE conferrals SET state = 'revoked', updated_at = now(),
        version = greatest(version + 1, next_version())
        WHERE via IS NULL AND state <> 'revoked' AND (unit = p_node OR left(unit, length(pre)) = pre);
    GET DIAGNOSTICS n_conferrals = ROW_COUNT;
    IF n_officers + n_delegations + n_conferrals > 0 THEN
        PERFORM audit_append(p_actor, 'officer.purge', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                             format('%s %s: %s officer(s), %s delegation(s), %s conferral(s) of it and below ended',
                                    p_node, p_why, n_officers, n_delegations, n_conferrals));
    END IF;
    RETURN n_officers + n_delegations + n_conferrals;
END $$;

-- Remove a node learned through VIA (and forward the removal); its
-- officers and delegations go with it (officer_purge).
CREATE OR REPLACE FUNCTION node_remove_apply(p_via text, p_id text, p_change bytea, p_uplink text)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT vigil_node_below(p_id, p_via) THEN
        RAISE EXCEPTION 'node removed of % refused: % may remove only nodes below itself', p_id, p_via
            USING ERRCODE = 'check_violation';
    END IF;
    DELETE FROM nodes WHERE id = p_id AND via = p_via;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM officer_purge(p_id, p_via, 'removed below');
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN true;
END $$;

-- This node observed its direct child's link going up or down.
CREATE OR REPLACE FUNCTION node_observe(p_id text, p_online boolean, p_last_seen timestamptz,
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
--
-- A child enrolled again with another key (the old one leaked) is
-- re-keyed (another CURVE or signing key): what came through it under the old key may be anyone's, so its
-- officers, delegations and conferrals end here (officer_purge), it must
-- send a fresh snapshot (its applied sequence is forgotten: the next Hello
-- is answered "no state"), and the tiers above purge too: P_REMOVED (a
-- NodeRemoved of it, encoded by vigild) goes up before P_CHANGE, whose
-- NodeState brings the node back there.
CREATE OR REPLACE FUNCTION node_enroll(p_id text, p_parent text, p_tier text, p_name text, p_key text,
        p_sign_key text, p_version bigint, p_change bytea, p_uplink text, p_removed bytea, p_actor text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old_key text;
    old_sign text;
    twin nodes;
BEGIN
    -- One node per centre code: authority, routing and ownership go by
    -- prefix, so a second node under a code already held would share the
    -- first one's cameras, grants and powers (a city admin enrolling a
    -- "district" of yuelu's code could confer a principal over yuelu's
    -- cameras alone; issue 15, Art 19).
    -- Issue 17, fault 6: nor one that overlaps a code held, a node under
    -- the new code known through another child (or none); the unique index
    -- nodes_one_per_centre_code (016) holds it against a race. The child
    -- sits directly under this node (vigild checks it first, nodectl.c).
    IF NOT coalesce(p_parent = vigil_self() AND p_tier = vigil_tier(p_id) AND vigil_node_below(p_id, p_parent)
                    AND length(vigil_prefix(p_id)) = length(vigil_prefix(p_parent)) + 2, false) THEN
        RAISE EXCEPTION 'node % (%) is not a direct child of % here', p_id, p_tier, vigil_self()
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT * INTO twin FROM nodes n
        WHERE n.id <> p_id AND left(n.id, length(vigil_prefix(p_id))) = vigil_prefix(p_id)
          AND (vigil_prefix(n.id) = vigil_prefix(p_id) OR n.via IS DISTINCT FROM p_id)
        ORDER BY length(vigil_prefix(n.id)), n.id LIMIT 1;
    IF FOUND AND vigil_prefix(twin.id) = vigil_prefix(p_id) THEN
        RAISE EXCEPTION 'centre code % is already node %''s (%): one node per centre code (remove it first)',
            vigil_prefix(p_id), twin.id, twin.name;
    ELSIF FOUND THEN
        RAISE EXCEPTION 'centre code % overlaps node % (%), known here through %: one node per centre code',
            vigil_prefix(p_id), twin.id, twin.name, coalesce(twin.via, 'no child');
    END IF;
    SELECT public_key, sign_key INTO old_key, old_sign FROM nodes WHERE id = p_id AND via IS NULL;
    IF (old_key IS NOT NULL AND old_key <> p_key)
       OR (old_sign IS NOT NULL AND old_sign <> lower(p_sign_key)) THEN
        PERFORM officer_purge(p_id, p_actor, 're-keyed');
        DELETE FROM applied_seq WHERE peer_id = p_id;
        IF p_uplink IS NOT NULL AND p_removed IS NOT NULL THEN
            PERFORM outbox_append(p_uplink, ARRAY[p_removed]);
        END IF;
    END IF;
    INSERT INTO nodes (id, parent_id, tier, name, public_key, sign_key, enrolled_at, version)
        VALUES (p_id, p_parent, p_tier, p_name, p_key, lower(p_sign_key), now(), p_version)
        ON CONFLICT (id) DO UPDATE SET parent_id = EXCLUDED.parent_id, tier = EXCLUDED.tier,
            name = EXCLUDED.name, public_key = EXCLUDED.public_key, sign_key = EXCLUDED.sign_key,
            enrolled_at = now(), version = EXCLUDED.version, via = NULL;
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
END $$;

-- Signed decisions (issue 15, Art 19): the chain of signing keys from the
-- city down to this node, checked by vigild (lib/wire/trust.c) before it
-- calls this, replaces the one held. A chain that replaces another (an
-- ancestor re-keyed) goes on record; the first one a node gets does not.
CREATE OR REPLACE FUNCTION trust_chain_keep(p_from text, p_nodes text[], p_keys bytea[], p_signers text[],
        p_signatures bytea[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    held text;
BEGIN
    SELECT string_agg(node_id || ':' || encode(sign_key, 'hex'), ',' ORDER BY position) INTO held FROM trust_chain;
    DELETE FROM trust_chain;
    INSERT INTO trust_chain (position, node_id, sign_key, signer, signature)
        SELECT k, p_nodes[k], p_keys[k], p_signers[k], p_signatures[k]
        FROM generate_subscripts(p_nodes, 1) AS k;
    IF held IS NOT NULL AND held IS DISTINCT FROM
            (SELECT string_agg(node_id || ':' || encode(sign_key, 'hex'), ',' ORDER BY position) FROM trust_chain) THEN
        PERFORM audit_append(format('node:%s', p_from), 'keys.chain', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                             format('signing keys changed: %s, as %s sent them (were %s)',
                                    array_to_string(p_nodes, ','), p_from, held));
    END IF;
END $$;

-- A signed decision's bytes (a grant, an order, a conferral), kept if
-- newer than the one held: what a child's snapshot gets (011).
CREATE OR REPLACE FUNCTION signed_change_keep(p_kind text, p_id text, p_version bigint, p_change bytea)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO signed_changes AS s (kind, id, version, change) VALUES (p_kind, p_id, p_version, p_change)
        ON CONFLICT (kind, id) DO UPDATE SET version = EXCLUDED.version, change = EXCLUDED.change,
            kept_at = now()
        WHERE s.version < EXCLUDED.version;
$$;

-- `vigilctl node remove`: a child platform removed at its parent, a
-- station closed or merged into another, or a server that must not be let
-- in again (stolen, its key leaked, no new key to give it).
--
-- Only what the child itself registered is a reason to refuse: its sites,
-- systems and cameras are records of systems that exist (Art 17, 18: they
-- are moved or removed at the station, removal filed, before the platform
-- goes), and a district's stations are removed first. What is kept: the
-- copies of its access log (Art 23(5)), its emergency reports and
-- everything logged about it. What goes: its enrolment (its key is refused
-- from the next message on, lib/node.c), its row, what waited in the
-- outbox for it and the sequence applied from it. The removal travels up
-- (NodeRemoved), so the city forgets it too.
CREATE OR REPLACE FUNCTION node_decommission(p_actor text, p_id text, p_reason text, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
DECLARE
    self text := vigil_self();
    n nodes;
    below integer;
    sites_n integer;
    systems_n integer;
    cameras_n integer;
BEGIN
    SELECT * INTO n FROM nodes WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR n.parent_id IS DISTINCT FROM self OR n.via IS NOT NULL OR n.public_key IS NULL THEN
        RETURN access_refuse(p_actor, 'node.remove', NULL,
                             format('%s is not a child platform enrolled here', p_id), NULL);
    END IF;
    IF coalesce(p_reason, '') = '' THEN
        RETURN access_refuse(p_actor, 'node.remove', NULL, 'a removal needs a reason (it goes in the access log)',
                             NULL);
    END IF;
    SELECT count(*) INTO below FROM nodes WHERE parent_id = p_id;
    IF below > 0 THEN
        RETURN access_refuse(p_actor, 'node.remove', NULL,
                             format('%s (%s) still has %s platform(s) under it: remove them first', p_id, n.name,
                                    below), NULL);
    END IF;
    SELECT count(*) INTO sites_n FROM sites WHERE station_id = p_id;
    SELECT count(*) INTO systems_n FROM systems WHERE station_id = p_id;
    SELECT count(*) INTO cameras_n FROM cameras WHERE station_id = p_id;
    IF sites_n + systems_n + cameras_n > 0 THEN
        RETURN access_refuse(p_actor, 'node.remove', 'Art 18',
                             format('Art 18: %s (%s) still registers %s site(s), %s system(s), %s camera(s): they '
                                    'are moved or removed at the station first (removal filed)', p_id, n.name,
                                    sites_n, systems_n, cameras_n), NULL);
    END IF;
    PERFORM officer_purge(p_id, p_actor, 'removed');
    DELETE FROM nodes WHERE id = p_id;
    DELETE FROM outbox WHERE peer_id = p_id;
    DELETE FROM applied_seq WHERE peer_id = p_id;
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    PERFORM audit_append(p_actor, 'node.remove', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('%s (%s): %s', p_id, n.name, p_reason));
    RETURN ROW(true, NULL, NULL, 'removed')::access_answer;
END $$;

-- Link probes (`vigilctl link probe`): apply a batch of probes from child
-- VIA (they must come from VIA itself).
CREATE OR REPLACE FUNCTION link_probe_apply(p_via text, p_probe_ids bigint[], p_numbers bigint[],
        p_sent_us bigint[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO link_probes (origin, probe_id, number, sent_at)
        SELECT p_via, i, n, to_timestamp(s / 1000000.0)
        FROM unnest(p_probe_ids, p_numbers, p_sent_us) AS u(i, n, s)
        ON CONFLICT DO NOTHING;
$$;

-- --- Dead letters (issue 17, known fault 1; 015_dead_letters.sql) ---------
--
-- Change P_SEQ of peer P_PEER (epoch P_EPOCH), P_CHANGE as it came, cannot
-- be applied for P_REASON: keep it, in the transaction that consumes its
-- sequence number (vigild adds link_accept), and record it on the access
-- log, whose records go up the tree like every node's (the alarm the
-- ancestors see). Held again at the same position (a retry that failed the
-- same way), the row says so instead of a second one. Returns its ID.
CREATE OR REPLACE FUNCTION dead_letter_hold(p_peer text, p_epoch text, p_seq bigint, p_change bytea,
        p_kind text, p_reason text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    held_id bigint;
BEGIN
    INSERT INTO dead_letters AS d (peer_id, epoch, seq, change, kind, reason)
        VALUES (p_peer, p_epoch, p_seq, p_change, p_kind, left(coalesce(p_reason, 'no reason given'), 1000))
        ON CONFLICT (peer_id, epoch, seq) DO UPDATE SET reason = EXCLUDED.reason, refused_again_at = now()
        RETURNING d.id INTO held_id;
    PERFORM audit_append(p_peer, 'deadletter.hold', 'refused', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('dead letter %s: change %s of %s (epoch %s, %s) not applied: %s', held_id, p_seq,
                                p_peer, p_epoch, coalesce(p_kind, 'a kind unknown here'), p_reason));
    RETURN held_id;
END $$;

-- Dead letter P_ID, held, about to be applied again (`deadletter retry`,
-- in the transaction that applies its bytes, after them) by P_BY: it is
-- retried now. Raises (so nothing of the retry commits) if it is not held
-- any more, or if applying it was refused again (dead_letter_hold, above,
-- in this transaction).
CREATE OR REPLACE FUNCTION dead_letter_retried(p_id bigint, p_by text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d dead_letters;
BEGIN
    SELECT * INTO d FROM dead_letters WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no dead letter %', p_id USING ERRCODE = 'VGDL1';
    END IF;
    IF d.state <> 'held' THEN
        RAISE EXCEPTION 'dead letter % is already %', p_id, d.state USING ERRCODE = 'VGDL1';
    END IF;
    IF d.refused_again_at = now() THEN
        RAISE EXCEPTION 'dead letter %: refused again: %', p_id, d.reason USING ERRCODE = 'VGDL1';
    END IF;
    UPDATE dead_letters SET state = 'retried', decided_by = p_by, decided_at = now() WHERE id = p_id;
    PERFORM audit_append(p_by, 'deadletter.retry', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('dead letter %s (change %s of %s, %s) applied', p_id, d.seq, d.peer_id,
                                coalesce(d.kind, 'a kind unknown here')));
END $$;

-- An admin (P_BY) gives dead letter P_ID up, for P_REASON: it stays, as
-- discarded, and the access log says who and why.
CREATE OR REPLACE FUNCTION dead_letter_discard(p_id bigint, p_by text, p_reason text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d dead_letters;
BEGIN
    IF coalesce(btrim(p_reason), '') = '' THEN
        RAISE EXCEPTION 'a discard needs a reason (--reason TEXT)' USING ERRCODE = 'VGDL1';
    END IF;
    SELECT * INTO d FROM dead_letters WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no dead letter %', p_id USING ERRCODE = 'VGDL1';
    END IF;
    IF d.state <> 'held' THEN
        RAISE EXCEPTION 'dead letter % is already %', p_id, d.state USING ERRCODE = 'VGDL1';
    END IF;
    UPDATE dead_letters SET state = 'discarded', decided_by = p_by, decided_at = now(), decision = p_reason
        WHERE id = p_id;
    PERFORM audit_append(p_by, 'deadletter.discard', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('dead letter %s (change %s of %s, %s: %s) discarded: %s', p_id, d.seq, d.peer_id,
                                coalesce(d.kind, 'a kind unknown here'), d.reason, p_reason));
END $$;

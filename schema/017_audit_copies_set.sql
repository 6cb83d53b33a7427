-- 017: a child's access-log records applied as a set. One audit_copy_apply
-- call per record (two lookups, an insert, an outbox row) was the costliest
-- thing a district and the city did under an emergency: a station logs
-- each linkage and each unlinking (Art 13, 23(5)), some 2,000 records per
-- emergency over a city of 100 stations, each applied at its district and
-- again at the city (tests/bench/emergency-fanout).
--
-- audit_copies_apply takes a batch as one array per field, in the order
-- received. When the batch simply extends what is held (per node: the
-- first record follows the last copy held, or none is held yet, and each
-- next one follows the one before, by seq and hash) it is stored by one
-- INSERT and forwarded by one outbox append. Anything else (a duplicate, a
-- gap, a fork) goes record by record through audit_copy_apply, which
-- decides and raises alarms exactly as before. Returns whether the batch
-- went as a set.

CREATE FUNCTION audit_copies_apply(p_via text, p_uplink text, p_node text[], p_seq bigint[], p_at_us bigint[],
        p_actor text[], p_action text[], p_outcome text[], p_article text[], p_camera text[], p_purpose text[],
        p_destination text[], p_request_id text[], p_emergency_id text[], p_detail text[], p_prev bytea[],
        p_hash bytea[], p_change bytea[]) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    extends boolean;
    i integer;
BEGIN
    SELECT bool_and(CASE WHEN b.rn = 1 THEN h.seq IS NULL OR (b.seq = h.seq + 1 AND b.prev = h.hash)
                         ELSE b.seq = b.pseq + 1 AND b.prev = b.phash END)
        INTO extends
        FROM (SELECT u.node, u.seq, u.prev, row_number() OVER w AS rn, lag(u.seq) OVER w AS pseq,
                     lag(u.hash) OVER w AS phash
              FROM unnest(p_node, p_seq, p_prev, p_hash) WITH ORDINALITY AS u(node, seq, prev, hash, i)
              WINDOW w AS (PARTITION BY u.node ORDER BY u.i)) b
        LEFT JOIN LATERAL (SELECT c.seq, c.hash FROM audit_copies c WHERE c.node_id = b.node
                           ORDER BY c.seq DESC LIMIT 1) h ON b.rn = 1;
    IF coalesce(extends, true) THEN
        INSERT INTO audit_copies (node_id, seq, at, actor, action, outcome, article, camera, purpose, destination,
                                  request_id, emergency_id, detail, prev_hash, hash, via)
            SELECT u.node, u.seq, timestamptz 'epoch' + u.at_us * interval '1 microsecond', u.actor, u.action,
                   u.outcome, u.article, u.camera, u.purpose, u.destination, u.request_id, u.emergency_id,
                   u.detail, u.prev, u.hash, p_via
            FROM unnest(p_node, p_seq, p_at_us, p_actor, p_action, p_outcome, p_article, p_camera, p_purpose,
                        p_destination, p_request_id, p_emergency_id, p_detail, p_prev, p_hash)
                 AS u(node, seq, at_us, actor, action, outcome, article, camera, purpose, destination,
                      request_id, emergency_id, detail, prev, hash);
        IF p_uplink IS NOT NULL AND cardinality(p_change) > 0 THEN
            PERFORM outbox_append(p_uplink, p_change);
        END IF;
        RETURN true;
    END IF;
    FOR i IN 1 .. cardinality(p_node) LOOP
        PERFORM audit_copy_apply(p_via, p_uplink, p_node[i], p_seq[i],
                                 timestamptz 'epoch' + p_at_us[i] * interval '1 microsecond', p_actor[i],
                                 p_action[i], p_outcome[i], p_article[i], p_camera[i], p_purpose[i],
                                 p_destination[i], p_request_id[i], p_emergency_id[i], p_detail[i], p_prev[i],
                                 p_hash[i], p_change[i]);
    END LOOP;
    RETURN false;
END $$;

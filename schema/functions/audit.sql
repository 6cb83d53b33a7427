-- audit: the access log (Art 23(5)). One record per access and per step of
-- the access workflow, refusals included, hash-chained per node
-- (DESIGN.md "Audit") and computed here, in the inserting transaction, so
-- no writer can skip it. The log is append-only, even for the daemon's
-- role; it travels up to the parent, where copies are checked for forks
-- and gaps; signed checkpoints vouch for it.

-- The canonical bytes of a record in form P_FORM (the record's form
-- column, migration 017): every field, in order; the time in microseconds
-- since the epoch, so that the text form of a timestamp never changes a
-- hash.
--   Form 1 (records written before 017): the fields unit-separated (0x1f),
--   NULL as "". Ambiguous: NULL and "" hash alike, and a 0x1f inside a
--   field moves a boundary. Kept so that those records verify as hashed.
--   Form 2: "vigil-audit-2" 0x00, then each field as its length in bytes
--   (4, big-endian) and its UTF-8 bytes, NULL as the length ffffffff and
--   no bytes: one record, one byte string (issue 17, small ones).
-- lib/wire/checkpoint.c (checkpoint_record_hash) computes the same bytes;
-- tests/unit/test_audit_form.c checks that the two agree.
CREATE OR REPLACE FUNCTION audit_field(p text) RETURNS bytea
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN p IS NULL THEN '\xffffffff'::bytea
            ELSE int4send(octet_length(convert_to(p, 'UTF8'))) || convert_to(p, 'UTF8') END;

CREATE OR REPLACE FUNCTION audit_canonical_fields(p_form smallint, p_seq bigint, p_at timestamptz, p_node text,
        p_actor text, p_action text, p_outcome text, p_article text, p_camera text, p_purpose text,
        p_destination text, p_request_id text, p_emergency_id text, p_detail text) RETURNS bytea
LANGUAGE sql STABLE
RETURN CASE WHEN p_form = 1 THEN
    convert_to(concat_ws(E'\x1f', p_seq::text, (extract(epoch FROM p_at) * 1000000)::bigint::text, p_node, p_actor,
                         p_action, p_outcome, coalesce(p_article, ''), coalesce(p_camera, ''),
                         coalesce(p_purpose, ''), coalesce(p_destination, ''), coalesce(p_request_id, ''),
                         coalesce(p_emergency_id, ''), coalesce(p_detail, '')), 'UTF8')
ELSE
    convert_to('vigil-audit-2', 'UTF8') || '\x00'::bytea || audit_field(p_seq::text)
    || audit_field((extract(epoch FROM p_at) * 1000000)::bigint::text) || audit_field(p_node)
    || audit_field(p_actor) || audit_field(p_action) || audit_field(p_outcome) || audit_field(p_article)
    || audit_field(p_camera) || audit_field(p_purpose) || audit_field(p_destination)
    || audit_field(p_request_id) || audit_field(p_emergency_id) || audit_field(p_detail)
END;

CREATE OR REPLACE FUNCTION audit_canonical(r audit_log) RETURNS bytea
LANGUAGE sql STABLE
RETURN audit_canonical_fields(r.form, r.seq, r.at, r.node_id, r.actor, r.action, r.outcome, r.article, r.camera,
                              r.purpose, r.destination, r.request_id, r.emergency_id, r.detail);

-- Chain each new record to the head: its seq, its time at microsecond
-- precision, prev_hash and hash = SHA-256(prev_hash || canonical record).
CREATE OR REPLACE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h audit_head;
BEGIN
    SELECT * INTO h FROM audit_head FOR UPDATE;
    NEW.seq := h.seq + 1;
    NEW.at := coalesce(NEW.at, clock_timestamp());
    -- Microsecond precision is what the canonical form keeps.
    NEW.at := date_trunc('microseconds', NEW.at);
    NEW.node_id := coalesce(NEW.node_id, vigil_self());
    -- Every new record in the unambiguous form, whatever the INSERT said.
    NEW.form := 2;
    NEW.prev_hash := h.hash;
    NEW.hash := sha256(h.hash || audit_canonical(NEW));
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER audit_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_chain();

-- Append-only: nothing is changed or removed, not even by the daemon (the
-- log, its head, the copies of the logs below, the checkpoints). TRUNCATE
-- fires no DELETE trigger, hence a statement trigger for it too.
CREATE OR REPLACE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Art 23(5): the access log is append-only (% refused)', TG_OP
        USING ERRCODE = 'VG023';
END $$;
CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_copies_no_update BEFORE UPDATE OR DELETE ON audit_copies
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_copies_no_truncate BEFORE TRUNCATE ON audit_copies
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_checkpoints_no_update BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_forks_no_update BEFORE UPDATE OR DELETE ON audit_forks
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE OR REPLACE TRIGGER audit_forks_no_truncate BEFORE TRUNCATE ON audit_forks
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

-- Append a record; returns its seq. PL/pgSQL, not SQL: PostgreSQL keeps no
-- plan of an SQL function between calls, PL/pgSQL keeps the INSERT's for
-- the session. Every access, linkage and unlinking is logged through it, a
-- record per system an emergency links: as an SQL function it was one of
-- the cluster's costliest statements under an emergency over a city
-- (tests/bench/emergency-fanout).
CREATE OR REPLACE FUNCTION audit_append(p_actor text, p_action text, p_outcome text, p_article text,
        p_camera text, p_purpose text, p_destination text, p_request_id text,
        p_emergency_id text, p_detail text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
BEGIN
    INSERT INTO audit_log (at, node_id, actor, action, outcome, article, camera, purpose, destination,
                           request_id, emergency_id, detail, prev_hash, hash)
    VALUES (NULL, NULL, p_actor, p_action, p_outcome, p_article, p_camera, p_purpose, p_destination,
            p_request_id, p_emergency_id, p_detail, '\x', '\x')
    RETURNING seq INTO s;
    RETURN s;
END $$;

-- Recompute the chain: the first record whose hash or link is wrong (NULL:
-- none), and how many records there are.
CREATE OR REPLACE FUNCTION audit_verify(OUT records bigint, OUT first_bad_seq bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r audit_log;
    prev bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    expect bigint := 1;
    last_form smallint := 1;
BEGIN
    records := 0;
    FOR r IN SELECT * FROM audit_log ORDER BY seq LOOP
        records := records + 1;
        -- A form never goes back: a form-1 record after a form-2 one was
        -- written to be ambiguous.
        IF first_bad_seq IS NULL AND (r.seq <> expect OR r.prev_hash <> prev OR r.form < last_form
                                      OR r.hash <> sha256(prev || audit_canonical(r))) THEN
            first_bad_seq := r.seq;
        END IF;
        prev := r.hash;
        expect := r.seq + 1;
        last_form := greatest(last_form, r.form);
    END LOOP;
END $$;

-- --- Copies of the logs below -------------------------------------------

-- The canonical bytes of a copy, as audit_canonical's of the record.
CREATE OR REPLACE FUNCTION audit_canonical_copy(r audit_copies) RETURNS bytea
LANGUAGE sql STABLE
RETURN audit_canonical_fields(r.form, r.seq, r.at, r.node_id, r.actor, r.action, r.outcome, r.article, r.camera,
                              r.purpose, r.destination, r.request_id, r.emergency_id, r.detail);

-- The form of a copy arriving: the one its hash was made with (a child
-- not yet upgraded sends form 1, an upgraded one form 2; the record does
-- not say). Whatever the INSERT said. A hash that is neither form's is
-- kept as form 2: audit_verify_copy finds it bad. No record hashes alike
-- in both forms (form 2 begins with "vigil-audit-2", form 1 with digits),
-- so choosing by the hash cannot make a form-2 record read as another.
CREATE OR REPLACE FUNCTION audit_copy_form() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.form := 2;
    IF NEW.hash IS DISTINCT FROM sha256(NEW.prev_hash || audit_canonical_copy(NEW)) THEN
        NEW.form := 1;
        IF NEW.hash IS DISTINCT FROM sha256(NEW.prev_hash || audit_canonical_copy(NEW)) THEN
            NEW.form := 2;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER audit_copy_form BEFORE INSERT ON audit_copies
    FOR EACH ROW EXECUTE FUNCTION audit_copy_form();

-- A record of P_NODE that does not extend the copy held here (issue 17,
-- fault 3: a node restored from a backup numbers its log again): kept
-- whole in audit_forks and sent on up like a copy, so that what was done
-- after the restore is held above it too. The alarm is raised once, where
-- the fork begins: a record that extends one kept here is the same fork.
CREATE OR REPLACE FUNCTION audit_fork_keep(p_via text, p_uplink text, p_node text, p_seq bigint, p_at timestamptz,
        p_actor text, p_action text, p_outcome text, p_prev bytea, p_hash bytea, p_change bytea,
        p_detail text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    kept integer;
BEGIN
    INSERT INTO audit_forks (node_id, seq, hash, prev_hash, at, actor, action, outcome, change, via)
        VALUES (p_node, p_seq, p_hash, p_prev, p_at, p_actor, p_action, p_outcome, p_change, p_via)
        ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS kept = ROW_COUNT;
    IF kept = 0 THEN
        RETURN;                                 -- this fork's record again
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_forks f WHERE f.node_id = p_node AND f.seq = p_seq - 1
                   AND f.hash = p_prev) THEN
        INSERT INTO audit_alarms (node_id, seq, kind, detail) VALUES (p_node, p_seq, 'fork', p_detail);
    END IF;
    IF p_uplink IS NOT NULL AND p_change IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
END $$;

-- Keep a child's record if it extends the chain held for its node; if not,
-- keep it as a fork (audit_fork_keep). Stored copies go on up (store and
-- forward).
CREATE OR REPLACE FUNCTION audit_copy_apply(p_via text, p_uplink text, p_node text, p_seq bigint, p_at timestamptz,
        p_actor text, p_action text, p_outcome text, p_article text, p_camera text, p_purpose text,
        p_destination text, p_request_id text, p_emergency_id text, p_detail text, p_prev bytea,
        p_hash bytea, p_change bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    last audit_copies;
    same audit_copies;
BEGIN
    SELECT * INTO same FROM audit_copies WHERE node_id = p_node AND seq = p_seq;
    IF FOUND THEN
        IF same.hash = p_hash THEN
            RETURN 'duplicate';
        END IF;
        PERFORM audit_fork_keep(p_via, p_uplink, p_node, p_seq, p_at, p_actor, p_action, p_outcome, p_prev, p_hash,
                                p_change, format('record %s of %s arrived again with another hash: the log was '
                                                 'rewritten (or restored from a backup); kept as a fork', p_seq, p_node));
        RETURN 'fork';
    END IF;
    -- The next record of a fork kept here: the same fork, not a gap.
    IF EXISTS (SELECT 1 FROM audit_forks f WHERE f.node_id = p_node AND f.seq = p_seq - 1 AND f.hash = p_prev) THEN
        PERFORM audit_fork_keep(p_via, p_uplink, p_node, p_seq, p_at, p_actor, p_action, p_outcome, p_prev, p_hash,
                                p_change, NULL);
        RETURN 'fork';
    END IF;
    SELECT * INTO last FROM audit_copies WHERE node_id = p_node ORDER BY seq DESC LIMIT 1;
    IF FOUND AND (last.seq + 1 <> p_seq) THEN
        INSERT INTO audit_alarms (node_id, seq, kind, detail)
            VALUES (p_node, p_seq, 'gap', format('record %s of %s follows %s', p_seq, p_node, last.seq));
    ELSIF FOUND AND last.hash <> p_prev THEN
        PERFORM audit_fork_keep(p_via, p_uplink, p_node, p_seq, p_at, p_actor, p_action, p_outcome, p_prev, p_hash,
                                p_change, format('record %s of %s does not extend record %s held here: the log was '
                                                 'rewritten (or restored from a backup); kept as a fork', p_seq,
                                                 p_node, last.seq));
        RETURN 'fork';
    END IF;
    INSERT INTO audit_copies (node_id, seq, at, actor, action, outcome, article, camera, purpose, destination,
                              request_id, emergency_id, detail, prev_hash, hash, via)
        VALUES (p_node, p_seq, p_at, p_actor, p_action, p_outcome, p_article, p_camera, p_purpose, p_destination,
                p_request_id, p_emergency_id, p_detail, p_prev, p_hash, p_via);
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN 'stored';
END $$;

-- A child's access-log records applied as a set: a batch as one array per
-- field, in the order received. When the batch simply extends what is held
-- (per node: the first record follows the last copy held, or none is held
-- yet, and each next one follows the one before, by seq and hash) it is
-- stored by one INSERT and forwarded by one outbox append. Anything else (a
-- duplicate, a gap, a fork) goes record by record through
-- audit_copy_apply, which decides and raises alarms. Returns whether the
-- batch went as a set.
--
-- Why a set: one audit_copy_apply call per record (two lookups, an insert,
-- an outbox row) was the costliest thing a district and the city did under
-- an emergency. A station logs each linkage and each unlinking (Art 13,
-- 23(5)), some 2,000 records per emergency over a city of 100 stations,
-- each applied at its district and again at the city
-- (tests/bench/emergency-fanout).
CREATE OR REPLACE FUNCTION audit_copies_apply(p_via text, p_uplink text, p_node text[], p_seq bigint[], p_at_us bigint[],
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

-- Verify the copies held of NODE's log: each record's hash, and the links.
CREATE OR REPLACE FUNCTION audit_verify_copy(p_node text, OUT records bigint, OUT first_bad_seq bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r audit_copies;
    prev bytea;
    last_form smallint := 1;
BEGIN
    records := 0;
    FOR r IN SELECT * FROM audit_copies WHERE node_id = p_node ORDER BY seq LOOP
        records := records + 1;
        IF first_bad_seq IS NULL AND ((prev IS NOT NULL AND r.prev_hash <> prev) OR r.form < last_form
                                      OR r.hash <> sha256(r.prev_hash || audit_canonical_copy(r))) THEN
            first_bad_seq := r.seq;
        END IF;
        prev := r.hash;
        last_form := greatest(last_form, r.form);
    END LOOP;
END $$;

-- --- Signed checkpoints --------------------------------------------------

-- Keep a checkpoint (this node's own: P_VIA NULL) and send it up.
CREATE OR REPLACE FUNCTION audit_checkpoint_keep(p_via text, p_node text, p_seq bigint, p_hash bytea,
        p_signed_at timestamptz, p_signature bytea, p_change bytea, p_uplink text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_checkpoints (node_id, seq, hash, signed_at, signature, via)
        VALUES (p_node, p_seq, p_hash, p_signed_at, p_signature, p_via)
        ON CONFLICT (node_id, seq) DO NOTHING;
    IF FOUND AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN FOUND;
END $$;

-- The latest checkpoints of NODE (this node's own, or a copy held of a node
-- below) with the hash the log or copy held here has at that record.
CREATE OR REPLACE FUNCTION audit_checkpoints_json(p_node text, p_limit integer) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT coalesce(json_agg(x ORDER BY x.seq), '[]'::json) FROM (
            SELECT c.seq, encode(c.hash, 'hex') AS hash,
                   (extract(epoch FROM c.signed_at) * 1000000)::bigint AS signed_at_us,
                   encode(c.signature, 'hex') AS signature,
                   encode(CASE WHEN p_node = vigil_self() THEN (SELECT l.hash FROM audit_log l WHERE l.seq = c.seq)
                               ELSE (SELECT k.hash FROM audit_copies k WHERE k.node_id = c.node_id AND k.seq = c.seq)
                          END, 'hex') AS held_hash
            FROM audit_checkpoints c WHERE c.node_id = p_node ORDER BY c.seq DESC LIMIT p_limit) x);
END $$;

-- A snapshot's access-log records (issue 17, fault 3): a child's own log
-- and the copies it holds, whole, so that a parent restored from a backup
-- (or one that lost copies any other way) gets back what it lacks. Held
-- ones are skipped (as copies or as a fork's records); a record held with
-- another hash, or one that extends a fork kept here, is a fork
-- (audit_fork_keep); the others fill the holes without a gap alarm (the
-- chain is checked by audit_verify_copy, not by the order they come in)
-- and go on up, as copies do: a record first met in a snapshot would
-- otherwise be a duplicate when its delta follows, and never forwarded.
-- As a set when no fork of these nodes is kept here (the common case: a
-- first snapshot carries the whole log), else record by record, in order.
CREATE OR REPLACE FUNCTION audit_copies_fill(p_via text, p_uplink text, p_node text[], p_seq bigint[], p_at_us bigint[],
        p_actor text[], p_action text[], p_outcome text[], p_article text[], p_camera text[], p_purpose text[],
        p_destination text[], p_request_id text[], p_emergency_id text[], p_detail text[], p_prev bytea[],
        p_hash bytea[], p_change bytea[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    filled bytea[] := '{}';
    held bytea;
    i integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM audit_forks f WHERE f.node_id = ANY (p_node))
       AND NOT EXISTS (SELECT 1 FROM unnest(p_node, p_seq, p_hash) AS u(node, seq, hash)
                       JOIN audit_copies c ON c.node_id = u.node AND c.seq = u.seq AND c.hash <> u.hash)
       -- a copy and a fork of one sequence (a snapshot from a node that
       -- keeps both): record by record, in order
       AND NOT EXISTS (SELECT 1 FROM unnest(p_node, p_seq) AS u(node, seq) GROUP BY u.node, u.seq
                       HAVING count(*) > 1) THEN
        WITH ins AS (
            INSERT INTO audit_copies (node_id, seq, at, actor, action, outcome, article, camera, purpose,
                                      destination, request_id, emergency_id, detail, prev_hash, hash, via)
                SELECT u.node, u.seq, timestamptz 'epoch' + u.at_us * interval '1 microsecond', u.actor, u.action,
                       u.outcome, u.article, u.camera, u.purpose, u.destination, u.request_id, u.emergency_id,
                       u.detail, u.prev, u.hash, p_via
                FROM unnest(p_node, p_seq, p_at_us, p_actor, p_action, p_outcome, p_article, p_camera, p_purpose,
                            p_destination, p_request_id, p_emergency_id, p_detail, p_prev, p_hash)
                     WITH ORDINALITY AS u(node, seq, at_us, actor, action, outcome, article, camera, purpose,
                                          destination, request_id, emergency_id, detail, prev, hash, i)
                ORDER BY u.i
                ON CONFLICT (node_id, seq) DO NOTHING
                RETURNING node_id, seq)
        SELECT coalesce(array_agg(c.change ORDER BY c.i), '{}') INTO filled
            FROM ins JOIN unnest(p_node, p_seq, p_change) WITH ORDINALITY AS c(node, seq, change, i)
                 ON c.node = ins.node_id AND c.seq = ins.seq;
    ELSE
        FOR i IN 1 .. cardinality(p_node) LOOP
            SELECT c.hash INTO held FROM audit_copies c WHERE c.node_id = p_node[i] AND c.seq = p_seq[i];
            CONTINUE WHEN held = p_hash[i];
            CONTINUE WHEN EXISTS (SELECT 1 FROM audit_forks f WHERE f.node_id = p_node[i] AND f.seq = p_seq[i]
                                  AND f.hash = p_hash[i]);
            IF held IS NOT NULL OR EXISTS (SELECT 1 FROM audit_forks f WHERE f.node_id = p_node[i]
                                           AND f.seq = p_seq[i] - 1 AND f.hash = p_prev[i]) THEN
                PERFORM audit_fork_keep(p_via, p_uplink, p_node[i], p_seq[i],
                                        timestamptz 'epoch' + p_at_us[i] * interval '1 microsecond', p_actor[i],
                                        p_action[i], p_outcome[i], p_prev[i], p_hash[i], p_change[i],
                                        format('record %s of %s in a snapshot has another hash than the copy '
                                               'held: the log was rewritten (or restored from a backup); kept '
                                               'as a fork', p_seq[i], p_node[i]));
                CONTINUE;
            END IF;
            INSERT INTO audit_copies (node_id, seq, at, actor, action, outcome, article, camera, purpose,
                                      destination, request_id, emergency_id, detail, prev_hash, hash, via)
                VALUES (p_node[i], p_seq[i], timestamptz 'epoch' + p_at_us[i] * interval '1 microsecond',
                        p_actor[i], p_action[i], p_outcome[i], p_article[i], p_camera[i], p_purpose[i],
                        p_destination[i], p_request_id[i], p_emergency_id[i], p_detail[i], p_prev[i], p_hash[i],
                        p_via);
            filled := filled || p_change[i];
        END LOOP;
    END IF;
    IF p_uplink IS NOT NULL AND cardinality(filled) > 0 THEN
        PERFORM outbox_append(p_uplink, filled);
    END IF;
    RETURN cardinality(filled);
END $$;

-- 007: lawful access (Art 19, 20, 23(5), 29(2)): officers, delegations,
-- access requests and the access log.
--
-- Officers are registered at their unit's node and replicate up (like the
-- catalog), so every tier knows the officers beneath it and can check an
-- approver or a named officer. A request is filed, countersigned and
-- decided at the node where it was filed; every step, and every refusal,
-- is a record in the access log, which is append-only and hash-chained per
-- node (Art 23(5)).

-- Distinct non-empty elements of an array (CHECKs cannot hold subqueries).
CREATE FUNCTION vigil_distinct_count(a text[]) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT count(DISTINCT x)::integer FROM unnest(a) AS x WHERE x <> '');

-- The prefix of a node ID: its centre code without trailing "00" pairs
-- (DESIGN.md "Identity and tiers"); a camera is under a node if its ID
-- starts with the node's prefix.
CREATE FUNCTION vigil_prefix(id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN substr(id, 7, 2) <> '00' THEN substr(id, 1, 8)
            WHEN substr(id, 5, 2) <> '00' THEN substr(id, 1, 6)
            ELSE substr(id, 1, 4) END;

CREATE TABLE officers (
    badge         text PRIMARY KEY CHECK (badge ~ '^[A-Za-z0-9._-]{1,32}$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    unit          text NOT NULL CHECK (gbt28181_id(unit)),
    -- Art 20(2): the law-enforcement credential an officer shows.
    credential    text NOT NULL CHECK (length(credential) BETWEEN 1 AND 64),
    roles         text[] NOT NULL CHECK (cardinality(roles) >= 1 AND roles <@ ARRAY['operator', 'investigator',
                      'principal', 'deputy', 'commander', 'registrar', 'auditor', 'admin']),
    public_key    text NOT NULL UNIQUE CHECK (public_key ~ '^.{40}$'),
    active        boolean NOT NULL DEFAULT true,
    version       bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    via           text,
    snapshot_mark boolean NOT NULL DEFAULT false
);

-- Art 19: a principal authorises a deputy to approve, for a time.
CREATE TABLE delegations (
    id            text PRIMARY KEY,
    unit          text NOT NULL CHECK (gbt28181_id(unit)),
    principal     text NOT NULL,
    deputy        text NOT NULL CHECK (deputy <> principal),
    valid_from    timestamptz NOT NULL,
    valid_until   timestamptz NOT NULL CHECK (valid_until > valid_from),
    revoked       boolean NOT NULL DEFAULT false,
    version       bigint NOT NULL,
    via           text,
    snapshot_mark boolean NOT NULL DEFAULT false
);

CREATE TABLE access_requests (
    id              text PRIMARY KEY,
    node_id         text NOT NULL,                -- where it was filed and is decided
    filed_by        text NOT NULL,
    filed_at        timestamptz NOT NULL DEFAULT now(),
    officers        text[] NOT NULL,
    credentials     text[] NOT NULL,              -- as shown when filed, per officer
    case_no         text NOT NULL,
    purpose         text NOT NULL,
    cameras         text[] NOT NULL,
    actions         text[] NOT NULL,
    rec_from        timestamptz,
    rec_to          timestamptz,
    destination     text,
    approval_doc    text NOT NULL,
    state           text NOT NULL DEFAULT 'filed'
                    CHECK (state IN ('filed', 'countersigned', 'approved', 'denied', 'revoked')),
    countersigned_by text,
    countersigned_at timestamptz,
    decided_by      text,
    decided_at      timestamptz,
    reason          text,
    expires_at      timestamptz,
    CONSTRAINT "Art 20(1): at least two distinct officers"
        CHECK (vigil_distinct_count(officers) >= 2 AND cardinality(officers) = cardinality(credentials)),
    CONSTRAINT "Art 20(2): every officer's law-enforcement credential"
        CHECK (vigil_distinct_count(credentials) = cardinality(credentials)),
    CONSTRAINT "Art 20(3): the approval document" CHECK (length(approval_doc) > 0),
    CONSTRAINT "Art 20(4): the form: case, purpose, cameras, actions"
        CHECK (length(case_no) > 0 AND length(purpose) > 0 AND cardinality(cameras) >= 1
               AND cardinality(actions) >= 1
               AND actions <@ ARRAY['view-live', 'view-recorded', 'copy', 'retrieve']),
    CONSTRAINT "Art 20(4): the time range of recorded material"
        CHECK (NOT actions && ARRAY['view-recorded', 'copy', 'retrieve']
               OR (rec_from IS NOT NULL AND rec_to IS NOT NULL AND rec_from < rec_to)),
    CONSTRAINT "Art 20(4): where copies go"
        CHECK (NOT actions && ARRAY['copy', 'retrieve'] OR length(destination) > 0)
);
CREATE INDEX access_requests_state ON access_requests (state, filed_at);

-- --- The access log (Art 23(5)) ---------------------------------------
--
-- One row per access and per step of the workflow, refusals included.
-- hash = SHA-256(prev_hash || canonical record) (DESIGN.md "Audit"),
-- computed here, in the inserting transaction, so no writer can skip it.
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

-- The canonical bytes of a record: every field, in order, unit-separated;
-- the time in microseconds since the epoch, so that the text form of a
-- timestamp never changes a hash.
CREATE FUNCTION audit_canonical(r audit_log) RETURNS bytea
LANGUAGE sql STABLE
RETURN convert_to(concat_ws(E'\x1f', r.seq::text,
                            (extract(epoch FROM r.at) * 1000000)::bigint::text, r.node_id, r.actor,
                            r.action, r.outcome, coalesce(r.article, ''), coalesce(r.camera, ''),
                            coalesce(r.purpose, ''), coalesce(r.destination, ''), coalesce(r.request_id, ''),
                            coalesce(r.emergency_id, ''), coalesce(r.detail, '')), 'UTF8');

CREATE FUNCTION audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    h audit_head;
BEGIN
    SELECT * INTO h FROM audit_head FOR UPDATE;
    NEW.seq := h.seq + 1;
    NEW.at := coalesce(NEW.at, clock_timestamp());
    -- Microsecond precision is what the canonical form keeps.
    NEW.at := date_trunc('microseconds', NEW.at);
    NEW.node_id := coalesce(NEW.node_id, vigil_self());
    NEW.prev_hash := h.hash;
    NEW.hash := sha256(h.hash || audit_canonical(NEW));
    UPDATE audit_head SET seq = NEW.seq, hash = NEW.hash;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_chain();

-- Append-only: nothing is changed or removed, not even by the daemon.
CREATE FUNCTION audit_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'Art 23(5): the access log is append-only (% refused)', TG_OP
        USING ERRCODE = 'VG023';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

-- Append a record; returns its seq.
CREATE FUNCTION audit_append(p_actor text, p_action text, p_outcome text, p_article text,
        p_camera text, p_purpose text, p_destination text, p_request_id text,
        p_emergency_id text, p_detail text) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO audit_log (at, node_id, actor, action, outcome, article, camera, purpose, destination,
                           request_id, emergency_id, detail, prev_hash, hash)
    VALUES (NULL, NULL, p_actor, p_action, p_outcome, p_article, p_camera, p_purpose, p_destination,
            p_request_id, p_emergency_id, p_detail, '\x', '\x')
    RETURNING seq
$$;

-- Recompute the chain: the first record whose hash or link is wrong (NULL:
-- none), and how many records there are.
CREATE FUNCTION audit_verify(OUT records bigint, OUT first_bad_seq bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r audit_log;
    prev bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
    expect bigint := 1;
BEGIN
    records := 0;
    FOR r IN SELECT * FROM audit_log ORDER BY seq LOOP
        records := records + 1;
        IF first_bad_seq IS NULL AND (r.seq <> expect OR r.prev_hash <> prev
                                      OR r.hash <> sha256(prev || audit_canonical(r))) THEN
            first_bad_seq := r.seq;
        END IF;
        prev := r.hash;
        expect := r.seq + 1;
    END LOOP;
END $$;

-- --- The workflow ------------------------------------------------------
--
-- Each step checks its rules in order and answers (ok, article, message);
-- a refusal is not an exception, so that it is logged in the same
-- transaction as everything else (Art 23(5): refusals are records too).

CREATE TYPE access_answer AS (ok boolean, article text, message text, state text);

CREATE FUNCTION access_refuse(p_actor text, p_action text, p_article text, p_message text,
        p_request text, p_camera text DEFAULT NULL) RETURNS access_answer
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_append(p_actor, p_action, 'refused', p_article, p_camera, NULL, NULL, p_request, NULL,
                         p_message);
    RETURN ROW(false, p_article, p_message, NULL)::access_answer;
END $$;

-- Art 20: file a request. P_OFFICERS are badges; their credentials come
-- from the officers table (the registration as shown).
CREATE FUNCTION access_request_file(p_id text, p_filed_by text, p_officers text[], p_case text,
        p_purpose text, p_cameras text[], p_actions text[], p_from timestamptz, p_to timestamptz,
        p_destination text, p_approval_doc text) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    creds text[];
    missing text;
    unknown text;
    self text := vigil_self();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_filed_by AND active) THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(1)',
                             format('%s is not a registered officer', p_filed_by), p_id);
    END IF;
    IF vigil_distinct_count(p_officers) < 2 THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(1)',
                             'Art 20(1): at least two officers, each named once', p_id);
    END IF;
    IF NOT p_filed_by = ANY (p_officers) THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(1)',
                             format('Art 20(1): %s files the request, so must be one of its officers', p_filed_by),
                             p_id);
    END IF;
    SELECT string_agg(b, ', ') INTO missing FROM unnest(p_officers) AS b
        WHERE NOT EXISTS (SELECT 1 FROM officers o WHERE o.badge = b AND o.active AND o.credential <> '');
    IF missing IS NOT NULL THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(2)',
                             format('Art 20(2): no law-enforcement credential on file for %s', missing), p_id);
    END IF;
    IF coalesce(p_approval_doc, '') = '' THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(3)',
                             'Art 20(3): the approval document is required', p_id);
    END IF;
    IF coalesce(p_case, '') = '' OR coalesce(p_purpose, '') = '' OR coalesce(cardinality(p_cameras), 0) = 0
       OR coalesce(cardinality(p_actions), 0) = 0 THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(4)',
                             'Art 20(4): the registration form needs the case, the purpose, the cameras and the actions',
                             p_id);
    END IF;
    IF cardinality(p_cameras) > 256 THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(4)',
                             format('Art 20(4): one request names at most 256 cameras (this one %s); file several',
                                    cardinality(p_cameras)), p_id);
    END IF;
    IF NOT p_actions <@ ARRAY['view-live', 'view-recorded', 'copy', 'retrieve'] THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(4)',
                             'Art 20(4): actions are view-live, view-recorded, copy and retrieve', p_id);
    END IF;
    IF p_actions && ARRAY['view-recorded', 'copy', 'retrieve']
       AND (p_from IS NULL OR p_to IS NULL OR p_from >= p_to) THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(4)',
                             'Art 20(4): recorded material needs its time range (--from before --to)', p_id);
    END IF;
    IF p_actions && ARRAY['copy', 'retrieve'] AND coalesce(p_destination, '') = '' THEN
        RETURN access_refuse(p_filed_by, 'request', 'Art 20(4)',
                             'Art 20(4): copies and retrievals need where they go (--destination)', p_id);
    END IF;
    SELECT string_agg(c, ', ') INTO unknown FROM unnest(p_cameras) AS c
        WHERE NOT EXISTS (SELECT 1 FROM cameras k WHERE k.id = c);
    IF unknown IS NOT NULL THEN
        RETURN access_refuse(p_filed_by, 'request', NULL,
                             format('no such camera under this node: %s', unknown), p_id);
    END IF;
    SELECT array_agg(o.credential ORDER BY u.i) INTO creds
        FROM unnest(p_officers) WITH ORDINALITY AS u(b, i) JOIN officers o ON o.badge = u.b;
    INSERT INTO access_requests (id, node_id, filed_by, officers, credentials, case_no, purpose, cameras,
                                 actions, rec_from, rec_to, destination, approval_doc)
        VALUES (p_id, self, p_filed_by, p_officers, creds, p_case, p_purpose, p_cameras, p_actions,
                p_from, p_to, p_destination, p_approval_doc);
    PERFORM audit_append(p_filed_by, 'request', 'ok', NULL, NULL, p_purpose, p_destination, p_id, NULL,
                         format('case %s; officers %s; cameras %s; actions %s; approval document %s',
                                p_case, array_to_string(p_officers, ','), array_to_string(p_cameras, ','),
                                array_to_string(p_actions, ','), p_approval_doc));
    RETURN ROW(true, NULL, NULL, 'filed')::access_answer;
END $$;

-- Art 20(1): the second officer confirms with their own identity.
CREATE FUNCTION access_countersign(p_id text, p_badge text) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    r access_requests;
BEGIN
    SELECT * INTO r FROM access_requests WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_badge, 'countersign', NULL, format('no request %s', p_id), p_id);
    END IF;
    IF r.state <> 'filed' THEN
        RETURN access_refuse(p_badge, 'countersign', NULL, format('request %s is %s', p_id, r.state), p_id);
    END IF;
    IF p_badge = r.filed_by OR NOT p_badge = ANY (r.officers) THEN
        RETURN access_refuse(p_badge, 'countersign', 'Art 20(1)',
                             format('Art 20(1): request %s is countersigned by a second officer named in it, not %s',
                                    p_id, p_badge), p_id);
    END IF;
    UPDATE access_requests SET state = 'countersigned', countersigned_by = p_badge, countersigned_at = now()
        WHERE id = p_id;
    PERFORM audit_append(p_badge, 'countersign', 'ok', NULL, NULL, r.purpose, r.destination, p_id, NULL, NULL);
    RETURN ROW(true, NULL, NULL, 'countersigned')::access_answer;
END $$;

-- Art 19: may BADGE approve for every camera in CAMERAS? The principal of
-- the city or district bureau covering them all, or a deputy holding a live
-- delegation from that principal. Returns NULL if so, else why not.
CREATE FUNCTION access_approver_problem(p_badge text, p_cameras text[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    o officers;
    unit_tier text;
BEGIN
    SELECT * INTO o FROM officers WHERE badge = p_badge AND active;
    IF NOT FOUND THEN
        RETURN format('%s is not a registered officer', p_badge);
    END IF;
    IF substr(o.unit, 7, 2) <> '00' THEN
        RETURN format('%s belongs to a station; only a city or district bureau approves', p_badge);
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_cameras) AS c WHERE left(c, length(vigil_prefix(o.unit))) <> vigil_prefix(o.unit)) THEN
        RETURN format('%s''s bureau (%s) does not cover every camera of the request', p_badge, o.unit);
    END IF;
    IF 'principal' = ANY (o.roles) THEN
        RETURN NULL;
    END IF;
    IF 'deputy' = ANY (o.roles) AND EXISTS (
            SELECT 1 FROM delegations d JOIN officers p ON p.badge = d.principal
            WHERE d.deputy = p_badge AND d.unit = o.unit AND p.unit = o.unit AND 'principal' = ANY (p.roles)
              AND p.active AND NOT d.revoked AND now() >= d.valid_from AND now() < d.valid_until) THEN
        RETURN NULL;
    END IF;
    IF 'deputy' = ANY (o.roles) THEN
        RETURN format('%s holds no live delegation from the principal of %s', p_badge, o.unit);
    END IF;
    RETURN format('%s is neither the principal nor an authorised deputy', p_badge);
END $$;

CREATE FUNCTION access_decide(p_id text, p_badge text, p_approve boolean, p_reason text,
        p_valid_for interval) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    r access_requests;
    problem text;
    act text := CASE WHEN p_approve THEN 'approve' ELSE 'deny' END;
BEGIN
    SELECT * INTO r FROM access_requests WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_badge, act, NULL, format('no request %s', p_id), p_id);
    END IF;
    problem := access_approver_problem(p_badge, r.cameras);
    IF problem IS NOT NULL THEN
        RETURN access_refuse(p_badge, act, 'Art 19', 'Art 19: ' || problem, p_id);
    END IF;
    IF p_badge = ANY (r.officers) THEN
        RETURN access_refuse(p_badge, act, 'Art 19',
                             format('Art 19: %s is named in request %s and cannot decide it', p_badge, p_id), p_id);
    END IF;
    IF r.state = 'filed' THEN
        RETURN access_refuse(p_badge, act, 'Art 20(1)',
                             format('Art 20(1): request %s is not countersigned yet', p_id), p_id);
    END IF;
    IF r.state <> 'countersigned' THEN
        RETURN access_refuse(p_badge, act, NULL, format('request %s is already %s', p_id, r.state), p_id);
    END IF;
    IF NOT p_approve AND coalesce(p_reason, '') = '' THEN
        RETURN access_refuse(p_badge, act, NULL, 'a denial needs a reason', p_id);
    END IF;
    UPDATE access_requests SET state = CASE WHEN p_approve THEN 'approved' ELSE 'denied' END,
        decided_by = p_badge, decided_at = now(), reason = p_reason,
        expires_at = CASE WHEN p_approve THEN now() + coalesce(p_valid_for, interval '8 hours') END,
        grant_version = CASE WHEN p_approve THEN (extract(epoch FROM clock_timestamp()) * 1000000)::bigint END
        WHERE id = p_id;
    PERFORM audit_append(p_badge, act, 'ok', NULL, NULL, r.purpose, r.destination, p_id, NULL, p_reason);
    RETURN ROW(true, NULL, NULL, CASE WHEN p_approve THEN 'approved' ELSE 'denied' END)::access_answer;
END $$;

CREATE FUNCTION access_revoke(p_id text, p_badge text, p_reason text) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    r access_requests;
    problem text;
BEGIN
    SELECT * INTO r FROM access_requests WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_badge, 'revoke', NULL, format('no request %s', p_id), p_id);
    END IF;
    problem := access_approver_problem(p_badge, r.cameras);
    IF problem IS NOT NULL THEN
        RETURN access_refuse(p_badge, 'revoke', 'Art 19', 'Art 19: ' || problem, p_id);
    END IF;
    IF r.state <> 'approved' THEN
        RETURN access_refuse(p_badge, 'revoke', NULL, format('request %s is %s, not approved', p_id, r.state), p_id);
    END IF;
    UPDATE access_requests SET state = 'revoked', reason = coalesce(p_reason, reason),
        grant_version = (extract(epoch FROM clock_timestamp()) * 1000000)::bigint WHERE id = p_id;
    PERFORM audit_append(p_badge, 'revoke', 'ok', NULL, NULL, r.purpose, r.destination, p_id, NULL, p_reason);
    RETURN ROW(true, NULL, NULL, 'revoked')::access_answer;
END $$;

-- --- Replicas of officers and delegations (from child VIA) -------------

CREATE FUNCTION officer_apply(p_via text, p_uplink text, p_snapshot boolean, p_badge text,
        p_version bigint, p_removed boolean, p_name text, p_unit text, p_credential text, p_roles text[],
        p_public_key text, p_active boolean, p_change bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean := false;
BEGIN
    IF p_removed THEN
        DELETE FROM officers WHERE badge = p_badge AND via = p_via AND version < p_version;
        changed := FOUND;
    ELSE
        INSERT INTO officers AS o (badge, name, unit, credential, roles, public_key, active, version, via)
            VALUES (p_badge, p_name, p_unit, p_credential, p_roles, p_public_key, p_active, p_version, p_via)
            ON CONFLICT (badge) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit,
                credential = EXCLUDED.credential, roles = EXCLUDED.roles, public_key = EXCLUDED.public_key,
                active = EXCLUDED.active, version = EXCLUDED.version, via = EXCLUDED.via,
                updated_at = now(), snapshot_mark = false
            WHERE o.version < EXCLUDED.version AND o.via IS NOT DISTINCT FROM EXCLUDED.via
            RETURNING true INTO changed;
        changed := coalesce(changed, false);
        IF p_snapshot AND NOT changed THEN
            UPDATE officers SET snapshot_mark = false WHERE badge = p_badge AND via = p_via;
        END IF;
    END IF;
    IF changed AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN changed;
END $$;

CREATE FUNCTION delegation_apply(p_via text, p_uplink text, p_snapshot boolean, p_id text,
        p_version bigint, p_unit text, p_principal text, p_deputy text, p_from timestamptz,
        p_until timestamptz, p_revoked boolean, p_change bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean := false;
BEGIN
    INSERT INTO delegations AS d (id, unit, principal, deputy, valid_from, valid_until, revoked, version, via)
        VALUES (p_id, p_unit, p_principal, p_deputy, p_from, p_until, p_revoked, p_version, p_via)
        ON CONFLICT (id) DO UPDATE SET unit = EXCLUDED.unit, principal = EXCLUDED.principal,
            deputy = EXCLUDED.deputy, valid_from = EXCLUDED.valid_from, valid_until = EXCLUDED.valid_until,
            revoked = EXCLUDED.revoked, version = EXCLUDED.version, via = EXCLUDED.via, snapshot_mark = false
        WHERE d.version < EXCLUDED.version AND d.via IS NOT DISTINCT FROM EXCLUDED.via
        RETURNING true INTO changed;
    changed := coalesce(changed, false);
    IF p_snapshot AND NOT changed THEN
        UPDATE delegations SET snapshot_mark = false WHERE id = p_id AND via = p_via;
    END IF;
    IF changed AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN changed;
END $$;

-- Snapshots cover officers and delegations too.
CREATE OR REPLACE FUNCTION snapshot_begin(p_peer text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM applied_seq WHERE peer_id = p_peer;
    UPDATE nodes SET snapshot_mark = true WHERE via = p_peer;
    UPDATE sites SET snapshot_mark = true WHERE via = p_peer;
    UPDATE systems SET snapshot_mark = true WHERE via = p_peer;
    UPDATE cameras SET snapshot_mark = true WHERE via = p_peer;
    UPDATE officers SET snapshot_mark = true WHERE via = p_peer;
    UPDATE delegations SET snapshot_mark = true WHERE via = p_peer;
END $$;

CREATE OR REPLACE FUNCTION snapshot_end(p_peer text, p_epoch text, p_seq bigint)
RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO applied_seq (peer_id, epoch, last_seq) VALUES (p_peer, p_epoch, p_seq)
        ON CONFLICT (peer_id) DO UPDATE SET epoch = p_epoch, last_seq = p_seq, updated_at = now();
    DELETE FROM cameras WHERE via = p_peer AND snapshot_mark;
    DELETE FROM systems WHERE via = p_peer AND snapshot_mark;
    DELETE FROM sites WHERE via = p_peer AND snapshot_mark;
    DELETE FROM delegations WHERE via = p_peer AND snapshot_mark;
    DELETE FROM officers WHERE via = p_peer AND snapshot_mark;
    RETURN QUERY DELETE FROM nodes WHERE via = p_peer AND snapshot_mark RETURNING id;
END $$;

-- --- Registering at this node ------------------------------------------

-- An admin of this node registers an officer of this unit; the change
-- (P_CHANGE, encoded by vigild) goes to the parent in the same transaction.
CREATE FUNCTION officer_register(p_actor text, p_badge text, p_name text, p_credential text,
        p_roles text[], p_public_key text, p_version bigint, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(p_credential, '') = '' THEN
        RETURN access_refuse(p_actor, 'officer.add', 'Art 20(2)',
                             format('Art 20(2): officer %s needs a law-enforcement credential number', p_badge), NULL);
    END IF;
    IF EXISTS (SELECT 1 FROM officers WHERE badge = p_badge) THEN
        RETURN access_refuse(p_actor, 'officer.add', NULL, format('officer %s is already registered', p_badge), NULL);
    END IF;
    IF EXISTS (SELECT 1 FROM officers WHERE public_key = p_public_key) THEN
        RETURN access_refuse(p_actor, 'officer.add', NULL, 'that public key is already an officer''s identity', NULL);
    END IF;
    INSERT INTO officers (badge, name, unit, credential, roles, public_key, version)
        VALUES (p_badge, p_name, vigil_self(), p_credential, p_roles, p_public_key, p_version);
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    PERFORM audit_append(p_actor, 'officer.add', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('%s (%s), roles %s', p_badge, p_name, array_to_string(p_roles, ',')));
    RETURN ROW(true, NULL, NULL, 'registered')::access_answer;
END $$;

-- Art 19: the principal of this unit authorises a deputy of this unit.
CREATE FUNCTION delegation_grant(p_id text, p_principal text, p_deputy text, p_from timestamptz,
        p_until timestamptz, p_version bigint, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
DECLARE
    self text := vigil_self();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_principal AND unit = self AND active
                   AND 'principal' = ANY (roles)) THEN
        RETURN access_refuse(p_principal, 'delegate', 'Art 19',
                             format('Art 19: only the principal of %s delegates approval', self), NULL);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_deputy AND unit = self AND active
                   AND 'deputy' = ANY (roles)) THEN
        RETURN access_refuse(p_principal, 'delegate', 'Art 19',
                             format('Art 19: %s is not a deputy of %s', p_deputy, self), NULL);
    END IF;
    IF p_until <= p_from THEN
        RETURN access_refuse(p_principal, 'delegate', NULL, 'a delegation ends after it begins', NULL);
    END IF;
    INSERT INTO delegations (id, unit, principal, deputy, valid_from, valid_until, version)
        VALUES (p_id, self, p_principal, p_deputy, p_from, p_until, p_version);
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    PERFORM audit_append(p_principal, 'delegate', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('to %s from %s until %s', p_deputy, p_from, p_until));
    RETURN ROW(true, NULL, NULL, 'delegated')::access_answer;
END $$;

-- --- Grants down, views at the owning station --------------------------

-- Approved requests as they reach the nodes below the one that decided.
CREATE TABLE grants (
    request_id     text PRIMARY KEY,
    version        bigint NOT NULL,
    cameras        text[] NOT NULL,
    actions        text[] NOT NULL,
    officers       text[] NOT NULL,
    rec_from       timestamptz,
    rec_to         timestamptz,
    valid_until    timestamptz NOT NULL,
    revoked        boolean NOT NULL DEFAULT false,
    purpose        text,
    destination    text,
    case_no        text,
    approved_by    text,
    filed_at       text,
    received_at    timestamptz NOT NULL DEFAULT now(),
    via            text                     -- the parent it came from (NULL: decided here)
);
CREATE INDEX grants_cameras ON grants USING gin (cameras);

-- The filing node's record of what it has sent down, per decision.
ALTER TABLE access_requests ADD COLUMN grant_version bigint;       -- of the decision to send
ALTER TABLE access_requests ADD COLUMN dispatched_version bigint;  -- last one sent
CREATE INDEX access_requests_undispatched ON access_requests (id)
    WHERE grant_version IS DISTINCT FROM dispatched_version;

-- Store a grant (newer versions replace) and pass it to each child whose
-- subtree holds one of its cameras. P_VIA is the parent, or NULL when the
-- grant was decided here. Returns the children it went to.
CREATE FUNCTION grant_apply(p_via text, p_request_id text, p_version bigint, p_cameras text[],
        p_actions text[], p_officers text[], p_from timestamptz, p_to timestamptz, p_until timestamptz,
        p_revoked boolean, p_purpose text, p_destination text, p_case text, p_approved_by text,
        p_filed_at text, p_change bytea) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
    child text;
BEGIN
    INSERT INTO grants AS g (request_id, version, cameras, actions, officers, rec_from, rec_to, valid_until,
                             revoked, purpose, destination, case_no, approved_by, filed_at, via)
        VALUES (p_request_id, p_version, p_cameras, p_actions, p_officers, p_from, p_to, p_until, p_revoked,
                p_purpose, p_destination, p_case, p_approved_by, p_filed_at, p_via)
        ON CONFLICT (request_id) DO UPDATE SET version = EXCLUDED.version, cameras = EXCLUDED.cameras,
            actions = EXCLUDED.actions, officers = EXCLUDED.officers, rec_from = EXCLUDED.rec_from,
            rec_to = EXCLUDED.rec_to, valid_until = EXCLUDED.valid_until, revoked = EXCLUDED.revoked,
            received_at = now()
        WHERE g.version < EXCLUDED.version
        RETURNING true INTO changed;
    IF NOT coalesce(changed, false) THEN
        RETURN;
    END IF;
    IF p_revoked THEN
        PERFORM audit_append(coalesce(p_approved_by, '?'), 'grant.revoked', 'ok', NULL, NULL, p_purpose,
                             p_destination, p_request_id, NULL, format('from %s', coalesce(p_via, 'here')));
    ELSE
        PERFORM audit_append(coalesce(p_approved_by, '?'), 'grant.received', 'ok', NULL, NULL, p_purpose,
                             p_destination, p_request_id, NULL,
                             format('cameras %s; officers %s; actions %s; until %s', array_to_string(p_cameras, ','),
                                    array_to_string(p_officers, ','), array_to_string(p_actions, ','), p_until));
    END IF;
    FOR child IN SELECT n.id FROM nodes n
                 WHERE n.parent_id = vigil_self() AND n.public_key IS NOT NULL
                   AND EXISTS (SELECT 1 FROM unnest(p_cameras) c WHERE left(c, length(vigil_prefix(n.id))) =
                                                                      vigil_prefix(n.id)) LOOP
        PERFORM outbox_append(child, ARRAY[p_change]);
        RETURN NEXT child;
    END LOOP;
END $$;

-- Art 19, 29(2): does a live grant let OFFICER do ACTION on CAMERA (for
-- recorded material, within FROM..TO)? Decided here, at the owning
-- station, and logged either way. Returns the grant and the stream URL.
CREATE FUNCTION view_decide(p_officer text, p_camera text, p_action text, p_from timestamptz,
        p_to timestamptz, p_entry text, OUT granted boolean, OUT article text, OUT message text,
        OUT url text, OUT request_id text, OUT valid_until timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    g grants;
    c cameras;
BEGIN
    granted := false;
    SELECT * INTO c FROM cameras WHERE id = p_camera AND station_id = vigil_self();
    IF NOT FOUND THEN
        message := format('camera %s is not registered at this station', p_camera);
    ELSIF NOT p_action = ANY (ARRAY['view-live', 'view-recorded', 'copy', 'retrieve']) THEN
        message := format('unknown action %s', p_action);
    ELSE
        SELECT * INTO g FROM grants
            WHERE cameras @> ARRAY[p_camera] AND actions @> ARRAY[p_action] AND officers @> ARRAY[p_officer]
              AND NOT revoked AND now() < grants.valid_until
              AND (p_action = 'view-live' OR (p_from IS NOT NULL AND p_to IS NOT NULL
                                              AND p_from >= rec_from AND p_to <= rec_to))
            ORDER BY grants.valid_until DESC LIMIT 1;
        IF FOUND THEN
            granted := true;
            url := c.stream_url;
            request_id := g.request_id;
            valid_until := g.valid_until;
        ELSE
            article := 'Art 29(2)';
            message := format('Art 29(2): no live approval lets %s %s camera %s%s', p_officer, p_action, p_camera,
                              CASE WHEN p_action <> 'view-live' THEN ' for that time range' ELSE '' END);
        END IF;
    END IF;
    PERFORM audit_append(p_officer, p_action, CASE WHEN granted THEN 'ok' ELSE 'refused' END, article,
                         p_camera, g.purpose, g.destination, g.request_id, NULL,
                         coalesce(message, format('from %s', p_entry)));
END $$;

-- --- The access log travels up (DESIGN.md "Audit") ---------------------

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
CREATE TRIGGER audit_copies_no_update BEFORE UPDATE OR DELETE ON audit_copies
    FOR EACH ROW EXECUTE FUNCTION audit_refuse();
CREATE TRIGGER audit_copies_no_truncate BEFORE TRUNCATE ON audit_copies
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse();

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

CREATE FUNCTION audit_canonical_copy(r audit_copies) RETURNS bytea
LANGUAGE sql STABLE
RETURN convert_to(concat_ws(E'\x1f', r.seq::text,
                            (extract(epoch FROM r.at) * 1000000)::bigint::text, r.node_id, r.actor,
                            r.action, r.outcome, coalesce(r.article, ''), coalesce(r.camera, ''),
                            coalesce(r.purpose, ''), coalesce(r.destination, ''), coalesce(r.request_id, ''),
                            coalesce(r.emergency_id, ''), coalesce(r.detail, '')), 'UTF8');

-- Keep a child's record if it extends the chain held for its node; raise an
-- alarm if not. Stored copies go on up (store and forward).
CREATE FUNCTION audit_copy_apply(p_via text, p_uplink text, p_node text, p_seq bigint, p_at timestamptz,
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
        INSERT INTO audit_alarms (node_id, seq, kind, detail)
            VALUES (p_node, p_seq, 'fork', format('record %s of %s arrived again with another hash: the log was rewritten',
                                                  p_seq, p_node));
        RETURN 'fork';
    END IF;
    SELECT * INTO last FROM audit_copies WHERE node_id = p_node ORDER BY seq DESC LIMIT 1;
    IF FOUND AND (last.seq + 1 <> p_seq) THEN
        INSERT INTO audit_alarms (node_id, seq, kind, detail)
            VALUES (p_node, p_seq, 'gap', format('record %s of %s follows %s', p_seq, p_node, last.seq));
    ELSIF FOUND AND last.hash <> p_prev THEN
        INSERT INTO audit_alarms (node_id, seq, kind, detail)
            VALUES (p_node, p_seq, 'fork', format('record %s of %s does not extend record %s held here: '
                                                  'the log was rewritten', p_seq, p_node, last.seq));
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

-- Verify the copies held of NODE's log: each record's hash, and the links.
CREATE FUNCTION audit_verify_copy(p_node text, OUT records bigint, OUT first_bad_seq bigint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r audit_copies;
    prev bytea;
BEGIN
    records := 0;
    FOR r IN SELECT * FROM audit_copies WHERE node_id = p_node ORDER BY seq LOOP
        records := records + 1;
        IF first_bad_seq IS NULL AND ((prev IS NOT NULL AND r.prev_hash <> prev)
                                      OR r.hash <> sha256(r.prev_hash || audit_canonical_copy(r))) THEN
            first_bad_seq := r.seq;
        END IF;
        prev := r.hash;
    END LOOP;
END $$;

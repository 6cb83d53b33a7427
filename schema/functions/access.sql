-- access: lawful access (Art 19, 20, 23(5), 29(2)): officers, delegations,
-- access requests, the grants that travel down, and views decided at the
-- owning station.
--
-- Officers are registered at their unit's node and replicate up (like the
-- catalog), so every tier knows the officers beneath it and can check an
-- approver or a named officer. A request is filed, countersigned and
-- decided at the node where it was filed. Each step checks its rules in
-- order and answers (ok, article, message, state) as an access_answer; a
-- refusal is not an exception, so that it is logged in the same
-- transaction as everything else (Art 23(5): refusals are records too).

-- Log a refusal and answer it.
CREATE OR REPLACE FUNCTION access_refuse(p_actor text, p_action text, p_article text, p_message text,
        p_request text, p_camera text DEFAULT NULL) RETURNS access_answer
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM audit_append(p_actor, p_action, 'refused', p_article, p_camera, NULL, NULL, p_request, NULL,
                         p_message);
    RETURN ROW(false, p_article, p_message, NULL)::access_answer;
END $$;

-- --- The workflow --------------------------------------------------------

-- Art 20: file a request. P_OFFICERS are badges; their credentials come
-- from the officers table (the registration as shown).
CREATE OR REPLACE FUNCTION access_request_file(p_id text, p_filed_by text, p_officers text[], p_case text,
        p_purpose text, p_cameras text[], p_actions text[], p_from timestamptz, p_to timestamptz,
        p_destination text, p_approval_doc text) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    creds text[];
    units text[];
    keys text[];
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
    -- Identity, not text: each officer as this node knows them now (unit
    -- and key), which the grant carries down and the station checks.
    SELECT array_agg(o.credential ORDER BY u.i), array_agg(o.unit ORDER BY u.i),
           array_agg(o.public_key ORDER BY u.i) INTO creds, units, keys
        FROM unnest(p_officers) WITH ORDINALITY AS u(b, i) JOIN officers o ON o.badge = u.b;
    INSERT INTO access_requests (id, node_id, filed_by, officers, credentials, case_no, purpose, cameras,
                                 actions, rec_from, rec_to, destination, approval_doc, officer_units,
                                 officer_keys)
        VALUES (p_id, self, p_filed_by, p_officers, creds, p_case, p_purpose, p_cameras, p_actions,
                p_from, p_to, p_destination, p_approval_doc, units, keys);
    PERFORM audit_append(p_filed_by, 'request', 'ok', NULL, NULL, p_purpose, p_destination, p_id, NULL,
                         format('case %s; officers %s; cameras %s; actions %s; approval document %s',
                                p_case, array_to_string(p_officers, ','), array_to_string(p_cameras, ','),
                                array_to_string(p_actions, ','), p_approval_doc));
    RETURN ROW(true, NULL, NULL, 'filed')::access_answer;
END $$;

-- Art 20(1): the second officer confirms with their own identity.
CREATE OR REPLACE FUNCTION access_countersign(p_id text, p_badge text) RETURNS access_answer
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
CREATE OR REPLACE FUNCTION access_approver_problem(p_badge text, p_cameras text[]) RETURNS text
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
    IF officer_has_power(p_badge, 'principal') THEN
        RETURN NULL;
    END IF;
    IF 'deputy' = ANY (o.roles) AND delegation_live(p_badge) THEN
        RETURN NULL;
    END IF;
    IF 'deputy' = ANY (o.roles) THEN
        RETURN format('%s holds no live delegation from the principal of %s', p_badge, o.unit);
    END IF;
    RETURN format('%s is neither a principal (conferred from above) nor an authorised deputy', p_badge);
END $$;

-- Art 19, 20: approve or deny a countersigned request. Art 20(1), 20(2): a
-- request is approved only while every officer it names is an active
-- officer (their credential still stands), checked after the
-- countersignature. An approval stamps grant_version, which vigild reads
-- to send the grant down (grant_apply).
--
-- Art 19: an approval is for a use, not a standing authority: it is valid
-- for at most P_MAX ([access] max_approval_hours in vigild.conf, 72 h by
-- default); a longer one is refused, not shortened, so that the approver
-- knows what they approved. Art 20(1): the officers approved are those
-- filed: an officer whose unit or key changed since (re-registered, or the
-- badge now someone else's) makes the request be filed again.
CREATE OR REPLACE FUNCTION access_decide(p_id text, p_badge text, p_approve boolean, p_reason text,
        p_valid_for interval, p_max interval) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    r access_requests;
    problem text;
    gone text;
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
    -- Without --valid-for: 8 hours, or the longest allowed if that is less.
    p_valid_for := coalesce(p_valid_for, least(interval '8 hours', p_max));
    IF p_approve AND p_valid_for > p_max THEN
        RETURN access_refuse(p_badge, act, 'Art 19',
                             format('Art 19: an approval is valid for at most %s here (asked: %s); approve '
                                    'again when it ends', p_max, p_valid_for), p_id);
    END IF;
    IF p_approve AND p_valid_for <= interval '0' THEN
        RETURN access_refuse(p_badge, act, NULL, '--valid-for is a positive duration', p_id);
    END IF;
    IF p_approve THEN
        SELECT string_agg(n.b, ', ') INTO gone
            FROM unnest(r.officers, r.officer_units, r.officer_keys) AS n(b, u, k)
            WHERE NOT EXISTS (SELECT 1 FROM officers o WHERE o.badge = n.b AND o.unit = n.u
                              AND o.public_key = n.k);
        IF gone IS NOT NULL THEN
            RETURN access_refuse(p_badge, act, 'Art 20(1)',
                                 format('Art 20(1): %s, named in request %s, is not the officer (unit and key) '
                                        'it was filed for: file it again', gone, p_id), p_id);
        END IF;
        SELECT string_agg(b, ', ') INTO gone FROM unnest(r.officers) AS b
            WHERE NOT EXISTS (SELECT 1 FROM officers o WHERE o.badge = b AND o.active);
        IF gone IS NOT NULL THEN
            RETURN access_refuse(p_badge, act, 'Art 20(2)',
                                 format('Art 20(2): %s, named in request %s, is no longer an active officer',
                                        gone, p_id), p_id);
        END IF;
    END IF;
    IF NOT p_approve AND coalesce(p_reason, '') = '' THEN
        RETURN access_refuse(p_badge, act, NULL, 'a denial needs a reason', p_id);
    END IF;
    UPDATE access_requests SET state = CASE WHEN p_approve THEN 'approved' ELSE 'denied' END,
        decided_by = p_badge, decided_at = now(), reason = p_reason,
        expires_at = CASE WHEN p_approve THEN now() + p_valid_for END,
        grant_version = CASE WHEN p_approve THEN next_version() END
        WHERE id = p_id;
    PERFORM audit_append(p_badge, act, 'ok', NULL, NULL, r.purpose, r.destination, p_id, NULL, p_reason);
    RETURN ROW(true, NULL, NULL, CASE WHEN p_approve THEN 'approved' ELSE 'denied' END)::access_answer;
END $$;

-- Art 19: the approver withdraws an approval; the revocation goes down
-- like the grant.
CREATE OR REPLACE FUNCTION access_revoke(p_id text, p_badge text, p_reason text) RETURNS access_answer
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
        grant_version = greatest(next_version(), coalesce(r.grant_version, 0) + 1) WHERE id = p_id;
    PERFORM audit_append(p_badge, 'revoke', 'ok', NULL, NULL, r.purpose, r.destination, p_id, NULL, p_reason);
    RETURN ROW(true, NULL, NULL, 'revoked')::access_answer;
END $$;

-- --- Replicas of officers and delegations (from child VIA) ---------------
--
-- Newer versions replace, of rows that came through VIA only; a snapshot
-- item clears its mark; what changed goes up in the same transaction
-- (store and forward). Return whether anything changed.

-- An officer registered below (or removed there).
--
-- Identity, not text (Art 20(1)): badges are unique only where they are
-- registered. A badge this node already knows as another unit's (or as the
-- same unit's through another child), or a key already another badge's, is
-- refused: never overwritten (the real officer's row stays), never an SQL
-- error (the child's link would stop), but recorded (the access log and a
-- 'collision' alarm, which vigild logs once), and not forwarded up. A
-- delta so refused (P_SEQ of P_VIA's epoch P_EPOCH; NULL for a snapshot's
-- item) is a dead letter too (issue 17): one key is one officer, and the
-- second badge claiming it from another station waits, whole, for an
-- admin, while the rest of the child's changes go on.
CREATE OR REPLACE FUNCTION officer_apply(p_via text, p_uplink text, p_snapshot boolean, p_badge text,
        p_version bigint, p_removed boolean, p_name text, p_unit text, p_credential text, p_roles text[],
        p_public_key text, p_active boolean, p_change bytea, p_epoch text, p_seq bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean := false;
    held officers;
    why text;
BEGIN
    IF NOT p_removed THEN
        SELECT * INTO held FROM officers WHERE badge = p_badge;
        IF FOUND AND (held.unit <> p_unit OR held.via IS DISTINCT FROM p_via) THEN
            why := format('badge %s is already officer %s of unit %s here', p_badge, held.name, held.unit);
        ELSE
            SELECT * INTO held FROM officers WHERE public_key = p_public_key AND badge <> p_badge;
            IF FOUND THEN
                why := format('the key of %s is already the identity of %s (unit %s) here', p_badge, held.badge,
                              held.unit);
            END IF;
        END IF;
        IF why IS NOT NULL THEN
            why := format('Art 20(1): officer %s of unit %s from %s refused: %s', p_badge, p_unit, p_via, why);
            PERFORM audit_append(p_via, 'officer.replicate', 'refused', 'Art 20(1)', NULL, NULL, NULL, NULL, NULL,
                                 why);
            INSERT INTO audit_alarms (node_id, seq, kind, detail)
                SELECT p_via, 0, 'collision', why
                WHERE NOT EXISTS (SELECT 1 FROM audit_alarms a WHERE a.node_id = p_via AND a.kind = 'collision'
                                  AND a.detail = why);
            IF p_seq IS NOT NULL THEN
                PERFORM dead_letter_hold(p_via, p_epoch, p_seq, p_change, 'officer', why);
            END IF;
            RETURN false;
        END IF;
    END IF;
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

-- A delegation granted or revoked below.
CREATE OR REPLACE FUNCTION delegation_apply(p_via text, p_uplink text, p_snapshot boolean, p_id text,
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

-- --- Registering at this node --------------------------------------------

-- An admin of this node registers an officer of this unit; the change
-- (P_CHANGE, encoded by vigild) goes to the parent in the same transaction.
-- Art 19: not as principal, commander or auditor: the roles that approve,
-- declare and read the records are conferred from above
-- (conferral_confer), or one admin could invent the whole chain of a
-- request (two investigators and a principal), or register an auditor
-- with a key of their own and read every investigation (Art 5).
CREATE OR REPLACE FUNCTION officer_register(p_actor text, p_badge text, p_name text, p_credential text,
        p_roles text[], p_public_key text, p_version bigint, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
BEGIN
    IF p_roles && ARRAY['principal', 'commander', 'auditor'] THEN
        RETURN access_refuse(p_actor, 'officer.add', 'Art 19',
                             format('Art 19: principal, commander and auditor are conferred by an admin of the tier above: '
                                    'vigilctl officer confer %s --role ROLE (register %s without them)', p_badge,
                                    p_badge), NULL);
    END IF;
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

-- Art 19: the principal of this unit (conferred from above) authorises a
-- deputy of this unit, for at most P_MAX ([access] max_delegation_days,
-- 30 days by default): the deputy approves "authorised by the principal",
-- so the principal says so again at least that often.
CREATE OR REPLACE FUNCTION delegation_grant(p_id text, p_principal text, p_deputy text, p_from timestamptz,
        p_until timestamptz, p_version bigint, p_change bytea, p_uplink text, p_max interval)
RETURNS access_answer LANGUAGE plpgsql AS $$
DECLARE
    self text := vigil_self();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_principal AND unit = self AND active)
       OR NOT officer_has_power(p_principal, 'principal') THEN
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
    IF p_until - p_from > p_max THEN
        RETURN access_refuse(p_principal, 'delegate', 'Art 19',
                             format('Art 19: a delegation lasts at most %s here (asked: %s to %s); delegate again '
                                    'when it ends', p_max, p_from, p_until), NULL);
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

-- An officer's powers end, and a deputy's authority is withdrawn.
--
-- An officer who leaves the unit (transfer, retirement, suspension) is made
-- inactive by an admin of the node where they are registered; the change
-- replicates up like the registration, so every tier above stops admitting
-- their key (vigild loads active officers only) and stops taking them as a
-- named officer (Art 20(1), 20(2)), an approver or a principal behind a
-- delegation (Art 19). Nothing is deleted: the access log names
-- them, and an inactive officer may be made active again.
--
-- A principal withdraws a delegation before its end (Art 19: the deputy
-- approves only while authorised). Approvals given under it stay as they
-- were decided; from then on the deputy approves nothing on its strength.
--
-- Both are decided here, where the row lives, against the version the
-- daemon read when it encoded the change (P_SEEN_VERSION): a row changed in
-- between is refused, never overwritten. Every refusal is a record in the
-- access log, like the workflow's.
CREATE OR REPLACE FUNCTION officer_set_active(p_actor text, p_badge text, p_active boolean, p_reason text,
        p_seen_version bigint, p_version bigint, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
DECLARE
    o officers;
    act text := CASE WHEN p_active THEN 'officer.reactivate' ELSE 'officer.deactivate' END;
BEGIN
    SELECT * INTO o FROM officers WHERE badge = p_badge FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_actor, act, NULL, format('no officer %s', p_badge), NULL);
    END IF;
    IF o.via IS NOT NULL OR o.unit <> vigil_self() THEN
        RETURN access_refuse(p_actor, act, NULL,
                             format('officer %s is registered at %s: an admin there changes it', p_badge, o.unit),
                             NULL);
    END IF;
    IF o.active = p_active THEN
        RETURN access_refuse(p_actor, act, NULL, format('officer %s is already %s', p_badge,
                             CASE WHEN p_active THEN 'active' ELSE 'inactive' END), NULL);
    END IF;
    IF NOT p_active AND coalesce(p_reason, '') = '' THEN
        RETURN access_refuse(p_actor, act, NULL, 'a deactivation needs a reason (it goes in the access log)', NULL);
    END IF;
    IF o.version <> p_seen_version OR p_change IS NULL THEN
        RETURN access_refuse(p_actor, act, NULL, format('officer %s changed meanwhile: try again', p_badge), NULL);
    END IF;
    UPDATE officers SET active = p_active, version = p_version, updated_at = now() WHERE badge = p_badge;
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    PERFORM audit_append(p_actor, act, 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('%s (%s)%s', p_badge, o.name, coalesce(': ' || nullif(p_reason, ''), '')));
    RETURN ROW(true, NULL, NULL, CASE WHEN p_active THEN 'active' ELSE 'inactive' END)::access_answer;
END $$;

CREATE OR REPLACE FUNCTION delegation_revoke(p_id text, p_badge text, p_reason text, p_seen_version bigint,
        p_version bigint, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
DECLARE
    d delegations;
    self text := vigil_self();
BEGIN
    SELECT * INTO d FROM delegations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', NULL, format('no delegation %s', p_id), NULL);
    END IF;
    IF d.via IS NOT NULL OR d.unit <> self THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', 'Art 19',
                             format('Art 19: delegation %s is of %s: its principal withdraws it there', p_id, d.unit),
                             NULL);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_badge AND unit = self AND active)
       OR NOT officer_has_power(p_badge, 'principal') THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', 'Art 19',
                             format('Art 19: only the principal of %s withdraws a delegation', self), NULL);
    END IF;
    IF d.revoked THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', NULL, format('delegation %s is already revoked', p_id),
                             NULL);
    END IF;
    IF now() >= d.valid_until THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', NULL,
                             format('delegation %s already ended at %s', p_id, d.valid_until), NULL);
    END IF;
    IF d.version <> p_seen_version OR p_change IS NULL THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', NULL,
                             format('delegation %s changed meanwhile: try again', p_id), NULL);
    END IF;
    UPDATE delegations SET revoked = true, version = p_version WHERE id = p_id;
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    PERFORM audit_append(p_badge, 'delegation.revoke', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('%s: to %s until %s%s', p_id, d.deputy, d.valid_until,
                                coalesce(': ' || nullif(p_reason, ''), '')));
    RETURN ROW(true, NULL, NULL, 'revoked')::access_answer;
END $$;

-- --- Grants down, views at the owning station ----------------------------

-- Store a grant (newer versions replace) and pass it to each child whose
-- subtree holds one of its cameras. P_VIA is the parent, or NULL when the
-- grant was decided here. Returns the children it went to.
--
-- P_UNITS and P_KEYS name each officer of P_OFFICERS as the deciding node
-- knew them (Grant.named): the station grants views to that unit, badge
-- and key only (view_decide).
CREATE OR REPLACE FUNCTION grant_apply(p_via text, p_request_id text, p_version bigint, p_cameras text[],
        p_actions text[], p_officers text[], p_from timestamptz, p_to timestamptz, p_until timestamptz,
        p_revoked boolean, p_purpose text, p_destination text, p_case text, p_approved_by text,
        p_filed_at text, p_change bytea, p_units text[], p_keys text[]) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
    child text;
BEGIN
    INSERT INTO grants AS g (request_id, version, cameras, actions, officers, rec_from, rec_to, valid_until,
                             revoked, purpose, destination, case_no, approved_by, filed_at, via, officer_units,
                             officer_keys)
        VALUES (p_request_id, p_version, p_cameras, p_actions, p_officers, p_from, p_to, p_until, p_revoked,
                p_purpose, p_destination, p_case, p_approved_by, p_filed_at, p_via, p_units, p_keys)
        ON CONFLICT (request_id) DO UPDATE SET version = EXCLUDED.version, cameras = EXCLUDED.cameras,
            actions = EXCLUDED.actions, officers = EXCLUDED.officers, officer_units = EXCLUDED.officer_units,
            officer_keys = EXCLUDED.officer_keys, rec_from = EXCLUDED.rec_from,
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
-- station, and logged either way (with the emergency's ID when one let
-- it). Returns the grant and the stream URL.
--
-- Identity, not text: a grant names each officer by unit, badge and key as
-- the deciding node knew them; the officer asking is the unit (P_UNIT) and
-- key (P_KEY) the entry node authenticated. A badge registered again below,
-- with another key, gets nothing under the grant of the officer it copies.
--
-- Without a grant, an officer an emergency names (P_UNIT, P_KEY: their
-- unit and key as the entry node authenticated them) may act under it
-- within its bounds without a per-request approval (Art 19):
-- emergency_view_basis (functions/emergency.sql) decides; a copy or
-- retrieval names where it goes (P_DESTINATION, Art 20(4)), logged.
CREATE OR REPLACE FUNCTION view_decide(p_officer text, p_camera text, p_action text, p_from timestamptz,
        p_to timestamptz, p_entry text, p_unit text, p_key text DEFAULT NULL, p_destination text DEFAULT NULL,
        OUT granted boolean, OUT article text, OUT message text,
        OUT url text, OUT request_id text, OUT valid_until timestamptz, OUT emergency_id text)
LANGUAGE plpgsql AS $$
DECLARE
    g grants;
    c cameras;
    e emergencies;
    b record;
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
              AND EXISTS (SELECT 1 FROM unnest(grants.officers, grants.officer_units, grants.officer_keys) AS n(b, u, k)
                          WHERE n.b = p_officer AND n.u = p_unit AND n.k = p_key)
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
            -- Art 19: under an emergency, whom it names, within its bounds.
            SELECT * INTO b FROM emergency_view_basis(p_camera, p_officer, p_key, p_unit, p_action, p_from, p_to,
                                                      p_destination);
            SELECT * INTO e FROM emergencies em WHERE em.id = b.emergency_id;
            IF b.granted THEN
                granted := true;
                url := c.stream_url;
                emergency_id := e.id;
                valid_until := b.valid_until;
            ELSIF b.message IS NULL
                  AND EXISTS (SELECT 1 FROM grants WHERE cameras @> ARRAY[p_camera] AND officers @> ARRAY[p_officer]
                              AND NOT revoked AND now() < grants.valid_until) THEN
                article := 'Art 29(2)';
                message := format('Art 29(2): the grants for camera %s name an officer %s of another unit or key '
                                  '(this one: unit %s, key %s); no view under them', p_camera, p_officer,
                                  coalesce(p_unit, '?'), coalesce(left(p_key, 8) || '…', '?'));
            ELSE
                article := coalesce(b.article, 'Art 29(2)');
                message := coalesce(b.message, format('Art 29(2): no live approval or emergency lets %s %s camera %s%s',
                                  p_officer, p_action, p_camera,
                                  CASE WHEN p_action <> 'view-live' THEN ' for that time range' ELSE '' END));
            END IF;
        END IF;
    END IF;
    PERFORM audit_append(p_officer, p_action, CASE WHEN granted THEN 'ok' ELSE 'refused' END, article,
                         p_camera, coalesce(g.purpose, e.incident),
                         CASE WHEN g.request_id IS NULL THEN p_destination ELSE g.destination END, g.request_id, e.id,
                         coalesce(message, format('from %s', p_entry)));
END $$;

-- --- Powers conferred from above (Art 19) --------------------------------
--
-- The roles that approve (principal) and declare (commander) are not
-- given by the admin who registers an officer: an admin of the node
-- directly above the officer's unit confers them (officers replicate up,
-- so that node knows the officer and their key), logged there and carried
-- down to the unit's node as a Conferral change; at the city, which has no
-- tier above, two distinct admins confer (the first makes it pending, the
-- second live). A conferral is for the officer's key as the conferring
-- node knew it: an officer re-registered with another key holds nothing.

-- Does BADGE hold ROLE now: an active officer with a live conferral of it
-- for their current unit and key. Every check of a principal or a
-- commander calls this (access_approver_problem, delegation_grant,
-- delegation_revoke, emergency_declare, emergency_end).
CREATE OR REPLACE FUNCTION officer_has_power(p_badge text, p_role text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM officers o JOIN conferrals c
                       ON c.badge = o.badge AND c.unit = o.unit AND c.public_key = o.public_key
                   WHERE o.badge = p_badge AND o.active AND c.role = p_role AND c.state = 'live'
                     AND (c.valid_until IS NULL OR now() < c.valid_until));
$$;

-- Art 19: is DEPUTY authorised now: an active deputy holding a live
-- delegation from a principal of their own unit who still holds the
-- power? What the approver check and the deputy's reading of the
-- requests (lib/control/accessctl.c, access list) both ask.
CREATE OR REPLACE FUNCTION delegation_live(p_deputy text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM officers o
                       JOIN delegations d ON d.deputy = o.badge AND d.unit = o.unit
                       JOIN officers p ON p.badge = d.principal AND p.unit = o.unit
                   WHERE o.badge = p_deputy AND o.active AND 'deputy' = ANY (o.roles)
                     AND officer_has_power(p.badge, 'principal')
                     AND NOT d.revoked AND now() >= d.valid_from AND now() < d.valid_until);
$$;

-- `vigilctl officer confer BADGE --role R [--until T]` by admin P_ADMIN
-- (the full key; P_ACTOR as the log names admins). P_PARENT is this node's
-- parent (NULL at the city). Answers the state: pending or live.
CREATE OR REPLACE FUNCTION conferral_confer(p_admin text, p_actor text, p_id text, p_badge text, p_role text,
        p_until timestamptz, p_version bigint, p_parent text) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    self text := vigil_self();
    o officers;
    c conferrals;
    what text;
BEGIN
    IF p_role IS NULL OR p_role NOT IN ('principal', 'commander', 'auditor') THEN
        RETURN access_refuse(p_actor, 'officer.confer', 'Art 19',
                             'Art 19: the roles conferred from above are principal, commander and auditor', NULL);
    END IF;
    SELECT * INTO o FROM officers WHERE badge = p_badge AND active;
    IF NOT FOUND THEN
        RETURN access_refuse(p_actor, 'officer.confer', 'Art 19',
                             format('Art 19: no active officer %s is known here', p_badge), NULL);
    END IF;
    IF o.unit = self AND p_parent IS NOT NULL THEN
        RETURN access_refuse(p_actor, 'officer.confer', 'Art 19',
                             format('Art 19: %s is an officer of this node: an admin of the tier above (%s) '
                                    'confers %s', p_badge, p_parent, p_role), NULL);
    END IF;
    IF o.unit <> self AND NOT EXISTS (SELECT 1 FROM nodes n WHERE n.id = o.unit AND n.parent_id = self
                                      AND n.via IS NULL AND n.public_key IS NOT NULL) THEN
        RETURN access_refuse(p_actor, 'officer.confer', 'Art 19',
                             format('Art 19: %s belongs to %s: an admin of the node directly above it confers',
                                    p_badge, o.unit), NULL);
    END IF;
    IF p_until IS NOT NULL AND p_until <= now() THEN
        RETURN access_refuse(p_actor, 'officer.confer', NULL, '--until is in the past', NULL);
    END IF;
    SELECT * INTO c FROM conferrals
        WHERE unit = o.unit AND badge = p_badge AND role = p_role AND state <> 'revoked' FOR UPDATE;
    IF FOUND AND c.state = 'live' THEN
        RETURN access_refuse(p_actor, 'officer.confer', NULL,
                             format('%s already holds %s (%s): unconfer it first', p_badge, p_role, c.id), NULL);
    END IF;
    IF FOUND THEN
        -- Pending at the city: the second admin makes it live.
        IF p_admin = ANY (c.conferred_by) THEN
            RETURN access_refuse(p_actor, 'officer.confer', 'Art 19',
                                 format('Art 19: at the city a second, different admin confirms %s for %s; %s '
                                        'already conferred it', p_role, p_badge, p_actor), NULL);
        END IF;
        IF c.public_key <> o.public_key THEN
            RETURN access_refuse(p_actor, 'officer.confer', 'Art 19',
                                 format('Art 19: %s''s key changed since %s was conferred pending: unconfer it and '
                                        'start again', p_badge, p_role), NULL);
        END IF;
        UPDATE conferrals SET state = 'live', conferred_by = conferred_by || p_admin, version = p_version,
            updated_at = now() WHERE id = c.id;
        what := 'live';
        p_id := c.id;
        p_until := c.valid_until;
    ELSE
        what := CASE WHEN o.unit = self THEN 'pending' ELSE 'live' END;
        INSERT INTO conferrals (id, version, unit, badge, public_key, role, conferred_by, conferred_at,
                                valid_until, state)
            VALUES (p_id, p_version, o.unit, p_badge, o.public_key, p_role, ARRAY[p_admin], self, p_until, what);
    END IF;
    PERFORM audit_append(p_actor, 'officer.confer', 'ok', 'Art 19', NULL, NULL, NULL, NULL, NULL,
                         format('%s: %s on %s (unit %s, key %s)%s: %s', p_id, p_role, p_badge, o.unit,
                                o.public_key, coalesce(' until ' || p_until, ''),
                                CASE WHEN what = 'pending' THEN 'pending a second admin of the city'
                                     ELSE 'live' END));
    RETURN ROW(true, NULL, p_id, what)::access_answer;
END $$;

-- `vigilctl officer unconfer BADGE --role R [--reason TEXT]`: an admin of
-- the node where it was conferred ends it (one admin suffices: ending a
-- power takes nothing from anyone's protection); the newer version goes
-- down like the conferral.
CREATE OR REPLACE FUNCTION conferral_unconfer(p_actor text, p_badge text, p_role text, p_reason text,
        p_version bigint) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    c conferrals;
BEGIN
    SELECT * INTO c FROM conferrals
        WHERE badge = p_badge AND role = p_role AND state <> 'revoked' AND via IS NULL FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_actor, 'officer.unconfer', 'Art 19',
                             format('Art 19: %s holds no %s conferred here', p_badge, coalesce(p_role, '(role?)')),
                             NULL);
    END IF;
    UPDATE conferrals SET state = 'revoked', version = p_version, updated_at = now() WHERE id = c.id;
    PERFORM audit_append(p_actor, 'officer.unconfer', 'ok', 'Art 19', NULL, NULL, NULL, NULL, NULL,
                         format('%s: %s on %s (unit %s)%s', c.id, p_role, p_badge, c.unit,
                                coalesce(': ' || nullif(p_reason, ''), '')));
    RETURN ROW(true, NULL, c.id, 'revoked')::access_answer;
END $$;

-- What was conferred here for a unit below and not yet sent down (or sent
-- in an older version): vigild encodes each (features/conferral.c) and
-- hands it to conferral_send.
CREATE OR REPLACE FUNCTION conferral_send(p_id text, p_version bigint, p_change bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    c conferrals;
BEGIN
    SELECT * INTO c FROM conferrals WHERE id = p_id AND version = p_version AND via IS NULL FOR UPDATE;
    IF NOT FOUND OR c.dispatched_version IS NOT DISTINCT FROM c.version THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM nodes n WHERE n.id = c.unit AND n.parent_id = vigil_self() AND n.via IS NULL
               AND n.public_key IS NOT NULL) THEN
        PERFORM outbox_append(c.unit, ARRAY[p_change]);
    END IF;
    UPDATE conferrals SET dispatched_version = version WHERE id = p_id;
    RETURN true;
END $$;

-- A conferral from the parent P_VIA for an officer of this node. Only for
-- this node's officers and from the node that conferred it (the parent);
-- anything else is refused and logged, never raised (the link goes on).
CREATE OR REPLACE FUNCTION conferral_apply(p_via text, p_id text, p_version bigint, p_unit text, p_badge text,
        p_public_key text, p_role text, p_by text[], p_at text, p_until timestamptz, p_revoked boolean)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
BEGIN
    IF p_unit IS DISTINCT FROM vigil_self() OR p_at IS DISTINCT FROM p_via
       OR p_role NOT IN ('principal', 'commander', 'auditor') OR p_public_key !~ '^.{40}$'
       OR coalesce(cardinality(p_by), 0) = 0 THEN
        PERFORM audit_append(p_via, 'officer.conferral', 'refused', 'Art 19', NULL, NULL, NULL, NULL, NULL,
                             format('Art 19: conferral %s of %s on %s (unit %s, by %s) refused: the parent confers '
                                    'only on officers of this node', p_id, p_role, p_badge, p_unit, p_at));
        RETURN false;
    END IF;
    -- The parent's newest conferral of a role replaces an older one still
    -- held (the unique index would raise); a revoked one frees the slot.
    IF NOT p_revoked THEN
        UPDATE conferrals SET state = 'revoked', updated_at = now()
            WHERE unit = p_unit AND badge = p_badge AND role = p_role AND id <> p_id AND state <> 'revoked'
              AND version < p_version;
        IF EXISTS (SELECT 1 FROM conferrals WHERE unit = p_unit AND badge = p_badge AND role = p_role
                   AND id <> p_id AND state <> 'revoked') THEN
            RETURN false;       -- a newer one of the role is held: this one is stale
        END IF;
    END IF;
    INSERT INTO conferrals AS c (id, version, unit, badge, public_key, role, conferred_by, conferred_at,
                                 valid_until, state, via)
        VALUES (p_id, p_version, p_unit, p_badge, p_public_key, p_role, p_by, p_at, p_until,
                CASE WHEN p_revoked THEN 'revoked' ELSE 'live' END, p_via)
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, public_key = EXCLUDED.public_key,
            valid_until = EXCLUDED.valid_until, state = EXCLUDED.state, conferred_by = EXCLUDED.conferred_by,
            updated_at = now()
        WHERE c.version < EXCLUDED.version AND c.via IS NOT DISTINCT FROM EXCLUDED.via
        RETURNING true INTO changed;
    IF NOT coalesce(changed, false) THEN
        RETURN false;
    END IF;
    PERFORM audit_append(p_at, CASE WHEN p_revoked THEN 'officer.unconfer' ELSE 'officer.confer' END, 'ok',
                         'Art 19', NULL, NULL, NULL, NULL, NULL,
                         format('%s: %s on %s (key %s)%s, from %s', p_id, p_role, p_badge, p_public_key,
                                coalesce(' until ' || p_until, ''), p_via));
    RETURN true;
END $$;

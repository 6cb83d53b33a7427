-- schema/SCHEMA.sql: the live schema, as a database freshly migrated by
-- vigild dumps it. Written by schema/dump-schema, not by hand: change
-- schema/functions/ or add a numbered migration (schema/README.md).
--
-- PostgreSQL database dump
--



SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: access_answer; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.access_answer AS (
	ok boolean,
	article text,
	message text,
	state text
);


--
-- Name: access_approver_problem(text, text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.access_approver_problem(p_badge text, p_cameras text[]) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
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


--
-- Name: access_countersign(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.access_countersign(p_id text, p_badge text) RETURNS public.access_answer
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: access_decide(text, text, boolean, text, interval, interval); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.access_decide(p_id text, p_badge text, p_approve boolean, p_reason text, p_valid_for interval, p_max interval) RETURNS public.access_answer
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: access_refuse(text, text, text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.access_refuse(p_actor text, p_action text, p_article text, p_message text, p_request text, p_camera text DEFAULT NULL::text) RETURNS public.access_answer
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM audit_append(p_actor, p_action, 'refused', p_article, p_camera, NULL, NULL, p_request, NULL,
                         p_message);
    RETURN ROW(false, p_article, p_message, NULL)::access_answer;
END $$;


--
-- Name: access_request_file(text, text, text[], text, text, text[], text[], timestamp with time zone, timestamp with time zone, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.access_request_file(p_id text, p_filed_by text, p_officers text[], p_case text, p_purpose text, p_cameras text[], p_actions text[], p_from timestamp with time zone, p_to timestamp with time zone, p_destination text, p_approval_doc text) RETURNS public.access_answer
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: access_revoke(text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.access_revoke(p_id text, p_badge text, p_reason text) RETURNS public.access_answer
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: audit_append(text, text, text, text, text, text, text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_append(p_actor text, p_action text, p_outcome text, p_article text, p_camera text, p_purpose text, p_destination text, p_request_id text, p_emergency_id text, p_detail text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: audit_field(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_field(p text) RETURNS bytea
    LANGUAGE sql IMMUTABLE
    RETURN CASE WHEN (p IS NULL) THEN '\xffffffff'::bytea ELSE (int4send(octet_length(convert_to(p, 'UTF8'::name))) || convert_to(p, 'UTF8'::name)) END;


--
-- Name: audit_canonical_fields(smallint, bigint, timestamp with time zone, text, text, text, text, text, text, text, text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_canonical_fields(p_form smallint, p_seq bigint, p_at timestamp with time zone, p_node text, p_actor text, p_action text, p_outcome text, p_article text, p_camera text, p_purpose text, p_destination text, p_request_id text, p_emergency_id text, p_detail text) RETURNS bytea
    LANGUAGE sql STABLE
    RETURN CASE WHEN (p_form = 1) THEN convert_to(concat_ws(''::text, (p_seq)::text, (((EXTRACT(epoch FROM p_at) * (1000000)::numeric))::bigint)::text, p_node, p_actor, p_action, p_outcome, COALESCE(p_article, ''::text), COALESCE(p_camera, ''::text), COALESCE(p_purpose, ''::text), COALESCE(p_destination, ''::text), COALESCE(p_request_id, ''::text), COALESCE(p_emergency_id, ''::text), COALESCE(p_detail, ''::text)), 'UTF8'::name) ELSE ((((((((((((((convert_to('vigil-audit-2'::text, 'UTF8'::name) || '\x00'::bytea) || public.audit_field((p_seq)::text)) || public.audit_field((((EXTRACT(epoch FROM p_at) * (1000000)::numeric))::bigint)::text)) || public.audit_field(p_node)) || public.audit_field(p_actor)) || public.audit_field(p_action)) || public.audit_field(p_outcome)) || public.audit_field(p_article)) || public.audit_field(p_camera)) || public.audit_field(p_purpose)) || public.audit_field(p_destination)) || public.audit_field(p_request_id)) || public.audit_field(p_emergency_id)) || public.audit_field(p_detail)) END;


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: audit_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_log (
    seq bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    node_id text NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    outcome text NOT NULL,
    article text,
    camera text,
    purpose text,
    destination text,
    request_id text,
    emergency_id text,
    detail text,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    form smallint DEFAULT 1 NOT NULL,
    CONSTRAINT audit_log_form_known CHECK ((form = ANY (ARRAY[1, 2]))),
    CONSTRAINT audit_log_outcome_check CHECK ((outcome = ANY (ARRAY['ok'::text, 'refused'::text])))
);


--
-- Name: audit_canonical(public.audit_log); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_canonical(r public.audit_log) RETURNS bytea
    LANGUAGE sql STABLE
    RETURN public.audit_canonical_fields((r).form, (r).seq, (r).at, (r).node_id, (r).actor, (r).action, (r).outcome, (r).article, (r).camera, (r).purpose, (r).destination, (r).request_id, (r).emergency_id, (r).detail);


--
-- Name: audit_copies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_copies (
    node_id text NOT NULL,
    seq bigint NOT NULL,
    at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    outcome text NOT NULL,
    article text,
    camera text,
    purpose text,
    destination text,
    request_id text,
    emergency_id text,
    detail text,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL,
    via text NOT NULL,
    form smallint DEFAULT 1 NOT NULL,
    CONSTRAINT audit_copies_form_known CHECK ((form = ANY (ARRAY[1, 2])))
);


--
-- Name: audit_canonical_copy(public.audit_copies); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_canonical_copy(r public.audit_copies) RETURNS bytea
    LANGUAGE sql STABLE
    RETURN public.audit_canonical_fields((r).form, (r).seq, (r).at, (r).node_id, (r).actor, (r).action, (r).outcome, (r).article, (r).camera, (r).purpose, (r).destination, (r).request_id, (r).emergency_id, (r).detail);


--
-- Name: audit_chain(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_chain() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: audit_checkpoint_keep(text, text, bigint, bytea, timestamp with time zone, bytea, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_checkpoint_keep(p_via text, p_node text, p_seq bigint, p_hash bytea, p_signed_at timestamp with time zone, p_signature bytea, p_change bytea, p_uplink text) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO audit_checkpoints (node_id, seq, hash, signed_at, signature, via)
        VALUES (p_node, p_seq, p_hash, p_signed_at, p_signature, p_via)
        ON CONFLICT (node_id, seq) DO NOTHING;
    IF FOUND AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN FOUND;
END $$;


--
-- Name: audit_checkpoints_json(text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_checkpoints_json(p_node text, p_limit integer) RETURNS json
    LANGUAGE plpgsql STABLE
    AS $$
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


--
-- Name: audit_copies_apply(text, text, text[], bigint[], bigint[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_copies_apply(p_via text, p_uplink text, p_node text[], p_seq bigint[], p_at_us bigint[], p_actor text[], p_action text[], p_outcome text[], p_article text[], p_camera text[], p_purpose text[], p_destination text[], p_request_id text[], p_emergency_id text[], p_detail text[], p_prev bytea[], p_hash bytea[], p_change bytea[]) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: audit_copies_fill(text, text, text[], bigint[], bigint[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], bytea[], bytea[], bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_copies_fill(p_via text, p_uplink text, p_node text[], p_seq bigint[], p_at_us bigint[], p_actor text[], p_action text[], p_outcome text[], p_article text[], p_camera text[], p_purpose text[], p_destination text[], p_request_id text[], p_emergency_id text[], p_detail text[], p_prev bytea[], p_hash bytea[], p_change bytea[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: audit_copy_apply(text, text, text, bigint, timestamp with time zone, text, text, text, text, text, text, text, text, text, text, bytea, bytea, bytea); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_copy_apply(p_via text, p_uplink text, p_node text, p_seq bigint, p_at timestamp with time zone, p_actor text, p_action text, p_outcome text, p_article text, p_camera text, p_purpose text, p_destination text, p_request_id text, p_emergency_id text, p_detail text, p_prev bytea, p_hash bytea, p_change bytea) RETURNS text
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: audit_copy_form(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_copy_form() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: audit_fork_keep(text, text, text, bigint, timestamp with time zone, text, text, text, bytea, bytea, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_fork_keep(p_via text, p_uplink text, p_node text, p_seq bigint, p_at timestamp with time zone, p_actor text, p_action text, p_outcome text, p_prev bytea, p_hash bytea, p_change bytea, p_detail text) RETURNS void
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: audit_head_advance(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_head_advance() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.one IS DISTINCT FROM OLD.one OR NEW.seq IS DISTINCT FROM OLD.seq + 1
       OR length(NEW.hash) IS DISTINCT FROM 32 THEN
        RAISE EXCEPTION 'Art 23(5): the head of the access log only advances to the next record (% to % refused)',
            OLD.seq, NEW.seq USING ERRCODE = 'VG023';
    END IF;
    RETURN NEW;
END $$;


--
-- Name: audit_head_chained(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_head_chained() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM 1 FROM audit_log l
        WHERE l.seq = NEW.seq AND l.hash = NEW.hash AND l.prev_hash = OLD.hash
          AND l.hash = sha256(OLD.hash || audit_canonical(l));
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Art 23(5): the head of the access log names record %, which the log does not hold '
                        'as the successor of record %', NEW.seq, OLD.seq USING ERRCODE = 'VG023';
    END IF;
    RETURN NULL;
END $$;


--
-- Name: audit_refuse(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_refuse() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    RAISE EXCEPTION 'Art 23(5): the access log is append-only (% refused)', TG_OP
        USING ERRCODE = 'VG023';
END $$;


--
-- Name: audit_verify(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_verify(OUT records bigint, OUT first_bad_seq bigint) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
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


--
-- Name: audit_verify_copy(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.audit_verify_copy(p_node text, OUT records bigint, OUT first_bad_seq bigint) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
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


--
-- Name: camera_apply(text, text, boolean, text[], text[], bigint[], boolean[], text[], text[], text[], text[], text[], text[], double precision[], double precision[], double precision[], double precision[], boolean[], text[], boolean[], bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.camera_apply(p_via text, p_uplink text, p_snapshot boolean, p_id text[], p_station_id text[], p_version bigint[], p_removed boolean[], p_name text[], p_system_code text[], p_site_code text[], p_stream_url text[], p_codec text[], p_resolution text[], p_latitude double precision[], p_longitude double precision[], p_bearing double precision[], p_field_of_view double precision[], p_ptz boolean[], p_status text[], p_has_stream boolean[], p_change bytea[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    forwarded bytea[];
BEGIN
    -- Written by catalog_define_apply('cameras', 'camera_apply', ARRAY['id']) (schema/functions/catalog.sql)
    -- from the columns of cameras: change the table, not this text.
    WITH input AS (
        SELECT DISTINCT ON (id) *
        FROM unnest(p_id, p_station_id, p_version, p_removed, p_name, p_system_code, p_site_code, p_stream_url, p_codec, p_resolution, p_latitude, p_longitude, p_bearing, p_field_of_view, p_ptz, p_status, p_has_stream, p_change)
             WITH ORDINALITY AS u(id, station_id, version, removed, name, system_code, site_code, stream_url, codec, resolution, latitude, longitude, bearing, field_of_view, ptz, status, has_stream, change, ord)
        ORDER BY id, version DESC
    ), upserted AS (
        INSERT INTO cameras AS t (id, station_id, name, system_code, site_code, stream_url, codec, resolution, latitude, longitude, bearing, field_of_view, ptz, status, has_stream, version, via)
        SELECT id, station_id, name, system_code, site_code, stream_url, codec, resolution, latitude, longitude, bearing, field_of_view, coalesce(ptz, false), coalesce(status, 'unknown'::text), coalesce(has_stream, false), version, p_via
        FROM input WHERE NOT removed
        ON CONFLICT (id) DO UPDATE SET station_id = EXCLUDED.station_id, name = EXCLUDED.name, system_code = EXCLUDED.system_code, site_code = EXCLUDED.site_code, stream_url = EXCLUDED.stream_url, codec = EXCLUDED.codec, resolution = EXCLUDED.resolution, latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, bearing = EXCLUDED.bearing, field_of_view = EXCLUDED.field_of_view, ptz = EXCLUDED.ptz, status = EXCLUDED.status, has_stream = EXCLUDED.has_stream,
            version = EXCLUDED.version, via = EXCLUDED.via, updated_at = now(), snapshot_mark = false
        WHERE t.version < EXCLUDED.version
        RETURNING t.id
    ), deleted AS (
        DELETE FROM cameras t USING input i
        WHERE i.removed AND t.id = i.id AND t.version < i.version
        RETURNING t.id
    )
    SELECT array_agg(i.change ORDER BY i.ord) INTO forwarded
    FROM input i
    WHERE (i.id) IN (SELECT * FROM upserted UNION ALL SELECT * FROM deleted);
    IF p_snapshot THEN
        UPDATE cameras t SET snapshot_mark = false
        FROM unnest(p_id) AS u(id)
        WHERE t.snapshot_mark AND t.id = u.id;
    END IF;
    IF p_uplink IS NOT NULL AND forwarded IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, forwarded);
    END IF;
    RETURN coalesce(array_length(forwarded, 1), 0);
END $$;


--
-- Name: camera_status_apply(text, text[], text[], bigint[], bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.camera_status_apply(p_uplink text, p_id text[], p_status text[], p_version bigint[], p_change bytea[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    forwarded bytea[];
BEGIN
    WITH input AS (
        SELECT DISTINCT ON (id) * FROM unnest(p_id, p_status, p_version, p_change)
            WITH ORDINALITY AS u(id, status, version, change, ord)
        ORDER BY id, version DESC
    ), updated AS (
        UPDATE cameras c SET status = i.status, version = i.version, updated_at = now()
        FROM input i WHERE c.id = i.id AND c.version < i.version
        RETURNING c.id
    )
    SELECT array_agg(i.change ORDER BY i.ord) INTO forwarded
    FROM input i WHERE i.id IN (SELECT id FROM updated);
    IF p_uplink IS NOT NULL AND forwarded IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, forwarded);
    END IF;
    RETURN coalesce(array_length(forwarded, 1), 0);
END $$;


--
-- Name: cameras_check(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.cameras_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    self text;
    bad record;
    cam text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE via IS NULL) THEN
        RETURN NULL;
    END IF;
    self := vigil_self();
    -- Art 19, 29(2): an address is held at its station, and this node is
    -- none (cameras_address_stays).
    IF EXISTS (SELECT 1 FROM new_rows WHERE via IS NULL AND stream_url IS NOT NULL) AND NOT vigil_self_is_station() THEN
        RAISE EXCEPTION 'Art 19: a stream URL is held at its camera''s station only, and this node is not a station'
            USING ERRCODE = 'VG019', DETAIL = 'stream_url';
    END IF;
    -- Art 5, 24(1): no credentials in a stream URL (url_has_credentials);
    -- a camera's are its system's, held at this station.
    SELECT * INTO bad FROM new_rows WHERE via IS NULL AND stream_url IS NOT NULL AND url_has_credentials(stream_url)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Art 5: the stream URL of camera % carries credentials; give it without them and hold '
            'them at this station with `vigilctl system credentials % --user U --password P`',
            bad.id, bad.system_code USING ERRCODE = 'VG005', DETAIL = 'stream_url';
    END IF;
    -- GB/T 28181 (Art 15): a camera is type 131/132, under this station.
    SELECT * INTO bad FROM new_rows
        WHERE via IS NULL AND (substr(id, 11, 3) NOT IN ('131', '132') OR substr(id, 1, 8) <> substr(self, 1, 8)
                               OR station_id <> self)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Art 15: camera ID % is not a camera (type 131/132) of this station (centre code %)',
            bad.id, substr(self, 1, 8) USING ERRCODE = 'VG015', DETAIL = 'id';
    END IF;
    SELECT n.site_code, s.code AS site, t.forbidden, t.code AS location_type INTO bad
        FROM (SELECT DISTINCT station_id, site_code FROM new_rows WHERE via IS NULL) n
        LEFT JOIN sites s ON s.station_id = n.station_id AND s.code = n.site_code
        LEFT JOIN location_types t ON t.code = s.location_type
        WHERE s.code IS NULL OR t.forbidden IS NOT NULL
        LIMIT 1;
    IF FOUND THEN
        SELECT n.id INTO cam FROM new_rows n WHERE n.via IS NULL AND n.site_code = bad.site_code LIMIT 1;
        IF bad.site IS NULL THEN
            RAISE EXCEPTION 'site "%" of camera % is not registered at this station', bad.site_code, cam
                USING ERRCODE = 'VG017', DETAIL = 'site';
        END IF;
        -- Art 8: no capture device at these places.
        RAISE EXCEPTION '%: no camera may be installed at a % (site "%", camera %)',
            bad.forbidden, bad.location_type, bad.site_code, cam USING ERRCODE = 'VG008', DETAIL = 'site';
    END IF;
    SELECT n.system_code INTO bad
        FROM (SELECT DISTINCT station_id, system_code FROM new_rows WHERE via IS NULL) n
        LEFT JOIN systems y ON y.station_id = n.station_id AND y.code = n.system_code
        WHERE y.code IS NULL
        LIMIT 1;
    IF FOUND THEN
        SELECT n.id INTO cam FROM new_rows n WHERE n.via IS NULL AND n.system_code = bad.system_code LIMIT 1;
        RAISE EXCEPTION 'system "%" of camera % is not registered at this station', bad.system_code, cam
            USING ERRCODE = 'VG017', DETAIL = 'system';
    END IF;
    RETURN NULL;
END $$;


--
-- Name: catalog_address_gone(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.catalog_address_gone() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_TABLE_NAME = 'cameras' THEN
        NEW.has_stream := false;
    ELSE
        NEW.has_reserved_interface := false;
    END IF;
    RETURN NEW;
END $$;


--
-- Name: catalog_address_stays(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.catalog_address_stays() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_TABLE_NAME = 'cameras' THEN
        NEW.has_stream := true;
        IF NEW.via IS NOT NULL OR NOT vigil_self_is_station() THEN
            NEW.stream_url := NULL;
        END IF;
    ELSE
        NEW.has_reserved_interface := true;
        IF NEW.via IS NOT NULL OR NOT vigil_self_is_station() THEN
            NEW.reserved_interface := NULL;
        END IF;
    END IF;
    RETURN NEW;
END $$;


--
-- Name: catalog_define_apply(regclass, text, text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.catalog_define_apply(p_table regclass, p_function text, p_key text[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    c record;
    data text[] := '{}';     -- data columns, table order
    vals text[] := '{}';     -- what the INSERT takes for each
    sets text[] := '{}';     -- ON CONFLICT assignments (not for the key)
    lead text[] := '{}';     -- the key and station_id, table order
    rest text[] := '{}';     -- the other data columns, table order
    types jsonb := '{}';     -- column -> type
    vtype text;              -- the version column's type
    cols text[];             -- arguments after p_snapshot, as columns
    args text;
    body text;
    f oid;
BEGIN
    FOR c IN SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type,
                    pg_get_expr(d.adbin, d.adrelid) AS def
             FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
             WHERE a.attrelid = p_table AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
             ORDER BY a.attnum LOOP
        IF c.name = 'version' THEN
            vtype := c.type;
        ELSIF c.name IN ('removed', 'change', 'ord', 'forwarded') THEN
            RAISE EXCEPTION 'catalog_define_apply: %.% clashes with a name the apply function uses',
                p_table, c.name;
        ELSIF c.name NOT IN ('updated_at', 'via', 'snapshot_mark') THEN
            data := data || c.name;
            vals := vals || CASE WHEN c.def IS NULL THEN quote_ident(c.name)
                                 ELSE format('coalesce(%I, %s)', c.name, c.def) END;
            IF NOT c.name = ANY (p_key) THEN
                sets := sets || format('%I = EXCLUDED.%I', c.name, c.name);
            END IF;
            IF c.name = ANY (p_key) OR c.name = 'station_id' THEN
                lead := lead || c.name;
            ELSE
                rest := rest || c.name;
            END IF;
            types := types || jsonb_build_object(c.name, c.type);
        END IF;
    END LOOP;
    IF vtype IS NULL OR NOT p_key <@ data THEN
        RAISE EXCEPTION 'catalog_define_apply: % needs a version column and the key columns %', p_table, p_key;
    END IF;
    types := types || jsonb_build_object('version', vtype, 'removed', 'boolean', 'change', 'bytea');
    cols := lead || ARRAY['version', 'removed'] || rest || ARRAY['change'];
    SELECT 'p_via text, p_uplink text, p_snapshot boolean, '
           || string_agg(format('%I %s[]', 'p_' || x, types->>x), ', ' ORDER BY i)
        INTO args FROM unnest(cols) WITH ORDINALITY AS u(x, i);
    body := concat_ws(E'\n',
        '',
        'DECLARE',
        '    forwarded bytea[];',
        'BEGIN',
        format('    -- Written by catalog_define_apply(%L, %L, ARRAY[%s]) (schema/functions/catalog.sql)',
               p_table::text, p_function, (SELECT string_agg(quote_literal(k), ', ') FROM unnest(p_key) k)),
        format('    -- from the columns of %s: change the table, not this text.', p_table),
        '    WITH input AS (',
        format('        SELECT DISTINCT ON (%s) *', (SELECT string_agg(quote_ident(k), ', ') FROM unnest(p_key) k)),
        format('        FROM unnest(%s)', (SELECT string_agg(quote_ident('p_' || x), ', ' ORDER BY i)
                                           FROM unnest(cols) WITH ORDINALITY AS u(x, i))),
        format('             WITH ORDINALITY AS u(%s, ord)', (SELECT string_agg(quote_ident(x), ', ' ORDER BY i)
                                                              FROM unnest(cols) WITH ORDINALITY AS u(x, i))),
        format('        ORDER BY %s, version DESC', (SELECT string_agg(quote_ident(k), ', ') FROM unnest(p_key) k)),
        '    ), upserted AS (',
        format('        INSERT INTO %s AS t (%s, version, via)', p_table,
               (SELECT string_agg(quote_ident(x), ', ' ORDER BY i) FROM unnest(data) WITH ORDINALITY AS u(x, i))),
        format('        SELECT %s, version, p_via', array_to_string(vals, ', ')),
        '        FROM input WHERE NOT removed',
        format('        ON CONFLICT (%s) DO UPDATE SET %s,', (SELECT string_agg(quote_ident(k), ', ') FROM unnest(p_key) k),
               array_to_string(sets, ', ')),
        '            version = EXCLUDED.version, via = EXCLUDED.via, updated_at = now(), snapshot_mark = false',
        '        WHERE t.version < EXCLUDED.version',
        format('        RETURNING %s', (SELECT string_agg(format('t.%I', k), ', ') FROM unnest(p_key) k)),
        '    ), deleted AS (',
        format('        DELETE FROM %s t USING input i', p_table),
        format('        WHERE i.removed AND %s AND t.version < i.version',
               (SELECT string_agg(format('t.%I = i.%I', k, k), ' AND ') FROM unnest(p_key) k)),
        format('        RETURNING %s', (SELECT string_agg(format('t.%I', k), ', ') FROM unnest(p_key) k)),
        '    )',
        '    SELECT array_agg(i.change ORDER BY i.ord) INTO forwarded',
        '    FROM input i',
        format('    WHERE (%s) IN (SELECT * FROM upserted UNION ALL SELECT * FROM deleted);',
               (SELECT string_agg(format('i.%I', k), ', ') FROM unnest(p_key) k)),
        '    IF p_snapshot THEN',
        format('        UPDATE %s t SET snapshot_mark = false', p_table),
        format('        FROM unnest(%s) AS u(%s)', (SELECT string_agg(quote_ident('p_' || k), ', ') FROM unnest(p_key) k),
               (SELECT string_agg(quote_ident(k), ', ') FROM unnest(p_key) k)),
        format('        WHERE t.snapshot_mark AND %s;',
               (SELECT string_agg(format('t.%I = u.%I', k, k), ' AND ') FROM unnest(p_key) k)),
        '    END IF;',
        '    IF p_uplink IS NOT NULL AND forwarded IS NOT NULL THEN',
        '        PERFORM outbox_append(p_uplink, forwarded);',
        '    END IF;',
        '    RETURN coalesce(array_length(forwarded, 1), 0);',
        'END ');
    -- CREATE OR REPLACE cannot change the arguments: a function of that name
    -- with others (the table gained a column) goes first.
    FOR f IN SELECT p.oid FROM pg_proc p
             WHERE p.proname = p_function AND p.pronamespace = current_schema()::regnamespace
               AND pg_get_function_identity_arguments(p.oid) <> args LOOP
        EXECUTE format('DROP FUNCTION %s', f::regprocedure);
    END LOOP;
    EXECUTE format('CREATE OR REPLACE FUNCTION %I(%s) RETURNS integer LANGUAGE plpgsql AS %L',
                   p_function, args, body);
END $$;


--
-- Name: catalog_in_use(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.catalog_in_use() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF OLD.via IS NOT NULL THEN
        RETURN OLD;
    END IF;
    IF TG_TABLE_NAME = 'sites' AND EXISTS (SELECT 1 FROM cameras
            WHERE station_id = OLD.station_id AND site_code = OLD.code) THEN
        RAISE EXCEPTION 'site "%" still has cameras; remove or move them first', OLD.code
            USING ERRCODE = 'VG018', DETAIL = 'code';
    END IF;
    IF TG_TABLE_NAME = 'systems' AND EXISTS (SELECT 1 FROM cameras
            WHERE station_id = OLD.station_id AND system_code = OLD.code) THEN
        RAISE EXCEPTION 'system "%" still has cameras; remove or move them first', OLD.code
            USING ERRCODE = 'VG018', DETAIL = 'code';
    END IF;
    RETURN OLD;
END $$;


--
-- Name: catalog_restamp_own(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.catalog_restamp_own() RETURNS bigint
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE sites SET version = next_version(), updated_at = now() WHERE via IS NULL;
    UPDATE systems SET version = next_version(), updated_at = now() WHERE via IS NULL;
    UPDATE cameras SET version = next_version(), updated_at = now() WHERE via IS NULL;
    RETURN (SELECT last FROM version_clock);
END $$;


--
-- Name: conferral_apply(text, text, bigint, text, text, text, text, text[], text, timestamp with time zone, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conferral_apply(p_via text, p_id text, p_version bigint, p_unit text, p_badge text, p_public_key text, p_role text, p_by text[], p_at text, p_until timestamp with time zone, p_revoked boolean) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $_$
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
END $_$;


--
-- Name: conferral_confer(text, text, text, text, text, timestamp with time zone, bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conferral_confer(p_admin text, p_actor text, p_id text, p_badge text, p_role text, p_until timestamp with time zone, p_version bigint, p_parent text) RETURNS public.access_answer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: conferral_send(text, bigint, bytea); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conferral_send(p_id text, p_version bigint, p_change bytea) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: conferral_unconfer(text, text, text, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.conferral_unconfer(p_actor text, p_badge text, p_role text, p_reason text, p_version bigint) RETURNS public.access_answer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: dead_letter_discard(bigint, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.dead_letter_discard(p_id bigint, p_by text, p_reason text) RETURNS void
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: dead_letter_hold(text, text, bigint, bytea, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.dead_letter_hold(p_peer text, p_epoch text, p_seq bigint, p_change bytea, p_kind text, p_reason text) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: dead_letter_retried(bigint, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.dead_letter_retried(p_id bigint, p_by text) RETURNS void
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: delegation_apply(text, text, boolean, text, bigint, text, text, text, timestamp with time zone, timestamp with time zone, boolean, bytea); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.delegation_apply(p_via text, p_uplink text, p_snapshot boolean, p_id text, p_version bigint, p_unit text, p_principal text, p_deputy text, p_from timestamp with time zone, p_until timestamp with time zone, p_revoked boolean, p_change bytea) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: delegation_grant(text, text, text, timestamp with time zone, timestamp with time zone, bigint, bytea, text, interval); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.delegation_grant(p_id text, p_principal text, p_deputy text, p_from timestamp with time zone, p_until timestamp with time zone, p_version bigint, p_change bytea, p_uplink text, p_max interval) RETURNS public.access_answer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: delegation_live(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.delegation_live(p_deputy text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT EXISTS (SELECT 1 FROM officers o
                       JOIN delegations d ON d.deputy = o.badge AND d.unit = o.unit
                       JOIN officers p ON p.badge = d.principal AND p.unit = o.unit
                   WHERE o.badge = p_deputy AND o.active AND 'deputy' = ANY (o.roles)
                     AND officer_has_power(p.badge, 'principal')
                     AND NOT d.revoked AND now() >= d.valid_from AND now() < d.valid_until);
$$;


--
-- Name: delegation_revoke(text, text, text, bigint, bigint, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.delegation_revoke(p_id text, p_badge text, p_reason text, p_seen_version bigint, p_version bigint, p_change bytea, p_uplink text) RETURNS public.access_answer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: emergency_acted(text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_acted(p_id text, p_version bigint) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    UPDATE emergencies SET acted_version = p_version
    WHERE id = p_id AND acted_version IS DISTINCT FROM p_version;
$$;


--
-- Name: emergency_apply(text, text, bigint, text, double precision, double precision, double precision, timestamp with time zone, timestamp with time zone, text, text, text, text, boolean, bytea, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_apply(p_via text, p_id text, p_version bigint, p_scope text, p_lat double precision, p_lon double precision, p_radius double precision, p_starts timestamp with time zone, p_ends timestamp with time zone, p_incident text, p_authority text, p_declared_by text, p_declared_at text, p_ended boolean, p_change bytea, p_bounds jsonb DEFAULT NULL::jsonb) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    changed boolean;
    child text;
    n integer := 0;
BEGIN
    INSERT INTO emergencies AS e (id, version, scope, near_lat, near_lon, radius_m, starts_at, ends_at, incident,
                                  authority, declared_by, declared_at, ended_at, via, officers, roles, named,
                                  look_back)
        VALUES (p_id, p_version, p_scope, p_lat, p_lon, p_radius, p_starts, p_ends, p_incident, p_authority,
                p_declared_by, p_declared_at, CASE WHEN p_ended THEN now() END, p_via,
                emergency_bounds_officers(p_bounds), emergency_bounds_roles(p_bounds),
                coalesce(p_bounds->'named', '[]'),
                coalesce((p_bounds->>'look_back_us')::bigint, 0) * interval '1 microsecond')
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, ends_at = EXCLUDED.ends_at,
            ended_at = coalesce(e.ended_at, EXCLUDED.ended_at), officers = EXCLUDED.officers,
            roles = EXCLUDED.roles, named = EXCLUDED.named, look_back = EXCLUDED.look_back
        WHERE e.version < EXCLUDED.version
        RETURNING true INTO changed;
    IF p_via IS NULL THEN
        changed := true;                    -- declared here: send what is stamped
    END IF;
    IF NOT coalesce(changed, false) THEN
        RETURN 0;
    END IF;
    IF p_via IS NOT NULL THEN
        PERFORM audit_append(p_declared_by, 'emergency.received', 'ok', NULL, NULL, p_incident, NULL, NULL, p_id,
                             format('from %s', p_via));
    END IF;
    FOR child IN SELECT c.id FROM nodes c
                 WHERE c.parent_id = vigil_self() AND c.public_key IS NOT NULL
                   AND (left(c.id, length(vigil_prefix(p_scope))) = vigil_prefix(p_scope)
                        OR left(p_scope, length(vigil_prefix(c.id))) = vigil_prefix(c.id)) LOOP
        PERFORM outbox_append(child, ARRAY[p_change]);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;


--
-- Name: emergency_bounds_officers(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_bounds_officers(p_bounds jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY(SELECT jsonb_array_elements_text(COALESCE((p_bounds -> 'officers'::text), '[]'::jsonb)) AS jsonb_array_elements_text);


--
-- Name: emergency_bounds_roles(jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_bounds_roles(p_bounds jsonb) RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY(SELECT jsonb_array_elements_text(COALESCE((p_bounds -> 'roles'::text), '[]'::jsonb)) AS jsonb_array_elements_text);


--
-- Name: emergency_declare(text, text, text, double precision, double precision, double precision, interval, text, text, text[], text[], interval); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_declare(p_id text, p_badge text, p_scope text, p_lat double precision, p_lon double precision, p_radius double precision, p_duration interval, p_incident text, p_authority text, p_officers text[] DEFAULT '{}'::text[], p_roles text[] DEFAULT '{}'::text[], p_look_back interval DEFAULT '00:00:00'::interval) RETURNS public.access_answer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    self text := vigil_self();
    v_officers text[] := ARRAY(SELECT DISTINCT b FROM unnest(coalesce(p_officers, '{}')) b WHERE b <> '' ORDER BY 1);
    v_roles text[] := ARRAY(SELECT DISTINCT r FROM unnest(coalesce(p_roles, '{}')) r WHERE r <> '' ORDER BY 1);
    v_look_back interval := coalesce(p_look_back, interval '0');
    who text := format('officers %s; roles %s; look-back %s', coalesce(nullif(array_to_string(p_officers, ','), ''), '-'),
                       coalesce(nullif(array_to_string(p_roles, ','), ''), '-'), coalesce(p_look_back, interval '0'));
    bad text;
    v_named jsonb;
    v bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_badge AND unit = self AND active)
       OR NOT officer_has_power(p_badge, 'commander') THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             format('Art 19: only a commander of %s declares an emergency here', self), NULL);
    END IF;
    IF substr(self, 7, 2) <> '00' THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             'Art 19: emergencies are declared at the city or a district', NULL);
    END IF;
    IF left(p_scope, length(vigil_prefix(self))) <> vigil_prefix(self) THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             format('Art 19: %s is not under this node', p_scope), NULL);
    END IF;
    IF coalesce(p_incident, '') = '' OR coalesce(p_authority, '') = '' THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             'Art 19: an emergency names its incident and the authority with emergency powers', NULL);
    END IF;
    IF p_duration IS NULL OR p_duration <= interval '0' OR p_duration > interval '7 days' THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             'Art 19: an emergency lasts a bounded time (up to 7 days)', NULL);
    END IF;
    -- Art 19, 29(2): access under it is for whom it names, no one else.
    IF cardinality(v_officers) = 0 AND cardinality(v_roles) = 0 THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             format('Art 19: an emergency names who may act under it: --officer BADGE or --role ROLE '
                                    '(of %s)', self), NULL);
    END IF;
    IF cardinality(v_officers) > 256 THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             'Art 19: an emergency names at most 256 officers; name a role instead', NULL);
    END IF;
    SELECT string_agg(b, ', ') INTO bad FROM unnest(v_officers) b
        WHERE NOT EXISTS (SELECT 1 FROM officers o WHERE o.badge = b AND o.unit = self AND o.active);
    IF bad IS NOT NULL THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             format('Art 19: %s: not an active officer of %s', bad, self), NULL);
    END IF;
    SELECT string_agg(r, ', ') INTO bad FROM unnest(v_roles) r
        WHERE NOT EXISTS (SELECT 1 FROM officers o WHERE o.unit = self AND o.active AND r = ANY (o.roles));
    IF bad IS NOT NULL THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             format('Art 19: no active officer of %s holds the role %s', self, bad), NULL);
    END IF;
    IF v_look_back < interval '0' OR v_look_back > interval '24 hours' THEN
        RETURN access_refuse(p_badge, 'emergency.declare', 'Art 19',
                             'Art 19: an emergency looks back at most 24 hours before its start; older footage '
                             'needs an approval (access request)', NULL);
    END IF;
    SELECT jsonb_agg(jsonb_build_object('unit', o.unit, 'badge', o.badge, 'key', o.public_key) ORDER BY o.badge)
        INTO v_named
        FROM officers o WHERE o.unit = self AND o.active AND (o.badge = ANY (v_officers) OR o.roles && v_roles);
    v := next_version();    -- never below a version issued before (issue 17, fault 4)
    INSERT INTO emergencies (id, version, scope, near_lat, near_lon, radius_m, starts_at, ends_at, incident,
                             authority, declared_by, declared_at, dispatch_version, officers, roles, named, look_back)
        VALUES (p_id, v, p_scope, p_lat, p_lon, p_radius,
                now(), now() + p_duration, p_incident, p_authority, p_badge, self,
                v, v_officers, v_roles, v_named, v_look_back);
    PERFORM audit_append(p_badge, 'emergency.declare', 'ok', NULL, NULL, p_incident, NULL, NULL, p_id,
                         format('scope %s%s, until %s, authority %s; %s; named %s', p_scope,
                                CASE WHEN p_radius IS NOT NULL THEN format(', %s m around %s,%s', p_radius, p_lat, p_lon)
                                     ELSE '' END, now() + p_duration, p_authority, who,
                                (SELECT string_agg(x->>'badge', ',') FROM jsonb_array_elements(v_named) x)));
    RETURN ROW(true, NULL, NULL, 'declared')::access_answer;
END $$;


--
-- Name: emergency_end(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_end(p_id text, p_badge text) RETURNS public.access_answer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    e emergencies;
    v bigint;
BEGIN
    SELECT * INTO e FROM emergencies WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR e.declared_at <> vigil_self() THEN
        RETURN access_refuse(p_badge, 'emergency.end', NULL, format('no emergency %s was declared here', p_id), NULL);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_badge AND unit = vigil_self() AND active)
       OR NOT officer_has_power(p_badge, 'commander') THEN
        RETURN access_refuse(p_badge, 'emergency.end', 'Art 19',
                             format('Art 19: only a commander of %s ends it', vigil_self()), NULL);
    END IF;
    IF e.ended_at IS NOT NULL THEN
        PERFORM audit_append(p_badge, 'emergency.end', 'ok', NULL, NULL, e.incident, NULL, NULL, p_id,
                             format('already ended at %s', e.ended_at));
        RETURN ROW(true, NULL, NULL, 'ended')::access_answer;
    END IF;
    -- Above the order's version even if the clock stepped back since it
    -- was declared: else every station ignores the end (issue 17, fault 4).
    v := greatest(next_version(), e.version + 1);
    UPDATE emergencies SET ended_at = now(), version = v, dispatch_version = v WHERE id = p_id;
    PERFORM audit_append(p_badge, 'emergency.end', 'ok', NULL, NULL, e.incident, NULL, NULL, p_id, NULL);
    RETURN ROW(true, NULL, NULL, 'ended')::access_answer;
END $$;


--
-- Name: emergency_receive(text, text, bigint, text, double precision, double precision, double precision, timestamp with time zone, timestamp with time zone, text, text, text, text, boolean, bigint, timestamp with time zone, text, bytea, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_receive(p_via text, p_id text, p_version bigint, p_scope text, p_lat double precision, p_lon double precision, p_radius double precision, p_starts timestamp with time zone, p_ends timestamp with time zone, p_incident text, p_authority text, p_declared_by text, p_declared_at text, p_ended boolean, p_report_version bigint, p_acked timestamp with time zone, p_uplink text, p_report bytea, p_bounds jsonb DEFAULT NULL::jsonb) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
DECLARE
    self text := vigil_self();
    live boolean := NOT p_ended AND now() < p_ends
                    AND left(self, length(vigil_prefix(p_scope))) = vigil_prefix(p_scope);
    acked boolean;
BEGIN
    INSERT INTO emergencies AS e (id, version, scope, near_lat, near_lon, radius_m, starts_at, ends_at, incident,
                                  authority, declared_by, declared_at, ended_at, via, acked_version, officers, roles,
                                  named, look_back)
        VALUES (p_id, p_version, p_scope, p_lat, p_lon, p_radius, p_starts, p_ends, p_incident, p_authority,
                p_declared_by, p_declared_at, CASE WHEN p_ended THEN now() END, p_via,
                CASE WHEN live THEN p_version END, emergency_bounds_officers(p_bounds),
                emergency_bounds_roles(p_bounds), coalesce(p_bounds->'named', '[]'),
                coalesce((p_bounds->>'look_back_us')::bigint, 0) * interval '1 microsecond')
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, ends_at = EXCLUDED.ends_at,
            ended_at = coalesce(e.ended_at, EXCLUDED.ended_at), officers = EXCLUDED.officers,
            roles = EXCLUDED.roles, named = EXCLUDED.named, look_back = EXCLUDED.look_back,
            -- an order ended here stays ended: no later version is acked
            acked_version = CASE WHEN e.ended_at IS NULL THEN coalesce(EXCLUDED.acked_version, e.acked_version)
                                 ELSE e.acked_version END
        WHERE e.version < EXCLUDED.version
        RETURNING coalesce(e.acked_version = e.version, false) INTO acked;
    IF NOT FOUND THEN
        RETURN false;                       -- a version held already, or older
    END IF;
    PERFORM audit_append(p_declared_by, 'emergency.received', 'ok', NULL, NULL, p_incident, NULL, NULL, p_id,
                         format('from %s', p_via));
    IF acked THEN
        PERFORM emergency_report_apply(NULL, p_uplink, p_id, self, p_report_version, p_acked, 0, 0, false,
                                       '[]'::jsonb, p_report);
    END IF;
    RETURN acked;
END $$;


--
-- Name: emergency_report_apply(text, text, text, text, bigint, timestamp with time zone, integer, integer, boolean, jsonb, bytea, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_report_apply(p_via text, p_uplink text, p_id text, p_station text, p_version bigint, p_acked timestamp with time zone, p_linked integer, p_failed integer, p_done boolean, p_details jsonb, p_change bytea, p_unlinked integer DEFAULT 0) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
DECLARE
    changed boolean;
BEGIN
    INSERT INTO emergency_reports AS r (emergency_id, station, version, acked_at, linked, failed, done, details,
                                        via, unlinked)
        VALUES (p_id, p_station, p_version, p_acked, p_linked, p_failed, p_done, p_details, p_via, p_unlinked)
        ON CONFLICT (emergency_id, station) DO UPDATE SET version = EXCLUDED.version,
            acked_at = coalesce(r.acked_at, EXCLUDED.acked_at), linked = EXCLUDED.linked,
            failed = EXCLUDED.failed, done = EXCLUDED.done, details = coalesce(EXCLUDED.details, r.details),
            unlinked = EXCLUDED.unlinked, received_at = now()
        WHERE r.version < EXCLUDED.version
        RETURNING true INTO changed;
    IF coalesce(changed, false) AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN coalesce(changed, false);
END $$;


--
-- Name: emergency_report_json(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_report_json(p_id text) RETURNS json
    LANGUAGE sql STABLE
    AS $$
    SELECT (emergency_status_json(p_id)::jsonb || jsonb_build_object(
        'linkages', coalesce((SELECT jsonb_agg(d || jsonb_build_object('station', r.station)
                                               ORDER BY r.station, d->>'system')
                              FROM emergency_reports r, jsonb_array_elements(r.details) d
                              WHERE r.emergency_id = p_id), '[]'),
        'accesses', coalesce((SELECT jsonb_agg(to_jsonb(a) ORDER BY a.at) FROM (
            SELECT node_id, seq, at, actor, action, outcome, article, camera FROM audit_log
            WHERE emergency_id = p_id AND action IN ('view-live', 'view-recorded', 'copy', 'retrieve')
            UNION ALL
            SELECT node_id, seq, at, actor, action, outcome, article, camera FROM audit_copies
            WHERE emergency_id = p_id AND action IN ('view-live', 'view-recorded', 'copy', 'retrieve')) a), '[]')
    ))::json
$$;


--
-- Name: emergency_status_json(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_status_json(p_id text) RETURNS json
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (
        SELECT json_build_object(
            'id', e.id,
            'state', CASE WHEN e.ended_at IS NOT NULL THEN 'ended' WHEN now() >= e.ends_at THEN 'expired'
                          ELSE 'active' END,
            'scope', e.scope, 'incident', e.incident, 'authority', e.authority,
            'near', CASE WHEN e.radius_m IS NOT NULL
                         THEN json_build_object('lat', e.near_lat, 'lon', e.near_lon, 'radius_m', e.radius_m) END,
            'declared_by', e.declared_by, 'declared_at', e.declared_at, 'starts_at', e.starts_at,
            'ends_at', e.ends_at, 'ended_at', e.ended_at,
            -- who may act under it (Art 19) and how far back
            'officers', e.officers, 'roles', e.roles,
            'named', (SELECT coalesce(json_agg(x->>'badge'), '[]') FROM jsonb_array_elements(e.named) x),
            'look_back_s', extract(epoch FROM e.look_back)::bigint,
            'stations', coalesce((
                SELECT json_agg(json_build_object('id', s.id, 'name', s.name, 'acked', r.acked_at IS NOT NULL,
                                                  'linked', coalesce(r.linked, 0), 'unlinked', coalesce(r.unlinked, 0),
                                                  'failed', coalesce(r.failed, 0), 'done', coalesce(r.done, false),
                                                  -- (details are read only where something failed)
                                                  'failures', CASE WHEN r.failed > 0 THEN coalesce((
                                                      SELECT jsonb_agg(jsonb_build_object('system', d->'system',
                                                          'outcome', d->'outcome', 'reason', d->'reason'))
                                                      FROM jsonb_array_elements(r.details) d
                                                      WHERE d->>'outcome' <> 'linked'), '[]') ELSE '[]' END)
                                ORDER BY s.id)
                FROM nodes s LEFT JOIN emergency_reports r ON r.emergency_id = e.id AND r.station = s.id
                WHERE s.tier = 'station' AND left(s.id, length(vigil_prefix(e.scope))) = vigil_prefix(e.scope)), '[]'),
            'totals', (SELECT json_build_object('acked', count(*) FILTER (WHERE r.acked_at IS NOT NULL),
                                                'linked', coalesce(sum(r.linked), 0), 'failed', coalesce(sum(r.failed), 0))
                       FROM emergency_reports r WHERE r.emergency_id = e.id),
            'not_answered', coalesce((
                SELECT json_agg(s.id ORDER BY s.id) FROM nodes s
                WHERE s.tier = 'station' AND left(s.id, length(vigil_prefix(e.scope))) = vigil_prefix(e.scope)
                  AND NOT EXISTS (SELECT 1 FROM emergency_reports r WHERE r.emergency_id = e.id AND r.station = s.id)),
                '[]'))
        FROM emergencies e WHERE e.id = p_id
    );
END $$;


--
-- Name: emergency_systems(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_systems(p_id text) RETURNS TABLE(system_code text, url text, username text, password text, nonce bytea, sealed bytea)
    LANGUAGE sql STABLE
    AS $$
    SELECT y.code, y.reserved_interface, k.username, k.password, k.nonce, k.sealed
    FROM emergencies e
    JOIN systems y ON y.station_id = vigil_self() AND y.builder_class = 'private'
                  AND y.reserved_interface ~ '^rtsps?://' AND y.via IS NULL
    LEFT JOIN interface_credentials k ON k.system_code = y.code
    WHERE e.id = p_id AND left(vigil_self(), length(vigil_prefix(e.scope))) = vigil_prefix(e.scope)
      AND (e.radius_m IS NULL OR EXISTS (
            SELECT 1 FROM cameras c LEFT JOIN sites s ON s.station_id = c.station_id AND s.code = c.site_code
            WHERE c.station_id = y.station_id AND c.system_code = y.code
              AND coalesce(c.latitude, s.latitude) IS NOT NULL
              AND vigil_distance_m(e.near_lat, e.near_lon, coalesce(c.latitude, s.latitude),
                                   coalesce(c.longitude, s.longitude)) <= e.radius_m))
    ORDER BY y.code
$$;


--
-- Name: emergency_unlink_due(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_unlink_due() RETURNS TABLE(emergency_id text, linked integer, failed integer)
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN QUERY
        SELECT e.id, count(*) FILTER (WHERE k.outcome = 'linked')::integer,
               count(*) FILTER (WHERE k.outcome <> 'linked')::integer
        FROM emergencies e JOIN linkages k ON k.emergency_id = e.id
        WHERE (e.ended_at IS NOT NULL OR now() >= e.ends_at)
          AND EXISTS (SELECT 1 FROM linkages l WHERE l.emergency_id = e.id AND l.unlinked_at IS NULL
                                                    AND l.outcome = 'linked')
        GROUP BY e.id
        ORDER BY e.id;
END $$;


--
-- Name: emergency_unlink_one(text, integer); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_unlink_one(p_id text, p_linked integer) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    n integer;
BEGIN
    IF (SELECT count(*) FROM linkages WHERE emergency_id = p_id AND outcome = 'linked') <> p_linked THEN
        RAISE EXCEPTION 'the linkages of emergency % changed while being undone', p_id;
    END IF;
    WITH undone AS (
        UPDATE linkages l SET unlinked_at = now()
        WHERE l.emergency_id = p_id AND l.unlinked_at IS NULL AND l.outcome = 'linked'
        RETURNING l.system_code
    )
    SELECT count(audit_append('station', 'emergency.unlink', 'ok', NULL, NULL, NULL, NULL, NULL, p_id,
                              'system ' || u.system_code)) INTO n
    FROM undone u;
    RETURN n;
END $$;


--
-- Name: emergency_view_basis(text, text, text, text, text, timestamp with time zone, timestamp with time zone, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_view_basis(p_camera text, p_officer text, p_key text, p_unit text, p_action text, p_from timestamp with time zone, p_to timestamp with time zone, p_destination text, p_only text DEFAULT NULL::text, OUT granted boolean, OUT emergency_id text, OUT valid_until timestamp with time zone, OUT article text, OUT message text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    self text := vigil_self();
    lat double precision;
    lon double precision;
    e emergencies;
    me jsonb := jsonb_build_array(jsonb_build_object('unit', p_unit, 'badge', p_officer, 'key', p_key));
    recorded boolean := p_action <> 'view-live';
    why text;
    why_article text;
BEGIN
    granted := false;
    SELECT coalesce(c.latitude, s.latitude), coalesce(c.longitude, s.longitude) INTO lat, lon
        FROM cameras c LEFT JOIN sites s ON s.station_id = c.station_id AND s.code = c.site_code
        WHERE c.id = p_camera AND c.station_id = self;
    FOR e IN SELECT em.* FROM emergencies em
             WHERE em.ended_at IS NULL AND now() >= em.starts_at AND now() < em.ends_at
               AND (p_only IS NULL OR em.id = p_only)
               AND left(self, length(vigil_prefix(em.scope))) = vigil_prefix(em.scope)
               AND (em.radius_m IS NULL
                    OR (lat IS NOT NULL AND vigil_distance_m(em.near_lat, em.near_lon, lat, lon) <= em.radius_m))
             -- those naming this officer first, the longest-lived first
             ORDER BY (em.declared_at = p_unit AND em.named @> me) DESC, em.ends_at DESC LOOP
        IF p_unit IS NULL OR coalesce(p_key, '') = '' OR e.declared_at <> p_unit OR NOT e.named @> me THEN
            -- (those naming them came first: if one did, its refusal stands)
            IF article IS NULL THEN
                emergency_id := e.id;
                article := 'Art 19';
                message := format('Art 19: emergency %s does not name %s (unit %s, key %s) among those who may '
                                  'act under it', e.id, p_officer, coalesce(p_unit, '?'),
                                  left(coalesce(nullif(p_key, ''), '?'), 8));
            END IF;
            RETURN;
        END IF;
        IF recorded AND (p_from IS NULL OR p_to IS NULL OR p_from >= p_to) THEN
            why_article := 'Art 20(4)';
            why := format('Art 20(4): %s under emergency %s needs its time range (--from before --to)',
                          p_action, e.id);
        ELSIF recorded AND (p_from < e.starts_at - e.look_back OR p_to > least(now(), e.ends_at)) THEN
            why_article := 'Art 29(2)';
            why := format('Art 29(2): emergency %s covers recorded material from %s (its start%s) until now, '
                          'not %s to %s; older footage needs an approval', e.id, e.starts_at - e.look_back,
                          CASE WHEN e.look_back > interval '0' THEN format(' less its look-back of %s', e.look_back)
                               ELSE '' END, p_from, p_to);
        ELSIF p_action IN ('copy', 'retrieve') AND coalesce(btrim(p_destination), '') = '' THEN
            why_article := 'Art 20(4)';
            why := format('Art 20(4): a %s under emergency %s says where it goes (--destination)', p_action, e.id);
        ELSE
            granted := true;
            emergency_id := e.id;
            valid_until := e.ends_at;
            article := NULL;
            message := NULL;
            RETURN;
        END IF;
        IF article IS NULL THEN     -- the first reason stands, unless another allows it
            emergency_id := e.id;
            article := why_article;
            message := why;
        END IF;
    END LOOP;
END $$;


--
-- Name: emergency_work(text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.emergency_work(p_busy text[]) RETURNS TABLE(emergency_id text, acked_at timestamp with time zone, system_code text, url text, username text, password text, nonce bytea, sealed bytea, version bigint)
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    e record;
BEGIN
    FOR e IN SELECT m.id, m.version FROM emergencies m
             WHERE m.acked_version = m.version AND m.acted_version IS DISTINCT FROM m.version
               AND m.ended_at IS NULL AND now() < m.ends_at AND NOT (m.id = ANY (coalesce(p_busy, '{}')))
             ORDER BY m.id LOOP
        emergency_id := e.id;
        version := e.version;
        SELECT r.acked_at INTO acked_at FROM emergency_reports r
            WHERE r.emergency_id = e.id AND r.station = vigil_self();
        system_code := NULL;
        FOR system_code, url, username, password, nonce, sealed IN
            SELECT w.* FROM emergency_systems(e.id) w
            WHERE NOT EXISTS (SELECT 1 FROM linkages l WHERE l.emergency_id = e.id AND l.system_code = w.system_code
                                                        AND l.outcome = 'linked' AND l.unlinked_at IS NULL) LOOP
            RETURN NEXT;
        END LOOP;
        IF system_code IS NULL THEN
            url := NULL; username := NULL; password := NULL; nonce := NULL; sealed := NULL;
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;


--
-- Name: gate_basis_problem(text, text, text, text, text, text, text, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gate_basis_problem(p_grant text, p_emergency text, p_officer text, p_key text, p_unit text, p_camera text, p_action text, p_from timestamp with time zone, p_to timestamp with time zone, OUT article text, OUT message text) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
    g grants;
    b record;
    y systems;
BEGIN
    IF coalesce(p_grant, '') <> '' THEN
        SELECT * INTO g FROM grants WHERE request_id = p_grant;
        article := 'Art 29(2)';
        IF NOT FOUND THEN
            message := format('Art 29(2): grant %s is not held at this station', p_grant);
        ELSIF g.revoked THEN
            message := format('Art 29(2): grant %s was revoked', p_grant);
        ELSIF now() >= g.valid_until THEN
            message := format('Art 29(2): grant %s ended at %s', p_grant, g.valid_until);
        ELSIF NOT (g.cameras @> ARRAY[p_camera] AND g.actions @> ARRAY[p_action]) THEN
            message := format('Art 29(2): grant %s does not let anyone %s camera %s', p_grant, p_action, p_camera);
        ELSIF NOT EXISTS (SELECT 1 FROM unnest(g.officers, g.officer_units, g.officer_keys) AS n(b, u, k)
                          WHERE n.b = p_officer AND n.u IS NOT DISTINCT FROM p_unit AND n.k = p_key) THEN
            message := format('Art 29(2): grant %s does not name %s of unit %s with this key', p_grant, p_officer,
                              coalesce(p_unit, '?'));
        ELSIF p_action <> 'view-live' AND (p_from IS NULL OR p_to IS NULL OR g.rec_from IS NULL
                                           OR g.rec_to IS NULL OR NOT (p_from >= g.rec_from AND p_to <= g.rec_to)) THEN
            message := format('Art 29(2): grant %s does not cover recorded material from %s to %s', p_grant,
                              p_from, p_to);
        ELSIF NOT EXISTS (SELECT 1 FROM cameras c WHERE c.id = p_camera AND c.station_id = vigil_self()) THEN
            message := format('camera %s is no longer registered at this station', p_camera);
        ELSE
            article := NULL;
        END IF;
        RETURN;
    END IF;
    -- Under an emergency: it still names the officer, covers the camera
    -- and the time (the destination of a copy was checked when the ticket
    -- was signed: a ticket names no other), and a private system's camera
    -- is reached only while the system is linked under it (Art 13).
    -- Exactly the emergency the ticket names: another, longer one that
    -- also names the officer does not end (or stand in for) this one.
    SELECT * INTO b FROM emergency_view_basis(p_camera, p_officer, p_key, p_unit, p_action, p_from, p_to,
                                              '(as when the ticket was signed)', p_emergency);
    IF NOT coalesce(b.granted, false) OR b.emergency_id IS DISTINCT FROM p_emergency THEN
        IF NOT EXISTS (SELECT 1 FROM emergencies e WHERE e.id = p_emergency AND e.ended_at IS NULL
                       AND now() < e.ends_at) THEN
            article := 'Art 19';
            message := format('Art 19: emergency %s has ended', p_emergency);
        ELSE
            article := coalesce(b.article, 'Art 19');
            message := coalesce(b.message, format('Art 19: emergency %s no longer lets %s %s camera %s',
                                                  p_emergency, p_officer, p_action, p_camera));
        END IF;
        RETURN;
    END IF;
    SELECT y2.* INTO y FROM cameras c JOIN systems y2 ON y2.station_id = c.station_id AND y2.code = c.system_code
        WHERE c.id = p_camera AND c.station_id = vigil_self();
    IF NOT FOUND THEN
        article := 'Art 29(2)';
        message := format('camera %s is no longer registered at this station', p_camera);
    ELSIF y.builder_class = 'private' AND NOT EXISTS (
            SELECT 1 FROM linkages l WHERE l.emergency_id = p_emergency AND l.system_code = y.code
            AND l.outcome = 'linked' AND l.unlinked_at IS NULL) THEN
        article := 'Art 13';
        message := format('Art 13: private system %s is not linked under emergency %s', y.code, p_emergency);
    END IF;
END $$;


--
-- Name: gate_check(text[], text[], text[], text[], text[], text[], text[], double precision[], double precision[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gate_check(p_grants text[], p_emergencies text[], p_officers text[], p_keys text[], p_units text[], p_cameras text[], p_actions text[], p_froms double precision[], p_tos double precision[]) RETURNS TABLE(i integer, article text, message text)
    LANGUAGE sql STABLE
    AS $$
    SELECT s.i, p.article, p.message
    FROM generate_subscripts(p_cameras, 1) AS s(i),
         LATERAL gate_basis_problem(p_grants[s.i], p_emergencies[s.i], p_officers[s.i], p_keys[s.i], p_units[s.i],
                                    p_cameras[s.i], p_actions[s.i], to_timestamp(p_froms[s.i]),
                                    to_timestamp(p_tos[s.i])) p
    WHERE p.message IS NOT NULL
$$;


--
-- Name: gate_closed(text, text, text, text, text, text, bigint, double precision, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gate_closed(p_ticket text, p_officer text, p_camera text, p_grant text, p_emergency text, p_client text, p_bytes bigint, p_seconds double precision, p_end text, p_reason text) RETURNS void
    LANGUAGE sql
    AS $$
    DELETE FROM gate_sessions WHERE (ticket, opened_at) IN
        (SELECT ticket, opened_at FROM gate_sessions WHERE ticket = p_ticket ORDER BY opened_at LIMIT 1);
    SELECT audit_append(p_officer, 'gate.close', 'ok', NULL, p_camera, NULL, NULL, nullif(p_grant, ''),
                        nullif(p_emergency, ''),
                        format('ticket %s, from %s: %s bytes in %s s, ended: %s%s', p_ticket, p_client, p_bytes,
                               round(p_seconds::numeric, 3), p_end, coalesce(' (' || p_reason || ')', '')));
$$;


--
-- Name: gate_open(text, text, text, text, text, text, timestamp with time zone, timestamp with time zone, text, text, text, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gate_open(p_ticket text, p_officer text, p_key text, p_unit text, p_camera text, p_action text, p_from timestamp with time zone, p_to timestamp with time zone, p_grant text, p_emergency text, p_client text, p_expires timestamp with time zone, OUT granted boolean, OUT article text, OUT message text, OUT url text, OUT system_code text, OUT username text, OUT password text, OUT nonce text, OUT sealed text) RETURNS record
    LANGUAGE plpgsql
    AS $$
DECLARE
    c cameras;
    y systems;
    k interface_credentials;
    p record;
    purpose text;
BEGIN
    granted := false;
    SELECT * INTO c FROM cameras WHERE id = p_camera AND station_id = vigil_self();
    IF NOT FOUND THEN
        message := format('camera %s is not registered at this station', p_camera);
    ELSE
        SELECT * INTO y FROM systems WHERE station_id = c.station_id AND code = c.system_code;
        SELECT * INTO p FROM gate_basis_problem(p_grant, p_emergency, p_officer, p_key, p_unit, p_camera, p_action,
                                                p_from, p_to);
        IF p.message IS NOT NULL THEN
            article := p.article;
            message := p.message;
        ELSE
            url := coalesce(c.stream_url, CASE WHEN y.builder_class = 'private' THEN y.reserved_interface END);
            IF url IS NULL THEN
                message := format('camera %s has no stream address registered at this station', p_camera);
            ELSE
                granted := true;
                system_code := y.code;
                -- The credentials held for a system answer its reserved
                -- interface and nothing else (Art 5): a camera address an
                -- admin points elsewhere gets none of them.
                SELECT * INTO k FROM interface_credentials ic WHERE ic.system_code = y.code;
                IF FOUND AND url IS NOT DISTINCT FROM y.reserved_interface THEN
                    username := k.username;
                    password := k.password;
                    nonce := encode(k.nonce, 'hex');
                    sealed := encode(k.sealed, 'hex');
                END IF;
            END IF;
        END IF;
    END IF;
    SELECT coalesce(g.purpose, e.incident) INTO purpose FROM (SELECT 1) one
        LEFT JOIN grants g ON g.request_id = nullif(p_grant, '')
        LEFT JOIN emergencies e ON e.id = nullif(p_emergency, '');
    IF granted THEN
        INSERT INTO gate_sessions (ticket, officer, camera, request_id, emergency_id, client, expires_at)
            VALUES (p_ticket, p_officer, p_camera, nullif(p_grant, ''), nullif(p_emergency, ''), p_client,
                    p_expires)
            ON CONFLICT DO NOTHING;
    END IF;
    PERFORM audit_append(p_officer, 'gate.open', CASE WHEN granted THEN 'ok' ELSE 'refused' END, article, p_camera,
                         purpose, NULL, nullif(p_grant, ''), nullif(p_emergency, ''),
                         format('ticket %s, %s, from %s%s', p_ticket, p_action, p_client,
                                CASE WHEN granted THEN format(', until %s', p_expires)
                                     ELSE ': ' || message END));
END $$;


--
-- Name: gate_recover(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gate_recover() RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    s gate_sessions;
    n integer := 0;
BEGIN
    FOR s IN DELETE FROM gate_sessions RETURNING * LOOP
        PERFORM audit_append(s.officer, 'gate.close', 'ok', NULL, s.camera, NULL, NULL, s.request_id,
                             s.emergency_id,
                             format('ticket %s, from %s: bytes unknown, ended: unknown (the station stopped '
                                    'or lost its database before the close was recorded; the ticket expired %s)',
                                    s.ticket, s.client, s.expires_at));
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;


--
-- Name: gate_refused(text, text, text, text, boolean, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gate_refused(p_claimed_officer text, p_claimed_camera text, p_client text, p_reason text, p_verified boolean DEFAULT false, p_grant text DEFAULT NULL::text, p_emergency text DEFAULT NULL::text, p_ticket text DEFAULT NULL::text) RETURNS void
    LANGUAGE sql
    AS $$
    SELECT audit_append(CASE WHEN p_verified THEN p_claimed_officer ELSE '(unverified)' END, 'gate.open',
                        'refused', 'Art 29(2)', CASE WHEN p_verified THEN nullif(p_claimed_camera, '') END,
                        NULL, NULL, CASE WHEN p_verified THEN nullif(p_grant, '') END,
                        CASE WHEN p_verified THEN nullif(p_emergency, '') END,
                        format('%sfrom %s%s: %s', coalesce('ticket ' || p_ticket || ', ', ''), p_client,
                               CASE WHEN NOT p_verified AND coalesce(p_claimed_officer, '') <> ''
                                    THEN format(', claiming officer %s camera %s', p_claimed_officer,
                                                coalesce(nullif(p_claimed_camera, ''), '?')) ELSE '' END,
                               p_reason));
$$;


--
-- Name: gbt28181_id(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.gbt28181_id(s text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((octet_length(s) = 20) AND (ltrim(s, '0123456789'::text) = ''::text));


--
-- Name: grant_apply(text, text, bigint, text[], text[], text[], timestamp with time zone, timestamp with time zone, timestamp with time zone, boolean, text, text, text, text, text, bytea, text[], text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.grant_apply(p_via text, p_request_id text, p_version bigint, p_cameras text[], p_actions text[], p_officers text[], p_from timestamp with time zone, p_to timestamp with time zone, p_until timestamp with time zone, p_revoked boolean, p_purpose text, p_destination text, p_case text, p_approved_by text, p_filed_at text, p_change bytea, p_units text[], p_keys text[]) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: link_accept(text, text, bigint, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.link_accept(p_peer text, p_epoch text, p_first bigint, p_last bigint) RETURNS void
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE applied_seq SET last_seq = p_last, updated_at = now()
        WHERE peer_id = p_peer AND epoch = p_epoch AND last_seq = p_first - 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'sequence % from % (epoch %) does not follow what was applied',
            p_first, p_peer, p_epoch USING ERRCODE = 'VG001';
    END IF;
END $$;


--
-- Name: link_probe_apply(text, bigint[], bigint[], bigint[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.link_probe_apply(p_via text, p_probe_ids bigint[], p_numbers bigint[], p_sent_us bigint[]) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO link_probes (origin, probe_id, number, sent_at)
        SELECT p_via, i, n, to_timestamp(s / 1000000.0)
        FROM unnest(p_probe_ids, p_numbers, p_sent_us) AS u(i, n, s)
        ON CONFLICT DO NOTHING;
$$;


--
-- Name: linkage_log(text, text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.linkage_log(p_emergency text, p_systems text[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    e emergencies;
    what text;
BEGIN
    IF coalesce(cardinality(p_systems), 0) = 0 THEN
        RETURN;
    END IF;
    SELECT * INTO e FROM emergencies WHERE id = p_emergency;
    SELECT string_agg(format('%s (%s)', y.code, y.responsible_entity), ', ' ORDER BY y.code) INTO what
        FROM systems y WHERE y.station_id = vigil_self() AND y.code = ANY (p_systems);
    PERFORM audit_append(e.declared_by, 'emergency.link', 'ok', 'Art 13', NULL, e.incident, NULL, NULL,
                         p_emergency, 'systems ' || what);
END $$;


--
-- Name: linkage_record(text, text, text, text, text, jsonb); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.linkage_record(p_emergency text, p_system text, p_url text, p_outcome text, p_reason text, p_streams jsonb) RETURNS text
    LANGUAGE plpgsql
    AS $$
DECLARE
    e emergencies;
    y systems;
    note text;
BEGIN
    INSERT INTO linkages (emergency_id, system_code, url, outcome, reason, streams)
        VALUES (p_emergency, p_system, p_url, p_outcome, p_reason, p_streams)
        ON CONFLICT (emergency_id, system_code) DO UPDATE SET outcome = EXCLUDED.outcome, reason = EXCLUDED.reason,
            streams = EXCLUDED.streams, linked_at = now(), unlinked_at = NULL;
    IF p_outcome <> 'linked' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO e FROM emergencies WHERE id = p_emergency;
    SELECT * INTO y FROM systems WHERE station_id = vigil_self() AND code = p_system;
    note := format('To %s: your system "%s" (%s) was linked to the public-security video platform at %s under '
                   'emergency %s (%s), on the authority of %s, until %s at the latest (Art 13).',
                   y.responsible_entity, y.name, p_system, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                   e.id, e.incident, e.authority, to_char(e.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'));
    INSERT INTO linkage_notifications (emergency_id, system_code, responsible_entity, linked_at, incident, authority, text)
        VALUES (p_emergency, p_system, y.responsible_entity, now(), e.incident, e.authority, note)
        ON CONFLICT (emergency_id, system_code) DO NOTHING;
    RETURN note;
END $$;


--
-- Name: next_version(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.next_version() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    INSERT INTO version_clock AS v (only_row, last)
        VALUES (true, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
        ON CONFLICT (only_row) DO UPDATE SET last = greatest(EXCLUDED.last, v.last + 1)
        RETURNING v.last;
$$;


--
-- Name: node_decommission(text, text, text, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.node_decommission(p_actor text, p_id text, p_reason text, p_change bytea, p_uplink text) RETURNS public.access_answer
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: node_enroll(text, text, text, text, text, text, bigint, bytea, text, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.node_enroll(p_id text, p_parent text, p_tier text, p_name text, p_key text, p_sign_key text, p_version bigint, p_change bytea, p_uplink text, p_removed bytea, p_actor text) RETURNS void
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: node_observe(text, boolean, timestamp with time zone, bigint, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.node_observe(p_id text, p_online boolean, p_last_seen timestamp with time zone, p_version bigint, p_change bytea, p_uplink text) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
BEGIN
    UPDATE nodes SET online = p_online, last_seen = coalesce(p_last_seen, last_seen), version = p_version
        WHERE id = p_id AND version < p_version
          AND (online IS DISTINCT FROM p_online OR last_seen IS DISTINCT FROM p_last_seen);
    IF FOUND AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN FOUND;
END $$;


--
-- Name: node_remove_apply(text, text, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.node_remove_apply(p_via text, p_id text, p_change bytea, p_uplink text) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: node_state_apply(text, text, text, text, text, boolean, timestamp with time zone, bigint, bytea, text, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.node_state_apply(p_via text, p_id text, p_parent text, p_tier text, p_name text, p_online boolean, p_last_seen timestamp with time zone, p_version bigint, p_change bytea, p_uplink text, p_snapshot boolean) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: officer_apply(text, text, boolean, text, bigint, boolean, text, text, text, text[], text, boolean, bytea, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.officer_apply(p_via text, p_uplink text, p_snapshot boolean, p_badge text, p_version bigint, p_removed boolean, p_name text, p_unit text, p_credential text, p_roles text[], p_public_key text, p_active boolean, p_change bytea, p_epoch text, p_seq bigint) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: officer_has_power(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.officer_has_power(p_badge text, p_role text) RETURNS boolean
    LANGUAGE sql STABLE
    AS $$
    SELECT EXISTS (SELECT 1 FROM officers o JOIN conferrals c
                       ON c.badge = o.badge AND c.unit = o.unit AND c.public_key = o.public_key
                   WHERE o.badge = p_badge AND o.active AND c.role = p_role AND c.state = 'live'
                     AND (c.valid_until IS NULL OR now() < c.valid_until));
$$;


--
-- Name: officer_purge(text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.officer_purge(p_node text, p_actor text, p_why text) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: officer_register(text, text, text, text, text[], text, bigint, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.officer_register(p_actor text, p_badge text, p_name text, p_credential text, p_roles text[], p_public_key text, p_version bigint, p_change bytea, p_uplink text) RETURNS public.access_answer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: officer_set_active(text, text, boolean, text, bigint, bigint, bytea, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.officer_set_active(p_actor text, p_badge text, p_active boolean, p_reason text, p_seen_version bigint, p_version bigint, p_change bytea, p_uplink text) RETURNS public.access_answer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
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


--
-- Name: outbox_append(text, bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.outbox_append(p_peer text, p_changes bytea[]) RETURNS bigint
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: signed_change_keep(text, text, bigint, bytea); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.signed_change_keep(p_kind text, p_id text, p_version bigint, p_change bytea) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO signed_changes AS s (kind, id, version, change) VALUES (p_kind, p_id, p_version, p_change)
        ON CONFLICT (kind, id) DO UPDATE SET version = EXCLUDED.version, change = EXCLUDED.change,
            kept_at = now()
        WHERE s.version < EXCLUDED.version;
$$;


--
-- Name: site_apply(text, text, boolean, text[], text[], bigint[], boolean[], text[], text[], double precision[], double precision[], text[], text[], boolean[], text[], bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.site_apply(p_via text, p_uplink text, p_snapshot boolean, p_station_id text[], p_code text[], p_version bigint[], p_removed boolean[], p_name text[], p_address text[], p_latitude double precision[], p_longitude double precision[], p_category text[], p_location_type text[], p_signage boolean[], p_owner text[], p_change bytea[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    forwarded bytea[];
BEGIN
    -- Written by catalog_define_apply('sites', 'site_apply', ARRAY['station_id', 'code']) (schema/functions/catalog.sql)
    -- from the columns of sites: change the table, not this text.
    WITH input AS (
        SELECT DISTINCT ON (station_id, code) *
        FROM unnest(p_station_id, p_code, p_version, p_removed, p_name, p_address, p_latitude, p_longitude, p_category, p_location_type, p_signage, p_owner, p_change)
             WITH ORDINALITY AS u(station_id, code, version, removed, name, address, latitude, longitude, category, location_type, signage, owner, change, ord)
        ORDER BY station_id, code, version DESC
    ), upserted AS (
        INSERT INTO sites AS t (station_id, code, name, address, latitude, longitude, category, location_type, signage, owner, version, via)
        SELECT station_id, code, name, address, latitude, longitude, category, location_type, coalesce(signage, false), owner, version, p_via
        FROM input WHERE NOT removed
        ON CONFLICT (station_id, code) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, category = EXCLUDED.category, location_type = EXCLUDED.location_type, signage = EXCLUDED.signage, owner = EXCLUDED.owner,
            version = EXCLUDED.version, via = EXCLUDED.via, updated_at = now(), snapshot_mark = false
        WHERE t.version < EXCLUDED.version
        RETURNING t.station_id, t.code
    ), deleted AS (
        DELETE FROM sites t USING input i
        WHERE i.removed AND t.station_id = i.station_id AND t.code = i.code AND t.version < i.version
        RETURNING t.station_id, t.code
    )
    SELECT array_agg(i.change ORDER BY i.ord) INTO forwarded
    FROM input i
    WHERE (i.station_id, i.code) IN (SELECT * FROM upserted UNION ALL SELECT * FROM deleted);
    IF p_snapshot THEN
        UPDATE sites t SET snapshot_mark = false
        FROM unnest(p_station_id, p_code) AS u(station_id, code)
        WHERE t.snapshot_mark AND t.station_id = u.station_id AND t.code = u.code;
    END IF;
    IF p_uplink IS NOT NULL AND forwarded IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, forwarded);
    END IF;
    RETURN coalesce(array_length(forwarded, 1), 0);
END $$;


--
-- Name: sites_check(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.sites_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    bad record;
BEGIN
    SELECT n.code, t.forbidden, t.code AS location_type INTO bad
        FROM new_rows n JOIN location_types t ON t.code = n.location_type
        WHERE n.via IS NULL AND t.forbidden IS NOT NULL
          AND EXISTS (SELECT 1 FROM cameras c WHERE c.station_id = n.station_id AND c.site_code = n.code)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%: site "%" has cameras and cannot become a %', bad.forbidden, bad.code,
            bad.location_type USING ERRCODE = 'VG008', DETAIL = 'location_type';
    END IF;
    RETURN NULL;
END $$;


--
-- Name: snapshot_begin(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.snapshot_begin(p_peer text) RETURNS void
    LANGUAGE sql
    AS $$
    DELETE FROM applied_seq WHERE peer_id = p_peer;
$$;


--
-- Name: snapshot_end(text, text, bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.snapshot_end(p_peer text, p_epoch text, p_seq bigint) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO applied_seq (peer_id, epoch, last_seq) VALUES (p_peer, p_epoch, p_seq)
        ON CONFLICT (peer_id) DO UPDATE SET epoch = p_epoch, last_seq = p_seq, updated_at = now();
$$;


--
-- Name: system_apply(text, text, boolean, text[], text[], bigint[], boolean[], text[], text[], text[], text[], text[], text[], text[], date[], date[], text[], integer[], boolean[], bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.system_apply(p_via text, p_uplink text, p_snapshot boolean, p_station_id text[], p_code text[], p_version bigint[], p_removed boolean[], p_name text[], p_builder_class text[], p_responsible_entity text[], p_maintainer text[], p_maintenance_agreement text[], p_installer text[], p_installer_licence text[], p_commissioned_on date[], p_accepted_on date[], p_reserved_interface text[], p_retention_days integer[], p_has_reserved_interface boolean[], p_change bytea[]) RETURNS integer
    LANGUAGE plpgsql
    AS $$
DECLARE
    forwarded bytea[];
BEGIN
    -- Written by catalog_define_apply('systems', 'system_apply', ARRAY['station_id', 'code']) (schema/functions/catalog.sql)
    -- from the columns of systems: change the table, not this text.
    WITH input AS (
        SELECT DISTINCT ON (station_id, code) *
        FROM unnest(p_station_id, p_code, p_version, p_removed, p_name, p_builder_class, p_responsible_entity, p_maintainer, p_maintenance_agreement, p_installer, p_installer_licence, p_commissioned_on, p_accepted_on, p_reserved_interface, p_retention_days, p_has_reserved_interface, p_change)
             WITH ORDINALITY AS u(station_id, code, version, removed, name, builder_class, responsible_entity, maintainer, maintenance_agreement, installer, installer_licence, commissioned_on, accepted_on, reserved_interface, retention_days, has_reserved_interface, change, ord)
        ORDER BY station_id, code, version DESC
    ), upserted AS (
        INSERT INTO systems AS t (station_id, code, name, builder_class, responsible_entity, maintainer, maintenance_agreement, installer, installer_licence, commissioned_on, accepted_on, reserved_interface, retention_days, has_reserved_interface, version, via)
        SELECT station_id, code, name, builder_class, responsible_entity, maintainer, maintenance_agreement, installer, installer_licence, commissioned_on, accepted_on, reserved_interface, retention_days, coalesce(has_reserved_interface, false), version, p_via
        FROM input WHERE NOT removed
        ON CONFLICT (station_id, code) DO UPDATE SET name = EXCLUDED.name, builder_class = EXCLUDED.builder_class, responsible_entity = EXCLUDED.responsible_entity, maintainer = EXCLUDED.maintainer, maintenance_agreement = EXCLUDED.maintenance_agreement, installer = EXCLUDED.installer, installer_licence = EXCLUDED.installer_licence, commissioned_on = EXCLUDED.commissioned_on, accepted_on = EXCLUDED.accepted_on, reserved_interface = EXCLUDED.reserved_interface, retention_days = EXCLUDED.retention_days, has_reserved_interface = EXCLUDED.has_reserved_interface,
            version = EXCLUDED.version, via = EXCLUDED.via, updated_at = now(), snapshot_mark = false
        WHERE t.version < EXCLUDED.version
        RETURNING t.station_id, t.code
    ), deleted AS (
        DELETE FROM systems t USING input i
        WHERE i.removed AND t.station_id = i.station_id AND t.code = i.code AND t.version < i.version
        RETURNING t.station_id, t.code
    )
    SELECT array_agg(i.change ORDER BY i.ord) INTO forwarded
    FROM input i
    WHERE (i.station_id, i.code) IN (SELECT * FROM upserted UNION ALL SELECT * FROM deleted);
    IF p_snapshot THEN
        UPDATE systems t SET snapshot_mark = false
        FROM unnest(p_station_id, p_code) AS u(station_id, code)
        WHERE t.snapshot_mark AND t.station_id = u.station_id AND t.code = u.code;
    END IF;
    IF p_uplink IS NOT NULL AND forwarded IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, forwarded);
    END IF;
    RETURN coalesce(array_length(forwarded, 1), 0);
END $$;


--
-- Name: systems_check(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.systems_check() RETURNS trigger
    LANGUAGE plpgsql
    AS $_$
DECLARE
    bad record;
BEGIN
    SELECT * INTO bad FROM new_rows
        WHERE via IS NULL AND reserved_interface IS NOT NULL
          AND reserved_interface !~ '^(rtsp|rtsps|http|https)://[^[:space:]]+$'
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Art 13: reserved interface of system "%" must be an rtsp:// (or http://) URL, not "%"',
            bad.code, bad.reserved_interface USING ERRCODE = 'VG013', DETAIL = 'reserved_interface';
    END IF;
    -- Art 19, 29(2): an address is held at its station, and this node is
    -- none (cameras_address_stays).
    IF EXISTS (SELECT 1 FROM new_rows WHERE via IS NULL AND reserved_interface IS NOT NULL)
       AND NOT vigil_self_is_station() THEN
        RAISE EXCEPTION 'Art 19: a reserved interface is held at its station only, and this node is not a station'
            USING ERRCODE = 'VG019', DETAIL = 'reserved_interface';
    END IF;
    -- Art 5, 24(1): the credentials stay at the station, sealed
    -- (url_has_credentials). The URL is not repeated in the message.
    SELECT * INTO bad FROM new_rows
        WHERE via IS NULL AND reserved_interface IS NOT NULL AND url_has_credentials(reserved_interface)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Art 5: the reserved interface of system "%" carries credentials in its URL; give it '
            'without them and hold them at this station with `vigilctl system credentials % --user U --password P`',
            bad.code, bad.code USING ERRCODE = 'VG005', DETAIL = 'reserved_interface';
    END IF;
    RETURN NULL;
END $_$;


--
-- Name: trust_chain_keep(text, text[], bytea[], text[], bytea[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.trust_chain_keep(p_from text, p_nodes text[], p_keys bytea[], p_signers text[], p_signatures bytea[]) RETURNS void
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: url_has_credentials(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.url_has_credentials(s text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ((regexp_replace(s, '^[A-Za-z][A-Za-z0-9+.-]*://'::text, ''::text) ~ '^[^/]*[@%\\]'::text) OR (s ~* '[?&;](user|username|password|passwd|pass|pwd)='::text));


--
-- Name: version_reserve(bigint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.version_reserve(p_upto bigint) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public', 'pg_temp'
    AS $$
    INSERT INTO version_clock AS v (only_row, last) VALUES (true, p_upto)
        ON CONFLICT (only_row) DO UPDATE SET last = greatest(EXCLUDED.last, v.last)
        RETURNING v.last;
$$;


--
-- Name: view_decide(text, text, text, timestamp with time zone, timestamp with time zone, text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.view_decide(p_officer text, p_camera text, p_action text, p_from timestamp with time zone, p_to timestamp with time zone, p_entry text, p_unit text, p_key text DEFAULT NULL::text, p_destination text DEFAULT NULL::text, OUT granted boolean, OUT article text, OUT message text, OUT url text, OUT request_id text, OUT valid_until timestamp with time zone, OUT emergency_id text) RETURNS record
    LANGUAGE plpgsql
    AS $$
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


--
-- Name: vigil_distance_m(double precision, double precision, double precision, double precision); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_distance_m(lat1 double precision, lon1 double precision, lat2 double precision, lon2 double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (((2 * 6371000))::double precision * asin(sqrt((power(sin((radians((lat2 - lat1)) / (2)::double precision)), (2)::double precision) + ((cos(radians(lat1)) * cos(radians(lat2))) * power(sin((radians((lon2 - lon1)) / (2)::double precision)), (2)::double precision))))));


--
-- Name: vigil_distinct_count(text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_distinct_count(a text[]) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT (count(DISTINCT x.x))::integer AS count FROM unnest(vigil_distinct_count.a) x(x) WHERE (x.x <> ''::text));


--
-- Name: vigil_guarded_tables(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_guarded_tables() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY['grants'::text, 'emergencies'::text, 'officers'::text, 'delegations'::text, 'conferrals'::text, 'version_clock'::text];


--
-- Name: vigil_guarded_writers(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_guarded_writers() RETURNS text[]
    LANGUAGE sql IMMUTABLE
    RETURN ARRAY['officer_register'::text, 'officer_set_active'::text, 'officer_apply'::text, 'delegation_grant'::text, 'delegation_revoke'::text, 'delegation_apply'::text, 'officer_purge'::text, 'conferral_confer'::text, 'conferral_unconfer'::text, 'conferral_send'::text, 'conferral_apply'::text, 'grant_apply'::text, 'emergency_declare'::text, 'emergency_end'::text, 'emergency_apply'::text, 'emergency_receive'::text, 'emergency_acted'::text, 'audit_chain'::text, 'next_version'::text, 'version_reserve'::text];


--
-- Name: vigil_prefix(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_prefix(id text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN (substr(id, 7, 2) <> '00'::text) THEN substr(id, 1, 8) WHEN (substr(id, 5, 2) <> '00'::text) THEN substr(id, 1, 6) ELSE substr(id, 1, 4) END;


--
-- Name: vigil_tier(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_tier(id text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN ((substr(id, 1, 2) = '00'::text) OR (substr(id, 3, 2) = '00'::text)) THEN NULL::text WHEN ((substr(id, 5, 2) = '00'::text) AND (substr(id, 7, 2) <> '00'::text)) THEN NULL::text WHEN (substr(id, 7, 2) <> '00'::text) THEN 'station'::text WHEN (substr(id, 5, 2) <> '00'::text) THEN 'district'::text ELSE 'city'::text END;


--
-- Name: vigil_node_below(text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_node_below(p_id text, p_above text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN COALESCE(((substr(p_id, 11, 3) = '200'::text) AND (public.vigil_tier(p_id) IS NOT NULL) AND (public.vigil_tier(p_above) IS NOT NULL) AND (length(public.vigil_prefix(p_id)) > length(public.vigil_prefix(p_above))) AND ("left"(p_id, length(public.vigil_prefix(p_above))) = public.vigil_prefix(p_above))), false);


--
-- Name: vigil_privileges_apply(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_privileges_apply() RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    t text;
    f regprocedure;
BEGIN
    GRANT USAGE ON SCHEMA public TO vigil_writer;
    -- Everything else: read and write, as the daemon's work needs.
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_writer;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO vigil_writer;
    REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM vigil_writer;
    -- Which migrations ran is the owner's to say (vigild checks it at start).
    REVOKE INSERT, UPDATE, DELETE ON schema_migrations, schema_function_files FROM vigil_writer;
    -- The access log, the copies of the logs below and the checkpoints:
    -- append and read (Art 23(5)); the triggers of audit.sql refuse the
    -- rest even to the owner.
    REVOKE UPDATE, DELETE ON audit_log, audit_copies, audit_checkpoints, audit_forks FROM vigil_writer;
    -- The head moves only as a record is appended (audit_chain, as the
    -- owner), and only to that record (the triggers below).
    REVOKE INSERT, UPDATE, DELETE ON audit_head FROM vigil_writer;
    -- An alarm is evidence of a rewritten log: raised, read, never cleared.
    REVOKE UPDATE, DELETE ON audit_alarms, audit_alarms_logged FROM vigil_writer;
    REVOKE INSERT, DELETE ON audit_sent FROM vigil_writer;
    -- A dead letter is kept whole (issue 17): held, then retried or
    -- discarded, never removed; its bytes and position never change.
    REVOKE UPDATE, DELETE ON dead_letters FROM vigil_writer;
    GRANT UPDATE (reason, refused_again_at, state, decided_by, decided_at, decision) ON dead_letters
        TO vigil_writer;
    FOREACH t IN ARRAY vigil_guarded_tables() LOOP
        CONTINUE WHEN to_regclass('public.' || t) IS NULL;
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I FROM vigil_writer', t);
        IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = ('public.' || t)::regclass
                   AND attname = 'snapshot_mark' AND NOT attisdropped) THEN
            -- Only rows that came through a child, and only those its
            -- snapshot left marked: a row registered here is the owner's
            -- functions' alone. Row security binds the writer, not the
            -- owner (whose functions write these tables).
            EXECUTE format('GRANT UPDATE (snapshot_mark), DELETE ON %I TO vigil_writer', t);
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
            EXECUTE format('DROP POLICY IF EXISTS vigil_read ON %I', t);
            EXECUTE format('DROP POLICY IF EXISTS vigil_snapshot_mark ON %I', t);
            EXECUTE format('DROP POLICY IF EXISTS vigil_snapshot_remove ON %I', t);
            EXECUTE format('CREATE POLICY vigil_read ON %I FOR SELECT TO vigil_writer USING (true)', t);
            EXECUTE format('CREATE POLICY vigil_snapshot_mark ON %I FOR UPDATE TO vigil_writer '
                           'USING (via IS NOT NULL) WITH CHECK (via IS NOT NULL)', t);
            EXECUTE format('CREATE POLICY vigil_snapshot_remove ON %I FOR DELETE TO vigil_writer '
                           'USING (via IS NOT NULL AND snapshot_mark)', t);
        END IF;
    END LOOP;
    GRANT UPDATE (dispatched_version) ON emergencies TO vigil_writer;
    -- The writers run as the owner; every other function as its caller
    -- (a name taken off the list goes back to SECURITY INVOKER).
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f' LOOP
        IF (SELECT proname FROM pg_proc WHERE oid = f) = ANY (vigil_guarded_writers()) THEN
            EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = public, pg_temp', f);
        ELSIF (SELECT prosecdef FROM pg_proc WHERE oid = f) THEN
            EXECUTE format('ALTER FUNCTION %s SECURITY INVOKER RESET search_path', f);
        END IF;
    END LOOP;
    -- Nobody else runs this (the daemon's role could not do it anyway).
    REVOKE EXECUTE ON FUNCTION vigil_privileges_apply() FROM PUBLIC;
END $$;


--
-- Name: vigil_self(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_self() RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$
BEGIN
    RETURN (SELECT value FROM node_settings WHERE key = 'node_id');
END $$;


--
-- Name: vigil_self_is_station(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.vigil_self_is_station() RETURNS boolean
    LANGUAGE sql STABLE
    RETURN COALESCE((substr(public.vigil_self(), 7, 2) <> '00'::text), false);


--
-- Name: access_requests; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.access_requests (
    id text NOT NULL,
    node_id text NOT NULL,
    filed_by text NOT NULL,
    filed_at timestamp with time zone DEFAULT now() NOT NULL,
    officers text[] NOT NULL,
    credentials text[] NOT NULL,
    case_no text NOT NULL,
    purpose text NOT NULL,
    cameras text[] NOT NULL,
    actions text[] NOT NULL,
    rec_from timestamp with time zone,
    rec_to timestamp with time zone,
    destination text,
    approval_doc text NOT NULL,
    state text DEFAULT 'filed'::text NOT NULL,
    countersigned_by text,
    countersigned_at timestamp with time zone,
    decided_by text,
    decided_at timestamp with time zone,
    reason text,
    expires_at timestamp with time zone,
    grant_version bigint,
    dispatched_version bigint,
    officer_units text[],
    officer_keys text[],
    CONSTRAINT "Art 20(1): at least two distinct officers" CHECK (((public.vigil_distinct_count(officers) >= 2) AND (cardinality(officers) = cardinality(credentials)))),
    CONSTRAINT "Art 20(2): every officer's law-enforcement credential" CHECK ((public.vigil_distinct_count(credentials) = cardinality(credentials))),
    CONSTRAINT "Art 20(3): the approval document" CHECK ((length(approval_doc) > 0)),
    CONSTRAINT "Art 20(4): the form: case, purpose, cameras, actions" CHECK (((length(case_no) > 0) AND (length(purpose) > 0) AND (cardinality(cameras) >= 1) AND (cardinality(actions) >= 1) AND (actions <@ ARRAY['view-live'::text, 'view-recorded'::text, 'copy'::text, 'retrieve'::text]))),
    CONSTRAINT "Art 20(4): the time range of recorded material" CHECK (((NOT (actions && ARRAY['view-recorded'::text, 'copy'::text, 'retrieve'::text])) OR ((rec_from IS NOT NULL) AND (rec_to IS NOT NULL) AND (rec_from < rec_to)))),
    CONSTRAINT "Art 20(4): where copies go" CHECK (((NOT (actions && ARRAY['copy'::text, 'retrieve'::text])) OR (length(destination) > 0))),
    CONSTRAINT access_requests_state_check CHECK ((state = ANY (ARRAY['filed'::text, 'countersigned'::text, 'approved'::text, 'denied'::text, 'revoked'::text])))
);


--
-- Name: applied_seq; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.applied_seq (
    peer_id text NOT NULL,
    epoch text NOT NULL,
    last_seq bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: audit_alarms; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_alarms (
    id bigint NOT NULL,
    node_id text NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL,
    detail text NOT NULL,
    raised_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT audit_alarms_kind_check CHECK ((kind = ANY (ARRAY['fork'::text, 'gap'::text, 'collision'::text])))
);


--
-- Name: audit_alarms_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.audit_alarms_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: audit_alarms_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.audit_alarms_id_seq OWNED BY public.audit_alarms.id;


--
-- Name: audit_alarms_logged; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_alarms_logged (
    alarm_id bigint NOT NULL,
    logged_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: audit_checkpoints; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_checkpoints (
    node_id text NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    signed_at timestamp with time zone NOT NULL,
    signature bytea NOT NULL,
    via text,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT audit_checkpoints_hash_check CHECK ((length(hash) = 32)),
    CONSTRAINT audit_checkpoints_seq_check CHECK ((seq >= 1)),
    CONSTRAINT audit_checkpoints_signature_check CHECK ((length(signature) = 64))
);


--
-- Name: audit_forks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_forks (
    node_id text NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    prev_hash bytea NOT NULL,
    at timestamp with time zone NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    outcome text NOT NULL,
    change bytea NOT NULL,
    via text NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: audit_head; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_head (
    one boolean DEFAULT true NOT NULL,
    seq bigint NOT NULL,
    hash bytea NOT NULL,
    CONSTRAINT audit_head_one_check CHECK (one)
);


--
-- Name: audit_sent; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.audit_sent (
    one boolean DEFAULT true NOT NULL,
    seq bigint NOT NULL,
    CONSTRAINT audit_sent_one_check CHECK (one)
);


--
-- Name: cameras; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.cameras (
    id text NOT NULL COLLATE pg_catalog."C",
    station_id text NOT NULL COLLATE pg_catalog."C",
    name text NOT NULL,
    system_code text NOT NULL,
    site_code text NOT NULL,
    stream_url text,
    codec text,
    resolution text,
    latitude double precision,
    longitude double precision,
    bearing double precision,
    field_of_view double precision,
    ptz boolean DEFAULT false NOT NULL,
    status text DEFAULT 'unknown'::text NOT NULL,
    version bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    via text,
    snapshot_mark boolean DEFAULT false NOT NULL,
    has_stream boolean DEFAULT false NOT NULL,
    CONSTRAINT cameras_bearing_check CHECK (((bearing >= (0)::double precision) AND (bearing < (360)::double precision))),
    CONSTRAINT cameras_field_of_view_check CHECK (((field_of_view > (0)::double precision) AND (field_of_view <= (360)::double precision))),
    CONSTRAINT cameras_id_check CHECK (public.gbt28181_id(id)),
    CONSTRAINT cameras_latitude_check CHECK (((latitude >= ('-90'::integer)::double precision) AND (latitude <= (90)::double precision))),
    CONSTRAINT cameras_longitude_check CHECK (((longitude >= ('-180'::integer)::double precision) AND (longitude <= (180)::double precision))),
    CONSTRAINT cameras_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT cameras_station_id_check CHECK (public.gbt28181_id(station_id)),
    CONSTRAINT cameras_status_check CHECK ((status = ANY (ARRAY['online'::text, 'offline'::text, 'fault'::text, 'unknown'::text])))
);


--
-- Name: conferrals; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.conferrals (
    id text NOT NULL,
    version bigint NOT NULL,
    unit text NOT NULL,
    badge text NOT NULL,
    public_key text NOT NULL,
    role text NOT NULL,
    conferred_by text[] NOT NULL,
    conferred_at text NOT NULL,
    valid_until timestamp with time zone,
    state text NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    via text,
    dispatched_version bigint,
    CONSTRAINT "Art 19: at the city, two distinct admins confer" CHECK (((state <> 'live'::text) OR (conferred_at <> unit) OR (public.vigil_distinct_count(conferred_by) >= 2))),
    CONSTRAINT conferrals_public_key_check CHECK ((public_key ~ '^.{40}$'::text)),
    CONSTRAINT conferrals_role_check CHECK ((role = ANY (ARRAY['principal'::text, 'commander'::text, 'auditor'::text]))),
    CONSTRAINT conferrals_state_check CHECK ((state = ANY (ARRAY['pending'::text, 'live'::text, 'revoked'::text]))),
    CONSTRAINT conferrals_unit_check CHECK (public.gbt28181_id(unit))
);


--
-- Name: dead_letters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dead_letters (
    id bigint NOT NULL,
    peer_id text NOT NULL,
    epoch text NOT NULL,
    seq bigint NOT NULL,
    change bytea NOT NULL,
    kind text,
    reason text NOT NULL,
    held_at timestamp with time zone DEFAULT now() NOT NULL,
    refused_again_at timestamp with time zone,
    state text DEFAULT 'held'::text NOT NULL,
    decided_by text,
    decided_at timestamp with time zone,
    decision text,
    CONSTRAINT "a dead letter is held, or decided by someone" CHECK ((((state = 'held'::text) = (decided_at IS NULL)) AND ((state = 'held'::text) = (decided_by IS NULL)))),
    CONSTRAINT dead_letters_state_check CHECK ((state = ANY (ARRAY['held'::text, 'retried'::text, 'discarded'::text])))
);


--
-- Name: dead_letters_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.dead_letters_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: dead_letters_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.dead_letters_id_seq OWNED BY public.dead_letters.id;


--
-- Name: delegations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.delegations (
    id text NOT NULL,
    unit text NOT NULL,
    principal text NOT NULL,
    deputy text NOT NULL,
    valid_from timestamp with time zone NOT NULL,
    valid_until timestamp with time zone NOT NULL,
    revoked boolean DEFAULT false NOT NULL,
    version bigint NOT NULL,
    via text,
    snapshot_mark boolean DEFAULT false NOT NULL,
    CONSTRAINT delegations_check CHECK ((deputy <> principal)),
    CONSTRAINT delegations_check1 CHECK ((valid_until > valid_from)),
    CONSTRAINT delegations_unit_check CHECK (public.gbt28181_id(unit))
);


--
-- Name: emergencies; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.emergencies (
    id text NOT NULL,
    version bigint NOT NULL,
    scope text NOT NULL,
    near_lat double precision,
    near_lon double precision,
    radius_m double precision,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    incident text NOT NULL,
    authority text NOT NULL,
    declared_by text NOT NULL,
    declared_at text NOT NULL,
    ended_at timestamp with time zone,
    via text,
    dispatch_version bigint,
    dispatched_version bigint,
    acted_version bigint,
    acked_version bigint,
    officers text[] DEFAULT '{}'::text[] NOT NULL,
    roles text[] DEFAULT '{}'::text[] NOT NULL,
    named jsonb DEFAULT '[]'::jsonb NOT NULL,
    look_back interval DEFAULT '00:00:00'::interval NOT NULL,
    CONSTRAINT "Art 19: a point and a radius together" CHECK ((((near_lat IS NULL) = (near_lon IS NULL)) AND ((near_lat IS NULL) = (radius_m IS NULL)))),
    CONSTRAINT "Art 19: an emergency looks back at most 24 hours" CHECK (((look_back >= '00:00:00'::interval) AND (look_back <= '24:00:00'::interval))),
    CONSTRAINT emergencies_authority_check CHECK ((length(authority) > 0)),
    CONSTRAINT emergencies_check CHECK ((ends_at > starts_at)),
    CONSTRAINT emergencies_incident_check CHECK ((length(incident) > 0)),
    CONSTRAINT emergencies_named_check CHECK ((jsonb_typeof(named) = 'array'::text)),
    CONSTRAINT emergencies_near_lat_check CHECK (((near_lat >= ('-90'::integer)::double precision) AND (near_lat <= (90)::double precision))),
    CONSTRAINT emergencies_near_lon_check CHECK (((near_lon >= ('-180'::integer)::double precision) AND (near_lon <= (180)::double precision))),
    CONSTRAINT emergencies_radius_m_check CHECK ((radius_m > (0)::double precision)),
    CONSTRAINT emergencies_scope_check CHECK (((octet_length(scope) = 20) AND (ltrim(scope, '0123456789'::text) = ''::text)))
);


--
-- Name: emergency_reports; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.emergency_reports (
    emergency_id text NOT NULL,
    station text NOT NULL,
    version bigint NOT NULL,
    acked_at timestamp with time zone,
    linked integer DEFAULT 0 NOT NULL,
    failed integer DEFAULT 0 NOT NULL,
    done boolean DEFAULT false NOT NULL,
    details jsonb,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    via text,
    unlinked integer DEFAULT 0 NOT NULL
);


--
-- Name: gate_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.gate_sessions (
    ticket text NOT NULL,
    opened_at timestamp with time zone DEFAULT now() NOT NULL,
    officer text NOT NULL,
    camera text NOT NULL,
    request_id text,
    emergency_id text,
    client text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);


--
-- Name: grants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.grants (
    request_id text NOT NULL,
    version bigint NOT NULL,
    cameras text[] NOT NULL,
    actions text[] NOT NULL,
    officers text[] NOT NULL,
    rec_from timestamp with time zone,
    rec_to timestamp with time zone,
    valid_until timestamp with time zone NOT NULL,
    revoked boolean DEFAULT false NOT NULL,
    purpose text,
    destination text,
    case_no text,
    approved_by text,
    filed_at text,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    via text,
    officer_units text[],
    officer_keys text[]
);


--
-- Name: interface_credentials; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.interface_credentials (
    system_code text NOT NULL,
    username text,
    password text,
    nonce bytea,
    sealed bytea,
    CONSTRAINT interface_credentials_sealed_or_pending CHECK ((((nonce IS NULL) = (sealed IS NULL)) AND ((sealed IS NULL) = (password IS NOT NULL)) AND ((sealed IS NULL) OR (username IS NULL))))
);


--
-- Name: link_probes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.link_probes (
    origin text NOT NULL,
    probe_id bigint NOT NULL,
    number bigint NOT NULL,
    sent_at timestamp with time zone,
    received_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: linkage_notifications; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.linkage_notifications (
    emergency_id text NOT NULL,
    system_code text NOT NULL,
    responsible_entity text NOT NULL,
    linked_at timestamp with time zone NOT NULL,
    incident text NOT NULL,
    authority text NOT NULL,
    text text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: linkages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.linkages (
    emergency_id text NOT NULL,
    system_code text NOT NULL,
    url text NOT NULL,
    outcome text NOT NULL,
    reason text,
    streams jsonb,
    linked_at timestamp with time zone DEFAULT now() NOT NULL,
    unlinked_at timestamp with time zone,
    CONSTRAINT linkages_outcome_check CHECK ((outcome = ANY (ARRAY['linked'::text, 'refused'::text, 'timeout'::text, 'auth_failed'::text, 'bad_response'::text])))
);


--
-- Name: location_types; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.location_types (
    code text NOT NULL,
    description text NOT NULL,
    forbidden text,
    CONSTRAINT location_types_forbidden_check CHECK ((forbidden ~ '^Art 8\([1-7]\)$'::text))
);


--
-- Name: node_settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.node_settings (
    key text NOT NULL,
    value text NOT NULL
);


--
-- Name: nodes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.nodes (
    id text NOT NULL,
    parent_id text,
    tier text NOT NULL,
    name text NOT NULL,
    public_key text,
    enrolled_at timestamp with time zone,
    online boolean DEFAULT false NOT NULL,
    last_seen timestamp with time zone,
    version bigint DEFAULT 0 NOT NULL,
    via text,
    snapshot_mark boolean DEFAULT false NOT NULL,
    sign_key text,
    CONSTRAINT nodes_id_check CHECK ((id ~ '^[0-9]{20}$'::text)),
    CONSTRAINT nodes_parent_id_check CHECK ((parent_id ~ '^[0-9]{20}$'::text)),
    CONSTRAINT nodes_public_key_check CHECK ((public_key ~ '^.{40}$'::text)),
    CONSTRAINT nodes_sign_key_check CHECK ((sign_key ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT nodes_tier_check CHECK ((tier = ANY (ARRAY['city'::text, 'district'::text, 'station'::text])))
);


--
-- Name: officers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.officers (
    badge text NOT NULL,
    name text NOT NULL,
    unit text NOT NULL,
    credential text NOT NULL,
    roles text[] NOT NULL,
    public_key text NOT NULL,
    active boolean DEFAULT true NOT NULL,
    version bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    via text,
    snapshot_mark boolean DEFAULT false NOT NULL,
    CONSTRAINT officers_badge_check CHECK ((badge ~ '^[A-Za-z0-9._-]{1,32}$'::text)),
    CONSTRAINT officers_credential_check CHECK (((length(credential) >= 1) AND (length(credential) <= 64))),
    CONSTRAINT officers_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT officers_public_key_check CHECK ((public_key ~ '^.{40}$'::text)),
    CONSTRAINT officers_roles_check CHECK (((cardinality(roles) >= 1) AND (roles <@ ARRAY['operator'::text, 'investigator'::text, 'principal'::text, 'deputy'::text, 'commander'::text, 'registrar'::text, 'auditor'::text, 'admin'::text]))),
    CONSTRAINT officers_unit_check CHECK (public.gbt28181_id(unit))
);


--
-- Name: outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox (
    peer_id text NOT NULL,
    last_seq bigint NOT NULL,
    seq bigint NOT NULL,
    changes bytea[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT outbox_check CHECK ((cardinality(changes) = ((last_seq - seq) + 1)))
);
ALTER TABLE ONLY public.outbox ALTER COLUMN changes SET STORAGE EXTERNAL;


--
-- Name: outbox_seq; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.outbox_seq (
    peer_id text NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL
);


--
-- Name: schema_function_files; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_function_files (
    name text NOT NULL,
    sha256 text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    name text NOT NULL,
    applied_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: signed_changes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.signed_changes (
    kind text NOT NULL,
    id text NOT NULL,
    version bigint NOT NULL,
    change bytea NOT NULL,
    kept_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT signed_changes_kind_check CHECK ((kind = ANY (ARRAY['grant'::text, 'emergency_order'::text, 'conferral'::text])))
);


--
-- Name: sites; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sites (
    station_id text NOT NULL COLLATE pg_catalog."C",
    code text NOT NULL,
    name text NOT NULL,
    address text,
    latitude double precision,
    longitude double precision,
    category text,
    location_type text NOT NULL,
    signage boolean DEFAULT false NOT NULL,
    owner text,
    version bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    via text,
    snapshot_mark boolean DEFAULT false NOT NULL,
    CONSTRAINT sites_category_check CHECK ((category ~ '^7\.([1-9]|1[0-2])$'::text)),
    CONSTRAINT sites_code_check CHECK ((code ~ '^[A-Za-z0-9._-]{1,64}$'::text)),
    CONSTRAINT sites_latitude_check CHECK (((latitude >= ('-90'::integer)::double precision) AND (latitude <= (90)::double precision))),
    CONSTRAINT sites_longitude_check CHECK (((longitude >= ('-180'::integer)::double precision) AND (longitude <= (180)::double precision))),
    CONSTRAINT sites_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT sites_station_id_check CHECK (public.gbt28181_id(station_id))
);


--
-- Name: systems; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.systems (
    station_id text NOT NULL COLLATE pg_catalog."C",
    code text NOT NULL,
    name text NOT NULL,
    builder_class text NOT NULL,
    responsible_entity text NOT NULL,
    maintainer text,
    maintenance_agreement text,
    installer text,
    installer_licence text,
    commissioned_on date,
    accepted_on date,
    reserved_interface text,
    retention_days integer NOT NULL,
    version bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    via text,
    snapshot_mark boolean DEFAULT false NOT NULL,
    has_reserved_interface boolean DEFAULT false NOT NULL,
    CONSTRAINT "Art 23(6): retention at least 15 days" CHECK ((retention_days >= 15)),
    CONSTRAINT systems_builder_class_check CHECK ((builder_class = ANY (ARRAY['government'::text, 'private'::text]))),
    CONSTRAINT systems_code_check CHECK ((code ~ '^[A-Za-z0-9._-]{1,64}$'::text)),
    CONSTRAINT systems_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT systems_station_id_check CHECK (public.gbt28181_id(station_id))
);


--
-- Name: system_flags; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.system_flags AS
 SELECT systems.station_id,
    systems.code,
    'Art 13'::text AS article,
    'private system has no reserved interface'::text AS rule
   FROM public.systems
  WHERE ((systems.builder_class = 'private'::text) AND (NOT systems.has_reserved_interface));


--
-- Name: trust_chain; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.trust_chain (
    "position" integer NOT NULL,
    node_id text NOT NULL,
    sign_key bytea NOT NULL,
    signer text NOT NULL,
    signature bytea NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT trust_chain_node_id_check CHECK ((node_id ~ '^[0-9]{20}$'::text)),
    CONSTRAINT trust_chain_position_check CHECK (("position" >= 1)),
    CONSTRAINT trust_chain_sign_key_check CHECK ((length(sign_key) = 32)),
    CONSTRAINT trust_chain_signature_check CHECK ((length(signature) = 64)),
    CONSTRAINT trust_chain_signer_check CHECK ((signer ~ '^[0-9]{20}$'::text))
);


--
-- Name: version_clock; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.version_clock (
    only_row boolean DEFAULT true NOT NULL,
    last bigint NOT NULL,
    CONSTRAINT version_clock_only_row_check CHECK (only_row)
);


--
-- Name: audit_alarms id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_alarms ALTER COLUMN id SET DEFAULT nextval('public.audit_alarms_id_seq'::regclass);


--
-- Name: dead_letters id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letters ALTER COLUMN id SET DEFAULT nextval('public.dead_letters_id_seq'::regclass);


--
-- Name: access_requests access_requests_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.access_requests
    ADD CONSTRAINT access_requests_pkey PRIMARY KEY (id);


--
-- Name: applied_seq applied_seq_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.applied_seq
    ADD CONSTRAINT applied_seq_pkey PRIMARY KEY (peer_id);


--
-- Name: audit_alarms_logged audit_alarms_logged_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_alarms_logged
    ADD CONSTRAINT audit_alarms_logged_pkey PRIMARY KEY (alarm_id);


--
-- Name: audit_alarms audit_alarms_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_alarms
    ADD CONSTRAINT audit_alarms_pkey PRIMARY KEY (id);


--
-- Name: audit_checkpoints audit_checkpoints_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_checkpoints
    ADD CONSTRAINT audit_checkpoints_pkey PRIMARY KEY (node_id, seq);


--
-- Name: audit_copies audit_copies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_copies
    ADD CONSTRAINT audit_copies_pkey PRIMARY KEY (node_id, seq);


--
-- Name: audit_forks audit_forks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_forks
    ADD CONSTRAINT audit_forks_pkey PRIMARY KEY (node_id, seq, hash);


--
-- Name: audit_head audit_head_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_head
    ADD CONSTRAINT audit_head_pkey PRIMARY KEY (one);


--
-- Name: audit_log audit_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_log
    ADD CONSTRAINT audit_log_pkey PRIMARY KEY (seq);


--
-- Name: audit_sent audit_sent_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_sent
    ADD CONSTRAINT audit_sent_pkey PRIMARY KEY (one);


--
-- Name: cameras cameras_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.cameras
    ADD CONSTRAINT cameras_pkey PRIMARY KEY (id);


--
-- Name: conferrals conferrals_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.conferrals
    ADD CONSTRAINT conferrals_pkey PRIMARY KEY (id);


--
-- Name: dead_letters dead_letters_peer_id_epoch_seq_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letters
    ADD CONSTRAINT dead_letters_peer_id_epoch_seq_key UNIQUE (peer_id, epoch, seq);


--
-- Name: dead_letters dead_letters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dead_letters
    ADD CONSTRAINT dead_letters_pkey PRIMARY KEY (id);


--
-- Name: delegations delegations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.delegations
    ADD CONSTRAINT delegations_pkey PRIMARY KEY (id);


--
-- Name: emergencies emergencies_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.emergencies
    ADD CONSTRAINT emergencies_pkey PRIMARY KEY (id);


--
-- Name: emergency_reports emergency_reports_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.emergency_reports
    ADD CONSTRAINT emergency_reports_pkey PRIMARY KEY (emergency_id, station);


--
-- Name: gate_sessions gate_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.gate_sessions
    ADD CONSTRAINT gate_sessions_pkey PRIMARY KEY (ticket, opened_at);


--
-- Name: grants grants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.grants
    ADD CONSTRAINT grants_pkey PRIMARY KEY (request_id);


--
-- Name: interface_credentials interface_credentials_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.interface_credentials
    ADD CONSTRAINT interface_credentials_pkey PRIMARY KEY (system_code);


--
-- Name: link_probes link_probes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.link_probes
    ADD CONSTRAINT link_probes_pkey PRIMARY KEY (origin, probe_id, number);


--
-- Name: linkage_notifications linkage_notifications_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.linkage_notifications
    ADD CONSTRAINT linkage_notifications_pkey PRIMARY KEY (emergency_id, system_code);


--
-- Name: linkages linkages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.linkages
    ADD CONSTRAINT linkages_pkey PRIMARY KEY (emergency_id, system_code);


--
-- Name: location_types location_types_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.location_types
    ADD CONSTRAINT location_types_pkey PRIMARY KEY (code);


--
-- Name: node_settings node_settings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.node_settings
    ADD CONSTRAINT node_settings_pkey PRIMARY KEY (key);


--
-- Name: nodes nodes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.nodes
    ADD CONSTRAINT nodes_pkey PRIMARY KEY (id);


--
-- Name: nodes nodes_public_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.nodes
    ADD CONSTRAINT nodes_public_key_key UNIQUE (public_key);


--
-- Name: officers officers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.officers
    ADD CONSTRAINT officers_pkey PRIMARY KEY (badge);


--
-- Name: officers officers_public_key_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.officers
    ADD CONSTRAINT officers_public_key_key UNIQUE (public_key);


--
-- Name: outbox outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (peer_id, last_seq);


--
-- Name: outbox_seq outbox_seq_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.outbox_seq
    ADD CONSTRAINT outbox_seq_pkey PRIMARY KEY (peer_id);


--
-- Name: schema_function_files schema_function_files_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_function_files
    ADD CONSTRAINT schema_function_files_pkey PRIMARY KEY (name);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (name);


--
-- Name: signed_changes signed_changes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.signed_changes
    ADD CONSTRAINT signed_changes_pkey PRIMARY KEY (kind, id);


--
-- Name: sites sites_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sites
    ADD CONSTRAINT sites_pkey PRIMARY KEY (station_id, code);


--
-- Name: systems systems_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.systems
    ADD CONSTRAINT systems_pkey PRIMARY KEY (station_id, code);


--
-- Name: trust_chain trust_chain_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.trust_chain
    ADD CONSTRAINT trust_chain_pkey PRIMARY KEY ("position");


--
-- Name: version_clock version_clock_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.version_clock
    ADD CONSTRAINT version_clock_pkey PRIMARY KEY (only_row);


--
-- Name: access_requests_state; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX access_requests_state ON public.access_requests USING btree (state, filed_at);


--
-- Name: access_requests_undispatched; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX access_requests_undispatched ON public.access_requests USING btree (id) WHERE (grant_version IS DISTINCT FROM dispatched_version);


--
-- Name: cameras_station_site; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX cameras_station_site ON public.cameras USING btree (station_id, site_code);


--
-- Name: cameras_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX cameras_status ON public.cameras USING btree (status, id);


--
-- Name: conferrals_current; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX conferrals_current ON public.conferrals USING btree (unit, badge, role) WHERE (state <> 'revoked'::text);


--
-- Name: dead_letters_held; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX dead_letters_held ON public.dead_letters USING btree (peer_id) WHERE (state = 'held'::text);


--
-- Name: grants_cameras; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX grants_cameras ON public.grants USING gin (cameras);


--
-- Name: nodes_one_per_centre_code; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX nodes_one_per_centre_code ON public.nodes USING btree ((
CASE
    WHEN (substr(id, 7, 2) <> '00'::text) THEN substr(id, 1, 8)
    WHEN (substr(id, 5, 2) <> '00'::text) THEN substr(id, 1, 6)
    ELSE substr(id, 1, 4)
END));


--
-- Name: nodes_via; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX nodes_via ON public.nodes USING btree (via);


--
-- Name: sites_category; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sites_category ON public.sites USING btree (category);


--
-- Name: sites_via; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sites_via ON public.sites USING btree (via) WHERE (via IS NOT NULL);


--
-- Name: systems_via; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX systems_via ON public.systems USING btree (via) WHERE (via IS NOT NULL);


--
-- Name: audit_log audit_chain; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_chain BEFORE INSERT ON public.audit_log FOR EACH ROW EXECUTE FUNCTION public.audit_chain();


--
-- Name: audit_checkpoints audit_checkpoints_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON public.audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_checkpoints audit_checkpoints_no_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_checkpoints_no_update BEFORE DELETE OR UPDATE ON public.audit_checkpoints FOR EACH ROW EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_copies audit_copies_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_copies_no_truncate BEFORE TRUNCATE ON public.audit_copies FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_copies audit_copies_no_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_copies_no_update BEFORE DELETE OR UPDATE ON public.audit_copies FOR EACH ROW EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_copies audit_copy_form; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_copy_form BEFORE INSERT ON public.audit_copies FOR EACH ROW EXECUTE FUNCTION public.audit_copy_form();


--
-- Name: audit_forks audit_forks_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_forks_no_truncate BEFORE TRUNCATE ON public.audit_forks FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_forks audit_forks_no_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_forks_no_update BEFORE DELETE OR UPDATE ON public.audit_forks FOR EACH ROW EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_head audit_head_advance; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_head_advance BEFORE UPDATE ON public.audit_head FOR EACH ROW EXECUTE FUNCTION public.audit_head_advance();


--
-- Name: audit_head audit_head_chained; Type: TRIGGER; Schema: public; Owner: -
--

CREATE CONSTRAINT TRIGGER audit_head_chained AFTER UPDATE ON public.audit_head DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.audit_head_chained();


--
-- Name: audit_head audit_head_no_delete; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON public.audit_head FOR EACH ROW EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_head audit_head_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON public.audit_head FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_log audit_no_truncate; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON public.audit_log FOR EACH STATEMENT EXECUTE FUNCTION public.audit_refuse();


--
-- Name: audit_log audit_no_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER audit_no_update BEFORE DELETE OR UPDATE ON public.audit_log FOR EACH ROW EXECUTE FUNCTION public.audit_refuse();


--
-- Name: cameras cameras_address_gone; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER cameras_address_gone BEFORE INSERT OR UPDATE ON public.cameras FOR EACH ROW WHEN (((new.stream_url IS NULL) AND new.has_stream AND (new.via IS NULL) AND public.vigil_self_is_station())) EXECUTE FUNCTION public.catalog_address_gone();


--
-- Name: cameras cameras_address_stays; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER cameras_address_stays BEFORE INSERT OR UPDATE ON public.cameras FOR EACH ROW WHEN (((new.stream_url IS NOT NULL) AND ((new.via IS NOT NULL) OR (NOT new.has_stream)))) EXECUTE FUNCTION public.catalog_address_stays();


--
-- Name: cameras cameras_check_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER cameras_check_insert AFTER INSERT ON public.cameras REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.cameras_check();


--
-- Name: cameras cameras_check_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER cameras_check_update AFTER UPDATE ON public.cameras REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.cameras_check();


--
-- Name: sites sites_check_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sites_check_update AFTER UPDATE ON public.sites REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.sites_check();


--
-- Name: sites sites_in_use; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER sites_in_use BEFORE DELETE ON public.sites FOR EACH ROW EXECUTE FUNCTION public.catalog_in_use();


--
-- Name: systems systems_address_gone; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER systems_address_gone BEFORE INSERT OR UPDATE ON public.systems FOR EACH ROW WHEN (((new.reserved_interface IS NULL) AND new.has_reserved_interface AND (new.via IS NULL) AND public.vigil_self_is_station())) EXECUTE FUNCTION public.catalog_address_gone();


--
-- Name: systems systems_address_stays; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER systems_address_stays BEFORE INSERT OR UPDATE ON public.systems FOR EACH ROW WHEN (((new.reserved_interface IS NOT NULL) AND ((new.via IS NOT NULL) OR (NOT new.has_reserved_interface)))) EXECUTE FUNCTION public.catalog_address_stays();


--
-- Name: systems systems_check_insert; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER systems_check_insert AFTER INSERT ON public.systems REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.systems_check();


--
-- Name: systems systems_check_update; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER systems_check_update AFTER UPDATE ON public.systems REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.systems_check();


--
-- Name: systems systems_in_use; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER systems_in_use BEFORE DELETE ON public.systems FOR EACH ROW EXECUTE FUNCTION public.catalog_in_use();


--
-- Name: audit_alarms_logged audit_alarms_logged_alarm_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.audit_alarms_logged
    ADD CONSTRAINT audit_alarms_logged_alarm_id_fkey FOREIGN KEY (alarm_id) REFERENCES public.audit_alarms(id);


--
-- Name: sites sites_location_type_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sites
    ADD CONSTRAINT sites_location_type_fkey FOREIGN KEY (location_type) REFERENCES public.location_types(code);


--
-- Name: delegations; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.delegations ENABLE ROW LEVEL SECURITY;

--
-- Name: officers; Type: ROW SECURITY; Schema: public; Owner: -
--

ALTER TABLE public.officers ENABLE ROW LEVEL SECURITY;

--
-- Name: delegations vigil_read; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY vigil_read ON public.delegations FOR SELECT TO vigil_writer USING (true);


--
-- Name: officers vigil_read; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY vigil_read ON public.officers FOR SELECT TO vigil_writer USING (true);


--
-- Name: delegations vigil_snapshot_mark; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY vigil_snapshot_mark ON public.delegations FOR UPDATE TO vigil_writer USING ((via IS NOT NULL)) WITH CHECK ((via IS NOT NULL));


--
-- Name: officers vigil_snapshot_mark; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY vigil_snapshot_mark ON public.officers FOR UPDATE TO vigil_writer USING ((via IS NOT NULL)) WITH CHECK ((via IS NOT NULL));


--
-- Name: delegations vigil_snapshot_remove; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY vigil_snapshot_remove ON public.delegations FOR DELETE TO vigil_writer USING (((via IS NOT NULL) AND snapshot_mark));


--
-- Name: officers vigil_snapshot_remove; Type: POLICY; Schema: public; Owner: -
--

CREATE POLICY vigil_snapshot_remove ON public.officers FOR DELETE TO vigil_writer USING (((via IS NOT NULL) AND snapshot_mark));


--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: -
--

GRANT USAGE ON SCHEMA public TO vigil_writer;


--
-- Name: TABLE audit_log; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.audit_log TO vigil_writer;


--
-- Name: TABLE audit_copies; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.audit_copies TO vigil_writer;


--
-- Name: FUNCTION vigil_privileges_apply(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.vigil_privileges_apply() FROM PUBLIC;


--
-- Name: TABLE access_requests; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.access_requests TO vigil_writer;


--
-- Name: TABLE applied_seq; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.applied_seq TO vigil_writer;


--
-- Name: TABLE audit_alarms; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.audit_alarms TO vigil_writer;


--
-- Name: SEQUENCE audit_alarms_id_seq; Type: ACL; Schema: public; Owner: -
--

GRANT ALL ON SEQUENCE public.audit_alarms_id_seq TO vigil_writer;


--
-- Name: TABLE audit_alarms_logged; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.audit_alarms_logged TO vigil_writer;


--
-- Name: TABLE audit_checkpoints; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.audit_checkpoints TO vigil_writer;


--
-- Name: TABLE audit_forks; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.audit_forks TO vigil_writer;


--
-- Name: TABLE audit_head; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.audit_head TO vigil_writer;


--
-- Name: TABLE audit_sent; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,UPDATE ON TABLE public.audit_sent TO vigil_writer;


--
-- Name: TABLE cameras; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.cameras TO vigil_writer;


--
-- Name: TABLE conferrals; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.conferrals TO vigil_writer;


--
-- Name: TABLE dead_letters; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT ON TABLE public.dead_letters TO vigil_writer;


--
-- Name: COLUMN dead_letters.reason; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(reason) ON TABLE public.dead_letters TO vigil_writer;


--
-- Name: COLUMN dead_letters.refused_again_at; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(refused_again_at) ON TABLE public.dead_letters TO vigil_writer;


--
-- Name: COLUMN dead_letters.state; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(state) ON TABLE public.dead_letters TO vigil_writer;


--
-- Name: COLUMN dead_letters.decided_by; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(decided_by) ON TABLE public.dead_letters TO vigil_writer;


--
-- Name: COLUMN dead_letters.decided_at; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(decided_at) ON TABLE public.dead_letters TO vigil_writer;


--
-- Name: COLUMN dead_letters.decision; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(decision) ON TABLE public.dead_letters TO vigil_writer;


--
-- Name: SEQUENCE dead_letters_id_seq; Type: ACL; Schema: public; Owner: -
--

GRANT ALL ON SEQUENCE public.dead_letters_id_seq TO vigil_writer;


--
-- Name: TABLE delegations; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,DELETE ON TABLE public.delegations TO vigil_writer;


--
-- Name: COLUMN delegations.snapshot_mark; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(snapshot_mark) ON TABLE public.delegations TO vigil_writer;


--
-- Name: TABLE emergencies; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.emergencies TO vigil_writer;


--
-- Name: COLUMN emergencies.dispatched_version; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(dispatched_version) ON TABLE public.emergencies TO vigil_writer;


--
-- Name: TABLE emergency_reports; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.emergency_reports TO vigil_writer;


--
-- Name: TABLE gate_sessions; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.gate_sessions TO vigil_writer;


--
-- Name: TABLE grants; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.grants TO vigil_writer;


--
-- Name: TABLE interface_credentials; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.interface_credentials TO vigil_writer;


--
-- Name: TABLE link_probes; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.link_probes TO vigil_writer;


--
-- Name: TABLE linkage_notifications; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.linkage_notifications TO vigil_writer;


--
-- Name: TABLE linkages; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.linkages TO vigil_writer;


--
-- Name: TABLE location_types; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.location_types TO vigil_writer;


--
-- Name: TABLE node_settings; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.node_settings TO vigil_writer;


--
-- Name: TABLE nodes; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.nodes TO vigil_writer;


--
-- Name: TABLE officers; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,DELETE ON TABLE public.officers TO vigil_writer;


--
-- Name: COLUMN officers.snapshot_mark; Type: ACL; Schema: public; Owner: -
--

GRANT UPDATE(snapshot_mark) ON TABLE public.officers TO vigil_writer;


--
-- Name: TABLE outbox; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.outbox TO vigil_writer;


--
-- Name: TABLE outbox_seq; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.outbox_seq TO vigil_writer;


--
-- Name: TABLE schema_function_files; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.schema_function_files TO vigil_writer;


--
-- Name: TABLE schema_migrations; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.schema_migrations TO vigil_writer;


--
-- Name: TABLE signed_changes; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.signed_changes TO vigil_writer;


--
-- Name: TABLE sites; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.sites TO vigil_writer;


--
-- Name: TABLE systems; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.systems TO vigil_writer;


--
-- Name: TABLE system_flags; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.system_flags TO vigil_writer;


--
-- Name: TABLE trust_chain; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.trust_chain TO vigil_writer;


--
-- Name: TABLE version_clock; Type: ACL; Schema: public; Owner: -
--

GRANT SELECT ON TABLE public.version_clock TO vigil_writer;


--
-- Name: DEFAULT PRIVILEGES FOR SEQUENCES; Type: DEFAULT ACL; Schema: public; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES  TO vigil_writer;


--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT,INSERT,DELETE,UPDATE ON TABLES  TO vigil_writer;


--
-- PostgreSQL database dump complete
--



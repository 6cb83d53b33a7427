-- emergency: emergencies (Art 13, 19): orders down, forced linkage of
-- private systems through their reserved interfaces at the stations,
-- reports up, the end (declared, or expiry by the station's own clock)
-- undoing every linkage, and the answers of `emergency declare|status|
-- end|report`.
--
-- Several of these read tables and are called over and over (a station at
-- every batch from its parent, the command polling `emergency status`), so
-- they are PL/pgSQL rather than SQL: an SQL function that is not inlined is
-- parsed and planned again at every call; PL/pgSQL plans once a session.

-- Great-circle distance in metres (haversine; a city is small enough).
CREATE OR REPLACE FUNCTION vigil_distance_m(lat1 double precision, lon1 double precision, lat2 double precision,
        lon2 double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 2 * 6371000 * asin(sqrt(power(sin(radians(lat2 - lat1) / 2), 2)
                               + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2)));

-- Art 19: a commander of this node declares, over a subtree of it, naming
-- who may act under it: P_OFFICERS (badges) and P_ROLES (roles held) of
-- this unit, resolved here and now into each officer's unit, badge and key
-- (`named`: the station checks that identity, not a badge; an officer
-- given the role later is not named), and P_LOOK_BACK, how far before its
-- start recorded footage may be had (0: only from its start; at most 24
-- hours: older footage needs an approval, Art 19). Every attempt is a
-- record in the access log, refused or not.
CREATE OR REPLACE FUNCTION emergency_declare(p_id text, p_badge text, p_scope text, p_lat double precision,
        p_lon double precision, p_radius double precision, p_duration interval, p_incident text,
        p_authority text, p_officers text[] DEFAULT '{}', p_roles text[] DEFAULT '{}',
        p_look_back interval DEFAULT '0') RETURNS access_answer
LANGUAGE plpgsql AS $$
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

-- The bounds of an order as they travel (EmergencyOrder officers, roles,
-- named, look_back_us): P_BOUNDS is {"officers":[..],"roles":[..],
-- "named":[{"unit","badge","key"}..],"look_back_us":N}, built by vigild
-- from the order; NULL (an order of an older command) names nobody.
CREATE OR REPLACE FUNCTION emergency_bounds_officers(p_bounds jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE
RETURN ARRAY(SELECT jsonb_array_elements_text(coalesce(p_bounds->'officers', '[]')));

CREATE OR REPLACE FUNCTION emergency_bounds_roles(p_bounds jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE
RETURN ARRAY(SELECT jsonb_array_elements_text(coalesce(p_bounds->'roles', '[]')));

-- Keep an order (newer versions replace) and pass it to each child whose
-- subtree overlaps the scope. P_VIA: the parent, or NULL when declared here.
CREATE OR REPLACE FUNCTION emergency_apply(p_via text, p_id text, p_version bigint, p_scope text, p_lat double precision,
        p_lon double precision, p_radius double precision, p_starts timestamptz, p_ends timestamptz,
        p_incident text, p_authority text, p_declared_by text, p_declared_at text, p_ended boolean,
        p_change bytea, p_bounds jsonb DEFAULT NULL) RETURNS integer
LANGUAGE plpgsql AS $$
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

-- At a station, in the transaction applying order P_ID from its parent
-- P_VIA: keep it (as emergency_apply: newer versions replace, the receipt
-- is logged) and, if this version is new, live (not ended or expired:
-- "unless it has expired") and covers this station, ack it there and then,
-- so the command learns within one hop's commit that the order arrived:
-- the report P_REPORT (version P_REPORT_VERSION, acked at P_ACKED, encoded
-- by the daemon) goes up to P_UPLINK. Returns whether it acked. A station
-- has no children: nothing goes down. One statement keeps and acks:
-- under an emergency over a city every station applies and acks at once,
-- and on the shared server of tests/bench/emergency-fanout (100 stations,
-- one PostgreSQL) their PostgreSQL work was the largest share of the
-- processor time between the declaration and the last ack. With this,
-- vigil_self in PL/pgSQL and emergencies' scope CHECK written out, a
-- station's backend time per order went from ~1,180 us to ~570 us
-- (pgbench on one station's database).
CREATE OR REPLACE FUNCTION emergency_receive(p_via text, p_id text, p_version bigint, p_scope text, p_lat double precision,
        p_lon double precision, p_radius double precision, p_starts timestamptz, p_ends timestamptz,
        p_incident text, p_authority text, p_declared_by text, p_declared_at text, p_ended boolean,
        p_report_version bigint, p_acked timestamptz, p_uplink text, p_report bytea, p_bounds jsonb DEFAULT NULL)
RETURNS boolean
LANGUAGE plpgsql AS $$
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

-- At a station: the private systems an emergency links (in scope, with a
-- reserved interface; within the radius when one is given: a system is in
-- it when one of its cameras, by its own position or its site's, is).
-- With the credentials held: sealed (nonce, sealed: vigild opens them on
-- its loop, with the key only it holds), or, for a row of an older
-- database not sealed yet, as they were kept.
CREATE OR REPLACE FUNCTION emergency_systems(p_id text)
RETURNS TABLE (system_code text, url text, username text, password text, nonce bytea, sealed bytea)
LANGUAGE sql STABLE AS $$
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

-- A report from a station (or this station's own), kept and forwarded up.
-- A station's later reports (linkages done, undone) keep the time it first
-- acked: the command's record of when the order was answered.
CREATE OR REPLACE FUNCTION emergency_report_apply(p_via text, p_uplink text, p_id text, p_station text,
        p_version bigint, p_acked timestamptz, p_linked integer, p_failed integer, p_done boolean,
        p_details jsonb, p_change bytea, p_unlinked integer DEFAULT 0)
RETURNS boolean LANGUAGE plpgsql AS $$
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

-- The command ends its emergency: a newer version, ended, goes down.
CREATE OR REPLACE FUNCTION emergency_end(p_id text, p_badge text) RETURNS access_answer
LANGUAGE plpgsql AS $$
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

-- Art 19, 20(4), 29(2): may OFFICER (key P_KEY, unit P_UNIT, as the entry
-- node authenticated them) do P_ACTION on P_CAMERA, of this station, under
-- a live emergency, for P_FROM..P_TO, copies going to P_DESTINATION?
-- view_decide asks when no grant lets it. Only an officer the declaration
-- names, by unit, badge and key (`named`: the command resolved its
-- --officer and --role into identities; a badge alone is not one); within
-- its scope, radius and time; recorded material only from its look-back
-- before its start until now (and not after its end); a copy or retrieval
-- names where it goes (Art 20(4)). GRANTED with the emergency and until
-- when; refused with the article and why, and the emergency it was
-- refused under (the record names it); no emergency covering the camera:
-- all NULL (view_decide says no approval or emergency lets it).
-- P_ONLY (the stream gate, functions/gate.sql): that emergency alone is
-- weighed, not the longest-lived that names the officer.
-- (014_gate_sessions.sql drops the eight-argument one of before.)
CREATE OR REPLACE FUNCTION emergency_view_basis(p_camera text, p_officer text, p_key text, p_unit text,
        p_action text, p_from timestamptz, p_to timestamptz, p_destination text, p_only text DEFAULT NULL,
        OUT granted boolean,
        OUT emergency_id text, OUT valid_until timestamptz, OUT article text, OUT message text)
LANGUAGE plpgsql AS $$
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

-- A linkage recorded at the station: the row, and for a system linked, its
-- owner's notification (Art 13: the owner is told that it was linked,
-- when, why and on whose authority). Returns the notification's text
-- (NULL if none).
CREATE OR REPLACE FUNCTION linkage_record(p_emergency text, p_system text, p_url text, p_outcome text, p_reason text,
        p_streams jsonb) RETURNS text
LANGUAGE plpgsql AS $$
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

-- Private systems linked under an emergency are a record in the station's
-- access log (Art 19: connecting a unit's system is a use of it; Art
-- 23(5)), as undoing them is: who ordered it (the declaring commander),
-- under which emergency and incident, which systems of which owners. One
-- record per batch of linkages the station puts on record (a few systems
-- at a time), in the same transaction, and it goes up with them. A failed
-- attempt connected nothing: it stays in `linkages` and the report, not
-- the log.
CREATE OR REPLACE FUNCTION linkage_log(p_emergency text, p_systems text[]) RETURNS void
LANGUAGE plpgsql AS $$
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

-- At a station: the orders acked and not yet acted on, except those a job
-- of the daemon is working on (P_BUSY), with every private system each
-- still has to link (one row per system; a row with a NULL system for an
-- order with none left, so that it is still reported done), and the
-- order's version. Nothing is marked here: an order is acted on once its
-- final report is on record (emergency_acted, in that transaction), so a
-- crash or a stop while linking leaves it to be taken again: at least once
-- (issue 17, fault 7). A system linked by an earlier take is not probed
-- again; one that failed is.
CREATE OR REPLACE FUNCTION emergency_work(p_busy text[])
RETURNS TABLE (emergency_id text, acked_at timestamptz, system_code text, url text, username text, password text,
               nonce bytea, sealed bytea, version bigint)
LANGUAGE plpgsql STABLE AS $$
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

-- The final report of order P_ID at version P_VERSION is on record (the
-- caller's transaction): it is acted on.
CREATE OR REPLACE FUNCTION emergency_acted(p_id text, p_version bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE emergencies SET acted_version = p_version
    WHERE id = p_id AND acted_version IS DISTINCT FROM p_version;
$$;

-- A station undoes an emergency's linkages and reports it in one
-- transaction: the daemon reads what is due (emergency_unlink_due), then,
-- per emergency, undoes it (emergency_unlink_one) in the transaction that
-- carries the report; the report's counts are the emergency's totals, so a
-- late linkage undone later is reported right too.

-- Emergencies ended or expired (by this station's clock, also when cut
-- off from its parent) with linkages still in place, and their totals
-- (once undone, every linked system is unlinked). A station reads it every
-- time it acts: at every batch from its parent and every two seconds.
CREATE OR REPLACE FUNCTION emergency_unlink_due()
RETURNS TABLE (emergency_id text, linked integer, failed integer)
LANGUAGE plpgsql STABLE AS $$
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

-- Undo P_ID's linkages, each logged (Art 23(5)); P_LINKED is how many the
-- report in the same transaction says were linked: if a linkage was
-- recorded since, the transaction fails and the next round reads again.
CREATE OR REPLACE FUNCTION emergency_unlink_one(p_id text, p_linked integer) RETURNS integer
LANGUAGE plpgsql AS $$
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

-- What `emergency declare|status|end` answer (CONTRACT.md:
-- {"id","state","stations":[{"id","acked","linked","failed"}]}), built
-- here once: every station in scope, answered or not, with its report.
-- It is polled live at the command while a city's stations ack and link
-- (tests/bench/emergency-fanout polls it every 20 ms), so per station it
-- carries the counts and only what failed (system, outcome, reason), not
-- every linkage's streams and notice (some 700 bytes each); and it is
-- PL/pgSQL: planning was 0.9 ms of its ~2.4 ms as an SQL function
-- (backend time, 100 stations).
CREATE OR REPLACE FUNCTION emergency_status_json(p_id text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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

-- After action (Art 13, 23(5)), `emergency report`: the status, every
-- linkage and failure with the owners' notifications, and who accessed
-- what under it (this node's log and its copies of the stations').
CREATE OR REPLACE FUNCTION emergency_report_json(p_id text) RETURNS json
LANGUAGE sql STABLE AS $$
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

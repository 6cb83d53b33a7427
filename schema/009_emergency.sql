-- 009: emergencies (Art 13, 19): orders down, forced linkage of private
-- systems through their reserved interfaces at the stations, reports up.

CREATE TABLE emergencies (
    id                 text PRIMARY KEY,
    version            bigint NOT NULL,
    scope              text NOT NULL CHECK (gbt28181_id(scope)),
    near_lat           double precision CHECK (near_lat BETWEEN -90 AND 90),
    near_lon           double precision CHECK (near_lon BETWEEN -180 AND 180),
    radius_m           double precision CHECK (radius_m > 0),
    starts_at          timestamptz NOT NULL,
    ends_at            timestamptz NOT NULL CHECK (ends_at > starts_at),
    incident           text NOT NULL CHECK (length(incident) > 0),
    authority          text NOT NULL CHECK (length(authority) > 0),
    declared_by        text NOT NULL,
    declared_at        text NOT NULL,
    ended_at           timestamptz,
    via                text,               -- the parent it came from (NULL: declared here)
    dispatch_version   bigint,             -- at the command: the version to send down
    dispatched_version bigint,             -- and the last one sent
    acted_version      bigint,             -- at a station: the version it acted on
    CONSTRAINT "Art 19: a point and a radius together"
        CHECK ((near_lat IS NULL) = (near_lon IS NULL) AND (near_lat IS NULL) = (radius_m IS NULL))
);

-- What each station in scope reported (at the command and the districts).
CREATE TABLE emergency_reports (
    emergency_id text NOT NULL,
    station      text NOT NULL,
    version      bigint NOT NULL,
    acked_at     timestamptz,
    linked       integer NOT NULL DEFAULT 0,
    failed       integer NOT NULL DEFAULT 0,
    done         boolean NOT NULL DEFAULT false,
    details      jsonb,
    received_at  timestamptz NOT NULL DEFAULT now(),
    via          text,
    PRIMARY KEY (emergency_id, station)
);

-- At a station: each private system linked (or not) under an emergency.
CREATE TABLE linkages (
    emergency_id text NOT NULL,
    system_code  text NOT NULL,
    url          text NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('linked', 'refused', 'timeout', 'auth_failed', 'bad_response')),
    reason       text,
    streams      jsonb,
    linked_at    timestamptz NOT NULL DEFAULT now(),
    unlinked_at  timestamptz,
    PRIMARY KEY (emergency_id, system_code)
);

-- Credentials of reserved interfaces, held at the station only: never
-- replicated, never in the URL that travels up.
CREATE TABLE interface_credentials (
    system_code text PRIMARY KEY,
    username    text NOT NULL,
    password    text NOT NULL
);
GRANT SELECT, INSERT, UPDATE, DELETE ON emergencies, emergency_reports, linkages, interface_credentials
    TO vigil_writer;

-- Great-circle distance in metres (haversine; a city is small enough).
CREATE FUNCTION vigil_distance_m(lat1 double precision, lon1 double precision, lat2 double precision,
        lon2 double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 2 * 6371000 * asin(sqrt(power(sin(radians(lat2 - lat1) / 2), 2)
                               + cos(radians(lat1)) * cos(radians(lat2)) * power(sin(radians(lon2 - lon1) / 2), 2)));

-- Art 19: a commander of this node declares, over a subtree of it.
CREATE FUNCTION emergency_declare(p_id text, p_badge text, p_scope text, p_lat double precision,
        p_lon double precision, p_radius double precision, p_duration interval, p_incident text,
        p_authority text) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    self text := vigil_self();
BEGIN
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_badge AND unit = self AND active
                   AND 'commander' = ANY (roles)) THEN
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
    INSERT INTO emergencies (id, version, scope, near_lat, near_lon, radius_m, starts_at, ends_at, incident,
                             authority, declared_by, declared_at, dispatch_version)
        VALUES (p_id, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, p_scope, p_lat, p_lon, p_radius,
                now(), now() + p_duration, p_incident, p_authority, p_badge, self,
                (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
    PERFORM audit_append(p_badge, 'emergency.declare', 'ok', NULL, NULL, p_incident, NULL, NULL, p_id,
                         format('scope %s%s, until %s, authority %s', p_scope,
                                CASE WHEN p_radius IS NOT NULL THEN format(', %s m around %s,%s', p_radius, p_lat, p_lon)
                                     ELSE '' END, now() + p_duration, p_authority));
    RETURN ROW(true, NULL, NULL, 'declared')::access_answer;
END $$;

-- Keep an order (newer versions replace) and pass it to each child whose
-- subtree overlaps the scope. P_VIA: the parent, or NULL when declared here.
CREATE FUNCTION emergency_apply(p_via text, p_id text, p_version bigint, p_scope text, p_lat double precision,
        p_lon double precision, p_radius double precision, p_starts timestamptz, p_ends timestamptz,
        p_incident text, p_authority text, p_declared_by text, p_declared_at text, p_ended boolean,
        p_change bytea) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
    child text;
    n integer := 0;
BEGIN
    INSERT INTO emergencies AS e (id, version, scope, near_lat, near_lon, radius_m, starts_at, ends_at, incident,
                                  authority, declared_by, declared_at, ended_at, via)
        VALUES (p_id, p_version, p_scope, p_lat, p_lon, p_radius, p_starts, p_ends, p_incident, p_authority,
                p_declared_by, p_declared_at, CASE WHEN p_ended THEN now() END, p_via)
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, ends_at = EXCLUDED.ends_at,
            ended_at = coalesce(e.ended_at, EXCLUDED.ended_at)
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

-- At a station: the private systems an emergency links (in scope, with a
-- reserved interface; within the radius when one is given: a system is in
-- it when one of its cameras, by its own position or its site's, is).
CREATE FUNCTION emergency_systems(p_id text)
RETURNS TABLE (system_code text, url text, username text, password text)
LANGUAGE sql STABLE AS $$
    SELECT y.code, y.reserved_interface, k.username, k.password
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
CREATE FUNCTION emergency_report_apply(p_via text, p_uplink text, p_id text, p_station text, p_version bigint,
        p_acked timestamptz, p_linked integer, p_failed integer, p_done boolean, p_details jsonb, p_change bytea)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
BEGIN
    INSERT INTO emergency_reports AS r (emergency_id, station, version, acked_at, linked, failed, done, details, via)
        VALUES (p_id, p_station, p_version, p_acked, p_linked, p_failed, p_done, p_details, p_via)
        ON CONFLICT (emergency_id, station) DO UPDATE SET version = EXCLUDED.version,
            acked_at = EXCLUDED.acked_at, linked = EXCLUDED.linked, failed = EXCLUDED.failed,
            done = EXCLUDED.done, details = EXCLUDED.details, received_at = now()
        WHERE r.version < EXCLUDED.version
        RETURNING true INTO changed;
    IF coalesce(changed, false) AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN coalesce(changed, false);
END $$;

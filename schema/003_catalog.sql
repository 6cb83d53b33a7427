-- 003: the federated catalog (Art 2: site -> system -> camera).
--
-- Every row belongs to the station that registered it (station_id). Only
-- that station creates, changes or deletes it; every other tier holds a
-- replica that arrives through the reliable delivery of 001 (Art 4: one
-- catalog, no node re-registers what another owns). The rules of the
-- regulation are checked here, inside the registering transaction, for the
-- station's own rows: a refusal raises SQLSTATE VG0xx with a message that
-- begins with the article, and the field in the DETAIL.

-- This node's ID, so triggers know which rows are its own.
CREATE FUNCTION vigil_self() RETURNS text LANGUAGE sql STABLE AS $$
    SELECT value FROM node_settings WHERE key = 'node_id'
$$;

-- Location types (where a site is). Every place Art 8 forbids is here, with
-- the paragraph that forbids it; a camera at such a site is refused.
CREATE TABLE location_types (
    code        text PRIMARY KEY,
    description text NOT NULL,
    forbidden   text CHECK (forbidden ~ '^Art 8\([1-7]\)$')
);
INSERT INTO location_types (code, description, forbidden) VALUES
    -- Art 7 places (and ordinary ones)
    ('road', 'trunk road or main highway section', NULL),
    ('junction', 'traffic junction', NULL),
    ('expressway-exit', 'expressway entrance, exit or toll station', NULL),
    ('transport-hub', 'airport, port, wharf, railway or bus station', NULL),
    ('tunnel', 'tunnel', NULL),
    ('bridge', 'large bridge', NULL),
    ('footbridge', 'pedestrian bridge', NULL),
    ('underpass', 'pedestrian underpass', NULL),
    ('public-transport', 'metro, light rail, bus, coach or passenger ship', NULL),
    ('energy-facility', 'fuel station, oil depot, water, power, gas or energy facility', NULL),
    ('flood-defence', 'dyke, reservoir, artificial lake, flood-control area', NULL),
    ('school', 'school or kindergarten', NULL),
    ('hospital-public-area', 'hospital entrance, hall, corridor or other public area', NULL),
    ('museum', 'museum, exhibition hall, memorial hall, stadium, library', NULL),
    ('park', 'park, scenic area, square or city promenade', NULL),
    ('square', 'large square', NULL),
    ('residential-entrance', 'residential compound or public car park entrance', NULL),
    ('hotel-public-area', 'hotel lobby, corridor or entrance', NULL),
    ('entertainment-public-area', 'entertainment venue, internet cafe: public areas', NULL),
    ('market', 'large or medium shopping place, second-hand market, pawnshop', NULL),
    ('jeweller', 'precious metal or jewellery business', NULL),
    ('bank-public-area', 'bank hall, vault, cash transport, securities store', NULL),
    ('telecom-post-media', 'telecom, post, media, research unit or heritage site', NULL),
    ('hazardous-materials', 'reserve depot or hazardous-materials site', NULL),
    ('street', 'other street or public place', NULL),
    ('other', 'other place', NULL),
    -- Art 8: capture devices forbidden
    ('hospital-ward', 'hospital ward, operating room or treatment room', 'Art 8(1)'),
    ('hotel-guest-room', 'hotel or guest-house room', 'Art 8(2)'),
    ('entertainment-private-room', 'private room or box of an entertainment venue', 'Art 8(2)'),
    ('dormitory-room', 'room of a collective dormitory', 'Art 8(3)'),
    ('public-toilet', 'public toilet', 'Art 8(4)'),
    ('public-bath', 'public bath', 'Art 8(4)'),
    ('changing-room', 'changing room, fitting room or dressing room', 'Art 8(4)'),
    ('rest-room', 'rest room', 'Art 8(4)'),
    ('nursing-room', 'nursing room', 'Art 8(4)'),
    ('bank-client-data-spot', 'bank, insurance or securities spot that may expose client data', 'Art 8(5)'),
    ('polling-booth', 'ballot box or polling booth', 'Art 8(6)'),
    ('private-place', 'other place of personal privacy', 'Art 8(7)');

CREATE TABLE sites (
    station_id    text COLLATE "C" NOT NULL CHECK (station_id ~ '^[0-9]{20}$'),
    code          text NOT NULL CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    address       text,
    latitude      double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude     double precision CHECK (longitude BETWEEN -180 AND 180),
    -- Art 7: the category of place that must be covered (7.1 .. 7.12).
    category      text CHECK (category ~ '^7\.([1-9]|1[0-2])$'),
    location_type text NOT NULL REFERENCES location_types (code),
    signage       boolean NOT NULL DEFAULT false,   -- Art 10 notice sign
    owner         text,
    version       bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    via           text,  -- replica: the child it came through
    snapshot_mark boolean NOT NULL DEFAULT false,
    PRIMARY KEY (station_id, code)
);

CREATE TABLE systems (
    station_id           text COLLATE "C" NOT NULL CHECK (station_id ~ '^[0-9]{20}$'),
    code                 text NOT NULL CHECK (code ~ '^[A-Za-z0-9._-]{1,64}$'),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    builder_class        text NOT NULL CHECK (builder_class IN ('government', 'private')),  -- Art 9
    responsible_entity   text NOT NULL,            -- Art 9
    maintainer           text,                     -- Art 21
    maintenance_agreement text,                    -- Art 21
    installer            text,                     -- Art 14
    installer_licence    text,                     -- Art 14
    commissioned_on      date,                     -- Art 11
    accepted_on          date,                     -- Art 16
    reserved_interface   text,                     -- Art 13 (e.g. rtsp://...)
    -- Art 23(6): footage is kept at least 15 days (also checked, with a
    -- clearer message, by the station before it writes).
    retention_days       integer NOT NULL
        CONSTRAINT "Art 23(6): retention at least 15 days" CHECK (retention_days >= 15),
    version              bigint NOT NULL,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    via                  text,
    snapshot_mark        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (station_id, code)
);

CREATE TABLE cameras (
    -- COLLATE "C": the primary key's index then serves `id LIKE '430104%'`
    -- (the centre code is the tree) as a range scan.
    id            text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[0-9]{20}$'),
    station_id    text COLLATE "C" NOT NULL CHECK (station_id ~ '^[0-9]{20}$'),
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    system_code   text NOT NULL,
    site_code     text NOT NULL,
    stream_url    text,
    codec         text,
    resolution    text,
    latitude      double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude     double precision CHECK (longitude BETWEEN -180 AND 180),
    bearing       double precision CHECK (bearing >= 0 AND bearing < 360),
    field_of_view double precision CHECK (field_of_view > 0 AND field_of_view <= 360),
    ptz           boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'unknown'
                  CHECK (status IN ('online', 'offline', 'fault', 'unknown')),
    version       bigint NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    via           text,
    snapshot_mark boolean NOT NULL DEFAULT false
);
CREATE INDEX cameras_station_site ON cameras (station_id, site_code);
-- No index on cameras (via): a node has few children, so it would select
-- large fractions of the table and only for snapshots (rare, and reading
-- everything below a child anyway), while every replicated camera would pay
-- for it. The small sites and systems tables keep theirs.
CREATE INDEX sites_category ON sites (category);
CREATE INDEX cameras_status ON cameras (status, id);
CREATE INDEX sites_via ON sites (via) WHERE via IS NOT NULL;
CREATE INDEX systems_via ON systems (via) WHERE via IS NOT NULL;

-- Rules at registration, for this station's own rows only (replicas carry
-- what the owning station already accepted).

-- Checked per statement over the rows it wrote (transition tables), so that
-- an import of a million cameras is checked in a few set-based queries,
-- not a million trigger calls. Rows with via IS NULL are this station's own.

CREATE FUNCTION systems_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
    RETURN NULL;
END $$;
CREATE TRIGGER systems_check_insert AFTER INSERT ON systems
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION systems_check();
CREATE TRIGGER systems_check_update AFTER UPDATE ON systems
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION systems_check();

CREATE FUNCTION cameras_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    self text := vigil_self();
    bad record;
BEGIN
    -- GB/T 28181 (Art 15): a camera is type 131/132, under this station.
    SELECT * INTO bad FROM new_rows
        WHERE via IS NULL AND (substr(id, 11, 3) NOT IN ('131', '132') OR substr(id, 1, 8) <> substr(self, 1, 8)
                               OR station_id <> self)
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Art 15: camera ID % is not a camera (type 131/132) of this station (centre code %)',
            bad.id, substr(self, 1, 8) USING ERRCODE = 'VG015', DETAIL = 'id';
    END IF;
    SELECT n.id, n.site_code, s.code AS site, t.forbidden, t.code AS location_type INTO bad
        FROM new_rows n
        LEFT JOIN sites s ON s.station_id = n.station_id AND s.code = n.site_code
        LEFT JOIN location_types t ON t.code = s.location_type
        WHERE n.via IS NULL AND (s.code IS NULL OR t.forbidden IS NOT NULL)
        LIMIT 1;
    IF FOUND AND bad.site IS NULL THEN
        RAISE EXCEPTION 'site "%" of camera % is not registered at this station', bad.site_code, bad.id
            USING ERRCODE = 'VG017', DETAIL = 'site';
    ELSIF FOUND THEN
        -- Art 8: no capture device at these places.
        RAISE EXCEPTION '%: no camera may be installed at a % (site "%", camera %)',
            bad.forbidden, bad.location_type, bad.site_code, bad.id USING ERRCODE = 'VG008', DETAIL = 'site';
    END IF;
    SELECT n.id, n.system_code INTO bad
        FROM new_rows n LEFT JOIN systems y ON y.station_id = n.station_id AND y.code = n.system_code
        WHERE n.via IS NULL AND y.code IS NULL
        LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'system "%" of camera % is not registered at this station', bad.system_code, bad.id
            USING ERRCODE = 'VG017', DETAIL = 'system';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER cameras_check_insert AFTER INSERT ON cameras
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cameras_check();
CREATE TRIGGER cameras_check_update AFTER UPDATE ON cameras
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cameras_check();

-- A site whose location type Art 8 forbids cameras at cannot change into
-- one while it has cameras.
CREATE FUNCTION sites_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER sites_check_update AFTER UPDATE ON sites
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sites_check();

-- A site or system still in use cannot go (this station's rows).
CREATE FUNCTION catalog_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER sites_in_use BEFORE DELETE ON sites FOR EACH ROW EXECUTE FUNCTION catalog_in_use();
CREATE TRIGGER systems_in_use BEFORE DELETE ON systems FOR EACH ROW EXECUTE FUNCTION catalog_in_use();

-- Art 13: a private system without a reserved interface is accepted but
-- flagged; compliance reports read this view.
CREATE VIEW system_flags AS
    SELECT station_id, code, 'Art 13'::text AS article,
           'private system has no reserved interface'::text AS rule
    FROM systems WHERE builder_class = 'private' AND reserved_interface IS NULL;

-- Replicas: apply a batch of rows from child VIA. Parallel arrays, one
-- element per change; within a batch only the newest version of a key
-- counts. Rows newer than what is stored replace it (or, when removed,
-- delete it); what changed is forwarded up in the same transaction (store
-- and forward). In a snapshot, untouched rows are unmarked as well.

CREATE FUNCTION site_apply(p_via text, p_uplink text, p_snapshot boolean,
        p_station text[], p_code text[], p_version bigint[], p_removed boolean[],
        p_name text[], p_address text[], p_latitude double precision[], p_longitude double precision[],
        p_category text[], p_location_type text[], p_signage boolean[], p_owner text[], p_change bytea[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    forwarded bytea[];
BEGIN
    WITH input AS (
        SELECT DISTINCT ON (station_id, code) *
        FROM unnest(p_station, p_code, p_version, p_removed, p_name, p_address, p_latitude,
                    p_longitude, p_category, p_location_type, p_signage, p_owner, p_change)
             WITH ORDINALITY AS u(station_id, code, version, removed, name, address, latitude,
                                  longitude, category, location_type, signage, owner, change, ord)
        ORDER BY station_id, code, version DESC
    ), upserted AS (
        INSERT INTO sites AS s (station_id, code, name, address, latitude, longitude, category,
                                location_type, signage, owner, version, via)
        SELECT station_id, code, name, address, latitude, longitude, category, location_type,
               coalesce(signage, false), owner, version, p_via
        FROM input WHERE NOT removed
        ON CONFLICT (station_id, code) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address,
            latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, category = EXCLUDED.category,
            location_type = EXCLUDED.location_type, signage = EXCLUDED.signage, owner = EXCLUDED.owner,
            version = EXCLUDED.version, via = EXCLUDED.via, updated_at = now(), snapshot_mark = false
        WHERE s.version < EXCLUDED.version
        RETURNING s.station_id, s.code
    ), deleted AS (
        DELETE FROM sites s USING input i
        WHERE i.removed AND s.station_id = i.station_id AND s.code = i.code AND s.version < i.version
        RETURNING s.station_id, s.code
    )
    SELECT array_agg(i.change ORDER BY i.ord) INTO forwarded
    FROM input i
    WHERE (i.station_id, i.code) IN (SELECT * FROM upserted UNION ALL SELECT * FROM deleted);
    IF p_snapshot THEN
        UPDATE sites s SET snapshot_mark = false
        FROM unnest(p_station, p_code) AS u(station_id, code)
        WHERE s.snapshot_mark AND s.station_id = u.station_id AND s.code = u.code;
    END IF;
    IF p_uplink IS NOT NULL AND forwarded IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, forwarded);
    END IF;
    RETURN coalesce(array_length(forwarded, 1), 0);
END $$;

CREATE FUNCTION system_apply(p_via text, p_uplink text, p_snapshot boolean,
        p_station text[], p_code text[], p_version bigint[], p_removed boolean[],
        p_name text[], p_builder_class text[], p_responsible_entity text[], p_maintainer text[],
        p_maintenance_agreement text[], p_installer text[], p_installer_licence text[],
        p_commissioned_on date[], p_accepted_on date[], p_reserved_interface text[],
        p_retention_days integer[], p_change bytea[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    forwarded bytea[];
BEGIN
    WITH input AS (
        SELECT DISTINCT ON (station_id, code) *
        FROM unnest(p_station, p_code, p_version, p_removed, p_name, p_builder_class,
                    p_responsible_entity, p_maintainer, p_maintenance_agreement, p_installer,
                    p_installer_licence, p_commissioned_on, p_accepted_on, p_reserved_interface,
                    p_retention_days, p_change)
             WITH ORDINALITY AS u(station_id, code, version, removed, name, builder_class,
                                  responsible_entity, maintainer, maintenance_agreement, installer,
                                  installer_licence, commissioned_on, accepted_on, reserved_interface,
                                  retention_days, change, ord)
        ORDER BY station_id, code, version DESC
    ), upserted AS (
        INSERT INTO systems AS s (station_id, code, name, builder_class, responsible_entity, maintainer,
                                  maintenance_agreement, installer, installer_licence, commissioned_on,
                                  accepted_on, reserved_interface, retention_days, version, via)
        SELECT station_id, code, name, builder_class, responsible_entity, maintainer,
               maintenance_agreement, installer, installer_licence, commissioned_on, accepted_on,
               reserved_interface, retention_days, version, p_via
        FROM input WHERE NOT removed
        ON CONFLICT (station_id, code) DO UPDATE SET name = EXCLUDED.name,
            builder_class = EXCLUDED.builder_class, responsible_entity = EXCLUDED.responsible_entity,
            maintainer = EXCLUDED.maintainer, maintenance_agreement = EXCLUDED.maintenance_agreement,
            installer = EXCLUDED.installer, installer_licence = EXCLUDED.installer_licence,
            commissioned_on = EXCLUDED.commissioned_on, accepted_on = EXCLUDED.accepted_on,
            reserved_interface = EXCLUDED.reserved_interface, retention_days = EXCLUDED.retention_days,
            version = EXCLUDED.version, via = EXCLUDED.via, updated_at = now(), snapshot_mark = false
        WHERE s.version < EXCLUDED.version
        RETURNING s.station_id, s.code
    ), deleted AS (
        DELETE FROM systems s USING input i
        WHERE i.removed AND s.station_id = i.station_id AND s.code = i.code AND s.version < i.version
        RETURNING s.station_id, s.code
    )
    SELECT array_agg(i.change ORDER BY i.ord) INTO forwarded
    FROM input i
    WHERE (i.station_id, i.code) IN (SELECT * FROM upserted UNION ALL SELECT * FROM deleted);
    IF p_snapshot THEN
        UPDATE systems s SET snapshot_mark = false
        FROM unnest(p_station, p_code) AS u(station_id, code)
        WHERE s.snapshot_mark AND s.station_id = u.station_id AND s.code = u.code;
    END IF;
    IF p_uplink IS NOT NULL AND forwarded IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, forwarded);
    END IF;
    RETURN coalesce(array_length(forwarded, 1), 0);
END $$;

CREATE FUNCTION camera_apply(p_via text, p_uplink text, p_snapshot boolean,
        p_id text[], p_station text[], p_version bigint[], p_removed boolean[],
        p_name text[], p_system_code text[], p_site_code text[], p_stream_url text[],
        p_codec text[], p_resolution text[], p_latitude double precision[],
        p_longitude double precision[], p_bearing double precision[],
        p_field_of_view double precision[], p_ptz boolean[], p_status text[], p_change bytea[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    forwarded bytea[];
BEGIN
    WITH input AS (
        SELECT DISTINCT ON (id) *
        FROM unnest(p_id, p_station, p_version, p_removed, p_name, p_system_code, p_site_code,
                    p_stream_url, p_codec, p_resolution, p_latitude, p_longitude, p_bearing,
                    p_field_of_view, p_ptz, p_status, p_change)
             WITH ORDINALITY AS u(id, station_id, version, removed, name, system_code, site_code,
                                  stream_url, codec, resolution, latitude, longitude, bearing,
                                  field_of_view, ptz, status, change, ord)
        ORDER BY id, version DESC
    ), upserted AS (
        INSERT INTO cameras AS c (id, station_id, name, system_code, site_code, stream_url, codec,
                                  resolution, latitude, longitude, bearing, field_of_view, ptz,
                                  status, version, via)
        SELECT id, station_id, name, system_code, site_code, stream_url, codec, resolution, latitude,
               longitude, bearing, field_of_view, coalesce(ptz, false), coalesce(status, 'unknown'),
               version, p_via
        FROM input WHERE NOT removed
        ON CONFLICT (id) DO UPDATE SET station_id = EXCLUDED.station_id, name = EXCLUDED.name,
            system_code = EXCLUDED.system_code, site_code = EXCLUDED.site_code,
            stream_url = EXCLUDED.stream_url, codec = EXCLUDED.codec, resolution = EXCLUDED.resolution,
            latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, bearing = EXCLUDED.bearing,
            field_of_view = EXCLUDED.field_of_view, ptz = EXCLUDED.ptz, status = EXCLUDED.status,
            version = EXCLUDED.version, via = EXCLUDED.via,
            updated_at = now(), snapshot_mark = false
        WHERE c.version < EXCLUDED.version
        RETURNING c.id
    ), deleted AS (
        DELETE FROM cameras c USING input i
        WHERE i.removed AND c.id = i.id AND c.version < i.version
        RETURNING c.id
    )
    SELECT array_agg(i.change ORDER BY i.ord) INTO forwarded
    FROM input i
    WHERE i.id IN (SELECT id FROM upserted UNION ALL SELECT id FROM deleted);
    IF p_snapshot THEN
        UPDATE cameras c SET snapshot_mark = false
        FROM unnest(p_id) AS u(id)
        WHERE c.snapshot_mark AND c.id = u.id;
    END IF;
    IF p_uplink IS NOT NULL AND forwarded IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, forwarded);
    END IF;
    RETURN coalesce(array_length(forwarded, 1), 0);
END $$;

-- A status delta: only the status (and version) of a known camera.
CREATE FUNCTION camera_status_apply(p_uplink text, p_id text[], p_status text[],
        p_version bigint[], p_change bytea[])
RETURNS integer LANGUAGE plpgsql AS $$
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

-- Snapshots cover the catalog too: what came through a child is marked at
-- SnapshotBegin and what is still marked at SnapshotEnd is gone.
CREATE OR REPLACE FUNCTION snapshot_begin(p_peer text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM applied_seq WHERE peer_id = p_peer;
    UPDATE nodes SET snapshot_mark = true WHERE via = p_peer;
    UPDATE sites SET snapshot_mark = true WHERE via = p_peer;
    UPDATE systems SET snapshot_mark = true WHERE via = p_peer;
    UPDATE cameras SET snapshot_mark = true WHERE via = p_peer;
END $$;

CREATE OR REPLACE FUNCTION snapshot_end(p_peer text, p_epoch text, p_seq bigint)
RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO applied_seq (peer_id, epoch, last_seq) VALUES (p_peer, p_epoch, p_seq)
        ON CONFLICT (peer_id) DO UPDATE SET epoch = p_epoch, last_seq = p_seq, updated_at = now();
    DELETE FROM cameras WHERE via = p_peer AND snapshot_mark;
    DELETE FROM systems WHERE via = p_peer AND snapshot_mark;
    DELETE FROM sites WHERE via = p_peer AND snapshot_mark;
    RETURN QUERY DELETE FROM nodes WHERE via = p_peer AND snapshot_mark RETURNING id;
END $$;

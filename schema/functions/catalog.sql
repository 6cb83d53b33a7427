-- catalog: the federated catalog (Art 2: site -> system -> camera).
--
-- Every row belongs to the station that registered it (station_id). Only
-- that station creates, changes or deletes it; every other tier holds a
-- replica that arrives through the reliable delivery (Art 4: one catalog,
-- no node re-registers what another owns). The rules of the regulation are
-- checked here, inside the registering transaction, for the station's own
-- rows: a refusal raises SQLSTATE VG0xx with a message that begins with the
-- article, and the field in the DETAIL.

-- --- Rules at registration -----------------------------------------------
--
-- For this station's own rows only (replicas carry what the owning station
-- already accepted). Checked per statement over the rows it wrote
-- (transition tables), so that an import of a million cameras is checked
-- in a few set-based queries, not a million trigger calls. Rows with via
-- IS NULL are this station's own.

-- Art 13: a reserved interface is an rtsp:// (or http://) URL.
CREATE OR REPLACE FUNCTION systems_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE TRIGGER systems_check_insert AFTER INSERT ON systems
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION systems_check();
CREATE OR REPLACE TRIGGER systems_check_update AFTER UPDATE ON systems
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION systems_check();

-- Art 15, 8, and a registered site and system. Asked once per distinct
-- site and system in the statement (and only then is a camera looked up to
-- name in the refusal): once per new row, an import of a thousand cameras
-- at one site asked the same question a thousand times. On a district or
-- the city every new row is a replica (via is not NULL): one look at the
-- transition table says so, and nothing else runs.
CREATE OR REPLACE FUNCTION cameras_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    self text;
    bad record;
    cam text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE via IS NULL) THEN
        RETURN NULL;
    END IF;
    self := vigil_self();
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
CREATE OR REPLACE TRIGGER cameras_check_insert AFTER INSERT ON cameras
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cameras_check();
CREATE OR REPLACE TRIGGER cameras_check_update AFTER UPDATE ON cameras
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cameras_check();

-- A site whose location type Art 8 forbids cameras at cannot change into
-- one while it has cameras.
CREATE OR REPLACE FUNCTION sites_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE TRIGGER sites_check_update AFTER UPDATE ON sites
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sites_check();

-- A site or system still in use cannot go (this station's rows).
CREATE OR REPLACE FUNCTION catalog_in_use() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE TRIGGER sites_in_use BEFORE DELETE ON sites FOR EACH ROW EXECUTE FUNCTION catalog_in_use();
CREATE OR REPLACE TRIGGER systems_in_use BEFORE DELETE ON systems FOR EACH ROW EXECUTE FUNCTION catalog_in_use();

-- Art 13: a private system without a reserved interface is accepted but
-- flagged; compliance reports read this view.
CREATE OR REPLACE VIEW system_flags AS
    SELECT station_id, code, 'Art 13'::text AS article,
           'private system has no reserved interface'::text AS rule
    FROM systems WHERE builder_class = 'private' AND reserved_interface IS NULL;

-- --- Replicas ------------------------------------------------------------
--
-- Apply a batch of rows from child VIA. Parallel arrays, one element per
-- change; within a batch only the newest version of a key counts. Rows
-- newer than what is stored replace it (or, when removed, delete it); what
-- changed is forwarded up in the same transaction (store and forward), in
-- the order received. In a snapshot, untouched rows are unmarked as well.
-- Returns how many changes were forwarded.

CREATE OR REPLACE FUNCTION site_apply(p_via text, p_uplink text, p_snapshot boolean,
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

CREATE OR REPLACE FUNCTION system_apply(p_via text, p_uplink text, p_snapshot boolean,
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

CREATE OR REPLACE FUNCTION camera_apply(p_via text, p_uplink text, p_snapshot boolean,
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
CREATE OR REPLACE FUNCTION camera_status_apply(p_uplink text, p_id text[], p_status text[],
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

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
CREATE OR REPLACE TRIGGER cameras_check_insert AFTER INSERT ON cameras
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cameras_check();
CREATE OR REPLACE TRIGGER cameras_check_update AFTER UPDATE ON cameras
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cameras_check();

-- Art 19, 29(2) (and Art 5, 24(1)): a camera's source address and a
-- system's reserved interface are held at their station and nowhere else
-- (DESIGN.md "The gate"). Above a station, and for any row that came
-- through a child, one given is not stored: only that it exists
-- (has_stream, has_reserved_interface), which is what a station sends up
-- in its place (lib/features/catalog/codec.c), so that a parent that gets
-- one all the same (from an old or a hostile station) holds none either.
-- At the station the presence follows the address (vigild works it out as
-- it writes; this catches any other writer). The WHEN clause keeps the
-- trigger off every row vigild writes: a replica's (no address), by the
-- million, and the station's own (its presence set), by the million at an
-- import, without a look at the node's tier per row. A row of this
-- node's own with an address at a node that is not a station is refused
-- once per statement (systems_check, cameras_check).
CREATE OR REPLACE FUNCTION catalog_address_stays() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE TRIGGER cameras_address_stays BEFORE INSERT OR UPDATE ON cameras FOR EACH ROW
    WHEN (NEW.stream_url IS NOT NULL AND (NEW.via IS NOT NULL OR NOT NEW.has_stream))
    EXECUTE FUNCTION catalog_address_stays();
CREATE OR REPLACE TRIGGER systems_address_stays BEFORE INSERT OR UPDATE ON systems FOR EACH ROW
    WHEN (NEW.reserved_interface IS NOT NULL AND (NEW.via IS NOT NULL OR NOT NEW.has_reserved_interface))
    EXECUTE FUNCTION catalog_address_stays();
-- And without an address at the station, no presence: one removed there
-- goes up as has_stream = false.
CREATE OR REPLACE FUNCTION catalog_address_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'cameras' THEN
        NEW.has_stream := false;
    ELSE
        NEW.has_reserved_interface := false;
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER cameras_address_gone BEFORE INSERT OR UPDATE ON cameras FOR EACH ROW
    WHEN (NEW.stream_url IS NULL AND NEW.has_stream AND NEW.via IS NULL AND vigil_self_is_station())
    EXECUTE FUNCTION catalog_address_gone();
CREATE OR REPLACE TRIGGER systems_address_gone BEFORE INSERT OR UPDATE ON systems FOR EACH ROW
    WHEN (NEW.reserved_interface IS NULL AND NEW.has_reserved_interface AND NEW.via IS NULL
          AND vigil_self_is_station())
    EXECUTE FUNCTION catalog_address_gone();

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
-- flagged; compliance reports read this view, at every tier: by
-- has_reserved_interface, as the interface itself is held at its station
-- only (Art 19, 29(2)).
CREATE OR REPLACE VIEW system_flags AS
    SELECT station_id, code, 'Art 13'::text AS article,
           'private system has no reserved interface'::text AS rule
    FROM systems WHERE builder_class = 'private' AND NOT has_reserved_interface;

-- --- Replicas ------------------------------------------------------------
--
-- Apply a batch of rows from child VIA. Parallel arrays, one element per
-- change; within a batch only the newest version of a key counts. Rows
-- newer than what is stored replace it (or, when removed, delete it); what
-- changed is forwarded up in the same transaction (store and forward), in
-- the order received. In a snapshot, untouched rows are unmarked as well.
-- Returns how many changes were forwarded.

-- site_apply, system_apply and camera_apply have one shape, so one
-- function writes all three from their tables' columns: adding a column to
-- sites, systems or cameras (a numbered migration, ALTER TABLE ... ADD
-- COLUMN) is all the SQL side needs. Every numbered migration applied
-- re-applies this file (lib/db/migrate.c), which writes the function again.
--
-- FUNCTION(p_via text, p_uplink text, p_snapshot boolean, <lead>,
--          p_version bigint[], p_removed boolean[], <rest>, p_change bytea[])
--
-- where <lead> are the key columns and station_id, and <rest> every other
-- data column, each p_COLUMN TYPE[], in table order. Data columns are all
-- but version, updated_at, via and snapshot_mark (bookkeeping, set here),
-- and generated ones. vigild calls these positionally (the column tables
-- in lib/, catalog_*_columns): a column added to the table lands after the
-- last data column, just before p_change, so its C column goes last too.
-- A column with a default is stored as coalesce(value, default), so a
-- change that leaves it out (NULL) gets the default, as a new row would.
-- A changed argument list replaces the function (DROP, then CREATE). The
-- three texts differ only in their column lists.
CREATE OR REPLACE FUNCTION catalog_define_apply(p_table regclass, p_function text, p_key text[])
RETURNS void LANGUAGE plpgsql AS $$
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

-- Defined here, by the calls below (test_schema reads them as the
-- definitions of these three functions).
SELECT catalog_define_apply('sites', 'site_apply', ARRAY['station_id', 'code']);
SELECT catalog_define_apply('systems', 'system_apply', ARRAY['station_id', 'code']);
SELECT catalog_define_apply('cameras', 'camera_apply', ARRAY['id']);

-- A database restored from a backup (issue 17, fault 3): the peers may
-- hold changes of this node's own sites, systems and cameras that the
-- backup lost, with versions above the ones it holds now, and would keep
-- them over the snapshot that follows. Each own row gets a fresh version
-- (next_version: above the lost ones, as vigild pushed the version clock
-- above every version it reserved before; lib/delivery/delivery.c), so
-- the snapshot replaces what the peers hold, at every tier above. Returns
-- the version clock, which vigild's own versions then go on above.
CREATE OR REPLACE FUNCTION catalog_restamp_own() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sites SET version = next_version(), updated_at = now() WHERE via IS NULL;
    UPDATE systems SET version = next_version(), updated_at = now() WHERE via IS NULL;
    UPDATE cameras SET version = next_version(), updated_at = now() WHERE via IS NULL;
    RETURN (SELECT last FROM version_clock);
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

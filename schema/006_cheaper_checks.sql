-- 006: the camera rules of 003, checked per distinct site and system.
--
-- cameras_check() looked up the site, its location type and the system
-- once per new row; an import of a thousand cameras at one site asked the
-- same question a thousand times. It now asks once per distinct site and
-- system in the statement (and only then looks for a camera to name in the
-- refusal). On a district or the city every new row is a replica (via is
-- not NULL): one look at the transition table says so, and nothing else
-- runs. Same rules, same articles, same messages.

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

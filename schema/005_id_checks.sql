-- 005: GB/T 28181 IDs checked without a regular expression.
--
-- `id ~ '^[0-9]{20}$'` ran the regex engine for every replicated camera,
-- twice (id, station_id): some 8% of a district's database time in
-- tests/bench/catalog-sync. gbt28181_id() says the same (exactly twenty
-- ASCII digits) with two plain string functions, and is inlined.

CREATE FUNCTION gbt28181_id(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN octet_length(s) = 20 AND ltrim(s, '0123456789') = '';

ALTER TABLE cameras
    DROP CONSTRAINT cameras_id_check,
    DROP CONSTRAINT cameras_station_id_check,
    ADD CONSTRAINT cameras_id_check CHECK (gbt28181_id(id)),
    ADD CONSTRAINT cameras_station_id_check CHECK (gbt28181_id(station_id));
ALTER TABLE sites
    DROP CONSTRAINT sites_station_id_check,
    ADD CONSTRAINT sites_station_id_check CHECK (gbt28181_id(station_id));
ALTER TABLE systems
    DROP CONSTRAINT systems_station_id_check,
    ADD CONSTRAINT systems_station_id_check CHECK (gbt28181_id(station_id));

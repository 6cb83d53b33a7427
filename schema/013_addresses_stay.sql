-- 013: a camera's source address and a system's reserved interface never
-- leave their station (Art 19, 29(2); Art 5, 24(1); DESIGN.md "The gate").
-- (Safe to run again, as tests/unit/test_migrate.c does: IF NOT EXISTS,
-- and the data moves find nothing left to move.)
--
-- What goes up says that one exists: has_stream, has_reserved_interface
-- (vigil.proto Camera.has_stream, System.has_reserved_interface). The
-- station holds the address itself and works these out from it; a
-- district or the city holds them only. The next start applies
-- functions/catalog.sql again, so camera_apply and system_apply take the
-- new columns (catalog_define_apply), and its triggers
-- (cameras_address_stays, systems_address_stays) keep it so.
ALTER TABLE cameras ADD COLUMN IF NOT EXISTS has_stream boolean NOT NULL DEFAULT false;
ALTER TABLE systems ADD COLUMN IF NOT EXISTS has_reserved_interface boolean NOT NULL DEFAULT false;

-- What older databases hold. At a station, the presence of its own
-- addresses; at a district or the city (a node ID whose grassroots-unit
-- pair is 00: DESIGN.md "Identity and tiers"), the replicas' addresses
-- go, and only that they existed stays.
UPDATE cameras SET has_stream = true WHERE stream_url IS NOT NULL AND NOT has_stream;
UPDATE systems SET has_reserved_interface = true
    WHERE reserved_interface IS NOT NULL AND NOT has_reserved_interface;
UPDATE cameras SET stream_url = NULL
    WHERE stream_url IS NOT NULL
      AND (via IS NOT NULL OR EXISTS (SELECT 1 FROM node_settings WHERE key = 'node_id' AND substr(value, 7, 2) = '00'));
UPDATE systems SET reserved_interface = NULL
    WHERE reserved_interface IS NOT NULL
      AND (via IS NOT NULL OR EXISTS (SELECT 1 FROM node_settings WHERE key = 'node_id' AND substr(value, 7, 2) = '00'));
-- A linkage report named the interface it linked (its URL), and went up
-- with it: the URL stays at the station, in its linkages, and reports
-- (every node's copy, the station's own included: it is what goes up)
-- keep the rest (lib/features/emergency_details.c).
UPDATE emergency_reports r SET details = (
        SELECT jsonb_agg(CASE WHEN jsonb_typeof(d) = 'object' THEN d - 'url' ELSE d END ORDER BY i)
        FROM jsonb_array_elements(r.details) WITH ORDINALITY AS x(d, i))
    WHERE jsonb_typeof(details) = 'array'
      AND EXISTS (SELECT 1 FROM jsonb_array_elements(r.details) d WHERE jsonb_typeof(d) = 'object' AND d ? 'url');

-- checks: the functions that CHECK constraints call. A table cannot be
-- created with a CHECK naming a function that does not exist yet, so this
-- file, unlike the other function files, is applied *before* the numbered
-- migrations (lib/db/migrate.c). Hence its rule: nothing here reads a
-- table or uses a type that a numbered migration creates.

-- A GB/T 28181 ID (Art 15): exactly twenty ASCII digits. Said with two
-- plain string functions, and inlined into the CHECKs that call it:
-- `id ~ '^[0-9]{20}$'` ran the regex engine for every replicated camera,
-- twice (id, station_id), some 8% of a district's database time in
-- tests/bench/catalog-sync.
CREATE OR REPLACE FUNCTION gbt28181_id(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN octet_length(s) = 20 AND ltrim(s, '0123456789') = '';

-- Distinct non-empty elements of an array (CHECKs cannot hold subqueries;
-- access_requests' Art 20(1), 20(2) constraints count officers with it).
CREATE OR REPLACE FUNCTION vigil_distinct_count(a text[]) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT count(DISTINCT x)::integer FROM unnest(a) AS x WHERE x <> '');

-- Art 5, 24(1): does URL S carry credentials? A userinfo (`user@`,
-- `user:password@`, any scheme), or what a client could take for one: a
-- `%` (`%40` is an `@` once decoded) or a `\` (some clients read it as a
-- `/`, others as part of the host) before the path; or a password in the
-- query (with no `scheme://`, from the start). The host part ends only
-- at the first `/`: lib/transport/rtsp.c
-- reads `rtsp://h?u:p@x` as user u at host x, so must this. A URL travels
-- up the tree, into emergency reports and to whoever lists the catalog:
-- the credentials are held at the station (`vigilctl system
-- credentials`), sealed. The C check (lib/control/catalogctl/check.c)
-- says the same.
CREATE OR REPLACE FUNCTION url_has_credentials(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN regexp_replace(s, '^[A-Za-z][A-Za-z0-9+.-]*://', '') ~ '^[^/]*[@%\\]'
    OR s ~* '[?&;](user|username|password|passwd|pass|pwd)=';

-- 016: one node per centre code, and versions that never go back (issue 17,
-- faults 6 and 4).
--
-- Fault 6. Authority, routing and ownership go by prefix (a node's centre
-- code without its trailing 00 pairs), so two nodes of one centre code
-- overwrote each other's catalog and audit copies. node_enroll refused a
-- second child of a code held already, but nothing stopped a station
-- announcing a node inside its own code, nor two enrolments racing. A
-- unique index makes it a rule of the table: whatever path a row takes.
--
-- What an older database may already hold twice: a row learned through a
-- child (via) that shares its centre code with another row is a
-- fabrication or stale (an enrolled child and this node are what this
-- node itself knows); it goes, and the child it came through is asked for
-- a fresh snapshot (its applied sequence forgotten), which brings back
-- what is real below it. Two children enrolled here under one code cannot
-- be told apart: the migration stops and names them (remove one with
-- `vigilctl node remove`, then migrate).
--
-- The centre-code prefix is spelt out, as vigil_prefix (functions/
-- federation.sql) says it: that function does not exist yet when this
-- runs on a fresh database, and an index on a function goes stale,
-- unnoticed, if the function is changed.
DO $$
DECLARE
    twins text;
BEGIN
    IF to_regclass('public.nodes_one_per_centre_code') IS NOT NULL THEN
        RETURN;
    END IF;
    WITH code AS (
        SELECT id, via, CASE WHEN substr(id, 7, 2) <> '00' THEN substr(id, 1, 8)
                             WHEN substr(id, 5, 2) <> '00' THEN substr(id, 1, 6) ELSE substr(id, 1, 4) END AS p
        FROM nodes),
    gone AS (
        DELETE FROM nodes n USING code c
            WHERE n.id = c.id AND n.via IS NOT NULL
              AND EXISTS (SELECT 1 FROM code o WHERE o.id <> c.id AND o.p = c.p)
            RETURNING n.via)
    DELETE FROM applied_seq WHERE peer_id IN (SELECT via FROM gone);
    SELECT string_agg(format('centre code %s: %s', p, ids), '; ') INTO twins
        FROM (SELECT CASE WHEN substr(id, 7, 2) <> '00' THEN substr(id, 1, 8)
                          WHEN substr(id, 5, 2) <> '00' THEN substr(id, 1, 6) ELSE substr(id, 1, 4) END AS p,
                     string_agg(id, ', ' ORDER BY id) AS ids
              FROM nodes GROUP BY 1 HAVING count(*) > 1) t;
    IF twins IS NOT NULL THEN
        RAISE EXCEPTION 'one node per centre code (issue 17): % are enrolled here; remove all but one '
                        '(vigilctl node remove) and migrate again', twins;
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS nodes_one_per_centre_code ON nodes
    ((CASE WHEN substr(id, 7, 2) <> '00' THEN substr(id, 1, 8)
           WHEN substr(id, 5, 2) <> '00' THEN substr(id, 1, 6) ELSE substr(id, 1, 4) END));

-- Fault 4. The last version this node issued (next_version(),
-- functions/federation.sql) or that vigild reserved for the versions it
-- stamps itself (version_reserve): one row. Seeded above every version of
-- this node's own rows, so that the first version issued after this
-- migration is newer than any a replica holds from here, even if the
-- clock is already behind.
CREATE TABLE IF NOT EXISTS version_clock (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    last     bigint NOT NULL
);
INSERT INTO version_clock (only_row, last)
    SELECT true, greatest(0,
        (SELECT max(version) FROM nodes WHERE via IS NULL),
        (SELECT max(version) FROM sites WHERE via IS NULL),
        (SELECT max(version) FROM systems WHERE via IS NULL),
        (SELECT max(version) FROM cameras WHERE via IS NULL),
        (SELECT max(version) FROM officers WHERE via IS NULL),
        (SELECT max(version) FROM delegations WHERE via IS NULL),
        (SELECT max(version) FROM conferrals WHERE via IS NULL),
        (SELECT max(greatest(grant_version, dispatched_version)) FROM access_requests),
        (SELECT max(greatest(version, dispatch_version)) FROM emergencies WHERE via IS NULL),
        (SELECT max(version) FROM emergency_reports WHERE via IS NULL))
    ON CONFLICT (only_row) DO NOTHING;

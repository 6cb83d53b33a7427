-- 016: audit_append in PL/pgSQL. As an SQL function it was planned afresh
-- at every call (PostgreSQL keeps no plan of an SQL function between
-- calls); PL/pgSQL keeps the INSERT's plan for the session. Every access,
-- linkage and unlinking is logged through it (Art 23(5)), a record per
-- system an emergency links: under an emergency over a city it was one of
-- the cluster's costliest statements (tests/bench/emergency-fanout).
CREATE OR REPLACE FUNCTION audit_append(p_actor text, p_action text, p_outcome text, p_article text,
        p_camera text, p_purpose text, p_destination text, p_request_id text,
        p_emergency_id text, p_detail text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
BEGIN
    INSERT INTO audit_log (at, node_id, actor, action, outcome, article, camera, purpose, destination,
                           request_id, emergency_id, detail, prev_hash, hash)
    VALUES (NULL, NULL, p_actor, p_action, p_outcome, p_article, p_camera, p_purpose, p_destination,
            p_request_id, p_emergency_id, p_detail, '\x', '\x')
    RETURNING seq INTO s;
    RETURN s;
END $$;

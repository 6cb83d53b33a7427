-- 018: less work for a station between an emergency order arriving and its
-- ack leaving. Under an emergency over a city every station applies and
-- acks the order at once; on the shared server of
-- tests/bench/emergency-fanout (100 stations, one PostgreSQL) the stations'
-- PostgreSQL work was the largest share of the processor time between the
-- declaration and the last ack. Measured with pgbench on one station's
-- database, backend processor time per order: ~1,180 us before, ~570 after.

-- vigil_self() reads a table, so as an SQL function it was never inlined:
-- every statement that called it parsed and planned its body again (a
-- station's order went through four such calls). PL/pgSQL keeps the plan
-- for the session.
CREATE OR REPLACE FUNCTION vigil_self() RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT value FROM node_settings WHERE key = 'node_id');
END $$;

-- A CHECK that calls an SQL function inlines the function's body at every
-- statement that checks it: gbt28181_id(scope) was a fifth of an INSERT
-- into emergencies. The same rule, written out.
ALTER TABLE emergencies DROP CONSTRAINT emergencies_scope_check,
    ADD CONSTRAINT emergencies_scope_check CHECK (octet_length(scope) = 20 AND ltrim(scope, '0123456789') = '');

-- At a station, in the transaction applying order P_ID from its parent
-- P_VIA: keep it (as emergency_apply: newer versions replace, the receipt
-- is logged) and, if this version is new, live (not ended or expired:
-- "unless it has expired") and covers this station, ack it there and then
-- (as emergency_ack did in a statement of its own, updating the row just
-- written): the report P_REPORT (version P_REPORT_VERSION, acked at
-- P_ACKED, encoded by the daemon) goes up to P_UPLINK. Returns whether it
-- acked. A station has no children: nothing goes down.
CREATE FUNCTION emergency_receive(p_via text, p_id text, p_version bigint, p_scope text, p_lat double precision,
        p_lon double precision, p_radius double precision, p_starts timestamptz, p_ends timestamptz,
        p_incident text, p_authority text, p_declared_by text, p_declared_at text, p_ended boolean,
        p_report_version bigint, p_acked timestamptz, p_uplink text, p_report bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    self text := vigil_self();
    live boolean := NOT p_ended AND now() < p_ends
                    AND left(self, length(vigil_prefix(p_scope))) = vigil_prefix(p_scope);
    acked boolean;
BEGIN
    INSERT INTO emergencies AS e (id, version, scope, near_lat, near_lon, radius_m, starts_at, ends_at, incident,
                                  authority, declared_by, declared_at, ended_at, via, acked_version)
        VALUES (p_id, p_version, p_scope, p_lat, p_lon, p_radius, p_starts, p_ends, p_incident, p_authority,
                p_declared_by, p_declared_at, CASE WHEN p_ended THEN now() END, p_via,
                CASE WHEN live THEN p_version END)
        ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, ends_at = EXCLUDED.ends_at,
            ended_at = coalesce(e.ended_at, EXCLUDED.ended_at),
            -- an order ended here stays ended: no later version is acked
            acked_version = CASE WHEN e.ended_at IS NULL THEN coalesce(EXCLUDED.acked_version, e.acked_version)
                                 ELSE e.acked_version END
        WHERE e.version < EXCLUDED.version
        RETURNING coalesce(e.acked_version = e.version, false) INTO acked;
    IF NOT FOUND THEN
        RETURN false;                       -- a version held already, or older
    END IF;
    PERFORM audit_append(p_declared_by, 'emergency.received', 'ok', NULL, NULL, p_incident, NULL, NULL, p_id,
                         format('from %s', p_via));
    IF acked THEN
        PERFORM emergency_report_apply(NULL, p_uplink, p_id, self, p_report_version, p_acked, 0, 0, false,
                                       '[]'::jsonb, p_report);
    END IF;
    RETURN acked;
END $$;

DROP FUNCTION emergency_ack(text, bigint, bigint, timestamptz, text, bytea);

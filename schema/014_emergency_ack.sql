-- 014: a station acks an order in the transaction that keeps it, so the
-- command learns within one hop's commit that the order arrived; probing
-- the systems follows (emergency_take). An order that arrives expired or
-- ended is neither acked nor acted on (the issue: "unless it has expired").

ALTER TABLE emergencies ADD COLUMN acked_version bigint;   -- at a station: the version it acked

-- At a station, in the transaction applying the order: ack version
-- P_VERSION of P_ID (P_CHANGE: this station's report, encoded by the
-- daemon, version P_REPORT_VERSION) unless already acked, ended or expired.
CREATE FUNCTION emergency_ack(p_id text, p_version bigint, p_report_version bigint, p_acked timestamptz,
        p_uplink text, p_change bytea) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE emergencies SET acked_version = version
        WHERE id = p_id AND version = p_version AND acked_version IS DISTINCT FROM version
          AND ended_at IS NULL AND now() < ends_at
          AND left(vigil_self(), length(vigil_prefix(scope))) = vigil_prefix(scope);
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    RETURN emergency_report_apply(NULL, p_uplink, p_id, vigil_self(), p_report_version, p_acked, 0, 0, false,
                                  '[]'::jsonb, p_change);
END $$;

-- At a station: the orders acked and not yet acted on, now marked acted,
-- with every private system each links (one row per system; a row with a
-- NULL system for an order that links none, so that it is still reported
-- done). Stamped in the caller's transaction: a crash before the probes
-- finish leaves the order acted on, and what was probed on record.
CREATE FUNCTION emergency_take()
RETURNS TABLE (emergency_id text, acked_at timestamptz, system_code text, url text, username text, password text)
LANGUAGE plpgsql AS $$
DECLARE
    e record;
BEGIN
    FOR e IN UPDATE emergencies m SET acted_version = m.version
             WHERE m.acked_version = m.version AND m.acted_version IS DISTINCT FROM m.version
               AND m.ended_at IS NULL AND now() < m.ends_at
             RETURNING m.id LOOP
        emergency_id := e.id;
        SELECT r.acked_at INTO acked_at FROM emergency_reports r
            WHERE r.emergency_id = e.id AND r.station = vigil_self();
        system_code := NULL;
        FOR system_code, url, username, password IN SELECT * FROM emergency_systems(e.id) LOOP
            RETURN NEXT;
        END LOOP;
        IF system_code IS NULL THEN
            url := NULL; username := NULL; password := NULL;
            RETURN NEXT;
        END IF;
    END LOOP;
END $$;

-- Orders a station acted on before this migration count as acked.
UPDATE emergencies SET acked_version = acted_version WHERE acted_version IS NOT NULL;

-- 015: a station undoes an emergency's linkages and reports it in one
-- transaction (it was two: a stop between them left the undoing in the
-- access log but the command's "unlinked" count behind). The daemon reads
-- what is due (emergency_unlink_due), then, per emergency, undoes it
-- (emergency_unlink_one) in the transaction that carries the report; the
-- report's counts are the emergency's totals, so a late linkage undone
-- later is reported right too.

DROP FUNCTION emergency_unlink();

-- Emergencies ended or expired (by this station's clock, also when cut
-- off from its parent) with linkages still in place, and their totals
-- (once undone, every linked system is unlinked).
CREATE FUNCTION emergency_unlink_due()
RETURNS TABLE (emergency_id text, linked integer, failed integer)
LANGUAGE sql STABLE AS $$
    SELECT e.id, count(*) FILTER (WHERE k.outcome = 'linked')::integer,
           count(*) FILTER (WHERE k.outcome <> 'linked')::integer
    FROM emergencies e JOIN linkages k ON k.emergency_id = e.id
    WHERE (e.ended_at IS NOT NULL OR now() >= e.ends_at)
      AND EXISTS (SELECT 1 FROM linkages l WHERE l.emergency_id = e.id AND l.unlinked_at IS NULL
                                                AND l.outcome = 'linked')
    GROUP BY e.id
    ORDER BY e.id
$$;

-- Undo P_ID's linkages, each logged (Art 23(5)); P_LINKED is how many the
-- report in the same transaction says were linked: if a linkage was
-- recorded since, the transaction fails and the next round reads again.
CREATE FUNCTION emergency_unlink_one(p_id text, p_linked integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF (SELECT count(*) FROM linkages WHERE emergency_id = p_id AND outcome = 'linked') <> p_linked THEN
        RAISE EXCEPTION 'the linkages of emergency % changed while being undone', p_id;
    END IF;
    WITH undone AS (
        UPDATE linkages l SET unlinked_at = now()
        WHERE l.emergency_id = p_id AND l.unlinked_at IS NULL AND l.outcome = 'linked'
        RETURNING l.system_code
    )
    SELECT count(audit_append('station', 'emergency.unlink', 'ok', NULL, NULL, NULL, NULL, NULL, p_id,
                              'system ' || u.system_code)) INTO n
    FROM undone u;
    RETURN n;
END $$;

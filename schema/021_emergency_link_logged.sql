-- 021: private systems linked under an emergency are a record in the
-- station's access log (Art 19: connecting a unit's system is a use of it;
-- Art 23(5)), as undoing them already was (010, 015): who ordered it (the
-- declaring commander), under which emergency and incident, which systems
-- of which owners. One record per batch of linkages the station puts on
-- record (lib/emergency.c: emergency_flush, a few systems at a time), in
-- the same transaction, and it goes up with them. A failed attempt
-- connected nothing: it stays in `linkages` and the report, not the log.
CREATE FUNCTION linkage_log(p_emergency text, p_systems text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e emergencies;
    what text;
BEGIN
    IF coalesce(cardinality(p_systems), 0) = 0 THEN
        RETURN;
    END IF;
    SELECT * INTO e FROM emergencies WHERE id = p_emergency;
    SELECT string_agg(format('%s (%s)', y.code, y.responsible_entity), ', ' ORDER BY y.code) INTO what
        FROM systems y WHERE y.station_id = vigil_self() AND y.code = ANY (p_systems);
    PERFORM audit_append(e.declared_by, 'emergency.link', 'ok', 'Art 13', NULL, e.incident, NULL, NULL,
                         p_emergency, 'systems ' || what);
END $$;

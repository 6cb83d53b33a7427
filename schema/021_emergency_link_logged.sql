-- 021: a private system linked under an emergency is a record in the
-- station's access log (Art 19: connecting a unit's system is a use of it;
-- Art 23(5)), as undoing it already was (010, 015): who ordered it (the
-- declaring commander), under which emergency and incident, which system of
-- which owner. It goes up with the linkage's own records (lib/emergency.c
-- forwards what the flush logged in the same transaction). A failed attempt
-- connected nothing: it stays in `linkages` and the report, not the log.
-- 011's linkage_record, restated with the record added.
CREATE OR REPLACE FUNCTION linkage_record(p_emergency text, p_system text, p_url text, p_outcome text,
        p_reason text, p_streams jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    e emergencies;
    y systems;
    note text;
BEGIN
    INSERT INTO linkages (emergency_id, system_code, url, outcome, reason, streams)
        VALUES (p_emergency, p_system, p_url, p_outcome, p_reason, p_streams)
        ON CONFLICT (emergency_id, system_code) DO UPDATE SET outcome = EXCLUDED.outcome, reason = EXCLUDED.reason,
            streams = EXCLUDED.streams, linked_at = now(), unlinked_at = NULL;
    IF p_outcome <> 'linked' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO e FROM emergencies WHERE id = p_emergency;
    SELECT * INTO y FROM systems WHERE station_id = vigil_self() AND code = p_system;
    note := format('To %s: your system "%s" (%s) was linked to the public-security video platform at %s under '
                   'emergency %s (%s), on the authority of %s, until %s at the latest (Art 13).',
                   y.responsible_entity, y.name, p_system, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'),
                   e.id, e.incident, e.authority, to_char(e.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'));
    INSERT INTO linkage_notifications (emergency_id, system_code, responsible_entity, linked_at, incident, authority, text)
        VALUES (p_emergency, p_system, y.responsible_entity, now(), e.incident, e.authority, note)
        ON CONFLICT (emergency_id, system_code) DO NOTHING;
    PERFORM audit_append(e.declared_by, 'emergency.link', 'ok', 'Art 13', NULL, e.incident, NULL, NULL,
                         p_emergency, format('system %s of %s', p_system, y.responsible_entity));
    RETURN note;
END $$;

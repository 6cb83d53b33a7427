-- 011: the after-action side of an emergency (Art 13): each private system
-- linked gets a notification record addressed to its responsible entity
-- (its owner is told that it was linked, when, why and on whose
-- authority), kept at the station and carried in its report to the command.

CREATE TABLE linkage_notifications (
    emergency_id       text NOT NULL,
    system_code        text NOT NULL,
    responsible_entity text NOT NULL,
    linked_at          timestamptz NOT NULL,
    incident           text NOT NULL,
    authority          text NOT NULL,
    text               text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (emergency_id, system_code)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON linkage_notifications TO vigil_writer;

-- A linkage recorded at the station: the row, and for a system linked, its
-- owner's notification. Returns the notification's text (NULL if none).
CREATE FUNCTION linkage_record(p_emergency text, p_system text, p_url text, p_outcome text, p_reason text,
        p_streams jsonb) RETURNS text
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
    RETURN note;
END $$;

-- 013: `emergency status` is polled live at the command while a thousand
-- systems are linked: per station it carries the counts and only what
-- failed (system, outcome, reason), not every linkage's streams and notice
-- (some 700 bytes each); `emergency report` keeps the whole record.

CREATE OR REPLACE FUNCTION emergency_status_json(p_id text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', e.id,
        'state', CASE WHEN e.ended_at IS NOT NULL THEN 'ended' WHEN now() >= e.ends_at THEN 'expired'
                      ELSE 'active' END,
        'scope', e.scope, 'incident', e.incident, 'authority', e.authority,
        'near', CASE WHEN e.radius_m IS NOT NULL
                     THEN json_build_object('lat', e.near_lat, 'lon', e.near_lon, 'radius_m', e.radius_m) END,
        'declared_by', e.declared_by, 'declared_at', e.declared_at, 'starts_at', e.starts_at,
        'ends_at', e.ends_at, 'ended_at', e.ended_at,
        'stations', coalesce((
            SELECT json_agg(json_build_object('id', s.id, 'name', s.name, 'acked', r.acked_at IS NOT NULL,
                                              'linked', coalesce(r.linked, 0), 'unlinked', coalesce(r.unlinked, 0),
                                              'failed', coalesce(r.failed, 0), 'done', coalesce(r.done, false),
                                              -- (details are read only where something failed)
                                              'failures', CASE WHEN r.failed > 0 THEN coalesce((
                                                  SELECT jsonb_agg(jsonb_build_object('system', d->'system',
                                                      'outcome', d->'outcome', 'reason', d->'reason'))
                                                  FROM jsonb_array_elements(r.details) d
                                                  WHERE d->>'outcome' <> 'linked'), '[]') ELSE '[]' END)
                            ORDER BY s.id)
            FROM nodes s LEFT JOIN emergency_reports r ON r.emergency_id = e.id AND r.station = s.id
            WHERE s.tier = 'station' AND left(s.id, length(vigil_prefix(e.scope))) = vigil_prefix(e.scope)), '[]'),
        'totals', (SELECT json_build_object('acked', count(*) FILTER (WHERE r.acked_at IS NOT NULL),
                                            'linked', coalesce(sum(r.linked), 0), 'failed', coalesce(sum(r.failed), 0))
                   FROM emergency_reports r WHERE r.emergency_id = e.id),
        'not_answered', coalesce((
            SELECT json_agg(s.id ORDER BY s.id) FROM nodes s
            WHERE s.tier = 'station' AND left(s.id, length(vigil_prefix(e.scope))) = vigil_prefix(e.scope)
              AND NOT EXISTS (SELECT 1 FROM emergency_reports r WHERE r.emergency_id = e.id AND r.station = s.id)),
            '[]'))
    FROM emergencies e WHERE e.id = p_id
$$;

-- A station's later reports (linkages done, undone) keep the time it first
-- acked: the command's record of when the order was answered.
CREATE OR REPLACE FUNCTION emergency_report_apply(p_via text, p_uplink text, p_id text, p_station text,
        p_version bigint, p_acked timestamptz, p_linked integer, p_failed integer, p_done boolean,
        p_details jsonb, p_change bytea, p_unlinked integer DEFAULT 0)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    changed boolean;
BEGIN
    INSERT INTO emergency_reports AS r (emergency_id, station, version, acked_at, linked, failed, done, details,
                                        via, unlinked)
        VALUES (p_id, p_station, p_version, p_acked, p_linked, p_failed, p_done, p_details, p_via, p_unlinked)
        ON CONFLICT (emergency_id, station) DO UPDATE SET version = EXCLUDED.version,
            acked_at = coalesce(r.acked_at, EXCLUDED.acked_at), linked = EXCLUDED.linked,
            failed = EXCLUDED.failed, done = EXCLUDED.done, details = coalesce(EXCLUDED.details, r.details),
            unlinked = EXCLUDED.unlinked, received_at = now()
        WHERE r.version < EXCLUDED.version
        RETURNING true INTO changed;
    IF coalesce(changed, false) AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN coalesce(changed, false);
END $$;

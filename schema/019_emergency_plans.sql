-- 019: the statements a command and every station run over and over keep
-- their plans. An SQL function that is not inlined (these read tables) is
-- parsed and planned again at every call; PL/pgSQL plans once a session.
--
-- `emergency status` is polled live at the command while a city's stations
-- ack and link (tests/bench/emergency-fanout polls it every 20 ms): planning
-- was 0.9 ms of its ~2.4 ms (backend time, 100 stations), on the
-- connection next to the one applying the very acks it waits for.
CREATE OR REPLACE FUNCTION emergency_status_json(p_id text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
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
    );
END $$;

-- A station reads what is due to be undone every time it acts: at every
-- batch from its parent and every two seconds (lib/emergency.c).
CREATE OR REPLACE FUNCTION emergency_unlink_due()
RETURNS TABLE (emergency_id text, linked integer, failed integer)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
        SELECT e.id, count(*) FILTER (WHERE k.outcome = 'linked')::integer,
               count(*) FILTER (WHERE k.outcome <> 'linked')::integer
        FROM emergencies e JOIN linkages k ON k.emergency_id = e.id
        WHERE (e.ended_at IS NOT NULL OR now() >= e.ends_at)
          AND EXISTS (SELECT 1 FROM linkages l WHERE l.emergency_id = e.id AND l.unlinked_at IS NULL
                                                    AND l.outcome = 'linked')
        GROUP BY e.id
        ORDER BY e.id;
END $$;

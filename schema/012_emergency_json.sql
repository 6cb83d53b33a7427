-- 012: what `emergency declare|status|end|report` answer (CONTRACT.md:
-- {"id","state","stations":[{"id","acked","linked","failed"}]}), built
-- here once: every station in scope, answered or not, with its report.

CREATE FUNCTION emergency_status_json(p_id text) RETURNS json
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
                                              'details', r.details) ORDER BY s.id)
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

-- After action (Art 13, 23(5)): the status, every linkage and failure with
-- the owners' notifications, and who accessed what under it (this node's
-- log and its copies of the stations').
CREATE FUNCTION emergency_report_json(p_id text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT (emergency_status_json(p_id)::jsonb || jsonb_build_object(
        'linkages', coalesce((SELECT jsonb_agg(d || jsonb_build_object('station', r.station)
                                               ORDER BY r.station, d->>'system')
                              FROM emergency_reports r, jsonb_array_elements(r.details) d
                              WHERE r.emergency_id = p_id), '[]'),
        'accesses', coalesce((SELECT jsonb_agg(to_jsonb(a) ORDER BY a.at) FROM (
            SELECT node_id, seq, at, actor, action, outcome, article, camera FROM audit_log
            WHERE emergency_id = p_id AND action IN ('view-live', 'view-recorded', 'copy', 'retrieve')
            UNION ALL
            SELECT node_id, seq, at, actor, action, outcome, article, camera FROM audit_copies
            WHERE emergency_id = p_id AND action IN ('view-live', 'view-recorded', 'copy', 'retrieve')) a), '[]')
    ))::json
$$;

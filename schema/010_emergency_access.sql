-- 010: access under an emergency (Art 19), and its end.
--
-- An officer of the command that declared an emergency (their unit is the
-- node it was declared at) may view, copy and retrieve within its scope
-- (and radius) and time without a per-request approval; the station logs
-- every such access with the emergency's ID. Outside scope or time, or
-- after the end: refused (Art 29(2)). At the end, or at expiry by the
-- station's own clock, every linkage is undone.

ALTER TABLE emergency_reports ADD COLUMN unlinked integer NOT NULL DEFAULT 0;

DROP FUNCTION view_decide(text, text, text, timestamptz, timestamptz, text);

CREATE FUNCTION view_decide(p_officer text, p_camera text, p_action text, p_from timestamptz,
        p_to timestamptz, p_entry text, p_unit text, OUT granted boolean, OUT article text, OUT message text,
        OUT url text, OUT request_id text, OUT valid_until timestamptz, OUT emergency_id text)
LANGUAGE plpgsql AS $$
DECLARE
    g grants;
    c cameras;
    e emergencies;
BEGIN
    granted := false;
    SELECT * INTO c FROM cameras WHERE id = p_camera AND station_id = vigil_self();
    IF NOT FOUND THEN
        message := format('camera %s is not registered at this station', p_camera);
    ELSIF NOT p_action = ANY (ARRAY['view-live', 'view-recorded', 'copy', 'retrieve']) THEN
        message := format('unknown action %s', p_action);
    ELSE
        SELECT * INTO g FROM grants
            WHERE cameras @> ARRAY[p_camera] AND actions @> ARRAY[p_action] AND officers @> ARRAY[p_officer]
              AND NOT revoked AND now() < grants.valid_until
              AND (p_action = 'view-live' OR (p_from IS NOT NULL AND p_to IS NOT NULL
                                              AND p_from >= rec_from AND p_to <= rec_to))
            ORDER BY grants.valid_until DESC LIMIT 1;
        IF FOUND THEN
            granted := true;
            url := c.stream_url;
            request_id := g.request_id;
            valid_until := g.valid_until;
        ELSE
            -- Art 19: under an emergency, its command's officers need no
            -- approval, within its scope, radius and time.
            SELECT em.* INTO e FROM emergencies em
                LEFT JOIN sites s ON s.station_id = c.station_id AND s.code = c.site_code
                WHERE em.ended_at IS NULL AND now() >= em.starts_at AND now() < em.ends_at
                  AND p_unit IS NOT NULL AND p_unit = em.declared_at
                  AND left(vigil_self(), length(vigil_prefix(em.scope))) = vigil_prefix(em.scope)
                  AND (em.radius_m IS NULL
                       OR (coalesce(c.latitude, s.latitude) IS NOT NULL
                           AND vigil_distance_m(em.near_lat, em.near_lon, coalesce(c.latitude, s.latitude),
                                                coalesce(c.longitude, s.longitude)) <= em.radius_m))
                ORDER BY em.ends_at DESC LIMIT 1;
            IF FOUND THEN
                granted := true;
                url := c.stream_url;
                emergency_id := e.id;
                valid_until := e.ends_at;
            ELSE
                article := 'Art 29(2)';
                message := format('Art 29(2): no live approval or emergency lets %s %s camera %s%s', p_officer,
                                  p_action, p_camera,
                                  CASE WHEN p_action <> 'view-live' THEN ' for that time range' ELSE '' END);
            END IF;
        END IF;
    END IF;
    PERFORM audit_append(p_officer, p_action, CASE WHEN granted THEN 'ok' ELSE 'refused' END, article,
                         p_camera, coalesce(g.purpose, e.incident), g.destination, g.request_id, e.id,
                         coalesce(message, format('from %s', p_entry)));
END $$;

-- The command ends its emergency: a newer version, ended, goes down.
CREATE FUNCTION emergency_end(p_id text, p_badge text) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    e emergencies;
    v bigint := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
BEGIN
    SELECT * INTO e FROM emergencies WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR e.declared_at <> vigil_self() THEN
        RETURN access_refuse(p_badge, 'emergency.end', NULL, format('no emergency %s was declared here', p_id), NULL);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_badge AND unit = vigil_self() AND active
                   AND 'commander' = ANY (roles)) THEN
        RETURN access_refuse(p_badge, 'emergency.end', 'Art 19',
                             format('Art 19: only a commander of %s ends it', vigil_self()), NULL);
    END IF;
    IF e.ended_at IS NOT NULL THEN
        RETURN ROW(true, NULL, NULL, 'ended')::access_answer;
    END IF;
    UPDATE emergencies SET ended_at = now(), version = v, dispatch_version = v WHERE id = p_id;
    PERFORM audit_append(p_badge, 'emergency.end', 'ok', NULL, NULL, e.incident, NULL, NULL, p_id, NULL);
    RETURN ROW(true, NULL, NULL, 'ended')::access_answer;
END $$;

-- At a station: undo the linkages of emergencies that ended or expired
-- (by this station's clock, also when cut off from its parent).
CREATE FUNCTION emergency_unlink()
RETURNS TABLE (emergency_id text, unlinked integer, linked integer, failed integer)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    WITH undone AS (
        UPDATE linkages l SET unlinked_at = now()
        FROM emergencies e
        WHERE l.emergency_id = e.id AND l.unlinked_at IS NULL AND l.outcome = 'linked'
          AND (e.ended_at IS NOT NULL OR now() >= e.ends_at)
        RETURNING l.emergency_id, l.system_code
    ), logged AS (
        SELECT u.emergency_id, audit_append('station', 'emergency.unlink', 'ok', NULL, NULL, NULL, NULL, NULL,
                                            u.emergency_id, 'system ' || u.system_code) AS seq
        FROM undone u
    )
    SELECT l.emergency_id, count(*)::integer,
           (SELECT count(*)::integer FROM linkages k WHERE k.emergency_id = l.emergency_id AND k.outcome = 'linked'),
           (SELECT count(*)::integer FROM linkages k WHERE k.emergency_id = l.emergency_id AND k.outcome <> 'linked')
    FROM logged l GROUP BY l.emergency_id;
END $$;

DROP FUNCTION emergency_report_apply(text, text, text, text, bigint, timestamptz, integer, integer, boolean, jsonb,
                                     bytea);
CREATE FUNCTION emergency_report_apply(p_via text, p_uplink text, p_id text, p_station text,
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
            acked_at = EXCLUDED.acked_at, linked = EXCLUDED.linked, failed = EXCLUDED.failed,
            done = EXCLUDED.done, details = coalesce(EXCLUDED.details, r.details), unlinked = EXCLUDED.unlinked,
            received_at = now()
        WHERE r.version < EXCLUDED.version
        RETURNING true INTO changed;
    IF coalesce(changed, false) AND p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    RETURN coalesce(changed, false);
END $$;

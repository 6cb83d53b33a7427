-- The stream gate (features/stream_gate.c), at the station that owns the
-- camera: a ticket the station signed opens the camera's stream only while
-- what it was signed on still holds (Art 19, 29(2)), and every open, refusal
-- and close is a record in the station's access log (Art 23(5)).
--
-- The signature and the ticket's own expiry are checked on the loop before
-- any of this is asked; these functions answer what only the database
-- knows: is the grant still live and unrevoked, the emergency still on,
-- the private system still linked under it, and where is the stream.

-- Whether the basis of a ticket (grant P_GRANT, or emergency P_EMERGENCY)
-- still lets officer P_OFFICER (unit P_UNIT, key P_KEY) P_ACTION camera
-- P_CAMERA (recorded P_FROM..P_TO): NULL if it does, else the reason, with
-- its article in ARTICLE.
CREATE OR REPLACE FUNCTION gate_basis_problem(p_grant text, p_emergency text, p_officer text, p_key text,
        p_unit text, p_camera text, p_action text, p_from timestamptz, p_to timestamptz,
        OUT article text, OUT message text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    g grants;
    b record;
    y systems;
BEGIN
    IF coalesce(p_grant, '') <> '' THEN
        SELECT * INTO g FROM grants WHERE request_id = p_grant;
        article := 'Art 29(2)';
        IF NOT FOUND THEN
            message := format('Art 29(2): grant %s is not held at this station', p_grant);
        ELSIF g.revoked THEN
            message := format('Art 29(2): grant %s was revoked', p_grant);
        ELSIF now() >= g.valid_until THEN
            message := format('Art 29(2): grant %s ended at %s', p_grant, g.valid_until);
        ELSIF NOT (g.cameras @> ARRAY[p_camera] AND g.actions @> ARRAY[p_action]) THEN
            message := format('Art 29(2): grant %s does not let anyone %s camera %s', p_grant, p_action, p_camera);
        ELSIF NOT EXISTS (SELECT 1 FROM unnest(g.officers, g.officer_units, g.officer_keys) AS n(b, u, k)
                          WHERE n.b = p_officer AND n.u IS NOT DISTINCT FROM p_unit AND n.k = p_key) THEN
            message := format('Art 29(2): grant %s does not name %s of unit %s with this key', p_grant, p_officer,
                              coalesce(p_unit, '?'));
        ELSIF p_action <> 'view-live' AND (p_from IS NULL OR p_to IS NULL OR g.rec_from IS NULL
                                           OR g.rec_to IS NULL OR NOT (p_from >= g.rec_from AND p_to <= g.rec_to)) THEN
            message := format('Art 29(2): grant %s does not cover recorded material from %s to %s', p_grant,
                              p_from, p_to);
        ELSIF NOT EXISTS (SELECT 1 FROM cameras c WHERE c.id = p_camera AND c.station_id = vigil_self()) THEN
            message := format('camera %s is no longer registered at this station', p_camera);
        ELSE
            article := NULL;
        END IF;
        RETURN;
    END IF;
    -- Under an emergency: it still names the officer, covers the camera
    -- and the time (the destination of a copy was checked when the ticket
    -- was signed: a ticket names no other), and a private system's camera
    -- is reached only while the system is linked under it (Art 13).
    -- Exactly the emergency the ticket names: another, longer one that
    -- also names the officer does not end (or stand in for) this one.
    SELECT * INTO b FROM emergency_view_basis(p_camera, p_officer, p_key, p_unit, p_action, p_from, p_to,
                                              '(as when the ticket was signed)', p_emergency);
    IF NOT coalesce(b.granted, false) OR b.emergency_id IS DISTINCT FROM p_emergency THEN
        IF NOT EXISTS (SELECT 1 FROM emergencies e WHERE e.id = p_emergency AND e.ended_at IS NULL
                       AND now() < e.ends_at) THEN
            article := 'Art 19';
            message := format('Art 19: emergency %s has ended', p_emergency);
        ELSE
            article := coalesce(b.article, 'Art 19');
            message := coalesce(b.message, format('Art 19: emergency %s no longer lets %s %s camera %s',
                                                  p_emergency, p_officer, p_action, p_camera));
        END IF;
        RETURN;
    END IF;
    SELECT y2.* INTO y FROM cameras c JOIN systems y2 ON y2.station_id = c.station_id AND y2.code = c.system_code
        WHERE c.id = p_camera AND c.station_id = vigil_self();
    IF NOT FOUND THEN
        article := 'Art 29(2)';
        message := format('camera %s is no longer registered at this station', p_camera);
    ELSIF y.builder_class = 'private' AND NOT EXISTS (
            SELECT 1 FROM linkages l WHERE l.emergency_id = p_emergency AND l.system_code = y.code
            AND l.outcome = 'linked' AND l.unlinked_at IS NULL) THEN
        article := 'Art 13';
        message := format('Art 13: private system %s is not linked under emergency %s', y.code, p_emergency);
    END IF;
END $$;

-- A ticket asks to open (P_TICKET: its ID, hex; P_CLIENT: the player's
-- address). GRANTED, or the article and why; on GRANTED, the stream's
-- address (the camera's own; for a camera of a private system with none,
-- its system's reserved interface) and the credentials held for the
-- system (sealed: opened on the loop only). On record either way.
CREATE OR REPLACE FUNCTION gate_open(p_ticket text, p_officer text, p_key text, p_unit text, p_camera text,
        p_action text, p_from timestamptz, p_to timestamptz, p_grant text, p_emergency text, p_client text,
        p_expires timestamptz,
        OUT granted boolean, OUT article text, OUT message text, OUT url text, OUT system_code text,
        OUT username text, OUT password text, OUT nonce text, OUT sealed text)
LANGUAGE plpgsql AS $$
DECLARE
    c cameras;
    y systems;
    k interface_credentials;
    p record;
    purpose text;
BEGIN
    granted := false;
    SELECT * INTO c FROM cameras WHERE id = p_camera AND station_id = vigil_self();
    IF NOT FOUND THEN
        message := format('camera %s is not registered at this station', p_camera);
    ELSE
        SELECT * INTO y FROM systems WHERE station_id = c.station_id AND code = c.system_code;
        SELECT * INTO p FROM gate_basis_problem(p_grant, p_emergency, p_officer, p_key, p_unit, p_camera, p_action,
                                                p_from, p_to);
        IF p.message IS NOT NULL THEN
            article := p.article;
            message := p.message;
        ELSE
            url := coalesce(c.stream_url, CASE WHEN y.builder_class = 'private' THEN y.reserved_interface END);
            IF url IS NULL THEN
                message := format('camera %s has no stream address registered at this station', p_camera);
            ELSE
                granted := true;
                system_code := y.code;
                -- The credentials held for a system answer its reserved
                -- interface and nothing else (Art 5): a camera address an
                -- admin points elsewhere gets none of them.
                SELECT * INTO k FROM interface_credentials ic WHERE ic.system_code = y.code;
                IF FOUND AND url IS NOT DISTINCT FROM y.reserved_interface THEN
                    username := k.username;
                    password := k.password;
                    nonce := encode(k.nonce, 'hex');
                    sealed := encode(k.sealed, 'hex');
                END IF;
            END IF;
        END IF;
    END IF;
    SELECT coalesce(g.purpose, e.incident) INTO purpose FROM (SELECT 1) one
        LEFT JOIN grants g ON g.request_id = nullif(p_grant, '')
        LEFT JOIN emergencies e ON e.id = nullif(p_emergency, '');
    IF granted THEN
        INSERT INTO gate_sessions (ticket, officer, camera, request_id, emergency_id, client, expires_at)
            VALUES (p_ticket, p_officer, p_camera, nullif(p_grant, ''), nullif(p_emergency, ''), p_client,
                    p_expires)
            ON CONFLICT DO NOTHING;
    END IF;
    PERFORM audit_append(p_officer, 'gate.open', CASE WHEN granted THEN 'ok' ELSE 'refused' END, article, p_camera,
                         purpose, NULL, nullif(p_grant, ''), nullif(p_emergency, ''),
                         format('ticket %s, %s, from %s%s', p_ticket, p_action, p_client,
                                CASE WHEN granted THEN format(', until %s', p_expires)
                                     ELSE ': ' || message END));
END $$;

-- Which of the open sessions' bases still hold: P_N sessions, the arrays
-- side by side (recorded ranges as seconds since 1970). Returns the indexes (1-based) of those that no longer do,
-- with why.
CREATE OR REPLACE FUNCTION gate_check(p_grants text[], p_emergencies text[], p_officers text[], p_keys text[],
        p_units text[], p_cameras text[], p_actions text[], p_froms double precision[], p_tos double precision[])
RETURNS TABLE (i integer, article text, message text)
LANGUAGE sql STABLE AS $$
    SELECT s.i, p.article, p.message
    FROM generate_subscripts(p_cameras, 1) AS s(i),
         LATERAL gate_basis_problem(p_grants[s.i], p_emergencies[s.i], p_officers[s.i], p_keys[s.i], p_units[s.i],
                                    p_cameras[s.i], p_actions[s.i], to_timestamp(p_froms[s.i]),
                                    to_timestamp(p_tos[s.i])) p
    WHERE p.message IS NOT NULL
$$;

-- A session's end, on record: how long, how many bytes, why it ended.
CREATE OR REPLACE FUNCTION gate_closed(p_ticket text, p_officer text, p_camera text, p_grant text,
        p_emergency text, p_client text, p_bytes bigint, p_seconds double precision, p_end text, p_reason text)
RETURNS void LANGUAGE sql AS $$
    DELETE FROM gate_sessions WHERE (ticket, opened_at) IN
        (SELECT ticket, opened_at FROM gate_sessions WHERE ticket = p_ticket ORDER BY opened_at LIMIT 1);
    SELECT audit_append(p_officer, 'gate.close', 'ok', NULL, p_camera, NULL, NULL, nullif(p_grant, ''),
                        nullif(p_emergency, ''),
                        format('ticket %s, from %s: %s bytes in %s s, ended: %s%s', p_ticket, p_client, p_bytes,
                               round(p_seconds::numeric, 3), p_end, coalesce(' (' || p_reason || ')', '')));
$$;

-- A token refused before its basis was asked (not a ticket, not signed by
-- this station, expired, in use): on record. A token whose signature did
-- not verify is anyone's words: its actor is "(unverified)", the badge it
-- claims only in the detail, so nobody can put an attempt on an officer's
-- name by writing it into a forged token. P_VERIFIED: the signature held
-- (expired, in use), the officer and the grant or emergency are the
-- ticket's own.
CREATE OR REPLACE FUNCTION gate_refused(p_claimed_officer text, p_claimed_camera text, p_client text, p_reason text,
        p_verified boolean DEFAULT false, p_grant text DEFAULT NULL, p_emergency text DEFAULT NULL,
        p_ticket text DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    SELECT audit_append(CASE WHEN p_verified THEN p_claimed_officer ELSE '(unverified)' END, 'gate.open',
                        'refused', 'Art 29(2)', CASE WHEN p_verified THEN nullif(p_claimed_camera, '') END,
                        NULL, NULL, CASE WHEN p_verified THEN nullif(p_grant, '') END,
                        CASE WHEN p_verified THEN nullif(p_emergency, '') END,
                        format('%sfrom %s%s: %s', coalesce('ticket ' || p_ticket || ', ', ''), p_client,
                               CASE WHEN NOT p_verified AND coalesce(p_claimed_officer, '') <> ''
                                    THEN format(', claiming officer %s camera %s', p_claimed_officer,
                                                coalesce(nullif(p_claimed_camera, ''), '?')) ELSE '' END,
                               p_reason));
$$;

-- At the gate's start: every session the log shows open with no close
-- (the station stopped, crashed or lost its database while it played)
-- gets its close, "end unknown". Returns how many.
CREATE OR REPLACE FUNCTION gate_recover() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    s gate_sessions;
    n integer := 0;
BEGIN
    FOR s IN DELETE FROM gate_sessions RETURNING * LOOP
        PERFORM audit_append(s.officer, 'gate.close', 'ok', NULL, s.camera, NULL, NULL, s.request_id,
                             s.emergency_id,
                             format('ticket %s, from %s: bytes unknown, ended: unknown (the station stopped '
                                    'or lost its database before the close was recorded; the ticket expired %s)',
                                    s.ticket, s.client, s.expires_at));
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

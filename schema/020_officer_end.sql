-- 020: an officer's powers end, and a deputy's authority is withdrawn.
--
-- An officer who leaves the unit (transfer, retirement, suspension) is made
-- inactive by an admin of the node where they are registered; the change
-- replicates up like the registration, so every tier above stops admitting
-- their key (lib/accessctl.c loads active officers only) and stops taking
-- them as a named officer (Art 20(1), 20(2)), an approver or a principal
-- behind a delegation (Art 19). Nothing is deleted: the access log names
-- them, and an inactive officer may be made active again.
--
-- A principal withdraws a delegation before its end (Art 19: the deputy
-- approves only while authorised). Approvals given under it stay as they
-- were decided; from now on the deputy approves nothing on its strength.
--
-- Both are decided here, where the row lives, against the version the
-- daemon read when it encoded the change (P_SEEN_VERSION): a row changed in
-- between is refused, never overwritten. Every refusal is a record in the
-- access log, like the workflow's (007).

CREATE FUNCTION officer_set_active(p_actor text, p_badge text, p_active boolean, p_reason text,
        p_seen_version bigint, p_version bigint, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
DECLARE
    o officers;
    act text := CASE WHEN p_active THEN 'officer.reactivate' ELSE 'officer.deactivate' END;
BEGIN
    SELECT * INTO o FROM officers WHERE badge = p_badge FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_actor, act, NULL, format('no officer %s', p_badge), NULL);
    END IF;
    IF o.via IS NOT NULL OR o.unit <> vigil_self() THEN
        RETURN access_refuse(p_actor, act, NULL,
                             format('officer %s is registered at %s: an admin there changes it', p_badge, o.unit),
                             NULL);
    END IF;
    IF o.active = p_active THEN
        RETURN access_refuse(p_actor, act, NULL, format('officer %s is already %s', p_badge,
                             CASE WHEN p_active THEN 'active' ELSE 'inactive' END), NULL);
    END IF;
    IF NOT p_active AND coalesce(p_reason, '') = '' THEN
        RETURN access_refuse(p_actor, act, NULL, 'a deactivation needs a reason (it goes in the access log)', NULL);
    END IF;
    IF o.version <> p_seen_version OR p_change IS NULL THEN
        RETURN access_refuse(p_actor, act, NULL, format('officer %s changed meanwhile: try again', p_badge), NULL);
    END IF;
    UPDATE officers SET active = p_active, version = p_version, updated_at = now() WHERE badge = p_badge;
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    PERFORM audit_append(p_actor, act, 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('%s (%s)%s', p_badge, o.name, coalesce(': ' || nullif(p_reason, ''), '')));
    RETURN ROW(true, NULL, NULL, CASE WHEN p_active THEN 'active' ELSE 'inactive' END)::access_answer;
END $$;

CREATE FUNCTION delegation_revoke(p_id text, p_badge text, p_reason text, p_seen_version bigint,
        p_version bigint, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
DECLARE
    d delegations;
    self text := vigil_self();
BEGIN
    SELECT * INTO d FROM delegations WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', NULL, format('no delegation %s', p_id), NULL);
    END IF;
    IF d.via IS NOT NULL OR d.unit <> self THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', 'Art 19',
                             format('Art 19: delegation %s is of %s: its principal withdraws it there', p_id, d.unit),
                             NULL);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM officers WHERE badge = p_badge AND unit = self AND active
                   AND 'principal' = ANY (roles)) THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', 'Art 19',
                             format('Art 19: only the principal of %s withdraws a delegation', self), NULL);
    END IF;
    IF d.revoked THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', NULL, format('delegation %s is already revoked', p_id),
                             NULL);
    END IF;
    IF now() >= d.valid_until THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', NULL,
                             format('delegation %s already ended at %s', p_id, d.valid_until), NULL);
    END IF;
    IF d.version <> p_seen_version OR p_change IS NULL THEN
        RETURN access_refuse(p_badge, 'delegation.revoke', NULL,
                             format('delegation %s changed meanwhile: try again', p_id), NULL);
    END IF;
    UPDATE delegations SET revoked = true, version = p_version WHERE id = p_id;
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    PERFORM audit_append(p_badge, 'delegation.revoke', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('%s: to %s until %s%s', p_id, d.deputy, d.valid_until,
                                coalesce(': ' || nullif(p_reason, ''), '')));
    RETURN ROW(true, NULL, NULL, 'revoked')::access_answer;
END $$;

-- Art 20(1), 20(2): a request is approved only while every officer it
-- names is an active officer (their credential still stands). 007's
-- access_decide, restated with that check after the countersignature's.
CREATE OR REPLACE FUNCTION access_decide(p_id text, p_badge text, p_approve boolean, p_reason text,
        p_valid_for interval) RETURNS access_answer
LANGUAGE plpgsql AS $$
DECLARE
    r access_requests;
    problem text;
    gone text;
    act text := CASE WHEN p_approve THEN 'approve' ELSE 'deny' END;
BEGIN
    SELECT * INTO r FROM access_requests WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN access_refuse(p_badge, act, NULL, format('no request %s', p_id), p_id);
    END IF;
    problem := access_approver_problem(p_badge, r.cameras);
    IF problem IS NOT NULL THEN
        RETURN access_refuse(p_badge, act, 'Art 19', 'Art 19: ' || problem, p_id);
    END IF;
    IF p_badge = ANY (r.officers) THEN
        RETURN access_refuse(p_badge, act, 'Art 19',
                             format('Art 19: %s is named in request %s and cannot decide it', p_badge, p_id), p_id);
    END IF;
    IF r.state = 'filed' THEN
        RETURN access_refuse(p_badge, act, 'Art 20(1)',
                             format('Art 20(1): request %s is not countersigned yet', p_id), p_id);
    END IF;
    IF r.state <> 'countersigned' THEN
        RETURN access_refuse(p_badge, act, NULL, format('request %s is already %s', p_id, r.state), p_id);
    END IF;
    IF p_approve THEN
        SELECT string_agg(b, ', ') INTO gone FROM unnest(r.officers) AS b
            WHERE NOT EXISTS (SELECT 1 FROM officers o WHERE o.badge = b AND o.active);
        IF gone IS NOT NULL THEN
            RETURN access_refuse(p_badge, act, 'Art 20(2)',
                                 format('Art 20(2): %s, named in request %s, is no longer an active officer',
                                        gone, p_id), p_id);
        END IF;
    END IF;
    IF NOT p_approve AND coalesce(p_reason, '') = '' THEN
        RETURN access_refuse(p_badge, act, NULL, 'a denial needs a reason', p_id);
    END IF;
    UPDATE access_requests SET state = CASE WHEN p_approve THEN 'approved' ELSE 'denied' END,
        decided_by = p_badge, decided_at = now(), reason = p_reason,
        expires_at = CASE WHEN p_approve THEN now() + coalesce(p_valid_for, interval '8 hours') END,
        grant_version = CASE WHEN p_approve THEN (extract(epoch FROM clock_timestamp()) * 1000000)::bigint END
        WHERE id = p_id;
    PERFORM audit_append(p_badge, act, 'ok', NULL, NULL, r.purpose, r.destination, p_id, NULL, p_reason);
    RETURN ROW(true, NULL, NULL, CASE WHEN p_approve THEN 'approved' ELSE 'denied' END)::access_answer;
END $$;

-- 022: a child platform removed at its parent (`vigilctl node remove`): a
-- station closed or merged into another, or a server that must not be let
-- in again (stolen, its key leaked, no new key to give it).
--
-- Only what the child itself registered is a reason to refuse: its sites,
-- systems and cameras are records of systems that exist (Art 17, 18: they
-- are moved or removed at the station, removal filed, before the platform
-- goes), and a district's stations are removed first. What is kept: the
-- copies of its access log (Art 23(5)), its emergency reports and
-- everything logged about it. What goes: its enrolment (its key is refused
-- from the next message on, lib/node.c), its row, what waited in the
-- outbox for it and the sequence applied from it. The removal travels up
-- (NodeRemoved), so the city forgets it too.
CREATE FUNCTION node_decommission(p_actor text, p_id text, p_reason text, p_change bytea, p_uplink text)
RETURNS access_answer LANGUAGE plpgsql AS $$
DECLARE
    self text := vigil_self();
    n nodes;
    below integer;
    sites_n integer;
    systems_n integer;
    cameras_n integer;
BEGIN
    SELECT * INTO n FROM nodes WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR n.parent_id IS DISTINCT FROM self OR n.via IS NOT NULL OR n.public_key IS NULL THEN
        RETURN access_refuse(p_actor, 'node.remove', NULL,
                             format('%s is not a child platform enrolled here', p_id), NULL);
    END IF;
    IF coalesce(p_reason, '') = '' THEN
        RETURN access_refuse(p_actor, 'node.remove', NULL, 'a removal needs a reason (it goes in the access log)',
                             NULL);
    END IF;
    SELECT count(*) INTO below FROM nodes WHERE parent_id = p_id;
    IF below > 0 THEN
        RETURN access_refuse(p_actor, 'node.remove', NULL,
                             format('%s (%s) still has %s platform(s) under it: remove them first', p_id, n.name,
                                    below), NULL);
    END IF;
    SELECT count(*) INTO sites_n FROM sites WHERE station_id = p_id;
    SELECT count(*) INTO systems_n FROM systems WHERE station_id = p_id;
    SELECT count(*) INTO cameras_n FROM cameras WHERE station_id = p_id;
    IF sites_n + systems_n + cameras_n > 0 THEN
        RETURN access_refuse(p_actor, 'node.remove', 'Art 18',
                             format('Art 18: %s (%s) still registers %s site(s), %s system(s), %s camera(s): they '
                                    'are moved or removed at the station first (removal filed)', p_id, n.name,
                                    sites_n, systems_n, cameras_n), NULL);
    END IF;
    DELETE FROM nodes WHERE id = p_id;
    DELETE FROM outbox WHERE peer_id = p_id;
    DELETE FROM applied_seq WHERE peer_id = p_id;
    IF p_uplink IS NOT NULL THEN
        PERFORM outbox_append(p_uplink, ARRAY[p_change]);
    END IF;
    PERFORM audit_append(p_actor, 'node.remove', 'ok', NULL, NULL, NULL, NULL, NULL, NULL,
                         format('%s (%s): %s', p_id, n.name, p_reason));
    RETURN ROW(true, NULL, NULL, 'removed')::access_answer;
END $$;

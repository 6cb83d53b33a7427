-- privileges: who may do what in a node's database (issue 15, DESIGN.md
-- "Access": the daemon cannot undo its own log; Art 19, 20, 23(5)).
--
-- Three roles (schema/README.md "Roles"): vigil_owner owns every object
-- and is what migrations run as (`vigild migrate`); vigil_writer holds
-- what the daemon may do; the daemon logs in as a role of its own that is
-- a member of vigil_writer and of nothing else, so that neither RESET ROLE
-- nor SET ROLE gets it more than this file grants.
--
-- The last file, applied again after every migration run that applied
-- anything (lib/db/migrate.c), so that it covers the tables and functions
-- that other files add or replace: CREATE OR REPLACE FUNCTION resets a
-- function to SECURITY INVOKER, and a new table gets what the default
-- privileges give. Everything the daemon may do is said here, once.

-- The tables that decide who sees what: the daemon's role reads them and
-- writes them only through the functions below, which check what they
-- write (Art 19, 20). A name not created yet is skipped, so a table added
-- by a later migration (conferrals) is guarded from the run that adds it.
CREATE OR REPLACE FUNCTION vigil_guarded_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE
RETURN ARRAY['grants', 'emergencies', 'officers', 'delegations', 'conferrals',
             -- which of two decisions wins at a replica: it only moves on (016)
             'version_clock'];

-- The functions that may write those tables: they run as vigil_owner
-- (SECURITY DEFINER) with a fixed search_path, so that nothing the caller
-- sets changes what they refer to. Every overload of a name is meant.
-- A function that writes a guarded table and is not named here fails
-- tests/unit/test_privileges.c (it scans every function's source), and
-- at run time it fails too, as the daemon's role may not write the table:
-- add it here, and make sure it checks what it writes.
CREATE OR REPLACE FUNCTION vigil_guarded_writers() RETURNS text[]
LANGUAGE sql IMMUTABLE
RETURN ARRAY[
    -- officers and delegations: registered here, or replicated from below
    'officer_register', 'officer_set_active', 'officer_apply',
    'delegation_grant', 'delegation_revoke', 'delegation_apply',
    -- and ended when the child they came through is removed or re-keyed
    'officer_purge',
    -- powers conferred from above (Art 19): here, or applied from the parent
    'conferral_confer', 'conferral_unconfer', 'conferral_send', 'conferral_apply',
    -- grants: decided above, applied here
    'grant_apply',
    -- emergencies: declared, ended, replicated, received and acted on
    'emergency_declare', 'emergency_end', 'emergency_apply', 'emergency_receive', 'emergency_acted',
    -- the head of the access log, advanced by the chaining trigger only
    'audit_chain',
    -- the versions this node issues, never back (issue 17, fault 4)
    'next_version', 'version_reserve'
];

-- What the daemon may not write at all, and the columns it may: the
-- bookkeeping a table keeps about its rows' travel, never what decides.
-- A guarded table's snapshot_mark (and DELETE of the rows still marked)
-- is how a child's snapshot removes what the child no longer holds
-- (lib/delivery/snapshot.c): only on rows that came through a child (row
-- security), it can take such an officer away, never add one or change a
-- role, key or date. emergencies.dispatched_version says
-- which version of an order was sent down (lib/features/emergency.c).
CREATE OR REPLACE FUNCTION vigil_privileges_apply() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    f regprocedure;
BEGIN
    GRANT USAGE ON SCHEMA public TO vigil_writer;
    -- Everything else: read and write, as the daemon's work needs.
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_writer;
    GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO vigil_writer;
    REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM vigil_writer;
    -- Which migrations ran is the owner's to say (vigild checks it at start).
    REVOKE INSERT, UPDATE, DELETE ON schema_migrations, schema_function_files FROM vigil_writer;
    -- The access log, the copies of the logs below and the checkpoints:
    -- append and read (Art 23(5)); the triggers of audit.sql refuse the
    -- rest even to the owner.
    REVOKE UPDATE, DELETE ON audit_log, audit_copies, audit_checkpoints, audit_forks FROM vigil_writer;
    -- The head moves only as a record is appended (audit_chain, as the
    -- owner), and only to that record (the triggers below).
    REVOKE INSERT, UPDATE, DELETE ON audit_head FROM vigil_writer;
    -- An alarm is evidence of a rewritten log: raised, read, never cleared.
    REVOKE UPDATE, DELETE ON audit_alarms, audit_alarms_logged FROM vigil_writer;
    REVOKE INSERT, DELETE ON audit_sent FROM vigil_writer;
    -- A dead letter is kept whole (issue 17): held, then retried or
    -- discarded, never removed; its bytes and position never change.
    REVOKE UPDATE, DELETE ON dead_letters FROM vigil_writer;
    GRANT UPDATE (reason, refused_again_at, state, decided_by, decided_at, decision) ON dead_letters
        TO vigil_writer;
    FOREACH t IN ARRAY vigil_guarded_tables() LOOP
        CONTINUE WHEN to_regclass('public.' || t) IS NULL;
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE ON %I FROM vigil_writer', t);
        IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = ('public.' || t)::regclass
                   AND attname = 'snapshot_mark' AND NOT attisdropped) THEN
            -- Only rows that came through a child, and only those its
            -- snapshot left marked: a row registered here is the owner's
            -- functions' alone. Row security binds the writer, not the
            -- owner (whose functions write these tables).
            EXECUTE format('GRANT UPDATE (snapshot_mark), DELETE ON %I TO vigil_writer', t);
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
            EXECUTE format('DROP POLICY IF EXISTS vigil_read ON %I', t);
            EXECUTE format('DROP POLICY IF EXISTS vigil_snapshot_mark ON %I', t);
            EXECUTE format('DROP POLICY IF EXISTS vigil_snapshot_remove ON %I', t);
            EXECUTE format('CREATE POLICY vigil_read ON %I FOR SELECT TO vigil_writer USING (true)', t);
            EXECUTE format('CREATE POLICY vigil_snapshot_mark ON %I FOR UPDATE TO vigil_writer '
                           'USING (via IS NOT NULL) WITH CHECK (via IS NOT NULL)', t);
            EXECUTE format('CREATE POLICY vigil_snapshot_remove ON %I FOR DELETE TO vigil_writer '
                           'USING (via IS NOT NULL AND snapshot_mark)', t);
        END IF;
    END LOOP;
    GRANT UPDATE (dispatched_version) ON emergencies TO vigil_writer;
    -- The writers run as the owner; every other function as its caller
    -- (a name taken off the list goes back to SECURITY INVOKER).
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.prokind = 'f' LOOP
        IF (SELECT proname FROM pg_proc WHERE oid = f) = ANY (vigil_guarded_writers()) THEN
            EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = public, pg_temp', f);
        ELSIF (SELECT prosecdef FROM pg_proc WHERE oid = f) THEN
            EXECUTE format('ALTER FUNCTION %s SECURITY INVOKER RESET search_path', f);
        END IF;
    END LOOP;
    -- Nobody else runs this (the daemon's role could not do it anyway).
    REVOKE EXECUTE ON FUNCTION vigil_privileges_apply() FROM PUBLIC;
END $$;

-- audit_head may only advance along the chain (Art 23(5)): to the record
-- after the current head (here, at once), and to that record's hash as
-- the log holds it, chained to the old head (audit_head_chained, at
-- commit, when the record exists: audit_chain moves the head in the
-- record's BEFORE INSERT trigger). So even the owner's session cannot
-- point the head at a history of its choosing without dropping triggers,
-- which a migration would show.
CREATE OR REPLACE FUNCTION audit_head_advance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.one IS DISTINCT FROM OLD.one OR NEW.seq IS DISTINCT FROM OLD.seq + 1
       OR length(NEW.hash) IS DISTINCT FROM 32 THEN
        RAISE EXCEPTION 'Art 23(5): the head of the access log only advances to the next record (% to % refused)',
            OLD.seq, NEW.seq USING ERRCODE = 'VG023';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER audit_head_advance BEFORE UPDATE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_advance();

CREATE OR REPLACE FUNCTION audit_head_chained() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM audit_log l
        WHERE l.seq = NEW.seq AND l.hash = NEW.hash AND l.prev_hash = OLD.hash
          AND l.hash = sha256(OLD.hash || audit_canonical(l));
    IF NOT FOUND THEN
        RAISE EXCEPTION 'Art 23(5): the head of the access log names record %, which the log does not hold '
                        'as the successor of record %', NEW.seq, OLD.seq USING ERRCODE = 'VG023';
    END IF;
    RETURN NULL;
END $$;

-- A constraint trigger has no CREATE OR REPLACE: created once.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'audit_head'::regclass
                   AND tgname = 'audit_head_chained') THEN
        CREATE CONSTRAINT TRIGGER audit_head_chained AFTER UPDATE ON audit_head
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit_head_chained();
    END IF;
END $$;

SELECT vigil_privileges_apply();

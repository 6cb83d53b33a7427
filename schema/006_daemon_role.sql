-- 006: vigild works as vigil_writer, a role that cannot change or remove
-- the access log (Art 23(5)): no UPDATE, DELETE or TRUNCATE on audit_log,
-- audit_copies or audit_checkpoints, whatever the triggers. Migrations run
-- as the login role (the database's owner); the loop's connection starts
-- with role=vigil_writer (lib/node.c). The role is the cluster's, shared by
-- every node database in it, so creating it tolerates another migration
-- doing the same at once.
--
-- Last of the baseline, so that its grants cover every table before it;
-- the default privileges cover tables that later migrations create.

DO $$
BEGIN
    CREATE ROLE vigil_writer NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;

DO $$
BEGIN
    EXECUTE format('GRANT vigil_writer TO %I', current_user);
EXCEPTION WHEN OTHERS THEN
    NULL;  -- already a member, or a superuser (who may SET ROLE anyway)
END $$;

GRANT USAGE ON SCHEMA public TO vigil_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_writer;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO vigil_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO vigil_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO vigil_writer;

-- The access log and its checkpoints: append and read, nothing else.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_copies, audit_checkpoints FROM vigil_writer;
REVOKE DELETE, TRUNCATE ON audit_head, audit_sent FROM vigil_writer;
REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM vigil_writer;

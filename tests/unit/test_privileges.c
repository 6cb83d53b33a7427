/* The privilege model of schema/functions/privileges.sql against the
 * database the migrations make (issue 15, "A database the daemon cannot
 * undo"):
 *
 * - every function whose source writes a table that decides access
 *   (vigil_guarded_tables()) is one of vigil_guarded_writers(), runs as
 *   the owner and has a fixed search_path: a function someone adds later
 *   that writes grants or officers, and is not in the list, fails here;
 * - the writer's role may only read those tables (bar the bookkeeping
 *   columns privileges.sql names), only append to the access log and its
 *   kin, and not touch audit_head at all;
 * - a daemon role made by migrate_daemon_role cannot write them, nor reach
 *   the owner by SET ROLE, nor get more by RESET ROLE;
 * - a database migrated by the old code (objects owned by its login, the
 *   daemon working as vigil_writer by SET ROLE) is brought to all this. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "unit_pg.h"
#include "db/migrate.h"

static struct unit_pg pg;

/* Functions in public whose source writes a guarded table (INSERT INTO,
 * UPDATE, DELETE FROM, MERGE INTO or TRUNCATE naming it), with whether
 * each is listed, SECURITY DEFINER and has its search_path fixed. Dynamic
 * SQL (EXECUTE format(... %I ...)) is not seen; none writes these tables
 * that way. */
static const char writers_sql[] =
        "SELECT p.oid::regprocedure, p.proname = ANY (vigil_guarded_writers()), p.prosecdef, "
        "       coalesce('search_path=public, pg_temp' = ANY (p.proconfig), false) "
        "FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND EXISTS ("
        "  SELECT 1 FROM unnest(vigil_guarded_tables()) t WHERE p.prosrc ~* "
        "  ('(insert\\s+into|update|delete\\s+from|merge\\s+into|truncate(\\s+table)?)\\s+(only\\s+)?"
        "(public\\.)?\"?' || t || '\"?(\\s|$|\\(|;)')) "
        "ORDER BY 1";

static void test_every_writer_is_listed(void)
{
        PGconn *c = unit_pg_node_db(&pg, "43010401002000000001");
        PGresult *r = unit_pg_exec(c, writers_sql);
        int i, bad = 0;

        /* The scan finds what it should: officer_register, grant_apply, ... */
        CHECK(PQntuples(r) >= 10);
        for (i = 0; i < PQntuples(r); i++) {
                const char *f = PQgetvalue(r, i, 0);

                if (PQgetvalue(r, i, 1)[0] != 't') {
                        fprintf(stderr, "%s writes a table that decides access and is not in "
                                        "vigil_guarded_writers() (schema/functions/privileges.sql): add it "
                                        "there, and make sure it checks what it writes\n", f);
                        bad++;
                } else if (PQgetvalue(r, i, 2)[0] != 't' || PQgetvalue(r, i, 3)[0] != 't') {
                        fprintf(stderr, "%s is listed but not SECURITY DEFINER with search_path=public, pg_temp\n",
                                f);
                        bad++;
                }
        }
        PQclear(r);
        CHECK(bad == 0);
        /* And the list names nothing that does not exist (a stale name
         * would hide a renamed function). */
        CHECK(unit_pg_long(c, "SELECT count(*) FROM unnest(vigil_guarded_writers()) w WHERE NOT EXISTS "
                              "(SELECT 1 FROM pg_proc WHERE proname = w AND pronamespace = 'public'::regnamespace)") ==
              0);
        /* Nothing else runs as the owner. */
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                              "AND prosecdef AND NOT proname = ANY (vigil_guarded_writers())") == 0);
        /* Everything belongs to the owner. */
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                              "AND relowner <> 'vigil_owner'::regrole") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                              "AND proowner <> 'vigil_owner'::regrole") == 0);
        PQfinish(c);
}

/* The scan itself: a function added later that writes grants, unlisted,
 * is found (what the test above would say of it). */
static void test_scan_finds_a_new_writer(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        PGresult *r;
        int i, found = 0;

        PQclear(unit_pg_exec(c, "CREATE FUNCTION sneaky_grant() RETURNS void LANGUAGE sql AS "
                                "$$ UPDATE public.grants SET valid_until = now() + interval '10 years' $$"));
        PQclear(unit_pg_exec(c, "CREATE FUNCTION sneaky_officer() RETURNS void LANGUAGE plpgsql AS "
                                "$$ BEGIN INSERT INTO officers(badge) VALUES ('x'); END $$"));
        r = unit_pg_exec(c, writers_sql);
        for (i = 0; i < PQntuples(r); i++)
                if (strncmp(PQgetvalue(r, i, 0), "sneaky_", 7) == 0) {
                        CHECK(PQgetvalue(r, i, 1)[0] == 'f');
                        found++;
                }
        PQclear(r);
        CHECK(found == 2);
        PQclear(unit_pg_exec(c, "DROP FUNCTION sneaky_grant(); DROP FUNCTION sneaky_officer()"));
        PQfinish(c);
}

/* What vigil_writer holds, table by table. */
static void test_writer_privileges(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);

        CHECK(unit_pg_long(c, "SELECT count(*) FROM unnest(vigil_guarded_tables()) t "
                              "WHERE to_regclass(t) IS NOT NULL AND (has_table_privilege('vigil_writer', t, 'INSERT') "
                              "OR has_table_privilege('vigil_writer', t, 'UPDATE') "
                              "OR has_table_privilege('vigil_writer', t, 'TRUNCATE') "
                              "OR NOT has_table_privilege('vigil_writer', t, 'SELECT'))") == 0);
        /* The columns it may set are bookkeeping only. */
        CHECK(unit_pg_long(c, "SELECT count(*) FROM information_schema.column_privileges WHERE grantee = 'vigil_writer' "
                              "AND privilege_type = 'UPDATE' AND table_name = ANY (vigil_guarded_tables()) "
                              "AND column_name NOT IN ('snapshot_mark', 'dispatched_version')") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM unnest(ARRAY['audit_log', 'audit_copies', 'audit_checkpoints', "
                              "'audit_alarms', 'audit_alarms_logged', 'audit_head', 'schema_migrations']) t "
                              "WHERE has_table_privilege('vigil_writer', t, 'UPDATE') "
                              "OR has_table_privilege('vigil_writer', t, 'DELETE') "
                              "OR has_table_privilege('vigil_writer', t, 'TRUNCATE')") == 0);
        CHECK(unit_pg_long(c, "SELECT has_table_privilege('vigil_writer', 'audit_head', 'INSERT')::int") == 0);
        CHECK(unit_pg_long(c, "SELECT has_table_privilege('vigil_writer', 'audit_log', 'INSERT')::int") == 1);
        CHECK(unit_pg_long(c, "SELECT has_table_privilege('vigil_writer', 'cameras', 'UPDATE')::int") == 1);
        PQfinish(c);
}

/* Run SQL on C; true if it succeeded. */
static bool try_sql(PGconn *c, const char *sql)
{
        PGresult *r = PQexec(c, sql);
        bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

        PQclear(r);
        return ok;
}

/* A daemon role: what it cannot do, however it asks. */
static void test_daemon_role(void)
{
        PGconn *owner = unit_pg_connect(&pg, pg.dbname), *d;
        char role[80], ci[900], err[512];

        snprintf(role, sizeof(role), "%s_daemon", pg.dbname);
        CHECK(migrate_daemon_role(owner, role, err, sizeof(err)) == 0);
        CHECK(migrate_daemon_role(owner, role, err, sizeof(err)) == 0); /* idempotent */
        snprintf(ci, sizeof(ci), "%s user=%s", pg.conninfo, role);
        d = PQconnectdb(ci);
        CHECK(PQstatus(d) == CONNECTION_OK);
        CHECK(migrate_check(d, err, sizeof(err)) == 0);
        CHECK(try_sql(d, "SELECT count(*) FROM grants"));
        CHECK(!try_sql(d, "INSERT INTO grants (request_id) VALUES ('forged')"));
        CHECK(!try_sql(d, "UPDATE officers SET roles = '{principal}'"));
        CHECK(!try_sql(d, "SET ROLE vigil_owner"));
        CHECK(!try_sql(d, "SET ROLE postgres"));
        CHECK(try_sql(d, "RESET ROLE"));
        CHECK(!try_sql(d, "INSERT INTO grants (request_id) VALUES ('forged')"));
        CHECK(!try_sql(d, "UPDATE audit_head SET seq = seq + 1"));
        CHECK(!try_sql(d, "DELETE FROM audit_log"));
        CHECK(!try_sql(d, "DELETE FROM audit_alarms"));
        CHECK(try_sql(d, "SELECT audit_append('a', 'test', 'ok', NULL, NULL, NULL, NULL, NULL, NULL, NULL)"));
        /* Issue 17: a dead letter is held, then decided, never removed or
         * rewritten. */
        CHECK(try_sql(d, "SELECT dead_letter_hold('p', 'E', 7, '\\x0102', 'camera', 'why')"));
        CHECK(!try_sql(d, "DELETE FROM dead_letters"));
        CHECK(!try_sql(d, "UPDATE dead_letters SET change = '\\x00'"));
        CHECK(!try_sql(d, "UPDATE dead_letters SET seq = 8"));
        CHECK(try_sql(d, "SELECT dead_letter_discard(id, 'admin:x', 'a test') FROM dead_letters"));
        PQfinish(d);

        /* A role with more than the writer's is refused, at migrate and
         * at the daemon's start. */
        {
                char sql[300];
                snprintf(sql, sizeof(sql), "GRANT vigil_owner TO %s", role);
                PQclear(unit_pg_exec(owner, sql));
                CHECK(migrate_daemon_role(owner, role, err, sizeof(err)) == -EPERM);
                CHECK_CONTAINS(err, "can reach vigil_owner");
                d = PQconnectdb(ci);
                CHECK(migrate_check(d, err, sizeof(err)) == -EPERM);
                CHECK_CONTAINS(err, "member of vigil_writer only");
                PQfinish(d);
                snprintf(sql, sizeof(sql), "REVOKE vigil_owner FROM %s", role);
                PQclear(unit_pg_exec(owner, sql));
        }
        /* The superuser itself is no daemon. */
        CHECK(migrate_check(owner, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "a superuser");
        {
                char sql[400];
                snprintf(sql, sizeof(sql), "REVOKE ALL ON DATABASE %s FROM %s; DROP ROLE %s", pg.dbname, role, role);
                PQclear(unit_pg_exec(owner, sql));
        }
        PQfinish(owner);
}

/* A database as the code before this change left it: objects owned by
 * the login (here the superuser), writer rights as 006 gave them, the
 * alarms' old logged column. The new migration brings it to the model. */
static void test_old_database_upgraded(void)
{
        PGconn *c;
        char err[512];
        int applied = 0;

        unit_pg_teardown(&pg);
        unit_pg_setup(&pg, "vigil_unit_privileges_old");
        c = unit_pg_connect(&pg, pg.dbname);
        {
                /* Everything but 008 and privileges.sql, as the old code
                 * had it (the other migrations too: today's function
                 * files need their tables). */
                struct migration *files = calloc((size_t)migrate_n_files, sizeof(*files));
                int i, n = 0;
                CHECK(files);
                for (i = 0; i < migrate_n_files; i++)
                        if ((migrate_files[i].kind != MIGRATION_FUNCTIONS && migrate_files[i].kind != MIGRATION_CHECKS &&
                             strcmp(migrate_files[i].name, "008_db_roles.sql") != 0) ||
                            (migrate_files[i].kind == MIGRATION_FUNCTIONS &&
                             strcmp(migrate_files[i].name, "functions/privileges.sql") != 0) ||
                            migrate_files[i].kind == MIGRATION_CHECKS)
                                files[n++] = migrate_files[i];
                CHECK(migrate_apply_files(c, files, n, &applied, err, sizeof(err)) == 0);
                free(files);
        }
        /* Undo what the new code did besides: ownership back to the login,
         * the writer's rights as 006 left them. */
        PQclear(unit_pg_exec(c, "DO $$ DECLARE r record; BEGIN "
                                "FOR r IN SELECT oid::regclass AS o FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                                "AND relkind IN ('r', 'v') LOOP EXECUTE format('ALTER TABLE %s OWNER TO postgres', r.o); END LOOP; "
                                "FOR r IN SELECT oid::regprocedure AS o FROM pg_proc WHERE pronamespace = 'public'::regnamespace "
                                "LOOP EXECUTE format('ALTER FUNCTION %s OWNER TO postgres', r.o); END LOOP; END $$"));
        PQclear(unit_pg_exec(c, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO vigil_writer"));
        CHECK(unit_pg_long(c, "SELECT has_table_privilege('vigil_writer', 'grants', 'INSERT')::int") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_proc WHERE proname = 'grant_apply' AND prosecdef") == 0);
        PQclear(unit_pg_exec(c, "INSERT INTO audit_alarms (node_id, seq, kind, detail, logged) "
                                "VALUES ('43010401002000000001', 3, 'fork', 'old', true)"));

        CHECK(migrate_apply(c, &applied, err, sizeof(err)) == 0);
        CHECK(applied >= 2);
        CHECK(unit_pg_long(c, "SELECT has_table_privilege('vigil_writer', 'grants', 'INSERT')::int") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_proc WHERE proname = 'grant_apply' AND prosecdef") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                              "AND relowner <> 'vigil_owner'::regrole") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_alarms_logged") == 1);
        PQfinish(c);
}

int main(void)
{
        unit_pg_setup(&pg, "vigil_unit_privileges");
        RUN(test_every_writer_is_listed);
        RUN(test_scan_finds_a_new_writer);
        RUN(test_writer_privileges);
        RUN(test_daemon_role);
        RUN(test_old_database_upgraded);
        unit_pg_teardown(&pg);
        return 0;
}

/* Unit tests of lib/db/migrate.c against the test cluster (unit_pg.h): on a
 * fresh database every file is applied once, nothing the second time; a
 * function file whose text changed is applied again, alone, and every
 * function file after a numbered migration; a failure leaves nothing
 * behind; a database of the migrations before the baseline is recorded as
 * at the baseline, one with only some of them refused. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "unit_pg.h"
#include "unit_schema.h"
#include "db/migrate.h"

static struct unit_pg pg;

static long count_of(PGconn *c, const char *what, const char *name)
{
        char sql[256];

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s = '%s'",
                 strcmp(what, "table") == 0 ? "pg_tables" : "pg_proc",
                 strcmp(what, "table") == 0 ? "tablename" : "proname", name);
        return unit_pg_long(c, sql);
}

static int count_kind(enum migration_kind kind)
{
        int i, n = 0;

        for (i = 0; i < migrate_n_files; i++)
                n += migrate_files[i].kind == kind;
        return n;
}

/* Numbered migrations after the baseline (001-006, what the old chain
 * is recorded as): an old-chain database still gets them. */
static int n_after_baseline(void)
{
        int i, n = 0;

        for (i = 0; i < migrate_n_files; i++)
                n += migrate_files[i].kind == MIGRATION_NUMBERED &&
                     strcmp(migrate_files[i].name, "006_daemon_role.sql") > 0;
        return n;
}

static int n_function_files(void)
{
        return count_kind(MIGRATION_CHECKS) + count_kind(MIGRATION_FUNCTIONS);
}

static void migrate_or_die(PGconn *c, const struct migration *files, int n, int expect)
{
        char err[512] = "";
        int applied = -1;

        if (migrate_apply_files(c, files, n, &applied, err, sizeof(err)) != 0) {
                fprintf(stderr, "migrate_apply_files: %s\n", err);
                exit(1);
        }
        if (applied != expect) {
                fprintf(stderr, "applied %d files, not %d\n", applied, expect);
                exit(1);
        }
        CHECK(PQtransactionStatus(c) == PQTRANS_IDLE);
}

/* In the order they apply: checks, numbered (by their NNN_), functions;
 * numbered migrations named NNN_NAME.sql, function files
 * functions/NAME.sql. */
static void test_files_in_order(void)
{
        int i;

        CHECK(count_kind(MIGRATION_NUMBERED) >= 1);
        CHECK(count_kind(MIGRATION_FUNCTIONS) >= 1);
        for (i = 0; i < migrate_n_files; i++) {
                const struct migration *f = &migrate_files[i];
                size_t len = strlen(f->name);

                CHECK(f->sql && len > 4 && strcmp(f->name + len - 4, ".sql") == 0);
                if (f->kind == MIGRATION_NUMBERED)
                        CHECK(len > 4 && f->name[3] == '_' && strspn(f->name, "0123456789") == 3);
                else
                        CHECK(strncmp(f->name, "functions/", 10) == 0);
                if (i > 0) {
                        CHECK(migrate_files[i - 1].kind <= f->kind);
                        if (f->kind == MIGRATION_NUMBERED && migrate_files[i - 1].kind == f->kind)
                                CHECK(strcmp(migrate_files[i - 1].name, f->name) < 0);
                }
        }
}

/* A migration that fails rolls back every file before it in the same run:
 * checks.sql's functions too. */
static void test_failure_leaves_nothing(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        char err[512] = "";
        int applied = -1, i = 0;

        while (migrate_files[i].kind != MIGRATION_NUMBERED)
                i++;
        /* The first numbered migration creates `outbox` after other
         * tables; make that CREATE fail. */
        PQclear(unit_pg_exec(c, "CREATE TABLE outbox (in_the_way int)"));
        CHECK(migrate_apply(c, &applied, err, sizeof(err)) == -EIO);
        CHECK(applied == -1);  /* untouched on failure */
        CHECK_CONTAINS(err, migrate_files[i].name);
        CHECK_CONTAINS(err, "already exists");
        CHECK(count_of(c, "table", "schema_migrations") == 0);
        CHECK(count_of(c, "table", "schema_function_files") == 0);
        CHECK(count_of(c, "table", "nodes") == 0);
        CHECK(count_of(c, "function", "gbt28181_id") == 0);
        /* The connection is usable again (no transaction left open). */
        CHECK(PQtransactionStatus(c) == PQTRANS_IDLE);
        PQclear(unit_pg_exec(c, "DROP TABLE outbox"));
        PQfinish(c);
}

/* A function file that fails, the last to run, takes the numbered
 * migrations of the same run with it. */
static void test_failing_function_file_leaves_nothing(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        int n;
        struct migration *files = unit_schema_files(&n);
        struct migration *last = &files[n - 1];
        char err[512] = "", *sql;
        int applied = -1;

        CHECK(last->kind == MIGRATION_FUNCTIONS);
        sql = malloc(strlen(last->sql) + 64);
        CHECK(sql);
        sprintf(sql, "%s\nSELECT no_such_function();\n", last->sql);
        last->sql = sql;
        CHECK(migrate_apply_files(c, files, n, &applied, err, sizeof(err)) == -EIO);
        CHECK(applied == -1);
        CHECK(strncmp(err, last->name, strlen(last->name)) == 0);
        CHECK_CONTAINS(err, "no_such_function");
        CHECK(count_of(c, "table", "schema_migrations") == 0);
        CHECK(count_of(c, "table", "nodes") == 0);
        CHECK(count_of(c, "table", "cameras") == 0);
        CHECK(count_of(c, "function", "outbox_append") == 0);
        CHECK(PQtransactionStatus(c) == PQTRANS_IDLE);
        free(sql);
        free(files);
        PQfinish(c);
}

static void test_apply_once(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        char sql[512];
        int i, k;
        PGresult *r;

        migrate_or_die(c, migrate_files, migrate_n_files, migrate_n_files);

        /* One row per numbered file, under the file's name; one per function
         * file, with the SHA-256 of its text. */
        r = unit_pg_exec(c, "SELECT name FROM schema_migrations ORDER BY name");
        CHECK(PQntuples(r) == count_kind(MIGRATION_NUMBERED));
        for (i = 0, k = 0; i < migrate_n_files; i++)
                if (migrate_files[i].kind == MIGRATION_NUMBERED)
                        CHECK_STREQ(PQgetvalue(r, k++, 0), migrate_files[i].name);
        PQclear(r);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_function_files") == n_function_files());
        for (i = 0; i < migrate_n_files; i++) {
                const char *p[2] = { migrate_files[i].name, migrate_files[i].sql };

                if (migrate_files[i].kind == MIGRATION_NUMBERED)
                        continue;
                r = PQexecParams(c, "SELECT count(*) FROM schema_function_files WHERE name = $1 "
                                    "AND sha256 = encode(sha256(convert_to($2, 'UTF8')), 'hex')",
                                 2, NULL, p, NULL, NULL, 0);
                CHECK(PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "1") == 0);
                PQclear(r);
        }
        CHECK(count_of(c, "table", "nodes") == 1);

        /* A second start applies nothing and changes nothing. */
        migrate_or_die(c, migrate_files, migrate_n_files, 0);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM schema_migrations");
        CHECK(unit_pg_long(c, sql) == count_kind(MIGRATION_NUMBERED));
        PQfinish(c);

        /* And so does another connection (another daemon's start). */
        c = unit_pg_connect(&pg, pg.dbname);
        migrate_or_die(c, migrate_files, migrate_n_files, 0);
        PQfinish(c);
}

/* A function file whose text changed is applied again, and only it; the
 * function it defines is the new one. Back to the embedded text, it is
 * applied once more. */
static void test_changed_function_file_applied_again(void)
{
        static const char from[] = "'a denial needs a reason'";
        static const char to[] = "'a denial needs a reason (changed)'";
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        int n;
        struct migration *files = unit_schema_files(&n);
        struct migration *f = unit_schema_find(files, n, "functions/access.sql");
        const char *at = strstr(f->sql, from);
        char *sql;

        CHECK(at);
        sql = malloc(strlen(f->sql) + sizeof(to));
        CHECK(sql);
        sprintf(sql, "%.*s%s%s", (int)(at - f->sql), f->sql, to, at + strlen(from));
        f->sql = sql;
        PQclear(unit_pg_exec(c, "UPDATE schema_function_files SET applied_at = '2000-01-01'"));

        /* It, and the privileges after it: CREATE OR REPLACE made its
         * writers SECURITY INVOKER again, privileges.sql makes them the
         * owner's once more. */
        migrate_or_die(c, files, n, 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_proc WHERE proname = 'access_decide' "
                              "AND prosrc LIKE '%a denial needs a reason (changed)%'") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_function_files WHERE applied_at > '2000-01-01'") == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_function_files WHERE applied_at > '2000-01-01' "
                              "AND name IN ('functions/access.sql', 'functions/privileges.sql')") == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_proc WHERE proname = 'officer_register' AND prosecdef") == 1);
        migrate_or_die(c, files, n, 0);

        migrate_or_die(c, migrate_files, migrate_n_files, 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM pg_proc WHERE proname = 'access_decide' "
                              "AND prosrc LIKE '%a denial needs a reason (changed)%'") == 0);
        free(sql);
        free(files);
        PQfinish(c);
}

/* A numbered migration may drop or change what a function file defines or
 * reads (a column the catalog apply functions are written from): every
 * function file is applied after it, changed or not. */
static void test_numbered_migration_reapplies_functions(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        int n;
        struct migration *files = unit_schema_files(&n);

        unit_schema_add_numbered(files, &n, "999_test_drop.sql", "DROP FUNCTION vigil_prefix(text) CASCADE;");
        PQclear(unit_pg_exec(c, "UPDATE schema_function_files SET applied_at = '2000-01-01'"));
        migrate_or_die(c, files, n, 1 + n_function_files());
        CHECK(count_of(c, "function", "vigil_prefix") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_function_files WHERE applied_at = '2000-01-01'") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_migrations WHERE name = '999_test_drop.sql'") == 1);
        migrate_or_die(c, files, n, 0);
        PQclear(unit_pg_exec(c, "DELETE FROM schema_migrations WHERE name = '999_test_drop.sql'"));
        free(files);
        PQfinish(c);
}

/* Only what is missing runs. Forget the record of the newest numbered
 * migration: the next run executes that file, and the function files.
 * Had any earlier numbered file run again, it would have failed, naming
 * that file, on its own CREATE. The newest file either runs again cleanly
 * (it grants and revokes) and is recorded, or fails naming itself and
 * changes nothing. */
static void test_apply_missing_only(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        const char *last = NULL;
        char err[512] = "", sql[256];
        int applied = -1, r, i;

        for (i = 0; i < migrate_n_files; i++)
                if (migrate_files[i].kind == MIGRATION_NUMBERED)
                        last = migrate_files[i].name;
        snprintf(sql, sizeof(sql), "DELETE FROM schema_migrations WHERE name = '%s'", last);
        PQclear(unit_pg_exec(c, sql));
        r = migrate_apply(c, &applied, err, sizeof(err));
        if (r == 0) {
                CHECK(applied == 1 + n_function_files());
                CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_migrations") == count_kind(MIGRATION_NUMBERED));
        } else {
                CHECK(r == -EIO);
                CHECK(applied == -1);
                CHECK(strncmp(err, last, strlen(last)) == 0);
                CHECK_CONTAINS(err, ": ERROR: ");
                CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_migrations") ==
                      count_kind(MIGRATION_NUMBERED) - 1);
        }
        PQfinish(c);
}

/* The 23 migrations before the baseline, as a database they made lists
 * them. */
static const char old_chain[] =
        "('001_foundation.sql'), ('002_link_probe.sql'), ('003_catalog.sql'), ('004_outbox_batches.sql'), "
        "('005_id_checks.sql'), ('006_cheaper_checks.sql'), ('007_access.sql'), ('008_daemon_role.sql'), "
        "('009_emergency.sql'), ('010_emergency_access.sql'), ('011_emergency_report.sql'), "
        "('012_emergency_json.sql'), ('013_emergency_status.sql'), ('014_emergency_ack.sql'), "
        "('015_emergency_unlink_report.sql'), ('016_audit_append_plpgsql.sql'), "
        "('017_audit_copies_set.sql'), ('018_emergency_receive.sql'), ('019_emergency_plans.sql'), "
        "('020_officer_end.sql'), ('021_emergency_link_logged.sql'), ('022_node_remove.sql'), "
        "('023_audit_checkpoints.sql')";

/* As the old chain left the bookkeeping: its 23 names, no function file
 * recorded (the schema itself is the baseline's: checked when the chain
 * was squashed, see lib/db/migrate.c). */
static void make_old_chain(PGconn *c, int keep)
{
        char sql[2048];

        PQclear(unit_pg_exec(c, "DELETE FROM schema_migrations"));
        PQclear(unit_pg_exec(c, "DROP TABLE schema_function_files"));
        snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations (name) VALUES %s", old_chain);
        PQclear(unit_pg_exec(c, sql));
        snprintf(sql, sizeof(sql), "DELETE FROM schema_migrations WHERE name NOT IN "
                 "(SELECT name FROM schema_migrations ORDER BY name LIMIT %d)", keep);
        PQclear(unit_pg_exec(c, sql));
}

/* All 23: recorded as at the baseline, in their place; the numbered
 * migrations after the baseline and the function files are applied over
 * it; nothing else runs (a numbered file of the baseline would fail on
 * its CREATE TABLE). */
static void test_old_chain_is_the_baseline(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        PGresult *r;
        int i, k;

        make_old_chain(c, 23);
        migrate_or_die(c, migrate_files, migrate_n_files, n_after_baseline() + n_function_files());
        r = unit_pg_exec(c, "SELECT name FROM schema_migrations ORDER BY name");
        CHECK(PQntuples(r) == count_kind(MIGRATION_NUMBERED));
        for (i = 0, k = 0; i < migrate_n_files; i++)
                if (migrate_files[i].kind == MIGRATION_NUMBERED)
                        CHECK_STREQ(PQgetvalue(r, k++, 0), migrate_files[i].name);
        PQclear(r);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_function_files") == n_function_files());
        migrate_or_die(c, migrate_files, migrate_n_files, 0);
        PQfinish(c);
}

/* Some of them: refused, saying what to do, and nothing changes. */
static void test_part_of_old_chain_refused(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        char err[512] = "";
        int applied = -1;

        make_old_chain(c, 10);
        CHECK(migrate_apply(c, &applied, err, sizeof(err)) == -EIO);
        CHECK(applied == -1);
        CHECK_CONTAINS(err, "10 of the 23 migrations before the schema baseline");
        CHECK_CONTAINS(err, "010_emergency_access.sql");
        CHECK_CONTAINS(err, "7c7f414");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_migrations") == 10);
        CHECK(count_of(c, "table", "schema_function_files") == 0);
        CHECK(PQtransactionStatus(c) == PQTRANS_IDLE);
        PQfinish(c);
}

int main(void)
{
        unit_pg_setup(&pg, "vigil_unit_migrate");
        RUN(test_files_in_order);
        RUN(test_failure_leaves_nothing);
        RUN(test_failing_function_file_leaves_nothing);
        RUN(test_apply_once);
        RUN(test_changed_function_file_applied_again);
        RUN(test_numbered_migration_reapplies_functions);
        RUN(test_apply_missing_only);
        RUN(test_old_chain_is_the_baseline);
        RUN(test_part_of_old_chain_refused);
        unit_pg_teardown(&pg);
        return 0;
}

/* Unit tests of lib/migrate.c against the test cluster (unit_pg.h): every
 * migration applied once on a fresh database, none the second time; a
 * migration that fails leaves nothing behind. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "unit_pg.h"
#include "db/migrate.h"

static struct unit_pg pg;

static long count_tables(PGconn *c, const char *name)
{
        char sql[256];

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                 "AND tablename = '%s'", name);
        return unit_pg_long(c, sql);
}

/* Files are named NNN_*.sql and listed in order, so they apply in order. */
static void test_files_in_order(void)
{
        int i;

        CHECK(migrate_n_files >= 1);
        for (i = 0; i < migrate_n_files; i++) {
                CHECK(migrate_files[i].name && migrate_files[i].sql);
                CHECK(strlen(migrate_files[i].name) > 4);
                CHECK(strcmp(migrate_files[i].name + strlen(migrate_files[i].name) - 4, ".sql") == 0);
                if (i > 0)
                        CHECK(strcmp(migrate_files[i - 1].name, migrate_files[i].name) < 0);
        }
}

/* A migration that fails rolls back every one before it in the same run. */
static void test_failure_leaves_nothing(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        char err[512] = "";
        int applied = -1;

        /* 001 creates `outbox` after other tables; make that CREATE fail. */
        PQclear(unit_pg_exec(c, "CREATE TABLE outbox (in_the_way int)"));
        CHECK(migrate_apply(c, &applied, err, sizeof(err)) == -EIO);
        CHECK(applied == -1);  /* untouched on failure */
        CHECK_CONTAINS(err, migrate_files[0].name);
        CHECK_CONTAINS(err, "already exists");
        CHECK(count_tables(c, "schema_migrations") == 0);
        CHECK(count_tables(c, "nodes") == 0);
        /* The connection is usable again (no transaction left open). */
        CHECK(PQtransactionStatus(c) == PQTRANS_IDLE);
        PQclear(unit_pg_exec(c, "DROP TABLE outbox"));
        PQfinish(c);
}

static void test_apply_once(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        char err[512] = "", sql[256];
        int applied = -1, i;
        PGresult *r;

        if (migrate_apply(c, &applied, err, sizeof(err)) != 0) {
                fprintf(stderr, "migrate_apply: %s\n", err);
                exit(1);
        }
        CHECK(applied == migrate_n_files);
        CHECK(PQtransactionStatus(c) == PQTRANS_IDLE);

        /* One row per file, under the file's name. */
        r = unit_pg_exec(c, "SELECT name FROM schema_migrations ORDER BY name");
        CHECK(PQntuples(r) == migrate_n_files);
        for (i = 0; i < migrate_n_files; i++)
                CHECK_STREQ(PQgetvalue(r, i, 0), migrate_files[i].name);
        PQclear(r);
        CHECK(count_tables(c, "nodes") == 1);

        /* A second start applies nothing and changes nothing. */
        applied = -1;
        CHECK(migrate_apply(c, &applied, err, sizeof(err)) == 0);
        CHECK(applied == 0);
        snprintf(sql, sizeof(sql), "SELECT count(*) FROM schema_migrations");
        CHECK(unit_pg_long(c, sql) == migrate_n_files);
        PQfinish(c);

        /* And so does another connection (another daemon's start). */
        c = unit_pg_connect(&pg, pg.dbname);
        applied = -1;
        CHECK(migrate_apply(c, &applied, err, sizeof(err)) == 0);
        CHECK(applied == 0);
        PQfinish(c);
}

/* Only what is missing runs. Forget the record of the newest migration: the
 * next run executes that file alone. Had any earlier file run again, it
 * would have failed, naming that file, on its own CREATE (001's are not
 * idempotent). The newest file either runs again cleanly (CREATE OR
 * REPLACE) and is recorded, or fails naming itself and changes nothing. */
static void test_apply_missing_only(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        const char *last = migrate_files[migrate_n_files - 1].name;
        char err[512] = "", sql[256];
        int applied = -1, r;

        snprintf(sql, sizeof(sql), "DELETE FROM schema_migrations WHERE name = '%s'", last);
        PQclear(unit_pg_exec(c, sql));
        r = migrate_apply(c, &applied, err, sizeof(err));
        if (r == 0) {
                CHECK(applied == 1);
                CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_migrations") == migrate_n_files);
        } else {
                CHECK(r == -EIO);
                CHECK(applied == -1);
                CHECK(strncmp(err, last, strlen(last)) == 0);
                CHECK_CONTAINS(err, ": ERROR: ");
                CHECK(unit_pg_long(c, "SELECT count(*) FROM schema_migrations") == migrate_n_files - 1);
        }
        PQfinish(c);
}

int main(void)
{
        unit_pg_setup(&pg, "vigil_unit_migrate");
        RUN(test_files_in_order);
        RUN(test_failure_leaves_nothing);
        RUN(test_apply_once);
        RUN(test_apply_missing_only);
        unit_pg_teardown(&pg);
        return 0;
}

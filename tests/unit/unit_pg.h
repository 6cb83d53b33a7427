/* unit_pg.h: a throw-away database for unit tests that need PostgreSQL.
 *
 * tests/run starts one cluster and names it in VIGIL_TEST_PG_DIR (its socket
 * directory) and VIGIL_TEST_PG_PORT; meson test inherits them. Without them
 * the test is skipped (exit 77, meson's SKIP), so a bare `meson test` on a
 * machine without a cluster still passes; under tests/run they always run.
 * Each test creates a database of its own (NAME_PID), so two runs at once
 * never meet, and drops it at the end. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "db/migrate.h"
#include "unit.h"

struct unit_pg {
        char dir[512];
        char port[16];
        char dbname[64];
        char conninfo[768];
};

static inline void unit_pg_conninfo(const struct unit_pg *pg, const char *dbname, char *buf, size_t n)
{
        /* Without NOTICEs ("... does not exist, skipping") in the test log. */
        snprintf(buf, n, "host=%s port=%s dbname=%s user=postgres "
                 "options='-c client_min_messages=warning'", pg->dir, pg->port, dbname);
}

/* Connect (blocking) to DBNAME; exits the test on failure. Caller owns it. */
static inline PGconn *unit_pg_connect(const struct unit_pg *pg, const char *dbname)
{
        char ci[768];
        PGconn *c;

        unit_pg_conninfo(pg, dbname, ci, sizeof(ci));
        c = PQconnectdb(ci);
        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "cannot connect to %s: %s", ci, PQerrorMessage(c));
                exit(1);
        }
        return c;
}

/* Run SQL (no parameters) on C and exit the test if it fails. Caller owns
 * the result. */
static inline PGresult *unit_pg_exec(PGconn *c, const char *sql)
{
        PGresult *r = PQexec(c, sql);

        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
                exit(1);
        }
        return r;
}

/* One text value of a one-row query, as a long. */
static inline long unit_pg_long(PGconn *c, const char *sql)
{
        PGresult *r = unit_pg_exec(c, sql);
        long v;

        CHECK(PQntuples(r) == 1 && !PQgetisnull(r, 0, 0));
        v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        return v;
}

/* Connect to the test's database as node NODE_ID's: the migrations
 * applied, the node's ID recorded (what vigild does at start). */
static inline PGconn *unit_pg_node_db(const struct unit_pg *pg, const char *node_id)
{
        PGconn *c = unit_pg_connect(pg, pg->dbname);
        const char *p[1] = { node_id };
        char err[512];
        int applied = 0;
        PGresult *r;

        CHECK(migrate_apply(c, &applied, err, sizeof(err)) == 0);
        r = PQexecParams(c, "INSERT INTO node_settings (key, value) VALUES ('node_id', $1) "
                            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", 1, NULL, p, NULL, NULL, 0);
        CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
        PQclear(r);
        return c;
}

/* Drop the test's database, best effort: also runs at exit, so a failed
 * CHECK (which exits) leaves no database behind in the shared cluster. */
static struct unit_pg *unit_pg_current;

static inline void unit_pg_teardown(struct unit_pg *pg)
{
        char ci[768], sql[160];
        PGconn *c;

        if (!pg || !pg->dbname[0])
                return;
        unit_pg_conninfo(pg, "postgres", ci, sizeof(ci));
        c = PQconnectdb(ci);
        if (PQstatus(c) == CONNECTION_OK) {
                snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg->dbname);
                PQclear(PQexec(c, sql));
        }
        PQfinish(c);
        pg->dbname[0] = '\0';
}

static void unit_pg_at_exit(void)
{
        unit_pg_teardown(unit_pg_current);
}

/* Create PREFIX_PID in the test cluster, or exit 77 if there is none. */
static inline void unit_pg_setup(struct unit_pg *pg, const char *prefix)
{
        const char *dir = getenv("VIGIL_TEST_PG_DIR"), *port = getenv("VIGIL_TEST_PG_PORT");
        char sql[160];
        PGconn *c;

        if (!dir || !*dir || !port || !*port) {
                printf("SKIP: VIGIL_TEST_PG_DIR and VIGIL_TEST_PG_PORT are not set "
                       "(tests/run sets them; or: deploy/pg start DIR PORT)\n");
                exit(77);
        }
        snprintf(pg->dir, sizeof(pg->dir), "%s", dir);
        snprintf(pg->port, sizeof(pg->port), "%s", port);
        snprintf(pg->dbname, sizeof(pg->dbname), "%s_%ld", prefix, (long)getpid());
        c = unit_pg_connect(pg, "postgres");
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", pg->dbname);
        PQclear(unit_pg_exec(c, sql));
        snprintf(sql, sizeof(sql), "CREATE DATABASE %s", pg->dbname);
        PQclear(unit_pg_exec(c, sql));
        PQfinish(c);
        unit_pg_conninfo(pg, pg->dbname, pg->conninfo, sizeof(pg->conninfo));
        unit_pg_current = pg;
        atexit(unit_pg_at_exit);
}

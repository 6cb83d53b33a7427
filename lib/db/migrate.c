#include "db/migrate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int migrate_exec(PGconn *c, const char *sql, int n, const char *const *p, char *err, size_t errlen,
                        PGresult **ret)
{
        PGresult *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);

        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                snprintf(err, errlen, "%.*s", (int)strcspn(PQresultErrorMessage(r), "\n"),
                         PQresultErrorMessage(r));
                PQclear(r);
                return -EIO;
        }
        if (ret)
                *ret = r;
        else
                PQclear(r);
        return 0;
}

int migrate_apply(PGconn *conn, int *ret_applied, char *err, size_t errlen)
{
        char e[512];
        int i, applied = 0;

        /* One transaction for all of them: a half-migrated database never
         * exists. The advisory lock keeps two starting daemons apart. */
        if (migrate_exec(conn, "BEGIN", 0, NULL, e, sizeof(e), NULL) < 0 ||
            migrate_exec(conn, "SELECT pg_advisory_xact_lock(7411)", 0, NULL, e, sizeof(e), NULL) < 0 ||
            migrate_exec(conn, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                               "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                         0, NULL, e, sizeof(e), NULL) < 0) {
                snprintf(err, errlen, "%s", e);
                goto fail;
        }
        for (i = 0; i < migrate_n_files; i++) {
                const char *p[1] = { migrate_files[i].name };
                PGresult *r;
                int have;

                if (migrate_exec(conn, "SELECT 1 FROM schema_migrations WHERE name = $1", 1, p, e, sizeof(e), &r) < 0) {
                        snprintf(err, errlen, "%s", e);
                        goto fail;
                }
                have = PQntuples(r) > 0;
                PQclear(r);
                if (have)
                        continue;
                /* PQexec runs a multi-statement script (no parameters). */
                r = PQexec(conn, migrate_files[i].sql);
                if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
                        snprintf(err, errlen, "%s: %.*s", migrate_files[i].name,
                                 (int)strcspn(PQresultErrorMessage(r), "\n"), PQresultErrorMessage(r));
                        PQclear(r);
                        goto fail;
                }
                PQclear(r);
                if (migrate_exec(conn, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, p, e, sizeof(e),
                                 NULL) < 0) {
                        snprintf(err, errlen, "%s", e);
                        goto fail;
                }
                applied++;
        }
        if (migrate_exec(conn, "COMMIT", 0, NULL, e, sizeof(e), NULL) < 0) {
                snprintf(err, errlen, "%s", e);
                return -EIO;
        }
        *ret_applied = applied;
        return 0;
fail:
        PQclear(PQexec(conn, "ROLLBACK"));
        return -EIO;
}

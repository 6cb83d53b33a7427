#include "db/migrate.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

/* The numbered migrations before the baseline: vigil up to 0.1.0 had these
 * 23, which 001-006 replaced (squashed, schema/README.md). A database they
 * made has exactly the schema the baseline makes (checked when they were
 * squashed: the same pg_dump --schema-only, and the same seeded rows, once
 * the function files are applied over it), so it is recorded as at the
 * baseline. One that has only some of them lacks tables the baseline has. */
static const char *const old_chain[] = {
        "001_foundation.sql", "002_link_probe.sql", "003_catalog.sql", "004_outbox_batches.sql",
        "005_id_checks.sql", "006_cheaper_checks.sql", "007_access.sql", "008_daemon_role.sql",
        "009_emergency.sql", "010_emergency_access.sql", "011_emergency_report.sql",
        "012_emergency_json.sql", "013_emergency_status.sql", "014_emergency_ack.sql",
        "015_emergency_unlink_report.sql", "016_audit_append_plpgsql.sql", "017_audit_copies_set.sql",
        "018_emergency_receive.sql", "019_emergency_plans.sql", "020_officer_end.sql",
        "021_emergency_link_logged.sql", "022_node_remove.sql", "023_audit_checkpoints.sql",
};
#define N_OLD_CHAIN ((int)(sizeof(old_chain) / sizeof(old_chain[0])))

/* The last numbered migration of the baseline: those up to it are what
 * the old chain's database already has. */
#define BASELINE_LAST "006_daemon_role.sql"

struct run {
        PGconn *conn;
        const struct migration *files;
        int n;
        char *err;
        size_t errlen;
};

/* Run SQL with parameters; on failure, PostgreSQL's first line in ERR,
 * after PREFIX ("name: ") if one is given. */
static int run_exec(struct run *m, const char *prefix, const char *sql, int n, const char *const *p,
                    PGresult **ret)
{
        PGresult *r = n > 0 ? PQexecParams(m->conn, sql, n, NULL, p, NULL, NULL, 0) : PQexec(m->conn, sql);
        ExecStatusType st = PQresultStatus(r);

        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                snprintf(m->err, m->errlen, "%s%.*s", prefix ? prefix : "",
                         (int)strcspn(PQresultErrorMessage(r), "\n"), PQresultErrorMessage(r));
                PQclear(r);
                return -EIO;
        }
        if (ret)
                *ret = r;
        else
                PQclear(r);
        return 0;
}

/* The first value of a one-value query, as a number (0 if none). */
static int run_count(struct run *m, const char *sql, int n, const char *const *p, long *ret)
{
        PGresult *r;

        if (run_exec(m, NULL, sql, n, p, &r) < 0)
                return -EIO;
        *ret = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0) ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        PQclear(r);
        return 0;
}

/* NAMES as a PostgreSQL array literal (file names need no quoting). */
static void names_literal(char *buf, size_t len, const char *const *names, int n)
{
        size_t at = 0;
        int i;

        at += snprintf(buf + at, len - at, "{");
        for (i = 0; i < n && at < len; i++)
                at += snprintf(buf + at, len - at, "%s%s", i ? "," : "", names[i]);
        if (at < len)
                snprintf(buf + at, len - at, "}");
}

static bool is_baseline(const struct migration *f)
{
        return f->kind == MIGRATION_NUMBERED && strcmp(f->name, BASELINE_LAST) <= 0;
}

/* A database the old chain made: record it as at the baseline, in place
 * of the 23 names. Nothing to do once the baseline is recorded. */
static int run_old_chain(struct run *m)
{
        const char *baseline[64];
        char old[1024], base[1024], last[128] = "";
        const char *p[1];
        long have;
        int i, nb = 0;
        PGresult *r;

        for (i = 0; i < m->n && nb < 64; i++)
                if (is_baseline(&m->files[i]))
                        baseline[nb++] = m->files[i].name;
        names_literal(base, sizeof(base), baseline, nb);
        names_literal(old, sizeof(old), old_chain, N_OLD_CHAIN);
        p[0] = base;
        if (run_count(m, "SELECT count(*) FROM schema_migrations WHERE name = ANY ($1::text[])", 1, p, &have) < 0)
                return -EIO;
        if (have > 0)
                return 0;
        p[0] = old;
        if (run_exec(m, NULL, "SELECT count(*), max(name) FROM schema_migrations WHERE name = ANY ($1::text[])",
                     1, p, &r) < 0)
                return -EIO;
        have = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(last, sizeof(last), "%s", PQgetvalue(r, 0, 1));
        PQclear(r);
        if (have == 0)
                return 0;
        if (have < N_OLD_CHAIN) {
                snprintf(m->err, m->errlen,
                         "this database has %ld of the %d migrations before the schema baseline (the last %s): "
                         "start a vigild of 0.1.0 built before the baseline (commit 7c7f414) on it once, "
                         "which applies the rest, then this one; or recreate the database",
                         have, N_OLD_CHAIN, last);
                return -EIO;
        }
        if (run_exec(m, NULL, "DELETE FROM schema_migrations WHERE name = ANY ($1::text[])", 1, p, NULL) < 0)
                return -EIO;
        for (i = 0; i < nb; i++) {
                p[0] = baseline[i];
                if (run_exec(m, NULL, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, p, NULL) < 0)
                        return -EIO;
        }
        return 0;
}

static int run_numbered_pending(struct run *m, const struct migration *f, bool *ret)
{
        const char *p[1] = { f->name };
        long have;

        if (run_count(m, "SELECT count(*) FROM schema_migrations WHERE name = $1", 1, p, &have) < 0)
                return -EIO;
        *ret = have == 0;
        return 0;
}

/* Run one file's text (PQexec runs a multi-statement script), errors
 * prefixed with its name. */
static int run_file(struct run *m, const struct migration *f)
{
        char prefix[160];

        snprintf(prefix, sizeof(prefix), "%s: ", f->name);
        return run_exec(m, prefix, f->sql, 0, NULL, NULL);
}

/* A function file: applied unless the text last applied is this one (and
 * no numbered migration ran, ALWAYS). */
static int run_function_file(struct run *m, const struct migration *f, bool always, int *applied)
{
        unsigned char sum[crypto_hash_sha256_BYTES];
        char hex[2 * crypto_hash_sha256_BYTES + 1];
        const char *p[2] = { f->name, hex };
        long same;

        crypto_hash_sha256(sum, (const unsigned char *)f->sql, strlen(f->sql));
        sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
        if (run_count(m, "SELECT count(*) FROM schema_function_files WHERE name = $1 AND sha256 = $2", 2, p,
                      &same) < 0)
                return -EIO;
        if (same && !always)
                return 0;
        if (run_file(m, f) < 0 ||
            run_exec(m, NULL, "INSERT INTO schema_function_files (name, sha256) VALUES ($1, $2) "
                              "ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()",
                     2, p, NULL) < 0)
                return -EIO;
        (*applied)++;
        return 0;
}

static int run_all(struct run *m, int *applied)
{
        static const enum migration_kind phases[] = { MIGRATION_CHECKS, MIGRATION_NUMBERED, MIGRATION_FUNCTIONS };
        int i, k, pending = 0;
        bool todo;

        for (i = 0; i < m->n; i++) {
                if (m->files[i].kind != MIGRATION_NUMBERED)
                        continue;
                if (run_numbered_pending(m, &m->files[i], &todo) < 0)
                        return -EIO;
                pending += todo;
        }
        for (k = 0; k < 3; k++) {
                for (i = 0; i < m->n; i++) {
                        const struct migration *f = &m->files[i];
                        const char *p[1] = { f->name };

                        if (f->kind != phases[k])
                                continue;
                        if (f->kind != MIGRATION_NUMBERED) {
                                if (run_function_file(m, f, pending > 0, applied) < 0)
                                        return -EIO;
                                continue;
                        }
                        if (run_numbered_pending(m, f, &todo) < 0)
                                return -EIO;
                        if (!todo)
                                continue;
                        if (run_file(m, f) < 0 ||
                            run_exec(m, NULL, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, p, NULL) < 0)
                                return -EIO;
                        (*applied)++;
                }
        }
        return 0;
}

int migrate_apply_files(PGconn *conn, const struct migration *files, int n, int *ret_applied, char *err,
                        size_t errlen)
{
        struct run m = { conn, files, n, err, errlen };
        int applied = 0;

        if (sodium_init() < 0) {
                snprintf(err, errlen, "libsodium could not be initialised");
                return -EIO;
        }
        /* One transaction for all of them: a half-migrated database never
         * exists. The advisory lock keeps two starting daemons apart. */
        if (run_exec(&m, NULL, "BEGIN", 0, NULL, NULL) < 0)
                return -EIO;
        if (run_exec(&m, NULL, "SELECT pg_advisory_xact_lock(7411)", 0, NULL, NULL) < 0 ||
            run_exec(&m, NULL, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                               "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                     0, NULL, NULL) < 0 ||
            run_exec(&m, NULL, "CREATE TABLE IF NOT EXISTS schema_function_files ("
                               "name text PRIMARY KEY, sha256 text NOT NULL, "
                               "applied_at timestamptz NOT NULL DEFAULT now())",
                     0, NULL, NULL) < 0 ||
            run_old_chain(&m) < 0 || run_all(&m, &applied) < 0)
                goto fail;
        if (run_exec(&m, NULL, "COMMIT", 0, NULL, NULL) < 0)
                goto fail;
        *ret_applied = applied;
        return 0;
fail:
        PQclear(PQexec(conn, "ROLLBACK"));
        return -EIO;
}

int migrate_apply(PGconn *conn, int *ret_applied, char *err, size_t errlen)
{
        return migrate_apply_files(conn, migrate_files, migrate_n_files, ret_applied, err, errlen);
}

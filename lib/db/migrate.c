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

/* The privilege model (schema/functions/privileges.sql): applied after
 * every run that applied anything, as it must cover what they changed. */
#define PRIVILEGES_FILE "functions/privileges.sql"

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
                                bool always = pending > 0 ||
                                              (strcmp(f->name, PRIVILEGES_FILE) == 0 && *applied > 0);
                                if (run_function_file(m, f, always, applied) < 0)
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

/* The owner and writer roles exist (they are the cluster's, shared by
 * every node database in it): created if missing, in a transaction of
 * their own, tried again if another database's migration created them at
 * the same moment. */
static int run_roles(struct run *m)
{
        static const char sql[] =
                "DO $$ BEGIN "
                "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" MIGRATE_OWNER "') THEN "
                "CREATE ROLE " MIGRATE_OWNER " NOLOGIN; END IF; "
                "IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" MIGRATE_WRITER "') THEN "
                "CREATE ROLE " MIGRATE_WRITER " NOLOGIN; END IF; END $$";
        long have;
        int i;

        if (run_count(m, "SELECT count(*) FROM pg_roles WHERE rolname IN ('" MIGRATE_OWNER "', '" MIGRATE_WRITER "')",
                      0, NULL, &have) < 0)
                return -EIO;
        for (i = 0; have < 2 && i < 3; i++)
                if (run_exec(m, NULL, sql, 0, NULL, NULL) == 0)
                        return 0;
        if (have < 2) {
                size_t at = strlen(m->err);
                snprintf(m->err + at, m->errlen - at,
                         " (the roles " MIGRATE_OWNER " and " MIGRATE_WRITER " are missing: as a superuser, "
                         "CREATE ROLE " MIGRATE_OWNER " NOLOGIN; CREATE ROLE " MIGRATE_WRITER " NOLOGIN; and "
                         "GRANT " MIGRATE_OWNER " TO the role vigild migrate logs in as)");
                return -EIO;
        }
        return 0;
}

/* Migrations run as the owner: the login is vigil_owner, a member of it
 * or a superuser. Anything else would create objects the owner does not
 * own. */
static int run_check_owner(struct run *m)
{
        long ok;

        if (run_count(m, "SELECT pg_has_role(current_user, '" MIGRATE_OWNER "', 'MEMBER')::int", 0, NULL, &ok) < 0)
                return -EIO;
        if (!ok) {
                PGresult *r = PQexec(m->conn, "SELECT current_user");
                snprintf(m->err, m->errlen,
                         "vigild migrate logs in as %s, which is not " MIGRATE_OWNER " nor a member of it: "
                         "the owner's conninfo (--owner) must name the role that owns the schema",
                         PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
                PQclear(r);
                return -EIO;
        }
        return 0;
}

/* Everything in the schema belongs to vigil_owner, whoever created it: a
 * database the old code migrated as its login (often the superuser), or
 * an object this run created as a member of the owner. Sequences that
 * belong to a column move with their table. */
static int run_owner(struct run *m)
{
        static const char sql[] =
                "DO $$ DECLARE r record; BEGIN "
                "FOR r IN SELECT c.oid::regclass AS obj, c.relkind FROM pg_class c "
                "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S') "
                "AND c.relowner <> '" MIGRATE_OWNER "'::regrole "
                "AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
                "AND d.objid = c.oid AND d.deptype IN ('a', 'i'))) LOOP "
                "EXECUTE format('ALTER %s %s OWNER TO " MIGRATE_OWNER "', CASE r.relkind WHEN 'v' THEN 'VIEW' "
                "WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.obj); END LOOP; "
                "FOR r IN SELECT p.oid::regprocedure AS obj, p.prokind FROM pg_proc p "
                "WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> '" MIGRATE_OWNER "'::regrole LOOP "
                "EXECUTE format('ALTER %s %s OWNER TO " MIGRATE_OWNER "', CASE r.prokind WHEN 'p' THEN 'PROCEDURE' "
                "WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, r.obj); END LOOP; "
                "FOR r IN SELECT t.oid::regtype AS obj FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace "
                "AND t.typowner <> '" MIGRATE_OWNER "'::regrole AND (t.typtype IN ('e', 'd', 'r', 'm') "
                "OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')) LOOP "
                "EXECUTE format('ALTER TYPE %s OWNER TO " MIGRATE_OWNER "', r.obj); END LOOP; END $$";

        return run_exec(m, "the schema's owner: ", sql, 0, NULL, NULL);
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
        if (run_roles(&m) < 0)
                return -EIO;
        /* One transaction for all of them: a half-migrated database never
         * exists. The advisory lock keeps two migrations apart. */
        if (run_exec(&m, NULL, "BEGIN", 0, NULL, NULL) < 0)
                return -EIO;
        if (run_exec(&m, NULL, "SELECT pg_advisory_xact_lock(7411)", 0, NULL, NULL) < 0 || run_check_owner(&m) < 0 ||
            run_exec(&m, NULL, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                               "name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                     0, NULL, NULL) < 0 ||
            run_exec(&m, NULL, "CREATE TABLE IF NOT EXISTS schema_function_files ("
                               "name text PRIMARY KEY, sha256 text NOT NULL, "
                               "applied_at timestamptz NOT NULL DEFAULT now())",
                     0, NULL, NULL) < 0 ||
            run_old_chain(&m) < 0 || run_all(&m, &applied) < 0 || run_owner(&m) < 0)
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

/* --- the daemon's role -------------------------------------------------- */

/* What ROLE is: *RET_EXISTS, and in WHY (empty if nothing) what makes it
 * unfit to be the daemon's: a power that reaches past vigil_writer. */
static int role_problem(struct run *m, const char *role, bool *ret_exists, char *why, size_t whylen)
{
        const char *p[1] = { role };
        PGresult *r;

        why[0] = '\0';
        if (run_exec(m, NULL,
                     "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, "
                     "pg_has_role(oid, '" MIGRATE_OWNER "', 'MEMBER'), rolname IN ('" MIGRATE_OWNER "', '"
                     MIGRATE_WRITER "'), "
                     "(SELECT string_agg(roleid::regrole::text, ', ') FROM pg_auth_members "
                     " WHERE member = pg_roles.oid AND roleid <> '" MIGRATE_WRITER "'::regrole), "
                     "EXISTS (SELECT 1 FROM pg_database WHERE datname = current_database() AND datdba = pg_roles.oid) "
                     "FROM pg_roles WHERE rolname = $1",
                     1, p, &r) < 0)
                return -EIO;
        *ret_exists = PQntuples(r) == 1;
        if (*ret_exists) {
                static const char *const powers[] = { "a superuser", "may create roles (and so grant itself any)",
                                                      "may create databases", "a replication role",
                                                      "bypasses row security", "can reach " MIGRATE_OWNER,
                                                      "one of vigil's own roles" };
                int k;

                for (k = 0; k < 7 && !why[0]; k++)
                        if (PQgetvalue(r, 0, k)[0] == 't')
                                snprintf(why, whylen, "%s", powers[k]);
                if (!why[0] && !PQgetisnull(r, 0, 7))
                        snprintf(why, whylen, "a member of %s (it may be a member of " MIGRATE_WRITER " only)",
                                 PQgetvalue(r, 0, 7));
                if (!why[0] && PQgetvalue(r, 0, 8)[0] == 't')
                        snprintf(why, whylen, "owns this database");
        }
        PQclear(r);
        return 0;
}

int migrate_daemon_role(PGconn *conn, const char *role, char *err, size_t errlen)
{
        struct run m = { conn, NULL, 0, err, errlen };
        char why[256], sql[512];
        char *id = PQescapeIdentifier(conn, role, strlen(role));
        bool exists;
        int tries, ret = -EIO;

        if (!id) {
                snprintf(err, errlen, "the daemon's role name %s cannot be quoted", role);
                return -EINVAL;
        }
        for (tries = 0; tries < 3; tries++) {
                if (role_problem(&m, role, &exists, why, sizeof(why)) < 0)
                        goto out;
                if (why[0]) {
                        snprintf(err, errlen,
                                 "[database] conninfo logs the daemon in as %s, which is %s: give it a role of its "
                                 "own that vigild migrate creates (a member of " MIGRATE_WRITER " and of nothing "
                                 "else)", role, why);
                        ret = -EPERM;
                        goto out;
                }
                if (exists)
                        break;
                /* LOGIN and nothing else; the password (if pg_hba asks
                 * for one) is the administrator's to set. */
                snprintf(sql, sizeof(sql), "CREATE ROLE %s LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE "
                                           "NOREPLICATION NOBYPASSRLS", id);
                if (run_exec(&m, "creating the daemon's role: ", sql, 0, NULL, NULL) == 0)
                        break;
        }
        if (!exists && tries == 3)
                goto out;
        /* A member of the writer, inheriting its rights, so that neither
         * RESET ROLE nor SET ROLE changes what it may do; and the only role
         * besides the owner and superusers that may connect here (the
         * daemons of other node databases in the same cluster are members
         * of vigil_writer too). */
        snprintf(sql, sizeof(sql), "GRANT " MIGRATE_WRITER " TO %s", id);
        if (run_exec(&m, "granting the writer's role: ", sql, 0, NULL, NULL) < 0)
                goto out;
        snprintf(sql, sizeof(sql), "ALTER ROLE %s INHERIT", id);
        if (run_exec(&m, NULL, sql, 0, NULL, NULL) < 0)
                goto out;
        {
                char full[768], *lit = PQescapeLiteral(conn, role, strlen(role));
                if (!lit)
                        goto out;
                /* sql has '%s' where the role's literal goes (quoted again by format's %I). */
                snprintf(full, sizeof(full),
                         "DO $$ BEGIN EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %%I FROM PUBLIC', "
                         "current_database()); EXECUTE format('GRANT CONNECT ON DATABASE %%I TO %%I', "
                         "current_database(), %s); END $$", lit);
                PQfreemem(lit);
                if (run_exec(&m, "restricting who may connect: ", full, 0, NULL, NULL) < 0)
                        goto out;
        }
        ret = 0;
out:
        PQfreemem(id);
        return ret;
}

/* --- what the daemon checks at start ---------------------------------- */

int migrate_check(PGconn *conn, char *err, size_t errlen)
{
        struct run m = { conn, migrate_files, migrate_n_files, err, errlen };
        char why[256];
        const char *p[2];
        PGresult *r;
        bool exists;
        long have;
        int i, stale = 0;
        const char *first = NULL;

        if (sodium_init() < 0) {
                snprintf(err, errlen, "libsodium could not be initialised");
                return -EIO;
        }
        /* Who this session is, and who RESET ROLE would make it. */
        if (run_exec(&m, NULL, "SELECT session_user, current_user", 0, NULL, &r) < 0)
                return -EIO;
        {
                char who[2][128];
                int k;
                snprintf(who[0], sizeof(who[0]), "%s", PQgetvalue(r, 0, 0));
                snprintf(who[1], sizeof(who[1]), "%s", PQgetvalue(r, 0, 1));
                PQclear(r);
                for (k = 0; k < 2; k++) {
                        if (role_problem(&m, who[k], &exists, why, sizeof(why)) < 0)
                                return -EIO;
                        if (why[0]) {
                                snprintf(err, errlen,
                                         "[database] conninfo logs in as %s, which is %s: vigild runs as a role "
                                         "that is a member of " MIGRATE_WRITER " only (schema/README.md \"Roles\"; "
                                         "`vigild migrate` creates it)", who[k], why);
                                return -EPERM;
                        }
                }
        }
        if (run_count(&m, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                          "AND tablename IN ('schema_migrations', 'schema_function_files')", 0, NULL, &have) < 0)
                return -EIO;
        if (have < 2) {
                snprintf(err, errlen, "this database has no vigil schema yet: run `vigild migrate -c FILE` "
                                      "(as the owner) before starting vigild");
                return -ESTALE;
        }
        for (i = 0; i < migrate_n_files; i++) {
                const struct migration *f = &migrate_files[i];
                unsigned char sum[crypto_hash_sha256_BYTES];
                char hex[2 * crypto_hash_sha256_BYTES + 1];

                p[0] = f->name;
                if (f->kind == MIGRATION_NUMBERED) {
                        if (run_count(&m, "SELECT count(*) FROM schema_migrations WHERE name = $1", 1, p, &have) < 0)
                                return -EIO;
                } else {
                        crypto_hash_sha256(sum, (const unsigned char *)f->sql, strlen(f->sql));
                        sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
                        p[1] = hex;
                        if (run_count(&m, "SELECT count(*) FROM schema_function_files WHERE name = $1 AND sha256 = $2",
                                      2, p, &have) < 0)
                                return -EIO;
                }
                if (!have) {
                        stale++;
                        if (!first)
                                first = f->name;
                }
        }
        if (stale) {
                snprintf(err, errlen, "the schema is not this vigild's: %d of its %d files are not applied (the "
                                      "first: %s): run `vigild migrate -c FILE` (as the owner) first", stale,
                         migrate_n_files, first);
                return -ESTALE;
        }
        return 0;
}

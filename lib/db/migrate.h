/* migrate: the schema of schema/ (compiled into the binary by
 * schema/embed.py; schema/README.md), applied by `vigild migrate` as the
 * owner, in one transaction, before the daemon starts; the daemon only
 * checks that it is current (migrate_check). Numbered migrations (tables) run once each and are recorded
 * in schema_migrations; function files run again whenever their text
 * changes, and after any numbered migration, and are recorded with their
 * SHA-256 in schema_function_files. A second start applies nothing. */
#pragma once

#include <stddef.h>
#include <libpq-fe.h>

/* The cluster's roles (schema/README.md "Roles"): the owner of every
 * object, what migrations run as; and the rights the daemon works with.
 * The daemon logs in as a role of its own, a member of the writer only. */
#define MIGRATE_OWNER "vigil_owner"
#define MIGRATE_WRITER "vigil_writer"

enum migration_kind {
        MIGRATION_CHECKS,     /* functions/checks.sql: before the numbered ones (CHECKs call it) */
        MIGRATION_NUMBERED,   /* NNN_*.sql: once each, in the order of their names */
        MIGRATION_FUNCTIONS,  /* functions/NAME.sql: after the numbered ones, in table order */
};

struct migration {
        const char *name;  /* "001_federation.sql", "functions/catalog.sql" */
        const char *sql;
        enum migration_kind kind;
};

/* Every file, in the order they apply: checks, numbered, functions. */
extern const struct migration migrate_files[];
extern const int migrate_n_files;

/** Bring CONN's schema to migrate_files in one transaction, under an
 *  advisory lock (blocking): first the roles vigil_owner and vigil_writer
 *  (created if missing, which needs CREATEROLE; CONN must log in as the
 *  owner, a member of it or a superuser), then the function files of
 *  MIGRATION_CHECKS, then every numbered migration CONN lacks, in order,
 *  then the MIGRATION_FUNCTIONS files. A function file is applied when its
 *  text differs from the one last applied, or when a numbered migration is
 *  applied in the same run (it may have dropped or changed what a function
 *  file defines or reads). A database made by the migrations before the
 *  baseline (all of them) is recorded as at the baseline first; one with
 *  only some of them is refused. functions/privileges.sql is applied again
 *  whenever anything else was, and at the end every object of the schema
 *  is given to vigil_owner. *RET_APPLIED gets how many files were
 *  applied. Returns 0, or -EIO with the failing file and PostgreSQL's
 *  message (or what to do) in ERR, and nothing changed. */
int migrate_apply(PGconn *conn, int *ret_applied, char *err, size_t errlen);

/** migrate_apply with FILES (N of them) in place of migrate_files: for
 *  tests, which change a file's text to see it applied again. */
int migrate_apply_files(PGconn *conn, const struct migration *files, int n, int *ret_applied, char *err,
                        size_t errlen);

/** As the owner (CONN): make ROLE the daemon's login role. Created if
 *  missing (LOGIN, no other attribute; a password is the administrator's
 *  to set), made a member of vigil_writer, and the only role besides the
 *  owner that may connect to CONN's database. Refused (-EPERM, ERR says
 *  why) if ROLE is a superuser, may create roles or databases, can reach
 *  the owner or is a member of any role but the writer. 0 or -EIO. */
int migrate_daemon_role(PGconn *conn, const char *role, char *err, size_t errlen);

/** As the daemon (CONN), at start: its session is a fit daemon role (as
 *  migrate_daemon_role demands, for the login and the current role) and
 *  the schema is exactly migrate_files (every numbered migration recorded,
 *  every function file applied as it is now). 0; -EPERM or -ESTALE (run
 *  `vigild migrate`) with the reason in ERR; -EIO. */
int migrate_check(PGconn *conn, char *err, size_t errlen);

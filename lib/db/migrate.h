/* migrate: the schema of schema/ (compiled into the binary by
 * schema/embed.py; schema/README.md), applied by vigild at start in one
 * transaction. Numbered migrations (tables) run once each and are recorded
 * in schema_migrations; function files run again whenever their text
 * changes, and after any numbered migration, and are recorded with their
 * SHA-256 in schema_function_files. A second start applies nothing. */
#pragma once

#include <stddef.h>
#include <libpq-fe.h>

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
 *  advisory lock (blocking; start-up only): the function files of
 *  MIGRATION_CHECKS, then every numbered migration CONN lacks, in order,
 *  then the MIGRATION_FUNCTIONS files. A function file is applied when its
 *  text differs from the one last applied, or when a numbered migration is
 *  applied in the same run (it may have dropped or changed what a function
 *  file defines or reads). A database made by the migrations before the
 *  baseline (all of them) is recorded as at the baseline first; one with
 *  only some of them is refused. *RET_APPLIED gets how many files were
 *  applied. Returns 0, or -EIO with the failing file and PostgreSQL's
 *  message (or what to do) in ERR, and nothing changed. */
int migrate_apply(PGconn *conn, int *ret_applied, char *err, size_t errlen);

/** migrate_apply with FILES (N of them) in place of migrate_files: for
 *  tests, which change a file's text to see it applied again. */
int migrate_apply_files(PGconn *conn, const struct migration *files, int n, int *ret_applied, char *err,
                        size_t errlen);

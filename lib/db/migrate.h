/* migrate: the numbered SQL migrations in schema/ (compiled into the binary
 * by schema/embed.py), applied by vigild at start in one transaction and
 * recorded in schema_migrations; a second start applies nothing. */
#pragma once

#include <stddef.h>
#include <libpq-fe.h>

struct migration {
        const char *name;  /* "001_foundation.sql" */
        const char *sql;
};

extern const struct migration migrate_files[];
extern const int migrate_n_files;

/** Apply every migration CONN lacks, in order, in one transaction (blocking;
 *  start-up only). *RET_APPLIED gets how many were applied. Returns 0, or
 *  -EIO with the failing file and PostgreSQL's message in ERR. */
int migrate_apply(PGconn *conn, int *ret_applied, char *err, size_t errlen);

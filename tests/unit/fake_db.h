/* fake_db: lib/db/db.h without PostgreSQL, for the unit tests of what
 * builds transactions (lib/delivery). A test executable links fake_db.c
 * instead of lib/db/db.c.
 *
 * db_submit() only queues: every transaction submitted waits, with its
 * statements, parameters and callbacks, until the test looks at it and
 * completes it, with results it built or with a failure. Callbacks run
 * then, never from inside db_submit(), and in the real one's order: the
 * db_tx_also() ones first, then the one given to db_submit(). As on a real
 * connection, a database's transactions complete in the order they were
 * submitted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "db/db.h"

/** A database that is up; caller owns it (fake_db_free). NAME is for
 *  messages. */
struct db *fake_db_new(const char *name);
/** Free DB. Transactions still queued are a test's mistake: CHECK fails. */
void fake_db_free(struct db *db);
/** What db_is_up() says from now on. */
void fake_db_set_up(struct db *db, bool up);

/** Transactions waiting on DB. */
int fake_db_pending(const struct db *db);
/** Transactions submitted to DB so far. */
unsigned long fake_db_submitted(const struct db *db);
/** The I-th waiting transaction (0: the next to complete), NULL past the end. */
struct db_tx *fake_db_peek(const struct db *db, int i);

/** Statements of TX, and statement I's SQL, its parameters (NULL for SQL
 *  NULL) with their lengths and formats, and whether its result was asked
 *  for in binary. */
int fake_tx_statements(const struct db_tx *tx);
const char *fake_tx_sql(const struct db_tx *tx, int i);
int fake_tx_nparams(const struct db_tx *tx, int i);
const char *fake_tx_param(const struct db_tx *tx, int i, int j);
int fake_tx_param_len(const struct db_tx *tx, int i, int j);
int fake_tx_param_format(const struct db_tx *tx, int i, int j);
bool fake_tx_binary(const struct db_tx *tx, int i);
/** The first statement from FROM on whose SQL contains PART; -1 if none. */
int fake_tx_find(const struct db_tx *tx, const char *part, int from);
/** How many statements' SQL contain PART. */
int fake_tx_count_sql(const struct db_tx *tx, const char *part);
/** Callbacks TX will call: its db_tx_also() ones, and db_submit()'s. */
int fake_tx_hooks(const struct db_tx *tx);
bool fake_tx_has_hook(const struct db_tx *tx, db_done_cb cb);

/** Results a test builds: a tuples result with NCOLS columns named NAMES,
 *  each text (FORMATS NULL) or binary, and no rows. Caller owns it until
 *  given to fake_tx_set_result. */
PGresult *fake_result_new(int ncols, const char *const *names, const int *formats);
/** Append a row of text values (NULL: SQL NULL). */
void fake_result_add_row(PGresult *res, const char *const *values);
/** Set row ROW (the next, or one already there), column COL to LEN bytes. */
void fake_result_set(PGresult *res, int row, int col, const void *value, int len);
/** Statement I of TX (waiting) gets RES (now TX's). */
void fake_tx_set_result(struct db_tx *tx, int i, PGresult *res);

/** Complete DB's next transaction: ERR 0 commits it (statements without a
 *  result of the test's get an empty one), -EPROTO or -ECONNRESET fail it
 *  with MSG. Its callbacks run, then it is freed. CHECK fails if none
 *  waits. */
void fake_db_complete(struct db *db, int err, const char *msg);
/** Fail DB's next transaction with -EPROTO and MSG at its statement STMT,
 *  as PostgreSQL does in a pipeline: the statements before it have a
 *  result, STMT a fatal error (with no SQLSTATE), those after it are
 *  aborted. */
void fake_db_fail_at(struct db *db, int stmt, const char *msg);
/** Fail every waiting transaction with -ECONNRESET, in order, including
 *  those their callbacks submit meanwhile; returns how many. */
int fake_db_fail_all(struct db *db);

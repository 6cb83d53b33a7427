/* db: PostgreSQL on the libuv loop. libpq in non-blocking pipeline mode,
 * PQsocket() in a uv_poll_t; reconnects with backoff when the server goes
 * away (NOTES.md "PostgreSQL").
 *
 * Work is submitted as transactions: a list of parameterised statements that
 * are pipelined and closed by one sync, so PostgreSQL runs them as one
 * implicit transaction: all or nothing. Transactions submitted while the
 * connection is down wait and go out after reconnect; transactions already
 * sent when the connection dies fail with -ECONNRESET (their fate is unknown:
 * callers re-read what they need, which the delivery protocol is built for). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <uv.h>

struct db;
struct db_tx;

/** Called once per transaction. ERR is 0 (committed), -EPROTO (a statement
 *  failed, ERRMSG says why; nothing was committed) or -ECONNRESET (the
 *  connection died; it may or may not have committed). Results are
 *  db_tx_result(TX, i) for statement i and live until the callback returns. */
typedef void (*db_done_cb)(void *arg, struct db_tx *tx, int err, const char *errmsg);

struct db_events {
        void (*up)(void *arg);    /* connected (again) */
        void (*down)(void *arg);  /* connection lost */
        void *arg;
};

/** Caller owns the result (db_free). Connection starts with db_start(). */
struct db *db_new(uv_loop_t *loop, const char *conninfo, const struct db_events *ev);
void db_start(struct db *db);
/** Close the connection and its handles; pending transactions fail with
 *  -ECANCELED. The memory is freed once the handles are closed. */
void db_free(struct db *db);
bool db_is_up(const struct db *db);
/** While the connection is down: since when (µs since the epoch, wall
 *  clock); 0 while it is up. */
int64_t db_down_since_us(const struct db *db);
/** Counts for status: reconnects, transactions committed and failed. */
void db_stats(const struct db *db, unsigned long *ret_reconnects,
              unsigned long *ret_committed, unsigned long *ret_failed);

/** A new, empty transaction; submitted (and then owned by DB) with db_submit. */
struct db_tx *db_tx_new(void);
/** Append a statement. VALUES are copied (NULL entries are SQL NULL);
 *  LENGTHS/FORMATS may be NULL for text parameters (a format of 1 is binary,
 *  e.g. bytea). Returns 0 or -ENOMEM (the tx then fails on submit). */
int db_tx_add(struct db_tx *tx, const char *sql, int nparams,
              const char *const *values, const int *lengths, const int *formats);
int db_tx_count(const struct db_tx *tx);
/** Ask for every result of TX in binary format (bytea without hex escaping,
 *  int8 as 8 big-endian bytes). */
void db_tx_set_binary_results(struct db_tx *tx);
/** Ask for the result of the statement added last in binary format. */
void db_tx_binary_last(struct db_tx *tx);
/** Also call CB(ARG, …) when TX is done, before the callback given to
 *  db_submit, with the same results and outcome: a module that added its
 *  own statements to another's transaction learns how they went. 0 or
 *  -ENOMEM. A tx freed unsubmitted calls none. */
int db_tx_also(struct db_tx *tx, db_done_cb cb, void *arg);
/** TX's number, unique in this process. */
uint64_t db_tx_id(const struct db_tx *tx);
/** Queue TX; CB runs when it is done (never from inside db_submit). */
void db_submit(struct db *db, struct db_tx *tx, db_done_cb cb, void *arg);
/** Statement I's result (NULL if it did not run). Borrowed. */
PGresult *db_tx_result(struct db_tx *tx, int i);
/** Free a transaction that was never submitted. */
void db_tx_free(struct db_tx *tx);

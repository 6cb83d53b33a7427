/* deadletter: changes a peer sent that this node cannot apply, kept whole
 * in `dead_letters` (schema/015_dead_letters.sql; issue 17, known fault 1;
 * DESIGN.md "No poison, no stall").
 *
 * The link holds one (link_recv.c) in the transaction that consumes its
 * sequence number: a change the C checks refuse, in the batch it came in;
 * a change whose SQL fails, alone, once the failed batch has been taken
 * apart. A kind that refuses a change in its SQL (officer_apply) holds it
 * there. The watch reads what is held, for `status`, and logs each new
 * dead letter at error level, whoever held it; the access log record that
 * dead_letter_hold() writes goes up the tree with the rest of the log.
 * `vigilctl deadletter` (control/deadletterctl.c) lists, retries and
 * discards them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;
struct db_tx;

/** Add to TX the statement holding change SEQ of PEER (epoch EPOCH), RAW
 *  (LEN bytes) as it came, of kind KIND (NULL: unknown here), for REASON. */
void deadletter_hold_add(struct db_tx *tx, const char *peer, const char *epoch, uint64_t seq, const uint8_t *raw,
                         size_t len, const char *kind, const char *reason);

/* Peers whose held dead letters are counted (a node's children and its
 * parent; more are summed in `other`). */
#define DEADLETTER_MAX_PEERS 64

struct deadletter_watch {
        struct db *db;
        bool busy;                      /* a read is in flight */
        bool again;                     /* ... and another was asked for meanwhile */
        bool loaded;                    /* read once: the counts are known */
        int64_t last_id;                /* the newest dead letter logged */
        unsigned long held;             /* held here, every peer */
        unsigned long other;            /* ... from peers past DEADLETTER_MAX_PEERS */
        int n;
        struct {
                char peer[21];
                unsigned long held;
        } peers[DEADLETTER_MAX_PEERS];
};

/** Start watching DB (borrowed). W needs no deinit. */
void deadletter_watch_init(struct deadletter_watch *w, struct db *db);
/** Read the counts again, and log what was held since the last read. */
void deadletter_watch_poll(struct deadletter_watch *w);
/** Dead letters held here from PEER (0 if none, or not read yet). */
unsigned long deadletter_watch_held(const struct deadletter_watch *w, const char *peer);

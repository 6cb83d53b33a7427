/* change: the kinds of change a node carries, and applying a batch of them.
 *
 * Delivery knows nothing of what it carries (DESIGN.md "Delivery"). Each
 * feature registers, for each of its kinds (a case of the Change oneof in
 * proto/vigil.proto), which side it may come from and how it is applied:
 * either a statement per change (`add`) or set-based (`row` appends the
 * change to column arrays, `flush` turns the rows gathered into one
 * statement with array parameters). The link applying a peer's deltas (or
 * snapshot chunks) builds one batch per transaction and adds each change
 * through this table; consecutive changes of one set-based kind become one
 * statement (at most CHANGE_GROUP_MAX rows), and the order between kinds is
 * kept.
 *
 * A kind that must act once the transaction is done (an emergency order at
 * a station, officers to admit) notes it in the batch (change_batch_note);
 * the link hands the notes to its listeners (delivery/link.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/sqlarray.h"
#include "vigil.pb-c.h"

struct db_tx;

/* Where a change may come from. */
enum change_from {
        CHANGE_FROM_CHILD = 1 << 0,     /* travels up */
        CHANGE_FROM_PARENT = 1 << 1,    /* travels down */
};

#define CHANGE_MAX_KINDS 32
/* Column arrays a set-based kind may use. */
#define CHANGE_MAX_COLUMNS 20
/* Rows per set-based statement. */
#define CHANGE_GROUP_MAX 1000

struct change_batch;

/* One kind of change. ARG is the feature's, given back to each call. */
struct change_kind {
        int kind_case;                  /* Vigil__Change__KindCase */
        const char *name;               /* "camera", for logs */
        unsigned from;                  /* CHANGE_FROM_* */
        const char *wrong_way;          /* the refusal when it comes from the other side */
        /* A statement per change, added to change_batch_tx(B). 0, or
         * -EBADMSG with the reason in ERR (nothing added then). */
        int (*add)(void *arg, struct change_batch *b, const Vigil__Change *c, const uint8_t *raw, size_t len,
                   char *err, size_t errlen);
        /* Set-based instead: append C as one row to COLS (their types are
         * the kind's to set while COLS[0] is empty); -EBADMSG with the
         * reason in ERR, appending nothing. */
        int (*row)(void *arg, struct change_batch *b, struct sqlarray *cols, const Vigil__Change *c,
                   const uint8_t *raw, size_t len, char *err, size_t errlen);
        /* Add the statement applying the rows in COLS, and empty them. */
        void (*flush)(void *arg, struct change_batch *b, struct sqlarray *cols);
        size_t group_max;               /* rows per statement; 0: CHANGE_GROUP_MAX */
        void *arg;
};

struct change_table {
        struct change_kind kinds[CHANGE_MAX_KINDS];
        int n;
        unsigned notes;                 /* note bits handed out */
};

/** Register kind K (copied). A kind registered twice, or too many, is a
 *  bug: aborts. */
void change_register(struct change_table *t, const struct change_kind *k);
/** A note bit of its own for a feature (change_batch_note). */
unsigned change_note_new(struct change_table *t);
/** The kind registered for KIND_CASE, or NULL. */
const struct change_kind *change_kind_of(const struct change_table *t, int kind_case);

/** Start a batch adding statements to TX for changes received from VIA (a
 *  child, or the parent when FROM_PARENT); UPLINK is this node's parent
 *  (NULL at the city), to forward to; SNAPSHOT: the changes are a
 *  snapshot's. Caller owns the result; change_batch_finish() frees it. */
struct change_batch *change_batch_new(const struct change_table *t, struct db_tx *tx, const char *via,
                                      const char *uplink, bool from_parent, bool snapshot);
/** Add CHANGE (LEN bytes): 0, or CHANGE_FORWARDED for a kind this node
 *  does not know (a Change with its case NOT_SET and an unknown field)
 *  from a child at a tier with a parent, outside a snapshot: it goes up
 *  unchanged (change_forward; issue 17). A change that does not decode, of
 *  another kind not registered, or from the wrong side is refused with
 *  -EBADMSG and a reason in ERR; so is one the kind refuses. Nothing is
 *  added for it then. */
#define CHANGE_FORWARDED 1
int change_batch_add(struct change_batch *b, const uint8_t *change, size_t len, char *err, size_t errlen);
/** Whether the change refused last was of a kind this node does not know
 *  (outside a snapshot): from the parent, the link sends it on down to
 *  every child as it came (a middle tier cannot tell which it is for;
 *  issue 17); at the city, or at a station, it is a dead letter. */
bool change_batch_refused_unknown(const struct change_batch *b);
/** The next change added is the delta SEQ (> 0) of the peer's epoch EPOCH
 *  (borrowed, kept until the next call): a kind that refuses it in SQL
 *  holds it as a dead letter there (issue 17). */
void change_batch_at(struct change_batch *b, const char *epoch, uint64_t seq);
/** That position: the epoch (NULL if none was given: a snapshot's item)
 *  and the sequence number (0 then). */
const char *change_batch_epoch(const struct change_batch *b);
uint64_t change_batch_seq(const struct change_batch *b);
/** The name of CHANGE's kind if it decodes to one registered, else NULL. */
const char *change_kind_name(const struct change_table *t, const uint8_t *change, size_t len);
/** Emit what is still gathered, free B; returns the notes made. */
unsigned change_batch_finish(struct change_batch *b);

/* What a kind's callbacks see of the batch. */
struct db_tx *change_batch_tx(const struct change_batch *b);
const char *change_batch_via(const struct change_batch *b);
/** This node's parent, to forward to (NULL at the city). */
const char *change_batch_uplink(const struct change_batch *b);
bool change_batch_snapshot(const struct change_batch *b);
/** Remember NOTE (from change_note_new) for the listeners of the
 *  transaction. */
void change_batch_note(struct change_batch *b, unsigned note);

/** Add to TX the statement forwarding CHANGE (LEN bytes) to peer TO: an
 *  outbox append in the same transaction (store and forward). */
void change_forward(struct db_tx *tx, const char *to, const uint8_t *change, size_t len);

/* snapshot: what a node puts into a snapshot for a peer that holds none of
 * its state (Clone pattern, DESIGN.md "Delivery"), section by section.
 *
 * Each feature registers a section per kind of state it keeps: which way
 * it goes (up to the parent: the node's own state and what it holds of its
 * children; down to a child: what the child must act on), how one page of
 * it is read (keyset pagination, so a million cameras are never in memory
 * whole) and how a row becomes a change. Sections go out in the order they
 * were registered. Pages read after the snapshot's sequence may already
 * hold later changes; the deltas after the sequence carry them too, and
 * versions make applying them twice harmless.
 *
 * At the receiving end, a section going up names the table its rows are
 * kept in: at SnapshotBegin every row of it that came through the child
 * is marked (snapshot_mark), the snapshot's rows unmark what they find,
 * and at SnapshotEnd what is still marked is gone. A section may also say
 * how that is forwarded up: the rows still marked are read first
 * (add_marked) and their removal forwarded (forward_removed) in the
 * transaction that removes them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct db_tx;

#define SNAPSHOT_MAX_SECTIONS 16
#define SNAPSHOT_KEY_LEN 80

/* Which way a section goes. */
enum snapshot_to {
        SNAPSHOT_TO_PARENT = 1,
        SNAPSHOT_TO_CHILD = 2,
};

/* What a section's read needs to know. */
struct snapshot_page {
        const char *self;               /* this node's ID */
        const char *peer;               /* the peer the snapshot is for */
        const char *key1, *key2;        /* columns 0 and 1 of the last row of the page before ("" at first) */
        int limit;                      /* rows at most */
};

struct snapshot_section {
        const char *name;
        enum snapshot_to to;
        /* Few rows: the whole section is one page (read without a limit). */
        bool one_page;
        /* Going up: the table (with columns via and snapshot_mark) the
         * rows are kept in at the parent, or NULL. */
        const char *table;
        /* Add to TX the one statement reading page P. */
        void (*add_read)(void *arg, struct db_tx *tx, const struct snapshot_page *p);
        /* Row I of that statement's result as a change; caller owns *RET. */
        int (*encode)(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len);
        /* Optional, for sections going up: add to TX the one statement
         * reading what came through child VIA and is still marked at the
         * snapshot's end; then, in the ending transaction TX, forward the
         * removal of each row of MARKED to UPLINK, each with a version
         * above the row's and at least FLOOR (the child's version clock as
         * its snapshot began, 0 if it did not say: SnapshotBegin). */
        void (*add_marked)(void *arg, struct db_tx *tx, const char *via);
        void (*forward_removed)(void *arg, struct db_tx *tx, const PGresult *marked, const char *uplink,
                                int64_t floor);
        void *arg;
};

struct snapshot_table {
        struct snapshot_section sections[SNAPSHOT_MAX_SECTIONS];
        int n;
};

/** Register section S (copied), after those registered before it. */
void snapshot_register(struct snapshot_table *t, const struct snapshot_section *s);

/* Sending one snapshot: where it has got to. */
struct snapshot_cursor {
        enum snapshot_to to;
        int section;                    /* index in the table; t->n when done */
        char key1[SNAPSHOT_KEY_LEN], key2[SNAPSHOT_KEY_LEN];
};

/** Begin a snapshot going TO. */
void snapshot_start(struct snapshot_cursor *c, const struct snapshot_table *t, enum snapshot_to to);
/** Every section has been read. */
bool snapshot_done(const struct snapshot_cursor *c, const struct snapshot_table *t);
/** Add to TX the statement reading C's next page (at most LIMIT rows) for
 *  PEER, at node SELF. */
void snapshot_add_page(const struct snapshot_table *t, const struct snapshot_cursor *c, struct db_tx *tx,
                       const char *self, const char *peer, int limit);
/** Encode that page (statement 0 of TX) and move C on. Caller owns the
 *  arrays and their elements. -ENOMEM if encoding failed (nothing is
 *  returned then). */
int snapshot_page_encode(const struct snapshot_table *t, struct snapshot_cursor *c, struct db_tx *tx, int limit,
                         uint8_t ***ret_changes, size_t **ret_lens, size_t *ret_n);

/** A child's snapshot begins: add to TX, for every section with a table,
 *  the statement marking the rows that came through child VIA. */
void snapshot_add_marks(const struct snapshot_table *t, struct db_tx *tx, const char *via);
/** A child's snapshot ends: add to TX, for every section with add_marked,
 *  in order, the statement reading what it did not contain. */
void snapshot_add_marked(const struct snapshot_table *t, struct db_tx *tx, const char *via);
/** Then, in the ending transaction TX, the removal of what is still
 *  marked (the sections' tables, last registered first) and the forwarding
 *  of the removals to UPLINK (nothing at the city), from the results of
 *  READ, with versions at least FLOOR (see forward_removed). */
void snapshot_add_removals(const struct snapshot_table *t, struct db_tx *tx, struct db_tx *read,
                           const char *via, const char *uplink, int64_t floor);

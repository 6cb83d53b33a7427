/* replica: what replicated changes mean. Turns a received Change into the
 * statements that apply it (inside the link's applying transaction), and a
 * node's own state into a snapshot for its parent. The first kinds are the
 * tree's (NodeState, NodeRemoved); later kinds (catalog, grants, audit,
 * emergency orders) add a case here and their SQL in schema/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery/link.h"

struct db_tx;
struct node;

/* Applying a batch of changes in one transaction. Consecutive changes of a
 * kind that has a set-based apply (link probes; later catalog rows) become
 * one statement with array parameters; order between kinds is kept. */
struct replica_batch;

/** Start a batch adding statements to TX for changes received on L. Caller
 *  owns the result; replica_batch_finish() frees it. */
struct replica_batch *replica_batch_new(struct link *l, struct db_tx *tx, bool snapshot);
/** Add CHANGE (LEN bytes). A change the peer may not send (another subtree,
 *  wrong direction) or that does not decode is refused with -EBADMSG and a
 *  reason in ERR; nothing is added for it then. */
int replica_batch_add(struct replica_batch *b, const uint8_t *change, size_t len,
                      char *err, size_t errlen);
/** Emit what is still accumulated and free B. */
void replica_batch_finish(struct replica_batch *b);

/** Encode a LinkProbe change; caller owns *RET. */
int replica_encode_link_probe(const char *origin, uint64_t probe_id, uint64_t number, int64_t sent_at_us,
                              size_t padding, uint8_t **ret, size_t *ret_len);

/* A snapshot is read a page at a time (keyset pagination), section by
 * section. Up, to a parent: nodes, sites, systems, cameras, officers,
 * delegations. Down, to a child: the live grants for its cameras and the
 * live emergency orders covering it. Pages read after the snapshot's
 * sequence may already hold later changes; the deltas after the sequence
 * carry them too, and versions make applying them twice harmless. */
enum replica_snap_section {
        REPLICA_SNAP_NODES = 0,
        REPLICA_SNAP_SITES,
        REPLICA_SNAP_SYSTEMS,
        REPLICA_SNAP_CAMERAS,
        REPLICA_SNAP_OFFICERS,
        REPLICA_SNAP_DELEGATIONS,
        REPLICA_SNAP_GRANTS,
        REPLICA_SNAP_ORDERS,
        REPLICA_SNAP_DONE,
};

struct replica_cursor {
        int section;            /* enum replica_snap_section */
        char key1[80], key2[80];  /* last key read in this section */
};

/** Begin a snapshot for L's peer. */
void replica_snapshot_start(struct replica_cursor *c, const struct link *l);
/** Add to TX the statement reading the next page (at most LIMIT rows). */
void replica_add_snapshot_page(struct db_tx *tx, struct link *l, const struct replica_cursor *c, int limit);
/** Encode that page (statement 0 of TX) and move C on. Caller owns the
 *  arrays and their elements. */
int replica_snapshot_page_encode(struct db_tx *tx, struct link *l, struct replica_cursor *c, int limit,
                                 uint8_t ***ret_changes, size_t **ret_lens, size_t *ret_n);

/** A snapshot from L's peer ends: add to TX the statements reading what it
 *  did not contain (still marked); then, in the ending transaction, add the
 *  forwarding of their removals (from the results of READ). */
void replica_add_sweep_read(struct db_tx *tx, struct link *l);
void replica_add_sweep(struct db_tx *tx, struct db_tx *read, struct link *l);

/** Encode a NodeState change; caller owns *RET. */
int replica_encode_node_state(const char *id, const char *parent_id, int tier, const char *name,
                              bool online, int64_t last_seen_us, int64_t version,
                              uint8_t **ret, size_t *ret_len);
int replica_encode_node_removed(const char *id, int64_t version, uint8_t **ret, size_t *ret_len);

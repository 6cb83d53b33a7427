/* replica: what replicated changes mean. Turns a received Change into the
 * statements that apply it (inside the link's applying transaction), and a
 * node's own state into a snapshot for its parent. The first kinds are the
 * tree's (NodeState, NodeRemoved); later kinds (catalog, grants, audit,
 * emergency orders) add a case here and their SQL in schema/. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link.h"

struct db_tx;
struct node;

/** Add to TX the statements applying CHANGE (LEN bytes) received on L. A
 *  change the peer may not send (another subtree, wrong direction) or that
 *  does not decode is refused with -EBADMSG and a reason in ERR; nothing is
 *  added then. */
int replica_add_apply(struct db_tx *tx, struct link *l, const uint8_t *change, size_t len,
                      bool snapshot, char *err, size_t errlen);

/** Add to TX the statements reading what node N sends PEER as a snapshot:
 *  first the peer's outbox sequence, then the state. */
void replica_add_snapshot_read(struct db_tx *tx, struct link *l);
/** Encode the snapshot read by the statements replica_add_snapshot_read()
 *  added (starting at statement FIRST) into Change messages. Caller owns
 *  *RET_CHANGES (each element malloc'd, and the array) and *RET_LENS. */
int replica_snapshot_collect(struct db_tx *tx, int first, struct link *l, uint64_t *ret_seq,
                             uint8_t ***ret_changes, size_t **ret_lens, size_t *ret_n);

/** Encode a NodeState change; caller owns *RET. */
int replica_encode_node_state(const char *id, const char *parent_id, int tier, const char *name,
                              bool online, int64_t last_seen_us, int64_t version,
                              uint8_t **ret, size_t *ret_len);
int replica_encode_node_removed(const char *id, int64_t version, uint8_t **ret, size_t *ret_len);

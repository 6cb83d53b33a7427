/* tree: the federation's own replicated state. Each parent observes its
 * children's online state (downlink.c) and records it as a NodeState
 * change that travels up like any other, so every tier knows the nodes
 * beneath it (`vigilctl tree`); a removed child travels up as NodeRemoved;
 * LinkProbe changes measure one link (`vigilctl link probe`). This module
 * registers those kinds and the tree's snapshot section. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/vtime.h"
#include "delivery/change.h"
#include "delivery/snapshot.h"

struct tree {
        struct vtime_versions *versions;        /* for the removals a snapshot's end forwards */
};

/** Register the tree's kinds in KINDS and its section in SECTIONS (the
 *  first: a replica never holds a catalog row of a node it does not know).
 *  T outlives both. */
void tree_register(struct tree *t, struct vtime_versions *versions, struct change_table *kinds,
                   struct snapshot_table *sections);

/** What child VIA may announce (issue 17, fault 6): a NodeState of a
 *  platform node strictly below VIA and of a lower tier (a station
 *  announces none), its tier the one its ID encodes, its parent VIA or a
 *  node below VIA directly above it. 0, or -EBADMSG with the reason in ERR
 *  (the change is refused, never applied). */
int tree_check_node_state(const char *via, const Vigil__NodeState *s, char *err, size_t errlen);
/** The same for a NodeRemoved: only a node strictly below VIA. */
int tree_check_node_removed(const char *via, const Vigil__NodeRemoved *rm, char *err, size_t errlen);

/** Encode a NodeState change; caller owns *RET. */
int tree_encode_node_state(const char *id, const char *parent_id, int tier, const char *name, bool online,
                           int64_t last_seen_us, int64_t version, uint8_t **ret, size_t *ret_len);
/** Encode a NodeRemoved change; caller owns *RET. */
int tree_encode_node_removed(const char *id, int64_t version, uint8_t **ret, size_t *ret_len);
/** Encode a LinkProbe change (PADDING zero bytes of padding); caller owns
 *  *RET. */
int tree_encode_link_probe(const char *origin, uint64_t probe_id, uint64_t number, int64_t sent_at_us,
                           size_t padding, uint8_t **ret, size_t *ret_len);

/* delivery: this node's place in the tree and the reliable links to its
 * parent and children (DESIGN.md "Delivery: nothing lost, nothing applied
 * twice"). It carries changes without knowing what they mean: the
 * features register their kinds of change (delivery/change.h) and
 * snapshot sections (delivery/snapshot.h), hear of applied transactions
 * through listeners, and get the messages that are theirs (a view) through
 * handlers (delivery/link.h). lib/README.md draws the whole.
 *
 *   struct delivery
 *    ├─ kinds, sections     what the features registered
 *    ├─ links               what every link shares (link_set)
 *    ├─ uplink              the DEALER to the parent and its link (not at the city)
 *    ├─ downlink            the ROUTER for the children and theirs (not at stations)
 *    └─ tree                the federation's own kinds: node state, removals, probes
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/config.h"
#include "base/keys.h"
#include "base/vtime.h"
#include "delivery/change.h"
#include "delivery/downlink.h"
#include "delivery/link.h"
#include "delivery/snapshot.h"
#include "delivery/tree.h"
#include "delivery/uplink.h"
#include "wire/trust.h"

struct db;

struct delivery {
        const struct config *cfg;
        struct change_table kinds;
        struct snapshot_table sections;
        struct vtime_versions versions;         /* of this node's own changes */
        bool backlog_counting;                  /* backlog_sweep's count in flight */
        struct link_set links;
        struct tree tree;
        struct uplink uplink;
        struct downlink downlink;
        /* Whose signatures this node accepts: its ancestors' keys, from the
         * city's down (lib/wire/trust.h); node.c sets it up, the uplink takes
         * the chain its parent sends, the downlink passes it on. */
        struct trust trust;
        bool has_parent, has_children;
        bool uplink_init, downlink_init;
};

/** Set D up for the node configured by CFG (borrowed, outlives D) on
 *  LOOP: memory only. The tree's kinds are registered first. */
void delivery_init(struct delivery *d, uv_loop_t *loop, const struct config *cfg);
/** The node's databases (the loop's, the outbox reader's) and its epoch. */
void delivery_set_db(struct delivery *d, struct db *db, struct db *db_read, const char *epoch);
/** Bind the downlink and connect the uplink. 0, or negative errno with a
 *  sentence in ERR. */
int delivery_start(struct delivery *d, void *zctx, const struct node_keys *keys, char *err, size_t errlen);
/** Close the sockets (whatever delivery_start got to). */
void delivery_close(struct delivery *d);
/** The database connection came back: every link re-reads its position
 *  (what was in flight may or may not have committed). */
void delivery_db_up(struct delivery *d);

/** A fresh version for a change of this node's own. */
int64_t delivery_next_version(struct delivery *d);
/* The last version reserved, kept beside the node's keys ([node]
 * key_dir), outside the database (issue 17, fault 3). */
#define DELIVERY_VERSIONS_FILE "versions"

/** At start: versions continue above STORED (version_clock.last, the last
 *  version the database says this node issued or reserved) and above what
 *  the versions file kept, and are reserved in both ahead of use from now
 *  on (issue 17, faults 3 and 4). Returns the mark the caller must reserve
 *  in the database before anything runs (above both: each start moves it
 *  on); *RET_RESTORED: the file was ahead of the database, which was
 *  restored from a backup. */
int64_t delivery_versions_start(struct delivery *d, int64_t stored, bool *ret_restored);
/** The parent's ID, or NULL at the city. */
const char *delivery_parent_id(const struct delivery *d);
/** The enrolled child below which ID lies (itself included), or NULL. */
struct child *delivery_child_under(struct delivery *d, const char *id);

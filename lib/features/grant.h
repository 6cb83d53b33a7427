/* grant: approved requests travelling down (Art 19, 20). The node where a
 * request was decided sends each decision (an approval, later perhaps its
 * revocation) as a Grant change to the children holding its cameras, and
 * keeps it itself; each district forwards it (schema: grant_apply()); the
 * owning station decides every view by it (view.c). Sending is a sweep of
 * decisions not yet sent, so a crash between deciding and sending loses
 * nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "base/keys.h"
#include "base/runonce.h"
#include "delivery/delivery.h"
#include "vigil.pb-c.h"

struct grant {
        struct delivery *d;
        const struct node_keys *keys;   /* signs what is decided here */
        struct runonce dispatching;
        unsigned long refused;          /* grants from above refused: unsigned, forged, beyond the signer */
};

/** Set G up on D: the Grant kind (from the parent) and the grants'
 *  snapshot section (down: the live grants for a child's cameras). KEYS
 *  (borrowed) sign the decisions made here. */
void grant_init(struct grant *g, struct delivery *d, const struct node_keys *keys);
/** Send the decisions not yet sent (a few per call); call after a decision
 *  and now and then. */
void grant_dispatch(struct grant *g);

/* nodectl: the node's own commands: `status` (from memory: it answers
 * while the database is unreachable), `tree` (every node known here, with
 * liveness: DESIGN.md "Liveness", lib/README.md), `node enroll` and
 * `node remove` (an admin admits or removes a child platform), and
 * `link probe` (an on-call check of the reliable link to the parent). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/keys.h"
#include "control/control.h"
#include "delivery/deadletter.h"
#include "delivery/delivery.h"
#include "features/audit.h"
#include "features/stream_gate.h"
#include "features/view.h"
#include "transport/zap.h"

/* What the node commands read: the node's parts, borrowed. */
struct nodectl {
        struct delivery *d;
        const struct node_keys *keys;
        struct zap *zap;
        struct control *control;
        struct audit *audit;
        struct view *view;
        struct stream_gate *gate;       /* its counters in status */
        struct deadletter_watch *dead;  /* dead letters held, per peer (issue 17) */
        uint64_t started_ms;            /* loop time the node started */
        bool stopping;                  /* probes waiting give up */
};

/** `status`, from memory (control_add_from_memory). */
extern const struct control_command nodectl_memory_commands[];
extern const struct control_command nodectl_commands[];

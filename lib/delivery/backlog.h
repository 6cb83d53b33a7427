/* backlog: what waits for each peer (issue 17, fault 5).
 *
 * While a peer is away its changes wait in this node's outbox (store and
 * forward): lawful, and lost by nobody, but an operator must know how
 * much and for how long. Every sweep (node.c) counts, per peer, the
 * changes numbered and not acknowledged and the age of the oldest, from
 * outbox_seq and the outbox's first row (the primary key's first entry:
 * no scan of what waits). Past [link] backlog_alarm_seconds the peer's
 * link raises an alarm: an error in the log, `backlog.alarm` in status,
 * and a `link.backlog.alarm` record in this node's access log, whose copies go
 * up the tree (for a child away, at once; for the parent away, when it is
 * back). Its end is logged and recorded (`link.backlog.cleared`). */
#pragma once

#include "delivery/delivery.h"

/** Count again (one count in flight at a time). */
void backlog_sweep(struct delivery *d);

/* emergency: forced linkage of private systems (Art 13, 19).
 *
 * A commander at the city or a district declares an emergency over a
 * subtree (optionally a point and a radius) for a bounded time
 * (`emergency declare`). The order travels down like a grant: the command
 * sends what it stamped (a crash-safe sweep), districts keep it and forward
 * it to the children in scope (schema: emergency_apply), so a station that
 * is offline gets it when it returns. Each station in scope acks in the
 * transaction that keeps the order (schema: emergency_receive), then, once
 * [emergency] link_delay_ms have passed (emergency_act_soon), probes
 * the reserved interface of every private system in scope (lib/rtsp, a
 * bounded pool), records the linkages and failures a few at a time, each
 * batch with a progress report up; `emergency status` at the command shows, per station, acked, linked,
 * failed, and who has not answered. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "control/control.h"
#include "vigil.pb-c.h"

struct node;
struct db_tx;
struct rtsp_pool;

/** Send down the orders declared here and not yet sent. */
void emergency_dispatch(struct node *n);
/** At a station: act on the orders received and not yet acted on. */
void emergency_act(struct node *n);
/** The live orders covering a child, for its snapshot ($1: the child's ID). */
extern const char emergency_snapshot_select[];
/** Encode row I of an emergency_snapshot_select result as an EmergencyOrder
 *  change. Caller owns *RET. */
int emergency_encode_row(const PGresult *res, int i, uint8_t **ret, size_t *ret_len);
/** Add to TX the statement applying an EmergencyOrder (from the parent) or
 *  EmergencyReport (from a child) change C, bytes CHANGE, via VIA, at node
 *  N (a station acks an order in the same transaction). -EBADMSG with a
 *  reason in ERR if malformed. */
int emergency_replica_add(struct node *n, struct db_tx *tx, const Vigil__Change *c, const char *via,
                          const char *uplink, const uint8_t *change, size_t len, char *err, size_t errlen);
/** At a station, once the transaction that kept and acked an order has
 *  committed: link its systems [emergency] link_delay_ms later. */
void emergency_act_soon(struct node *n);
/** Free what the module holds (the probe pool, the delay's timer). */
void emergency_close(struct node *n);

extern const struct control_command emergency_commands[];

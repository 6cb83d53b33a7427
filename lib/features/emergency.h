/* emergency: forced linkage of private systems (Art 13, 19).
 *
 * A commander at the city or a district declares an emergency over a
 * subtree (optionally a point and a radius) for a bounded time
 * (`emergency declare`, control/emergencyctl.c). The order travels down
 * like a grant: the command sends what it stamped (a crash-safe sweep),
 * districts keep it and forward it to the children in scope (schema:
 * emergency_apply), so a station that is offline gets it when it returns.
 * Each station in scope acks in the transaction that keeps the order
 * (schema: emergency_receive), then, once [emergency] link_delay_ms have
 * passed (emergency_act_soon), probes the reserved interface of every
 * private system in scope (transport/rtsp, a bounded pool), records the
 * linkages and failures a few at a time, each batch with a progress
 * report up; `emergency status` at the command shows, per station, acked,
 * linked, failed, and who has not answered. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/keys.h"
#include "base/runonce.h"
#include "delivery/delivery.h"
#include "features/audit.h"
#include "features/credentials.h"
#include "vigil.pb-c.h"

struct rtsp_pool;

struct emergency {
        struct delivery *d;
        struct audit *audit;            /* the station's log goes up with its linkages */
        int link_delay_ms;              /* [emergency] link_delay_ms */
        unsigned order_note;            /* an applying transaction acked an order */
        struct runonce dispatching, acting;
        uv_timer_t link_timer;          /* link_delay_ms after an ack */
        bool timer_init, stopping;
        struct rtsp_pool *rtsp;         /* reserved interfaces being probed (stations) */
        unsigned long refused;          /* orders from above refused: unsigned, forged, beyond the signer */
        struct credentials creds;       /* theirs, sealed (stations) */
        struct emergency_job *jobs;     /* orders being acted on (emergency_act.c) */
};

/** Set E up on D: the EmergencyOrder kind (from the parent), the
 *  EmergencyReport kind (from children), the orders' snapshot section (down)
 *  and a listener that acts on orders at a station. AUDIT and KEYS (its
 *  credentials key seals the interfaces' credentials) are borrowed. */
void emergency_init(struct emergency *e, struct delivery *d, struct audit *audit, const struct node_keys *keys);
/** Send down the orders declared here and not yet sent. */
void emergency_dispatch(struct emergency *e);
/** At a station: act on the orders received and not yet acted on, and undo
 *  the linkages of those ended or expired. */
void emergency_act(struct emergency *e);
/** At a station, once the transaction that kept and acked an order has
 *  committed: link its systems [emergency] link_delay_ms later. */
void emergency_act_soon(struct emergency *e);
/** Stop: probes in flight end (cancelled), the timer closes. */
void emergency_close(struct emergency *e);

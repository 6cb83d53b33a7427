/* stream_gate: what a ticket means at the station's RTSP gate (Art 19,
 * 29(2), 23(5)). The protocol is transport/gate.c's; this half decides.
 *
 * A player opens rtsp://GATE/t/TOKEN, TOKEN being the ticket the station
 * signed when it granted a view (features/view.c). The gate opens the
 * camera's stream only if
 *   - TOKEN is a ticket this station signed, unaltered, not expired
 *     (wire/ticket.h, checked on the loop), and no other session holds it;
 *   - its basis still holds, asked of the database (schema/functions/
 *     gate.sql gate_open): the grant live and not revoked and naming this
 *     officer, unit and key, camera and action; or the emergency still on,
 *     naming them, covering the camera and time, and a private system
 *     still linked under it (Art 13).
 * Then the gate connects to the camera's own address with the credentials
 * held here (sealed at rest, opened on the loop: features/credentials.h);
 * neither ever reaches the player. While the session lasts, a check every
 * STREAM_GATE_CHECK_MS closes it at the ticket's expiry, or as soon as its
 * basis no longer holds (revoked, ended, unlinked). Every open, refusal
 * and close is a record in the station's access log (gate.open, gate.close:
 * ticket, officer, client address, bytes, duration, why it ended), sent up
 * with the rest. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/config.h"
#include "base/keys.h"
#include "features/audit.h"
#include "features/credentials.h"
#include "transport/gate.h"

#define STREAM_GATE_CHECK_MS 1000
/* Sessions fail closed: when the database has not confirmed their basis
 * for this long (down, or too slow), they end; a revocation it holds
 * would otherwise go unheard until the tickets expire. */
#define STREAM_GATE_CHECK_GRACE_MS 10000
/* At most this many sessions open or being decided; more get 503. */
#define STREAM_GATE_MAX_SESSIONS 512
/* Refusals being written at once; beyond, a flood of bad tokens (a port
 * scanner, an attack) is counted and summed up in one record, so that it
 * cannot hold back the database the revocations come through. */
#define STREAM_GATE_MAX_PENDING_REFUSALS 16

struct db;
struct stream_gate_ticket;
struct stream_gate_binding;

struct stream_gate {
        uv_loop_t *loop;
        const struct config *cfg;
        const struct node_keys *keys;
        struct audit *audit;
        struct db *db;
        struct credentials creds;
        struct gate *gate;                      /* NULL: no [gate] here */
        struct stream_gate_ticket *tickets;     /* every session asked of, admitted or being decided */
        struct stream_gate_binding *bindings;   /* each ticket opened, to the address that opened it */
        unsigned sessions;                      /* in tickets */
        uv_timer_t check;
        bool check_init, checking;
        uint64_t checked_ms;                    /* when the database last confirmed the sessions (uv_now) */
        unsigned pending_refusals;
        unsigned long unrecorded_refusals;      /* beyond STREAM_GATE_MAX_PENDING_REFUSALS, not yet summed up */
        /* counters, for `status` */
        unsigned long refused_token, refused_basis, refused_busy, refused_unavailable, closed_expired, closed_basis,
                closed_unchecked;
};

/** Start the gate of a station whose [gate] section names one (else
 *  nothing: 0). CFG, KEYS, AUDIT and DB are borrowed. 0, or a libuv error
 *  with a sentence in ERR. */
int stream_gate_start(struct stream_gate *sg, uv_loop_t *loop, const struct config *cfg,
                      const struct node_keys *keys, struct audit *audit, struct db *db, char *err, size_t errlen);
/** Close every session (each on record as it ends, if the database is
 *  still up) and the listener. */
void stream_gate_stop(struct stream_gate *sg);
/** Stop using the database (the node is stopping: it goes first). */
void stream_gate_forget_db(struct stream_gate *sg);

/** For `status`: the gate's counters as JSON (jansson json_t *), or NULL
 *  if there is no gate here. */
void *stream_gate_status(const struct stream_gate *sg);

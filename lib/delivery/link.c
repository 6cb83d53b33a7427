/* link: a session's life. The transport (uplink, downlink) starts one
 * when its handshake is done and ends it when the peer goes away or a
 * transaction fails; both state machines (link.h) start and end with it. */
#include "delivery/link-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"
#include "wire/wire.h"

const char *link_dir_name(const struct link *l)
{
        return l->dir == LINK_TO_PARENT ? "up" : "down";
}

struct link_ctx *link_ctx_new(struct link *l)
{
        struct link_ctx *c = calloc(1, sizeof(*c));

        vigil_require(c != NULL);
        c->l = l;
        c->session_id = l->session_id;
        c->apply_gen = l->in.apply_gen;
        return c;
}

bool link_ctx_stale(const struct link_ctx *c)
{
        return c->session_id != c->l->session_id || !link_in_session(c->l);
}

bool link_apply_ctx_stale(const struct link_ctx *c)
{
        return link_ctx_stale(c) || c->apply_gen != c->l->in.apply_gen;
}

void link_init(struct link *l, struct link_set *set, enum link_dir dir, const char *peer_id)
{
        memset(l, 0, sizeof(*l));
        l->set = set;
        l->dir = dir;
        snprintf(l->peer_id, sizeof(l->peer_id), "%s", peer_id);
}

/* Whatever a session leaves behind, at its start and end. */
static void link_forget_session(struct link *l)
{
        l->out.reading = l->out.deleting = false;
        l->out.snap.reading = false;
        /* A resend asked for in one session means nothing in the next; the
         * receiver must ask again for the same gap (issue 17). */
        l->out.resend_from = 0;
        l->out.base = 0;
        l->out.idle_seen = l->out.peer_busy = false;
        l->out.idle_ticks = l->out.stall_ticks = 0;
        l->in.resend_asked = 0;
        l->in.resend_ticks = l->in.stall_ticks = 0;
        l->in.snap_end = false;
        l->in.heard = false;
        l->in.flooded = false;
        l->in.quiet_ticks = 0;
        free(l->out.snap.cursor);
        l->out.snap.cursor = NULL;
        link_inbox_clear(l);
}

void link_deinit(struct link *l)
{
        link_forget_session(l);
        l->out.state = LINK_SEND_OFF;
        l->in.state = LINK_RECV_OFF;
        l->session_id++;
}

bool link_in_session(const struct link *l)
{
        return l->in.state != LINK_RECV_OFF;
}

uint64_t link_applied(const struct link *l)
{
        return l->in.applied;
}

uint64_t link_acked(const struct link *l)
{
        return l->out.acked;
}

const char *link_peer_state(const struct link *l, uint64_t *ret_applied)
{
        if (!l->in.have_state)
                return NULL;
        *ret_applied = l->in.applied;
        return l->in.peer_epoch;
}

int link_send(struct link *l, Vigil__Envelope *env)
{
        int r = l->send(l, env);

        if (r == 0)
                l->sent++;
        if (env->body_case == VIGIL__ENVELOPE__BODY_DELTA || env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN ||
            env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK || env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_END)
                l->out.sent_tick = l->out.ticks;   /* an idle Ack may cross it (link_on_ack) */
        return r;
}

int link_send_envelope(struct link *l, Vigil__Envelope *env)
{
        if (!link_in_session(l))
                return -ENOTCONN;
        return link_send(l, env);
}

void link_resync(struct link *l, const char *why)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Error e = VIGIL__ERROR__INIT;

        log_warn("link", "peer=%s dir=%s msg=\"resynchronising\" reason=\"%s\"",
                 l->peer_id, link_dir_name(l), why);
        e.has_code = 1;
        e.code = LINK_ERROR_RESYNC;
        e.message = "resynchronise";
        env.body_case = VIGIL__ENVELOPE__BODY_ERROR;
        env.error = &e;
        link_send(l, &env);
        link_session_end(l);
}

static void link_on_loaded(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        PGresult *res = db_tx_result(tx, 0);

        if (err == 0) {
                PGresult *a = db_tx_result(tx, 1);
                l->out.assigned = a && PQntuples(a) == 1 ? strtoull(PQgetvalue(a, 0, 0), NULL, 10) : 0;
                l->out.assigned_known = a && PQntuples(a) == 1;
                a = db_tx_result(tx, 2);
                l->out.first_held = a && PQntuples(a) == 1 ? strtoull(PQgetvalue(a, 0, 0), NULL, 10) : 0;
        }
        if (err == 0 && PQntuples(res) == 1) {
                snprintf(l->in.peer_epoch, sizeof(l->in.peer_epoch), "%s", PQgetvalue(res, 0, 0));
                l->in.applied = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
                l->in.have_state = true;
        } else if (err == 0) {
                l->in.peer_epoch[0] = '\0';
                l->in.applied = 0;
                l->in.have_state = false;
        } else {
                log_warn("link", "peer=%s msg=\"cannot read applied sequence\" reason=\"%s\"", l->peer_id, msg);
        }
        c->loaded(l, err, c->arg);
        free(c);
}

void link_load(struct link *l, link_loaded_cb cb, void *arg)
{
        struct db_tx *tx = db_tx_new();
        struct link_ctx *c = link_ctx_new(l);
        const char *p[1] = { l->peer_id };

        c->loaded = cb;
        c->arg = arg;
        db_tx_add(tx, "SELECT epoch, last_seq FROM applied_seq WHERE peer_id = $1", 1, p, NULL, NULL);
        db_tx_add(tx, "SELECT coalesce((SELECT last_seq FROM outbox_seq WHERE peer_id = $1), 0)", 1, p, NULL, NULL);
        db_tx_add(tx, "SELECT seq FROM outbox WHERE peer_id = $1 ORDER BY last_seq LIMIT 1", 1, p, NULL, NULL);
        db_submit(l->set->db, tx, link_on_loaded, c);
}

void link_session_start(struct link *l, const char *peer_epoch, bool peer_has_our_state,
                        uint64_t peer_applied)
{
        /* Issue 17, fault 3: the peer holds our state further than this
         * database ever numbered it. Trusting it would skip (and trim) the
         * changes numbered anew from here (grants, revocations, access-log
         * copies): no session in this epoch. */
        if (l->set->renewing || (l->out.assigned_known && peer_has_our_state && peer_applied > l->out.assigned)) {
                if (!l->set->renewing)
                        link_set_restored(l->set, l, peer_applied);
                return;
        }
        link_forget_session(l);
        l->session_id++;
        /* Receiving: our stored state counts only in the peer's current epoch. */
        if (!l->in.have_state || strcmp(l->in.peer_epoch, peer_epoch) != 0) {
                l->in.have_state = false;
                l->in.applied = 0;
        }
        snprintf(l->in.peer_epoch, sizeof(l->in.peer_epoch), "%s", peer_epoch);
        l->in.inbox_last = l->in.applied;
        l->in.applied_at_tick = l->in.applied;   /* progress counts from here */
        l->in.progress_at_tick = l->in.progress;
        l->out.progress_at_tick = l->out.progress;
        l->in.state = l->in.have_state ? LINK_RECV_DELTAS : LINK_RECV_WAITING;
        /* Sending. The peer lacks changes this outbox no longer holds
         * (trimmed once acknowledged, and then the peer's database was
         * restored from a backup: issue 17, fault 3): only a snapshot
         * brings them back. With rows left the first read finds the hole;
         * with none it would find nothing, and send nothing, for ever. */
        if (peer_has_our_state && l->out.assigned_known && peer_applied < l->out.assigned &&
            (l->out.first_held == 0 || l->out.first_held > peer_applied + 1)) {
                log_warn("link", "peer=%s dir=%s peer_applied=%" PRIu64 " first_held=%" PRIu64 " msg=\"the peer "
                         "lacks changes no longer held here (its database restored?): sending a snapshot\"",
                         l->peer_id, link_dir_name(l), peer_applied, l->out.first_held);
                peer_has_our_state = false;
        }
        if (peer_has_our_state) {
                l->out.state = LINK_SEND_DELTAS;
                l->out.next = peer_applied + 1;
                l->out.acked = peer_applied;
        } else {
                l->out.state = LINK_SEND_SNAPSHOT_DUE;
                l->out.next = 0;
                l->out.acked = 0;
        }
        l->out.deleted = 0;
        l->out.more = true;
        log_info("link", "peer=%s dir=%s msg=\"streaming\" next_send=%" PRIu64 " applied=%" PRIu64
                 " snapshot_out=%s snapshot_in=%s", l->peer_id, link_dir_name(l), l->out.next,
                 l->in.applied, l->out.state == LINK_SEND_SNAPSHOT_DUE ? "yes" : "no",
                 l->in.have_state ? "no" : "expected");
        link_pump_send(l);
}

void link_session_end(struct link *l)
{
        if (!link_in_session(l))
                return;
        l->out.state = LINK_SEND_OFF;
        l->in.state = LINK_RECV_OFF;
        l->session_id++;
        link_forget_session(l);
}

unsigned link_stall_ticks(const struct link *l)
{
        const struct config *cfg = l->set->cfg;
        long s = cfg->stall_seconds > 0 ? cfg->stall_seconds : LINK_STALL_SECONDS;
        long beat = cfg->heartbeat_ms > 0 ? cfg->heartbeat_ms : 1000;
        long ticks = (s * 1000 + beat - 1) / beat;

        return ticks < 2 ? 2 : (unsigned)ticks;
}

/* Issue 17, known fault 2: heartbeats kept a stalled link "online".
 * SIDE had work outstanding and made no progress for stall_seconds. */
static void link_stalled(struct link *l, const char *side)
{
        l->stalls++;
        log_warn("link", "peer=%s dir=%s side=%s msg=\"no progress, resynchronising\" ticks=%u next=%" PRIu64
                 " acked=%" PRIu64 " chunks_unacked=%d applied=%" PRIu64 " queued=%d applying=%d gap=%" PRIu64
                 " stalls=%lu", l->peer_id, link_dir_name(l), side, link_stall_ticks(l), l->out.next, l->out.acked,
                 l->out.state == LINK_SEND_SNAPSHOT_PAGES ? l->out.snap.unacked : 0, l->in.applied,
                 l->in.inbox_len, l->in.applying, l->in.resend_asked, l->stalls);
        link_resync(l, "no progress");
}

void link_tick(struct link *l)
{
        bool quiet = l->out.reads == l->out.reads_at_tick;

        l->out.reads_at_tick = l->out.reads;
        if (++l->out.ticks % LINK_TRIM_TICKS == 0)
                l->out.trim_due = true;
        /* The heartbeat's read is a safety net for a change committed
         * without a kick; a link that read since the last beat has no
         * need of it (and under an emergency, such a read in flight made
         * the order's read wait behind it: link_read_in). */
        if (quiet || l->out.trim_due)
                link_kick(l);
        if (!link_in_session(l))
                return;
        if (link_send_tick(l))
                link_stalled(l, "send");
        else if (link_recv_tick(l))
                link_stalled(l, "receive");
}

void link_kick(struct link *l)
{
        l->out.more = true;
        l->out.kicks++;
        link_pump_send(l);
}

void link_receive(struct link *l, Vigil__Envelope *env)
{
        l->received++;
        if (!link_in_session(l)) {
                wire_envelope_free(env);
                return;
        }
        switch (env->body_case) {
        case VIGIL__ENVELOPE__BODY_ACK:
                link_on_ack(l, env->ack);
                wire_envelope_free(env);
                return;
        case VIGIL__ENVELOPE__BODY_RESEND_REQUEST:
                link_on_resend_request(l, env->resend_request->from_seq);
                wire_envelope_free(env);
                return;
        case VIGIL__ENVELOPE__BODY_DELTA:
                l->in.heard = true;
                link_receive_delta(l, env);
                break;
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_END:
                l->in.heard = true;
                if (!link_receive_snapshot(l, env))
                        return;
                break;
        default:
                wire_envelope_free(env);
                return;
        }
        link_pump_apply(l);
}

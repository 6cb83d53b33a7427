/* link_recv: the receiver. Deltas are queued in order (a duplicate is
 * dropped, a gap asks for a resend, again on the heartbeat until filled)
 * and applied in batches of up to
 * LINK_BATCH changes per transaction, each beginning with link_accept(),
 * which raises unless the batch follows exactly what was applied, so
 * nothing is applied twice or out of order even if the daemon errs. Up to
 * LINK_APPLY_DEPTH transactions are pipelined on the one connection; if
 * one fails, the later ones fail at their link_accept and the link
 * resynchronises. Each committed batch is acked cumulatively. */
#include "delivery/link-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/vtime.h"
#include "db/db.h"
#include "wire/wire.h"

void link_inbox_clear(struct link *l)
{
        struct link_item *it;

        while ((it = l->in.inbox)) {
                l->in.inbox = it->next;
                wire_envelope_free(it->env);
                free(it);
        }
        l->in.inbox_tail = NULL;
        l->in.inbox_len = 0;
        l->in.cursor = NULL;
        l->in.unsubmitted = l->in.unsubmitted_other = 0;
        l->in.applying = 0;
        l->in.step_inflight = false;
}

void link_inbox_pop(struct link *l, int n)
{
        while (n-- > 0 && l->in.inbox) {
                struct link_item *it = l->in.inbox;
                l->in.inbox = it->next;
                if (!l->in.inbox)
                        l->in.inbox_tail = NULL;
                l->in.inbox_len--;
                wire_envelope_free(it->env);
                free(it);
        }
}

void link_enqueue(struct link *l, Vigil__Envelope *env, uint32_t skip, uint32_t n)
{
        struct link_item *it = malloc(sizeof(*it));

        vigil_require(it != NULL);
        it->next = NULL;
        it->env = env;
        it->skip = skip;
        it->n = n;
        if (l->in.inbox_tail)
                l->in.inbox_tail->next = it;
        else
                l->in.inbox = it;
        l->in.inbox_tail = it;
        l->in.inbox_len++;
        l->in.unsubmitted += n;
        if (env->body_case != VIGIL__ENVELOPE__BODY_DELTA)
                l->in.unsubmitted_other++;
        if (!l->in.cursor)
                l->in.cursor = it;
}

static void link_ask_resend(struct link *l, uint64_t from_seq)
{
        Vigil__Envelope r = VIGIL__ENVELOPE__INIT;
        Vigil__ResendRequest rr = VIGIL__RESEND_REQUEST__INIT;

        l->in.resend_asked = from_seq;
        l->in.resend_ticks = 0;
        rr.has_from_seq = 1;
        rr.from_seq = from_seq;
        r.body_case = VIGIL__ENVELOPE__BODY_RESEND_REQUEST;
        r.resend_request = &rr;
        link_send(l, &r);
}

void link_receive_delta(struct link *l, Vigil__Envelope *env)
{
        uint64_t expected = l->in.inbox_last + 1, count;

        if (l->in.state == LINK_RECV_WAITING) {
                /* No state of the peer yet: a snapshot is on its way. */
                wire_envelope_free(env);
                return;
        }
        count = wire_delta_count(env->delta);
        if (!env->has_seq || env->seq + count - 1 < expected) {
                l->duplicates++;
                wire_envelope_free(env);
                return;
        }
        if (l->in.state == LINK_RECV_SNAPSHOT && !l->in.snap_end) {
                /* The sender sends what follows the snapshot after its
                 * SnapshotEnd: that was lost, and the snapshot would never
                 * end (issue 17). */
                wire_envelope_free(env);
                link_resync(l, "a Delta after the snapshot before its SnapshotEnd (lost)");
                return;
        }
        if (env->seq > expected) {
                l->gaps++;
                wire_envelope_free(env);
                if (l->in.resend_asked == expected)
                        return;  /* asked; asked again on the heartbeat (link_recv_tick) */
                log_warn("link", "peer=%s msg=\"gap, asking for a resend\" expected=%" PRIu64,
                         l->peer_id, expected);
                link_ask_resend(l, expected);
                return;
        }
        /* A resend may overlap what is queued: take the changes after it. */
        l->in.progress++;
        l->in.inbox_last = env->seq + count - 1;
        link_enqueue(l, env, (uint32_t)(expected - env->seq), (uint32_t)(env->seq + count - expected));
}

void link_ack(struct link *l, uint64_t seq)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_seq = 1;
        a.seq = seq;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        link_send(l, &env);
}

/* What we apply from L may be forwarded in the same transaction: a
 * child's changes into our uplink outbox, a parent's grants and orders
 * into our children's, and at a station an order's ack back up the link it
 * came by (emergency_receive). Those outboxes are read in TX too, so that the
 * changes go on the moment it commits, without a read of their own
 * (a hop's round trip less on the way of an emergency order and its ack). */
static void link_read_forwarded_in(struct link *l, struct db_tx *tx)
{
        if (l->dir == LINK_TO_CHILD) {
                link_set_read_parent_in(l->set, tx);
        } else {
                link_set_read_children_in(l->set, tx);
                if (l->set->cfg->tier == TIER_STATION)
                        link_read_in(l, tx);
        }
}

/* A gap asked for and not filled yet. */
static bool link_gap_open(const struct link *l)
{
        return l->in.resend_asked != 0 && l->in.resend_asked == l->in.inbox_last + 1 &&
               l->in.state != LINK_RECV_WAITING;
}

/* An idle receiver's Ack: what it applied (and of a snapshot, the chunks),
 * moving nothing at the sender unless the Ack that did was lost; a sender
 * short of `next` then sends again what it sent last (link_send_tick). */
static void link_ack_idle(struct link *l)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_seq = 1;
        a.seq = l->in.applied;
        if (l->in.state == LINK_RECV_SNAPSHOT) {
                a.has_snapshot_chunk_seq = 1;
                a.snapshot_chunk_seq = l->in.snap_applied;
        }
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        link_send(l, &env);
}

/* Applying what the peer sent, and nothing committed since the last
 * beat: a long transaction (a lock held, a big snapshot step). Said, so
 * that the sender does not take the silence for a stall. */
static void link_ack_busy(struct link *l)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_busy = 1;
        a.busy = 1;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        link_send(l, &env);
}

bool link_recv_tick(struct link *l)
{
        bool moved = l->in.progress != l->in.progress_at_tick || l->in.applied != l->in.applied_at_tick;
        bool gap = link_gap_open(l);
        bool busy = l->in.applying > 0 || l->in.gather_open;
        bool outstanding;

        l->in.progress_at_tick = l->in.progress;
        l->in.applied_at_tick = l->in.applied;
        if (gap && ++l->in.resend_ticks >= LINK_RESEND_TICKS) {
                /* Asking once lost the gap for good when the request (or
                 * the resend) was lost (issue 17). */
                log_info("link", "peer=%s msg=\"gap, asking again\" expected=%" PRIu64, l->peer_id,
                         l->in.resend_asked);
                link_ask_resend(l, l->in.resend_asked);
        }
        /* Idle, once the peer sent us something this session: said on the
         * first beat after the last thing moved, then ever more rarely (1, 3,
         * 7, 15 ... beats on), lest that Ack be lost. */
        if (moved)
                l->in.quiet_ticks = 0;
        else if (l->in.quiet_ticks < (1u << 30))
                l->in.quiet_ticks++;
        if (!gap && !busy && !l->in.cursor && l->in.heard && (l->in.quiet_ticks & (l->in.quiet_ticks + 1)) == 0)
                link_ack_idle(l);
        else if (busy && !moved)
                link_ack_busy(l);
        /* A transaction in flight is the database's work; queued items
         * nothing applies, a gap, or a snapshot whose next step does not
         * come are stalls. */
        outstanding = !busy && (gap || l->in.cursor || l->in.state == LINK_RECV_SNAPSHOT);
        if (moved || !outstanding || !db_is_up(l->set->db)) {
                l->in.stall_ticks = 0;
                return false;
        }
        return ++l->in.stall_ticks >= link_stall_ticks(l);
}

void link_after_apply(struct link *l, const struct db_tx *tx)
{
        if (l->dir == LINK_TO_CHILD) {
                /* A gathered transaction's parts hear of it before the
                 * uplink's read within it: kicked once, after them all
                 * (link_gather.c). */
                if (db_tx_id(tx) != l->set->gather_sent)
                        link_set_kick_parent_after(l->set, tx);
        } else {
                link_set_kick_children_after(l->set, tx);
                if (l->set->cfg->tier == TIER_STATION)
                        link_kick_after(l, tx);
        }
}

/* Tell the listeners (the features) what became of a transaction applying
 * what L's peer sent. */
void link_tell_submitted(struct link *l, unsigned notes)
{
        struct link_set *s = l->set;
        int i;

        for (i = 0; i < s->n_listeners; i++)
                if (s->listeners[i].submitted)
                        s->listeners[i].submitted(s->listeners[i].arg, l, notes);
}

static void link_tell_applied(struct link *l, unsigned notes)
{
        struct link_set *s = l->set;
        int i;

        for (i = 0; i < s->n_listeners; i++)
                if (s->listeners[i].applied)
                        s->listeners[i].applied(s->listeners[i].arg, l, notes);
}

void link_tell_snapshot_applied(struct link *l)
{
        struct link_set *s = l->set;
        int i;

        for (i = 0; i < s->n_listeners; i++)
                if (s->listeners[i].snapshot_applied)
                        s->listeners[i].snapshot_applied(s->listeners[i].arg, l);
}

/* Everything from the head of the inbox is to be applied again (the
 * transaction it went in failed, and nothing else of ours is in flight). */
static void link_rewind(struct link *l)
{
        struct link_item *it;

        l->in.cursor = l->in.inbox;
        l->in.unsubmitted = l->in.unsubmitted_other = 0;
        for (it = l->in.inbox; it; it = it->next) {
                l->in.unsubmitted += (int)it->n;
                if (it->env->body_case != VIGIL__ENVELOPE__BODY_DELTA)
                        l->in.unsubmitted_other++;
        }
}

static void link_on_applied(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        unsigned notes;

        if (link_apply_ctx_stale(c)) {
                free(c);
                return;
        }
        l->in.applying--;
        if (err == -EPROTO && c->gathered) {
                /* Maybe another child's batch failed it: apply ours again,
                 * alone (a failure then is ours). */
                log_warn("link", "peer=%s msg=\"applied with other children's, failed; applying alone\" "
                         "reason=\"%s\"", l->peer_id, msg);
                free(c);
                link_rewind(l);
                l->set->gather_off_us = vtime_now_us() + LINK_GATHER_OFF_US;
                link_pump_apply(l);
                return;
        }
        if (err) {
                free(c);
                if (err == -EPROTO)
                        link_resync(l, msg);
                /* -ECONNRESET: the transport resynchronises when the
                 * database is back. */
                return;
        }
        notes = c->notes;
        l->in.applied = c->last;
        l->applied_count += (unsigned long)(c->last - c->first + 1);
        link_inbox_pop(l, c->n_items);
        free(c);
        link_ack(l, l->in.applied);
        link_after_apply(l, tx);
        link_tell_applied(l, notes);
        link_pump_apply(l);
}

/* The deltas from the cursor on (at most LINK_BATCH changes) in one
 * transaction: link_accept, then each change through the kinds' table. */
static void link_apply_deltas(struct link *l)
{
        struct link_set *set = l->set;
        struct link_ctx *c = link_ctx_new(l);
        bool gather;
        struct db_tx *tx;
        struct link_item *it;
        char first[24], last[24], err[256];
        const char *p[4] = { l->peer_id, l->in.peer_epoch, first, last };
        struct change_batch *b;
        int n = 0, changes = 0;
        unsigned notes;

        c->first = l->in.cursor->env->seq + l->in.cursor->skip;
        for (it = l->in.cursor; it && it->env->body_case == VIGIL__ENVELOPE__BODY_DELTA &&
                            changes < LINK_BATCH; it = it->next) {
                c->last = it->env->seq + it->skip + it->n - 1;
                changes += (int)it->n;
                n++;
        }
        c->n_items = n;
        gather = link_gather_wanted(l, changes);
        tx = gather ? link_gather_tx(set) : db_tx_new();
        snprintf(first, sizeof(first), "%" PRIu64, c->first);
        snprintf(last, sizeof(last), "%" PRIu64, c->last);
        db_tx_add(tx, "SELECT link_accept($1, $2, $3, $4)", 4, p, NULL, NULL);
        b = change_batch_new(set->kinds, tx, l->peer_id, link_set_parent_id(set), l->dir == LINK_TO_PARENT, false);
        for (it = l->in.cursor; n-- > 0; it = it->next) {
                for (uint32_t k = it->skip; k < it->skip + it->n; k++) {
                        const ProtobufCBinaryData *d = wire_delta_change(it->env->delta, k);
                        if (change_batch_add(b, d->data, d->len, err, sizeof(err)) < 0) {
                                /* A change the peer may not send: counted, logged,
                                 * skipped; its sequence number is still consumed. */
                                l->bad_changes++;
                                log_warn("link", "peer=%s seq=%" PRIu64 " msg=\"change refused\" reason=\"%s\"",
                                         l->peer_id, it->env->seq + k, err);
                        }
                }
        }
        c->notes = change_batch_finish(b);
        l->in.cursor = it;
        l->in.unsubmitted -= changes;
        l->in.applying++;
        if (gather) {
                link_gather_add(l, tx, c, link_on_applied);
                return;
        }
        notes = c->notes;   /* C may be gone once submitted */
        link_read_forwarded_in(l, tx);
        db_submit(set->db, tx, link_on_applied, c);
        /* What the listeners queue now runs right behind TX on the
         * connection, as it commits, without a round trip in between (at
         * a station: undoing what an ended emergency linked). */
        link_tell_submitted(l, notes);
}

/* Queued and submitted items are counted, so that checking the queue on
 * every received delta does not walk it. */
static bool link_full_batch_waiting(const struct link *l)
{
        return l->in.unsubmitted >= LINK_BATCH || l->in.unsubmitted_other > 0;
}

/* Batches of deltas are pipelined: up to LINK_APPLY_DEPTH transactions in
 * flight on the one connection, committed in order. Snapshot steps run one
 * at a time. */
void link_pump_apply(struct link *l)
{
        while (link_in_session(l) && l->in.cursor && db_is_up(l->set->db) && !l->in.step_inflight &&
               l->in.applying < LINK_APPLY_DEPTH && !l->in.gather_open) {
                if (l->in.cursor->env->body_case == VIGIL__ENVELOPE__BODY_DELTA) {
                        /* While a transaction is in flight, a short batch waits
                         * for more deltas: fewer, fuller transactions (each
                         * costs a commit and a statement per kind) when
                         * deltas stream in; an idle link applies at once. */
                        if (l->in.applying > 0 && !link_full_batch_waiting(l))
                                return;
                        link_apply_deltas(l);
                } else {
                        if (l->in.applying == 0)
                                link_apply_snapshot_item(l);
                        return;
                }
        }
}

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
#include "delivery/deadletter.h"
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
        l->in.careful_until = 0;
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
        uint64_t expected = l->in.inbox_last + 1, count, base;

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
        /* Queued past what is applied (or the snapshot being applied). */
        base = l->in.applied > l->in.snap_seq || l->in.state != LINK_RECV_SNAPSHOT ? l->in.applied : l->in.snap_seq;
        if (l->in.inbox_last + count - base > (uint64_t)LINK_INBOX_WINDOWS * (uint64_t)l->set->cfg->window) {
                l->beyond_window++;
                if (!l->in.flooded)
                        log_warn("link", "peer=%s msg=\"deltas past the window: dropped, asked for again when "
                                 "there is room\" queued=%" PRIu64 " window=%d", l->peer_id,
                                 l->in.inbox_last - base, l->set->cfg->window);
                l->in.flooded = true;
                wire_envelope_free(env);
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

static void link_on_applied(void *arg, struct db_tx *tx, int err, const char *msg);

/* SQLSTATE classes of a failure that says nothing of the change: the
 * connection, a serialisation failure or deadlock, resources, a lock, an
 * operator, the system. The same change may well apply next time. */
static bool link_sqlstate_transient(const char *state)
{
        static const char *const classes[] = { "08", "40", "53", "55", "57", "58", "XX" };
        size_t i;

        if (!state || strlen(state) != 5)
                return false;
        for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
                if (strncmp(state, classes[i], 2) == 0)
                        return true;
        return false;
}

/* Whether TX, applying C's batch alone, failed at one of its changes for a
 * reason of theirs (issue 17): not at its link_accept (out of order: the
 * link resynchronises), not holding a dead letter, not transient. */
static bool link_failed_at_change(const struct link_ctx *c, struct db_tx *tx)
{
        int i;

        if (c->hold || c->gathered)
                return false;
        for (i = 0; i < c->stmt_end; i++) {
                PGresult *r = db_tx_result(tx, i);
                if (r && PQresultStatus(r) == PGRES_FATAL_ERROR)
                        return i >= c->stmt_first && !link_sqlstate_transient(PQresultErrorField(r, PG_DIAG_SQLSTATE));
        }
        return false;
}

/* Hold the change at the head of the inbox, SEQ, as a dead letter for WHY,
 * in a transaction that also consumes its sequence number (link_accept):
 * it is consumed once, held or applied, never both; then the link goes on.
 * Nothing else of ours is in flight. */
static void link_hold_head(struct link *l, uint64_t seq, const char *why)
{
        struct link_item *it = l->in.inbox;
        struct link_ctx *c;
        struct db_tx *tx;
        const ProtobufCBinaryData *d;
        char s[24], reason[600];
        const char *p[4] = { l->peer_id, l->in.peer_epoch, s, s };

        if (!it || it->env->body_case != VIGIL__ENVELOPE__BODY_DELTA || it->env->seq + it->skip != seq) {
                link_resync(l, why);   /* cannot be: the head is what failed */
                return;
        }
        d = wire_delta_change(it->env->delta, it->skip);
        c = link_ctx_new(l);
        c->first = c->last = seq;
        c->hold = true;
        if (it->n == 1)
                c->n_items = 1;
        else
                c->part = 1;
        snprintf(s, sizeof(s), "%" PRIu64, seq);
        snprintf(reason, sizeof(reason), "applying it failed: %s", why);
        l->bad_changes++;
        log_error("link", "peer=%s seq=%" PRIu64 " msg=\"change fails alone, held as a dead letter; the link goes "
                  "on\" reason=\"%s\"", l->peer_id, seq, why);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT link_accept($1, $2, $3, $4)", 4, p, NULL, NULL);
        deadletter_hold_add(tx, l->peer_id, l->in.peer_epoch, seq, d->data, d->len,
                            change_kind_name(l->set->kinds, d->data, d->len), reason);
        c->stmt_first = c->stmt_end = db_tx_count(tx);
        /* Applied (popped) like any, behind nothing: careful until it is. */
        if (l->in.careful_until < seq)
                l->in.careful_until = seq;
        l->in.cursor = NULL;
        l->in.applying++;
        db_submit(l->set->db, tx, link_on_applied, c);
}

/* C's batch, applied alone, failed at one of its changes (issue 17): find
 * the change, without giving up the rest. Transactions of ours behind it
 * fail at their link_accept: forgotten (their callbacks are stale from
 * now). The range is applied again in halves, a half that fails halved
 * again, down to the one change that fails alone: that one is held as a
 * dead letter, and what follows it in the range goes in one transaction
 * again. Past the range, full batches. */
static void link_take_apart(struct link *l, struct link_ctx *c, const char *why)
{
        uint64_t span = c->last - c->first + 1, first = c->first;

        l->in.apply_gen++;
        l->in.applying = 0;
        free(c);
        link_rewind(l);
        if (span == 1) {
                link_hold_head(l, first, why);
                return;
        }
        if (l->in.careful_until < first + span - 1)
                l->in.careful_until = first + span - 1;
        l->in.careful_span = span / 2;
        log_warn("link", "peer=%s msg=\"a batch failed at one of its changes; applying it in parts to find it\" "
                 "first=%" PRIu64 " changes=%" PRIu64 " reason=\"%s\"", l->peer_id, first, span, why);
        link_pump_apply(l);
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
        if (err == -EPROTO && link_failed_at_change(c, tx)) {
                link_take_apart(l, c, msg);
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
        if (c->hold)
                l->dead_letters++;
        link_inbox_pop(l, c->n_items);
        if (c->part) {
                /* The rest of that Delta waits at the head. */
                l->in.inbox->skip += c->part;
                l->in.inbox->n -= c->part;
        }
        if (l->in.careful_until) {
                if (c->hold)
                        l->in.careful_span = LINK_BATCH;   /* the rest of the range, whole again */
                if (l->in.applied >= l->in.careful_until) {
                        log_info("link", "peer=%s msg=\"the failed batch is through; full batches again\" "
                                 "applied=%" PRIu64, l->peer_id, l->in.applied);
                        l->in.careful_until = 0;
                }
                link_rewind(l);   /* nothing else of ours was in flight */
        }
        free(c);
        link_ack(l, l->in.applied);
        link_after_apply(l, tx);
        link_tell_applied(l, notes);
        link_pump_apply(l);
}

/* A change of C's batch at SEQ (D) that the C checks refused (undecodable,
 * from the wrong side, refused by its kind, of a kind unknown here with
 * nowhere to forward it): held as a dead letter in the batch's
 * transaction, so its sequence number is consumed with the rest and it is
 * not lost either (issue 17). */
static void link_hold_refused(struct link *l, struct db_tx *tx, uint64_t seq, const ProtobufCBinaryData *d,
                              const char *why)
{
        l->bad_changes++;
        l->dead_letters++;
        log_error("link", "peer=%s seq=%" PRIu64 " msg=\"change refused, held as a dead letter\" reason=\"%s\"",
                  l->peer_id, seq, why);
        deadletter_hold_add(tx, l->peer_id, l->in.peer_epoch, seq, d->data, d->len,
                            change_kind_name(l->set->kinds, d->data, d->len), why);
}

/* A change of a kind unknown here from the parent, D: on down to every
 * child as it came, in the batch's transaction (store and forward), for
 * the stations that know it; where none does, it is a dead letter there
 * (issue 17). */
static void link_forward_down(struct link *l, struct db_tx *tx, const ProtobufCBinaryData *d)
{
        struct link_set *set = l->set;
        int i;

        for (i = 0; i < set->n_children; i++)
                change_forward(tx, set->children[i]->peer_id, d->data, d->len);
        l->forwarded_unknown++;
}

/* The deltas from the cursor on (at most LINK_BATCH changes; fewer while
 * a failed batch is taken apart) in one transaction: link_accept, then
 * each change through the kinds' table. */
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
        int n = 0, i, changes = 0, limit = LINK_BATCH;
        unsigned notes;

        c->first = l->in.cursor->env->seq + l->in.cursor->skip;
        if (l->in.careful_until) {
                uint64_t left = l->in.careful_until - c->first + 1;
                limit = (int)(left < l->in.careful_span ? left : l->in.careful_span);
        }
        for (it = l->in.cursor; it && it->env->body_case == VIGIL__ENVELOPE__BODY_DELTA &&
                            changes < limit; it = it->next) {
                uint32_t take = it->n;
                if (l->in.careful_until && changes + (int)take > limit)
                        c->part = take = (uint32_t)(limit - changes);   /* < it->n */
                c->last = it->env->seq + it->skip + take - 1;
                changes += (int)take;
                if (c->part)
                        break;
                n++;
        }
        c->n_items = n;
        gather = !l->in.careful_until && link_gather_wanted(l, changes);
        tx = gather ? link_gather_tx(set) : db_tx_new();
        snprintf(first, sizeof(first), "%" PRIu64, c->first);
        snprintf(last, sizeof(last), "%" PRIu64, c->last);
        db_tx_add(tx, "SELECT link_accept($1, $2, $3, $4)", 4, p, NULL, NULL);
        c->stmt_first = db_tx_count(tx);
        b = change_batch_new(set->kinds, tx, l->peer_id, link_set_parent_id(set), l->dir == LINK_TO_PARENT, false);
        for (it = l->in.cursor, i = 0; i < n + (c->part ? 1 : 0); i++) {
                uint32_t end = i < n ? it->skip + it->n : it->skip + c->part;
                for (uint32_t k = it->skip; k < end; k++) {
                        const ProtobufCBinaryData *d = wire_delta_change(it->env->delta, k);
                        int r;
                        change_batch_at(b, l->in.peer_epoch, it->env->seq + k);
                        r = change_batch_add(b, d->data, d->len, err, sizeof(err));
                        if (r < 0 && l->dir == LINK_TO_PARENT && set->n_children > 0 &&
                            change_batch_refused_unknown(b))
                                link_forward_down(l, tx, d);
                        else if (r < 0)
                                link_hold_refused(l, tx, it->env->seq + k, d, err);
                        else if (r == CHANGE_FORWARDED)
                                l->forwarded_unknown++;
                }
                if (i < n)
                        it = it->next;
        }
        c->notes = change_batch_finish(b);
        c->stmt_end = db_tx_count(tx);
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
                        /* Taking a failed batch apart: one transaction at
                         * a time, so that the one failing is the only one. */
                        if (l->in.careful_until && l->in.applying > 0)
                                return;
                        link_apply_deltas(l);
                } else {
                        if (l->in.applying == 0)
                                link_apply_snapshot_item(l);
                        return;
                }
        }
}

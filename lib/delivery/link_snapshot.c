/* link_snapshot: snapshots (Clone pattern, DESIGN.md "Delivery").
 *
 * Sending: a peer that holds none of our state gets one. The sender reads
 * the peer's outbox sequence S first, sends SnapshotBegin(S), then reads
 * its state a page at a time (delivery/snapshot.h: the sections the
 * features registered) and sends chunks, numbered 1, 2, ...; the receiver
 * acks each applied chunk (cumulatively: the next ack makes good a lost
 * one), and at most LINK_SNAPSHOT_WINDOW unapplied chunks are on the wire.
 * SnapshotEnd(S, items) follows the last at once (waiting for its ack
 * let one lost ack hold the snapshot for good); the deltas after S follow.
 *
 * Receiving: each step applies alone, in order. A chunk out of order (one
 * was lost), SnapshotEnd's items other than those that arrived, or a Delta
 * before SnapshotEnd (it was lost) resynchronises (issue 17): applying
 * SnapshotEnd would remove what the lost chunk held. SnapshotBegin forgets
 * what was applied (snapshot_begin()) and marks what came through the peer
 * (each section's table); chunks upsert and unmark; SnapshotEnd reads what
 * is still marked, then removes it, forwards the removals and stores S as
 * applied (snapshot_end()), in one transaction. */
#include "delivery/link-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/vtime.h"
#include "db/db.h"
#include "wire/wire.h"

/* --- sending --- */

static void link_send_chunks(struct link *l, uint8_t **changes, size_t *lens, size_t n)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__SnapshotChunk ch = VIGIL__SNAPSHOT_CHUNK__INIT;
        ProtobufCBinaryData items[LINK_SNAPSHOT_CHUNK];
        size_t i, k;

        for (i = 0; i < n; i += LINK_SNAPSHOT_CHUNK) {
                size_t m = n - i < LINK_SNAPSHOT_CHUNK ? n - i : LINK_SNAPSHOT_CHUNK;
                for (k = 0; k < m; k++) {
                        items[k].data = changes[i + k];
                        items[k].len = lens[i + k];
                }
                ch.n_changes = m;
                ch.changes = items;
                ch.has_seq = 1;
                ch.seq = ++l->out.snap.chunk_seq;
                env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK;
                env.snapshot_chunk = &ch;
                link_send(l, &env);
                l->out.snap.unacked++;
        }
}

/* Every page sent: SnapshotEnd, then the deltas after it (the window
 * counting from S: link_in_flight). */
static void link_snapshot_done(struct link *l)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__SnapshotEnd e = VIGIL__SNAPSHOT_END__INIT;

        e.has_seq = 1;
        e.seq = l->out.snap.seq;
        e.has_items = 1;
        e.items = l->out.snap.items;
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_END;
        env.snapshot_end = &e;
        link_send(l, &env);
        log_info("link", "peer=%s dir=%s msg=\"snapshot sent\" seq=%" PRIu64 " items=%" PRIu64,
                 l->peer_id, link_dir_name(l), l->out.snap.seq, l->out.snap.items);
        free(l->out.snap.cursor);
        l->out.snap.cursor = NULL;
        l->out.state = LINK_SEND_DELTAS;
        l->out.next = l->out.snap.seq + 1;
        l->out.base = l->out.snap.seq;
        l->out.more = true;
}

static void link_on_snapshot_page(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        uint8_t **changes = NULL;
        size_t *lens = NULL, n = 0, i;

        if (link_ctx_stale(c) || l->out.state != LINK_SEND_SNAPSHOT_PAGES) {
                free(c);
                return;
        }
        free(c);
        l->out.snap.reading = false;
        if (err || snapshot_page_encode(l->set->sections, l->out.snap.cursor, tx, LINK_SNAPSHOT_PAGE, &changes,
                                        &lens, &n) < 0) {
                /* Start over: the peer still has no state of ours. */
                log_warn("link", "peer=%s msg=\"cannot read snapshot\" reason=\"%s\"", l->peer_id,
                         err ? msg : "encoding failed");
                link_resync(l, "snapshot read failed");
                return;
        }
        link_send_chunks(l, changes, lens, n);
        l->out.snap.items += n;
        for (i = 0; i < n; i++)
                free(changes[i]);
        free(changes);
        free(lens);
        link_pump_send(l);
}

static void link_on_snapshot_seq(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__SnapshotBegin b = VIGIL__SNAPSHOT_BEGIN__INIT;
        PGresult *res = db_tx_result(tx, 0);

        if (link_ctx_stale(c)) {
                free(c);
                return;
        }
        free(c);
        if (err || !res || PQntuples(res) != 1) {
                log_warn("link", "peer=%s msg=\"cannot begin snapshot\" reason=\"%s\"", l->peer_id, err ? msg : "");
                l->out.state = LINK_SEND_SNAPSHOT_DUE;
                return;  /* retried on the next kick */
        }
        /* The sequence first, then the pages: whatever changes while the
         * pages are read is also in the deltas after it. */
        l->out.snap.seq = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        l->out.snap.items = 0;
        l->out.snap.unacked = 0;
        l->out.snap.chunk_seq = l->out.snap.chunks_acked = 0;
        l->out.snap.cursor = calloc(1, sizeof(*l->out.snap.cursor));
        vigil_require(l->out.snap.cursor != NULL);
        /* Down, a child without our state (new, or rebuilt with an empty
         * database) gets what it must act on; up, the parent gets all. */
        snapshot_start(l->out.snap.cursor, l->set->sections,
                       l->dir == LINK_TO_PARENT ? SNAPSHOT_TO_PARENT : SNAPSHOT_TO_CHILD);
        l->out.state = LINK_SEND_SNAPSHOT_PAGES;
        b.has_seq = 1;
        b.seq = l->out.snap.seq;
        b.epoch = l->set->epoch;
        /* Issued after the sequence was read and before any page is: every
         * row version in the pages that is above it was stamped after it,
         * and its delta follows the snapshot. */
        if (l->set->versions) {
                b.has_version = 1;
                b.version = vtime_next_version(l->set->versions);
        }
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN;
        env.snapshot_begin = &b;
        link_send(l, &env);
        link_pump_send(l);
}

void link_snapshot_begin(struct link *l)
{
        struct db_tx *tx = db_tx_new();
        const char *p[1] = { l->peer_id };

        l->out.state = LINK_SEND_SNAPSHOT_BEGIN;
        db_tx_add(tx, "SELECT coalesce((SELECT last_seq FROM outbox_seq WHERE peer_id = $1), 0)",
                  1, p, NULL, NULL);
        db_submit(l->set->db, tx, link_on_snapshot_seq, link_ctx_new(l));
}

void link_pump_snapshot(struct link *l)
{
        struct db_tx *tx;

        if (l->out.snap.reading)
                return;
        if (snapshot_done(l->out.snap.cursor, l->set->sections)) {
                link_snapshot_done(l);
                return;
        }
        /* A page is up to LINK_SNAPSHOT_PAGE_CHUNKS chunks: read the next
         * only when they all fit (reading while any room was left put
         * 11 on the wire). */
        if (l->out.snap.unacked > LINK_SNAPSHOT_WINDOW - LINK_SNAPSHOT_PAGE_CHUNKS)
                return;
        tx = db_tx_new();
        snapshot_add_page(l->set->sections, l->out.snap.cursor, tx, l->set->cfg->node_id, l->peer_id,
                          LINK_SNAPSHOT_PAGE);
        l->out.snap.reading = true;
        db_submit(l->set->db, tx, link_on_snapshot_page, link_ctx_new(l));
}

bool link_on_chunks_acked(struct link *l, const Vigil__Ack *a)
{
        uint64_t n;

        /* Also after SnapshotEnd (`base` is set): the chunks still on the
         * wire then are the progress of the snapshot's last steps. */
        if (l->out.state != LINK_SEND_SNAPSHOT_PAGES && !(l->out.state == LINK_SEND_DELTAS && l->out.base != 0))
                return false;
        if (a->has_snapshot_chunk_seq) {
                if (a->snapshot_chunk_seq <= l->out.snap.chunks_acked || a->snapshot_chunk_seq > l->out.snap.chunk_seq)
                        return false;
                n = a->snapshot_chunk_seq - l->out.snap.chunks_acked;
        } else if (a->snapshot_chunks > 0) {
                n = a->snapshot_chunks;   /* a peer that does not number them */
        } else {
                return false;
        }
        l->out.snap.chunks_acked += n;
        l->out.snap.unacked = (uint64_t)l->out.snap.unacked > n ? l->out.snap.unacked - (int)n : 0;
        return true;
}

/* --- receiving --- */

/* A snapshot chunk was applied: the sender may send another. Both counts:
 * one more (what a sender of before issue 17 reads), and the last applied. */
static void link_ack_chunk(struct link *l)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_snapshot_chunks = 1;
        a.snapshot_chunks = 1;
        a.has_snapshot_chunk_seq = 1;
        a.snapshot_chunk_seq = l->in.snap_applied;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        link_send(l, &env);
}

/* What arrived of the snapshot is not what was sent: say why, resync. */
__attribute__((format(printf, 3, 4)))
static bool link_snapshot_broken(struct link *l, Vigil__Envelope *env, const char *fmt, ...)
{
        char why[160];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        wire_envelope_free(env);
        link_resync(l, why);
        return false;
}

bool link_receive_snapshot(struct link *l, Vigil__Envelope *env)
{
        if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN) {
                /* From any state: what was queued is superseded. */
                link_inbox_clear(l);
                l->in.apply_gen++;    /* drop callbacks of what we just cleared */
                l->in.state = LINK_RECV_SNAPSHOT;
                l->in.snap_chunks = l->in.snap_items = l->in.snap_applied = 0;
                l->in.snap_end = false;
                l->in.progress++;
                l->in.snap_seq = env->snapshot_begin->seq;
                l->in.snap_version = env->snapshot_begin->has_version ? env->snapshot_begin->version : 0;
                l->in.inbox_last = env->snapshot_begin->seq;
                if (env->snapshot_begin->epoch && *env->snapshot_begin->epoch)
                        snprintf(l->in.peer_epoch, sizeof(l->in.peer_epoch), "%s", env->snapshot_begin->epoch);
                link_enqueue(l, env, 0, 1);
                return true;
        }
        if (l->in.state != LINK_RECV_SNAPSHOT) {
                wire_envelope_free(env);
                return false;
        }
        if (l->in.snap_end)
                return link_snapshot_broken(l, env, "snapshot message after SnapshotEnd (%" PRIu64 " chunks, %"
                                            PRIu64 " items)", l->in.snap_chunks, l->in.snap_items);
        if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK) {
                const Vigil__SnapshotChunk *ch = env->snapshot_chunk;
                /* A sender of before issue 17 does not number them. */
                if (ch->has_seq && ch->seq != l->in.snap_chunks + 1)
                        return link_snapshot_broken(l, env, "snapshot chunk %" PRIu64 " arrived, expected %" PRIu64,
                                                    ch->seq, l->in.snap_chunks + 1);
                /* A sender waits for a chunk's Ack before the next but a
                 * few: one that floods them is not heard out (issue 17,
                 * fault 5; the deltas' bound is link_receive_delta's). */
                if (l->in.inbox_len >= LINK_INBOX_WINDOWS * l->set->cfg->window) {
                        l->beyond_window++;
                        return link_snapshot_broken(l, env, "snapshot chunks past the window (%d queued)",
                                                    l->in.inbox_len);
                }
                l->in.snap_chunks++;
                l->in.snap_items += ch->n_changes;
        } else {
                const Vigil__SnapshotEnd *e = env->snapshot_end;
                if (e->has_items && e->items != l->in.snap_items)
                        return link_snapshot_broken(l, env, "SnapshotEnd says %" PRIu64 " items, %" PRIu64
                                                    " arrived", e->items, l->in.snap_items);
                if (e->seq != l->in.snap_seq)
                        return link_snapshot_broken(l, env, "SnapshotEnd at %" PRIu64 ", SnapshotBegin said %"
                                                    PRIu64, e->seq, l->in.snap_seq);
                l->in.snap_end = true;
        }
        l->in.progress++;
        link_enqueue(l, env, 0, 1);
        return true;
}

static void link_on_snapshot_step(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        Vigil__Envelope *env;

        if (link_apply_ctx_stale(c)) {
                free(c);
                return;
        }
        free(c);
        l->in.applying--;
        l->in.step_inflight = false;
        if (err) {
                if (err == -EPROTO)
                        link_resync(l, msg);
                return;
        }
        env = l->in.inbox->env;
        if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN) {
                l->in.have_state = false;
        } else if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK) {
                l->in.snap_applied++;
                link_ack_chunk(l);
        } else if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_END) {
                l->in.have_state = true;
                l->in.state = LINK_RECV_DELTAS;
                l->in.applied = env->snapshot_end->seq;
                log_info("link", "peer=%s dir=%s msg=\"snapshot applied\" seq=%" PRIu64 " items=%" PRIu64,
                         l->peer_id, link_dir_name(l), l->in.applied, env->snapshot_end->items);
                link_ack(l, l->in.applied);
        }
        l->in.progress++;
        link_inbox_pop(l, 1);
        link_after_apply(l, tx);   /* snapshot steps read nothing within */
        link_tell_snapshot_applied(l);
        link_pump_apply(l);
}

/* SnapshotEnd, second step: we know which rows the snapshot did not contain;
 * remove them and forward their removal in one transaction. */
static void link_on_snapshot_unmarked(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        struct db_tx *tx;
        Vigil__SnapshotEnd *e;
        char seq[24];

        if (link_apply_ctx_stale(c)) {
                free(c);
                return;
        }
        if (err) {
                l->in.applying--;
                l->in.step_inflight = false;
                free(c);
                if (err == -EPROTO)
                        link_resync(l, msg);
                return;
        }
        e = l->in.inbox->env->snapshot_end;
        tx = db_tx_new();
        snprintf(seq, sizeof(seq), "%" PRIu64, e->seq);
        {
                const char *p[3] = { l->peer_id, l->in.peer_epoch, seq };
                db_tx_add(tx, "SELECT snapshot_end($1, $2, $3)", 3, p, NULL, NULL);
        }
        snapshot_add_removals(l->set->sections, tx, rtx, l->peer_id, link_set_parent_id(l->set), l->in.snap_version);
        db_submit(l->set->db, tx, link_on_snapshot_step, c);
}

void link_apply_snapshot_item(struct link *l)
{
        Vigil__Envelope *env = l->in.cursor->env;
        struct db_tx *tx = db_tx_new();
        const char *p[1] = { l->peer_id };
        struct change_batch *batch;
        char err[256];
        size_t i;

        /* Snapshot steps run alone: the inbox head is this item until done. */
        l->in.applying++;
        l->in.step_inflight = true;
        l->in.cursor = l->in.cursor->next;
        l->in.unsubmitted--;
        l->in.unsubmitted_other--;
        switch (env->body_case) {
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN:
                db_tx_add(tx, "SELECT snapshot_begin($1)", 1, p, NULL, NULL);
                snapshot_add_marks(l->set->sections, tx, l->peer_id);
                break;
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK:
                batch = change_batch_new(l->set->kinds, tx, l->peer_id, link_set_parent_id(l->set),
                                         l->dir == LINK_TO_PARENT, true);
                for (i = 0; i < env->snapshot_chunk->n_changes; i++) {
                        ProtobufCBinaryData *b = &env->snapshot_chunk->changes[i];
                        if (change_batch_add(batch, b->data, b->len, err, sizeof(err)) < 0) {
                                l->bad_changes++;
                                log_warn("link", "peer=%s msg=\"snapshot item refused\" reason=\"%s\"",
                                         l->peer_id, err);
                        }
                }
                change_batch_finish(batch);   /* a snapshot's notes: the listeners hear of the step */
                if (db_tx_count(tx) == 0)
                        db_tx_add(tx, "SELECT 1", 0, NULL, NULL, NULL);
                break;
        default: /* SNAPSHOT_END */
                snapshot_add_marked(l->set->sections, tx, l->peer_id);
                db_submit(l->set->db, tx, link_on_snapshot_unmarked, link_ctx_new(l));
                return;
        }
        db_submit(l->set->db, tx, link_on_snapshot_step, link_ctx_new(l));
}

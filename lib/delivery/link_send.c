/* link_send: the sender. Changes were appended to the `outbox` for this
 * peer in the same transaction as the state they describe; the link reads
 * them in order (by last_seq, from the row holding `next`) while fewer
 * than [link] window changes are unacknowledged, sends them as Deltas of
 * up to 256 consecutive changes, and trims what the peer acknowledged. */
#include "delivery/link-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sqlarray.h"
#include "db/db.h"
#include "wire/wire.h"

/* Consecutive changes read from the outbox, sent as few Delta messages: at
 * most LINK_DELTA_CHANGES changes or about LINK_DELTA_BYTES each (one
 * message per change cost more in framing, CURVE and dispatch than the
 * change). */
#define LINK_DELTA_CHANGES 256
#define LINK_DELTA_BYTES (256 * 1024)

struct link_delta_out {
        uint64_t first;
        size_t n, bytes;
        ProtobufCBinaryData items[LINK_DELTA_CHANGES];
};

static void link_delta_flush(struct link *l, struct link_delta_out *o)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Delta d = VIGIL__DELTA__INIT;

        if (o->n == 0)
                return;
        d.n_changes = o->n;
        d.changes = o->items;
        env.has_seq = 1;
        env.seq = o->first;
        env.body_case = VIGIL__ENVELOPE__BODY_DELTA;
        env.delta = &d;
        link_send(l, &env);
        o->n = 0;
        o->bytes = 0;
}

/* Queue change SEQ (borrowed until the next flush). */
static void link_delta_add(struct link *l, struct link_delta_out *o, uint64_t seq, const uint8_t *change,
                           size_t len)
{
        if (o->n > 0 && (o->n == LINK_DELTA_CHANGES || o->bytes + len > LINK_DELTA_BYTES))
                link_delta_flush(l, o);
        if (o->n == 0)
                o->first = seq;
        o->items[o->n].data = (uint8_t *)change;
        o->items[o->n].len = len;
        o->n++;
        o->bytes += len;
}

static int link_read_size(const struct link *l)
{
        return l->set->cfg->window < LINK_BATCH ? l->set->cfg->window : LINK_BATCH;
}

static uint64_t be64(const char *p)
{
        uint64_t v = 0;
        int i;

        for (i = 0; i < 8; i++)
                v = (v << 8) | (uint8_t)p[i];
        return v;
}

/* How many outbox rows hold about a read's worth of changes, from the
 * sizes of the rows just read: a station's rows carry a thousand cameras
 * each, a quiet node's a single state change. */
static void link_adapt_read_rows(struct link *l, int rows, long changes)
{
        long per_row = rows > 0 ? (changes + rows - 1) / rows : 1;
        long want = link_read_size(l) / (per_row > 0 ? per_row : 1) + 1;

        l->out.read_rows = want < 1 ? 1 : want > link_read_size(l) ? link_read_size(l) : (int)want;
}

/* The peer needs rows that are gone (or unreadable): only a snapshot helps. */
static void link_outbox_lost(struct link *l)
{
        l->out.state = LINK_SEND_SNAPSHOT_DUE;
}

/* Issue 17: a ResendRequest that came while the read was in flight
 * (rows from the old `next` on, sent by now) is done after it. */
static void link_take_resend(struct link *l)
{
        uint64_t from = l->out.resend_from;

        l->out.resend_from = 0;
        if (from > l->out.acked && from < l->out.next && l->out.state == LINK_SEND_DELTAS) {
                l->out.next = from;
                l->out.more = true;
        }
}

static void link_on_outbox_read(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        PGresult *res;
        struct link_delta_out *out;
        int i, n, sent = 0;
        long changes = 0;
        bool capped = false;
        int index = c->read_index;
        bool in_tx = c->in_tx;

        if (link_ctx_stale(c)) {
                free(c);
                return;
        }
        l->out.reading = false;
        free(c);
        if (err) {
                l->out.more = true;
                link_take_resend(l);
                if (in_tx) {
                        /* The transaction failed (its owner says why): what
                         * it appended is not there; what others did is. */
                        link_pump_send(l);
                        return;
                }
                log_warn("link", "peer=%s msg=\"cannot read outbox\" reason=\"%s\"", l->peer_id, msg);
                return;  /* retried on the next kick or tick */
        }
        l->out.reads++;
        if (in_tx)
                l->out.read_tx = db_tx_id(tx);   /* its owner's kick is answered (link_kick_after) */
        res = db_tx_result(tx, index);
        n = PQntuples(res);
        out = malloc(sizeof(*out));
        vigil_require(out != NULL);
        out->n = out->bytes = 0;
        for (i = 0; i < n && !capped && l->out.state == LINK_SEND_DELTAS; i++) {
                uint64_t seq = be64(PQgetvalue(res, i, 0));
                struct sqlarray_reader rd;
                const uint8_t *change;
                size_t len;
                int k = sqlarray_reader_init(&rd, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));

                changes += k > 0 ? k : 0;
                while (k >= 0 && (k = sqlarray_reader_next(&rd, &change, &len)) == 1) {
                        if (seq < l->out.next) {
                                seq++;  /* acknowledged or sent before: the row began earlier */
                                continue;
                        }
                        if (seq != l->out.next || !change) {
                                log_error("link", "peer=%s msg=\"outbox hole, sending a snapshot\" expected=%"
                                          PRIu64 " found=%" PRIu64, l->peer_id, l->out.next, seq);
                                link_outbox_lost(l);
                                break;
                        }
                        if (sent == link_read_size(l)) {
                                capped = true;
                                break;
                        }
                        link_delta_add(l, out, seq, change, len);
                        l->out.next++;
                        seq++;
                        sent++;
                }
                if (k < 0) {
                        log_error("link", "peer=%s msg=\"unreadable outbox row, sending a snapshot\" seq=%" PRIu64,
                                  l->peer_id, seq);
                        link_outbox_lost(l);
                }
        }
        link_delta_flush(l, out);
        free(out);
        /* All read, unless a change was committed (and kicked) after
         * this read began: then read again at once (it was left to the
         * next heartbeat, up to a second late). */
        if (n < l->out.read_rows && !capped && l->out.kicks == l->out.read_kicks)
                l->out.more = false;
        link_take_resend(l);
        link_adapt_read_rows(l, n, changes);
        link_pump_send(l);
}

static void link_on_outbox_deleted(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;

        (void)tx; (void)msg;
        if (!link_ctx_stale(c)) {
                l->out.deleting = false;
                if (err == 0 && c->last > l->out.deleted)
                        l->out.deleted = c->last;
                link_pump_send(l);
        }
        free(c);
}

/* Changes sent and not acknowledged. After a snapshot the window counts
 * from its sequence: the snapshot is not in flight as changes are, and
 * counting it held the deltas after it until its Ack came (issue 17). */
static uint64_t link_in_flight(const struct link *l)
{
        uint64_t from = l->out.acked > l->out.base ? l->out.acked : l->out.base;

        return l->out.next - 1 > from ? l->out.next - 1 - from : 0;
}

/* Whether the outbox may be read now: streaming deltas, no read in
 * flight, room in the window. */
static bool link_can_read(const struct link *l)
{
        return l->out.state == LINK_SEND_DELTAS && !l->out.reading &&
               link_in_flight(l) < (uint64_t)l->set->cfg->window;
}

/* Add the read of the rows from the one holding `next` on, in order, to TX
 * (its result binary): a range of the primary key's index. (Without an
 * index condition a backlog the planner has no statistics for yet, an
 * import racing ahead of the link, was once read whole by a bitmap scan
 * and sorted at every read.) A missing change still shows as a sequence
 * other than `next`. */
static void link_add_read(struct link *l, struct db_tx *tx)
{
        char from[24], limit[24];
        const char *p[3] = { l->peer_id, from, limit };

        snprintf(from, sizeof(from), "%" PRIu64, l->out.next);
        if (l->out.read_rows <= 0)
                l->out.read_rows = 8;
        snprintf(limit, sizeof(limit), "%d", l->out.read_rows);
        l->out.reading = true;
        l->out.read_kicks = l->out.kicks;
        db_tx_add(tx, "SELECT seq, changes FROM outbox WHERE peer_id = $1 AND last_seq >= $2 "
                      "ORDER BY last_seq LIMIT $3", 3, p, NULL, NULL);
        db_tx_binary_last(tx);
}

/* Acknowledged rows are trimmed every few heartbeats, or once many have
 * gathered: a delete per ack was a commit (a WAL flush) per change sent, a
 * third of a busy cluster's commits. Rows not yet trimmed are never read
 * again (`next` is past them). */
static void link_trim(struct link *l)
{
        struct db_tx *tx;
        struct link_ctx *c;
        char after[24], upto[24];
        const char *p[3] = { l->peer_id, after, upto };

        if (l->out.acked <= l->out.deleted || l->out.deleting ||
            !(l->out.trim_due || l->out.acked - l->out.deleted >= LINK_TRIM_CHANGES))
                return;
        tx = db_tx_new();
        c = link_ctx_new(l);
        snprintf(after, sizeof(after), "%" PRIu64, l->out.deleted);
        snprintf(upto, sizeof(upto), "%" PRIu64, l->out.acked);
        c->last = l->out.acked;
        l->out.deleting = true;
        l->out.trim_due = false;
        /* A bounded range: the index scan starts after what earlier deletes
         * left behind as dead tuples, instead of walking them. A row goes
         * once its last change is acknowledged. */
        db_tx_add(tx, "DELETE FROM outbox WHERE peer_id = $1 AND last_seq > $2 AND last_seq <= $3",
                  3, p, NULL, NULL);
        db_submit(link_set_read_db(l->set), tx, link_on_outbox_deleted, c);
}

void link_pump_send(struct link *l)
{
        if (!link_in_session(l) || !db_is_up(l->set->db))
                return;
        switch (l->out.state) {
        case LINK_SEND_OFF:
        case LINK_SEND_SNAPSHOT_BEGIN:
                return;
        case LINK_SEND_SNAPSHOT_DUE:
                link_snapshot_begin(l);
                return;
        case LINK_SEND_SNAPSHOT_PAGES:
                link_pump_snapshot(l);
                if (l->out.state != LINK_SEND_DELTAS)
                        return;
                break;  /* the snapshot is done: the deltas after it */
        case LINK_SEND_DELTAS:
                break;
        }
        link_trim(l);
        if (l->out.more && link_can_read(l)) {
                struct db_tx *tx = db_tx_new();
                link_add_read(l, tx);
                db_submit(link_set_read_db(l->set), tx, link_on_outbox_read, link_ctx_new(l));
        }
}

bool link_read_in(struct link *l, struct db_tx *tx)
{
        struct link_ctx *c;

        if (!link_in_session(l) || !link_can_read(l) || !db_is_up(l->set->db))
                return false;
        c = link_ctx_new(l);
        c->in_tx = true;
        c->read_index = db_tx_count(tx);
        if (db_tx_also(tx, link_on_outbox_read, c) < 0) {
                free(c);
                return false;
        }
        link_add_read(l, tx);
        return true;
}

void link_kick_after(struct link *l, const struct db_tx *tx)
{
        if (l->out.read_tx != db_tx_id(tx))
                link_kick(l);
}

/* Send again from FROM on, now or, if a read is in flight, when it
 * completes: ignoring the request then lost it for good (issue 17). */
static void link_resend_from(struct link *l, uint64_t from)
{
        if (l->out.reading) {
                if (l->out.resend_from == 0 || from < l->out.resend_from)
                        l->out.resend_from = from;
                return;
        }
        l->out.next = from;
        l->out.more = true;
        link_pump_send(l);
}

void link_on_ack(struct link *l, const Vigil__Ack *a)
{
        bool moved = false;

        if (a->has_snapshot_chunks || a->has_snapshot_chunk_seq)
                moved = link_on_chunks_acked(l, a);
        if (a->has_seq && a->seq > l->out.acked && a->seq < l->out.next) {
                l->out.acked = a->seq;
                moved = true;
        }
        if (a->has_busy && a->busy)
                l->out.peer_busy = true;
        if (moved) {
                l->out.progress++;
                link_pump_send(l);
        } else if (a->has_seq && l->out.ticks >= l->out.sent_tick + LINK_IDLE_AFTER_TICKS) {
                /* Acks of commits always move: this is an idle peer's
                 * (link_recv_tick), which holds nothing of ours unapplied;
                 * unless it was sent before what we sent last arrived (one
                 * that came soon after we sent may have crossed it, and
                 * the peer may be busy with it now, saying nothing). */
                l->out.idle_seen = true;
        }
}

/* The peer lost what we sent from FROM_SEQ on (a gap): send it again. */
void link_on_resend_request(struct link *l, uint64_t from_seq)
{
        if (from_seq > l->out.acked && from_seq < l->out.next && l->out.state == LINK_SEND_DELTAS)
                link_resend_from(l, from_seq);
}

/* Whether the peer has yet to confirm what we sent. */
static bool link_send_outstanding(const struct link *l)
{
        if (l->out.state == LINK_SEND_DELTAS)
                return l->out.next > l->out.acked + 1;
        return l->out.state == LINK_SEND_SNAPSHOT_PAGES && l->out.snap.unacked > 0;
}

/* The sender waits on the peer only once the peer said it is idle (and
 * nothing moved since): a peer applying a long transaction says nothing
 * meanwhile, and checks its own progress (link_recv_tick). */
bool link_send_tick(struct link *l)
{
        bool moved = l->out.progress != l->out.progress_at_tick;
        bool busy = l->out.peer_busy;

        l->out.progress_at_tick = l->out.progress;
        l->out.peer_busy = false;
        /* A peer that says it is applying what we sent is working. */
        if (moved || busy || !link_send_outstanding(l) || !db_is_up(l->set->db)) {
                l->out.idle_seen = false;
                l->out.idle_ticks = l->out.stall_ticks = 0;
                return false;
        }
        l->out.stall_ticks++;
        if (!l->out.idle_seen) {
                /* A peer that says nothing at all (it never heard from us
                 * this session, or predates issue 17) gets longer. */
                return l->out.stall_ticks >= LINK_SILENT_STALLS * link_stall_ticks(l);
        }
        /* Idle, and short of `next`: what we sent last was lost (no later
         * Delta showed the receiver a gap). Send it again. */
        if (++l->out.idle_ticks >= LINK_REWIND_TICKS && l->out.state == LINK_SEND_DELTAS) {
                uint64_t from = (l->out.acked > l->out.base ? l->out.acked : l->out.base) + 1;
                l->out.idle_ticks = 0;
                if (from < l->out.next)
                        link_resend_from(l, from);
        }
        return l->out.stall_ticks >= link_stall_ticks(l);
}

#include "delivery/link.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "base/log.h"
#include "base/sqlarray.h"
#include "wire/wire.h"
#include "base/vtime.h"

/* Snapshot changes per SnapshotChunk message, rows per page read, and
 * chunks on the wire not yet applied by the peer: a snapshot of a million
 * cameras never sits in memory whole, at either end. */
#define LINK_SNAPSHOT_CHUNK 500
#define LINK_SNAPSHOT_PAGE 2000
#define LINK_SNAPSHOT_WINDOW 8
/* Deltas per applying transaction, and outbox rows per read. Large: the
 * sender's reads share the node's one database connection with whatever
 * else it does (a station importing a million cameras), so each turn it
 * gets must move many rows, or the link falls behind the import. The
 * applying side still writes them 1000 rows per statement. */
#define LINK_BATCH 5000
/* Acknowledged rows are trimmed from the outbox every LINK_TRIM_TICKS
 * heartbeats (link_tick), or at once when LINK_TRIM_CHANGES changes
 * have gathered. */
#define LINK_TRIM_TICKS 5
#define LINK_TRIM_CHANGES 4096
/* A child's batch of at most this many changes is applied together with
 * the other children's (link_gather_submit); bigger ones alone. */
#define LINK_GATHER_CHANGES 1000
/* After a gathered transaction failed, each child applies alone this
 * long: one child's bad batch must not hold up its siblings. */
#define LINK_GATHER_OFF_US (10 * 1000 * 1000)
/* Applying transactions in flight at once. */
#define LINK_APPLY_DEPTH 4

struct link_item {
        struct link_item *next;
        Vigil__Envelope *env;
        uint32_t skip;   /* a Delta's leading changes already applied (a resend overlapping) */
        uint32_t n;      /* changes to apply from it (1 for the other bodies) */
};

/* A database callback's view of the link: ignored if the session changed. */
struct link_ctx {
        struct link *l;
        uint64_t session_id;
        uint64_t apply_gen;
        uint64_t first, last;
        int n_items;
        link_loaded_cb loaded;
        void *arg;
        char **removed;
        int n_removed;
        int read_index;   /* an outbox read's statement in its transaction */
        bool in_tx;       /* ... read in another's transaction (link_read_in) */
        bool gathered;    /* applied with other children's (link_gather_submit) */
        unsigned notes;   /* what the applied changes noted (change_batch_note) */
};

static void link_pump_send(struct link *l);
static void link_pump_apply(struct link *l);
static void link_gather_submit(struct link_set *set);
static void link_rewind(struct link *l);

/* The open gathered transaction went: a child may submit again (behind it
 * on the connection, in order). */
static void link_gather_sent(struct link *l, void *arg)
{
        (void)arg;
        l->gather_open = false;
}

static const char *link_dir_name(const struct link *l)
{
        return l->dir == LINK_TO_PARENT ? "up" : "down";
}

static struct link_ctx *link_ctx_new(struct link *l)
{
        struct link_ctx *c = calloc(1, sizeof(*c));

        vigil_require(c != NULL);
        c->l = l;
        c->session_id = l->session_id;
        c->apply_gen = l->apply_gen;
        return c;
}

static bool link_ctx_stale(struct link_ctx *c)
{
        return c->session_id != c->l->session_id || !c->l->session;
}

/* Receiving side: also stale when a new snapshot restarted the inbox. */
static bool link_apply_ctx_stale(struct link_ctx *c)
{
        return link_ctx_stale(c) || c->apply_gen != c->l->apply_gen;
}

static void link_inbox_clear(struct link *l)
{
        struct link_item *it;

        while ((it = l->inbox)) {
                l->inbox = it->next;
                wire_envelope_free(it->env);
                free(it);
        }
        l->inbox_tail = NULL;
        l->inbox_len = 0;
        l->cursor = NULL;
        l->unsubmitted = l->unsubmitted_other = 0;
        l->applying = 0;
        l->snapshot_inflight = false;
}

void link_init(struct link *l, struct link_set *set, enum link_dir dir, const char *peer_id)
{
        memset(l, 0, sizeof(*l));
        l->set = set;
        l->dir = dir;
        snprintf(l->peer_id, sizeof(l->peer_id), "%s", peer_id);
}

void link_deinit(struct link *l)
{
        link_inbox_clear(l);
        free(l->snap);
        l->snap = NULL;
        l->session = false;
        l->session_id++;
}

static int link_send(struct link *l, Vigil__Envelope *env)
{
        int r = l->send(l, env);

        if (r == 0)
                l->sent++;
        return r;
}

int link_send_envelope(struct link *l, Vigil__Envelope *env)
{
        if (!l->session)
                return -ENOTCONN;
        return link_send(l, env);
}

/* Ask the transport to restart the handshake: both sides then re-read what
 * the databases hold. Used when a transaction failed. */
static void link_resync(struct link *l, const char *why)
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

        if (err == 0 && PQntuples(res) == 1) {
                snprintf(l->peer_epoch, sizeof(l->peer_epoch), "%s", PQgetvalue(res, 0, 0));
                l->applied = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
                l->have_state = true;
        } else if (err == 0) {
                l->peer_epoch[0] = '\0';
                l->applied = 0;
                l->have_state = false;
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
        db_submit(l->set->db, tx, link_on_loaded, c);
}

void link_session_start(struct link *l, const char *peer_epoch, bool peer_has_our_state,
                        uint64_t peer_applied)
{
        link_inbox_clear(l);
        l->session = true;
        l->session_id++;
        l->reading = l->deleting = l->snapshotting = l->snap_reading = false;
        free(l->snap);
        l->snap = NULL;
        l->in_snapshot = false;
        /* Receiving: our stored state counts only in the peer's current epoch. */
        if (!l->have_state || strcmp(l->peer_epoch, peer_epoch) != 0) {
                l->have_state = false;
                l->applied = 0;
        }
        snprintf(l->peer_epoch, sizeof(l->peer_epoch), "%s", peer_epoch);
        l->inbox_last = l->applied;
        /* Sending */
        if (peer_has_our_state) {
                l->snapshot_needed = false;
                l->next_send = peer_applied + 1;
                l->acked = peer_applied;
        } else {
                l->snapshot_needed = true;
                l->next_send = 0;
                l->acked = 0;
        }
        l->deleted = 0;
        l->more = true;
        log_info("link", "peer=%s dir=%s msg=\"streaming\" next_send=%" PRIu64 " applied=%" PRIu64
                 " snapshot_out=%s snapshot_in=%s", l->peer_id, link_dir_name(l), l->next_send,
                 l->applied, l->snapshot_needed ? "yes" : "no", l->have_state ? "no" : "expected");
        link_pump_send(l);
}

void link_session_end(struct link *l)
{
        if (!l->session)
                return;
        l->session = false;
        l->session_id++;
        l->reading = l->deleting = l->snapshotting = l->snap_reading = false;
        free(l->snap);
        l->snap = NULL;
        l->in_snapshot = false;
        link_inbox_clear(l);
}

void link_tick(struct link *l)
{
        bool quiet = l->reads == l->reads_at_tick;

        l->reads_at_tick = l->reads;
        if (++l->ticks % LINK_TRIM_TICKS == 0)
                l->trim_due = true;
        /* The heartbeat's read is a safety net for a change committed
         * without a kick; a link that read since the last beat has no
         * need of it (and under an emergency, such a read in flight made
         * the order's read wait behind it: link_read_in). */
        if (quiet || l->trim_due)
                link_kick(l);
}

void link_kick(struct link *l)
{
        l->more = true;
        l->kicks++;
        link_pump_send(l);
}

/* --- sending --- */

/* Consecutive changes read from the outbox, sent as few Delta messages: at
 * most LINK_DELTA_CHANGES changes or about LINK_DELTA_BYTES each. */
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

        l->read_rows = want < 1 ? 1 : want > link_read_size(l) ? link_read_size(l) : (int)want;
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
        l->reading = false;
        free(c);
        if (err) {
                l->more = true;
                if (in_tx) {
                        /* The transaction failed (its owner says why): what
                         * it appended is not there; what others did is. */
                        link_pump_send(l);
                        return;
                }
                log_warn("link", "peer=%s msg=\"cannot read outbox\" reason=\"%s\"", l->peer_id, msg);
                return;  /* retried on the next kick or tick */
        }
        l->reads++;
        if (in_tx)
                l->read_tx = db_tx_id(tx);   /* its owner's kick is answered (link_kick_after) */
        res = db_tx_result(tx, index);
        n = PQntuples(res);
        out = malloc(sizeof(*out));
        vigil_require(out != NULL);
        out->n = out->bytes = 0;
        for (i = 0; i < n && !capped && !l->snapshot_needed; i++) {
                uint64_t seq = be64(PQgetvalue(res, i, 0));
                struct sqlarray_reader rd;
                const uint8_t *change;
                size_t len;
                int k = sqlarray_reader_init(&rd, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));

                changes += k > 0 ? k : 0;
                while (k >= 0 && (k = sqlarray_reader_next(&rd, &change, &len)) == 1) {
                        if (seq < l->next_send) {
                                seq++;  /* acknowledged or sent before: the row began earlier */
                                continue;
                        }
                        if (seq != l->next_send || !change) {
                                /* The rows the peer needs are gone: only a snapshot helps. */
                                log_error("link", "peer=%s msg=\"outbox hole, sending a snapshot\" expected=%"
                                          PRIu64 " found=%" PRIu64, l->peer_id, l->next_send, seq);
                                l->snapshot_needed = true;
                                break;
                        }
                        if (sent == link_read_size(l)) {
                                capped = true;
                                break;
                        }
                        link_delta_add(l, out, seq, change, len);
                        l->next_send++;
                        seq++;
                        sent++;
                }
                if (k < 0) {
                        log_error("link", "peer=%s msg=\"unreadable outbox row, sending a snapshot\" seq=%" PRIu64,
                                  l->peer_id, seq);
                        l->snapshot_needed = true;
                }
        }
        link_delta_flush(l, out);
        free(out);
        /* All read, unless a change was committed (and kicked) after
         * this read began: then read again at once (it was left to the
         * next heartbeat, up to a second late). */
        if (n < l->read_rows && !capped && l->kicks == l->read_kicks)
                l->more = false;
        link_adapt_read_rows(l, n, changes);
        link_pump_send(l);
}

static void link_on_outbox_deleted(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;

        (void)tx; (void)msg;
        if (!link_ctx_stale(c)) {
                l->deleting = false;
                if (err == 0 && c->last > l->deleted)
                        l->deleted = c->last;
                link_pump_send(l);
        }
        free(c);
}

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
                env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK;
                env.snapshot_chunk = &ch;
                link_send(l, &env);
                l->snap_unacked++;
        }
}

static void link_snapshot_done(struct link *l)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__SnapshotEnd e = VIGIL__SNAPSHOT_END__INIT;

        e.has_seq = 1;
        e.seq = l->snap_out_seq;
        e.has_items = 1;
        e.items = l->snap_items;
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_END;
        env.snapshot_end = &e;
        link_send(l, &env);
        log_info("link", "peer=%s dir=%s msg=\"snapshot sent\" seq=%" PRIu64 " items=%" PRIu64,
                 l->peer_id, link_dir_name(l), l->snap_out_seq, l->snap_items);
        free(l->snap);
        l->snap = NULL;
        l->snapshotting = false;
        l->next_send = l->snap_out_seq + 1;
        l->more = true;
}

static void link_on_snapshot_page(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        uint8_t **changes = NULL;
        size_t *lens = NULL, n = 0, i;

        if (link_ctx_stale(c) || !l->snap) {
                free(c);
                return;
        }
        free(c);
        l->snap_reading = false;
        if (err || snapshot_page_encode(l->set->sections, l->snap, tx, LINK_SNAPSHOT_PAGE, &changes, &lens, &n) < 0) {
                /* Start over: the peer still has no state of ours. */
                log_warn("link", "peer=%s msg=\"cannot read snapshot\" reason=\"%s\"", l->peer_id,
                         err ? msg : "encoding failed");
                link_resync(l, "snapshot read failed");
                return;
        }
        link_send_chunks(l, changes, lens, n);
        l->snap_items += n;
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
        l->snap_reading = false;
        if (err || !res || PQntuples(res) != 1) {
                log_warn("link", "peer=%s msg=\"cannot begin snapshot\" reason=\"%s\"", l->peer_id, err ? msg : "");
                l->snapshotting = false;
                return;  /* snapshot_needed still set: retried on the next kick */
        }
        /* The sequence first, then the pages: whatever changes while the
         * pages are read is also in the deltas after it. */
        l->snap_out_seq = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
        l->snap_items = 0;
        l->snap_unacked = 0;
        l->snap = calloc(1, sizeof(*l->snap));
        vigil_require(l->snap != NULL);
        /* Down, a child without our state (new, or rebuilt with an empty
         * database) gets what it must act on; up, the parent gets all. */
        snapshot_start(l->snap, l->set->sections, l->dir == LINK_TO_PARENT ? SNAPSHOT_TO_PARENT : SNAPSHOT_TO_CHILD);
        l->snapshot_needed = false;
        b.has_seq = 1;
        b.seq = l->snap_out_seq;
        b.epoch = l->set->epoch;
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN;
        env.snapshot_begin = &b;
        link_send(l, &env);
        link_pump_send(l);
}

/* Sending a snapshot: the next page once few chunks are unapplied. */
static void link_pump_snapshot(struct link *l)
{
        struct db_tx *tx;

        if (l->snap_reading || l->snap_unacked >= LINK_SNAPSHOT_WINDOW)
                return;
        if (snapshot_done(l->snap, l->set->sections)) {
                if (l->snap_unacked == 0)
                        link_snapshot_done(l);
                return;
        }
        tx = db_tx_new();
        snapshot_add_page(l->set->sections, l->snap, tx, l->set->cfg->node_id, l->peer_id, LINK_SNAPSHOT_PAGE);
        l->snap_reading = true;
        db_submit(l->set->db, tx, link_on_snapshot_page, link_ctx_new(l));
}

/* Whether the outbox may be read now: streaming deltas, no read in
 * flight, room in the window. */
static bool link_can_read(const struct link *l)
{
        return l->session && !l->snapshotting && !l->snapshot_needed && !l->reading &&
               l->next_send - 1 - l->acked < (uint64_t)l->set->cfg->window;
}

/* Add the read of the rows from the one holding next_send on, in order, to
 * TX (its result binary): a range of the primary key's index. (Without an
 * index condition a backlog the planner has no statistics for yet, an
 * import racing ahead of the link, was once read whole by a bitmap scan
 * and sorted at every read.) A missing change still shows as a sequence
 * other than next_send. */
static void link_add_read(struct link *l, struct db_tx *tx)
{
        char from[24], limit[24];
        const char *p[3] = { l->peer_id, from, limit };

        snprintf(from, sizeof(from), "%" PRIu64, l->next_send);
        if (l->read_rows <= 0)
                l->read_rows = 8;
        snprintf(limit, sizeof(limit), "%d", l->read_rows);
        l->reading = true;
        l->read_kicks = l->kicks;
        db_tx_add(tx, "SELECT seq, changes FROM outbox WHERE peer_id = $1 AND last_seq >= $2 "
                      "ORDER BY last_seq LIMIT $3", 3, p, NULL, NULL);
        db_tx_binary_last(tx);
}

static void link_pump_send(struct link *l)
{
        struct db *db = l->set->db;

        if (!l->session || !db_is_up(db))
                return;
        if (l->snapshotting) {
                if (l->snap)
                        link_pump_snapshot(l);
                if (l->snapshotting)
                        return;
        }
        if (l->snapshot_needed) {
                struct db_tx *tx = db_tx_new();
                const char *p[1] = { l->peer_id };
                l->snapshotting = true;
                l->snap_reading = true;
                db_tx_add(tx, "SELECT coalesce((SELECT last_seq FROM outbox_seq WHERE peer_id = $1), 0)",
                          1, p, NULL, NULL);
                db_submit(db, tx, link_on_snapshot_seq, link_ctx_new(l));
                return;
        }
        /* Acknowledged rows are trimmed every few heartbeats, or once many
         * have gathered: a delete per ack was a commit (a WAL flush) per
         * change sent, a third of a busy cluster's commits. Rows not yet
         * trimmed are never read again (next_send is past them). */
        if (l->acked > l->deleted && !l->deleting &&
            (l->trim_due || l->acked - l->deleted >= LINK_TRIM_CHANGES)) {
                struct db_tx *tx = db_tx_new();
                struct link_ctx *c = link_ctx_new(l);
                char after[24], upto[24];
                const char *p[3] = { l->peer_id, after, upto };
                snprintf(after, sizeof(after), "%" PRIu64, l->deleted);
                snprintf(upto, sizeof(upto), "%" PRIu64, l->acked);
                c->last = l->acked;
                l->deleting = true;
                l->trim_due = false;
                /* A bounded range: the index scan starts after what earlier
                 * deletes left behind as dead tuples, instead of walking them. */
                /* A row goes once its last change is acknowledged. */
                db_tx_add(tx, "DELETE FROM outbox WHERE peer_id = $1 AND last_seq > $2 AND last_seq <= $3",
                          3, p, NULL, NULL);
                db_submit(link_set_read_db(l->set), tx, link_on_outbox_deleted, c);
        }
        if (l->more && link_can_read(l)) {
                struct db_tx *tx = db_tx_new();
                link_add_read(l, tx);
                db_submit(link_set_read_db(l->set), tx, link_on_outbox_read, link_ctx_new(l));
        }
}

bool link_read_in(struct link *l, struct db_tx *tx)
{
        struct link_ctx *c;

        if (!link_can_read(l) || !db_is_up(l->set->db))
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
        if (l->read_tx != db_tx_id(tx))
                link_kick(l);
}

/* --- receiving --- */

static void link_ack(struct link *l, uint64_t seq)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_seq = 1;
        a.seq = seq;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        link_send(l, &env);
}

/* A snapshot chunk was applied: the sender may send another. */
static void link_ack_chunk(struct link *l)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_snapshot_chunks = 1;
        a.snapshot_chunks = 1;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        link_send(l, &env);
}

static void link_inbox_pop(struct link *l, int n)
{
        while (n-- > 0 && l->inbox) {
                struct link_item *it = l->inbox;
                l->inbox = it->next;
                if (!l->inbox)
                        l->inbox_tail = NULL;
                l->inbox_len--;
                wire_envelope_free(it->env);
                free(it);
        }
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

/* After TX, applying from L, committed: the outboxes it may have appended
 * to and not read (link_read_forwarded_in) are kicked. */
static void link_after_apply(struct link *l, const struct db_tx *tx)
{
        if (l->dir == LINK_TO_CHILD) {
                link_set_kick_parent_after(l->set, tx);
        } else {
                link_set_kick_children_after(l->set, tx);
                if (l->set->cfg->tier == TIER_STATION)
                        link_kick_after(l, tx);
        }
}

/* Tell the listeners (the features) what became of a transaction applying
 * what L's peer sent. */
static void link_tell_submitted(struct link *l, unsigned notes)
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

static void link_tell_snapshot_applied(struct link *l)
{
        struct link_set *s = l->set;
        int i;

        for (i = 0; i < s->n_listeners; i++)
                if (s->listeners[i].snapshot_applied)
                        s->listeners[i].snapshot_applied(s->listeners[i].arg, l);
}

static void link_on_applied(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_ctx *c = arg;
        struct link *l = c->l;
        unsigned notes;

        (void)tx;
        if (link_apply_ctx_stale(c)) {
                free(c);
                return;
        }
        l->applying--;
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
        l->applied = c->last;
        l->applied_count += (unsigned long)(c->last - c->first + 1);
        link_inbox_pop(l, c->n_items);
        free(c);
        link_ack(l, l->applied);
        link_after_apply(l, tx);
        link_tell_applied(l, notes);
        link_pump_apply(l);
}

/* Everything from the head of the inbox is to be applied again (the
 * transaction it went in failed, and nothing else of ours is in flight). */
static void link_rewind(struct link *l)
{
        struct link_item *it;

        l->cursor = l->inbox;
        l->unsubmitted = l->unsubmitted_other = 0;
        for (it = l->inbox; it; it = it->next) {
                l->unsubmitted += (int)it->n;
                if (it->env->body_case != VIGIL__ENVELOPE__BODY_DELTA)
                        l->unsubmitted_other++;
        }
}

static void link_on_gathered(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_set *set = arg;

        (void)tx; (void)err; (void)msg;   /* each child's part has heard (link_on_applied) */
        set->gather_busy = false;
        link_gather_submit(set);
}

/* Group commit for the children: while one gathered transaction is in
 * flight, the small batches children send meanwhile gather in the next,
 * submitted as the first commits. Under an emergency a district's ten
 * stations ack within milliseconds of each other; each ack in its own
 * transaction queued ten commits (ten WAL flushes, on a cluster's worth
 * of them) before the last could go up. The reads of what they forward
 * go last, after every child's part (link_read_forwarded_in). */
static void link_gather_submit(struct link_set *set)
{
        struct db_tx *tx = set->gather;

        if (!tx || set->gather_busy)
                return;
        set->gather = NULL;
        set->gather_busy = true;
        link_set_read_parent_in(set, tx);
        link_set_for_children(set, link_gather_sent, NULL);
        db_submit(set->db, tx, link_on_gathered, set);
}

static void link_apply_deltas(struct link *l)
{
        struct link_set *set = l->set;
        struct link_ctx *c = link_ctx_new(l);
        bool gather;
        struct db_tx *tx;
        struct link_item *it;
        char first[24], last[24], err[256];
        const char *p[4] = { l->peer_id, l->peer_epoch, first, last };
        struct change_batch *b;
        int n = 0, changes = 0;
        unsigned notes;

        c->first = l->cursor->env->seq + l->cursor->skip;
        for (it = l->cursor; it && it->env->body_case == VIGIL__ENVELOPE__BODY_DELTA &&
                            changes < LINK_BATCH; it = it->next) {
                c->last = it->env->seq + it->skip + it->n - 1;
                changes += (int)it->n;
                n++;
        }
        c->n_items = n;
        gather = l->dir == LINK_TO_CHILD && l->applying == 0 && changes <= LINK_GATHER_CHANGES &&
                 vtime_now_us() >= set->gather_off_us;
        if (gather) {
                if (!set->gather)
                        set->gather = db_tx_new();
                tx = set->gather;
        } else {
                tx = db_tx_new();
        }
        snprintf(first, sizeof(first), "%" PRIu64, c->first);
        snprintf(last, sizeof(last), "%" PRIu64, c->last);
        db_tx_add(tx, "SELECT link_accept($1, $2, $3, $4)", 4, p, NULL, NULL);
        b = change_batch_new(set->kinds, tx, l->peer_id, link_set_parent_id(set), l->dir == LINK_TO_PARENT, false);
        for (it = l->cursor; n-- > 0; it = it->next) {
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
        l->cursor = it;
        l->unsubmitted -= changes;
        l->applying++;
        if (gather) {
                c->gathered = true;
                l->gather_open = true;   /* nothing more of ours until it goes */
                vigil_require(db_tx_also(tx, link_on_applied, c) == 0);
                link_gather_submit(set);
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
        l->applying--;
        l->snapshot_inflight = false;
        if (err) {
                if (err == -EPROTO)
                        link_resync(l, msg);
                return;
        }
        env = l->inbox->env;
        if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN) {
                l->have_state = false;
        } else if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK) {
                link_ack_chunk(l);
        } else if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_END) {
                l->have_state = true;
                l->in_snapshot = false;
                l->applied = env->snapshot_end->seq;
                log_info("link", "peer=%s dir=%s msg=\"snapshot applied\" seq=%" PRIu64 " items=%" PRIu64,
                         l->peer_id, link_dir_name(l), l->applied, env->snapshot_end->items);
                link_ack(l, l->applied);
        }
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
                l->applying--;
                l->snapshot_inflight = false;
                free(c);
                if (err == -EPROTO)
                        link_resync(l, msg);
                return;
        }
        e = l->inbox->env->snapshot_end;
        tx = db_tx_new();
        snprintf(seq, sizeof(seq), "%" PRIu64, e->seq);
        {
                const char *p[3] = { l->peer_id, l->peer_epoch, seq };
                db_tx_add(tx, "SELECT snapshot_end($1, $2, $3)", 3, p, NULL, NULL);
        }
        snapshot_add_forwards(l->set->sections, tx, rtx, link_set_parent_id(l->set));
        db_submit(l->set->db, tx, link_on_snapshot_step, c);
}

static void link_apply_snapshot_item(struct link *l)
{
        Vigil__Envelope *env = l->cursor->env;
        struct db_tx *tx = db_tx_new();
        const char *p[1] = { l->peer_id };
        struct change_batch *batch;
        char err[256];
        size_t i;

        /* Snapshot steps run alone: the inbox head is this item until done. */
        l->applying++;
        l->snapshot_inflight = true;
        l->cursor = l->cursor->next;
        l->unsubmitted--;
        l->unsubmitted_other--;
        switch (env->body_case) {
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN:
                db_tx_add(tx, "SELECT snapshot_begin($1)", 1, p, NULL, NULL);
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

/* Queued and submitted items are counted, so that checking the queue on
 * every received delta does not walk it. */
static bool link_full_batch_waiting(const struct link *l)
{
        return l->unsubmitted >= LINK_BATCH || l->unsubmitted_other > 0;
}

/* Batches of deltas are pipelined: up to LINK_APPLY_DEPTH transactions in
 * flight on the one connection, committed in order. Each begins with
 * link_accept(), so if one fails, every later one fails too and nothing is
 * applied out of order. Snapshot steps run one at a time. */
static void link_pump_apply(struct link *l)
{
        while (l->session && l->cursor && db_is_up(l->set->db) && !l->snapshot_inflight &&
               l->applying < LINK_APPLY_DEPTH && !l->gather_open) {
                if (l->cursor->env->body_case == VIGIL__ENVELOPE__BODY_DELTA) {
                        /* While a transaction is in flight, a short batch waits
                         * for more deltas: fewer, fuller transactions (each
                         * costs a commit and a statement per kind) when
                         * deltas stream in; an idle link applies at once. */
                        if (l->applying > 0 && !link_full_batch_waiting(l))
                                return;
                        link_apply_deltas(l);
                } else {
                        if (l->applying == 0)
                                link_apply_snapshot_item(l);
                        return;
                }
        }
}

/* Queue ENV; for a Delta, its changes from SKIP on (N of them). */
static void link_enqueue(struct link *l, Vigil__Envelope *env, uint32_t skip, uint32_t n)
{
        struct link_item *it = malloc(sizeof(*it));

        vigil_require(it != NULL);
        it->next = NULL;
        it->env = env;
        it->skip = skip;
        it->n = n;
        if (l->inbox_tail)
                l->inbox_tail->next = it;
        else
                l->inbox = it;
        l->inbox_tail = it;
        l->inbox_len++;
        l->unsubmitted += n;
        if (env->body_case != VIGIL__ENVELOPE__BODY_DELTA)
                l->unsubmitted_other++;
        if (!l->cursor)
                l->cursor = it;
}

static void link_receive_delta(struct link *l, Vigil__Envelope *env)
{
        uint64_t expected = l->inbox_last + 1, count;

        if (!l->have_state && !l->in_snapshot) {
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
        if (env->seq > expected) {
                Vigil__Envelope r = VIGIL__ENVELOPE__INIT;
                Vigil__ResendRequest rr = VIGIL__RESEND_REQUEST__INIT;
                l->gaps++;
                wire_envelope_free(env);
                if (l->resend_asked == expected)
                        return;  /* asked once; the resend is on its way */
                l->resend_asked = expected;
                log_warn("link", "peer=%s msg=\"gap, asking for a resend\" expected=%" PRIu64,
                         l->peer_id, expected);
                rr.has_from_seq = 1;
                rr.from_seq = expected;
                r.body_case = VIGIL__ENVELOPE__BODY_RESEND_REQUEST;
                r.resend_request = &rr;
                link_send(l, &r);
                return;
        }
        /* A resend may overlap what is queued: take the changes after it. */
        l->inbox_last = env->seq + count - 1;
        link_enqueue(l, env, (uint32_t)(expected - env->seq), (uint32_t)(env->seq + count - expected));
}

void link_receive(struct link *l, Vigil__Envelope *env)
{
        l->received++;
        if (!l->session) {
                wire_envelope_free(env);
                return;
        }
        switch (env->body_case) {
        case VIGIL__ENVELOPE__BODY_ACK:
                if (env->ack->has_snapshot_chunks && l->snap) {
                        l->snap_unacked -= (int)env->ack->snapshot_chunks;
                        if (l->snap_unacked < 0)
                                l->snap_unacked = 0;
                        link_pump_send(l);
                }
                if (env->ack->seq > l->acked && env->ack->seq < l->next_send) {
                        l->acked = env->ack->seq;
                        link_pump_send(l);
                }
                wire_envelope_free(env);
                return;
        case VIGIL__ENVELOPE__BODY_RESEND_REQUEST:
                if (env->resend_request->from_seq > l->acked &&
                    env->resend_request->from_seq < l->next_send && !l->reading) {
                        l->next_send = env->resend_request->from_seq;
                        l->more = true;
                        link_pump_send(l);
                }
                wire_envelope_free(env);
                return;
        case VIGIL__ENVELOPE__BODY_DELTA:
                link_receive_delta(l, env);
                break;
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN:
                link_inbox_clear(l);
                l->apply_gen++;    /* drop callbacks of what we just cleared */
                l->in_snapshot = true;
                l->snap_seq = env->snapshot_begin->seq;
                l->inbox_last = env->snapshot_begin->seq;
                if (env->snapshot_begin->epoch && *env->snapshot_begin->epoch)
                        snprintf(l->peer_epoch, sizeof(l->peer_epoch), "%s", env->snapshot_begin->epoch);
                link_enqueue(l, env, 0, 1);
                break;
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_END:
                if (!l->in_snapshot) {
                        wire_envelope_free(env);
                        return;
                }
                link_enqueue(l, env, 0, 1);
                break;
        default:
                wire_envelope_free(env);
                return;
        }
        link_pump_apply(l);
}

/* --- the node's links --- */

void link_set_init(struct link_set *s, uv_loop_t *loop, const struct config *cfg, struct change_table *kinds,
                   struct snapshot_table *sections)
{
        memset(s, 0, sizeof(*s));
        s->loop = loop;
        s->cfg = cfg;
        s->kinds = kinds;
        s->sections = sections;
}

void link_set_deinit(struct link_set *s)
{
        free(s->children);
        s->children = NULL;
        s->n_children = 0;
        s->parent = NULL;
}

void link_set_db(struct link_set *s, struct db *db, struct db *db_read, const char *epoch)
{
        s->db = db;
        s->db_read = db_read;
        if (epoch)
                snprintf(s->epoch, sizeof(s->epoch), "%s", epoch);
}

void link_set_add_child(struct link_set *s, struct link *l)
{
        struct link **nc = realloc(s->children, (size_t)(s->n_children + 1) * sizeof(*nc));

        vigil_require(nc != NULL);
        s->children = nc;
        s->children[s->n_children++] = l;
}

void link_set_listen(struct link_set *s, const struct link_listener *ls)
{
        vigil_require(s->n_listeners < LINK_MAX_LISTENERS);
        s->listeners[s->n_listeners++] = *ls;
}

void link_set_handle(struct link_set *s, int body_case, enum link_dir from, link_handler_fn fn, void *arg)
{
        vigil_require(s->n_handlers < LINK_MAX_HANDLERS);
        s->handlers[s->n_handlers].body_case = body_case;
        s->handlers[s->n_handlers].from = from;
        s->handlers[s->n_handlers].fn = fn;
        s->handlers[s->n_handlers].arg = arg;
        s->n_handlers++;
}

bool link_set_handles(const struct link_set *s, enum link_dir from, int body_case)
{
        int i;

        for (i = 0; i < s->n_handlers; i++)
                if (s->handlers[i].body_case == body_case && s->handlers[i].from == from)
                        return true;
        return false;
}

int link_set_dispatch(struct link_set *s, enum link_dir from, const char *peer, const Vigil__Envelope *env)
{
        int i;

        for (i = 0; i < s->n_handlers; i++)
                if (s->handlers[i].body_case == (int)env->body_case && s->handlers[i].from == from) {
                        s->handlers[i].fn(s->handlers[i].arg, peer, env);
                        return 0;
                }
        return -ENOENT;
}

const char *link_set_parent_id(const struct link_set *s)
{
        return s->cfg->tier != TIER_CITY ? s->cfg->parent_id : NULL;
}

struct db *link_set_read_db(struct link_set *s)
{
        return s->db_read && db_is_up(s->db_read) ? s->db_read : s->db;
}

void link_set_for_children(struct link_set *s, void (*fn)(struct link *l, void *arg), void *arg)
{
        int i;

        for (i = 0; i < s->n_children; i++)
                fn(s->children[i], arg);
}

void link_set_kick_parent(struct link_set *s)
{
        if (s->parent)
                link_kick(s->parent);
}

void link_set_kick_children(struct link_set *s)
{
        int i;

        for (i = 0; i < s->n_children; i++)
                link_kick(s->children[i]);
}

void link_set_read_parent_in(struct link_set *s, struct db_tx *tx)
{
        if (s->parent)
                link_read_in(s->parent, tx);
}

void link_set_read_children_in(struct link_set *s, struct db_tx *tx)
{
        int i;

        for (i = 0; i < s->n_children; i++)
                link_read_in(s->children[i], tx);
}

void link_set_kick_parent_after(struct link_set *s, const struct db_tx *tx)
{
        if (s->parent)
                link_kick_after(s->parent, tx);
}

void link_set_kick_children_after(struct link_set *s, const struct db_tx *tx)
{
        int i;

        for (i = 0; i < s->n_children; i++)
                link_kick_after(s->children[i], tx);
}

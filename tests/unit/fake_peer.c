/* fake_peer: the fake transport and node of fake_peer.h. */
#include "fake_peer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sqlarray.h"
#include "unit.h"
#include "wire/wire.h"

/* --- the node --- */

static int peer_send(struct link *l, Vigil__Envelope *env)
{
        struct peer *p = l->owner;
        Vigil__Envelope *copy = NULL;
        uint8_t *buf;
        size_t len;
        char err[256] = "";

        CHECK(wire_encode_envelope(env, &buf, &len) == 0);
        if (wire_decode_envelope(buf, len, &copy, err, sizeof(err)) != 0) {
                fprintf(stderr, "link to %s sent a %s the peer cannot decode: %s\n", l->peer_id,
                        wire_body_name(env), err);
                CHECK(!"a well-formed message");
        }
        free(buf);
        if (p->n_sent == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 64;
                p->sent = realloc(p->sent, (size_t)p->cap * sizeof(*p->sent));
                CHECK(p->sent != NULL);
        }
        p->sent[p->n_sent++] = copy;
        return 0;
}

static void peer_init(struct node *n, struct peer *p, enum link_dir dir, const char *id)
{
        memset(p, 0, sizeof(*p));
        link_init(&p->l, &n->set, dir, id);
        p->l.send = peer_send;
        p->l.owner = p;
        p->node = n;
}

static void peer_deinit(struct peer *p)
{
        int i;

        for (i = 0; i < p->n_sent; i++)
                wire_envelope_free(p->sent[i]);
        free(p->sent);
        p->sent = NULL;
        p->n_sent = p->cap = p->read = 0;
        link_deinit(&p->l);
}

static void heard_submitted(void *arg, struct link *l, unsigned notes)
{
        struct node *n = arg;

        n->submitted++;
        n->submitted_notes |= notes;
        n->pending_at_submitted = fake_db_pending(n->db);
        n->heard = l;
}

static void heard_applied(void *arg, struct link *l, unsigned notes)
{
        struct node *n = arg;

        n->applied++;
        n->applied_notes |= notes;
        n->heard = l;
}

static void heard_snapshot_applied(void *arg, struct link *l)
{
        struct node *n = arg;

        n->snapshot_applied++;
        n->heard = l;
}

void quiet_logs(void)
{
        if (!getenv("VIGIL_TEST_LOG"))
                CHECK(log_open("/dev/null") == 0);
}

void node_init(struct node *n, enum tier tier, int window)
{
        memset(n, 0, sizeof(*n));
        n->cfg.tier = tier;
        n->cfg.window = window;
        snprintf(n->cfg.node_id, sizeof(n->cfg.node_id), "%s",
                 tier == TIER_STATION ? STATION : tier == TIER_DISTRICT ? DISTRICT : CITY);
        snprintf(n->cfg.parent_id, sizeof(n->cfg.parent_id), "%s",
                 tier == TIER_STATION ? DISTRICT : tier == TIER_DISTRICT ? CITY : "");
        fake_tables_init(&n->tables);
        link_set_init(&n->set, NULL, &n->cfg, &n->tables.kinds, &n->tables.sections);
        n->db = fake_db_new("db");
        n->db_read = fake_db_new("db_read");
        link_set_db(&n->set, n->db, n->db_read, "epoch-ours");
        n->set.versions = &n->versions;         /* no reserve: nothing to record */
        link_set_listen(&n->set, &(struct link_listener){
                .submitted = heard_submitted, .applied = heard_applied,
                .snapshot_applied = heard_snapshot_applied, .arg = n });
        if (tier != TIER_CITY) {
                peer_init(n, &n->up, LINK_TO_PARENT, n->cfg.parent_id);
                n->set.parent = &n->up.l;
        }
        if (tier == TIER_DISTRICT) {
                peer_init(n, &n->down[0], LINK_TO_CHILD, STATION);
                peer_init(n, &n->down[1], LINK_TO_CHILD, STATION2);
                n->n_down = 2;
                link_set_add_child(&n->set, &n->down[0].l);
                link_set_add_child(&n->set, &n->down[1].l);
        }
}

static int node_sent(const struct node *n)
{
        int i, sent = n->set.parent ? n->up.n_sent : 0;

        for (i = 0; i < n->n_down; i++)
                sent += n->down[i].n_sent;
        return sent;
}

void node_deinit(struct node *n)
{
        int i, sent;

        if (n->set.parent)
                link_session_end(&n->up.l);
        for (i = 0; i < n->n_down; i++)
                link_session_end(&n->down[i].l);
        sent = node_sent(n);
        /* A gathered transaction still open goes once the one in flight is
         * done; one never submitted is submitted here, to fail with the rest. */
        fake_db_fail_all(n->db_read);
        fake_db_fail_all(n->db);
        if (n->set.gather) {
                db_submit(n->db, n->set.gather, NULL, NULL);
                n->set.gather = NULL;
                fake_db_fail_all(n->db);
        }
        CHECK(fake_db_pending(n->db_read) == 0);
        CHECK(node_sent(n) == sent);   /* late callbacks of ended sessions change nothing */
        if (n->set.parent)
                peer_deinit(&n->up);
        for (i = 0; i < n->n_down; i++)
                peer_deinit(&n->down[i]);
        link_set_deinit(&n->set);
        fake_db_free(n->db);
        fake_db_free(n->db_read);
}

/* --- what the link sent --- */

int peer_unread(const struct peer *p)
{
        return p->n_sent - p->read;
}

Vigil__Envelope *peer_expect(const char *file, int line, struct peer *p, int body)
{
        Vigil__Envelope *env, want = VIGIL__ENVELOPE__INIT;

        want.body_case = body;
        if (p->read == p->n_sent) {
                fprintf(stderr, "%s:%d: link to %s: expected a %s, none was sent\n", file, line, p->l.peer_id,
                        wire_body_name(&want));
                exit(1);
        }
        env = p->sent[p->read++];
        if ((int)env->body_case != body) {
                fprintf(stderr, "%s:%d: link to %s: message #%d is a %s, expected a %s\n", file, line,
                        p->l.peer_id, p->read, wire_body_name(env), wire_body_name(&want));
                exit(1);
        }
        return env;
}

void peer_expect_delta(const char *file, int line, struct peer *p, uint64_t seq, size_t n)
{
        Vigil__Envelope *env = peer_expect(file, line, p, VIGIL__ENVELOPE__BODY_DELTA);
        size_t i, count = wire_delta_count(env->delta);

        if (!env->has_seq || env->seq != seq || count != n) {
                fprintf(stderr, "%s:%d: link to %s: Delta(seq %" PRIu64 ", %zu changes), expected (%"
                        PRIu64 ", %zu)\n", file, line, p->l.peer_id, env->seq, count, seq, n);
                exit(1);
        }
        for (i = 0; i < n; i++) {
                const ProtobufCBinaryData *d = wire_delta_change(env->delta, i);
                uint64_t number = fake_probe_number(d->data, d->len, NULL, 0);
                if (number != seq + i) {
                        fprintf(stderr, "%s:%d: Delta(%" PRIu64 ") change %zu is probe %" PRIu64 "\n",
                                file, line, seq, i, number);
                        exit(1);
                }
        }
}

void peer_expect_ack(const char *file, int line, struct peer *p, uint64_t seq)
{
        Vigil__Envelope *env = peer_expect(file, line, p, VIGIL__ENVELOPE__BODY_ACK);

        if (!env->ack->has_seq || env->ack->seq != seq || env->ack->has_snapshot_chunks) {
                fprintf(stderr, "%s:%d: link to %s: Ack(seq %" PRIu64 ", chunks %u), expected Ack(%"
                        PRIu64 ")\n", file, line, p->l.peer_id, env->ack->seq, env->ack->snapshot_chunks, seq);
                exit(1);
        }
}

void peer_expect_chunk_ack(const char *file, int line, struct peer *p)
{
        Vigil__Envelope *env = peer_expect(file, line, p, VIGIL__ENVELOPE__BODY_ACK);

        if (env->ack->has_seq || !env->ack->has_snapshot_chunks || env->ack->snapshot_chunks != 1) {
                fprintf(stderr, "%s:%d: link to %s: Ack(seq %" PRIu64 ", chunks %u), expected a "
                        "chunk's\n", file, line, p->l.peer_id, env->ack->seq, env->ack->snapshot_chunks);
                exit(1);
        }
}

void peer_expect_chunk(const char *file, int line, struct peer *p, uint64_t first, size_t n, const char *origin)
{
        Vigil__Envelope *env = peer_expect(file, line, p, VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK);
        size_t i;
        char o[32];

        if (env->snapshot_chunk->n_changes != n) {
                fprintf(stderr, "%s:%d: link to %s: a chunk of %zu, expected %zu\n", file, line,
                        p->l.peer_id, env->snapshot_chunk->n_changes, n);
                exit(1);
        }
        for (i = 0; i < n; i++) {
                const ProtobufCBinaryData *d = &env->snapshot_chunk->changes[i];
                uint64_t number = fake_probe_number(d->data, d->len, o, sizeof(o));
                if (number != first + i || strcmp(o, origin) != 0) {
                        fprintf(stderr, "%s:%d: chunk item %zu is %s %" PRIu64 ", expected %s %" PRIu64
                                "\n", file, line, i, o, number, origin, first + i);
                        exit(1);
                }
        }
}

void peer_expect_none(const char *file, int line, const struct peer *p)
{
        if (p->read != p->n_sent) {
                fprintf(stderr, "%s:%d: link to %s sent %d more, the next a %s\n", file, line, p->l.peer_id,
                        p->n_sent - p->read, wire_body_name(p->sent[p->read]));
                exit(1);
        }
}

/* --- what the peer sends --- */

void rx_envelope(struct peer *p, Vigil__Envelope *env)
{
        link_receive(&p->l, env);
}

static void rx(struct peer *p, Vigil__Envelope *env)
{
        Vigil__Envelope *copy = NULL;
        uint8_t *buf;
        size_t len;
        char err[256] = "";

        CHECK(wire_encode_envelope(env, &buf, &len) == 0);
        if (wire_decode_envelope(buf, len, &copy, err, sizeof(err)) != 0) {
                fprintf(stderr, "a test's %s does not decode: %s\n", wire_body_name(env), err);
                CHECK(!"a well-formed message");
        }
        free(buf);
        link_receive(&p->l, copy);
}

void rx_delta_of(struct peer *p, uint64_t seq, uint8_t **changes, size_t *lens, size_t n)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Delta d = VIGIL__DELTA__INIT;
        ProtobufCBinaryData *items = calloc(n ? n : 1, sizeof(*items));
        size_t i;

        CHECK(items != NULL);
        for (i = 0; i < n; i++) {
                items[i].data = changes[i];
                items[i].len = lens[i];
        }
        d.n_changes = n;
        d.changes = items;
        env.has_seq = 1;
        env.seq = seq;
        env.body_case = VIGIL__ENVELOPE__BODY_DELTA;
        env.delta = &d;
        rx(p, &env);
        for (i = 0; i < n; i++)
                free(changes[i]);
        free(items);
}

static void probes(uint64_t first, size_t n, uint8_t ***ret, size_t **ret_lens)
{
        uint8_t **changes = calloc(n ? n : 1, sizeof(*changes));
        size_t *lens = calloc(n ? n : 1, sizeof(*lens)), i;

        CHECK(changes && lens);
        for (i = 0; i < n; i++)
                fake_probe(first + i, "x", &changes[i], &lens[i]);
        *ret = changes;
        *ret_lens = lens;
}

void rx_delta(struct peer *p, uint64_t seq, size_t n)
{
        uint8_t **changes;
        size_t *lens;

        probes(seq, n, &changes, &lens);
        rx_delta_of(p, seq, changes, lens, n);
        free(changes);
        free(lens);
}

void rx_ack(struct peer *p, uint64_t seq)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_seq = 1;
        a.seq = seq;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        rx(p, &env);
}

void rx_chunk_ack(struct peer *p, uint32_t chunks)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_snapshot_chunks = 1;
        a.snapshot_chunks = chunks;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        rx(p, &env);
}

void rx_chunk_ack_seq(struct peer *p, uint64_t seq)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_snapshot_chunks = 1;
        a.snapshot_chunks = 1;
        a.has_snapshot_chunk_seq = 1;
        a.snapshot_chunk_seq = seq;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        rx(p, &env);
}

void rx_busy(struct peer *p)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Ack a = VIGIL__ACK__INIT;

        a.has_busy = 1;
        a.busy = 1;
        env.body_case = VIGIL__ENVELOPE__BODY_ACK;
        env.ack = &a;
        rx(p, &env);
}

void rx_resend(struct peer *p, uint64_t from_seq)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__ResendRequest r = VIGIL__RESEND_REQUEST__INIT;

        r.has_from_seq = 1;
        r.from_seq = from_seq;
        env.body_case = VIGIL__ENVELOPE__BODY_RESEND_REQUEST;
        env.resend_request = &r;
        rx(p, &env);
}

void rx_snapshot_begin(struct peer *p, uint64_t seq, const char *epoch)
{
        rx_snapshot_begin_at(p, seq, epoch, 0);
}

void rx_snapshot_begin_at(struct peer *p, uint64_t seq, const char *epoch, int64_t version)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__SnapshotBegin b = VIGIL__SNAPSHOT_BEGIN__INIT;

        b.has_version = version != 0;
        b.version = version;
        b.has_seq = 1;
        b.seq = seq;
        b.epoch = (char *)epoch;
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN;
        env.snapshot_begin = &b;
        rx(p, &env);
}

/* A chunk numbered SEQ (0: not numbered, as a sender before issue 17). */
static void rx_chunk_seq_of(struct peer *p, uint64_t seq, uint8_t **changes, size_t *lens, size_t n)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__SnapshotChunk ch = VIGIL__SNAPSHOT_CHUNK__INIT;
        ProtobufCBinaryData *items = calloc(n ? n : 1, sizeof(*items));
        size_t i;

        CHECK(items != NULL);
        for (i = 0; i < n; i++) {
                items[i].data = changes[i];
                items[i].len = lens[i];
        }
        ch.n_changes = n;
        ch.changes = items;
        ch.has_seq = seq != 0;
        ch.seq = seq;
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK;
        env.snapshot_chunk = &ch;
        rx(p, &env);
        for (i = 0; i < n; i++)
                free(changes[i]);
        free(items);
}

void rx_chunk_of(struct peer *p, uint8_t **changes, size_t *lens, size_t n)
{
        rx_chunk_seq_of(p, 0, changes, lens, n);
}

void rx_chunk_numbered(struct peer *p, uint64_t seq, uint64_t first, size_t n)
{
        uint8_t **changes;
        size_t *lens;

        probes(first, n, &changes, &lens);
        rx_chunk_seq_of(p, seq, changes, lens, n);
        free(changes);
        free(lens);
}

void rx_chunk(struct peer *p, uint64_t first, size_t n)
{
        uint8_t **changes;
        size_t *lens;

        probes(first, n, &changes, &lens);
        rx_chunk_of(p, changes, lens, n);
        free(changes);
        free(lens);
}

void rx_snapshot_end(struct peer *p, uint64_t seq, uint64_t items)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__SnapshotEnd e = VIGIL__SNAPSHOT_END__INIT;

        e.has_seq = 1;
        e.seq = seq;
        e.has_items = 1;
        e.items = items;
        env.body_case = VIGIL__ENVELOPE__BODY_SNAPSHOT_END;
        env.snapshot_end = &e;
        rx(p, &env);
}

/* --- the databases --- */

struct db_tx *next_tx(const char *file, int line, struct db *db, const char *sql)
{
        struct db_tx *tx = fake_db_peek(db, 0);

        if (!tx) {
                fprintf(stderr, "%s:%d: expected a transaction (%s), none waits\n", file, line, sql);
                exit(1);
        }
        if (fake_tx_statements(tx) == 0 || !strstr(fake_tx_sql(tx, 0), sql)) {
                fprintf(stderr, "%s:%d: expected a transaction (%s), the next is \"%s\"\n", file, line, sql,
                        fake_tx_statements(tx) ? fake_tx_sql(tx, 0) : "(empty)");
                exit(1);
        }
        return tx;
}

int outbox_read_in(const char *file, int line, const struct db_tx *tx, const char *peer, uint64_t from, int *ret_limit)
{
        int i = fake_tx_find(tx, OUTBOX_READ, 0);
        char want[24];

        snprintf(want, sizeof(want), "%" PRIu64, from);
        if (i < 0 || fake_tx_nparams(tx, i) != 3 || strcmp(fake_tx_param(tx, i, 0), peer) != 0 ||
            strcmp(fake_tx_param(tx, i, 1), want) != 0 || !fake_tx_binary(tx, i)) {
                fprintf(stderr, "%s:%d: expected a binary outbox read for %s from %s, found %s%s%s%s\n",
                        file, line, peer, want, i < 0 ? "none" : fake_tx_sql(tx, i), i < 0 ? "" : " with ",
                        i < 0 ? "" : fake_tx_param(tx, i, 0), i < 0 ? "" : fake_tx_param(tx, i, 1));
                exit(1);
        }
        CHECK_CONTAINS(fake_tx_sql(tx, i), "ORDER BY last_seq LIMIT $3");
        if (ret_limit)
                *ret_limit = atoi(fake_tx_param(tx, i, 2));
        return i;
}

PGresult *outbox_result(void)
{
        static const char *const names[2] = { "seq", "changes" };
        static const int formats[2] = { 1, 1 };

        return fake_result_new(2, names, formats);
}

static void outbox_set_row(PGresult *res, uint64_t seq, const void *changes, int len)
{
        int row = PQntuples(res), i;
        uint8_t be[8];

        for (i = 0; i < 8; i++)
                be[i] = (uint8_t)(seq >> (56 - 8 * i));
        fake_result_set(res, row, 0, be, 8);
        fake_result_set(res, row, 1, changes, len);
}

void outbox_add_changes(PGresult *res, uint64_t seq, uint8_t **changes, const size_t *lens, size_t n)
{
        struct sqlarray a = { 0 };
        const char *v;
        int len, format;
        size_t i;

        /* The `changes` column as the link reads it: a bytea[] in binary. */
        sqlarray_set_type(&a, SQLARRAY_BYTEA);
        for (i = 0; i < n; i++) {
                if (changes[i])
                        sqlarray_add_bytea(&a, changes[i], lens[i]);
                else
                        sqlarray_add_null(&a);
        }
        sqlarray_param(&a, &v, &len, &format);
        CHECK(format == 1);
        outbox_set_row(res, seq, v, len);
        sqlarray_deinit(&a);
}

void outbox_add(PGresult *res, uint64_t seq, size_t n)
{
        uint8_t **changes;
        size_t *lens, i;

        probes(seq, n, &changes, &lens);
        outbox_add_changes(res, seq, changes, lens, n);
        for (i = 0; i < n; i++)
                free(changes[i]);
        free(changes);
        free(lens);
}

void outbox_add_raw(PGresult *res, uint64_t seq, const void *raw, int len)
{
        outbox_set_row(res, seq, raw, len);
}

void answer_read(const char *file, int line, struct db *db, PGresult *res)
{
        struct db_tx *tx = fake_db_peek(db, 0);
        int i;

        if (!tx || (i = fake_tx_find(tx, OUTBOX_READ, 0)) < 0) {
                fprintf(stderr, "%s:%d: expected an outbox read, found %s\n", file, line,
                        tx && fake_tx_statements(tx) ? fake_tx_sql(tx, 0) : "none");
                exit(1);
        }
        fake_tx_set_result(tx, i, res ? res : outbox_result());
        fake_db_complete(db, 0, NULL);
}

PGresult *text_result(const char *column, const char *const *values, int n)
{
        PGresult *res = fake_result_new(1, &column, NULL);
        int i;

        for (i = 0; i < n; i++)
                fake_result_add_row(res, &values[i]);
        return res;
}

void answer_value(struct db *db, int i, const char *value)
{
        struct db_tx *tx = fake_db_peek(db, 0);

        CHECK(tx != NULL);
        fake_tx_set_result(tx, i, text_result("value", &value, 1));
        fake_db_complete(db, 0, NULL);
}

static void on_loaded(struct link *l, int err, void *arg)
{
        (void)l;
        *(int *)arg = err + 1000;
}

void start_streaming(struct peer *p, const char *epoch, uint64_t applied, uint64_t peer_applied)
{
        struct node *n = p->node;
        static const char *const names[2] = { "epoch", "last_seq" };
        char seq[24];
        const char *row[2] = { epoch, seq };
        PGresult *res = fake_result_new(2, names, NULL);
        struct db_tx *tx;
        int loaded = 0;

        snprintf(seq, sizeof(seq), "%" PRIu64, applied);
        fake_result_add_row(res, row);
        link_load(&p->l, on_loaded, &loaded);
        tx = NEXT_TX(n->db, "FROM applied_seq");
        CHECK_STREQ(fake_tx_param(tx, 0, 0), p->l.peer_id);
        fake_tx_set_result(tx, 0, res);
        fake_db_complete(n->db, 0, NULL);
        CHECK(loaded == 1000);
        link_session_start(&p->l, epoch, true, peer_applied);
        CHECK(p->l.in.state == LINK_RECV_DELTAS && p->l.out.state == LINK_SEND_DELTAS);
        CHECK(p->l.in.applied == applied);
        OUTBOX_READ_IN(NEXT_TX(n->db_read, OUTBOX_READ), p->l.peer_id, peer_applied + 1, NULL);
        ANSWER_READ(n->db_read, NULL);
        CHECK(fake_db_pending(n->db_read) == 0);
}

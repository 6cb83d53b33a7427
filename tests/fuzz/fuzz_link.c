/* Fuzz target for the link's receive state machine (issue 17, harness item
 * 4): lib/delivery/link*.c fed a sequence of envelopes from the peer, as
 * the uplink and the downlink hand them over (link_receive), mixed with
 * the databases committing, failing and the session restarting. The node,
 * its peer and its databases are the unit tests' fakes (tests/unit/
 * fake_peer.h, fake_db.h, fake_tables.h): no network, no PostgreSQL.
 *
 * Input:
 *   byte 0   bit 0: the station's link to its parent (0) or the district's
 *                   link to its child station (1, with group commit);
 *            bits 1-4: [link] window, 1 + 4 * that
 *   byte 1   the sequence the receiver has applied at the start
 *   then operations, each a byte OP:
 *     OP % 8 < 3   an envelope: 2-byte big-endian length, that many bytes
 *                  (wire_decode_envelope'd, as the transports do; what
 *                  does not decode is dropped)
 *     OP % 8 == 3  the main database commits its next transaction
 *     OP % 8 == 4  ... fails it (an SQL error)
 *     OP % 8 == 5  the outbox reader commits everything waiting
 *     OP % 8 == 6  the session ends and a new one starts (the peer's
 *                  Hello), from what the database holds (only while
 *                  streaming deltas)
 *     OP % 8 == 7  the main database commits everything waiting
 *
 * Invariants checked after every operation (abort() is a finding):
 * within one peer epoch the sequence applied never goes backwards, but
 * to a snapshot's (which replaces the peer's state whole); the
 * inbox's length is what its list holds, and never more than the
 * messages received; applying transactions in flight stay within
 * LINK_APPLY_DEPTH. Memory: LeakSanitizer at the end of each input
 * (node_deinit frees everything). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/link-impl.h"
#include "fake_db.h"
#include "fake_peer.h"
#include "fake_tables.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PEER_EPOCH "epoch-peer"

static void fail(const char *what, const struct link *l)
{
        fprintf(stderr, "fuzz_link: %s (state %d, applied %llu, inbox %d, applying %d)\n", what, l->in.state,
                (unsigned long long)l->in.applied, l->in.inbox_len, l->in.applying);
        abort();
}

/* Commit DB's next transaction, its outbox read (if any) answered with
 * an empty outbox, as the databases would. */
static void commit_next(struct db *db)
{
        struct db_tx *tx = fake_db_peek(db, 0);
        int i;

        if (!tx)
                return;
        i = fake_tx_find(tx, OUTBOX_READ, 0);
        if (i >= 0)
                fake_tx_set_result(tx, i, outbox_result());
        fake_db_complete(db, 0, NULL);
}

static void commit_all(struct db *db)
{
        int n = 0;

        while (fake_db_pending(db) > 0 && n++ < 1000)
                commit_next(db);
}

struct watch {
        char epoch[64];
        uint64_t applied;
        uint64_t gen;           /* the link's apply_gen: bumped by each SnapshotBegin */
        bool window_checked;            /* always, since issue 17 fault 5 was fixed */
        unsigned long received;
};

static void check(struct peer *p, struct watch *w)
{
        const struct link *l = &p->l;
        const struct link_item *it;
        int n = 0;

        /* While a snapshot is received, peer_epoch is already the new
         * epoch's and applied still the old one's (until its SnapshotEnd
         * applies): only a link streaming deltas holds a consistent pair. */
        bool streaming = l->in.have_state && l->in.state == LINK_RECV_DELTAS;

        if (streaming && l->in.apply_gen != w->gen) {
                /* A snapshot applied since: it replaces the peer's state
                 * whole, and the link is at its sequence or past it. */
                if (l->in.applied < l->in.snap_seq)
                        fail("applied is before the snapshot's sequence", l);
                w->gen = l->in.apply_gen;
        } else if (streaming && strcmp(w->epoch, l->in.peer_epoch) == 0 && l->in.applied < w->applied) {
                fail("applied went backwards", l);
        }
        if (streaming) {
                snprintf(w->epoch, sizeof(w->epoch), "%s", l->in.peer_epoch);
                w->applied = l->in.applied;
        }
        for (it = l->in.inbox; it; it = it->next)
                if (++n > l->in.inbox_len)
                        break;
        if (n != l->in.inbox_len)
                fail("inbox length is not what the inbox holds", l);
        if ((unsigned long)l->in.inbox_len > w->received)
                fail("inbox holds more than was received", l);
        if (l->in.applying < 0 || l->in.applying > LINK_APPLY_DEPTH)
                fail("applying transactions out of bounds", l);
        /* Issue 17, fault 5: whatever a peer sends, the inbox holds at
         * most twice the window (LINK_INBOX_WINDOWS; a message holds a
         * change at least), and the snapshot's end. */
        if (l->in.inbox_len > LINK_INBOX_WINDOWS * l->set->cfg->window + 1)
                fail("the inbox holds more than twice the window", l);
}

/* Only from a link streaming deltas, whose state in memory is what its
 * database holds. */
static void restart(struct peer *p)
{
        struct node *n = p->node;
        char epoch[64];
        uint64_t applied = p->l.in.applied;

        if (!p->l.in.have_state || p->l.in.state != LINK_RECV_DELTAS)
                return;
        snprintf(epoch, sizeof(epoch), "%s", p->l.in.peer_epoch);
        link_session_end(&p->l);
        fake_db_fail_all(n->db);
        fake_db_fail_all(n->db_read);
        /* The database holds what committed: what the link says it applied. */
        start_streaming(p, epoch, applied, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct node n;
        static bool quiet, trace;
        struct peer *p;
        struct watch w = { "", 0, 0, 0, true };
        size_t at = 2;

        if (!quiet) {
                quiet = true;
                quiet_logs();
                /* Each operation and the link's state after it, to read a finding. */
                trace = getenv("VIGIL_FUZZ_TRACE") != NULL;
        }
        if (size < 2)
                return 0;
        node_init(&n, data[0] & 1 ? TIER_DISTRICT : TIER_STATION, 1 + 4 * ((data[0] >> 1) & 15));
        p = data[0] & 1 ? &n.down[0] : &n.up;
        start_streaming(p, PEER_EPOCH, data[1], 0);
        check(p, &w);
        while (at < size) {
                uint8_t op = data[at++] % 8;

                if (op < 3) {
                        Vigil__Envelope *env = NULL;
                        size_t len;
                        uint8_t *copy;
                        char err[256];

                        if (at + 2 > size)
                                break;
                        len = (size_t)data[at] << 8 | data[at + 1];
                        at += 2;
                        if (len > size - at)
                                len = size - at;
                        copy = malloc(len ? len : 1);
                        if (!copy)
                                break;
                        memcpy(copy, data + at, len);
                        at += len;
                        if (wire_decode_envelope(copy, len, &env, err, sizeof(err)) == 0) {
                                w.received++;
                                if (trace)
                                        fprintf(stderr, "rx %s seq %llu\n", wire_body_name(env),
                                                (unsigned long long)env->seq);
                                link_receive(&p->l, env);
                        }
                        free(copy);
                } else if (op == 3) {
                        commit_next(n.db);
                } else if (op == 4) {
                        if (fake_db_pending(n.db) > 0)
                                fake_db_complete(n.db, -EPROTO, "fuzz: the statement failed");
                } else if (op == 5) {
                        commit_all(n.db_read);
                } else if (op == 6) {
                        restart(p);
                } else {
                        commit_all(n.db);
                }
                if (trace)
                        fprintf(stderr, "op %d: state %d epoch %s applied %llu have %d inbox %d applying %d "
                                "pending %d/%d\n", op, p->l.in.state, p->l.in.peer_epoch,
                                (unsigned long long)p->l.in.applied, p->l.in.have_state, p->l.in.inbox_len,
                                p->l.in.applying, fake_db_pending(n.db), fake_db_pending(n.db_read));
                check(p, &w);
        }
        node_deinit(&n);
        return 0;
}

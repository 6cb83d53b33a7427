/* Both ends of a link, a station's uplink and its district's downlink,
 * each a node of its own, with the test carrying the messages between them
 * (and losing some): test_link.c says how. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/link-impl.h"
#include "fake_db.h"
#include "fake_peer.h"
#include "fake_tables.h"
#include "test_link.h"
#include "unit.h"
#include "wire/wire.h"

/* A second node, for the tests that need both ends of a link. */
struct node far_end;

/* Hand what FROM sent and the test has not read to TO's link, in order. */
void deliver(struct peer *from, struct peer *to)
{
        while (from->read < from->n_sent) {
                Vigil__Envelope *env = from->sent[from->read];
                from->sent[from->read++] = NULL;   /* TO's link owns it now */
                rx_envelope(to, env);
        }
}

/* Answer ND's outbox reads as an outbox that holds, for every peer, the
 * changes 1 .. UPTO (probes), a row from wherever the read starts; commit
 * its trims. */
void serve_outbox(struct node *nd, uint64_t upto)
{
        struct db_tx *tx;

        while ((tx = fake_db_peek(nd->db_read, 0))) {
                int i = fake_tx_find(tx, OUTBOX_READ, 0);
                if (i >= 0) {
                        uint64_t from = strtoull(fake_tx_param(tx, i, 1), NULL, 10);
                        PGresult *res = outbox_result();
                        if (from <= upto)
                                outbox_add(res, from, upto - from + 1);
                        fake_tx_set_result(tx, i, res);
                }
                fake_db_complete(nd->db_read, 0, NULL);
        }
}

/* Commit whatever waits on ND's main connection. */
void commit_all(struct node *nd)
{
        while (fake_db_pending(nd->db) > 0)
                fake_db_complete(nd->db, 0, NULL);
}

/* Heartbeats of both ends, each time serving the station's outbox (changes
 * 1 .. UPTO), committing what the district applies and carrying what each
 * sent to the other. */
void run_pair(struct peer *s, struct peer *r, uint64_t upto, int beats)
{
        int beat;

        for (beat = 0; beat < beats; beat++) {
                serve_outbox(&n, upto);
                serve_outbox(&far_end, 0);
                deliver(s, r);
                commit_all(&far_end);
                deliver(r, s);
                link_tick(&s->l);
                link_tick(&r->l);
        }
}

/* A Delta lost on the way: the gap asks for a resend, the sender rewinds,
 * and everything is applied, in order, once. */
static void test_pair_gap_heals(void)
{
        struct peer *s = &n.up, *r = &far_end.down[0];
        Vigil__Envelope *env;

        node_init(&n, TIER_STATION, 10000);
        node_init(&far_end, TIER_DISTRICT, 10000);
        start_streaming(r, "ES", 0, 0);
        link_session_start(&s->l, "ED", true, 0);
        serve_outbox(&n, 300);
        CHECK(peer_unread(s) == 2);   /* Delta(1, 256), Delta(257, 44) */
        s->read++;                    /* the first is lost on the way */
        deliver(s, r);
        env = r->sent[r->read];
        CHECK(env->body_case == VIGIL__ENVELOPE__BODY_RESEND_REQUEST && env->resend_request->from_seq == 1);
        deliver(r, s);
        CHECK(s->l.out.next == 1 && s->l.out.reading);
        run_pair(s, r, 305, 20);
        CHECK(link_applied(&r->l) == 305 && link_acked(&s->l) == 305);
        CHECK(r->l.applied_count == 305 && r->l.gaps == 1 && r->l.duplicates == 0);
        node_deinit(&far_end);
        node_deinit(&n);
}

void link_pair_tests(void)
{
        RUN(test_pair_gap_heals);
}

/* test_link: the parts of the link's unit tests (one executable). */
#pragma once

#include "fake_peer.h"

/* The node under test (test_link.c). */
extern struct node n;

/** Answer DB's next transaction, a snapshot page read of SQL, with N_ROWS
 *  rows numbered FIRST.. */
void answer_page(struct db *db, const char *sql, uint64_t first, int n_rows);

/* test_link_recv.c: the receiver, snapshots applied, gathering. */
void link_recv_tests(void);
/* test_link_pair.c: both ends of a link. FAR_END is the second node; the
 * station is N (its uplink the sender), the district FAR_END (its first
 * downlink the receiver). */
extern struct node far_end;
void link_pair_tests(void);
/** Hand what FROM sent and the test has not read to TO's link, in order. */
void deliver(struct peer *from, struct peer *to);
/** Answer ND's outbox reads as an outbox holding 1 .. UPTO; commit trims. */
void serve_outbox(struct node *nd, uint64_t upto);
/** Commit whatever waits on ND's main connection. */
void commit_all(struct node *nd);
/** BEATS heartbeats of both ends (S of N, R of FAR_END): serve N's
 *  outbox (1 .. UPTO), commit FAR_END's, carry the messages both ways. */
void run_pair(struct peer *s, struct peer *r, uint64_t upto, int beats);
/** K heartbeats of P, each followed by serving its node's outbox (1 ..
 *  UPTO: serve_outbox). */
void beats(struct peer *p, uint64_t upto, int k);
/** Read P's messages up to and including the first with body BODY
 *  (CHECK: there is one; those before it have body BEFORE, or any if 0);
 *  returns it. */
Vigil__Envelope *expect_after(const char *file, int line, struct peer *p, int before, int body);
#define EXPECT_AFTER(p, before, body) expect_after(__FILE__, __LINE__, (p), (before), VIGIL__ENVELOPE__BODY_##body)
/* test_link_restore.c: a restored database found, a new epoch. */
void link_restore_tests(void);

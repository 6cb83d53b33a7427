/* fake_peer: a node's links without a network, for test_link.c.
 *
 * A struct node is one node's link_set (its config, fake_tables.h's kinds
 * and sections, two fake_db.h databases: the main one and the one for
 * outbox reads) with a link to its parent and up to two to children. Each
 * link's transport is a struct peer: what the link sends is packed with
 * wire_encode_envelope() and decoded back with wire_decode_envelope(), so
 * only well-formed messages get through, and kept for the test to read, as
 * the peer would. What the peer sends is built, packed and decoded the same
 * way and handed to link_receive(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "delivery/link-impl.h"
#include "fake_db.h"
#include "fake_tables.h"
#include "vigil.pb-c.h"

#define CITY "43010000002000000001"
#define DISTRICT "43010400002000000001"
#define STATION "43010401002000000001"
#define STATION2 "43010402002000000001"

/* The start of the link's outbox read. */
#define OUTBOX_READ "SELECT seq, changes FROM outbox WHERE"

struct node;

struct peer {
        struct link l;
        struct node *node;
        Vigil__Envelope **sent;         /* what the link sent, decoded */
        int n_sent, cap, read;          /* ... and how many the test has read */
};

struct node {
        struct config cfg;
        struct fake_tables tables;
        struct link_set set;
        struct db *db, *db_read;
        struct vtime_versions versions; /* the node's version clock (no reservations) */
        struct peer up;                 /* to the parent (not at the city) */
        struct peer down[2];            /* to children (not at a station) */
        int n_down;
        /* What the listeners heard. */
        int submitted, applied, snapshot_applied;
        unsigned submitted_notes, applied_notes;
        int pending_at_submitted;       /* transactions waiting on db when `submitted` was heard */
        struct link *heard;
};

/** Log to stderr only with VIGIL_TEST_LOG set: the tests fail links on
 *  purpose, and the warnings they log are expected. */
void quiet_logs(void);
/** N as a node of TIER (STATION, DISTRICT or CITY; the district has
 *  children STATION and STATION2) with [link] window WINDOW. N must stay
 *  where it is until node_deinit. */
void node_init(struct node *n, enum tier tier, int window);
/** End every session, fail whatever waits on the databases (CHECK: the
 *  callbacks of the ended sessions send nothing), free. */
void node_deinit(struct node *n);

/* --- what the link sent (the peer's view) --- */

/** Messages sent and not yet read. */
int peer_unread(const struct peer *p);
/** The next one (borrowed; freed by node_deinit), CHECK failing (with the
 *  caller's LINE) if there is none or its body is not BODY. */
Vigil__Envelope *peer_expect(const char *file, int line, struct peer *p, int body);
#define EXPECT(p, body) peer_expect(__FILE__, __LINE__, (p), VIGIL__ENVELOPE__BODY_##body)
/** A Delta from SEQ with N changes, probes numbered SEQ.. */
void peer_expect_delta(const char *file, int line, struct peer *p, uint64_t seq, size_t n);
#define EXPECT_DELTA(p, seq, n) peer_expect_delta(__FILE__, __LINE__, (p), (seq), (n))
/** An Ack of SEQ (no chunks). */
void peer_expect_ack(const char *file, int line, struct peer *p, uint64_t seq);
#define EXPECT_ACK(p, seq) peer_expect_ack(__FILE__, __LINE__, (p), (seq))
/** An Ack of one snapshot chunk (no seq). */
void peer_expect_chunk_ack(const char *file, int line, struct peer *p);
#define EXPECT_CHUNK_ACK(p) peer_expect_chunk_ack(__FILE__, __LINE__, (p))
/** A SnapshotChunk of N probes numbered FIRST.. with ORIGIN. */
void peer_expect_chunk(const char *file, int line, struct peer *p, uint64_t first, size_t n, const char *origin);
#define EXPECT_CHUNK(p, first, n, origin) peer_expect_chunk(__FILE__, __LINE__, (p), (first), (n), (origin))
/** Nothing more was sent. */
void peer_expect_none(const char *file, int line, const struct peer *p);
#define EXPECT_NONE(p) peer_expect_none(__FILE__, __LINE__, (p))

/* --- what the peer sends (each packed, decoded, link_receive()d) --- */

void rx_delta(struct peer *p, uint64_t seq, size_t n);  /* probes numbered SEQ.. */
/** A Delta of N changes CHANGES (freed). */
void rx_delta_of(struct peer *p, uint64_t seq, uint8_t **changes, size_t *lens, size_t n);
void rx_ack(struct peer *p, uint64_t seq);
void rx_chunk_ack(struct peer *p, uint32_t chunks);
/** A chunk Ack as since issue 17: one more, and the last applied is SEQ. */
void rx_chunk_ack_seq(struct peer *p, uint64_t seq);
/** An Ack saying the peer is applying (busy). */
void rx_busy(struct peer *p);
void rx_resend(struct peer *p, uint64_t from_seq);
void rx_snapshot_begin(struct peer *p, uint64_t seq, const char *epoch);
/** ... saying its version clock as it began (0: not said, as before issue 17). */
void rx_snapshot_begin_at(struct peer *p, uint64_t seq, const char *epoch, int64_t version);
void rx_chunk(struct peer *p, uint64_t first, size_t n);  /* probes numbered FIRST.. */
/** A chunk numbered SEQ (as since issue 17) of probes FIRST.. */
void rx_chunk_numbered(struct peer *p, uint64_t seq, uint64_t first, size_t n);
void rx_chunk_of(struct peer *p, uint8_t **changes, size_t *lens, size_t n);
void rx_snapshot_end(struct peer *p, uint64_t seq, uint64_t items);
/** Hand ENV (owned; as the peer sent it) to P's link. */
void rx_envelope(struct peer *p, Vigil__Envelope *env);

/* --- the databases --- */

/** DB's next transaction, CHECK failing unless one waits and its
 *  statement 0 contains SQL. */
struct db_tx *next_tx(const char *file, int line, struct db *db, const char *sql);
#define NEXT_TX(db, sql) next_tx(__FILE__, __LINE__, (db), (sql))
/** TX's outbox read (CHECK: there is one, binary, for PEER from FROM);
 *  its index, the row limit into *RET_LIMIT if not NULL. */
int outbox_read_in(const char *file, int line, const struct db_tx *tx, const char *peer, uint64_t from, int *ret_limit);
#define OUTBOX_READ_IN(tx, peer, from, limit) outbox_read_in(__FILE__, __LINE__, (tx), (peer), (from), (limit))
/** An outbox read's result (seq int8 and changes bytea[], binary), no rows. */
PGresult *outbox_result(void);
/** A row of it: seq SEQ, N changes (probes numbered SEQ..). */
void outbox_add(PGresult *res, uint64_t seq, size_t n);
/** A row of it holding changes CHANGES (NULL elements are SQL NULL). */
void outbox_add_changes(PGresult *res, uint64_t seq, uint8_t **changes, const size_t *lens, size_t n);
/** A row whose changes are LEN bytes of RAW (not an array, say). */
void outbox_add_raw(PGresult *res, uint64_t seq, const void *raw, int len);
/** Commit DB's next transaction, an outbox read, with RES (or an empty
 *  result if NULL). */
void answer_read(const char *file, int line, struct db *db, PGresult *res);
#define ANSWER_READ(db, res) answer_read(__FILE__, __LINE__, (db), (res))
/** A one-column text result of a row each of VALUES (N of them). */
PGresult *text_result(const char *column, const char *const *values, int n);
/** Set DB's next transaction's statement I to a one-row, one-column
 *  result VALUE, and commit it. */
void answer_value(struct db *db, int i, const char *value);

/** Read P's peer's applied state (link_load) as EPOCH and APPLIED, start a
 *  session in which the peer holds ours up to PEER_APPLIED, and answer the
 *  outbox read that starts with nothing. The receiver streams deltas
 *  after APPLIED. */
void start_streaming(struct peer *p, const char *epoch, uint64_t applied, uint64_t peer_applied);

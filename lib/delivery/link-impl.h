/* link-impl: what the files of the link module share, and nobody else.
 *
 *   link.c           a session's life: start, end, load, ticks, kicks; resync
 *   link_send.c      the sender: outbox reads, Delta messages, trims
 *   link_recv.c      the receiver: the inbox, applying deltas, acks, resends
 *   link_snapshot.c  snapshots: sending one a page at a time; applying one's steps
 *   link_gather.c    a parent's group commit of its children's small batches
 *   link_set.c       what a node's links share (struct link_set)
 *
 * The two state machines are drawn in link.h. */
#pragma once

/* The changes a receiver keeps queued from one peer, at most: twice its
 * own [link] window (a peer honours its window; one of a larger window,
 * or a resend overlapping what is queued, still fits). Past it a Delta is
 * dropped, counted and asked for again later like any lost one: an
 * enrolled peer cannot make its parent hold unbounded memory (issue 17,
 * fault 5). */
#define LINK_INBOX_WINDOWS 2

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "delivery/link.h"

/* Snapshot changes per SnapshotChunk message, rows per page read, and
 * chunks on the wire not yet applied by the peer: a snapshot of a million
 * cameras never sits in memory whole, at either end. */
#define LINK_SNAPSHOT_CHUNK 500
#define LINK_SNAPSHOT_PAGE 2000
#define LINK_SNAPSHOT_WINDOW 8
/* A page is up to this many chunks: the next is read only when they all
 * fit in the window. */
#define LINK_SNAPSHOT_PAGE_CHUNKS ((LINK_SNAPSHOT_PAGE + LINK_SNAPSHOT_CHUNK - 1) / LINK_SNAPSHOT_CHUNK)
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
/* Progress (issue 17, known fault 2; link.h). A gap not filled is asked
 * for again every LINK_RESEND_TICKS heartbeats; a sender told by this many
 * beats after an idle Ack that the peer lacks what it sent sends it again; and
 * a link with work outstanding that moves nothing for [link]
 * stall_seconds (LINK_STALL_SECONDS if unset) resynchronises. */
#define LINK_RESEND_TICKS 2
#define LINK_REWIND_TICKS 2
/* An idle Ack counts only this many beats after we last sent: one that
 * came sooner may have crossed what we sent. */
#define LINK_IDLE_AFTER_TICKS 2
#define LINK_STALL_SECONDS 30
/* ... or LINK_SILENT_STALLS times that if the peer never said it is idle. */
#define LINK_SILENT_STALLS 4

/* A message received, queued to be applied. */
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
        int read_index;   /* an outbox read's statement in its transaction */
        bool in_tx;       /* ... read in another's transaction (link_read_in) */
        bool gathered;    /* applied with other children's (link_gather_add) */
        unsigned notes;   /* what the applied changes noted (change_batch_note) */
        /* Issue 17: the changes it takes from the item after the N_ITEMS
         * whole ones (taking a failed batch apart), its statements that
         * apply changes, [stmt_first, stmt_end), and whether it holds
         * change FIRST as a dead letter instead (HOLD). */
        uint32_t part;
        int stmt_first, stmt_end;
        bool hold;
};

/* link.c */
struct link_ctx *link_ctx_new(struct link *l);
/* The session changed since C was made. */
bool link_ctx_stale(const struct link_ctx *c);
/* Receiving side: also stale when a new snapshot restarted the inbox. */
bool link_apply_ctx_stale(const struct link_ctx *c);
const char *link_dir_name(const struct link *l);
/* Send ENV over the transport, counted. */
int link_send(struct link *l, Vigil__Envelope *env);
/* Ask the peer to restart the handshake (both sides re-read what the
 * databases hold) and end the session: a transaction failed. */
void link_resync(struct link *l, const char *why);
/* Heartbeats without progress after which a link with work outstanding
 * resynchronises. */
unsigned link_stall_ticks(const struct link *l);

/* link_send.c */
/* Send what can be sent now: a snapshot's next page, a trim, an outbox read. */
void link_pump_send(struct link *l);
/* An Ack A (of deltas, of snapshot chunks, or an idle peer's), or a
 * ResendRequest from FROM_SEQ. */
void link_on_ack(struct link *l, const Vigil__Ack *a);
void link_on_resend_request(struct link *l, uint64_t from_seq);
/* The heartbeat's check of the sender: true if it made no progress for
 * too long (the caller resynchronises). */
bool link_send_tick(struct link *l);

/* link_recv.c */
/* Drop every queued item (and the count of those in flight). */
void link_inbox_clear(struct link *l);
/* Remove the first N items, applied. */
void link_inbox_pop(struct link *l, int n);
/* Queue ENV; for a Delta, its changes from SKIP on (N of them). */
void link_enqueue(struct link *l, Vigil__Envelope *env, uint32_t skip, uint32_t n);
/* A Delta arrived (ENV owned): queued, dropped as a duplicate, or a gap
 * asks for a resend. */
void link_receive_delta(struct link *l, Vigil__Envelope *env);
/* Apply what is queued, as far as the pipeline allows. */
void link_pump_apply(struct link *l);
void link_ack(struct link *l, uint64_t seq);
/* The heartbeat's part of the receiver: ask again for a gap, ack if idle;
 * true if it made no progress for too long (the caller resynchronises). */
bool link_recv_tick(struct link *l);
/* After TX, applying from L, committed: kick the outboxes it may have
 * appended to and not read. */
void link_after_apply(struct link *l, const struct db_tx *tx);
void link_tell_submitted(struct link *l, unsigned notes);
void link_tell_snapshot_applied(struct link *l);

/* link_snapshot.c */
/* Sender: the peer needs a snapshot (SNAPSHOT_DUE): read its sequence. */
void link_snapshot_begin(struct link *l);
/* Sender: the next page, once few chunks are unapplied; SnapshotEnd after
 * the last. */
void link_pump_snapshot(struct link *l);
/* Sender: an Ack's chunk part (cumulative `snapshot_chunk_seq`, or the
 * older `snapshot_chunks` more): whether it moved anything. */
bool link_on_chunks_acked(struct link *l, const Vigil__Ack *a);
/* Receiver: apply the snapshot step at the inbox's cursor. */
void link_apply_snapshot_item(struct link *l);
/* Receiver: a SnapshotBegin, Chunk or End arrived (ENV owned): false if
 * it was dropped (not in a snapshot; or out of order, or SnapshotEnd's
 * items not those that arrived: then the link resynchronised), true if
 * queued. */
bool link_receive_snapshot(struct link *l, Vigil__Envelope *env);

/* link_gather.c */
/* Whether L's next batch of CHANGES changes goes into the gathered
 * transaction (a small batch from a child, while not applying alone). */
bool link_gather_wanted(const struct link *l, int changes);
/* The open gathered transaction, made if there is none. */
struct db_tx *link_gather_tx(struct link_set *set);
/* C's batch is in the open gathered transaction: hear how it went, and
 * submit it if none is in flight. */
void link_gather_add(struct link *l, struct db_tx *tx, struct link_ctx *c, db_done_cb applied);

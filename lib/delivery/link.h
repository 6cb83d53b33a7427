/* link: reliable delivery over one parent-child link, in both directions
 * (DESIGN.md "Delivery"). Built once, used by every replicated change.
 *
 * Sending: changes were appended to the `outbox` for this peer in the same
 * transaction as the state they describe. The link streams outbox rows in
 * order with a bounded window, deletes them when the peer acks
 * cumulatively, and resumes from the peer's last applied sequence after a
 * reconnect. A peer that has no state of ours (new, or wiped, or another
 * epoch) first gets a snapshot (Clone pattern), then the deltas after it.
 *
 * Receiving: deltas are applied in order, a batch per transaction that also
 * advances `applied_seq` for the peer through link_accept(), which refuses
 * anything out of order inside the database; then acked. A duplicate
 * (seq <= applied) is dropped; a gap asks for a resend, and asks again
 * every LINK_RESEND_TICKS heartbeats until it is filled.
 *
 * Progress is checked (issue 17, known fault 2), on the heartbeat
 * (link_tick). An idle receiver acks what it holds (on the first beat
 * after the last thing moved, then 1, 3, 7 ... beats on), so that a sender
 * whose last Delta was lost sends it again. A side with work outstanding
 * that moves nothing for [link] stall_seconds resynchronises, logs
 * "no progress, resynchronising" and counts it (`stalls`). The sender's
 * work: changes sent and not acked once the receiver said it is idle
 * (LINK_SILENT_STALLS times as long if it never did), or snapshot chunks
 * not acked; a receiver applying a transaction that has not committed
 * says so on the beat (Ack.busy), and the sender waits. The receiver's: a gap not filled, items queued that nothing
 * applies, a snapshot whose next step does not come. A transaction in
 * flight is the database's work, not a stall.
 *
 * The transport (uplink or downlink) owns the link, performs the Hello/
 * Welcome handshake and calls link_session_start() when it is done. */
#pragma once

#include "base/vtime.h"

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "base/config.h"
#include "delivery/change.h"
#include "delivery/snapshot.h"
#include "vigil.pb-c.h"

struct db;
struct db_tx;
struct link_set;

enum link_dir {
        LINK_TO_PARENT = 1,  /* the peer is our parent: we send up */
        LINK_TO_CHILD = 2,   /* the peer is our child: we send down */
};

/* Error.code values on links. */
#define LINK_ERROR_RESYNC 1     /* restart the handshake */
#define LINK_ERROR_REFUSED 2    /* the peer refused us (log says why) */
#define LINK_ERROR_MALFORMED 3  /* the peer could not decode our message */

struct link_item;

/* The sender's state machine (link_send.c, link_snapshot.c):
 *
 *   OFF ──session_start──► DELTAS ◄────────────── SNAPSHOT_PAGES
 *    ▲        │ peer holds none of our state             ▲    │ every page sent (not yet
 *    │        ▼ (or the outbox lost rows it needs)        │    │ applied): SnapshotEnd, deltas after it
 *    │   SNAPSHOT_DUE ──read the outbox's sequence──► SNAPSHOT_BEGIN
 *    │        ▲                     (SnapshotBegin sent) │
 *    │        └──────────── the read failed ─────────────┘
 *    └── session_end (from any state; also link_resync, e.g. no progress)
 *
 * In DELTAS a ResendRequest (or an idle receiver's Ack short of `next`)
 * rewinds `next`; one that comes while an outbox read is in flight is
 * kept (`resend_from`) and honoured when the read completes. Chunks are
 * numbered 1, 2, ...; a page is read only when all its chunks fit in
 * LINK_SNAPSHOT_WINDOW, and the window of deltas after SnapshotEnd counts
 * from the snapshot's sequence (`base`), not from the last Ack.
 */
enum link_send_state {
        LINK_SEND_OFF = 0,              /* no session */
        LINK_SEND_DELTAS,               /* streaming the outbox */
        LINK_SEND_SNAPSHOT_DUE,         /* the peer needs a snapshot first */
        LINK_SEND_SNAPSHOT_BEGIN,       /* reading the sequence it ends at */
        LINK_SEND_SNAPSHOT_PAGES,       /* sending it, a page at a time */
};

/* The receiver's state machine (link_recv.c, link_snapshot.c):
 *
 *   OFF ──session_start──► DELTAS (we hold the peer's state, in its epoch)
 *    ▲                 or  WAITING (we hold none: a snapshot is coming;
 *    │                              deltas are dropped meanwhile)
 *    │   SnapshotBegin (from DELTAS or WAITING) ──► SNAPSHOT (its steps apply
 *    │                                             in order; deltas after it queue)
 *    │   SnapshotEnd applied ──► DELTAS
 *    └── session_end (from any state; also link_resync: a chunk missing
 *        or out of order, SnapshotEnd's items not those that arrived, a
 *        Delta after the snapshot before its SnapshotEnd, no progress)
 */
enum link_recv_state {
        LINK_RECV_OFF = 0,
        LINK_RECV_WAITING,
        LINK_RECV_SNAPSHOT,
        LINK_RECV_DELTAS,
};

struct link {
        struct link_set *set;
        enum link_dir dir;
        char peer_id[21];
        /* Transport: send one envelope to the peer; 0 or negative errno. */
        int (*send)(struct link *l, Vigil__Envelope *env);
        void *owner;
        uint64_t session_id;   /* bumped on every reset: late DB callbacks of
                                  an old session are ignored */

        struct link_sender {
                enum link_send_state state;
                uint64_t next;          /* next sequence to send */
                uint64_t acked;         /* the peer has applied up to here */
                uint64_t deleted;       /* outbox rows up to here are gone */
                uint64_t assigned;      /* the highest sequence this database ever gave
                                           the peer's outbox (link_load): a peer that
                                           applied more holds what a restored backup lost */
                bool assigned_known;    /* ... read since the node started */
                uint64_t first_held;    /* the first sequence its outbox holds (link_load; 0: none) */
                int read_rows;          /* outbox rows per read (each a batch of changes) */
                bool reading;           /* an outbox read is in flight */
                bool deleting;          /* a trim is in flight */
                bool more;              /* the outbox may hold more to send */
                bool trim_due;          /* the heartbeat asked for a trim (link_tick) */
                unsigned ticks;         /* heartbeats so far */
                unsigned long reads, reads_at_tick;  /* outbox reads done; at the last beat */
                /* Kicks so far, and at the start of the outbox read in
                 * flight: a read that started before a kick may not see its
                 * change, so it must not clear `more`. */
                uint64_t kicks, read_kicks;
                uint64_t read_tx;       /* the transaction whose appends the last read
                                           in one (link_read_in) covered */
                uint64_t resend_from;   /* a resend asked for while a read was in
                                           flight, done when it completes (0: none) */
                uint64_t base;          /* the window counts from max(acked, base): the
                                           end of the snapshot just sent */
                bool idle_seen;         /* an Ack that moved nothing came, and nothing moved
                                           since: the peer holds nothing of ours unapplied */
                unsigned sent_tick;     /* `ticks` when we last sent a Delta or snapshot step */
                bool peer_busy;         /* since the last beat, the peer said it is applying */
                unsigned idle_ticks;    /* beats since, short of `next` */
                unsigned stall_ticks;   /* beats with work outstanding and no progress */
                uint64_t progress, progress_at_tick;  /* acks that moved something */
                struct {                /* a snapshot being sent */
                        struct snapshot_cursor *cursor;
                        uint64_t seq;           /* it ends at */
                        uint64_t items;
                        int unacked;            /* chunks sent, not yet applied */
                        uint64_t chunk_seq;     /* the last chunk sent (they count from 1) */
                        uint64_t chunks_acked;  /* the last applied, as the peer acked */
                        bool reading;           /* a page read is in flight */
                } snap;
        } out;

        struct link_receiver {
                enum link_recv_state state;
                uint64_t apply_gen;     /* bumped when a snapshot restarts the inbox */
                char peer_epoch[64];
                bool have_state;        /* we hold the peer's state in peer_epoch (also
                                           between sessions: what Hello says) */
                uint64_t applied;       /* last sequence applied from the peer */
                int applying;           /* applying transactions in flight */
                bool step_inflight;     /* one of them is a snapshot step */
                bool gather_open;       /* a batch of ours waits in the node's open
                                           gathered transaction (link_gather.c) */
                unsigned gather_notes;  /* ... and what its changes noted */
                struct link_item *inbox, *inbox_tail;
                struct link_item *cursor;       /* first inbox item not yet submitted */
                int unsubmitted;                /* changes from cursor on */
                int unsubmitted_other;          /* items of them not deltas (snapshot steps) */
                int inbox_len;
                uint64_t inbox_last;    /* highest seq queued */
                uint64_t resend_asked;  /* a ResendRequest for this seq is out */
                unsigned resend_ticks;  /* beats since it was (last) sent */
                uint64_t snap_seq;      /* receiving a snapshot ending at this seq */
                int64_t snap_version;   /* the sender's version clock as it began (0: not said) */
                uint64_t snap_chunks;   /* its chunks received (numbered 1, 2, ...) */
                uint64_t snap_items;    /* ... and the changes in them */
                uint64_t snap_applied;  /* its chunks applied (what we ack) */
                bool snap_end;          /* its SnapshotEnd arrived */
                unsigned stall_ticks;   /* beats with work outstanding and no progress */
                uint64_t progress, progress_at_tick;    /* messages taken, steps applied */
                uint64_t applied_at_tick;
                bool heard;             /* the peer sent a Delta or snapshot this session */
                bool flooded;           /* it sent past the inbox bound this session (logged) */
                unsigned quiet_ticks;   /* beats since something last moved */
                /* A batch failed at one of its changes (issue 17): up to
                 * careful_until, at most careful_span changes a
                 * transaction, one at a time, until the change that fails
                 * alone is held as a dead letter (link_recv.c). 0: not. */
                uint64_t careful_until;
                uint64_t careful_span;
        } in;

        /* counters */
        unsigned long sent, received, duplicates, gaps, applied_count, bad_changes;
        unsigned long stalls;   /* resynchronised for want of progress */
        unsigned long beyond_window;    /* Deltas dropped: past the inbox bound (issue 17) */
        /* Store and forward (issue 17, fault 5): what waits in this
         * node's outbox for the peer, as the last sweep counted it
         * (lib/delivery/backlog.c). */
        struct link_backlog {
                uint64_t waiting;       /* changes numbered, not acknowledged */
                int64_t oldest_ms;      /* how long the oldest has waited; 0: none */
                bool alarm;             /* past [link] backlog_alarm_seconds */
                int64_t alarm_ms;       /* how long it had waited when raised */
        } backlog;
        unsigned long dead_letters;     /* held by this link (issue 17), since the start */
        unsigned long forwarded_unknown;  /* changes of kinds unknown here sent on up */
};

/* What every link of a node shares: the node's configuration and
 * databases, the kinds of change and snapshot sections the features
 * registered, and the other links (what one link applies may go out on
 * another: store and forward). The listeners hear of each transaction
 * applying what a peer sent; the handlers get the messages that are not
 * delivery's (a view request, its answer). */
#define LINK_MAX_LISTENERS 8
#define LINK_MAX_HANDLERS 8

/** A transaction applying what L's peer sent was submitted (SUBMITTED:
 *  what a listener submits now runs right behind it on the connection),
 *  or committed (APPLIED); NOTES are what L's changes in it noted
 *  (change_batch_note). A batch applied with other children's (group
 *  commit) is submitted when the gathered transaction is. A snapshot step
 *  committed (SNAPSHOT_APPLIED). Any may be NULL. */
struct link_listener {
        void (*submitted)(void *arg, struct link *l, unsigned notes);
        void (*applied)(void *arg, struct link *l, unsigned notes);
        void (*snapshot_applied)(void *arg, struct link *l);
        void *arg;
};

/** A message with body ENV->body_case from PEER. ENV is borrowed. */
typedef void (*link_handler_fn)(void *arg, const char *peer, const Vigil__Envelope *env);

struct link_set {
        uv_loop_t *loop;
        const struct config *cfg;       /* node ID, tier, [link] window */
        struct db *db;                  /* the loop's connection */
        struct db *db_read;             /* outbox reads and trims (link_set_read_db) */
        char epoch[64];                 /* this database's outbox epoch */
        struct change_table *kinds;
        struct snapshot_table *sections;
        struct trust *trust;            /* the delivery's: signing keys of ancestors */
        void (*chain_taken)(void *arg); /* the uplink took a new chain (the downlink passes it on) */
        void *chain_arg;
        struct link *parent;            /* NULL at the city */
        struct link **children;
        int n_children;
        struct link_listener listeners[LINK_MAX_LISTENERS];
        int n_listeners;
        struct link_handler {
                int body_case;
                enum link_dir from;
                link_handler_fn fn;
                void *arg;
        } handlers[LINK_MAX_HANDLERS];
        int n_handlers;
        /* The children's small batches applied together, one transaction
         * (a commit) for many (link_gather_submit). */
        struct db_tx *gather;           /* open, not yet submitted */
        bool gather_busy;               /* one is in flight */
        uint64_t gather_sent;           /* the last submitted (db_tx_id): its forwarded
                                           outboxes are kicked once, after every part */
        int64_t gather_off_us;          /* after a failed one, each alone until then */
        /* A peer applied more than this database ever sent it: the
         * database was restored from a backup (link_set_restored). */
        bool renewing;                  /* a new epoch is being written */
        unsigned long restores;         /* new epochs begun for it */
        struct vtime_versions *versions;  /* the node's own (seeded again after a restore) */
};

/** Set up S for a node: CFG, KINDS and SECTIONS are borrowed and outlive S;
 *  the databases are set when the node has them (link_set_db). */
void link_set_init(struct link_set *s, uv_loop_t *loop, const struct config *cfg, struct change_table *kinds,
                   struct snapshot_table *sections);
/** Forget the links (their owners free them). */
void link_set_deinit(struct link_set *s);
void link_set_db(struct link_set *s, struct db *db, struct db *db_read, const char *epoch);
/** L is a link to a child (kept until the node stops). */
void link_set_add_child(struct link_set *s, struct link *l);
void link_set_listen(struct link_set *s, const struct link_listener *ls);
/** Messages with BODY_CASE from a peer on the FROM side go to FN. */
void link_set_handle(struct link_set *s, int body_case, enum link_dir from, link_handler_fn fn, void *arg);
/** Whether messages with BODY_CASE from the FROM side have a handler. */
bool link_set_handles(const struct link_set *s, enum link_dir from, int body_case);
/** Pass ENV from PEER (on the FROM side) to its handler: 0, or -ENOENT if
 *  there is none. */
int link_set_dispatch(struct link_set *s, enum link_dir from, const char *peer, const Vigil__Envelope *env);

/** The parent's ID, or NULL at the city. */
const char *link_set_parent_id(const struct link_set *s);
/** The connection for reading and trimming outboxes: the second one while
 *  it is up, else the main one. */
struct db *link_set_read_db(struct link_set *s);
/** L's peer applied PEER_APPLIED of ours, more than this database ever
 *  sent it: the database was restored from an earlier backup, and the
 *  sequence numbers it hands out again were used before. Begin a new epoch
 *  (every peer then gets a snapshot from us, and nothing numbered anew is
 *  taken for what it already applied), then end every session: each
 *  handshakes again with the new epoch. */
void link_set_restored(struct link_set *s, struct link *l, uint64_t peer_applied);
/** Call FN(link, ARG) for every child link. */
void link_set_for_children(struct link_set *s, void (*fn)(struct link *l, void *arg), void *arg);
/** Kick the parent's (every child's) sender, after a commit that appended
 *  to its outbox. */
void link_set_kick_parent(struct link_set *s);
void link_set_kick_children(struct link_set *s);
/** Read the parent's (every child's) outbox within TX (link_read_in). */
void link_set_read_parent_in(struct link_set *s, struct db_tx *tx);
void link_set_read_children_in(struct link_set *s, struct db_tx *tx);
/** After TX committed appends for the parent (the children): kick those
 *  links whose outbox was not read within TX (link_kick_after). */
void link_set_kick_parent_after(struct link_set *s, const struct db_tx *tx);
void link_set_kick_children_after(struct link_set *s, const struct db_tx *tx);

void link_init(struct link *l, struct link_set *set, enum link_dir dir, const char *peer_id);
void link_deinit(struct link *l);

/** The peer's view after the handshake: its epoch of the stream it sends us,
 *  and whether it holds our state (and up to which sequence). */
void link_session_start(struct link *l, const char *peer_epoch, bool peer_has_our_state,
                        uint64_t peer_applied);
/** Link down or handshake restarting: stop streaming, drop what is queued. */
void link_session_end(struct link *l);

/** What we hold of the peer, for Hello/Welcome: our stored epoch for it and
 *  the last sequence applied (loaded by link_load()). */
typedef void (*link_loaded_cb)(struct link *l, int err, void *arg);
/** Read applied_seq for the peer from the database. */
void link_load(struct link *l, link_loaded_cb cb, void *arg);

/** The outbox for this peer has new rows (after a commit that appended). */
void link_kick(struct link *l);
/** The transport's heartbeat: kick, and every few, trim what the peer
 *  acknowledged; ask again for a gap; ack if idle; check progress (and
 *  resynchronise a link that has made none for [link] stall_seconds). */
void link_tick(struct link *l);
/** Read the outbox within TX, after the statements that append to it, so
 *  that what TX appended goes out the moment it commits, without a read
 *  (a round trip) of its own. False if a read cannot start now. */
bool link_read_in(struct link *l, struct db_tx *tx);
/** After TX committed appends to the outbox: link_kick(), unless a read
 *  within TX (link_read_in) already sent them. */
void link_kick_after(struct link *l, const struct db_tx *tx);
/** Whether the handshake is done and the link streams. */
bool link_in_session(const struct link *l);
/** The last sequence applied from the peer. */
uint64_t link_applied(const struct link *l);
/** The last sequence of ours the peer has applied. */
uint64_t link_acked(const struct link *l);
/** The peer's epoch if we hold its state (*RET_APPLIED: up to which
 *  sequence), else NULL: what Hello and Welcome say. */
const char *link_peer_state(const struct link *l, uint64_t *ret_applied);
/** Send ENV (a request that is not replicated state: a view) over L's
 *  transport. -ENOTCONN if the link has no session. */
int link_send_envelope(struct link *l, Vigil__Envelope *env);

/** Handle a Delta, Ack, ResendRequest or Snapshot* envelope from the peer.
 *  Takes ownership of ENV. */
void link_receive(struct link *l, Vigil__Envelope *env);

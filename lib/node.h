/* node: one vigild platform node. Owns the libuv loop's handles, the ZeroMQ
 * context, the ZAP handler, the database connection and the three sockets
 * (downlink, uplink, control); the modules get a pointer back to it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/config.h"
#include "control/accessctl.h"
#include "control/control.h"
#include "features/view.h"
#include "delivery/downlink.h"
#include "base/keys.h"
#include "delivery/uplink.h"
#include "transport/zap.h"

struct db;
struct db_tx;
struct link;

struct node {
        struct config cfg;
        struct node_keys keys;
        uv_loop_t *loop;
        void *zctx;
        struct zap zap;
        struct db *db;
        struct db *db_read;         /* outbox reads and trims, emergency status (node_read_db) */
        char epoch[64];             /* this database's outbox epoch */
        bool has_parent;
        bool has_children;
        struct uplink uplink;
        struct downlink downlink;
        struct control control;
        struct accessctl access;
        struct view view;
        uv_signal_t sigterm, sigint, sighup;
        int64_t last_version;       /* keeps observation versions monotonic */
        uint64_t started_ms;
        bool stopping;
        bool grant_dispatching;     /* grant.c: a sweep is in flight */
        bool audit_forwarding, audit_alarm_check;  /* audit.c */
        bool audit_forward_again, audit_read_in_tx, audit_checkpointing;
        int audit_read_index;
        uint64_t audit_checkpoint_ms;   /* loop time of this node's last checkpoint; 0: none yet */
        unsigned long audit_alarms;  /* fork/gap alarms in children's logs seen since start */
        bool emergency_dispatching, emergency_acting, emergency_act_again;  /* emergency.c */
        bool emergency_order_in_tx;       /* an order is acked in the batch being built */
        uv_timer_t emergency_link_timer;  /* [emergency] link_delay_ms after an ack */
        bool emergency_timer_init;
        /* link.c: the children's small batches applied together, one
         * transaction (a commit) for many (link_gather_submit) */
        struct db_tx *apply_gather;   /* open, not yet submitted */
        bool apply_gather_busy;       /* one is in flight */
        int64_t apply_gather_off_us;  /* after a failed one, each alone until then */
        struct rtsp_pool *rtsp;     /* reserved interfaces being probed (stations) */
        bool signals_init, zap_init, downlink_init, uplink_init;
};

/** `vigild --check`: keys load and PostgreSQL answers (changes nothing).
 *  0, or negative errno with a sentence in ERR. */
int node_check(const struct config *cfg, char *err, size_t errlen);
/** Start-up (may block): load keys, connect to PostgreSQL (retrying for a
 *  while), apply migrations, load enrolled children. 0, or negative errno with
 *  a sentence in ERR. */
int node_init(struct node *n, uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen);
/** Bind sockets and start everything on the loop. */
int node_start(struct node *n, char *err, size_t errlen);
/** Begin a clean stop; the loop ends once every handle is closed. */
void node_stop(struct node *n);
void node_deinit(struct node *n);

/** A fresh observation version: wall clock in microseconds, never repeating. */
int64_t node_next_version(struct node *n);
/** The parent's ID, or NULL at the city. */
const char *node_uplink_peer(const struct node *n);
/** Who the CURVE key KEY is now on DOMAIN's socket ("downlink": a child's
 *  node ID; "control": "admin:…" or "officer:BADGE"), in RET_USER; -EACCES
 *  if nobody (never enrolled, re-enrolled with another key, removed, made
 *  inactive). */
int node_identity(struct node *node, const char *domain, const char *key, char *ret_user, size_t n);
/** Kick the uplink's sender (after a commit that appended to its outbox). */
void node_kick_uplink(struct node *n);
/** The connection for reading and trimming outboxes: the second one while
 *  it is up, else the main one. */
struct db *node_read_db(struct node *n);
/** Kick every child link's sender (after a commit that appended for them). */
void node_kick_children(struct node *n);
/** Call FN(link, ARG) for every child link. */
void node_for_children(struct node *n, void (*fn)(struct link *l, void *arg), void *arg);
/** Read the uplink's (every child link's) outbox within TX (link_read_in). */
void node_read_uplink_in(struct node *n, struct db_tx *tx);
void node_read_children_in(struct node *n, struct db_tx *tx);
/** After TX committed appends for the parent (the children): kick those
 *  links whose outbox was not read within TX (link_kick_after). */
void node_kick_uplink_after(struct node *n, const struct db_tx *tx);
void node_kick_children_after(struct node *n, const struct db_tx *tx);
/** The link to PEER (parent or child), or NULL. */
struct link *node_link(struct node *n, const char *peer_id);

/* downlink: a node's ROUTER for its children (CURVE server; the ZAP handler
 * admits only enrolled child keys, and the ZAP User-Id is the child's node
 * ID). Checks every message against the authenticated ID, answers Hello with
 * Welcome, heartbeats, and decides when a child is online or offline; those
 * observations are the child's state that travels up. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/keys.h"
#include "base/vtime.h"
#include "delivery/link.h"
#include "transport/zsock.h"

struct downlink;

struct child {
        struct downlink *d;
        char id[21];
        char name[64];
        char public_key[KEYS_Z85_LEN + 1];
        uint8_t sign_key[32];     /* enrolled with it: certified in each Welcome */
        bool has_sign_key;
        struct link link;
        uint8_t routing_id[256];
        size_t routing_len;
        bool connected;           /* Welcome sent, beats arriving */
        bool online_persisted;    /* what the database says */
        bool persisting;
        bool written_online;      /* value of the write in flight */
        bool persist_unknown;     /* database reconnected: write again */
        uint64_t last_rx_ms;      /* loop time */
        int64_t last_seen_us;     /* wall clock of the last message */
        int64_t version;
        bool hello_pending;
        bool removed;             /* `node remove`: kept only for what is in flight */
};

struct downlink {
        struct link_set *set;
        struct vtime_versions *versions;   /* of the observations */
        struct zsock zs;
        bool open, tick_init;
        uint64_t started_ms;      /* loop time of downlink_start */
        uv_timer_t tick;
        uint64_t seen_written_ms;  /* loop time of the last downlink_write_seen */
        bool seen_writing;
        struct child **children;
        int n_children;
        unsigned long malformed, wrong_origin, refused_hello, oversize, unknown_body;
        unsigned long unenrolled;          /* messages on a connection whose key was withdrawn */
        const struct node_keys *keys;      /* signs the children's certificates */
        uint64_t unenrolled_logged_ms;
};

/** Set up D, the children of SET (VERSIONS borrowed): memory only, so
 *  that the enrolled children can be added before downlink_start. */
void downlink_init(struct downlink *d, struct link_set *set, struct vtime_versions *versions);
/** Bind the ROUTER ([listen] downlink) and start the heartbeats. 0 or
 *  -errno; downlink_close either way. */
int downlink_start(struct downlink *d, void *zctx, const struct node_keys *keys);
void downlink_close(struct downlink *d);
/** This node's chain of signing keys changed (its parent sent a new one):
 *  a Welcome with only the new chain to every connected child, which takes
 *  it while up (lib/wire/trust.h). */
void downlink_send_chain(struct downlink *d);
/** The signing key enrolled for C (certified to it in each Welcome). */
void downlink_set_sign_key(struct child *c, const uint8_t key[32]);
/** Add or update an enrolled child (from the database or `node enroll`). */
struct child *downlink_add_child(struct downlink *d, const char *id, const char *name,
                                 const char *public_key);
/** The enrolled child ID (not one removed), or NULL. */
struct child *downlink_find(struct downlink *d, const char *id);
/** Child ID is removed (`node remove`, committed): its key is refused from
 *  its next message on, it is offline and no longer listed. Its memory is
 *  kept (transactions in flight point at its link) until the node stops;
 *  enrolling the ID again revives it. */
void downlink_remove_child(struct downlink *d, const char *id);
struct child *downlink_find_key(struct downlink *d, const char *public_key);
/** Database connection came back: children re-handshake. */
void downlink_resync(struct downlink *d);

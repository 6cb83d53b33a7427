/* uplink: a node's link to its parent. A DEALER (CURVE client, the parent's
 * public key pinned) connected to the parent's downlink. Says Hello with
 * what it holds of the parent's stream, waits for Welcome, then streams and
 * heartbeats. Three missed beats from the parent mean the link is down: the
 * socket is closed and reopened with backoff, so a restarted parent is
 * found again. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/keys.h"
#include "delivery/link.h"
#include "transport/zsock.h"

enum uplink_state { UPLINK_IDLE, UPLINK_LOADING, UPLINK_HELLO, UPLINK_UP };

struct uplink {
        struct link_set *set;
        void *zctx;
        const struct node_keys *keys;
        struct link link;
        struct zsock *zs;         /* NULL while closed */
        enum uplink_state state;
        uv_timer_t tick;          /* heartbeats, Hello retries, liveness */
        uv_timer_t reconnect;
        uv_timer_t hello_retry;   /* Hello again while not yet connected */
        int backoff_ms;
        uint64_t last_rx_ms;      /* loop time of the parent's last message */
        uint64_t hello_at_ms;
        uint64_t since_ms;        /* when the link came up / went down */
        unsigned long connects, malformed, refused;
        unsigned long chain_refused;  /* Welcomes whose chain of signing keys did not check */
        char last_error[256];
};

/** Set up U as SET's link to the parent (ZCTX and KEYS borrowed); nothing
 *  is sent before uplink_start. */
int uplink_init(struct uplink *u, struct link_set *set, void *zctx, const struct node_keys *keys);
void uplink_start(struct uplink *u);
void uplink_close(struct uplink *u);
/** Database connection came back: restart the handshake so both sides
 *  re-read what was committed. */
void uplink_resync(struct uplink *u);
bool uplink_online(const struct uplink *u);

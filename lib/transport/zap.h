/* zap: the ZeroMQ Authentication Protocol handler (RFC 27).
 *
 * Without a ZAP handler a CURVE server admits every client key (NOTES.md),
 * so vigild binds this handler before any CURVE server socket. It answers
 * from memory (nothing blocks the loop): LOOKUP maps the socket's ZAP domain
 * and the client's public key to a User-Id, which then comes back with every
 * message from that peer. Every refusal is counted; it is logged with the
 * peer's address at most once per address and socket (ZAP domain) an
 * interval, the others summed up in one line ("N more refused") at the
 * interval's end, so that a peer retrying a refused key, or a flood of
 * handshakes, cannot fill the log (issue 17, small ones). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "transport/zsock.h"

/** Return the User-Id to admit KEY_Z85 on DOMAIN with (copied into RET_USER,
 *  size N), or a negative errno to refuse. */
typedef int (*zap_lookup_fn)(void *arg, const char *domain, const char *key_z85,
                             char *ret_user, size_t n);

/* Peers whose refusals are being held back (a table, the oldest reused). */
#define ZAP_LOG_PEERS 64
#define ZAP_LOG_INTERVAL_MS 60000

struct zap_log_peer {
        char address[64];
        char domain[64];
        uint64_t since_ms;              /* when its last line was logged; 0: free */
        unsigned long held;             /* refused since, not logged */
};

struct zap {
        struct zsock zs;
        uv_loop_t *loop;
        uv_timer_t summary;             /* logs what was held back */
        bool summary_init;
        uint64_t log_interval_ms;       /* ZAP_LOG_INTERVAL_MS; tests shorten it */
        struct zap_log_peer log_peers[ZAP_LOG_PEERS];
        unsigned long held_others;      /* held back: peers past the table */
        zap_lookup_fn lookup;
        void *arg;
        unsigned long admitted;
        unsigned long refused;
        unsigned long refused_downlink;
        unsigned long refused_control;
        unsigned long refused_unlogged; /* of REFUSED, held back from the log */
};

/** Bind inproc://zeromq.zap.01 in CTX and serve it on LOOP. 0 or -errno. */
int zap_init(struct zap *z, void *ctx, uv_loop_t *loop, zap_lookup_fn lookup, void *arg);
void zap_close(struct zap *z);
/** Answer one ZAP request of N frames F (as zsock received them): what
 *  the handler does with each. Exposed for tests/fuzz/fuzz_zap.c, whose
 *  struct zap has no socket (the replies then go nowhere). */
void zap_handle(struct zap *z, zmq_msg_t *f, int n);

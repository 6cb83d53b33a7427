/* zap: the ZeroMQ Authentication Protocol handler (RFC 27).
 *
 * Without a ZAP handler a CURVE server admits every client key (NOTES.md),
 * so vigild binds this handler before any CURVE server socket. It answers
 * from memory (nothing blocks the loop): LOOKUP maps the socket's ZAP domain
 * and the client's public key to a User-Id, which then comes back with every
 * message from that peer. Every refusal is logged with the peer's address
 * and counted. */
#pragma once

#include <stddef.h>
#include <uv.h>

#include "transport/zsock.h"

/** Return the User-Id to admit KEY_Z85 on DOMAIN with (copied into RET_USER,
 *  size N), or a negative errno to refuse. */
typedef int (*zap_lookup_fn)(void *arg, const char *domain, const char *key_z85,
                             char *ret_user, size_t n);

struct zap {
        struct zsock zs;
        zap_lookup_fn lookup;
        void *arg;
        unsigned long admitted;
        unsigned long refused;
        unsigned long refused_downlink;
        unsigned long refused_control;
};

/** Bind inproc://zeromq.zap.01 in CTX and serve it on LOOP. 0 or -errno. */
int zap_init(struct zap *z, void *ctx, uv_loop_t *loop, zap_lookup_fn lookup, void *arg);
void zap_close(struct zap *z);
/** Answer one ZAP request of N frames F (as zsock received them): what
 *  the handler does with each. Exposed for tests/fuzz/fuzz_zap.c, whose
 *  struct zap has no socket (the replies then go nowhere). */
void zap_handle(struct zap *z, zmq_msg_t *f, int n);

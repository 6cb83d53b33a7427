/* ctlclient: vigilctl's side of the control protocol, usable as a library
 * (benchmarks call it without process start-up). A CURVE DEALER to a node's
 * control socket; one ControlRequest out, one ControlReply back. */
#pragma once

#include <stddef.h>

#include "keys.h"
#include "vigil.pb-c.h"

struct ctlclient;

/** Connect to ENDPOINT, authenticating as ID against the server key
 *  SERVER_KEY (Z85). Caller owns the result (ctlclient_free). NULL with a
 *  sentence in ERR on failure. Connecting itself is lazy (ZeroMQ). */
struct ctlclient *ctlclient_new(const char *endpoint, const char *server_key,
                                const struct identity *id, char *err, size_t errlen);
void ctlclient_free(struct ctlclient *c);

/** Send COMMAND with NARGS named arguments and wait up to TIMEOUT_MS for the
 *  reply. Caller owns *RET_REPLY (free with
 *  vigil__control_reply__free_unpacked(r, NULL)). Returns 0, -EACCES (the
 *  node's ZAP handler refused our key during the handshake), -ETIMEDOUT (no
 *  answer: node down, or a refusal we could not observe), or another
 *  negative errno. */
int ctlclient_call(struct ctlclient *c, const char *command,
                   const char *const *names, const char *const *values, int nargs,
                   int timeout_ms, Vigil__ControlReply **ret_reply);

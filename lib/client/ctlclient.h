/* ctlclient: vigilctl's side of the control protocol, usable as a library
 * (benchmarks call it without process start-up). A CURVE DEALER to a node's
 * control socket; one ControlRequest out, one ControlReply back. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/keys.h"
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

/** The two halves of ctlclient_call, for a caller that keeps several
 *  requests in flight (an import sends its next chunk while the node works
 *  on the last). Send COMMAND (waiting up to TIMEOUT_MS for the connection)
 *  and store its ID in *RET_REQUEST_ID; 0 or a negative errno as above. */
int ctlclient_send_request(struct ctlclient *c, const char *command,
                           const char *const *names, const char *const *values, int nargs,
                           int timeout_ms, uint64_t *ret_request_id);
/** Wait up to TIMEOUT_MS for the reply to REQUEST_ID. Replies to other
 *  requests still awaited are kept until asked for (up to eight). Returns
 *  and owns as ctlclient_call. */
int ctlclient_wait_reply(struct ctlclient *c, uint64_t request_id, int timeout_ms,
                         Vigil__ControlReply **ret_reply);

/* gate: the station's RTSP gate (Art 19, 29(2)): the only way to a
 * camera's stream. The protocol half, on the daemon's loop; what a token
 * means (ticket, grant, log) is features/stream_gate.c's, through gate_ops.
 *
 * A player opens rtsp://GATE/t/TOKEN as it is (ffplay, VLC, rtspsrc,
 * ffprobe). The gate answers OPTIONS itself; on the first DESCRIBE it asks
 * ops->admit whether TOKEN may open (asynchronously: a database is asked),
 * and on gate_admit() connects to the upstream (the camera's own address,
 * with credentials held at the station: they never reach the player),
 * DESCRIBEs it, and answers the player the upstream's SDP with every
 * control URL rewritten to rtsp://GATE/t/TOKEN/trackN. SETUP asks for RTP
 * over the RTSP TCP connection (interleaved; UDP gets 461 Unsupported
 * Transport, which players answer by asking for TCP); the gate SETUPs the
 * upstream with the same channels, PLAYs it on PLAY (Range passed on), and
 * from then relays the upstream's interleaved frames to the player byte
 * for byte: no transcoding, any codec the SDP names (H.264, H.265, ...).
 * Frames from the player (RTCP receiver reports) go upstream.
 *
 * Every request of the session must carry the same token in its URL and
 * the session's ID; a TEARDOWN, a dropped connection, an upstream that
 * fails, or gate_close() (expiry, revocation) ends it, and ops->closed
 * hears once with the bytes relayed. Memory is bounded: a player that
 * reads slower than the upstream sends stops the upstream's reads (TCP
 * pushes back) beyond GATE_MAX_QUEUED bytes queued, and every request,
 * response and SDP parsed has a size limit (transport/rtspreq.h,
 * rtspmsg.h); bytes that are not RTSP end the connection with 400. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define GATE_MAX_TOKEN 4096            /* a ticket token, as ticket.h's TICKET_MAX_TOKEN */
#define GATE_MAX_QUEUED (4 << 20)      /* bytes queued to one player before the upstream waits */
#define GATE_MAX_TRACKS 8
#define GATE_UPSTREAM_TIMEOUT_MS 5000  /* connect, DESCRIBE, SETUP, PLAY: each answered within */
#define GATE_KEEPALIVE_MS 20000        /* GET_PARAMETER to the upstream, as RTSP sessions time out at 60 s */

struct gate;
struct gate_session;

/* How a session ended, for the log. */
enum gate_end {
        GATE_END_TEARDOWN,     /* the player said TEARDOWN */
        GATE_END_CLIENT_GONE,  /* the player's connection closed or failed */
        GATE_END_UPSTREAM,     /* the upstream failed, closed or refused */
        GATE_END_CLOSED,       /* gate_close(): expiry, revocation, the node stopping */
        GATE_END_REFUSED,      /* never admitted (ops->admit refused) */
        GATE_END_PROTOCOL,     /* the player sent what is not RTSP, or another token */
};

/** "teardown", "client_gone", "upstream", "closed", "refused", "protocol". */
const char *gate_end_name(enum gate_end e);

struct gate_ops {
        /* TOKEN (as in the URL) asks to open, from CLIENT ("1.2.3.4:5678").
         * Answer later, once, with gate_admit() or gate_refuse(); S stays
         * valid until ops->closed runs for it. */
        void (*admit)(void *arg, struct gate_session *s, const char *token, const char *client);
        /* S ended (admitted or not): BYTES relayed to the player, since it
         * was admitted (0 if never), REASON a sentence (may be NULL). The
         * last call for S; S is freed after it. Not called for a session
         * that never asked to be admitted (an OPTIONS and a hang-up). */
        void (*closed)(void *arg, struct gate_session *s, enum gate_end end, uint64_t bytes, int64_t duration_us,
                       const char *reason);
};

/** Listen on HOST:PORT (numeric IPv4 or IPv6; port 0: any) for players.
 *  OPS and ARG are borrowed. The URLs the gate answers (Content-Base,
 *  control) keep the scheme, host and port of the player's own request
 *  URL, so they work through whatever name or NAT the player used.
 *  0, or a libuv error (*RET untouched). */
int gate_start(uv_loop_t *loop, const char *host, int port, const struct gate_ops *ops, void *arg,
               struct gate **ret);
/** Close every session (ops->closed, GATE_END_CLOSED, for each) and the
 *  listener; G is freed once its handles are closed (so gate_get_stats
 *  still reads it until the loop runs again). */
void gate_stop(struct gate *g);
/** The port it listens on (after gate_start with port 0). */
int gate_port(const struct gate *g);

/** Admit S: open the upstream URL (rtsp://host[:port]/path; USER and
 *  PASSWORD, if not NULL, answer a Digest or Basic challenge; all copied).
 *  TAG is the caller's (ticket, grant), kept with S. An upstream that
 *  cannot be opened ends S with GATE_END_UPSTREAM and the player gets 502
 *  Bad Gateway (504 on a timeout). */
void gate_admit(struct gate_session *s, const char *url, const char *user, const char *password, void *tag);
/** Play only RANGE (an RTSP Range value, "clock=20261128T100000Z-20261128T110000Z"
 *  or "npt=..."): called before gate_admit(), every PLAY the gate sends the
 *  upstream carries it and the player's own Range is ignored, so that a
 *  grant of recorded footage plays its approved time range only. Copied;
 *  printable ASCII, up to 127 characters. RANGE "" (live): no Range goes
 *  upstream at all. A non-empty RANGE the upstream's PLAY answer does not
 *  confirm as a clock= range ends the session (502): a camera that
 *  ignores it would stream what was not approved. */
void gate_force_range(struct gate_session *s, const char *range);
/** Refuse S: the player gets STATUS (401, 403, 404, 503) with REASON as
 *  the reason phrase's detail (no secret in it), and the connection ends. */
void gate_refuse(struct gate_session *s, int status, const char *reason);
/** End S now (GATE_END_CLOSED; REASON for the log): the player's
 *  connection is closed. Safe for a session not yet admitted. */
void gate_close(struct gate_session *s, const char *reason);

void *gate_session_tag(const struct gate_session *s);
const char *gate_session_token(const struct gate_session *s);
const char *gate_session_client(const struct gate_session *s);
/** Bytes relayed to the player so far. */
uint64_t gate_session_bytes(const struct gate_session *s);
/** Is S admitted and relaying (or setting up) now? */
bool gate_session_admitted(const struct gate_session *s);

/* Counters, for `status`. */
struct gate_stats {
        unsigned long sessions_live, opened, refused, closed, protocol_errors, upstream_errors;
        uint64_t bytes;
};
void gate_get_stats(const struct gate *g, struct gate_stats *ret);

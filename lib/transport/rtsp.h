/* rtsp: probing reserved interfaces (Art 13) on the daemon's loop.
 *
 * A probe connects to an rtsp:// URL, sends OPTIONS and DESCRIBE (answering
 * a Digest challenge once, with the credentials held at the station), and
 * reports the streams the SDP describes, or why it could not: refused,
 * timed out, authentication failed, bad response. Nothing blocks: name
 * lookup, connect, reads and writes and the per-probe deadline are libuv
 * requests and handles. A pool runs at most MAX_IN_FLIGHT probes at once,
 * at most MAX_PER_HOST of them against one host and port (a recorder behind
 * several systems), and queues the rest, so an emergency over a thousand
 * systems does not open a thousand connections at once. */
#pragma once

#include <stddef.h>
#include <uv.h>

#include "transport/sdp.h"

enum rtsp_outcome {
        RTSP_OK = 0,
        RTSP_REFUSED,         /* connection refused, unreachable, no such host */
        RTSP_TIMEOUT,         /* no complete answer before the deadline */
        RTSP_AUTH_FAILED,     /* 401 with our credentials, or none held */
        RTSP_BAD_RESPONSE,    /* not RTSP, an unexpected status, no usable SDP */
        RTSP_CANCELLED,       /* the pool was freed */
};

/** "ok", "refused", "timeout", "auth_failed", "bad_response", "cancelled". */
const char *rtsp_outcome_name(enum rtsp_outcome o);

struct rtsp_result {
        enum rtsp_outcome outcome;
        const char *reason;           /* a sentence for the record */
        int status;                   /* the last RTSP status seen, 0 if none */
        const struct sdp_session *sdp;  /* on RTSP_OK */
};

/** Called once per probe; R is valid during the call only. */
typedef void (*rtsp_done_cb)(void *arg, const struct rtsp_result *r);

struct rtsp_pool;

/** Caller owns the pool (rtsp_pool_free). MAX_PER_HOST <= 0: no limit
 *  beyond MAX_IN_FLIGHT. NULL if out of memory. */
struct rtsp_pool *rtsp_pool_new(uv_loop_t *loop, int max_in_flight, int max_per_host);
/** Cancel every probe (their callbacks run, RTSP_CANCELLED) and free the
 *  pool once its handles are closed. */
void rtsp_pool_free(struct rtsp_pool *p);

/** Probe URL (rtsp://[user:password@]host[:port]/path; USER/PASSWORD, if
 *  given, are used instead of those in the URL) within TIMEOUT_MS. CB runs
 *  once, later (never from inside this call). 0, -EINVAL for a URL that is
 *  not rtsp://, -ENOMEM. */
int rtsp_probe(struct rtsp_pool *p, const char *url, const char *user, const char *password, int timeout_ms,
               rtsp_done_cb cb, void *arg);

/** The most probes that ran at once against one host and port. */
int rtsp_pool_peak_per_host(const struct rtsp_pool *p);
/** Probes running and queued, and the most that ran at once. */
void rtsp_pool_stats(const struct rtsp_pool *p, int *ret_running, int *ret_queued, int *ret_peak);

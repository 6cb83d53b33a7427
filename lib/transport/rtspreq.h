/* rtspreq: the requests a player sends the stream gate (RFC 2326), and the
 * pieces of them the gate decides on: the /t/TOKEN path of the URL, the
 * Transport header, the interleaved frames ('$', channel, length) that
 * share the connection. Pure functions over untrusted bytes, bounded,
 * fuzzed by tests/fuzz/fuzz_rtspreq.c; the gate on the loop is gate.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTSPREQ_MAX_HEAD 16384     /* request line and headers */
#define RTSPREQ_MAX_BODY 65536     /* a SET_PARAMETER body; players seldom send one */
#define RTSPREQ_MAX_HEADERS 64
#define RTSPREQ_MAX_TOKEN 4096     /* as gate.h's GATE_MAX_TOKEN */
#define RTSPREQ_MAX_URL (RTSPREQ_MAX_TOKEN + 512)

struct rtspreq {
        char method[32];            /* OPTIONS, DESCRIBE, SETUP, PLAY, ... */
        char url[RTSPREQ_MAX_URL];  /* the request URL, or "*" */
        int cseq;                   /* -1 if absent */
        char session[128];          /* the Session ID, without ";timeout=" */
        char transport[512];
        char range[128];
        char accept[128];
        char user_agent[128];
        char require[128];
        char content_type[64];
        const char *body;           /* points into the buffer parsed */
        size_t body_len;
};

/** Parse one request from BUF (LEN bytes, not NUL-terminated). Returns the
 *  bytes it takes (head and body), 0 if more bytes are needed, or -EBADMSG:
 *  not RTSP/1.0 (checked on the request line as it arrives, so garbage is
 *  refused without waiting for a whole head), a control character in a
 *  header, a bad CSeq or Content-Length, a URL or a header value too long
 *  to keep, more than RTSPREQ_MAX_HEADERS headers, a head over
 *  RTSPREQ_MAX_HEAD or a body over RTSPREQ_MAX_BODY. *RET borrows BUF and
 *  is untouched unless a request is returned. */
int rtspreq_parse(const char *buf, size_t len, struct rtspreq *ret);

/* A gate URL: rtsp://AUTHORITY/t/TOKEN[/SUFFIX]. */
struct rtspreq_url {
        char authority[256];        /* host[:port] as the player wrote it */
        char token[RTSPREQ_MAX_TOKEN + 1];
        char suffix[256];           /* "" (the whole stream), "track0", ... */
};

/** Split URL (rtsp:// only). TOKEN is 1..RTSPREQ_MAX_TOKEN characters of
 *  the URL-unreserved set (A-Z a-z 0-9 - . _ ~); a query ("?...") is
 *  dropped. 0, or -EINVAL (not this shape, a character outside the sets,
 *  a part too long). */
int rtspreq_url_parse(const char *url, struct rtspreq_url *ret);

/** N for a SUFFIX "trackN" (0 <= N < 100), else -1. */
int rtspreq_track(const char *suffix);

struct rtspreq_transport {
        bool tcp;                   /* RTP/AVP/TCP */
        bool unicast;
        int interleaved[2];         /* channels, -1 if not given */
        char ssrc[16];              /* "" if not given */
};

/** Parse a Transport value: its first RTP/AVP/TCP alternative (a value may
 *  list several, comma-separated, in the player's order of preference).
 *  0; -ENOTSUP if no alternative is over TCP (RTP/AVP, RTP/AVP/UDP: the
 *  gate answers 461); -EBADMSG if malformed (an interleaved channel
 *  outside 0..255, or a range not a-b with b = a + 1 or a alone). */
int rtspreq_transport_parse(const char *value, struct rtspreq_transport *ret);

/** An interleaved frame at the start of BUF: '$', channel, 16-bit length,
 *  payload. Returns its whole length (4 + payload), 0 if more bytes are
 *  needed, -EBADMSG if BUF does not start with '$'. */
int rtspreq_frame_parse(const uint8_t *buf, size_t len, int *ret_channel, size_t *ret_payload_len);

/* rtspmsg: RTSP responses and digest authentication (RFC 2326, RFC 2617),
 * the bytes a reserved interface (Art 13) sends back. Pure functions over
 * untrusted bytes, bounded, fuzzed by tests/fuzz/fuzz_rtsp.c; the client
 * on the loop is rtsp.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define RTSPMSG_MAX_HEAD 16384     /* status line and headers */
#define RTSPMSG_MAX_BODY 65536     /* an SDP is a few hundred bytes */
#define RTSPMSG_MAX_HEADERS 64

struct rtspmsg_response {
        int status;                 /* 200, 401, ... */
        int cseq;                   /* -1 if absent */
        char reason[64];
        char content_base[512];     /* Content-Base (or Content-Location) */
        char www_authenticate[512]; /* the first Digest challenge, if any */
        char content_type[64];
        bool basic;                 /* a Basic challenge was offered */
        char session[128];          /* the Session ID, without ";timeout=" */
        char transport[256];
        char range[128];
        char rtp_info[1024];        /* "" if absent or too long to keep whole */
        const char *body;           /* points into the buffer parsed */
        size_t body_len;
};

/** Parse one response from BUF (LEN bytes, not NUL-terminated). Returns the
 *  bytes it takes (head and body), 0 if more bytes are needed, or
 *  -EBADMSG (not RTSP, a bad Content-Length, a header or body over the
 *  limits). *RET borrows BUF. */
int rtspmsg_parse(const char *buf, size_t len, struct rtspmsg_response *ret);

struct rtspmsg_challenge {
        char realm[128];
        char nonce[128];
        char opaque[128];
        char algorithm[16];         /* "" or MD5 */
        char qop[32];               /* "" or contains "auth" */
};

/** Parse a WWW-Authenticate value; 0, -ENOTSUP (not Digest, or an
 *  algorithm other than MD5), -EBADMSG. */
int rtspmsg_challenge_parse(const char *value, struct rtspmsg_challenge *ret);

/** A fresh random client nonce (16 hex digits) for rtspmsg_digest: one
 *  of its own each time (RFC 2617 3.2.2), so that a recorded answer
 *  cannot be checked offline against guesses. */
void rtspmsg_cnonce(char out[17]);

/** The Authorization header value answering challenge C for METHOD on URI
 *  as USER/PASSWORD (CNONCE and NC used when the challenge asks for qop
 *  auth). Written to OUT (size N); 0 or -ENOSPC. */
int rtspmsg_digest(const struct rtspmsg_challenge *c, const char *method, const char *uri, const char *user,
                   const char *password, const char *cnonce, unsigned nc, char *out, size_t n);

/* An rtsp:// URL split. */
struct rtspmsg_url {
        char host[256];             /* without the brackets of an IPv6 literal */
        char port[8];               /* "554" if not given */
        char user[128], password[128];  /* from user:password@, "" if absent */
        char url[1024];             /* the URL as sent: without user:password@ */
};

/** Split rtsp://[user[:password]@]host[:port][/path]. 0, or -EINVAL (not
 *  rtsp://, no host, a bad port, a part too long). */
int rtspmsg_url_split(const char *url, struct rtspmsg_url *ret);

/** The Authorization value for a Basic challenge: "Basic " and base64 of
 *  USER:PASSWORD, into OUT (size N); 0 or -ENOSPC. */
int rtspmsg_basic(const char *user, const char *password, char *out, size_t n);

/** A camera's RTP-Info value (untrusted) as the gate answers it: each
 *  url= that is one of CONTROLS (absolute, or its tail after a '/')
 *  becomes BASE/trackN, N its index; an entry for any other URL goes (the
 *  camera's address stays at the station). Caller frees; NULL if nothing
 *  is left or out of memory. Fuzzed by tests/fuzz/fuzz_rtsp.c. */
char *rtspmsg_rtp_info_rewrite(const char *value, const char *const *controls, int n_controls, const char *base);

/* gate-impl: what gate.c (the listener, the player's side, a session's
 * life) and gate_upstream.c (the camera's side, the relay) share. Not for
 * other modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "transport/gate.h"
#include "transport/rtspmsg.h"
#include "transport/rtspreq.h"

/* A message whole in each buffer: a head and a body at their limits, or
 * an interleaved frame (4 + 65535 bytes). */
#define GATE_PLAYER_BUF (RTSPREQ_MAX_HEAD + 4 + RTSPREQ_MAX_BODY)
#define GATE_UP_BUF (RTSPMSG_MAX_HEAD + 4 + RTSPMSG_MAX_BODY)
#define GATE_LINGER_MS 2000      /* an ended session's last bytes, then its handles close */
#define GATE_SESSION_TIMEOUT 60  /* seconds, as the player is told in Session */
/* Hostile players (the gate's port is open to the officers' networks):
 * replies queued to a player that does not read stop its requests being
 * taken (its TCP pushes back) beyond GATE_MAX_REPLIES_QUEUED; a
 * connection must ask with a token within GATE_ASK_WITHIN_MS; a player
 * whose queue stays full this long is gone; at most GATE_MAX_CONNECTIONS
 * at once. */
#define GATE_MAX_REPLIES_QUEUED (64 << 10)
#define GATE_ASK_WITHIN_MS 10000
#define GATE_STALLED_MS 30000
#define GATE_MAX_CONNECTIONS 1024

enum gate_state {
        GATE_NEW,        /* OPTIONS at most: no token asked yet */
        GATE_ASKING,     /* ops->admit has the token */
        GATE_OPENING,    /* admitted: the upstream connects, is DESCRIBEd */
        GATE_READY,      /* described: SETUP, PLAY, ... */
};

/* What the player's pending request waits for. */
enum gate_wait { GATE_WAIT_NONE, GATE_WAIT_ADMIT, GATE_WAIT_DESCRIBE, GATE_WAIT_SETUP, GATE_WAIT_PLAY,
                 GATE_WAIT_PAUSE };

struct gate_track {
        char control[1024];      /* the upstream's control URL of the track */
        bool setup;
        int player_channels[2], up_channels[2];
};

struct gate {
        uv_loop_t *loop;
        uv_tcp_t listener;
        bool listener_open, stopping;
        const struct gate_ops *ops;
        void *arg;
        struct gate_session *sessions;
        struct gate_stats stats;
        int port;
        unsigned connections;    /* sessions in the list */
};

struct gate_session {
        struct gate *g;
        struct gate_session *next, *prev;
        int refs;                /* handles open, requests pending, one while alive */
        enum gate_state state;
        bool asked, admitted, ended, playing;
        uint64_t asked_ns;
        uint64_t bytes;
        void *tag;
        char client[64];
        char token[GATE_MAX_TOKEN + 1];
        char base[RTSPREQ_MAX_URL];      /* rtsp://AUTHORITY/t/TOKEN, as the player wrote it */
        char id[24];                     /* the Session ID the player is given */
        char force_range[128];
        bool range_forced;              /* gate_force_range() was called ("": no Range at all) */
        uint64_t paused_ns;             /* when backpressure paused the upstream's reads (0: not) */

        /* The player. */
        uv_tcp_t player;
        bool player_open, player_reading, pumping;
        char *pin;                       /* read, not yet taken (up to GATE_PLAYER_BUF) */
        size_t pin_len, pin_cap;
        size_t player_queued;            /* bytes written, not yet sent */
        enum gate_wait wait;
        int wait_cseq;                   /* the pending request's CSeq */
        int wait_track;
        struct rtspreq_transport wait_transport;

        /* The upstream. */
        uv_tcp_t up;
        uv_connect_t up_connect;
        uv_getaddrinfo_t gai;
        bool up_open, up_connected, up_reading, up_paused, resolving;
        uv_timer_t timer;                /* an upstream step's deadline; after the end, the linger */
        uv_timer_t keepalive;
        bool timer_open, keepalive_open;
        struct rtspmsg_url up_url;       /* with the credentials (never logged, never sent on) */
        char *uin;                       /* read, not yet taken (GATE_UP_BUF) */
        size_t uin_len;
        size_t up_queued;
        int up_cseq;                     /* the last CSeq sent */
        int up_wait_cseq;                /* the answer the player's request waits for, -1 */
        int up_keepalive_cseq;           /* an unanswered keepalive, -1 */
        char up_session[128];
        char up_aggregate[1024];         /* the URL of PLAY, PAUSE, TEARDOWN upstream */
        int auth;                        /* 0 none, 1 Digest, 2 Basic */
        bool auth_tried;
        unsigned auth_nc;
        struct rtspmsg_challenge challenge;
        char last_method[32], last_uri[1024], last_extra[512];  /* to answer a challenge */
        char *sdp;                       /* the SDP the player is given */
        size_t sdp_len;
        int n_tracks;
        struct gate_track tracks[GATE_MAX_TRACKS];
        int16_t up_to_player[256], player_to_up[256];  /* interleaved channels, -1 none */
};

/* One write on a stream; owns its bytes until the callback. */
struct gate_write {
        uv_write_t req;
        struct gate_session *s;
        size_t len;
        bool to_player;
        char data[];
};

/* gate.c */
void gate_hold(struct gate_session *s);
void gate_release(struct gate_session *s);
/* End S (once): ops->closed, the counters, the log; the handles close
 * after the last bytes (GATE_LINGER_MS at most). */
void gate_end(struct gate_session *s, enum gate_end end, const char *reason);
/* Answer the player: STATUS to CSEQ with HEADERS (each ending "\r\n", or
 * NULL) and a BODY of LEN bytes. DETAIL, if not NULL, follows the reason
 * phrase in parentheses (printable ASCII only). */
void gate_reply(struct gate_session *s, int status, int cseq, const char *detail, const char *headers,
                const char *body, size_t len);
/* Answer the pending request with STATUS, and end S. */
void gate_fail(struct gate_session *s, enum gate_end end, int status, const char *reason);
/* Queue W (LEN bytes of data) to the player or upstream; takes W. */
void gate_write_to(struct gate_session *s, struct gate_write *w, bool to_player);
struct gate_write *gate_write_new(struct gate_session *s, size_t len);
/* Take the player's next requests, once nothing is pending. */
void gate_pump(struct gate_session *s);
/* Start or stop reading the player and the upstream as the queues say. */
void gate_flow(struct gate_session *s);
void gate_close_handle(struct gate_session *s, uv_handle_t *h, bool *open);
/* An ended session's streams are both closed: its timer goes too. */
void gate_linger_done(struct gate_session *s);
/* Answer the player's DESCRIBE (CSEQ) with the SDP. */
void gate_answer_describe(struct gate_session *s, int cseq);
/* Start the upstream step's deadline. */
void gate_deadline(struct gate_session *s);

/* gate_upstream.c */
/* Send METHOD URI with EXTRA headers upstream (Session, Authorization
 * added); the CSeq, or -1 if it could not be sent. */
int gate_up_send(struct gate_session *s, const char *method, const char *uri, const char *extra);
/* The player's interleaved frame (RTCP), to the upstream's channel. */
void gate_up_frame(struct gate_session *s, const char *frame, size_t len, int channel);
/* Close the upstream (TEARDOWN first, if it had a session and the gate is
 * not stopping). */
void gate_up_close(struct gate_session *s);
void gate_up_on_keepalive(uv_timer_t *t);
void gate_up_read_start(struct gate_session *s);

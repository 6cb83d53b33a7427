/* gate: the listener, the player's side of a session, a session's life.
 * The upstream's side and the relay are gate_upstream.c. */
#include "transport/gate.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "transport/gate-impl.h"
#include "transport/rtspreq.h"

#define GATE_PUBLIC "Public: OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER\r\n"

const char *gate_end_name(enum gate_end e)
{
        static const char *const names[] = { "teardown", "client_gone", "upstream", "closed", "refused",
                                             "protocol" };

        return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}

static const char *gate_phrase(int status)
{
        static const struct {
                int status;
                const char *phrase;
        } phrases[] = {
                { 200, "OK" }, { 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
                { 404, "Not Found" }, { 405, "Method Not Allowed" }, { 408, "Request Timeout" },
                { 451, "Parameter Not Understood" }, { 453, "Not Enough Bandwidth" },
                { 454, "Session Not Found" }, { 455, "Method Not Valid in This State" },
                { 457, "Invalid Range" }, { 459, "Aggregate Operation Not Allowed" },
                { 461, "Unsupported Transport" }, { 500, "Internal Server Error" },
                { 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
                { 504, "Gateway Time-out" }, { 551, "Option not supported" },
        };
        size_t i;

        for (i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
                if (phrases[i].status == status)
                        return phrases[i].phrase;
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
}

/* --- a session's memory and handles --- */

static void gate_maybe_free(struct gate *g)
{
        if (g->stopping && !g->listener_open && !g->sessions)
                free(g);
}

void gate_hold(struct gate_session *s)
{
        s->refs++;
}

void gate_release(struct gate_session *s)
{
        struct gate *g = s->g;

        if (--s->refs > 0)
                return;
        if (s->prev)
                s->prev->next = s->next;
        else
                g->sessions = s->next;
        if (s->next)
                s->next->prev = s->prev;
        g->connections--;
        free(s->pin);
        free(s->uin);
        free(s->sdp);
        sodium_memzero(&s->up_url, sizeof(s->up_url));
        free(s);
        gate_maybe_free(g);
}

static void gate_on_handle_closed(uv_handle_t *h)
{
        gate_release(h->data);
}

void gate_close_handle(struct gate_session *s, uv_handle_t *h, bool *open)
{
        if (!*open)
                return;
        *open = false;
        uv_close(h, gate_on_handle_closed);
}

/* Every handle, now: the linger is over, or the gate stops. */
static void gate_close_all(struct gate_session *s)
{
        if (s->resolving)
                uv_cancel((uv_req_t *)&s->gai);   /* its callback releases */
        gate_close_handle(s, (uv_handle_t *)&s->player, &s->player_open);
        gate_close_handle(s, (uv_handle_t *)&s->up, &s->up_open);
        gate_close_handle(s, (uv_handle_t *)&s->timer, &s->timer_open);
        gate_close_handle(s, (uv_handle_t *)&s->keepalive, &s->keepalive_open);
}

/* An upstream step's deadline, or (once ended) the linger's. */
static void gate_on_timer(uv_timer_t *t)
{
        struct gate_session *s = t->data;

        if (s->ended) {
                gate_close_all(s);
                return;
        }
        if (s->state == GATE_NEW) {
                gate_end(s, GATE_END_PROTOCOL, "no request with a token in time");
                return;
        }
        gate_fail(s, GATE_END_UPSTREAM, 504, "no answer from the upstream in time");
}

void gate_deadline(struct gate_session *s)
{
        if (s->timer_open && !s->ended)
                uv_timer_start(&s->timer, gate_on_timer, GATE_UPSTREAM_TIMEOUT_MS, 0);
}

static void gate_on_player_shutdown(uv_shutdown_t *req, int status)
{
        struct gate_session *s = req->data;

        (void)status;
        free(req);
        gate_close_handle(s, (uv_handle_t *)&s->player, &s->player_open);
        gate_linger_done(s);
        gate_release(s);
}

void gate_linger_done(struct gate_session *s)
{
        /* Nothing else lingers: the timer that would have closed it goes. */
        if (s->ended && !s->player_open && !s->up_open)
                gate_close_handle(s, (uv_handle_t *)&s->timer, &s->timer_open);
}

void gate_end(struct gate_session *s, enum gate_end end, const char *reason)
{
        struct gate *g = s->g;
        char why[200];

        if (s->ended)
                return;
        s->ended = true;
        s->wait = GATE_WAIT_NONE;
        s->playing = false;
        gate_hold(s);
        switch (end) {
        case GATE_END_REFUSED:
                g->stats.refused++;
                break;
        case GATE_END_PROTOCOL:
                g->stats.protocol_errors++;
                break;
        case GATE_END_UPSTREAM:
                g->stats.upstream_errors++;
                break;
        default:
                break;
        }
        if (s->asked) {
                int64_t duration_us = (int64_t)((uv_hrtime() - s->asked_ns) / 1000);
                g->stats.sessions_live--;
                g->stats.closed++;
                log_info("gate", "client=%s token=%.12s end=%s bytes=%" PRIu64 " ms=%" PRId64 " msg=\"%s\"",
                         s->client, s->token, gate_end_name(end), s->bytes, duration_us / 1000,
                         log_escape(why, sizeof(why), reason ? reason : ""));
                g->ops->closed(g->arg, s, end, s->bytes, duration_us, reason);
        }
        gate_close_handle(s, (uv_handle_t *)&s->keepalive, &s->keepalive_open);
        if (s->player_reading) {
                uv_read_stop((uv_stream_t *)&s->player);
                s->player_reading = false;
        }
        gate_up_close(s);
        if (g->stopping) {
                gate_close_all(s);
        } else {
                /* The player's last answer goes out first; a player that
                 * does not read has GATE_LINGER_MS. */
                uv_shutdown_t *req = malloc(sizeof(*req));
                if (s->timer_open) {
                        uv_timer_stop(&s->timer);
                        uv_timer_start(&s->timer, gate_on_timer, GATE_LINGER_MS, 0);
                }
                if (req && s->player_open) {
                        req->data = s;
                        if (uv_shutdown(req, (uv_stream_t *)&s->player, gate_on_player_shutdown) == 0)
                                gate_hold(s);
                        else {
                                free(req);
                                gate_close_handle(s, (uv_handle_t *)&s->player, &s->player_open);
                        }
                } else {
                        free(req);
                        gate_close_all(s);
                }
        }
        /* The reference it had while alive. */
        gate_release(s);
        gate_release(s);
}

/* --- writing --- */

struct gate_write *gate_write_new(struct gate_session *s, size_t len)
{
        /* One more byte: snprintf's NUL after a head. */
        struct gate_write *w = malloc(sizeof(*w) + len + 1);

        if (!w)
                return NULL;
        w->s = s;
        w->len = len;
        w->req.data = w;
        return w;
}

static void gate_on_written(uv_write_t *req, int status)
{
        struct gate_write *w = req->data;
        struct gate_session *s = w->s;
        bool to_player = w->to_player;

        if (to_player)
                s->player_queued -= w->len;
        else
                s->up_queued -= w->len;
        free(w);
        if (status < 0 && status != UV_ECANCELED && !s->ended)
                gate_end(s, to_player ? GATE_END_CLIENT_GONE : GATE_END_UPSTREAM,
                         to_player ? "the player's connection failed" : "the upstream's connection failed");
        else if (!s->ended && to_player && s->pin_len && s->wait == GATE_WAIT_NONE)
                gate_pump(s);   /* requests held while its replies were queued */
        else if (!s->ended)
                gate_flow(s);
        gate_release(s);
}

void gate_write_to(struct gate_session *s, struct gate_write *w, bool to_player)
{
        uv_buf_t b = uv_buf_init(w->data, (unsigned)w->len);
        uv_stream_t *st = to_player ? (uv_stream_t *)&s->player : (uv_stream_t *)&s->up;
        bool open = to_player ? s->player_open : s->up_open && s->up_connected;

        w->to_player = to_player;
        if (!open || uv_write(&w->req, st, &b, 1, gate_on_written) < 0) {
                free(w);
                return;
        }
        gate_hold(s);
        if (to_player)
                s->player_queued += w->len;
        else
                s->up_queued += w->len;
}

/* Printable ASCII, for a reason phrase. */
static void gate_clean(char *dst, size_t n, const char *src)
{
        size_t i = 0;

        for (; src && *src && i + 1 < n; src++)
                dst[i++] = *src >= ' ' && *src < 0x7f ? *src : ' ';
        dst[i] = '\0';
}

void gate_reply(struct gate_session *s, int status, int cseq, const char *detail, const char *headers,
                const char *body, size_t len)
{
        char clean[160] = "", sess[96] = "", cs[32] = "";
        struct gate_write *w;
        int n;

        gate_clean(clean, sizeof(clean), detail);
        if (s->id[0] && status < 300)
                snprintf(sess, sizeof(sess), "Session: %s;timeout=%d\r\n", s->id, GATE_SESSION_TIMEOUT);
        if (cseq >= 0)
                snprintf(cs, sizeof(cs), "CSeq: %d\r\n", cseq);
#define GATE_HEAD_FMT "RTSP/1.0 %d %s%s%s%s\r\n%sServer: vigil-gate\r\n%s%sContent-Length: %zu\r\n\r\n"
#define GATE_HEAD_ARGS status, gate_phrase(status), clean[0] ? " (" : "", clean, clean[0] ? ")" : "", cs, sess, \
                headers ? headers : "", body ? len : 0
        n = snprintf(NULL, 0, GATE_HEAD_FMT, GATE_HEAD_ARGS);
        if (n < 0)
                return;
        w = gate_write_new(s, (size_t)n + (body ? len : 0));
        if (!w)
                return;
        snprintf(w->data, (size_t)n + 1, GATE_HEAD_FMT, GATE_HEAD_ARGS);
#undef GATE_HEAD_FMT
#undef GATE_HEAD_ARGS
        if (body)
                memcpy(w->data + n, body, len);
        gate_write_to(s, w, true);
}

void gate_fail(struct gate_session *s, enum gate_end end, int status, const char *reason)
{
        if (s->ended)
                return;
        if (s->wait != GATE_WAIT_NONE && status)
                gate_reply(s, status, s->wait_cseq, NULL, NULL, NULL, 0);
        gate_end(s, end, reason);
}

/* --- reading the player --- */

static void gate_player_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
        struct gate_session *s = h->data;

        (void)suggested;
        /* Players send little: the buffer grows to GATE_PLAYER_BUF only for
         * a request or frame that needs it. */
        if (s->pin_len == s->pin_cap && s->pin_cap < GATE_PLAYER_BUF) {
                size_t cap = s->pin_cap ? s->pin_cap * 4 : 4096;
                char *p = realloc(s->pin, cap < GATE_PLAYER_BUF ? cap : GATE_PLAYER_BUF);
                if (p) {
                        s->pin = p;
                        s->pin_cap = cap < GATE_PLAYER_BUF ? cap : GATE_PLAYER_BUF;
                }
        }
        if (s->pin_len >= s->pin_cap) {
                *b = uv_buf_init(NULL, 0);
                return;
        }
        *b = uv_buf_init(s->pin + s->pin_len, (unsigned)(s->pin_cap - s->pin_len));
}

static void gate_player_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
        struct gate_session *s = st->data;

        (void)b;
        if (n == 0 || s->ended)
                return;
        gate_hold(s);
        if (n == UV_ENOBUFS && s->pin_cap == GATE_PLAYER_BUF) {
                gate_flow(s);
        } else if (n < 0) {
                gate_end(s, GATE_END_CLIENT_GONE,
                         n == UV_EOF ? "the player closed the connection" : "the player's connection failed");
        } else {
                s->pin_len += (size_t)n;
                gate_pump(s);
        }
        gate_release(s);
}

void gate_flow(struct gate_session *s)
{
        bool want;

        if (s->ended)
                return;
        want = s->player_open && s->pin_len < GATE_PLAYER_BUF;
        if (want && !s->player_reading)
                s->player_reading = uv_read_start((uv_stream_t *)&s->player, gate_player_alloc,
                                                  gate_player_on_read) == 0;
        else if (!want && s->player_reading) {
                uv_read_stop((uv_stream_t *)&s->player);
                s->player_reading = false;
        }
        if (!s->up_open || !s->up_connected)
                return;
        /* Backpressure: past GATE_MAX_QUEUED bytes queued to a player that
         * reads slower than the camera sends, the camera's reads stop (TCP
         * pushes back), until half of it is sent. */
        if (s->up_reading && s->player_queued > GATE_MAX_QUEUED) {
                uv_read_stop((uv_stream_t *)&s->up);
                s->up_reading = false;
                s->up_paused = true;
                s->paused_ns = uv_hrtime();
        } else if (!s->up_reading && (!s->up_paused || s->player_queued <= GATE_MAX_QUEUED / 2)) {
                s->up_paused = false;
                s->paused_ns = 0;
                gate_up_read_start(s);
        }
}

/* Bytes that are not RTSP, or a request no player sends: 400, the end. */
static void gate_protocol_error(struct gate_session *s, int status, int cseq, const char *reason)
{
        char why[200];

        log_info("gate", "client=%s token=%.12s status=%d msg=\"%s\"", s->client, s->token, status,
                 log_escape(why, sizeof(why), reason));
        gate_reply(s, status, cseq, NULL, NULL, NULL, 0);
        gate_end(s, GATE_END_PROTOCOL, reason);
}

void gate_answer_describe(struct gate_session *s, int cseq)
{
        char *headers;
        size_t n = strlen(s->base) + 64;

        headers = malloc(n);
        if (!headers) {
                gate_fail(s, GATE_END_UPSTREAM, 500, "out of memory");
                return;
        }
        snprintf(headers, n, "Content-Base: %s/\r\nContent-Type: application/sdp\r\n", s->base);
        gate_reply(s, 200, cseq, NULL, headers, s->sdp, s->sdp_len);
        free(headers);
}

static void gate_on_options(struct gate_session *s, const struct rtspreq *r, const struct rtspreq_url *u)
{
        (void)u;
        gate_reply(s, 200, r->cseq, NULL, GATE_PUBLIC, NULL, 0);
}

static void gate_on_describe(struct gate_session *s, const struct rtspreq *r, const struct rtspreq_url *u)
{
        struct gate *g = s->g;

        if (s->state == GATE_READY) {
                gate_answer_describe(s, r->cseq);
                return;
        }
        if (u->suffix[0]) {
                gate_reply(s, 404, r->cseq, "DESCRIBE the stream, not a track", NULL, NULL, 0);
                return;
        }
        snprintf(s->token, sizeof(s->token), "%s", u->token);
        snprintf(s->base, sizeof(s->base), "rtsp://%s/t/%s", u->authority, u->token);
        s->asked = true;
        s->asked_ns = uv_hrtime();
        s->state = GATE_ASKING;
        uv_timer_stop(&s->timer);       /* the deadline to ask is met */
        s->wait = GATE_WAIT_ADMIT;
        s->wait_cseq = r->cseq;
        g->stats.sessions_live++;
        log_debug("gate", "client=%s token=%.12s msg=\"asks to open\"", s->client, s->token);
        g->ops->admit(g->arg, s, s->token, s->client);
}

/* Send the player's request upstream and wait for the answer. */
static void gate_forward(struct gate_session *s, const struct rtspreq *r, enum gate_wait wait, const char *method,
                         const char *uri, const char *extra)
{
        int cseq = gate_up_send(s, method, uri, extra);

        if (cseq < 0) {
                gate_reply(s, 502, r->cseq, NULL, NULL, NULL, 0);
                gate_end(s, GATE_END_UPSTREAM, "cannot write to the upstream");
                return;
        }
        s->wait = wait;
        s->wait_cseq = r->cseq;
        s->up_wait_cseq = cseq;
        gate_deadline(s);
}

static void gate_on_setup(struct gate_session *s, const struct rtspreq *r, const struct rtspreq_url *u)
{
        struct rtspreq_transport t;
        char extra[128];
        int track, rc;

        if (s->state != GATE_READY) {
                gate_reply(s, 455, r->cseq, "DESCRIBE first", NULL, NULL, 0);
                return;
        }
        track = rtspreq_track(u->suffix);
        if (track < 0 && !u->suffix[0] && s->n_tracks == 1)
                track = 0;
        if (track < 0 || track >= s->n_tracks) {
                gate_reply(s, 404, r->cseq, "no such track", NULL, NULL, 0);
                return;
        }
        rc = rtspreq_transport_parse(r->transport, &t);
        if (rc == -ENOTSUP) {
                /* Players ask again over TCP (ffmpeg, rtspsrc, VLC). */
                gate_reply(s, 461, r->cseq, "RTP/AVP/TCP interleaved only", NULL, NULL, 0);
                return;
        }
        if (rc < 0) {
                gate_reply(s, 400, r->cseq, "bad Transport", NULL, NULL, 0);
                return;
        }
        if (t.interleaved[0] < 0) {
                t.interleaved[0] = 2 * track;
                t.interleaved[1] = 2 * track + 1;
        }
        s->wait_track = track;
        s->wait_transport = t;
        snprintf(extra, sizeof(extra), "Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d\r\n", t.interleaved[0],
                 t.interleaved[1]);
        gate_forward(s, r, GATE_WAIT_SETUP, "SETUP", s->tracks[track].control, extra);
}

static void gate_on_play(struct gate_session *s, const struct rtspreq *r, const struct rtspreq_url *u)
{
        /* A grant of recorded footage plays its approved range only. */
        const char *range = s->range_forced ? s->force_range : r->range;
        char extra[160] = "";

        (void)u;
        if (s->state != GATE_READY || !s->id[0]) {
                gate_reply(s, 455, r->cseq, "SETUP first", NULL, NULL, 0);
                return;
        }
        if (range[0])
                snprintf(extra, sizeof(extra), "Range: %s\r\n", range);
        gate_forward(s, r, GATE_WAIT_PLAY, "PLAY", s->up_aggregate, extra);
}

static void gate_on_pause(struct gate_session *s, const struct rtspreq *r, const struct rtspreq_url *u)
{
        (void)u;
        if (s->state != GATE_READY || !s->id[0]) {
                gate_reply(s, 455, r->cseq, "SETUP first", NULL, NULL, 0);
                return;
        }
        gate_forward(s, r, GATE_WAIT_PAUSE, "PAUSE", s->up_aggregate, NULL);
}

static void gate_on_teardown(struct gate_session *s, const struct rtspreq *r, const struct rtspreq_url *u)
{
        (void)u;
        gate_reply(s, 200, r->cseq, NULL, NULL, NULL, 0);
        gate_end(s, GATE_END_TEARDOWN, "the player said TEARDOWN");
}

/* Keepalives: the gate keeps the upstream's session alive itself. */
static void gate_on_parameter(struct gate_session *s, const struct rtspreq *r, const struct rtspreq_url *u)
{
        (void)u;
        gate_reply(s, 200, r->cseq, NULL, NULL, NULL, 0);
}

static const struct gate_method {
        const char *name;
        bool session;            /* must name the session, once there is one */
        void (*handle)(struct gate_session *s, const struct rtspreq *r, const struct rtspreq_url *u);
} gate_methods[] = {
        { "OPTIONS", false, gate_on_options },
        { "DESCRIBE", false, gate_on_describe },
        { "SETUP", true, gate_on_setup },
        { "PLAY", true, gate_on_play },
        { "PAUSE", true, gate_on_pause },
        { "TEARDOWN", true, gate_on_teardown },
        { "GET_PARAMETER", true, gate_on_parameter },
        { "SET_PARAMETER", true, gate_on_parameter },
};

static void gate_request(struct gate_session *s, const struct rtspreq *r)
{
        static struct rtspreq_url u;    /* one loop: the gate is not re-entered here */
        const struct gate_method *m = NULL;
        size_t i;

        if (r->cseq < 0) {
                gate_protocol_error(s, 400, -1, "a request without CSeq");
                return;
        }
        for (i = 0; i < sizeof(gate_methods) / sizeof(gate_methods[0]); i++)
                if (strcmp(r->method, gate_methods[i].name) == 0)
                        m = &gate_methods[i];
        if (!m) {
                gate_reply(s, 501, r->cseq, NULL, GATE_PUBLIC, NULL, 0);
                return;
        }
        if (m->handle == gate_on_options && strcmp(r->url, "*") == 0) {
                m->handle(s, r, NULL);
                return;
        }
        if (rtspreq_url_parse(r->url, &u) < 0) {
                if (s->token[0])
                        gate_protocol_error(s, 403, r->cseq, "a request for another URL");
                else
                        gate_reply(s, 404, r->cseq, "not rtsp://HOST/t/TOKEN", NULL, NULL, 0);
                return;
        }
        if (s->token[0] && strcmp(u.token, s->token) != 0) {
                gate_protocol_error(s, 403, r->cseq, "a request with another token");
                return;
        }
        if (r->require[0]) {
                /* No extension is supported (RFC 2326 12.32). */
                char unsupported[160];
                snprintf(unsupported, sizeof(unsupported), "Unsupported: %s\r\n", r->require);
                gate_reply(s, 551, r->cseq, NULL, unsupported, NULL, 0);
                return;
        }
        if (m->session && s->id[0] && strcmp(r->session, s->id) != 0) {
                gate_reply(s, 454, r->cseq, NULL, NULL, NULL, 0);
                return;
        }
        m->handle(s, r, &u);
}

void gate_pump(struct gate_session *s)
{
        static struct rtspreq r;        /* 6 KiB, off the stack; one loop */
        size_t off = 0;

        /* Not again from inside a request it is taking: the loop below
         * goes on with the next. */
        if (s->pumping)
                return;
        s->pumping = true;
        gate_hold(s);
        while (!s->ended && s->wait == GATE_WAIT_NONE && off < s->pin_len &&
               s->player_queued <= (s->playing ? GATE_MAX_QUEUED : GATE_MAX_REPLIES_QUEUED)) {
                const char *p = s->pin + off;
                size_t len = s->pin_len - off;
                int n;

                if (*p == '$') {
                        size_t plen;
                        int ch;
                        n = rtspreq_frame_parse((const uint8_t *)p, len, &ch, &plen);
                        if (n == 0)
                                break;
                        gate_up_frame(s, p, (size_t)n, ch);
                } else {
                        n = rtspreq_parse(p, len, &r);
                        if (n == 0)
                                break;
                        if (n < 0) {
                                gate_protocol_error(s, 400, -1, "the player sent what is not RTSP");
                                break;
                        }
                        gate_request(s, &r);
                }
                off += (size_t)n;
        }
        if (!s->ended && off) {
                memmove(s->pin, s->pin + off, s->pin_len - off);
                s->pin_len -= off;
        }
        s->pumping = false;
        gate_flow(s);
        gate_release(s);
}

/* --- the listener --- */

static void gate_client_name(uv_tcp_t *t, char *buf, size_t n)
{
        struct sockaddr_storage ss;
        char host[64] = "?";
        int len = sizeof(ss);

        snprintf(buf, n, "?");
        if (uv_tcp_getpeername(t, (struct sockaddr *)&ss, &len) < 0)
                return;
        if (ss.ss_family == AF_INET6) {
                uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
                snprintf(buf, n, "[%s]:%d", host, ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
        } else {
                uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
                snprintf(buf, n, "%s:%d", host, ntohs(((struct sockaddr_in *)&ss)->sin_port));
        }
}

static void gate_on_connection(uv_stream_t *server, int status)
{
        struct gate *g = server->data;
        struct gate_session *s;
        int i;

        if (status < 0 || g->stopping) {
                log_warn("gate", "msg=\"cannot accept a player: %s\"", uv_strerror(status));
                return;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                log_error("gate", "msg=\"out of memory for a player\"");
                return;
        }
        s->g = g;
        s->refs = 1;
        s->wait_cseq = s->up_wait_cseq = s->up_keepalive_cseq = -1;
        for (i = 0; i < 256; i++)
                s->up_to_player[i] = s->player_to_up[i] = -1;
        s->next = g->sessions;
        if (g->sessions)
                g->sessions->prev = s;
        g->sessions = s;
        g->connections++;
        uv_tcp_init(g->loop, &s->player);
        uv_timer_init(g->loop, &s->timer);
        uv_timer_init(g->loop, &s->keepalive);
        s->player.data = s->timer.data = s->keepalive.data = s;
        s->player_open = s->timer_open = s->keepalive_open = true;
        s->refs += 3;
        if (uv_accept(server, (uv_stream_t *)&s->player) < 0) {
                gate_end(s, GATE_END_CLIENT_GONE, "accept failed");
                return;
        }
        uv_tcp_nodelay(&s->player, 1);
        gate_client_name(&s->player, s->client, sizeof(s->client));
        if (g->connections > GATE_MAX_CONNECTIONS) {
                log_warn("gate", "client=%s connections=%u msg=\"refused: too many connections\"", s->client,
                         g->connections);
                gate_reply(s, 503, -1, "too many connections", NULL, NULL, 0);
                gate_end(s, GATE_END_CLIENT_GONE, "too many connections");
                return;
        }
        uv_timer_start(&s->timer, gate_on_timer, GATE_ASK_WITHIN_MS, 0);
        gate_flow(s);
}

static void gate_on_listener_closed(uv_handle_t *h)
{
        struct gate *g = h->data;

        g->listener_open = false;
        gate_maybe_free(g);
}

int gate_start(uv_loop_t *loop, const char *host, int port, const struct gate_ops *ops, void *arg,
               struct gate **ret)
{
        struct sockaddr_storage addr;
        struct gate *g;
        int rc, len = sizeof(addr);

        if (!loop || !host || !ops || !ops->admit || !ops->closed || port < 0 || port > 65535)
                return UV_EINVAL;
        memset(&addr, 0, sizeof(addr));
        if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
            uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0)
                return UV_EINVAL;
        g = calloc(1, sizeof(*g));
        if (!g)
                return UV_ENOMEM;
        g->loop = loop;
        g->ops = ops;
        g->arg = arg;
        uv_tcp_init(loop, &g->listener);
        g->listener.data = g;
        g->listener_open = true;
        rc = uv_tcp_bind(&g->listener, (const struct sockaddr *)&addr, 0);
        if (rc == 0)
                rc = uv_listen((uv_stream_t *)&g->listener, 511, gate_on_connection);
        if (rc == 0)
                rc = uv_tcp_getsockname(&g->listener, (struct sockaddr *)&addr, &len);
        if (rc < 0) {
                /* Freed once the loop has closed the listener. */
                g->stopping = true;
                uv_close((uv_handle_t *)&g->listener, gate_on_listener_closed);
                return rc;
        }
        g->port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                                   : ((struct sockaddr_in *)&addr)->sin_port);
        log_info("gate", "host=%s port=%d msg=\"listening for players\"", host, g->port);
        *ret = g;
        return 0;
}

void gate_stop(struct gate *g)
{
        struct gate_session *s, *next;

        if (!g || g->stopping)
                return;
        g->stopping = true;
        for (s = g->sessions; s; s = next) {
                gate_hold(s);
                gate_end(s, GATE_END_CLOSED, "the gate stops");
                gate_close_all(s);
                next = s->next;
                gate_release(s);
        }
        uv_close((uv_handle_t *)&g->listener, gate_on_listener_closed);
}

int gate_port(const struct gate *g)
{
        return g->port;
}

void gate_get_stats(const struct gate *g, struct gate_stats *ret)
{
        *ret = g->stats;
}

/* --- the policy's answers --- */

void gate_refuse(struct gate_session *s, int status, const char *reason)
{
        if (vigil_fails(s != NULL) || s->ended || s->state != GATE_ASKING)
                return;
        if (status < 400 || status > 599)
                status = 403;
        gate_reply(s, status, s->wait_cseq, reason, NULL, NULL, 0);
        gate_end(s, GATE_END_REFUSED, reason ? reason : "refused");
}

void gate_close(struct gate_session *s, const char *reason)
{
        if (vigil_fails(s != NULL) || s->ended)
                return;
        gate_end(s, GATE_END_CLOSED, reason ? reason : "closed");
}

void gate_force_range(struct gate_session *s, const char *range)
{
        if (vigil_fails(s != NULL))
                return;
        gate_clean(s->force_range, sizeof(s->force_range), range ? range : "");
        s->range_forced = true;
}

void *gate_session_tag(const struct gate_session *s)
{
        return s->tag;
}

const char *gate_session_token(const struct gate_session *s)
{
        return s->token;
}

const char *gate_session_client(const struct gate_session *s)
{
        return s->client;
}

uint64_t gate_session_bytes(const struct gate_session *s)
{
        return s->bytes;
}

bool gate_session_admitted(const struct gate_session *s)
{
        return s->admitted && !s->ended;
}

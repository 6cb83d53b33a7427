/* gate_upstream: a session's camera side. On gate_admit() the gate
 * connects to the upstream, DESCRIBEs it (answering a Digest or Basic
 * challenge with the credentials held at the station), and from then on
 * sends it the player's SETUP, PLAY and PAUSE, keeps its session alive, and
 * relays its interleaved frames to the player as they are. */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "transport/gate-impl.h"
#include "transport/gate.h"
#include "transport/rtspmsg.h"
#include "transport/rtspreq.h"
#include "transport/sdp.h"

/* --- requests --- */

int gate_up_send(struct gate_session *s, const char *method, const char *uri, const char *extra)
{
        char authz[1200] = "", sess[160] = "", cnonce[17];
        struct gate_write *w;
        int n;

        if (!s->up_open || !s->up_connected)
                return -1;
        /* What a challenge to it would ask again (not keepalives, not a
         * TEARDOWN: no one waits for those). */
        if (strcmp(method, "GET_PARAMETER") != 0 && strcmp(method, "TEARDOWN") != 0) {
                snprintf(s->last_method, sizeof(s->last_method), "%s", method);
                snprintf(s->last_uri, sizeof(s->last_uri), "%s", uri);
                snprintf(s->last_extra, sizeof(s->last_extra), "%s", extra ? extra : "");
        }
        s->up_cseq++;
        if (s->auth == 1) {
                rtspmsg_cnonce(cnonce);
                memcpy(authz, "Authorization: ", 15);
                if (rtspmsg_digest(&s->challenge, method, uri, s->up_url.user, s->up_url.password, cnonce,
                                   ++s->auth_nc, authz + 15, sizeof(authz) - 17) < 0)
                        return -1;
                strcat(authz, "\r\n");
        } else if (s->auth == 2) {
                memcpy(authz, "Authorization: ", 15);
                if (rtspmsg_basic(s->up_url.user, s->up_url.password, authz + 15, sizeof(authz) - 17) < 0)
                        return -1;
                strcat(authz, "\r\n");
        }
        if (s->up_session[0])
                snprintf(sess, sizeof(sess), "Session: %s\r\n", s->up_session);
#define GATE_UP_FMT "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: vigil-gate\r\n%s%s%s\r\n"
#define GATE_UP_ARGS method, uri, s->up_cseq, sess, authz, extra ? extra : ""
        n = snprintf(NULL, 0, GATE_UP_FMT, GATE_UP_ARGS);
        w = n < 0 ? NULL : gate_write_new(s, (size_t)n);
        if (!w) {
                sodium_memzero(authz, sizeof(authz));
                return -1;
        }
        snprintf(w->data, (size_t)n + 1, GATE_UP_FMT, GATE_UP_ARGS);
#undef GATE_UP_FMT
#undef GATE_UP_ARGS
        sodium_memzero(authz, sizeof(authz));
        gate_write_to(s, w, false);
        return s->up_cseq;
}

/* --- answers --- */


/* A status other than 200 to the player's request, the upstream's reason
 * as the detail. */
static void gate_up_pass_status(struct gate_session *s, const struct rtspmsg_response *r)
{
        /* The gate's own words: the camera's reason phrase (or a 3xx's
         * redirect) may name where it is. */
        int status = r->status >= 400 && r->status <= 599 ? r->status : 502;
        char detail[64];

        snprintf(detail, sizeof(detail), "the camera answered %d", r->status);
        gate_reply(s, status, s->wait_cseq, detail, NULL, NULL, 0);
}

static void gate_up_described(struct gate_session *s, const struct rtspmsg_response *r)
{
        static struct sdp_session sdp;  /* 5 KiB, off the stack; one loop */
        const char *base = r->content_base[0] ? r->content_base : s->up_url.url;
        char reason[200];
        int i;

        if (r->status != 200) {
                snprintf(reason, sizeof(reason), "the upstream answered DESCRIBE %d %s", r->status, r->reason);
                gate_fail(s, GATE_END_UPSTREAM, 502, reason);
                return;
        }
        if (sdp_parse(r->body, r->body_len, base, &sdp) < 0 || sdp.n_media == 0 ||
            sdp_rewrite_controls(r->body, r->body_len, s->base, &s->sdp, &s->sdp_len) < 0) {
                gate_fail(s, GATE_END_UPSTREAM, 502, "the upstream's DESCRIBE gave no usable SDP");
                return;
        }
        snprintf(s->up_aggregate, sizeof(s->up_aggregate), "%s", sdp.control[0] ? sdp.control : base);
        s->n_tracks = sdp.n_media < GATE_MAX_TRACKS ? sdp.n_media : GATE_MAX_TRACKS;
        for (i = 0; i < s->n_tracks; i++)
                snprintf(s->tracks[i].control, sizeof(s->tracks[i].control), "%s",
                         sdp.media[i].control[0] ? sdp.media[i].control : s->up_aggregate);
        s->state = GATE_READY;
        s->wait = GATE_WAIT_NONE;
        log_info("gate", "client=%s token=%.12s upstream=%s:%s tracks=%d msg=\"admitted\"", s->client, s->token,
                 s->up_url.host, s->up_url.port, s->n_tracks);
        gate_answer_describe(s, s->wait_cseq);
}

static void gate_up_set_up(struct gate_session *s, const struct rtspmsg_response *r)
{
        struct rtspreq_transport t = s->wait_transport, got;
        struct gate_track *tr = &s->tracks[s->wait_track];
        char headers[160];
        int i;

        s->wait = GATE_WAIT_NONE;
        if (r->status != 200) {
                gate_up_pass_status(s, r);
                return;
        }
        if (!s->up_session[0]) {
                if (!r->session[0]) {
                        gate_fail(s, GATE_END_UPSTREAM, 502, "the upstream's SETUP gave no Session");
                        return;
                }
                snprintf(s->up_session, sizeof(s->up_session), "%s", r->session);
        }
        tr->up_channels[0] = t.interleaved[0];
        tr->up_channels[1] = t.interleaved[1];
        got.ssrc[0] = '\0';
        if (rtspreq_transport_parse(r->transport, &got) == 0 && got.interleaved[0] >= 0) {
                /* The upstream may choose other channels: frames are mapped. */
                tr->up_channels[0] = got.interleaved[0];
                tr->up_channels[1] = got.interleaved[1];
        }
        if (tr->setup)
                for (i = 0; i < 2; i++) {
                        s->up_to_player[tr->up_channels[i]] = -1;
                        s->player_to_up[tr->player_channels[i]] = -1;
                }
        for (i = 0; i < 2; i++) {
                tr->player_channels[i] = t.interleaved[i];
                s->up_to_player[tr->up_channels[i]] = (int16_t)t.interleaved[i];
                s->player_to_up[t.interleaved[i]] = (int16_t)tr->up_channels[i];
        }
        tr->setup = true;
        if (!s->id[0]) {
                unsigned char b[8];
                randombytes_buf(b, sizeof(b));
                sodium_bin2hex(s->id, sizeof(s->id), b, sizeof(b));
                /* The upstream's session times out unless it hears from us. */
                if (s->keepalive_open)
                        uv_timer_start(&s->keepalive, gate_up_on_keepalive, GATE_KEEPALIVE_MS, GATE_KEEPALIVE_MS);
        }
        snprintf(headers, sizeof(headers), "Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d%s%s\r\n",
                 t.interleaved[0], t.interleaved[1], got.ssrc[0] ? ";ssrc=" : "", got.ssrc);
        gate_reply(s, 200, s->wait_cseq, NULL, headers, NULL, 0);
}

static void gate_up_played(struct gate_session *s, const struct rtspmsg_response *r)
{
        bool range_ok;
        char *rtp_info, *headers;
        size_t n;

        s->wait = GATE_WAIT_NONE;
        if (r->status != 200) {
                gate_up_pass_status(s, r);
                return;
        }
        if (s->force_range[0] && strncmp(r->range, "clock=", 6) != 0) {
                /* Asked for recorded material, it answered something else
                 * (a live camera ignores Range: clock): what it would send
                 * is not what was approved. */
                gate_reply(s, 502, s->wait_cseq, "the camera did not play the approved recorded range", NULL,
                           NULL, 0);
                gate_end(s, GATE_END_UPSTREAM, "the camera did not play the approved recorded range");
                return;
        }
        s->playing = true;
        if (r->rtp_info[0]) {
                const char *controls[GATE_MAX_TRACKS];
                for (int i = 0; i < s->n_tracks; i++)
                        controls[i] = s->tracks[i].control;
                rtp_info = rtspmsg_rtp_info_rewrite(r->rtp_info, controls, s->n_tracks, s->base);
        } else {
                rtp_info = NULL;
        }
        /* The camera's Range only as a range: npt=, clock= or smpte= and
         * the characters of their grammar (RFC 2326 3.5-3.7). */
        range_ok = (strncmp(r->range, "npt=", 4) == 0 || strncmp(r->range, "clock=", 6) == 0 ||
                    strncmp(r->range, "smpte=", 6) == 0) &&
                   strspn(r->range, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=.:-,+; ") ==
                           strlen(r->range);
        n = (rtp_info ? strlen(rtp_info) : 0) + sizeof(r->range) + 32;
        headers = malloc(n);
        if (headers)
                snprintf(headers, n, "%s%s%s%s%s%s", range_ok ? "Range: " : "", range_ok ? r->range : "",
                         range_ok ? "\r\n" : "", rtp_info ? "RTP-Info: " : "", rtp_info ? rtp_info : "",
                         rtp_info ? "\r\n" : "");
        gate_reply(s, 200, s->wait_cseq, NULL, headers, NULL, 0);
        free(headers);
        free(rtp_info);
}

static void gate_up_paused(struct gate_session *s, const struct rtspmsg_response *r)
{
        s->wait = GATE_WAIT_NONE;
        if (r->status != 200) {
                gate_up_pass_status(s, r);
                return;
        }
        s->playing = false;
        gate_reply(s, 200, s->wait_cseq, NULL, NULL, NULL, 0);
}

/* What each answer the player waits for does, by what it waits for. */
static void (*const gate_up_answers[])(struct gate_session *s, const struct rtspmsg_response *r) = {
        [GATE_WAIT_DESCRIBE] = gate_up_described,
        [GATE_WAIT_SETUP] = gate_up_set_up,
        [GATE_WAIT_PLAY] = gate_up_played,
        [GATE_WAIT_PAUSE] = gate_up_paused,
};

/* 401: answer the challenge once with the credentials held here. */
static bool gate_up_challenged(struct gate_session *s, const struct rtspmsg_response *r)
{
        char method[sizeof(s->last_method)], uri[sizeof(s->last_uri)], extra[sizeof(s->last_extra)];
        int cseq;

        if (s->auth_tried || !s->up_url.user[0])
                return false;
        if (r->www_authenticate[0] && rtspmsg_challenge_parse(r->www_authenticate, &s->challenge) == 0)
                s->auth = 1;
        else if (r->basic)
                s->auth = 2;
        else
                return false;
        s->auth_tried = true;
        s->auth_nc = 0;
        memcpy(method, s->last_method, sizeof(method));
        memcpy(uri, s->last_uri, sizeof(uri));
        memcpy(extra, s->last_extra, sizeof(extra));
        cseq = gate_up_send(s, method, uri, extra[0] ? extra : NULL);
        if (cseq < 0)
                return false;
        s->up_wait_cseq = cseq;
        gate_deadline(s);
        return true;
}

static void gate_up_on_response(struct gate_session *s, const struct rtspmsg_response *r)
{
        if (r->cseq >= 0 && r->cseq == s->up_keepalive_cseq) {
                s->up_keepalive_cseq = -1;
                return;
        }
        if (r->cseq < 0 || r->cseq != s->up_wait_cseq || s->wait == GATE_WAIT_NONE)
                return;         /* an answer no one waits for (a TEARDOWN's) */
        if (r->status == 401) {
                if (gate_up_challenged(s, r))
                        return;
                gate_fail(s, GATE_END_UPSTREAM, 502,
                          s->up_url.user[0] ? "the upstream refused the credentials held here"
                                            : "the upstream asks for credentials; none are held");
                return;
        }
        s->auth_tried = false;
        s->up_wait_cseq = -1;
        if (s->timer_open)
                uv_timer_stop(&s->timer);
        if ((size_t)s->wait < sizeof(gate_up_answers) / sizeof(gate_up_answers[0]) && gate_up_answers[s->wait])
                gate_up_answers[s->wait](s, r);
        else
                s->wait = GATE_WAIT_NONE;
}

/* A request from the upstream (some servers send keepalives of their own). */
static void gate_up_on_request(struct gate_session *s, const struct rtspreq *q)
{
        struct gate_write *w;
        char buf[128];
        int ok = strcmp(q->method, "GET_PARAMETER") == 0 || strcmp(q->method, "OPTIONS") == 0 ||
                 strcmp(q->method, "SET_PARAMETER") == 0;
        int n = snprintf(buf, sizeof(buf), "RTSP/1.0 %s\r\nCSeq: %d\r\n\r\n", ok ? "200 OK" : "501 Not Implemented",
                         q->cseq < 0 ? 0 : q->cseq);

        /* A camera that asks and does not read its answers would queue
         * them without end. */
        if (s->up_queued > GATE_MAX_REPLIES_QUEUED) {
                gate_end(s, GATE_END_UPSTREAM, "the upstream sends requests and does not read the answers");
                return;
        }

        w = gate_write_new(s, (size_t)n);
        if (!w)
                return;
        memcpy(w->data, buf, (size_t)n);
        gate_write_to(s, w, false);
}

/* --- the relay --- */

static void gate_up_flush(struct gate_session *s, struct gate_write **out, size_t *len)
{
        if (!*out)
                return;
        if (*len == 0) {
                free(*out);
        } else {
                (*out)->len = *len;
                s->bytes += *len;
                s->g->stats.bytes += *len;
                gate_write_to(s, *out, true);
        }
        *out = NULL;
        *len = 0;
}

/* Take what the upstream sent: frames go to the player as they are (one
 * write for all of one read's), answers to gate_up_on_response. */
static void gate_up_take(struct gate_session *s)
{
        static struct rtspreq q;        /* 6 KiB, off the stack; one loop */
        struct gate_write *out = NULL;
        size_t off = 0, out_len = 0;

        while (!s->ended && off < s->uin_len) {
                const char *p = s->uin + off;
                size_t len = s->uin_len - off, plen;
                struct rtspmsg_response r;
                int n, ch;

                if (*p == '$') {
                        n = rtspreq_frame_parse((const uint8_t *)p, len, &ch, &plen);
                        if (n == 0)
                                break;
                        if (s->up_to_player[ch] >= 0) {
                                if (!out)
                                        out = gate_write_new(s, len);
                                if (!out) {
                                        gate_fail(s, GATE_END_UPSTREAM, 0, "out of memory");
                                        break;
                                }
                                memcpy(out->data + out_len, p, (size_t)n);
                                out->data[out_len + 1] = (char)s->up_to_player[ch];
                                out_len += (size_t)n;
                        }
                } else if ((n = rtspmsg_parse(p, len, &r)) != 0) {
                        if (n < 0 && (n = rtspreq_parse(p, len, &q)) > 0) {
                                gate_up_on_request(s, &q);
                        } else if (n < 0) {
                                gate_up_flush(s, &out, &out_len);
                                gate_fail(s, GATE_END_UPSTREAM, 502, "the upstream sent what is not RTSP");
                                break;
                        } else if (n > 0) {
                                /* Frames before it reach the player before it. */
                                gate_up_flush(s, &out, &out_len);
                                gate_up_on_response(s, &r);
                        } else {
                                break;
                        }
                } else {
                        break;
                }
                off += (size_t)n;
        }
        if (s->ended) {
                free(out);
                return;
        }
        gate_up_flush(s, &out, &out_len);
        if (off) {
                memmove(s->uin, s->uin + off, s->uin_len - off);
                s->uin_len -= off;
        }
        gate_flow(s);
        if (s->wait == GATE_WAIT_NONE)
                gate_pump(s);
}

static void gate_up_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
        struct gate_session *s = h->data;

        (void)suggested;
        if (!s->uin)
                s->uin = malloc(GATE_UP_BUF);
        if (!s->uin || s->uin_len >= GATE_UP_BUF) {
                *b = uv_buf_init(NULL, 0);
                return;
        }
        *b = uv_buf_init(s->uin + s->uin_len, (unsigned)(GATE_UP_BUF - s->uin_len));
}

static void gate_up_on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
        struct gate_session *s = st->data;

        (void)b;
        if (n == 0 || s->ended)
                return;
        gate_hold(s);
        if (n < 0)
                gate_fail(s, GATE_END_UPSTREAM, 502,
                          n == UV_EOF ? "the upstream closed the connection"
                          : n == UV_ENOBUFS ? "the upstream sent a message over the limits"
                                            : "the upstream's connection failed");
        else {
                s->uin_len += (size_t)n;
                gate_up_take(s);
        }
        gate_release(s);
}

void gate_up_read_start(struct gate_session *s)
{
        if (!s->up_reading && s->up_open && s->up_connected && !s->ended)
                s->up_reading = uv_read_start((uv_stream_t *)&s->up, gate_up_alloc, gate_up_on_read) == 0;
}

void gate_up_frame(struct gate_session *s, const char *frame, size_t len, int channel)
{
        struct gate_write *w;
        int ch = s->player_to_up[channel & 0xff];

        /* RTCP only: dropped rather than queued without bound. */
        if (ch < 0 || !s->up_connected || s->up_queued > GATE_MAX_QUEUED)
                return;
        w = gate_write_new(s, len);
        if (!w)
                return;
        memcpy(w->data, frame, len);
        w->data[1] = (char)ch;
        gate_write_to(s, w, false);
}

void gate_up_on_keepalive(uv_timer_t *t)
{
        struct gate_session *s = t->data;

        if (s->ended || !s->up_connected)
                return;
        if (s->up_paused && s->paused_ns && uv_hrtime() - s->paused_ns > (uint64_t)GATE_STALLED_MS * 1000000) {
                /* Its queue full, unread, for this long: the player holds
                 * the session and the camera's for nothing. */
                gate_end(s, GATE_END_CLIENT_GONE, "the player stopped reading");
                return;
        }
        if (s->up_keepalive_cseq >= 0) {
                /* A paused read cannot see the answer; otherwise it is gone. */
                if (!s->up_paused)
                        gate_end(s, GATE_END_UPSTREAM, "the upstream did not answer a keepalive");
                return;
        }
        s->up_keepalive_cseq = gate_up_send(s, "GET_PARAMETER", s->up_aggregate, NULL);
}

/* --- opening and closing --- */

static void gate_up_on_connect(uv_connect_t *c, int status)
{
        struct gate_session *s = c->data;
        char reason[300];
        int cseq;

        if (!s->ended) {
                if (status < 0) {
                        snprintf(reason, sizeof(reason), "cannot connect to the upstream %s:%s: %s", s->up_url.host,
                                 s->up_url.port, uv_strerror(status));
                        gate_fail(s, GATE_END_UPSTREAM, status == UV_ETIMEDOUT ? 504 : 502, reason);
                } else {
                        s->up_connected = true;
                        uv_tcp_nodelay(&s->up, 1);
                        gate_up_read_start(s);
                        cseq = gate_up_send(s, "DESCRIBE", s->up_url.url, "Accept: application/sdp\r\n");
                        if (cseq < 0) {
                                gate_fail(s, GATE_END_UPSTREAM, 502, "cannot write to the upstream");
                        } else {
                                s->up_wait_cseq = cseq;
                                gate_deadline(s);
                        }
                }
        }
        gate_release(s);
}

static void gate_up_connect(struct gate_session *s, const struct sockaddr *addr)
{
        uv_tcp_init(s->g->loop, &s->up);
        s->up.data = s;
        s->up_open = true;
        gate_hold(s);
        s->up_connect.data = s;
        if (uv_tcp_connect(&s->up_connect, &s->up, addr, gate_up_on_connect) < 0) {
                gate_fail(s, GATE_END_UPSTREAM, 502, "cannot connect to the upstream");
                return;
        }
        gate_hold(s);
}

static void gate_up_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
        struct gate_session *s = req->data;
        char reason[400];

        s->resolving = false;
        if (!s->ended) {
                if (status < 0 || !ai) {
                        snprintf(reason, sizeof(reason), "no such upstream host %s: %s", s->up_url.host,
                                 uv_strerror(status));
                        gate_fail(s, GATE_END_UPSTREAM, 502, reason);
                } else {
                        gate_up_connect(s, ai->ai_addr);
                }
        }
        uv_freeaddrinfo(ai);
        gate_release(s);
}

void gate_admit(struct gate_session *s, const char *url, const char *user, const char *password, void *tag)
{
        struct sockaddr_storage addr;
        struct addrinfo hints;
        long port;

        if (vigil_fails(s != NULL) || s->ended || s->state != GATE_ASKING)
                return;
        s->tag = tag;
        s->admitted = true;
        s->state = GATE_OPENING;
        s->wait = GATE_WAIT_DESCRIBE;
        s->g->stats.opened++;
        if (!url || rtspmsg_url_split(url, &s->up_url) < 0 || (port = strtol(s->up_url.port, NULL, 10)) <= 0 ||
            port > 65535) {
                gate_fail(s, GATE_END_UPSTREAM, 502, "the upstream URL is not rtsp://host[:port]/path");
                return;
        }
        if (user) {
                snprintf(s->up_url.user, sizeof(s->up_url.user), "%s", user);
                snprintf(s->up_url.password, sizeof(s->up_url.password), "%s", password ? password : "");
        }
        gate_deadline(s);
        memset(&addr, 0, sizeof(addr));
        if (uv_ip4_addr(s->up_url.host, (int)port, (struct sockaddr_in *)&addr) == 0 ||
            uv_ip6_addr(s->up_url.host, (int)port, (struct sockaddr_in6 *)&addr) == 0) {
                gate_up_connect(s, (const struct sockaddr *)&addr);
                return;
        }
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        s->gai.data = s;
        if (uv_getaddrinfo(s->g->loop, &s->gai, gate_up_on_resolved, s->up_url.host, s->up_url.port, &hints) < 0) {
                gate_fail(s, GATE_END_UPSTREAM, 502, "cannot look up the upstream host");
                return;
        }
        s->resolving = true;
        gate_hold(s);
}

static void gate_up_on_shutdown(uv_shutdown_t *req, int status)
{
        struct gate_session *s = req->data;

        (void)status;
        free(req);
        gate_close_handle(s, (uv_handle_t *)&s->up, &s->up_open);
        gate_linger_done(s);
        gate_release(s);
}

void gate_up_close(struct gate_session *s)
{
        uv_shutdown_t *req;

        if (s->resolving)
                uv_cancel((uv_req_t *)&s->gai);
        if (s->up_reading) {
                uv_read_stop((uv_stream_t *)&s->up);
                s->up_reading = false;
        }
        if (!s->up_open)
                return;
        if (s->up_connected && s->up_session[0] && !s->g->stopping) {
                /* A polite end: the upstream frees its session now. */
                gate_up_send(s, "TEARDOWN", s->up_aggregate, NULL);
                req = malloc(sizeof(*req));
                if (req) {
                        req->data = s;
                        if (uv_shutdown(req, (uv_stream_t *)&s->up, gate_up_on_shutdown) == 0) {
                                gate_hold(s);
                                return;
                        }
                        free(req);
                }
        }
        gate_close_handle(s, (uv_handle_t *)&s->up, &s->up_open);
}

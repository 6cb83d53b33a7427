#include "transport/rtsp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#include "transport/rtspmsg.h"

#define RTSP_BUF (RTSPMSG_MAX_HEAD + RTSPMSG_MAX_BODY)
/* 503 Service Unavailable is a busy interface's "try again" (RFC 2326
 * 11.5.3): asked again this many times, after 50, 100, 150 ms, within the
 * probe's deadline; then it is a failure with its reason. */
#define RTSP_BUSY_RETRIES 3
#define RTSP_BUSY_RETRY_MS 50

enum rtsp_step { STEP_RESOLVE, STEP_CONNECT, STEP_OPTIONS, STEP_DESCRIBE, STEP_DESCRIBE_AUTH, STEP_DONE };

struct rtsp_probe {
        struct rtsp_probe *next;          /* in the pool's queue or running list */
        struct rtsp_pool *pool;
        char url[1024], host[256], port[8], user[128], password[128];
        int timeout_ms;
        rtsp_done_cb cb;
        void *arg;
        enum rtsp_step step;
        int cseq;
        uv_getaddrinfo_t gai;
        uv_connect_t connect;
        uv_tcp_t tcp;
        uv_timer_t timer;
        uv_timer_t retry;                 /* asking a busy interface again */
        int busy_retries;
        bool tcp_init, timer_init, retry_init, resolving, connecting, reported;
        int closing;                      /* handles still to close */
        char *buf;                        /* what was read */
        size_t len;
        int status;
        struct rtspmsg_challenge challenge;
        struct sdp_session sdp;
};

struct rtsp_pool {
        uv_loop_t *loop;
        int max, running, peak;
        int per_host, peak_host;          /* probes of one host:port at once */
        struct rtsp_probe *queue, *queue_tail, *live;
        bool freeing;
        uv_idle_t kick;                   /* starts queued probes outside the caller's stack */
        bool kick_init;
        int open_handles;
};

const char *rtsp_outcome_name(enum rtsp_outcome o)
{
        static const char *const names[] = { "ok", "refused", "timeout", "auth_failed", "bad_response",
                                             "cancelled" };

        return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

/* --- ending a probe --- */

static void rtsp_pool_maybe_free(struct rtsp_pool *p);
static void rtsp_pool_schedule(struct rtsp_pool *p);

/* One of the things a finished probe waits for (its handles closing, a
 * cancelled name lookup) is over; the last frees it. */
static void rtsp_release(struct rtsp_probe *pr)
{
        struct rtsp_pool *p = pr->pool;

        if (--pr->closing > 0)
                return;
        free(pr->buf);
        free(pr);
        p->open_handles--;
        rtsp_pool_maybe_free(p);
}

static void rtsp_probe_on_closed(uv_handle_t *h)
{
        rtsp_release(h->data);
}

static void rtsp_unlink(struct rtsp_pool *p, struct rtsp_probe *pr)
{
        struct rtsp_probe **pp;

        for (pp = &p->live; *pp; pp = &(*pp)->next)
                if (*pp == pr) {
                        *pp = pr->next;
                        return;
                }
}

/* Report once, then close the handles; the probe is freed when they are. */
static void rtsp_finish(struct rtsp_probe *pr, enum rtsp_outcome o, const char *reason)
{
        struct rtsp_pool *p = pr->pool;
        struct rtsp_result r;

        if (pr->reported)
                return;
        pr->reported = true;
        pr->step = STEP_DONE;
        r.outcome = o;
        r.reason = reason;
        r.status = pr->status;
        r.sdp = o == RTSP_OK ? &pr->sdp : NULL;
        pr->cb(pr->arg, &r);
        rtsp_unlink(p, pr);
        p->running--;
        /* One for this function itself, released at its end. */
        pr->closing = 1;
        if (pr->resolving) {
                pr->closing++;              /* its callback releases it */
                uv_cancel((uv_req_t *)&pr->gai);
        }
        if (pr->timer_init) {
                pr->closing++;
                uv_timer_stop(&pr->timer);
                uv_close((uv_handle_t *)&pr->timer, rtsp_probe_on_closed);
        }
        if (pr->retry_init) {
                pr->closing++;
                uv_timer_stop(&pr->retry);
                uv_close((uv_handle_t *)&pr->retry, rtsp_probe_on_closed);
        }
        if (pr->tcp_init) {
                pr->closing++;
                uv_close((uv_handle_t *)&pr->tcp, rtsp_probe_on_closed);
        }
        rtsp_pool_schedule(p);
        rtsp_release(pr);
}

/* --- talking --- */

static void rtsp_on_written(uv_write_t *w, int status)
{
        struct rtsp_probe *pr = w->data;

        free(w);
        if (status < 0 && status != UV_ECANCELED)
                rtsp_finish(pr, RTSP_REFUSED, "the interface closed the connection");
}

static void rtsp_send(struct rtsp_probe *pr, const char *method, bool auth)
{
        char req[2048], authz[1024] = "", cnonce[17];
        uv_write_t *w = malloc(sizeof(*w) + sizeof(req));
        uv_buf_t b;
        int n;

        if (!w) {
                rtsp_finish(pr, RTSP_BAD_RESPONSE, "out of memory");
                return;
        }
        rtspmsg_cnonce(cnonce);
        if (auth && rtspmsg_digest(&pr->challenge, method, pr->url, pr->user, pr->password, cnonce, 1, authz,
                                   sizeof(authz)) < 0) {
                free(w);
                rtsp_finish(pr, RTSP_AUTH_FAILED, "the challenge is too long to answer");
                return;
        }
        pr->cseq++;
        n = snprintf((char *)(w + 1), sizeof(req), "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: vigild\r\n%s%s%s%s\r\n",
                     method, pr->url, pr->cseq, strcmp(method, "DESCRIBE") == 0 ? "Accept: application/sdp\r\n" : "",
                     auth ? "Authorization: " : "", auth ? authz : "", auth ? "\r\n" : "");
        if (n < 0 || (size_t)n >= sizeof(req)) {
                free(w);
                rtsp_finish(pr, RTSP_BAD_RESPONSE, "request too long");
                return;
        }
        w->data = pr;
        b = uv_buf_init((char *)(w + 1), (unsigned)n);
        pr->len = 0;
        if (uv_write(w, (uv_stream_t *)&pr->tcp, &b, 1, rtsp_on_written) < 0) {
                free(w);
                rtsp_finish(pr, RTSP_REFUSED, "cannot write to the interface");
        }
}

static void rtsp_on_retry(uv_timer_t *t)
{
        struct rtsp_probe *pr = t->data;

        rtsp_send(pr, "DESCRIBE", pr->step == STEP_DESCRIBE_AUTH);
}

/* A whole response arrived: the next step. */
static void rtsp_on_response(struct rtsp_probe *pr, const struct rtspmsg_response *r)
{
        char reason[160];

        pr->status = r->status;
        if (r->cseq != pr->cseq) {
                rtsp_finish(pr, RTSP_BAD_RESPONSE, "the answer is not to our request (CSeq)");
                return;
        }
        switch (pr->step) {
        case STEP_OPTIONS:
                /* Some interfaces want credentials for OPTIONS too; DESCRIBE
                 * is where they are answered. */
                pr->step = STEP_DESCRIBE;
                rtsp_send(pr, "DESCRIBE", false);
                return;
        case STEP_DESCRIBE:
        case STEP_DESCRIBE_AUTH:
                if (r->status == 401) {
                        if (pr->step == STEP_DESCRIBE_AUTH) {
                                rtsp_finish(pr, RTSP_AUTH_FAILED, "the interface refused the credentials held here");
                                return;
                        }
                        if (!pr->user[0]) {
                                rtsp_finish(pr, RTSP_AUTH_FAILED, "the interface asks for credentials; none are held");
                                return;
                        }
                        if (!r->www_authenticate[0] ||
                            rtspmsg_challenge_parse(r->www_authenticate, &pr->challenge) < 0) {
                                rtsp_finish(pr, RTSP_AUTH_FAILED, "no Digest challenge we can answer (MD5)");
                                return;
                        }
                        pr->step = STEP_DESCRIBE_AUTH;
                        rtsp_send(pr, "DESCRIBE", true);
                        return;
                }
                if (r->status == 503 && pr->busy_retries < RTSP_BUSY_RETRIES) {
                        if (!pr->retry_init) {
                                uv_timer_init(pr->pool->loop, &pr->retry);
                                pr->retry.data = pr;
                                pr->retry_init = true;
                        }
                        pr->busy_retries++;
                        /* The retry starts from a clean buffer (issue 17,
                         * small ones): the 503 stayed in it until the
                         * retry was sent, and every byte that came
                         * meanwhile (a keep-alive CRLF) made it read
                         * again, a retry spent each time. */
                        pr->len = 0;
                        uv_timer_start(&pr->retry, rtsp_on_retry,
                                       (uint64_t)(RTSP_BUSY_RETRY_MS * pr->busy_retries), 0);
                        return;
                }
                if (r->status != 200) {
                        if (r->status == 503)
                                snprintf(reason, sizeof(reason), "DESCRIBE answered %d %s (asked again %d times)",
                                         r->status, r->reason, RTSP_BUSY_RETRIES);
                        else
                                snprintf(reason, sizeof(reason), "DESCRIBE answered %d %s", r->status, r->reason);
                        rtsp_finish(pr, RTSP_BAD_RESPONSE, reason);
                        return;
                }
                if (sdp_parse(r->body, r->body_len, r->content_base[0] ? r->content_base : pr->url, &pr->sdp) < 0 ||
                    pr->sdp.n_media == 0) {
                        rtsp_finish(pr, RTSP_BAD_RESPONSE, "DESCRIBE gave no usable SDP");
                        return;
                }
                rtsp_finish(pr, RTSP_OK, "linked");
                return;
        default:
                return;
        }
}

static void rtsp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
        struct rtsp_probe *pr = h->data;

        (void)suggested;
        if (!pr->buf)
                pr->buf = malloc(RTSP_BUF);
        if (!pr->buf || pr->len >= RTSP_BUF) {
                *b = uv_buf_init(NULL, 0);
                return;
        }
        *b = uv_buf_init(pr->buf + pr->len, (unsigned)(RTSP_BUF - pr->len));
}

static void rtsp_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
        struct rtsp_probe *pr = s->data;
        struct rtspmsg_response r;
        size_t skip;
        int used;

        (void)b;
        if (pr->reported)
                return;
        if (n < 0) {
                rtsp_finish(pr, n == UV_EOF ? RTSP_BAD_RESPONSE : RTSP_REFUSED,
                            n == UV_EOF ? "the interface closed the connection without an answer"
                                        : "the connection failed");
                return;
        }
        if (n == 0)
                return;
        pr->len += (size_t)n;
        /* Waiting to ask a busy interface again: what it sends now
         * answers nothing asked. */
        if (pr->retry_init && uv_is_active((uv_handle_t *)&pr->retry)) {
                pr->len = 0;
                return;
        }
        /* Empty lines before a response are keep-alives, not part of it
         * (as RFC 7230 3.5 has a reader of HTTP ignore them). */
        skip = 0;
        while (skip < pr->len && (pr->buf[skip] == '\r' || pr->buf[skip] == '\n'))
                skip++;
        if (skip > 0) {
                memmove(pr->buf, pr->buf + skip, pr->len - skip);
                pr->len -= skip;
                if (pr->len == 0)
                        return;
        }
        used = rtspmsg_parse(pr->buf, pr->len, &r);
        if (used < 0) {
                rtsp_finish(pr, RTSP_BAD_RESPONSE, "the answer is not RTSP");
                return;
        }
        if (used == 0) {
                if (pr->len >= RTSP_BUF)
                        rtsp_finish(pr, RTSP_BAD_RESPONSE, "the answer is too long");
                return;
        }
        rtsp_on_response(pr, &r);
}

static void rtsp_on_connect(uv_connect_t *c, int status)
{
        struct rtsp_probe *pr = c->data;

        pr->connecting = false;
        if (pr->reported)
                return;
        if (status < 0) {
                char reason[400];
                snprintf(reason, sizeof(reason), "cannot connect to %s:%s: %s", pr->host, pr->port,
                         uv_strerror(status));
                rtsp_finish(pr, status == UV_ETIMEDOUT ? RTSP_TIMEOUT : RTSP_REFUSED, reason);
                return;
        }
        if (uv_read_start((uv_stream_t *)&pr->tcp, rtsp_alloc, rtsp_on_read) < 0) {
                rtsp_finish(pr, RTSP_REFUSED, "cannot read from the interface");
                return;
        }
        pr->step = STEP_OPTIONS;
        rtsp_send(pr, "OPTIONS", false);
}

static void rtsp_on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *ai)
{
        struct rtsp_probe *pr = g->data;
        struct rtsp_pool *p = pr->pool;

        pr->resolving = false;
        if (pr->reported) {
                /* Finished (cancelled or timed out) while resolving. */
                uv_freeaddrinfo(ai);
                rtsp_release(pr);
                return;
        }
        if (status < 0 || !ai) {
                char reason[400];
                snprintf(reason, sizeof(reason), "no such host %s: %s", pr->host, uv_strerror(status));
                uv_freeaddrinfo(ai);
                rtsp_finish(pr, RTSP_REFUSED, reason);
                return;
        }
        uv_tcp_init(p->loop, &pr->tcp);
        pr->tcp.data = pr;
        pr->tcp_init = true;
        pr->connect.data = pr;
        pr->step = STEP_CONNECT;
        pr->connecting = true;
        if (uv_tcp_connect(&pr->connect, &pr->tcp, ai->ai_addr, rtsp_on_connect) < 0) {
                pr->connecting = false;
                uv_freeaddrinfo(ai);
                rtsp_finish(pr, RTSP_REFUSED, "cannot connect");
                return;
        }
        uv_freeaddrinfo(ai);
}

static void rtsp_on_timeout(uv_timer_t *t)
{
        struct rtsp_probe *pr = t->data;
        char reason[160];

        snprintf(reason, sizeof(reason), "no complete answer within %d ms", pr->timeout_ms);
        rtsp_finish(pr, RTSP_TIMEOUT, reason);
}

/* Probes running against PR's host and port. */
static int rtsp_host_running(const struct rtsp_pool *p, const struct rtsp_probe *pr)
{
        const struct rtsp_probe *l;
        int n = 0;

        for (l = p->live; l; l = l->next)
                n += strcmp(l->host, pr->host) == 0 && strcmp(l->port, pr->port) == 0;
        return n;
}

static void rtsp_start(struct rtsp_pool *p, struct rtsp_probe *pr)
{
        struct addrinfo hints;
        int on_host;

        p->running++;
        if (p->running > p->peak)
                p->peak = p->running;
        pr->next = p->live;
        p->live = pr;
        on_host = rtsp_host_running(p, pr);
        if (on_host > p->peak_host)
                p->peak_host = on_host;
        uv_timer_init(p->loop, &pr->timer);
        pr->timer.data = pr;
        pr->timer_init = true;
        uv_timer_start(&pr->timer, rtsp_on_timeout, (uint64_t)pr->timeout_ms, 0);
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        pr->gai.data = pr;
        pr->resolving = true;
        pr->step = STEP_RESOLVE;
        if (uv_getaddrinfo(p->loop, &pr->gai, rtsp_on_resolved, pr->host, pr->port, &hints) < 0) {
                pr->resolving = false;
                rtsp_finish(pr, RTSP_REFUSED, "cannot look up the host");
        }
}

/* --- the pool --- */

static void rtsp_on_kick(uv_idle_t *h)
{
        struct rtsp_pool *p = h->data;

        uv_idle_stop(h);
        while (p->queue && p->running < p->max && !p->freeing) {
                /* The first queued probe whose host is not at its limit: a
                 * private system's recorder (one host behind many systems)
                 * is not asked more than it can answer at once. */
                struct rtsp_probe *pr, *prev = NULL;
                for (pr = p->queue; pr && rtsp_host_running(p, pr) >= p->per_host; pr = pr->next)
                        prev = pr;
                if (!pr)
                        return;         /* each waits for its host; a finish kicks again */
                if (prev)
                        prev->next = pr->next;
                else
                        p->queue = pr->next;
                if (p->queue_tail == pr)
                        p->queue_tail = prev;
                pr->next = NULL;
                rtsp_start(p, pr);
        }
}

static void rtsp_pool_schedule(struct rtsp_pool *p)
{
        if (p->queue && !p->freeing && p->kick_init)
                uv_idle_start(&p->kick, rtsp_on_kick);
}

static void rtsp_pool_on_closed(uv_handle_t *h)
{
        struct rtsp_pool *p = h->data;

        p->kick_init = false;
        rtsp_pool_maybe_free(p);
}

static void rtsp_pool_maybe_free(struct rtsp_pool *p)
{
        if (p->freeing && p->open_handles == 0 && !p->kick_init)
                free(p);
}

struct rtsp_pool *rtsp_pool_new(uv_loop_t *loop, int max_in_flight, int max_per_host)
{
        struct rtsp_pool *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->loop = loop;
        p->max = max_in_flight > 0 ? max_in_flight : 1;
        p->per_host = max_per_host > 0 ? max_per_host : p->max;
        uv_idle_init(loop, &p->kick);
        p->kick.data = p;
        p->kick_init = true;
        return p;
}

int rtsp_pool_peak_per_host(const struct rtsp_pool *p)
{
        return p->peak_host;
}

void rtsp_pool_stats(const struct rtsp_pool *p, int *ret_running, int *ret_queued, int *ret_peak)
{
        const struct rtsp_probe *pr;
        int q = 0;

        for (pr = p->queue; pr; pr = pr->next)
                q++;
        *ret_running = p->running;
        *ret_queued = q;
        *ret_peak = p->peak;
}

/* Split rtsp://[user:pass@]host[:port]/path (rtspmsg_url_split). */
static int rtsp_parse_url(struct rtsp_probe *pr, const char *url)
{
        struct rtspmsg_url u;

        if (rtspmsg_url_split(url, &u) < 0)
                return -EINVAL;
        snprintf(pr->url, sizeof(pr->url), "%s", u.url);
        snprintf(pr->host, sizeof(pr->host), "%s", u.host);
        snprintf(pr->port, sizeof(pr->port), "%s", u.port);
        snprintf(pr->user, sizeof(pr->user), "%s", u.user);
        snprintf(pr->password, sizeof(pr->password), "%s", u.password);
        sodium_memzero(&u, sizeof(u));
        return 0;
}

int rtsp_probe(struct rtsp_pool *p, const char *url, const char *user, const char *password, int timeout_ms,
               rtsp_done_cb cb, void *arg)
{
        struct rtsp_probe *pr;

        if (!p || !url || !cb || p->freeing)
                return -EINVAL;
        pr = calloc(1, sizeof(*pr));
        if (!pr)
                return -ENOMEM;
        if (rtsp_parse_url(pr, url) < 0) {
                free(pr);
                return -EINVAL;
        }
        if (user) {
                snprintf(pr->user, sizeof(pr->user), "%s", user);
                snprintf(pr->password, sizeof(pr->password), "%s", password ? password : "");
        }
        pr->pool = p;
        pr->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
        pr->cb = cb;
        pr->arg = arg;
        p->open_handles++;
        if (p->queue_tail)
                p->queue_tail->next = pr;
        else
                p->queue = pr;
        p->queue_tail = pr;
        rtsp_pool_schedule(p);
        return 0;
}

void rtsp_pool_free(struct rtsp_pool *p)
{
        if (!p)
                return;
        p->freeing = true;
        while (p->queue) {
                struct rtsp_probe *pr = p->queue;
                struct rtsp_result r = { RTSP_CANCELLED, "cancelled", 0, NULL };
                p->queue = pr->next;
                pr->cb(pr->arg, &r);
                free(pr);
                p->open_handles--;
        }
        p->queue_tail = NULL;
        while (p->live)
                rtsp_finish(p->live, RTSP_CANCELLED, "cancelled");
        if (p->kick_init) {
                uv_idle_stop(&p->kick);
                uv_close((uv_handle_t *)&p->kick, rtsp_pool_on_closed);
        }
}

#include "transport/zap.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "base/keys.h"
#include "base/log.h"


static void zap_reply(struct zap *z, const zmq_msg_t *version, const zmq_msg_t *request_id,
                      const char *status, const char *text, const char *user)
{
        zmq_send(z->zs.sock, zmq_msg_data((zmq_msg_t *)version), zmq_msg_size((zmq_msg_t *)version), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, zmq_msg_data((zmq_msg_t *)request_id), zmq_msg_size((zmq_msg_t *)request_id), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, status, strlen(status), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(z->zs.sock, "", 0, 0);
}

/* --- a log that a flood cannot fill --- */

static void zap_log_summary(struct zap_log_peer *lp, uint64_t now)
{
        char esc[128];

        log_warn("zap", "domain=%s peer=%s msg=\"%lu more refused in the last %llu s\"",
                 log_escape(esc, sizeof(esc), lp->domain), lp->address, lp->held,
                 (unsigned long long)((now - lp->since_ms + 999) / 1000));
        lp->held = 0;
}

static void zap_on_summary(uv_timer_t *t)
{
        struct zap *z = t->data;
        uint64_t now = uv_now(z->loop), next = 0;

        for (int i = 0; i < ZAP_LOG_PEERS; i++) {
                struct zap_log_peer *lp = &z->log_peers[i];
                if (!lp->since_ms || lp->held == 0)
                        continue;
                if (now - lp->since_ms >= z->log_interval_ms) {
                        zap_log_summary(lp, now);
                        lp->since_ms = 0;   /* its interval is over: free */
                } else if (!next || lp->since_ms + z->log_interval_ms - now < next) {
                        next = lp->since_ms + z->log_interval_ms - now;
                }
        }
        if (z->held_others > 0) {
                log_warn("zap", "msg=\"%lu more refused from other peers (more than %d at once)\"",
                         z->held_others, ZAP_LOG_PEERS);
                z->held_others = 0;
        }
        if (next)
                uv_timer_start(&z->summary, zap_on_summary, next, 0);
}

/* Say what was held back DUE_MS from now at the latest. */
static void zap_summary_by(struct zap *z, uint64_t due_ms)
{
        if (z->summary_init && (!uv_is_active((uv_handle_t *)&z->summary) ||
                                uv_timer_get_due_in(&z->summary) > due_ms))
                uv_timer_start(&z->summary, zap_on_summary, due_ms, 0);
}

/* Whether a refusal of a peer at ADDRESS on DOMAIN is to be logged now: the
 * first in an interval is; the others are held back, counted, and summed
 * up when the interval ends. */
static bool zap_log_due(struct zap *z, const char *address, const char *domain)
{
        uint64_t now = uv_now(z->loop);
        struct zap_log_peer *lp = NULL, *oldest = &z->log_peers[0];

        for (int i = 0; i < ZAP_LOG_PEERS; i++) {
                struct zap_log_peer *p = &z->log_peers[i];
                if (p->since_ms && strcmp(p->address, address) == 0 && strcmp(p->domain, domain) == 0) {
                        lp = p;
                        break;
                }
                if (p->since_ms < oldest->since_ms)
                        oldest = p;
        }
        if (lp && now - lp->since_ms < z->log_interval_ms) {
                lp->held++;
                z->refused_unlogged++;
                /* Said at the end of this peer's interval, not later. */
                zap_summary_by(z, lp->since_ms + z->log_interval_ms - now);
                return false;
        }
        if (!lp && oldest->since_ms && now - oldest->since_ms < z->log_interval_ms) {
                /* More peers refused at once than the table holds (a flood
                 * from many addresses): summed up together, not a line
                 * each. */
                z->held_others++;
                z->refused_unlogged++;
                zap_summary_by(z, oldest->since_ms + z->log_interval_ms - now);
                return false;
        }
        if (!lp) {
                /* A free place, or the oldest, whose interval is over
                 * (its held refusals said first). */
                lp = oldest;
                if (lp->held > 0)
                        zap_log_summary(lp, now);
                snprintf(lp->address, sizeof(lp->address), "%s", address);
                snprintf(lp->domain, sizeof(lp->domain), "%s", domain);
        } else if (lp->held > 0) {
                zap_log_summary(lp, now);
        }
        /* uv_now is never 0 once the loop has run; 1 keeps the slot taken. */
        lp->since_ms = now ? now : 1;
        return true;
}

static void zap_copy(char *dst, size_t n, zmq_msg_t *m)
{
        size_t len = zmq_msg_size(m);

        if (len >= n)
                len = n - 1;
        memcpy(dst, zmq_msg_data(m), len);
        dst[len] = '\0';
}

void zap_handle(struct zap *z, zmq_msg_t *f, int n)
{
        char domain[64], address[64], mechanism[16], key[KEYS_Z85_LEN + 1];
        char user[256] = "", esc[128], mesc[48];
        int r;

        /* 0 version, 1 request id, 2 domain, 3 address, 4 routing id,
         * 5 mechanism, 6 credentials (CURVE: the 32-byte client key) */
        if (n < 6) {
                log_warn("zap", "msg=\"malformed ZAP request\" frames=%d", n);
                return;
        }
        zap_copy(domain, sizeof(domain), &f[2]);
        zap_copy(address, sizeof(address), &f[3]);
        zap_copy(mechanism, sizeof(mechanism), &f[5]);
        if (strcmp(mechanism, "CURVE") != 0 || n < 7 || zmq_msg_size(&f[6]) != 32) {
                z->refused++;
                if (zap_log_due(z, address, domain))
                        log_warn("zap", "domain=%s peer=%s mechanism=%s msg=\"refused: only CURVE is accepted\"",
                                 log_escape(esc, sizeof(esc), domain), address,
                                 log_escape(mesc, sizeof(mesc), mechanism));
                zap_reply(z, &f[0], &f[1], "400", "CURVE only", "");
                return;
        }
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
        r = z->lookup(z->arg, domain, key, user, sizeof(user));
        if (r < 0) {
                z->refused++;
                if (strcmp(domain, "downlink") == 0)
                        z->refused_downlink++;
                else if (strcmp(domain, "control") == 0)
                        z->refused_control++;
                if (zap_log_due(z, address, domain))
                        log_warn("zap", "domain=%s peer=%s key=\"%s\" msg=\"refused: key not enrolled\"",
                                 log_escape(esc, sizeof(esc), domain), address, key);
                zap_reply(z, &f[0], &f[1], "400", "not enrolled", "");
                return;
        }
        z->admitted++;
        log_debug("zap", "domain=%s peer=%s user=\"%s\" msg=\"admitted\"", domain, address, user);
        zap_reply(z, &f[0], &f[1], "200", "OK", user);
}

static void zap_on_recv(struct zsock *zs, zmq_msg_t *frames, int n)
{
        zap_handle(zs->data, frames, n);
}

static void zap_close_summary(struct zap *z)
{
        if (!z->summary_init)
                return;
        z->summary_init = false;
        uv_timer_stop(&z->summary);
        uv_close((uv_handle_t *)&z->summary, NULL);
}

int zap_init(struct zap *z, void *ctx, uv_loop_t *loop, zap_lookup_fn lookup, void *arg)
{
        void *sock;
        int r;

        memset(z, 0, sizeof(*z));
        z->lookup = lookup;
        z->arg = arg;
        z->loop = loop;
        z->log_interval_ms = ZAP_LOG_INTERVAL_MS;
        uv_timer_init(loop, &z->summary);
        z->summary.data = z;
        /* It only says what was held back: the loop need not wait for it. */
        uv_unref((uv_handle_t *)&z->summary);
        z->summary_init = true;
        sock = zmq_socket(ctx, ZMQ_REP);
        if (!sock) {
                r = -errno;
                zap_close_summary(z);
                return r;
        }
        if (zmq_bind(sock, "inproc://zeromq.zap.01") < 0) {
                r = -errno;
                zmq_close(sock);
                zap_close_summary(z);
                return r;
        }
        r = zsock_init(&z->zs, loop, sock, zap_on_recv, z);
        if (r < 0) {
                zap_close_summary(z);
                return r;
        }
        return 0;
}

void zap_close(struct zap *z)
{
        zap_close_summary(z);
        zsock_close(&z->zs, NULL);
}

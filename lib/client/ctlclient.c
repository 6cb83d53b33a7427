/* ctlclient: one ControlRequest out, the matching ControlReply back.
 *
 * The socket is a CURVE DEALER. ZMQ_IMMEDIATE keeps a request from being
 * queued on a connection whose handshake has not completed: when the node is
 * down or its ZAP handler refuses our key, nothing is queued, so nothing is
 * delivered late, and the send waits (in zmq_poll, bounded by the same
 * deadline as the reply) instead of blocking forever. */
#include "client/ctlclient.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "wire/wire.h"

/* Upper bound on named arguments of one request; commands have a handful. */
#define CTLCLIENT_MAX_ARGS 256
/* Replies that arrived while the caller waited for an earlier request. */
#define CTLCLIENT_STASH 8

struct ctlclient {
        void *ctx;
        void *sock;
        void *monitor;  /* PAIR fed by zmq_socket_monitor(); NULL if unavailable */
        char origin[sizeof(((struct identity *)0)->name)];
        uint64_t next_request_id;
        uint64_t first_request_id;  /* the first one this client sent */
        struct {
                uint64_t id;
                Vigil__ControlReply *reply;
        } stash[CTLCLIENT_STASH];
};

static int64_t ctlclient_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Watch the handshake, so that a node that refuses our key (its ZAP handler
 * answered 400) is told apart from a node that does not answer at all. The
 * monitor is a nicety: without it, a refusal is reported as a timeout. */
static void ctlclient_monitor_start(struct ctlclient *c)
{
        char addr[64];
        int zero = 0;

        snprintf(addr, sizeof(addr), "inproc://ctlclient-monitor-%p", (void *)c);
        if (zmq_socket_monitor(c->sock, addr, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) < 0)
                return;
        c->monitor = zmq_socket(c->ctx, ZMQ_PAIR);
        if (!c->monitor)
                return;
        zmq_setsockopt(c->monitor, ZMQ_LINGER, &zero, sizeof(zero));
        if (zmq_connect(c->monitor, addr) < 0) {
                zmq_close(c->monitor);
                c->monitor = NULL;
        }
}

/* Drain the monitor; -EACCES if the node refused our key, else 0. An event
 * is two frames: 16-bit event and 32-bit value, then the endpoint. */
static int ctlclient_monitor_check(struct ctlclient *c)
{
        int refused = 0;

        while (c->monitor) {
                zmq_msg_t msg;
                uint16_t event = 0;
                int more;

                zmq_msg_init(&msg);
                if (zmq_msg_recv(&msg, c->monitor, ZMQ_DONTWAIT) < 0) {
                        zmq_msg_close(&msg);
                        break;
                }
                if (zmq_msg_size(&msg) >= 6)
                        memcpy(&event, zmq_msg_data(&msg), sizeof(event));
                more = zmq_msg_more(&msg);
                zmq_msg_close(&msg);
                while (more) {
                        zmq_msg_init(&msg);
                        if (zmq_msg_recv(&msg, c->monitor, 0) < 0)
                                more = 0;
                        else
                                more = zmq_msg_more(&msg);
                        zmq_msg_close(&msg);
                }
                if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                        refused = 1;
        }
        return refused ? -EACCES : 0;
}

void ctlclient_free(struct ctlclient *c)
{
        if (!c)
                return;
        for (int i = 0; i < CTLCLIENT_STASH; i++)
                if (c->stash[i].reply)
                        vigil__control_reply__free_unpacked(c->stash[i].reply, NULL);
        if (c->monitor)
                zmq_close(c->monitor);
        if (c->sock)
                zmq_close(c->sock);
        if (c->ctx)
                zmq_ctx_term(c->ctx);
        free(c);
}

struct ctlclient *ctlclient_new(const char *endpoint, const char *server_key,
                                const struct identity *id, char *err, size_t errlen)
{
        struct ctlclient *c;
        struct timespec ts;
        int zero = 0, one = 1, max = WIRE_MAX_MESSAGE;
        int64_t maxmsg = max;

        if (!keys_z85_valid(server_key)) {
                snprintf(err, errlen, "server key is not a 40-character Z85 CURVE public key");
                return NULL;
        }
        if (!keys_z85_valid(id->curve_public) || !keys_z85_valid(id->curve_secret)) {
                snprintf(err, errlen, "identity '%s' has no valid CURVE key pair", id->name);
                return NULL;
        }
        c = calloc(1, sizeof(*c));
        if (!c) {
                snprintf(err, errlen, "out of memory");
                return NULL;
        }
        snprintf(c->origin, sizeof(c->origin), "%s", id->name);
        /* Request IDs only have to differ from those of earlier runs whose
         * replies might still be in flight; time and pid make that so. */
        clock_gettime(CLOCK_REALTIME, &ts);
        c->next_request_id = ((uint64_t)ts.tv_sec << 32) ^ ((uint64_t)ts.tv_nsec << 8) ^ (uint64_t)getpid();
        c->first_request_id = c->next_request_id;

        c->ctx = zmq_ctx_new();
        if (!c->ctx)
                goto fail_zmq;
        c->sock = zmq_socket(c->ctx, ZMQ_DEALER);
        if (!c->sock)
                goto fail_zmq;
        /* Z85 keys are passed as 41 bytes (40 characters and the NUL). */
        if (zmq_setsockopt(c->sock, ZMQ_CURVE_SERVERKEY, server_key, KEYS_Z85_LEN + 1) < 0 ||
            zmq_setsockopt(c->sock, ZMQ_CURVE_PUBLICKEY, id->curve_public, KEYS_Z85_LEN + 1) < 0 ||
            zmq_setsockopt(c->sock, ZMQ_CURVE_SECRETKEY, id->curve_secret, KEYS_Z85_LEN + 1) < 0 ||
            zmq_setsockopt(c->sock, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
            zmq_setsockopt(c->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) < 0 ||
            zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) < 0)
                goto fail_zmq;
        ctlclient_monitor_start(c);
        if (zmq_connect(c->sock, endpoint) < 0) {
                snprintf(err, errlen, "cannot connect to %s: %s", endpoint, zmq_strerror(zmq_errno()));
                ctlclient_free(c);
                return NULL;
        }
        return c;

fail_zmq:
        snprintf(err, errlen, "ZeroMQ: %s", zmq_strerror(zmq_errno()));
        ctlclient_free(c);
        return NULL;
}

static int ctlclient_send(struct ctlclient *c, const uint8_t *buf, size_t len, int64_t deadline)
{
        for (;;) {
                zmq_pollitem_t items[2] = {
                        { .socket = c->sock, .events = ZMQ_POLLOUT },
                        { .socket = c->monitor, .events = ZMQ_POLLIN },
                };
                int64_t left = deadline - ctlclient_now_ms();
                int r;

                if (left <= 0)
                        return -ETIMEDOUT;
                r = zmq_poll(items, c->monitor ? 2 : 1, (long)left);
                if (r < 0) {
                        if (zmq_errno() == EINTR)
                                continue;
                        return -zmq_errno();
                }
                if ((items[1].revents & ZMQ_POLLIN) && ctlclient_monitor_check(c) < 0)
                        return -EACCES;
                if (!(items[0].revents & ZMQ_POLLOUT))
                        continue;
                if (zmq_send(c->sock, buf, len, ZMQ_DONTWAIT) >= 0)
                        return 0;
                if (zmq_errno() != EAGAIN && zmq_errno() != EINTR)
                        return -zmq_errno();
        }
}

/* Receive one whole message and return its last frame: a ROUTER peer may or
 * may not put an empty delimiter frame before the envelope. 0, -EAGAIN if
 * nothing was there, or another negative errno. */
static int ctlclient_recv_message(struct ctlclient *c, zmq_msg_t *ret_last)
{
        zmq_msg_t part;
        int more, got = 0;

        do {
                zmq_msg_init(&part);
                if (zmq_msg_recv(&part, c->sock, got ? 0 : ZMQ_DONTWAIT) < 0) {
                        int e = zmq_errno();
                        zmq_msg_close(&part);
                        if (got)
                                zmq_msg_close(ret_last);
                        return -e;
                }
                more = zmq_msg_more(&part);
                if (got)
                        zmq_msg_close(ret_last);
                zmq_msg_init(ret_last);
                zmq_msg_move(ret_last, &part);
                zmq_msg_close(&part);
                got = 1;
        } while (more);
        return 0;
}

/* Keep REPLY (owned) if it answers a request of ours still awaited (a
 * pipelining caller waits for the oldest first); drop it otherwise. */
static void ctlclient_stash(struct ctlclient *c, Vigil__ControlReply *reply)
{
        if (reply->request_id >= c->first_request_id && reply->request_id < c->next_request_id)
                for (int i = 0; i < CTLCLIENT_STASH; i++)
                        if (!c->stash[i].reply) {
                                c->stash[i].id = reply->request_id;
                                c->stash[i].reply = reply;
                                return;
                        }
        vigil__control_reply__free_unpacked(reply, NULL);
}

static Vigil__ControlReply *ctlclient_unstash(struct ctlclient *c, uint64_t request_id)
{
        for (int i = 0; i < CTLCLIENT_STASH; i++)
                if (c->stash[i].reply && c->stash[i].id == request_id) {
                        Vigil__ControlReply *r = c->stash[i].reply;
                        c->stash[i].reply = NULL;
                        return r;
                }
        return NULL;
}

/* Wait for the reply to REQUEST_ID; replies to other requests (late answers
 * to a request that timed out earlier) and undecodable messages are dropped,
 * answers to requests still awaited are kept for their turn. */
static int ctlclient_recv_reply(struct ctlclient *c, uint64_t request_id, int64_t deadline,
                                Vigil__ControlReply **ret_reply)
{
        *ret_reply = ctlclient_unstash(c, request_id);
        if (*ret_reply)
                return 0;
        for (;;) {
                zmq_pollitem_t items[2] = {
                        { .socket = c->sock, .events = ZMQ_POLLIN },
                        { .socket = c->monitor, .events = ZMQ_POLLIN },
                };
                int64_t left = deadline - ctlclient_now_ms();
                Vigil__Envelope *env = NULL;
                Vigil__ControlReply *reply;
                char err[256];
                zmq_msg_t msg;
                int r;

                if (left <= 0)
                        return -ETIMEDOUT;
                r = zmq_poll(items, c->monitor ? 2 : 1, (long)left);
                if (r < 0) {
                        if (zmq_errno() == EINTR)
                                continue;
                        return -zmq_errno();
                }
                if ((items[1].revents & ZMQ_POLLIN) && ctlclient_monitor_check(c) < 0)
                        return -EACCES;
                if (!(items[0].revents & ZMQ_POLLIN))
                        continue;
                r = ctlclient_recv_message(c, &msg);
                if (r == -EAGAIN || r == -EINTR)
                        continue;
                if (r < 0)
                        return r;
                r = wire_decode_envelope(zmq_msg_data(&msg), zmq_msg_size(&msg), &env,
                                         err, sizeof(err));
                zmq_msg_close(&msg);
                if (r < 0)
                        continue;
                if (env->body_case != VIGIL__ENVELOPE__BODY_CONTROL_REPLY ||
                    !env->control_reply->has_request_id) {
                        wire_envelope_free(env);
                        continue;
                }
                /* Hand the reply over on its own: pack it and unpack it with
                 * the default allocator, so the caller frees it with
                 * vigil__control_reply__free_unpacked() as ctlclient.h says,
                 * whatever allocator wire.c used for the envelope. */
                {
                        size_t n = vigil__control_reply__get_packed_size(env->control_reply);
                        uint8_t *buf = malloc(n ? n : 1);

                        if (!buf) {
                                wire_envelope_free(env);
                                return -ENOMEM;
                        }
                        vigil__control_reply__pack(env->control_reply, buf);
                        wire_envelope_free(env);
                        reply = vigil__control_reply__unpack(NULL, n, buf);
                        free(buf);
                        if (!reply)
                                return -ENOMEM;
                }
                if (reply->request_id != request_id) {
                        ctlclient_stash(c, reply);
                        continue;
                }
                *ret_reply = reply;
                return 0;
        }
}

int ctlclient_send_request(struct ctlclient *c, const char *command,
                           const char *const *names, const char *const *values, int nargs,
                           int timeout_ms, uint64_t *ret_request_id)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__ControlRequest req = VIGIL__CONTROL_REQUEST__INIT;
        Vigil__Arg *args = NULL, **argp = NULL;
        uint8_t *buf = NULL;
        size_t len;
        int64_t deadline = ctlclient_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
        uint64_t request_id;
        int r;

        if (!c || !command || nargs < 0 || nargs > CTLCLIENT_MAX_ARGS || !ret_request_id)
                return -EINVAL;
        if (nargs > 0) {
                args = calloc((size_t)nargs, sizeof(*args));
                argp = calloc((size_t)nargs, sizeof(*argp));
                if (!args || !argp) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        for (int i = 0; i < nargs; i++) {
                vigil__arg__init(&args[i]);
                /* protobuf-c's string fields are char *, but it only reads
                 * them when packing. */
                args[i].name = (char *)names[i];
                args[i].value = (char *)values[i];
                argp[i] = &args[i];
        }
        request_id = c->next_request_id++;
        req.has_request_id = 1;
        req.request_id = request_id;
        req.command = (char *)command;
        req.n_args = (size_t)nargs;
        req.args = argp;
        env.origin = c->origin;
        env.body_case = VIGIL__ENVELOPE__BODY_CONTROL_REQUEST;
        env.control_request = &req;

        r = wire_encode_envelope(&env, &buf, &len);
        if (r < 0)
                goto out;
        r = ctlclient_send(c, buf, len, deadline);
        if (r == 0)
                *ret_request_id = request_id;
out:
        free(buf);
        free(argp);
        free(args);
        return r;
}

int ctlclient_wait_reply(struct ctlclient *c, uint64_t request_id, int timeout_ms,
                         Vigil__ControlReply **ret_reply)
{
        if (!c || !ret_reply)
                return -EINVAL;
        return ctlclient_recv_reply(c, request_id, ctlclient_now_ms() + (timeout_ms > 0 ? timeout_ms : 0),
                                    ret_reply);
}

int ctlclient_call(struct ctlclient *c, const char *command,
                   const char *const *names, const char *const *values, int nargs,
                   int timeout_ms, Vigil__ControlReply **ret_reply)
{
        int64_t deadline = ctlclient_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
        uint64_t id;
        int r;

        if (!ret_reply)
                return -EINVAL;
        r = ctlclient_send_request(c, command, names, values, nargs, timeout_ms, &id);
        if (r < 0)
                return r;
        return ctlclient_recv_reply(c, id, deadline, ret_reply);
}

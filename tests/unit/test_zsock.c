/* Unit tests of lib/zsock.c: a ZeroMQ socket on a real libuv loop.
 *
 * The peers that talk to the socket under test run in a thread of their own
 * with blocking calls, so the loop has nothing but the zsock's handles (and
 * the deadline timer): a missed wake-up of the edge-triggered ZMQ_FD then
 * stalls the test until the deadline instead of being hidden by a busy
 * loop. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "unit.h"
#include "unit_loop.h"
#include "transport/zsock.h"

static void *ctx;
static uv_loop_t loop;

/* Bind a socket of TYPE on a free loopback port; ENDPOINT gets the address. */
static void *bind_any(int type, char *endpoint, size_t n)
{
        void *s = zmq_socket(ctx, type);

        CHECK(s);
        CHECK(zmq_bind(s, "tcp://127.0.0.1:*") == 0);
        CHECK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &n) == 0);
        return s;
}

/* ---- a burst of 10,000 messages ---------------------------------------- */

#define N_BURST 10000

static int burst_received, burst_bad;

static void on_burst(struct zsock *zs, zmq_msg_t *frames, int n)
{
        unsigned int v;

        (void)zs;
        /* ROUTER: routing id, then the payload (the message's number). */
        if (n != 2 || zmq_msg_size(&frames[1]) != sizeof(v)) {
                burst_bad++;
                return;
        }
        memcpy(&v, zmq_msg_data(&frames[1]), sizeof(v));
        if ((int)v != burst_received)
                burst_bad++;
        burst_received++;
}

struct sender {
        char endpoint[256];
        int count;
};

static void *burst_sender(void *arg)
{
        struct sender *s = arg;
        void *d = zmq_socket(ctx, ZMQ_DEALER);
        int linger = 5000;
        unsigned int i;

        zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof(linger));
        CHECK(zmq_connect(d, s->endpoint) == 0);
        for (i = 0; i < (unsigned)s->count; i++)
                CHECK(zmq_send(d, &i, sizeof(i), 0) == sizeof(i));
        zmq_close(d);  /* lingers until everything went out */
        return NULL;
}

static void test_burst(void)
{
        struct zsock zs;
        struct sender s = { .count = N_BURST };
        pthread_t t;
        void *router = bind_any(ZMQ_ROUTER, s.endpoint, sizeof(s.endpoint));

        CHECK(zsock_init(&zs, &loop, router, on_burst, NULL) == 0);
        CHECK(pthread_create(&t, NULL, burst_sender, &s) == 0);
        RUN_LOOP_UNTIL(&loop, burst_received == N_BURST, 20000);
        CHECK(burst_bad == 0);
        CHECK(pthread_join(t, NULL) == 0);
        RUN_LOOP_FOR(&loop, 50);
        CHECK(burst_received == N_BURST);  /* nothing twice */
        zsock_close(&zs, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- echo: sending from the receive callback must not lose input ------- */

#define N_ECHO 2000

static int echoed;

static void on_echo(struct zsock *zs, zmq_msg_t *frames, int n)
{
        const void *f[2];
        size_t lens[2];

        CHECK(n == 2);
        f[0] = zmq_msg_data(&frames[0]);
        lens[0] = zmq_msg_size(&frames[0]);
        f[1] = zmq_msg_data(&frames[1]);
        lens[1] = zmq_msg_size(&frames[1]);
        CHECK(zsock_send(zs, f, lens, 2) == 0);
        echoed++;
}

static int echo_ok;

static void *echo_client(void *arg)
{
        struct sender *s = arg;
        void *d = zmq_socket(ctx, ZMQ_DEALER);
        int timeout = 10000, linger = 0, i;

        zmq_setsockopt(d, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
        zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof(linger));
        CHECK(zmq_connect(d, s->endpoint) == 0);
        for (i = 0; i < s->count; i++) {
                int back = -1;
                CHECK(zmq_send(d, &i, sizeof(i), 0) == sizeof(i));
                if (zmq_recv(d, &back, sizeof(back), 0) != sizeof(back) || back != i)
                        break;
        }
        echo_ok = i == s->count;
        zmq_close(d);
        return NULL;
}

static void test_echo(void)
{
        struct zsock zs;
        struct sender s = { .count = N_ECHO };
        pthread_t t;
        void *router = bind_any(ZMQ_ROUTER, s.endpoint, sizeof(s.endpoint));

        CHECK(zsock_init(&zs, &loop, router, on_echo, NULL) == 0);
        CHECK(pthread_create(&t, NULL, echo_client, &s) == 0);
        RUN_LOOP_UNTIL(&loop, echoed == N_ECHO, 20000);
        CHECK(pthread_join(t, NULL) == 0);
        CHECK(echo_ok);
        zsock_close(&zs, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- ROUTER_MANDATORY: an unknown peer is an error, not a silent drop --- */

static void on_nothing(struct zsock *zs, zmq_msg_t *frames, int n)
{
        (void)zs; (void)frames; (void)n;
        CHECK(!"no message expected");
}

static void test_unknown_peer(void)
{
        struct zsock zs;
        char endpoint[256];
        void *router = bind_any(ZMQ_ROUTER, endpoint, sizeof(endpoint));
        int one = 1;
        const void *f[2] = { "nobody", "hello" };
        size_t lens[2] = { 6, 5 };

        CHECK(zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) == 0);
        CHECK(zsock_init(&zs, &loop, router, on_nothing, NULL) == 0);
        CHECK(zsock_send(&zs, f, lens, 2) == -EHOSTUNREACH);
        zsock_close(&zs, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- frames: a message of too many frames is dropped and counted -------- */

static int frames_seen[4], n_seen;

static void on_frames(struct zsock *zs, zmq_msg_t *frames, int n)
{
        (void)zs; (void)frames;
        CHECK(n_seen < 4);
        frames_seen[n_seen++] = n;
}

static void test_frames(void)
{
        struct zsock zs;
        char endpoint[256];
        void *pull = bind_any(ZMQ_PULL, endpoint, sizeof(endpoint));
        void *push = zmq_socket(ctx, ZMQ_PUSH);
        int i, linger = 0;

        CHECK(zsock_init(&zs, &loop, pull, on_frames, NULL) == 0);
        CHECK(zmq_connect(push, endpoint) == 0);
        zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof(linger));
        /* 3 frames, then ZSOCK_MAX_FRAMES + 2 frames, then 1 frame. */
        for (i = 0; i < 3; i++)
                CHECK(zmq_send(push, "a", 1, i < 2 ? ZMQ_SNDMORE : 0) == 1);
        for (i = 0; i < ZSOCK_MAX_FRAMES + 2; i++)
                CHECK(zmq_send(push, "b", 1, i < ZSOCK_MAX_FRAMES + 1 ? ZMQ_SNDMORE : 0) == 1);
        CHECK(zmq_send(push, "c", 1, 0) == 1);
        RUN_LOOP_UNTIL(&loop, n_seen == 2, 5000);
        CHECK(frames_seen[0] == 3);
        CHECK(frames_seen[1] == 1);
        CHECK(zs.too_many_frames == 1);
        zmq_close(push);
        zsock_close(&zs, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- close: on_closed runs once every handle is closed ------------------ */

static int closed_calls;

static void on_closed(struct zsock *zs)
{
        CHECK(zs->sock == NULL);
        closed_calls++;
}

static void test_close(void)
{
        struct zsock *zs = malloc(sizeof(*zs));
        char endpoint[256];
        void *router = bind_any(ZMQ_ROUTER, endpoint, sizeof(endpoint));
        const void *f[1] = { "x" };
        size_t lens[1] = { 1 };

        CHECK(zs);
        CHECK(zsock_init(zs, &loop, router, on_nothing, NULL) == 0);
        zsock_close(zs, on_closed);
        zsock_close(zs, on_closed);  /* twice is harmless */
        CHECK(zsock_send(zs, f, lens, 1) == -ENOTCONN);
        RUN_LOOP_UNTIL(&loop, closed_calls == 1, 5000);
        free(zs);
}

int main(void)
{
        ctx = zmq_ctx_new();
        CHECK(ctx);
        CHECK(uv_loop_init(&loop) == 0);

        RUN(test_burst);
        RUN(test_echo);
        RUN(test_unknown_peer);
        RUN(test_frames);
        RUN(test_close);

        /* Every zsock closed its handles: the loop ends empty. */
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(uv_loop_close(&loop) == 0);
        CHECK(zmq_ctx_term(ctx) == 0);
        return 0;
}

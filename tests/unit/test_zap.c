/* Unit tests of lib/zap.c (with lib/zsock.c receiving): in one process, a
 * CURVE ROUTER on the loop with the ZAP handler installed; only a key the
 * lookup admits gets a message through, under the User-Id the lookup gave. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "unit.h"
#include "unit_loop.h"
#include "base/log.h"
#include "transport/zap.h"

static void *ctx;
static uv_loop_t loop;
static struct zap zap;

static char server_pub[41], server_sec[41];
static char alice_pub[41], alice_sec[41];
static char mallory_pub[41], mallory_sec[41];
static int lookups;

/* Admit alice's key on domain "test" only. */
static int lookup(void *arg, const char *domain, const char *key_z85, char *ret_user, size_t n)
{
        CHECK(arg == &zap);
        lookups++;
        if (strcmp(domain, "test") == 0 && strcmp(key_z85, alice_pub) == 0) {
                snprintf(ret_user, n, "alice");
                return 0;
        }
        return -EPERM;
}

struct received {
        int count;
        char user[64];
        char body[64];
};

static void on_recv(struct zsock *zs, zmq_msg_t *frames, int n)
{
        struct received *r = zs->data;
        const char *user;
        size_t len;

        /* ROUTER: routing id, payload. */
        CHECK(n == 2);
        user = zmq_msg_gets(&frames[1], "User-Id");
        snprintf(r->user, sizeof(r->user), "%s", user ? user : "(none)");
        len = zmq_msg_size(&frames[1]);
        CHECK(len < sizeof(r->body));
        memcpy(r->body, zmq_msg_data(&frames[1]), len);
        r->body[len] = '\0';
        r->count++;
}

/* A CURVE server ROUTER on DOMAIN, on the loop. */
static void server_open(struct zsock *zs, const char *domain, struct received *r, char *endpoint, size_t n)
{
        void *s = zmq_socket(ctx, ZMQ_ROUTER);
        int one = 1;

        CHECK(s);
        CHECK(zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one)) == 0);
        CHECK(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, server_sec, 40) == 0);
        CHECK(zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) == 0);
        CHECK(zmq_bind(s, "tcp://127.0.0.1:*") == 0);
        CHECK(zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, endpoint, &n) == 0);
        CHECK(zsock_init(zs, &loop, s, on_recv, r) == 0);
}

/* A CURVE client DEALER with the given key pair that sends BODY once. It
 * does not reconnect, so one refusal is one ZAP request. */
static void *client_send(const char *endpoint, const char *pub, const char *sec, const char *body)
{
        void *c = zmq_socket(ctx, ZMQ_DEALER);
        int no = -1, linger = 0;

        CHECK(c);
        CHECK(zmq_setsockopt(c, ZMQ_CURVE_SERVERKEY, server_pub, 40) == 0);
        CHECK(zmq_setsockopt(c, ZMQ_CURVE_PUBLICKEY, pub, 40) == 0);
        CHECK(zmq_setsockopt(c, ZMQ_CURVE_SECRETKEY, sec, 40) == 0);
        CHECK(zmq_setsockopt(c, ZMQ_RECONNECT_IVL, &no, sizeof(no)) == 0);
        CHECK(zmq_setsockopt(c, ZMQ_LINGER, &linger, sizeof(linger)) == 0);
        CHECK(zmq_connect(c, endpoint) == 0);
        /* Queued until the handshake completes (never, if refused). */
        CHECK(zmq_send(c, body, strlen(body), ZMQ_DONTWAIT) == (int)strlen(body));
        return c;
}

static void test_admitted(void)
{
        struct zsock server;
        struct received r = { 0 };
        char endpoint[256];
        void *c;

        server_open(&server, "test", &r, endpoint, sizeof(endpoint));
        c = client_send(endpoint, alice_pub, alice_sec, "hello from alice");
        RUN_LOOP_UNTIL(&loop, r.count == 1, 5000);
        CHECK_STREQ(r.body, "hello from alice");
        CHECK_STREQ(r.user, "alice");
        CHECK(zap.admitted == 1);
        CHECK(zap.refused == 0);
        zmq_close(c);
        zsock_close(&server, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
}

static void test_unknown_key_refused(void)
{
        struct zsock server;
        struct received r = { 0 };
        char endpoint[256];
        void *c;

        server_open(&server, "test", &r, endpoint, sizeof(endpoint));
        c = client_send(endpoint, mallory_pub, mallory_sec, "let me in");
        RUN_LOOP_FOR(&loop, 1000);
        CHECK(r.count == 0);
        CHECK(zap.refused == 1);
        CHECK(zap.admitted == 1);  /* alice's, from before */
        CHECK(zap.refused_downlink == 0 && zap.refused_control == 0);
        zmq_close(c);
        zsock_close(&server, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* The lookup sees the socket's domain: alice's key is not admitted on the
 * control socket, and the refusal is counted for that socket. */
static void test_domain_matters(void)
{
        struct zsock server;
        struct received r = { 0 };
        char endpoint[256];
        void *c;

        server_open(&server, "control", &r, endpoint, sizeof(endpoint));
        c = client_send(endpoint, alice_pub, alice_sec, "hello");
        RUN_LOOP_FOR(&loop, 1000);
        CHECK(r.count == 0);
        CHECK(zap.refused == 2);
        CHECK(zap.refused_control == 1);
        zmq_close(c);
        zsock_close(&server, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
}

/* A plain (NULL mechanism) client cannot talk to a CURVE server, and a ZAP
 * request for a non-CURVE mechanism is refused without asking the lookup. */
static void test_null_mechanism_refused(void)
{
        void *server = zmq_socket(ctx, ZMQ_ROUTER);
        void *c = zmq_socket(ctx, ZMQ_DEALER);
        char endpoint[256];
        size_t n = sizeof(endpoint);
        int no = -1, linger = 0, timeout = 0, before = lookups;
        char buf[16];

        /* A NULL-mechanism server with a ZAP domain consults ZAP too. */
        CHECK(zmq_setsockopt(server, ZMQ_ZAP_DOMAIN, "test", 4) == 0);
        CHECK(zmq_setsockopt(server, ZMQ_LINGER, &linger, sizeof(linger)) == 0);
        CHECK(zmq_setsockopt(server, ZMQ_RCVTIMEO, &timeout, sizeof(timeout)) == 0);
        CHECK(zmq_bind(server, "tcp://127.0.0.1:*") == 0);
        CHECK(zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &n) == 0);
        CHECK(zmq_setsockopt(c, ZMQ_RECONNECT_IVL, &no, sizeof(no)) == 0);
        CHECK(zmq_setsockopt(c, ZMQ_LINGER, &linger, sizeof(linger)) == 0);
        CHECK(zmq_connect(c, endpoint) == 0);
        CHECK(zmq_send(c, "plain", 5, ZMQ_DONTWAIT) == 5);
        RUN_LOOP_FOR(&loop, 500);
        CHECK(zmq_recv(server, buf, sizeof(buf), ZMQ_DONTWAIT) < 0);
        CHECK(zap.refused == 3);
        CHECK(lookups == before);
        zmq_close(c);
        zmq_close(server);
}

/* Lines of the log file PATH containing NEEDLE. */
static int log_lines(const char *path, const char *needle)
{
        char line[1024];
        int n = 0;
        FILE *f = fopen(path, "r");

        CHECK(f);
        while (fgets(line, sizeof(line), f))
                n += strstr(line, needle) != NULL;
        fclose(f);
        return n;
}

/* Refused handshakes are all counted, but logged at most once per peer
 * address and socket an interval, with a summary of the rest (issue 17,
 * small ones: a peer retrying a refused key wrote a line each time, and
 * a flood of them fills the disk). */
static void test_refusals_rate_limited(void)
{
        char path[] = "/tmp/vigil-test-zap-XXXXXX", endpoint[256];
        struct zsock server;
        struct received r = { 0 };
        unsigned long before = zap.refused;
        void *c[10];
        int fd = mkstemp(path), i;

        CHECK(fd >= 0);
        close(fd);
        CHECK(log_open(path) == 0);
        zap.log_interval_ms = 400;
        /* A socket of its own: the refusals of the tests before, on
         * "test", are that socket's. */
        server_open(&server, "flood", &r, endpoint, sizeof(endpoint));
        for (i = 0; i < 10; i++) {
                c[i] = client_send(endpoint, mallory_pub, mallory_sec, "let me in");
                RUN_LOOP_UNTIL(&loop, zap.refused == before + (unsigned long)i + 1, 5000);
        }
        CHECK(r.count == 0);
        CHECK(zap.refused == before + 10);
        CHECK(log_lines(path, "refused: key not enrolled") == 1);
        CHECK(log_lines(path, "more refused") == 0);
        /* The interval over: the summary of the nine not logged. */
        RUN_LOOP_FOR(&loop, 600);
        CHECK(log_lines(path, "msg=\"9 more refused") == 1);
        CHECK(log_lines(path, "domain=flood peer=127.0.0.1") == 2);
        /* And the next refusal, an interval later, is logged again. */
        zmq_close(c[0]);
        c[0] = client_send(endpoint, mallory_pub, mallory_sec, "again");
        RUN_LOOP_UNTIL(&loop, zap.refused == before + 11, 5000);
        CHECK(log_lines(path, "refused: key not enrolled") == 2);
        for (i = 0; i < 10; i++)
                zmq_close(c[i]);
        zsock_close(&server, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
        CHECK(log_open(NULL) == 0);
        unlink(path);
}

/* More peers refused at once than the table holds (a flood from many
 * addresses: here 127.0.0.2 .. 127.0.0.81, each a source address of its
 * own): the first ZAP_LOG_PEERS are logged, the rest summed up in one
 * line, and all are counted. */
static void test_many_peers_summed_up(void)
{
        char path[] = "/tmp/vigil-test-zap-XXXXXX", endpoint[256], from[300], summary[80];
        enum { PEERS = ZAP_LOG_PEERS + 16 };
        struct zsock server;
        struct received r = { 0 };
        unsigned long before = zap.refused;
        void *c[PEERS];
        int fd = mkstemp(path), i, no = -1, linger = 0, logged;

        CHECK(fd >= 0);
        close(fd);
        CHECK(log_open(path) == 0);
        zap.log_interval_ms = 3000;
        server_open(&server, "many", &r, endpoint, sizeof(endpoint));
        for (i = 0; i < PEERS; i++) {
                c[i] = zmq_socket(ctx, ZMQ_DEALER);
                CHECK(c[i]);
                CHECK(zmq_setsockopt(c[i], ZMQ_CURVE_SERVERKEY, server_pub, 40) == 0);
                CHECK(zmq_setsockopt(c[i], ZMQ_CURVE_PUBLICKEY, mallory_pub, 40) == 0);
                CHECK(zmq_setsockopt(c[i], ZMQ_CURVE_SECRETKEY, mallory_sec, 40) == 0);
                CHECK(zmq_setsockopt(c[i], ZMQ_RECONNECT_IVL, &no, sizeof(no)) == 0);
                CHECK(zmq_setsockopt(c[i], ZMQ_LINGER, &linger, sizeof(linger)) == 0);
                /* "tcp://SOURCE:0;HOST:PORT": connect from that address. */
                snprintf(from, sizeof(from), "tcp://127.0.0.%d:0;%s", 2 + i, endpoint + strlen("tcp://"));
                CHECK(zmq_connect(c[i], from) == 0);
                RUN_LOOP_UNTIL(&loop, zap.refused == before + (unsigned long)i + 1, 5000);
        }
        /* The table may still hold the peers of the tests before. */
        logged = log_lines(path, "domain=many peer=127.0.0.");
        CHECK(logged <= ZAP_LOG_PEERS && logged >= ZAP_LOG_PEERS - 4);
        RUN_LOOP_UNTIL(&loop, log_lines(path, "more refused from other peers") == 1, 5000);
        snprintf(summary, sizeof(summary), "msg=\"%d more refused from other peers", PEERS - logged);
        CHECK(log_lines(path, summary) == 1);
        CHECK(zap.refused == before + PEERS);
        for (i = 0; i < PEERS; i++)
                zmq_close(c[i]);
        zsock_close(&server, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
        CHECK(log_open(NULL) == 0);
        unlink(path);
}

int main(void)
{
        ctx = zmq_ctx_new();
        CHECK(ctx);
        CHECK(zmq_has("curve"));
        CHECK(uv_loop_init(&loop) == 0);
        CHECK(zmq_curve_keypair(server_pub, server_sec) == 0);
        CHECK(zmq_curve_keypair(alice_pub, alice_sec) == 0);
        CHECK(zmq_curve_keypair(mallory_pub, mallory_sec) == 0);
        /* The handler is bound before any CURVE server exists (NOTES.md). */
        CHECK(zap_init(&zap, ctx, &loop, lookup, &zap) == 0);

        RUN(test_admitted);
        RUN(test_unknown_key_refused);
        RUN(test_domain_matters);
        RUN(test_null_mechanism_refused);
        RUN(test_refusals_rate_limited);
        RUN(test_many_peers_summed_up);

        zap_close(&zap);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(uv_loop_close(&loop) == 0);
        CHECK(zmq_ctx_term(ctx) == 0);
        return 0;
}

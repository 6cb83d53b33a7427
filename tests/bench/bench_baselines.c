/*
 * bench_baselines: the two ceilings tests/bench/link-throughput compares
 * the reliable link against.
 *
 *   bench_baselines curve --messages N [--size BYTES]
 *       N one-way messages DEALER -> ROUTER over CURVE on loopback TCP, two
 *       threads of this process: what ZeroMQ alone can carry.
 *   bench_baselines pg --rows N --conninfo STR [--size BYTES]
 *       N pipelined INSERTs (libpq pipeline mode, one sync per 1000 rows)
 *       on one connection into a fresh table: what PostgreSQL alone can
 *       persist.
 *
 * Each prints one JSON object on stdout: {"baseline","count","size",
 * "seconds","per_second"}. Exit 0 on success, 1 on failure, 2 on usage.
 *
 * The link persists every change at both ends and crosses the wire, so its
 * throughput is bounded by the slower of these two; the benchmark reports
 * its ratio to the PostgreSQL one.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <zmq.h>

#define BENCH_PG_SYNC_EVERY 1000
/* Syncs in flight before the sender waits for the oldest: enough to keep
 * the server busy, few enough that its unread replies (~15 bytes per row)
 * fit in the socket buffers, so a blocking send cannot deadlock against a
 * server blocked on writing them. */
#define BENCH_PG_SYNCS_IN_FLIGHT 4
#define BENCH_ORIGIN "43010401002000000001"
#define BENCH_MAX_SIZE (1 << 20)

static double bench_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_report(const char *baseline, long count, long size, double seconds)
{
        printf("{\"baseline\":\"%s\",\"count\":%ld,\"size\":%ld,\"seconds\":%.6f,\"per_second\":%.1f}\n",
               baseline, count, size, seconds, seconds > 0 ? (double)count / seconds : 0.0);
}

/* --- CURVE DEALER -> ROUTER --- */

struct bench_curve {
        void *ctx;
        char endpoint[64];
        char server_public[41];
        long messages;
        long size;
        double started;         /* set by the sender just before its first timed send */
        int err;                /* the sender's result, 0 or -errno */
};

/* The sender: a CURVE client that first proves the handshake is done (one
 * untimed message the receiver waits for), then sends the timed ones, so
 * the measurement is the steady state of a connected link, as the probe's
 * is. */
static void *bench_curve_sender(void *arg)
{
        struct bench_curve *b = arg;
        char public[41], secret[41];
        void *s = NULL;
        char *buf = NULL;
        int hwm = 100000, linger = -1;
        long i;

        b->err = 0;
        if (zmq_curve_keypair(public, secret) < 0)
                goto fail;
        s = zmq_socket(b->ctx, ZMQ_DEALER);
        if (!s)
                goto fail;
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, b->server_public, 40);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, public, 40);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 40);
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
        if (zmq_connect(s, b->endpoint) < 0)
                goto fail;
        buf = calloc(1, (size_t)b->size + 1);
        if (!buf)
                goto fail;
        if (zmq_send(s, "ready", 5, 0) < 0)
                goto fail;
        /* The receiver answers "go" once "ready" arrived: then the CURVE
         * handshake is over and the clock can start. */
        if (zmq_recv(s, buf, (size_t)b->size, 0) < 0)
                goto fail;
        b->started = bench_now();
        for (i = 0; i < b->messages; i++) {
                memcpy(buf, &i, sizeof(i) < (size_t)b->size ? sizeof(i) : (size_t)b->size);
                if (zmq_send(s, buf, (size_t)b->size, 0) < 0)
                        goto fail;
        }
        free(buf);
        zmq_close(s);
        return NULL;
fail:
        b->err = -errno;
        free(buf);
        if (s)
                zmq_close(s);
        return NULL;
}

static int bench_curve(long messages, long size)
{
        struct bench_curve b = { .messages = messages, .size = size };
        char secret[41], id[256];
        void *s = NULL;
        int one = 1, hwm = 100000, zero = 0, idlen, r;
        size_t len = sizeof(b.endpoint);
        char *buf = NULL;
        pthread_t sender;
        bool running = false;
        double finished;
        long i;

        if (zmq_has("curve") != 1) {
                fprintf(stderr, "bench_baselines: this libzmq has no CURVE\n");
                return -ENOTSUP;
        }
        b.ctx = zmq_ctx_new();
        if (!b.ctx || zmq_curve_keypair(b.server_public, secret) < 0)
                goto fail;
        /* No ZAP handler: libzmq then admits any client key. Fine for a
         * baseline on loopback; the daemon always runs one (NOTES.md). */
        s = zmq_socket(b.ctx, ZMQ_ROUTER);
        if (!s)
                goto fail;
        zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one));
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, secret, 40);
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        if (zmq_bind(s, "tcp://127.0.0.1:*") < 0 || zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, b.endpoint, &len) < 0)
                goto fail;
        buf = malloc((size_t)size + 8);
        if (!buf)
                goto fail;
        errno = pthread_create(&sender, NULL, bench_curve_sender, &b);
        if (errno)
                goto fail;
        running = true;
        idlen = zmq_recv(s, id, sizeof(id), 0);
        if (idlen < 0 || zmq_recv(s, buf, (size_t)size + 8, 0) < 0)
                goto fail;
        if (zmq_send(s, id, (size_t)idlen, ZMQ_SNDMORE) < 0 || zmq_send(s, "go", 2, 0) < 0)
                goto fail;
        for (i = 0; i < messages; i++) {
                if (zmq_recv(s, id, sizeof(id), 0) < 0 || zmq_recv(s, buf, (size_t)size + 8, 0) < 0)
                        goto fail;
        }
        finished = bench_now();
        pthread_join(sender, NULL);
        running = false;
        r = b.err;
        if (r == 0)
                bench_report("curve", messages, size, finished - b.started);
        goto out;
fail:
        r = errno ? -errno : -EIO;
out:
        /* Shutting the context down first wakes a sender blocked in
         * zmq_send (ETERM), so the join cannot hang. */
        if (b.ctx)
                zmq_ctx_shutdown(b.ctx);
        if (running)
                pthread_join(sender, NULL);
        if (s)
                zmq_close(s);
        free(buf);
        if (b.ctx)
                zmq_ctx_term(b.ctx);
        return r;
}

/* --- PostgreSQL pipelined INSERT --- */

static int bench_pg_exec(PGconn *c, const char *sql)
{
        PGresult *res = PQexec(c, sql);
        int r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -EIO;

        if (r < 0)
                fprintf(stderr, "bench_baselines: %s: %s", sql, PQerrorMessage(c));
        PQclear(res);
        return r;
}

/* Read the results of one synced batch, up to and including its
 * PGRES_PIPELINE_SYNC; -EIO if any insert failed. */
static int bench_pg_drain_sync(PGconn *c)
{
        int r = 0;

        for (;;) {
                PGresult *res = PQgetResult(c);
                ExecStatusType st;

                if (!res) {
                        /* Between one query's results and the next. */
                        if (PQstatus(c) != CONNECTION_OK)
                                return -ECONNRESET;
                        continue;
                }
                st = PQresultStatus(res);
                if (st == PGRES_PIPELINE_SYNC) {
                        PQclear(res);
                        return r;
                }
                if (st != PGRES_COMMAND_OK && r == 0) {
                        fprintf(stderr, "bench_baselines: insert failed: %s", PQresultErrorMessage(res));
                        r = -EIO;
                }
                PQclear(res);
        }
}

static int bench_pg(long rows, long size, const char *conninfo)
{
        PGconn *c = PQconnectdb(conninfo);
        char *payload = NULL, id[24];
        int in_flight = 0, r = -EIO;
        double started, finished;
        long i;

        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "bench_baselines: cannot connect: %s", PQerrorMessage(c));
                goto out;
        }
        /* A fresh table each run, so every run starts from the same index. */
        if (bench_pg_exec(c, "SET client_min_messages = warning") < 0 ||
            bench_pg_exec(c, "DROP TABLE IF EXISTS bench_inserts") < 0 ||
            bench_pg_exec(c, "CREATE TABLE bench_inserts (id bigint PRIMARY KEY, origin text NOT NULL, "
                             "payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())") < 0)
                goto out;
        {
                PGresult *res = PQprepare(c, "bench_insert",
                                          "INSERT INTO bench_inserts (id, origin, payload) VALUES ($1, $2, $3)", 3,
                                          NULL);
                bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;

                PQclear(res);
                if (!ok) {
                        fprintf(stderr, "bench_baselines: prepare: %s", PQerrorMessage(c));
                        goto out;
                }
        }
        payload = calloc(1, (size_t)size + 1);
        if (!payload) {
                r = -ENOMEM;
                goto out;
        }
        if (PQenterPipelineMode(c) != 1) {
                fprintf(stderr, "bench_baselines: cannot enter pipeline mode: %s", PQerrorMessage(c));
                goto out;
        }
        started = bench_now();
        for (i = 1; i <= rows; i++) {
                const char *values[3] = { id, BENCH_ORIGIN, payload };
                const int lengths[3] = { 0, 0, (int)size };
                const int formats[3] = { 0, 0, 1 };

                snprintf(id, sizeof(id), "%ld", i);
                memcpy(payload, &i, sizeof(i) < (size_t)size ? sizeof(i) : (size_t)size);
                if (!PQsendQueryPrepared(c, "bench_insert", 3, values, lengths, formats, 0)) {
                        fprintf(stderr, "bench_baselines: send: %s", PQerrorMessage(c));
                        goto out;
                }
                if (i % BENCH_PG_SYNC_EVERY != 0 && i != rows)
                        continue;
                if (!PQpipelineSync(c)) {
                        fprintf(stderr, "bench_baselines: sync: %s", PQerrorMessage(c));
                        goto out;
                }
                if (++in_flight < BENCH_PG_SYNCS_IN_FLIGHT)
                        continue;
                if (bench_pg_drain_sync(c) < 0)
                        goto out;
                in_flight--;
        }
        for (; in_flight > 0; in_flight--) {
                if (bench_pg_drain_sync(c) < 0)
                        goto out;
        }
        finished = bench_now();
        PQexitPipelineMode(c);
        bench_report("pg", rows, size, finished - started);
        r = 0;
out:
        free(payload);
        PQfinish(c);
        return r;
}

/* --- command line --- */

static void bench_usage(void)
{
        fprintf(stderr, "usage: bench_baselines curve --messages N [--size BYTES]\n"
                        "       bench_baselines pg --rows N --conninfo STR [--size BYTES]\n");
}

/* A positive count from argv; -EINVAL (and a message) if it is not one. */
static int bench_parse_count(const char *opt, const char *s, long max, long *ret)
{
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || *end || end == s || v < 1 || v > max) {
                fprintf(stderr, "bench_baselines: %s wants a number from 1 to %ld, not '%s'\n", opt, max, s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

int main(int argc, char **argv)
{
        const char *mode, *conninfo = NULL;
        long count = 0, size = -1;
        int i, r;

        if (argc < 2) {
                bench_usage();
                return 2;
        }
        mode = argv[1];
        for (i = 2; i < argc; i++) {
                const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

                if (!val) {
                        bench_usage();
                        return 2;
                }
                i++;
                if (strcmp(opt, "--messages") == 0 || strcmp(opt, "--rows") == 0)
                        r = bench_parse_count(opt, val, 1000000000L, &count);
                else if (strcmp(opt, "--size") == 0)
                        r = bench_parse_count(opt, val, BENCH_MAX_SIZE, &size);
                else if (strcmp(opt, "--conninfo") == 0) {
                        conninfo = val;
                        r = 0;
                } else {
                        fprintf(stderr, "bench_baselines: unknown option %s\n", opt);
                        r = -EINVAL;
                }
                if (r < 0) {
                        bench_usage();
                        return 2;
                }
        }
        if (count == 0) {
                bench_usage();
                return 2;
        }
        if (strcmp(mode, "curve") == 0) {
                r = bench_curve(count, size > 0 ? size : 128);
        } else if (strcmp(mode, "pg") == 0) {
                if (!conninfo) {
                        bench_usage();
                        return 2;
                }
                r = bench_pg(count, size > 0 ? size : 64, conninfo);
        } else {
                bench_usage();
                return 2;
        }
        if (r < 0) {
                fprintf(stderr, "bench_baselines: %s failed: %s\n", mode, strerror(-r));
                return 1;
        }
        return 0;
}

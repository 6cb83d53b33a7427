/*
 * bench_emergency: the emergency fan-out as the command sees it, through
 * the library (lib/ctlclient.h, no process start-up), and its baseline;
 * tests/bench/emergency-fanout runs it against a federation of 111 nodes.
 *
 *   bench_emergency fanout --endpoint E --server-key K --identity FILE
 *                          --scope ID --stations N --systems M [--runs R]
 *                          [--poll-ms P] [--timeout-ms T] [--gap-ms G]
 *       R times: declare an emergency over SCOPE, then ask the command for
 *       its status every P ms until all N stations have acked (time to
 *       "acked") and all M systems are linked (time to "linked"); then end
 *       it and wait until every station has undone its linkages, so the
 *       next run starts from nothing linked (G ms later; 0).
 *   bench_emergency rtt --count N
 *       N ZeroMQ request-reply round trips (REQ -> REP over CURVE on
 *       loopback TCP, two threads of this process): the least one hop of
 *       the order and one of the ack can cost.
 *
 * Prints one JSON object: fanout {"runs","acked_ms":[…],"linked_ms":[…],
 * "ended_ms":[…],"polls":N}; rtt {"what","count","p50_ms","p99_ms","max_ms","mean_ms"}.
 * Times are from sending the declaration to the first status that shows
 * it, so they are late by at most one poll (P ms plus its round trip).
 * Exit 0, 1 on failure, 2 on usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zmq.h>

#include "bench_latency.h"
#include "client/ctlclient.h"
#include "base/keys.h"

#define BENCH_MAX_RUNS 1000

static void sleep_ms(int ms)
{
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

        nanosleep(&ts, NULL);
}

/* Call COMMAND; the reply's JSON document, or NULL (and a message). */
static json_t *call(struct ctlclient *c, const char *command, const char *const *names,
                    const char *const *values, int nargs)
{
        Vigil__ControlReply *reply = NULL;
        json_t *doc = NULL;
        int r = ctlclient_call(c, command, names, values, nargs, 10000, &reply);

        if (r < 0 || reply->status != 0 || !reply->json) {
                fprintf(stderr, "bench_emergency: %s: %s\n", command,
                        r < 0 ? strerror(-r) : reply->error ? reply->error : "no document");
        } else {
                doc = json_loads(reply->json, 0, NULL);
                if (!doc)
                        fprintf(stderr, "bench_emergency: %s: the answer is not JSON\n", command);
        }
        if (reply)
                vigil__control_reply__free_unpacked(reply, NULL);
        return doc;
}

static json_int_t total(json_t *status, const char *key)
{
        return json_integer_value(json_object_get(json_object_get(status, "totals"), key));
}

/* Every station in the status has undone what it linked. */
static int all_unlinked(json_t *status)
{
        json_t *st;
        size_t i;

        json_array_foreach (json_object_get(status, "stations"), i, st) {
                if (json_integer_value(json_object_get(st, "unlinked")) <
                    json_integer_value(json_object_get(st, "linked")))
                        return 0;
        }
        return 1;
}

static void print_array(const char *key, const double *v, int n)
{
        int i;

        printf("\"%s\":[", key);
        for (i = 0; i < n; i++)
                printf("%s%.2f", i ? "," : "", v[i]);
        printf("]");
}

static int fanout(int argc, char **argv)
{
        const char *endpoint = NULL, *server_key = NULL, *idfile = NULL, *scope = NULL;
        int stations = 0, systems = 0, runs = 20, poll_ms = 2, timeout_ms = 30000, gap_ms = 0, polls = 0, i, run;
        double acked[BENCH_MAX_RUNS], linked[BENCH_MAX_RUNS], ended[BENCH_MAX_RUNS];
        struct identity id;
        struct ctlclient *c;
        char err[256];

        for (i = 2; i + 1 < argc; i += 2) {
                const char *o = argv[i], *v = argv[i + 1];
                if (strcmp(o, "--endpoint") == 0)
                        endpoint = v;
                else if (strcmp(o, "--server-key") == 0)
                        server_key = v;
                else if (strcmp(o, "--identity") == 0)
                        idfile = v;
                else if (strcmp(o, "--scope") == 0)
                        scope = v;
                else if (strcmp(o, "--stations") == 0)
                        stations = atoi(v);
                else if (strcmp(o, "--systems") == 0)
                        systems = atoi(v);
                else if (strcmp(o, "--runs") == 0)
                        runs = atoi(v);
                else if (strcmp(o, "--poll-ms") == 0)
                        poll_ms = atoi(v);
                else if (strcmp(o, "--timeout-ms") == 0)
                        timeout_ms = atoi(v);
                else if (strcmp(o, "--gap-ms") == 0)
                        gap_ms = atoi(v);
                else
                        return 2;
        }
        if (i != argc || !endpoint || !server_key || !idfile || !scope || stations < 1 || systems < 0 || runs < 1 ||
            runs > BENCH_MAX_RUNS || poll_ms < 0 || timeout_ms < 1 || gap_ms < 0)
                return 2;
        if (identity_load(idfile, &id, err, sizeof(err)) < 0) {
                fprintf(stderr, "bench_emergency: %s\n", err);
                return 1;
        }
        c = ctlclient_new(endpoint, server_key, &id, err, sizeof(err));
        if (!c) {
                fprintf(stderr, "bench_emergency: %s\n", err);
                return 1;
        }
        for (run = 0; run < runs; run++) {
                /* Art 19: it names who may act under it (the command's
                 * commanders; the benchmark views nothing). */
                const char *dn[6] = { "scope", "duration", "incident", "authority", "role", NULL };
                const char *dv[6] = { scope, "30m", "emergency-fanout benchmark",
                                      "Changsha Municipal Public Security Bureau", "commander", NULL };
                const char *sn[1] = { "id" }, *sv[1];
                json_t *doc, *status = NULL;
                char em[64];
                double t0, t;

                if (run > 0)
                        sleep_ms(gap_ms);
                t0 = bench_now_ms();
                doc = call(c, "emergency.declare", dn, dv, 5);
                if (!doc)
                        goto fail;
                snprintf(em, sizeof(em), "%s", json_string_value(json_object_get(doc, "id")));
                json_decref(doc);
                sv[0] = em;
                acked[run] = linked[run] = -1;
                for (;;) {
                        t = bench_now_ms();
                        if (t - t0 > timeout_ms) {
                                fprintf(stderr, "bench_emergency: %s: after %d ms, acked %lld of %d, linked %lld "
                                        "of %d, failed %lld\n", em, timeout_ms, (long long)total(status, "acked"),
                                        stations, (long long)total(status, "linked"), systems,
                                        (long long)total(status, "failed"));
                                json_decref(status);
                                goto fail;
                        }
                        json_decref(status);
                        status = call(c, "emergency.status", sn, sv, 1);
                        polls++;
                        if (!status)
                                goto fail;
                        t = bench_now_ms() - t0;
                        if (acked[run] < 0 && total(status, "acked") >= stations)
                                acked[run] = t;
                        if (linked[run] < 0 && total(status, "linked") >= systems)
                                linked[run] = t;
                        if (acked[run] >= 0 && linked[run] >= 0)
                                break;
                        sleep_ms(poll_ms);
                }
                if (total(status, "failed") != 0) {
                        fprintf(stderr, "bench_emergency: %s: %lld linkages failed\n", em,
                                (long long)total(status, "failed"));
                        json_decref(status);
                        goto fail;
                }
                json_decref(status);
                status = NULL;
                fprintf(stderr, "bench_emergency: run %d: %s all acked %.1f ms, all linked %.1f ms\n", run + 1, em,
                        acked[run], linked[run]);
                /* End it; the next run starts with nothing linked. */
                t0 = bench_now_ms();
                doc = call(c, "emergency.end", sn, sv, 1);
                if (!doc)
                        goto fail;
                json_decref(doc);
                for (;;) {
                        status = call(c, "emergency.status", sn, sv, 1);
                        if (!status)
                                goto fail;
                        if (all_unlinked(status))
                                break;
                        json_decref(status);
                        status = NULL;
                        if (bench_now_ms() - t0 > timeout_ms) {
                                fprintf(stderr, "bench_emergency: %s: not every linkage undone after %d ms\n", em,
                                        timeout_ms);
                                goto fail;
                        }
                        sleep_ms(10);
                }
                json_decref(status);
                ended[run] = bench_now_ms() - t0;
        }
        printf("{\"runs\":%d,", runs);
        print_array("acked_ms", acked, runs);
        printf(",");
        print_array("linked_ms", linked, runs);
        printf(",");
        print_array("ended_ms", ended, runs);
        printf(",\"polls\":%d}\n", polls);
        ctlclient_free(c);
        return 0;
fail:
        ctlclient_free(c);
        return 1;
}

/* --- the baseline: one ZeroMQ request-reply round trip --- */

struct rtt_server {
        void *ctx;
        char public_key[41], secret_key[41];
        int port;
        int count;
};

static void *rtt_serve(void *arg)
{
        struct rtt_server *s = arg;
        void *rep = zmq_socket(s->ctx, ZMQ_REP);
        int one = 1, i;
        char ep[64], buf[64];

        zmq_setsockopt(rep, ZMQ_CURVE_SERVER, &one, sizeof(one));
        zmq_setsockopt(rep, ZMQ_CURVE_SECRETKEY, s->secret_key, 40);
        snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%d", s->port);
        if (zmq_bind(rep, ep) != 0) {
                fprintf(stderr, "bench_emergency: bind %s: %s\n", ep, zmq_strerror(errno));
                zmq_close(rep);
                return NULL;
        }
        for (i = 0; i < s->count; i++) {
                int n = zmq_recv(rep, buf, sizeof(buf), 0);
                if (n < 0 || zmq_send(rep, buf, (size_t)n, 0) < 0)
                        break;
        }
        zmq_close(rep);
        return NULL;
}

static int rtt(int argc, char **argv)
{
        struct rtt_server s = { 0 };
        char cpub[41], csec[41], buf[64];
        int count = 1000, i, warm = 20, ok = 1;
        void *req;
        pthread_t th;
        double *lat;

        for (i = 2; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--count") == 0)
                        count = atoi(argv[i + 1]);
                else if (strcmp(argv[i], "--port") == 0)
                        s.port = atoi(argv[i + 1]);
                else
                        return 2;
        }
        if (i != argc || count < 1 || s.port < 1)
                return 2;
        s.ctx = zmq_ctx_new();
        s.count = count + warm;
        zmq_curve_keypair(s.public_key, s.secret_key);
        zmq_curve_keypair(cpub, csec);
        pthread_create(&th, NULL, rtt_serve, &s);
        req = zmq_socket(s.ctx, ZMQ_REQ);
        zmq_setsockopt(req, ZMQ_CURVE_SERVERKEY, s.public_key, 40);
        zmq_setsockopt(req, ZMQ_CURVE_PUBLICKEY, cpub, 40);
        zmq_setsockopt(req, ZMQ_CURVE_SECRETKEY, csec, 40);
        snprintf(buf, sizeof(buf), "tcp://127.0.0.1:%d", s.port);
        zmq_connect(req, buf);
        lat = calloc((size_t)count, sizeof(*lat));
        for (i = -warm; i < count; i++) {
                double t0 = bench_now_ms();
                if (zmq_send(req, "ping", 4, 0) < 0 || zmq_recv(req, buf, sizeof(buf), 0) < 0) {
                        fprintf(stderr, "bench_emergency: rtt: %s\n", zmq_strerror(errno));
                        ok = 0;
                        break;
                }
                if (i >= 0)
                        lat[i] = bench_now_ms() - t0;
        }
        zmq_close(req);
        pthread_join(th, NULL);
        zmq_ctx_term(s.ctx);
        if (ok)
                bench_print_latencies("rtt", lat, count);
        free(lat);
        return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
        int r = 2;

        if (argc >= 2 && strcmp(argv[1], "fanout") == 0)
                r = fanout(argc, argv);
        else if (argc >= 2 && strcmp(argv[1], "rtt") == 0)
                r = rtt(argc, argv);
        if (r == 2)
                fprintf(stderr, "usage: bench_emergency fanout --endpoint E --server-key K --identity FILE --scope ID "
                        "--stations N --systems M [--runs R] [--poll-ms P] [--timeout-ms T] | "
                        "rtt --port P [--count N]\n");
        return r;
}

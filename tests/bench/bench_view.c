/*
 * bench_view: the view round trip through the library (lib/ctlclient.h),
 * without process start-up, and its baseline; tests/bench/view-switch runs
 * it against a local federation.
 *
 *   bench_view views --endpoint E --server-key K --identity FILE
 *                    --camera ID [--camera ID…] --count N
 *       N `view` requests, cycling through the cameras (stations under
 *       both districts: each answer comes from another station), one at a
 *       time; each must be granted.
 *   bench_view commit --conninfo STR --count N
 *       N single-row INSERT + COMMIT round trips on one connection: what
 *       one durable PostgreSQL decision costs.
 *
 * Prints one JSON object: {"what","count","p50_ms","p99_ms","max_ms",
 * "mean_ms"}. Exit 0, 1 on failure, 2 on usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "bench_latency.h"
#include "client/ctlclient.h"
#include "base/keys.h"

#define MAX_CAMERAS 64

static int views(int argc, char **argv)
{
        const char *endpoint = NULL, *server_key = NULL, *idfile = NULL, *cameras[MAX_CAMERAS];
        int ncam = 0, count = 1000, i;
        struct identity id;
        struct ctlclient *c;
        char err[256];
        double *lat;

        for (i = 2; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--endpoint") == 0)
                        endpoint = argv[i + 1];
                else if (strcmp(argv[i], "--server-key") == 0)
                        server_key = argv[i + 1];
                else if (strcmp(argv[i], "--identity") == 0)
                        idfile = argv[i + 1];
                else if (strcmp(argv[i], "--camera") == 0 && ncam < MAX_CAMERAS)
                        cameras[ncam++] = argv[i + 1];
                else if (strcmp(argv[i], "--count") == 0)
                        count = atoi(argv[i + 1]);
                else
                        return 2;
        }
        if (!endpoint || !server_key || !idfile || ncam == 0 || count < 1)
                return 2;
        if (identity_load(idfile, &id, err, sizeof(err)) < 0) {
                fprintf(stderr, "bench_view: %s\n", err);
                return 1;
        }
        c = ctlclient_new(endpoint, server_key, &id, err, sizeof(err));
        if (!c) {
                fprintf(stderr, "bench_view: %s\n", err);
                return 1;
        }
        lat = calloc((size_t)count, sizeof(*lat));
        for (i = -10; i < count; i++) {   /* ten to warm up (handshake) */
                const char *names[1] = { "camera" }, *values[1] = { cameras[(i + 10) % ncam] };
                Vigil__ControlReply *reply = NULL;
                double t0 = bench_now_ms();
                int r = ctlclient_call(c, "view", names, values, 1, 5000, &reply);
                if (r < 0 || reply->status != 0) {
                        fprintf(stderr, "bench_view: view %s: %s\n", values[0],
                                r < 0 ? strerror(-r) : reply->error ? reply->error : "refused");
                        if (reply)
                                vigil__control_reply__free_unpacked(reply, NULL);
                        ctlclient_free(c);
                        free(lat);
                        return 1;
                }
                if (i >= 0)
                        lat[i] = bench_now_ms() - t0;
                vigil__control_reply__free_unpacked(reply, NULL);
        }
        bench_print_latencies("view", lat, count);
        ctlclient_free(c);
        free(lat);
        return 0;
}

static int commits(int argc, char **argv)
{
        const char *conninfo = NULL;
        int count = 1000, i;
        PGconn *pg;
        double *lat;

        for (i = 2; i + 1 < argc; i += 2) {
                if (strcmp(argv[i], "--conninfo") == 0)
                        conninfo = argv[i + 1];
                else if (strcmp(argv[i], "--count") == 0)
                        count = atoi(argv[i + 1]);
                else
                        return 2;
        }
        if (!conninfo || count < 1)
                return 2;
        pg = PQconnectdb(conninfo);
        if (PQstatus(pg) != CONNECTION_OK) {
                fprintf(stderr, "bench_view: %s", PQerrorMessage(pg));
                return 1;
        }
        PQclear(PQexec(pg, "SET client_min_messages = warning"));
        /* A logged table: a temporary one would commit without a WAL flush. */
        PQclear(PQexec(pg, "DROP TABLE IF EXISTS bench_commit"));
        PQclear(PQexec(pg, "CREATE TABLE bench_commit (id bigint, at timestamptz)"));
        lat = calloc((size_t)count, sizeof(*lat));
        for (i = 0; i < count; i++) {
                double t0 = bench_now_ms();
                /* One statement, its own transaction: a durable commit. */
                PGresult *r = PQexec(pg, "INSERT INTO bench_commit VALUES (1, now())");
                if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                        fprintf(stderr, "bench_view: %s", PQresultErrorMessage(r));
                        PQclear(r);
                        return 1;
                }
                PQclear(r);
                lat[i] = bench_now_ms() - t0;
        }
        bench_print_latencies("commit", lat, count);
        PQclear(PQexec(pg, "DROP TABLE bench_commit"));
        PQfinish(pg);
        free(lat);
        return 0;
}

int main(int argc, char **argv)
{
        int r = 2;

        if (argc >= 2 && strcmp(argv[1], "views") == 0)
                r = views(argc, argv);
        else if (argc >= 2 && strcmp(argv[1], "commit") == 0)
                r = commits(argc, argv);
        if (r == 2)
                fprintf(stderr, "usage: bench_view views --endpoint E --server-key K --identity FILE --camera ID... "
                        "[--count N] | commit --conninfo STR [--count N]\n");
        return r;
}

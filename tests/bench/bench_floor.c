/*
 * bench_floor: what an emergency over a city cannot go below on this
 * machine: the floor tests/bench/emergency-fanout reports its figures
 * against. It runs, in the same run, on the same PostgreSQL cluster and in
 * the same databases as the federation (which idles meanwhile), the part of
 * the fan-out no implementation can leave out, and nothing else:
 *
 *   bench_floor --plan FILE [--runs R] [--probes N] [--per-host H]
 *               [--probe-timeout-ms T] [--timeout-ms T]
 *
 * FILE names the tree and the reserved interfaces, one item a line, parents
 * before their children:
 *
 *   node NAME PARENT|- CONNINFO…    a node and its database (libpq conninfo)
 *   probe NAME URL USER|- PASSWORD|-   a reserved interface of leaf NAME
 *
 * R times, alternately, two kinds of run (a libuv loop, one process):
 *
 *   acked   the root commits the declaration (one durable commit: a
 *           single-row INSERT in its own transaction, prepared) and sends
 *           the order to its children over ZeroMQ (CURVE, DEALER -> ROUTER
 *           over loopback TCP, as vigild's links); each child commits it
 *           and sends it on, all at once; each leaf (station) commits it
 *           (keeps and acks it) and sends its ack up; an inner node
 *           (district) commits once when all its children's acks are in and
 *           sends its ack up; the root commits once when all of its
 *           children's are in: "acked". The critical path of durable
 *           commits with the real fan-out's concurrency (1, then 10 at
 *           once, then 100 at once, each started when its district's
 *           finished, then the districts', then the city's), plus four
 *           network hops.
 *   linked  the same, and each leaf, as soon as its ack committed, probes
 *           its reserved interfaces with OPTIONS + DESCRIBE through
 *           lib/transport/rtsp (a pool per leaf, N at once and H against one
 *           host and port, T ms each: vigild's limits), against the same
 *           RTSP servers, then commits once and sends a report up; reports
 *           go up as the acks do (one commit per district once its
 *           stations' are in, one at the city): "linked".
 *
 * Why it is a floor: every step above is one vigild must also take, with
 * the same durability (synchronous_commit as the cluster has it; reported),
 * the same databases and the same concurrency limits; vigild takes more of
 * them. What it leaves out, each of which the federation pays: the command's
 * own round trip and its status polls (the bench sees "acked" up to one poll
 * late), the dispatch sweep's read and second commit at the city, the SQL of
 * emergency_apply/receive/report_apply (rules, scope checks, outbox appends,
 * audit records and their forwarding), the protobuf encoding, ZAP and
 * User-Id checks, the several flushes and progress reports a station
 * commits while it links, the read-back of its records, and vigild's
 * [emergency] link_delay_ms (a choice, not work: the floor links at once).
 * It also runs as one process where the federation runs 111, so it pays no
 * scheduling between them, and it commits exactly once per batch where
 * vigild group-commits whatever has arrived. So the federation's time over
 * this is at least 1, up to the machine's noise (the floor is measured
 * after the emergencies, not between them), and what is above 1 is what
 * the implementation adds. Its linked runs also report when the acks got
 * in (linked_run_acked_ms): well above the acked runs' time, as stations
 * that link at once take the processor from the acks still on their way
 * up, which vigild's link_delay_ms avoids.
 *
 * Prints one JSON object: {"what":"floor","nodes","leaves","probes","runs",
 * "acked_ms":[…],"linked_ms":[…],"linked_run_acked_ms":[…],
 * "probing_ms_max":[…] (per linked run, the longest any leaf probed),
 * "failed","peak_per_host","synchronous_commit","io_threads"}.
 * It creates a table bench_floor in each database and drops it at the end.
 * Exit 0, 1 on failure (a probe that did not link is one), 2 on usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <uv.h>
#include <zmq.h>

#include "bench_latency.h"
#include "transport/rtsp.h"

#define FLOOR_MAX_NODES 512
#define FLOOR_MAX_RUNS 1000
#define FLOOR_MAX_QUEUE 4

enum floor_commit { COMMIT_ORDER, COMMIT_ACKS, COMMIT_REPORTS };
static const char *const floor_commit_name[] = { "order", "acks", "reports" };

struct floor_probe {
        struct floor_node *leaf;
        char *url, *user, *password;
};

struct floor_node {
        char name[64];
        struct floor_node *parent;
        struct floor_node **children;
        int n_children;
        PGconn *pg;
        uv_poll_t pg_poll;
        bool pg_busy;                               /* a commit in flight */
        enum floor_commit queue[FLOOR_MAX_QUEUE];   /* waiting behind it */
        int queued;
        void *up;       /* DEALER to the parent's ROUTER (all but the root) */
        void *down;     /* ROUTER for the children (all but the leaves) */
        uv_poll_t up_poll, down_poll;
        int acks, reports;                          /* this run's, from children */
        struct floor_probe *probes;
        int n_probes, pending;
        struct rtsp_pool *pool;
        double probe_t0;
};

static struct floor_node nodes[FLOOR_MAX_NODES];
static int n_nodes;
static uv_loop_t *loop;
static void *zctx;
static uv_prepare_t drain_handle;
static uv_timer_t deadline;
static int probe_timeout_ms = 5000;

/* The run in progress. */
static struct {
        int number;
        bool linking;
        double t0, acked, linked, probing_max;
        int failed;
        bool error;
} run;

static void floor_fail(const char *what, const char *detail)
{
        fprintf(stderr, "bench_floor: %s: %s\n", what, detail);
        run.error = true;
}

static struct floor_node *floor_find(const char *name)
{
        int i;

        for (i = 0; i < n_nodes; i++)
                if (strcmp(nodes[i].name, name) == 0)
                        return &nodes[i];
        return NULL;
}

/* --- durable commits, one at a time per database, on the loop --- */

static void floor_committed(struct floor_node *n, enum floor_commit what);
static void floor_pg_start(struct floor_node *n);

static void floor_pg_poll(uv_poll_t *h, int status, int events)
{
        struct floor_node *n = h->data;
        PGresult *res;

        if (status < 0) {
                floor_fail(n->name, uv_strerror(status));
                return;
        }
        if ((events & UV_WRITABLE) && PQflush(n->pg) == 0)
                uv_poll_start(h, UV_READABLE, floor_pg_poll);
        if (!(events & UV_READABLE))
                return;
        if (!PQconsumeInput(n->pg)) {
                floor_fail(n->name, PQerrorMessage(n->pg));
                return;
        }
        while (n->pg_busy && !PQisBusy(n->pg)) {
                enum floor_commit done;

                res = PQgetResult(n->pg);
                if (res) {
                        if (PQresultStatus(res) != PGRES_COMMAND_OK)
                                floor_fail(n->name, PQresultErrorMessage(res));
                        PQclear(res);
                        continue;
                }
                /* NULL: the statement, and with it its transaction, is done. */
                done = n->queue[0];
                n->pg_busy = false;
                memmove(n->queue, n->queue + 1, sizeof(n->queue[0]) * (size_t)(FLOOR_MAX_QUEUE - 1));
                if (--n->queued > 0)
                        floor_pg_start(n);
                else
                        uv_poll_stop(h);
                floor_committed(n, done);
        }
}

static void floor_pg_start(struct floor_node *n)
{
        const char *v[1] = { floor_commit_name[n->queue[0]] };
        int f;

        if (!PQsendQueryPrepared(n->pg, "floor_commit", 1, v, NULL, NULL, 0)) {
                floor_fail(n->name, PQerrorMessage(n->pg));
                return;
        }
        n->pg_busy = true;
        f = PQflush(n->pg);
        if (f < 0)
                floor_fail(n->name, PQerrorMessage(n->pg));
        uv_poll_start(&n->pg_poll, f == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE, floor_pg_poll);
}

static void floor_commit(struct floor_node *n, enum floor_commit what)
{
        if (n->queued == FLOOR_MAX_QUEUE) {
                floor_fail(n->name, "too many commits queued");
                return;
        }
        n->queue[n->queued++] = what;
        if (!n->pg_busy)
                floor_pg_start(n);
}

/* --- messages over ZeroMQ CURVE --- */

static void floor_send_up(struct floor_node *n, char kind)
{
        char msg[32];
        int len = snprintf(msg, sizeof(msg), "%c %d", kind, run.number);

        if (zmq_send(n->up, msg, (size_t)len, ZMQ_DONTWAIT) < 0)
                floor_fail(n->name, zmq_strerror(errno));
}

static void floor_send_down(struct floor_node *n)
{
        char msg[32];
        int len = snprintf(msg, sizeof(msg), "o %d", run.number), i;

        for (i = 0; i < n->n_children; i++) {
                const char *id = n->children[i]->name;
                if (zmq_send(n->down, id, strlen(id), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
                    zmq_send(n->down, msg, (size_t)len, ZMQ_DONTWAIT) < 0)
                        floor_fail(n->name, zmq_strerror(errno));
        }
}

/* --- what each node does --- */

static void floor_probed(void *arg, const struct rtsp_result *r)
{
        struct floor_probe *p = arg;
        struct floor_node *n = p->leaf;
        double took;

        if (r->outcome != RTSP_OK) {
                fprintf(stderr, "bench_floor: %s: %s: %s (%s)\n", n->name, p->url, rtsp_outcome_name(r->outcome),
                        r->reason ? r->reason : "");
                run.failed++;
        }
        if (--n->pending > 0)
                return;
        took = bench_now_ms() - n->probe_t0;
        if (took > run.probing_max)
                run.probing_max = took;
        floor_commit(n, COMMIT_REPORTS);   /* the linkages on record */
}

static void floor_link(struct floor_node *n)
{
        int i;

        n->pending = n->n_probes;
        n->probe_t0 = bench_now_ms();
        if (n->n_probes == 0) {
                floor_commit(n, COMMIT_REPORTS);
                return;
        }
        for (i = 0; i < n->n_probes; i++) {
                struct floor_probe *p = &n->probes[i];
                if (rtsp_probe(n->pool, p->url, p->user, p->password, probe_timeout_ms, floor_probed, p) < 0) {
                        floor_fail(n->name, "rtsp_probe refused the URL");
                        n->pending--;
                }
        }
}

static void floor_committed(struct floor_node *n, enum floor_commit what)
{
        double t = bench_now_ms() - run.t0;

        switch (what) {
        case COMMIT_ORDER:
                if (n->n_children > 0) {
                        floor_send_down(n);
                } else {
                        floor_send_up(n, 'a');
                        if (run.linking)
                                floor_link(n);
                }
                break;
        case COMMIT_ACKS:
                if (n->parent)
                        floor_send_up(n, 'a');
                else
                        run.acked = t;
                break;
        case COMMIT_REPORTS:
                if (n->parent)
                        floor_send_up(n, 'r');
                else
                        run.linked = t;
                break;
        }
}

static void floor_received(struct floor_node *n, struct floor_node *child, const char *msg)
{
        char kind;
        int number;

        if (sscanf(msg, "%c %d", &kind, &number) != 2 || number != run.number)
                return;   /* a hello, or late from a failed run */
        if (kind == 'o' && !child)
                floor_commit(n, COMMIT_ORDER);
        else if (kind == 'a' && child && ++n->acks == n->n_children)
                floor_commit(n, COMMIT_ACKS);
        else if (kind == 'r' && child && ++n->reports == n->n_children)
                floor_commit(n, COMMIT_REPORTS);
}

/* ZMQ_FD is edge-triggered (NOTES.md): its poll handles only wake the loop;
 * before the loop blocks, every socket is read until ZMQ_EVENTS shows
 * nothing, which also re-arms its descriptor. Handling a message may send
 * one, so the pass repeats until one finds nothing. */
static int floor_drain_socket(struct floor_node *n, void *s, bool router)
{
        char id[64], msg[64];
        int got = 0, events, len;
        size_t sz;

        for (;;) {
                struct floor_node *child = NULL;

                sz = sizeof(events);
                if (zmq_getsockopt(s, ZMQ_EVENTS, &events, &sz) < 0 || !(events & ZMQ_POLLIN))
                        return got;
                if (router) {
                        len = zmq_recv(s, id, sizeof(id) - 1, ZMQ_DONTWAIT);
                        if (len < 0)
                                return got;
                        id[len < (int)sizeof(id) - 1 ? len : (int)sizeof(id) - 1] = '\0';
                }
                len = zmq_recv(s, msg, sizeof(msg) - 1, ZMQ_DONTWAIT);
                if (len < 0)
                        return got;
                msg[len < (int)sizeof(msg) - 1 ? len : (int)sizeof(msg) - 1] = '\0';
                if (router) {
                        int i;
                        for (i = 0; i < n->n_children && !child; i++)
                                if (strcmp(n->children[i]->name, id) == 0)
                                        child = n->children[i];
                        if (!child)
                                continue;
                }
                floor_received(n, child, msg);
                got++;
        }
}

static void floor_drain(uv_prepare_t *h)
{
        int got, i;

        (void)h;
        do {
                got = 0;
                for (i = 0; i < n_nodes; i++) {
                        if (nodes[i].up)
                                got += floor_drain_socket(&nodes[i], nodes[i].up, false);
                        if (nodes[i].down)
                                got += floor_drain_socket(&nodes[i], nodes[i].down, true);
                }
        } while (got > 0);
}

static void floor_wake(uv_poll_t *h, int status, int events)
{
        (void)h;
        (void)status;
        (void)events;
}

static void floor_timed_out(uv_timer_t *t)
{
        (void)t;
        floor_fail("run", "no answer before the deadline");
}

/* --- one run --- */

static int floor_run(int number, bool linking, int timeout_ms)
{
        struct floor_node *root = &nodes[0];
        int i;

        memset(&run, 0, sizeof(run));
        run.number = number;
        run.linking = linking;
        run.acked = run.linked = -1;
        for (i = 0; i < n_nodes; i++)
                nodes[i].acks = nodes[i].reports = 0;
        uv_timer_start(&deadline, floor_timed_out, (uint64_t)timeout_ms, 0);
        run.t0 = bench_now_ms();
        floor_commit(root, COMMIT_ORDER);   /* the declaration */
        while (!run.error && (run.acked < 0 || (linking && run.linked < 0)))
                uv_run(loop, UV_RUN_ONCE);
        uv_timer_stop(&deadline);
        /* The last commits of a failed run may still be in flight: let them
         * end, so the next run starts with every connection idle. */
        for (i = 0; i < n_nodes; i++)
                while (nodes[i].pg_busy && !run.error)
                        uv_run(loop, UV_RUN_ONCE);
        return run.error || run.failed ? -1 : 0;
}

/* --- setting up and down --- */

static int floor_exec(struct floor_node *n, const char *sql)
{
        PGresult *r = PQexec(n->pg, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;

        if (!ok)
                fprintf(stderr, "bench_floor: %s: %s: %s", n->name, sql, PQerrorMessage(n->pg));
        PQclear(r);
        return ok ? 0 : -1;
}

static char *floor_opt(char *s)
{
        return s && strcmp(s, "-") != 0 ? strdup(s) : NULL;
}

static int floor_read_plan(const char *path)
{
        FILE *f = fopen(path, "r");
        char line[2048];
        int lineno = 0;

        if (!f) {
                fprintf(stderr, "bench_floor: %s: %s\n", path, strerror(errno));
                return -1;
        }
        while (fgets(line, sizeof(line), f)) {
                char *save = NULL, *kind = strtok_r(line, " \n", &save), *name, *a;
                struct floor_node *n;

                lineno++;
                if (!kind || kind[0] == '#')
                        continue;
                name = strtok_r(NULL, " \n", &save);
                a = strtok_r(NULL, " \n", &save);
                if (!name || !a)
                        goto bad;
                if (strcmp(kind, "node") == 0) {
                        char *conninfo = strtok_r(NULL, "\n", &save);
                        struct floor_node *p = strcmp(a, "-") == 0 ? NULL : floor_find(a);

                        if (!conninfo || n_nodes == FLOOR_MAX_NODES || floor_find(name) ||
                            strlen(name) >= sizeof(n->name) || (strcmp(a, "-") != 0 && !p) || (!p && n_nodes > 0))
                                goto bad;
                        n = &nodes[n_nodes++];
                        snprintf(n->name, sizeof(n->name), "%s", name);
                        n->parent = p;
                        n->pg = PQconnectdb(conninfo);
                        if (PQstatus(n->pg) != CONNECTION_OK) {
                                fprintf(stderr, "bench_floor: %s: %s", name, PQerrorMessage(n->pg));
                                fclose(f);
                                return -1;
                        }
                        if (p) {
                                p->children = realloc(p->children, sizeof(*p->children) * (size_t)(p->n_children + 1));
                                p->children[p->n_children++] = n;
                        }
                } else if (strcmp(kind, "probe") == 0) {
                        struct floor_probe *pr;

                        n = floor_find(name);
                        if (!n)
                                goto bad;
                        n->probes = realloc(n->probes, sizeof(*n->probes) * (size_t)(n->n_probes + 1));
                        pr = &n->probes[n->n_probes++];
                        pr->leaf = n;
                        pr->url = strdup(a);
                        pr->user = floor_opt(strtok_r(NULL, " \n", &save));
                        pr->password = floor_opt(strtok_r(NULL, " \n", &save));
                } else {
                        goto bad;
                }
        }
        fclose(f);
        if (n_nodes < 2) {
                fprintf(stderr, "bench_floor: %s: a root and at least one child, please\n", path);
                return -1;
        }
        return 0;
bad:
        fprintf(stderr, "bench_floor: %s:%d: not 'node NAME PARENT|- CONNINFO' nor 'probe NAME URL USER PASSWORD' "
                "(after its node)\n", path, lineno);
        fclose(f);
        return -1;
}

/* Each database: the table the commits go to and the prepared INSERT,
 * then non-blocking on the loop. */
static int floor_setup_db(struct floor_node *n)
{
        PGresult *r;
        int ok;

        if (floor_exec(n, "SET client_min_messages = warning") < 0 ||
            floor_exec(n, "DROP TABLE IF EXISTS bench_floor") < 0 ||
            /* Logged, as vigild's tables are: a temporary or unlogged
             * table would commit without flushing the WAL. */
            floor_exec(n, "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, what text NOT NULL, "
                          "at timestamptz NOT NULL DEFAULT now())") < 0)
                return -1;
        r = PQprepare(n->pg, "floor_commit", "INSERT INTO bench_floor (what) VALUES ($1)", 1, NULL);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) {
                fprintf(stderr, "bench_floor: %s: prepare: %s", n->name, PQerrorMessage(n->pg));
                return -1;
        }
        if (PQsetnonblocking(n->pg, 1) != 0 || uv_poll_init(loop, &n->pg_poll, PQsocket(n->pg)) != 0)
                return -1;
        n->pg_poll.data = n;
        return 0;
}

static int floor_watch(uv_poll_t *h, void *s, struct floor_node *n)
{
        int fd;
        size_t sz = sizeof(fd);

        if (zmq_getsockopt(s, ZMQ_FD, &fd, &sz) < 0 || uv_poll_init(loop, h, fd) != 0)
                return -1;
        h->data = n;   /* initialised: floor_teardown closes it */
        return uv_poll_start(h, UV_READABLE, floor_wake);
}

/* A ROUTER for every node with children, a DEALER from every other node to
 * its parent's, CURVE on both ends as vigild's links; then a hello from
 * every DEALER, so that every handshake is done before the first run. */
static int floor_setup_zmq(void)
{
        char pub[41], sec[41], cpub[41], csec[41], ep[128];
        int one = 1, zero = 0, i, hellos = 0, expected = n_nodes - 1;
        double give_up = bench_now_ms() + 10000;
        size_t sz;

        if (zmq_curve_keypair(cpub, csec) < 0)
                return -1;
        for (i = 0; i < n_nodes; i++) {
                struct floor_node *n = &nodes[i];
                if (n->n_children == 0)
                        continue;
                n->down = zmq_socket(zctx, ZMQ_ROUTER);
                if (!n->down || zmq_curve_keypair(pub, sec) < 0)
                        return -1;
                zmq_setsockopt(n->down, ZMQ_CURVE_SERVER, &one, sizeof(one));
                zmq_setsockopt(n->down, ZMQ_CURVE_SECRETKEY, sec, 40);
                zmq_setsockopt(n->down, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
                zmq_setsockopt(n->down, ZMQ_LINGER, &zero, sizeof(zero));
                sz = sizeof(ep);
                if (zmq_bind(n->down, "tcp://127.0.0.1:*") < 0 ||
                    zmq_getsockopt(n->down, ZMQ_LAST_ENDPOINT, ep, &sz) < 0)
                        return -1;
                for (int c = 0; c < n->n_children; c++) {
                        struct floor_node *k = n->children[c];
                        k->up = zmq_socket(zctx, ZMQ_DEALER);
                        if (!k->up)
                                return -1;
                        zmq_setsockopt(k->up, ZMQ_ROUTING_ID, k->name, strlen(k->name));
                        zmq_setsockopt(k->up, ZMQ_CURVE_SERVERKEY, pub, 40);
                        zmq_setsockopt(k->up, ZMQ_CURVE_PUBLICKEY, cpub, 40);
                        zmq_setsockopt(k->up, ZMQ_CURVE_SECRETKEY, csec, 40);
                        zmq_setsockopt(k->up, ZMQ_LINGER, &zero, sizeof(zero));
                        if (zmq_connect(k->up, ep) < 0 || zmq_send(k->up, "hello", 5, 0) < 0)
                                return -1;
                }
        }
        while (hellos < expected) {
                zmq_pollitem_t items[FLOOR_MAX_NODES];
                int m = 0;
                for (i = 0; i < n_nodes; i++)
                        if (nodes[i].down)
                                items[m++] = (zmq_pollitem_t){ .socket = nodes[i].down, .events = ZMQ_POLLIN };
                if (bench_now_ms() > give_up) {
                        fprintf(stderr, "bench_floor: %d of %d ZeroMQ handshakes after 10 s\n", hellos, expected);
                        return -1;
                }
                if (zmq_poll(items, m, 100) < 0)
                        return -1;
                for (i = 0; i < m; i++) {
                        char buf[64];
                        if (!(items[i].revents & ZMQ_POLLIN))
                                continue;
                        while (zmq_recv(items[i].socket, buf, sizeof(buf), ZMQ_DONTWAIT) >= 0) {
                                int more = 0;
                                sz = sizeof(more);
                                zmq_getsockopt(items[i].socket, ZMQ_RCVMORE, &more, &sz);
                                if (!more)
                                        hellos++;
                        }
                }
        }
        for (i = 0; i < n_nodes; i++) {
                if ((nodes[i].up && floor_watch(&nodes[i].up_poll, nodes[i].up, &nodes[i]) < 0) ||
                    (nodes[i].down && floor_watch(&nodes[i].down_poll, nodes[i].down, &nodes[i]) < 0))
                        return -1;
        }
        return 0;
}

static void floor_teardown(void)
{
        int i;

        for (i = 0; i < n_nodes; i++) {
                struct floor_node *n = &nodes[i];
                if (n->up_poll.data)
                        uv_close((uv_handle_t *)&n->up_poll, NULL);
                if (n->down_poll.data)
                        uv_close((uv_handle_t *)&n->down_poll, NULL);
                if (n->up)
                        zmq_close(n->up);
                if (n->down)
                        zmq_close(n->down);
                rtsp_pool_free(n->pool);
                if (n->pg_poll.data)   /* set once initialised */
                        uv_close((uv_handle_t *)&n->pg_poll, NULL);
        }
        uv_close((uv_handle_t *)&drain_handle, NULL);
        uv_close((uv_handle_t *)&deadline, NULL);
        uv_run(loop, UV_RUN_DEFAULT);
        zmq_ctx_term(zctx);
        for (i = 0; i < n_nodes; i++) {
                struct floor_node *n = &nodes[i];
                if (PQstatus(n->pg) == CONNECTION_OK) {
                        PQsetnonblocking(n->pg, 0);
                        floor_exec(n, "DROP TABLE IF EXISTS bench_floor");
                }
                PQfinish(n->pg);
                for (int p = 0; p < n->n_probes; p++) {
                        free(n->probes[p].url);
                        free(n->probes[p].user);
                        free(n->probes[p].password);
                }
                free(n->probes);
                free(n->children);
        }
}

static void floor_print(const char *key, const double *v, int n)
{
        int i;

        printf(",\"%s\":[", key);
        for (i = 0; i < n; i++)
                printf("%s%.2f", i ? "," : "", v[i]);
        printf("]");
}

int main(int argc, char **argv)
{
        const char *plan = NULL;
        int runs = 20, probes = 16, per_host = 4, timeout = 30000, io_threads, i, leaves = 0,
            n_probes = 0, failed = 0, peak = 0, r = 1;
        static double acked[FLOOR_MAX_RUNS], linked[FLOOR_MAX_RUNS], linked_acked[FLOOR_MAX_RUNS],
                probing[FLOOR_MAX_RUNS];
        char sync_commit[16] = "?";

        for (i = 1; i + 1 < argc; i += 2) {
                const char *o = argv[i], *v = argv[i + 1];
                if (strcmp(o, "--plan") == 0)
                        plan = v;
                else if (strcmp(o, "--runs") == 0)
                        runs = atoi(v);
                else if (strcmp(o, "--probes") == 0)
                        probes = atoi(v);
                else if (strcmp(o, "--per-host") == 0)
                        per_host = atoi(v);
                else if (strcmp(o, "--probe-timeout-ms") == 0)
                        probe_timeout_ms = atoi(v);
                else if (strcmp(o, "--timeout-ms") == 0)
                        timeout = atoi(v);
                else
                        break;
        }
        if (i != argc || !plan || runs < 1 || runs > FLOOR_MAX_RUNS || probes < 1 || probe_timeout_ms < 1 ||
            timeout < 1) {
                fprintf(stderr, "usage: bench_floor --plan FILE [--runs R] [--probes N] [--per-host H] "
                        "[--probe-timeout-ms T] [--timeout-ms T]\n");
                return 2;
        }
        loop = uv_default_loop();
        /* As many ZeroMQ I/O threads as cores: the federation's 111 daemons
         * spread their CURVE work over all of them. */
        io_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
        io_threads = io_threads < 1 ? 1 : io_threads > 4 ? 4 : io_threads;
        zctx = zmq_ctx_new();
        zmq_ctx_set(zctx, ZMQ_IO_THREADS, io_threads);
        uv_prepare_init(loop, &drain_handle);
        uv_timer_init(loop, &deadline);
        if (floor_read_plan(plan) < 0)
                goto out;
        for (i = 0; i < n_nodes; i++) {
                struct floor_node *n = &nodes[i];
                if (floor_setup_db(n) < 0)
                        goto out;
                if (n->n_children == 0) {
                        leaves++;
                        n_probes += n->n_probes;
                        n->pool = rtsp_pool_new(loop, probes, per_host);
                        if (!n->pool)
                                goto out;
                }
        }
        {
                PGresult *s = PQexec(nodes[0].pg, "SHOW synchronous_commit");
                if (PQresultStatus(s) == PGRES_TUPLES_OK && PQntuples(s) == 1)
                        snprintf(sync_commit, sizeof(sync_commit), "%s", PQgetvalue(s, 0, 0));
                PQclear(s);
        }
        if (floor_setup_zmq() < 0) {
                fprintf(stderr, "bench_floor: ZeroMQ: %s\n", zmq_strerror(errno));
                goto out;
        }
        uv_prepare_start(&drain_handle, floor_drain);
        for (i = 0; i < runs; i++) {
                if (floor_run(2 * i + 1, false, timeout) < 0)
                        goto out;
                acked[i] = run.acked;
                if (floor_run(2 * i + 2, true, timeout) < 0) {
                        failed += run.failed;
                        goto out;
                }
                linked[i] = run.linked;
                linked_acked[i] = run.acked;
                probing[i] = run.probing_max;
                fprintf(stderr, "bench_floor: run %d: acked %.1f ms; with linking: acked %.1f ms, linked %.1f ms\n",
                        i + 1, acked[i], linked_acked[i], linked[i]);
        }
        for (i = 0; i < n_nodes; i++)
                if (nodes[i].pool && rtsp_pool_peak_per_host(nodes[i].pool) > peak)
                        peak = rtsp_pool_peak_per_host(nodes[i].pool);
        printf("{\"what\":\"floor\",\"nodes\":%d,\"leaves\":%d,\"probes\":%d,\"runs\":%d", n_nodes, leaves, n_probes,
               runs);
        floor_print("acked_ms", acked, runs);
        floor_print("linked_ms", linked, runs);
        floor_print("linked_run_acked_ms", linked_acked, runs);
        floor_print("probing_ms_max", probing, runs);
        printf(",\"failed\":%d,\"peak_per_host\":%d,\"synchronous_commit\":\"%s\",\"io_threads\":%d}\n", failed, peak,
               sync_commit, io_threads);
        r = 0;
out:
        if (r != 0 && failed)
                fprintf(stderr, "bench_floor: %d probes did not link\n", failed);
        floor_teardown();
        return r;
}

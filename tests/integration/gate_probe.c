/* gate_probe: lib/transport/gate.c on a libuv loop of its own, with a
 * made-up policy, for tests/integration/test_gate_relay.py and the
 * benchmark tests/bench/stream-gate.
 *
 *   gate_probe --listen HOST:PORT --upstream rtsp://HOST:PORT [--user U --password P]
 *              [--close-after-ms N] [--force-range RANGE]
 *
 * Tokens: ok.PATH is admitted to UPSTREAM/PATH; slow.PATH the same after
 * 1 s; refuse.ANYTHING gets 403; anything else 401. --close-after-ms N
 * calls gate_close() on each admitted session N ms after its admission;
 * --force-range RANGE calls gate_force_range() before each admission.
 * Prints "ready PORT" once listening, "closed TOKEN END BYTES" for each
 * ops->closed, and on SIGTERM or SIGINT stops the gate, prints its
 * counters as one JSON line and exits 0. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "transport/gate.h"

enum pending_kind { PENDING_ADMIT, PENDING_CLOSE };

/* A timer waiting to act on a session: a slow admission, a close. */
struct pending {
        uv_timer_t timer;
        struct pending *next;
        struct gate_session *s;
        enum pending_kind kind;
        char url[1200];
};

static struct {
        uv_loop_t *loop;
        struct gate *gate;
        const char *upstream, *user, *password, *force_range;
        long close_after_ms;
        struct pending *pending;
        uv_signal_t sigterm, sigint;
} probe;

static void pending_on_closed(uv_handle_t *h)
{
        free(h->data);
}

static void pending_drop(struct pending *p)
{
        struct pending **pp;

        for (pp = &probe.pending; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        break;
                }
        uv_timer_stop(&p->timer);
        uv_close((uv_handle_t *)&p->timer, pending_on_closed);
}

static void admit_now(struct gate_session *s, const char *url);

static void pending_on_timer(uv_timer_t *t)
{
        struct pending *p = t->data;
        struct gate_session *s = p->s;
        enum pending_kind kind = p->kind;
        char url[sizeof(p->url)];

        memcpy(url, p->url, sizeof(url));
        pending_drop(p);
        if (kind == PENDING_ADMIT)
                admit_now(s, url);
        else
                gate_close(s, "closed by gate_probe --close-after-ms");
}

static void pending_add(struct gate_session *s, enum pending_kind kind, const char *url, uint64_t ms)
{
        struct pending *p = calloc(1, sizeof(*p));

        if (!p) {
                gate_close(s, "out of memory");
                return;
        }
        p->s = s;
        p->kind = kind;
        snprintf(p->url, sizeof(p->url), "%s", url ? url : "");
        uv_timer_init(probe.loop, &p->timer);
        p->timer.data = p;
        p->next = probe.pending;
        probe.pending = p;
        uv_timer_start(&p->timer, pending_on_timer, ms, 0);
}

static void admit_now(struct gate_session *s, const char *url)
{
        if (probe.force_range)
                gate_force_range(s, probe.force_range);
        gate_admit(s, url, probe.user, probe.password, NULL);
        if (probe.close_after_ms > 0 && gate_session_admitted(s))
                pending_add(s, PENDING_CLOSE, NULL, (uint64_t)probe.close_after_ms);
}

static void on_admit(void *arg, struct gate_session *s, const char *token, const char *client)
{
        char url[1200];

        (void)arg;
        (void)client;
        if (strncmp(token, "ok.", 3) == 0 || strncmp(token, "slow.", 5) == 0) {
                const char *path = strchr(token, '.') + 1;
                snprintf(url, sizeof(url), "%s/%s", probe.upstream, path);
                if (token[0] == 'o')
                        admit_now(s, url);
                else
                        pending_add(s, PENDING_ADMIT, url, 1000);
        } else if (strncmp(token, "refuse.", 7) == 0) {
                gate_refuse(s, 403, "refused by gate_probe");
        } else {
                gate_refuse(s, 401, "no such ticket");
        }
}

static void on_closed(void *arg, struct gate_session *s, enum gate_end end, uint64_t bytes, int64_t duration_us,
                      const char *reason)
{
        struct pending *p, *next;

        (void)arg;
        (void)duration_us;
        (void)reason;
        for (p = probe.pending; p; p = next) {
                next = p->next;
                if (p->s == s)
                        pending_drop(p);
        }
        printf("closed %s %s %" PRIu64 "\n", gate_session_token(s), gate_end_name(end), bytes);
        fflush(stdout);
}

static const struct gate_ops probe_ops = { on_admit, on_closed };

static void on_signal(uv_signal_t *h, int signum)
{
        struct gate_stats st;

        (void)h;
        (void)signum;
        if (!probe.gate)
                return;
        gate_stop(probe.gate);
        /* Still readable until the loop runs again (gate.h). */
        gate_get_stats(probe.gate, &st);
        probe.gate = NULL;
        printf("{\"sessions_live\": %lu, \"opened\": %lu, \"refused\": %lu, \"closed\": %lu, "
               "\"protocol_errors\": %lu, \"upstream_errors\": %lu, \"bytes\": %" PRIu64 "}\n",
               st.sessions_live, st.opened, st.refused, st.closed, st.protocol_errors, st.upstream_errors, st.bytes);
        fflush(stdout);
        while (probe.pending)
                pending_drop(probe.pending);
        uv_close((uv_handle_t *)&probe.sigterm, NULL);
        uv_close((uv_handle_t *)&probe.sigint, NULL);
}

static int usage(void)
{
        fprintf(stderr, "usage: gate_probe --listen HOST:PORT --upstream rtsp://HOST:PORT [--user U --password P] "
                        "[--close-after-ms N] [--force-range RANGE]\n");
        return 2;
}

int main(int argc, char **argv)
{
        const char *listen = NULL;
        char host[128];
        const char *colon;
        int i, rc;

        for (i = 1; i < argc; i += 2) {
                if (i + 1 >= argc)
                        return usage();
                if (strcmp(argv[i], "--listen") == 0)
                        listen = argv[i + 1];
                else if (strcmp(argv[i], "--upstream") == 0)
                        probe.upstream = argv[i + 1];
                else if (strcmp(argv[i], "--user") == 0)
                        probe.user = argv[i + 1];
                else if (strcmp(argv[i], "--password") == 0)
                        probe.password = argv[i + 1];
                else if (strcmp(argv[i], "--force-range") == 0)
                        probe.force_range = argv[i + 1];
                else if (strcmp(argv[i], "--close-after-ms") == 0)
                        probe.close_after_ms = strtol(argv[i + 1], NULL, 10);
                else
                        return usage();
        }
        if (!listen || !probe.upstream || !(colon = strrchr(listen, ':')) ||
            (size_t)(colon - listen) >= sizeof(host))
                return usage();
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
        if (host[0] == '[' && strlen(host) > 2 && host[strlen(host) - 1] == ']') {
                memmove(host, host + 1, strlen(host) - 2);
                host[strlen(host) - 2] = '\0';
        }
        signal(SIGPIPE, SIG_IGN);
        probe.loop = uv_default_loop();
        rc = gate_start(probe.loop, host, atoi(colon + 1), &probe_ops, NULL, &probe.gate);
        if (rc < 0) {
                fprintf(stderr, "gate_probe: cannot listen on %s: %s\n", listen, uv_strerror(rc));
                uv_run(probe.loop, UV_RUN_DEFAULT);
                return 1;
        }
        uv_signal_init(probe.loop, &probe.sigterm);
        uv_signal_init(probe.loop, &probe.sigint);
        uv_signal_start(&probe.sigterm, on_signal, SIGTERM);
        uv_signal_start(&probe.sigint, on_signal, SIGINT);
        printf("ready %d\n", gate_port(probe.gate));
        fflush(stdout);
        uv_run(probe.loop, UV_RUN_DEFAULT);
        uv_loop_close(probe.loop);
        return 0;
}

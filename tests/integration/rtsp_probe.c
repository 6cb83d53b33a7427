/* rtsp_probe: lib/rtsp.c on a libuv loop, for tests/integration/test_rtsp.py.
 *
 *   rtsp_probe [--max N] [--per-host H] [--timeout MS] URL[|USER|PASSWORD] ...
 *
 * Probes every URL through one pool (at most N at once, H against one host
 * and port) and prints one JSON object per result, in completion order,
 * then {"peak": P, "peak_per_host": Q} (the most that ran at once). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "transport/rtsp.h"

struct job {
        char url[1024];
        struct rtsp_pool *pool;
};

static int remaining;

static void on_done(void *arg, const struct rtsp_result *r)
{
        struct job *j = arg;
        json_t *o = json_object(), *streams = json_array();
        int i;

        json_object_set_new(o, "url", json_string(j->url));
        json_object_set_new(o, "outcome", json_string(rtsp_outcome_name(r->outcome)));
        json_object_set_new(o, "reason", json_string(r->reason ? r->reason : ""));
        json_object_set_new(o, "status", json_integer(r->status));
        for (i = 0; r->sdp && i < r->sdp->n_media; i++) {
                const struct sdp_media *m = &r->sdp->media[i];
                json_t *s = json_object();
                json_object_set_new(s, "media", json_string(m->type));
                json_object_set_new(s, "codec", json_string(m->codec));
                json_object_set_new(s, "clock_rate", json_integer(m->clock_rate));
                json_object_set_new(s, "framerate", json_real(m->framerate));
                json_object_set_new(s, "profile_level_id", json_string(m->profile_level_id));
                json_object_set_new(s, "control", json_string(m->control));
                json_array_append_new(streams, s);
        }
        json_object_set_new(o, "streams", streams);
        json_dumpf(o, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(o);
        free(j);
        remaining--;
}

int main(int argc, char **argv)
{
        uv_loop_t *loop = uv_default_loop();
        struct rtsp_pool *pool;
        int max = 8, per_host = 0, timeout = 5000, i, running, queued, peak;

        for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
                if (i + 1 >= argc)
                        return 2;
                if (strcmp(argv[i], "--max") == 0)
                        max = atoi(argv[i + 1]);
                else if (strcmp(argv[i], "--timeout") == 0)
                        timeout = atoi(argv[i + 1]);
                else if (strcmp(argv[i], "--per-host") == 0)
                        per_host = atoi(argv[i + 1]);
                else
                        return 2;
        }
        pool = rtsp_pool_new(loop, max, per_host);
        for (; i < argc; i++) {
                struct job *j = calloc(1, sizeof(*j));
                char *user = NULL, *password = NULL, *bar;
                snprintf(j->url, sizeof(j->url), "%s", argv[i]);
                if ((bar = strchr(j->url, '|'))) {
                        *bar = '\0';
                        user = bar + 1;
                        if ((bar = strchr(user, '|'))) {
                                *bar = '\0';
                                password = bar + 1;
                        }
                }
                remaining++;
                if (rtsp_probe(pool, j->url, user, password, timeout, on_done, j) < 0) {
                        printf("{\"url\":\"%s\",\"outcome\":\"invalid\"}\n", j->url);
                        free(j);
                        remaining--;
                }
        }
        while (remaining > 0 && uv_run(loop, UV_RUN_ONCE))
                ;
        rtsp_pool_stats(pool, &running, &queued, &peak);
        printf("{\"peak\":%d,\"peak_per_host\":%d,\"running\":%d,\"queued\":%d}\n", peak,
               rtsp_pool_peak_per_host(pool), running, queued);
        rtsp_pool_free(pool);
        uv_run(loop, UV_RUN_DEFAULT);
        return uv_loop_close(loop) == 0 ? 0 : 1;
}

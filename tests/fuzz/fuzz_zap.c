/* Fuzz target for ZAP requests (issue 17, harness item 4): the frames
 * libzmq's CURVE server hands the ZAP handler hold what an unauthenticated
 * client sent (its key, its address) and what libzmq says; zap_handle()
 * must refuse what is not a CURVE request with a 32-byte key and never
 * read past a frame. The struct zap here has no socket, so the replies go
 * nowhere, and no summary timer (its loop only tells the time); the
 * lookup admits one key.
 *
 * Input: frames, each a length byte and that many bytes (at most 10).
 * Invariant: each request is counted once, admitted or refused. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <zmq.h>

#include "base/log.h"
#include "transport/zap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 10

static int lookup(void *arg, const char *domain, const char *key_z85, char *ret_user, size_t n)
{
        (void)arg;
        if (strlen(key_z85) != 40)
                abort();        /* a CURVE key is 32 bytes, 40 in Z85 */
        if (key_z85[0] != '0')
                return -1;
        snprintf(ret_user, n, "%s:%s", domain, key_z85);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static bool quiet;
        static uv_loop_t loop;  /* for uv_now: the refusals' log limit */
        zmq_msg_t f[MAX_FRAMES];
        struct zap z;
        size_t at = 0;
        int n = 0, i;

        if (!quiet) {
                quiet = true;
                if (uv_loop_init(&loop) != 0)
                        abort();
                if (!getenv("VIGIL_FUZZ_LOG"))
                        log_set_level(LOG_ERROR);
        }
        while (at < size && n < MAX_FRAMES) {
                size_t len = data[at++];
                if (len > size - at)
                        len = size - at;
                if (zmq_msg_init_size(&f[n], len) != 0)
                        abort();
                memcpy(zmq_msg_data(&f[n]), data + at, len);
                at += len;
                n++;
        }
        memset(&z, 0, sizeof(z));
        z.lookup = lookup;
        z.loop = &loop;
        z.log_interval_ms = ZAP_LOG_INTERVAL_MS;
        zap_handle(&z, f, n);
        if (n >= 6 && z.admitted + z.refused != 1)
                abort();
        if (z.refused_downlink + z.refused_control > z.refused)
                abort();
        for (i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
        return 0;
}

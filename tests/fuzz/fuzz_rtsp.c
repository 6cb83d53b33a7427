/* Fuzz target for lib/rtspmsg.c and lib/sdp.c: a private system's reserved
 * interface (Art 13) may answer anything. The response parser must take a
 * response, ask for more, or refuse; never read past its input; and what it
 * takes is then fed to the challenge and SDP parsers. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/rtspmsg.h"
#include "transport/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A copy of exactly SIZE bytes, so that ASan sees any overread. */
        char *buf = malloc(size ? size : 1);
        struct rtspmsg_response r;
        struct rtspmsg_challenge c;
        struct sdp_session s;
        int n;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        n = rtspmsg_parse(buf, size, &r);
        if (n > (int)size || (n < 0 && n != -EBADMSG))
                abort();
        if (n > 0) {
                if (r.body < buf || r.body + r.body_len > buf + size)
                        abort();
                if (r.www_authenticate[0]) {
                        char out[1024];
                        if (rtspmsg_challenge_parse(r.www_authenticate, &c) == 0)
                                rtspmsg_digest(&c, "DESCRIBE", "rtsp://h/x", "u", "p", "0a4f113b", 1, out,
                                               sizeof(out));
                }
                sdp_parse(r.body, r.body_len, r.content_base, &s);
                if (r.rtp_info[0]) {
                        const char *controls[2] = { "rtsp://h/x/stream=0", "rtsp://h/x/stream=1" };
                        char *out = rtspmsg_rtp_info_rewrite(r.rtp_info, controls, 2, "rtsp://g:1/t/tok");
                        if (out && (strstr(out, "rtsp://h/") || strchr(out, '\r') || strchr(out, '\n')))
                                abort();        /* the camera's URL, or a header broken, reached the player */
                        free(out);
                }
        }
        /* The whole input as an SDP too. */
        if (sdp_parse(buf, size, "rtsp://h/base/", &s) == 0 && (s.n_media < 0 || s.n_media > SDP_MAX_MEDIA))
                abort();
        free(buf);
        return 0;
}

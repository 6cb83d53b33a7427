/* Fuzz target for lib/transport/rtspreq.c (and the gate's SDP rewrite in
 * sdp.c): a player on the stream gate's port may send anything. Each input
 * is taken as the gate takes a connection's bytes: interleaved frames and
 * requests one after another until one asks for more or is refused; every
 * request's URL then goes to the gate URL parser and its Transport to the
 * Transport parser. The whole input is also a URL, a Transport value and
 * an SDP to rewrite. Nothing may read past its input or return more than
 * it was given. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/rtspreq.h"
#include "transport/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_request(const struct rtspreq *r, const char *buf, size_t size)
{
        struct rtspreq_url u;
        struct rtspreq_transport t;

        if (r->body_len && (r->body < buf || r->body + r->body_len > buf + size))
                abort();
        if (rtspreq_url_parse(r->url, &u) == 0) {
                if (!u.token[0] || strlen(u.token) > RTSPREQ_MAX_TOKEN)
                        abort();
                if (rtspreq_track(u.suffix) >= 100)
                        abort();
        }
        if (rtspreq_transport_parse(r->transport, &t) == 0 &&
            (!t.tcp || t.interleaved[0] < -1 || t.interleaved[1] > 255))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* Copies of exactly SIZE bytes, so that ASan sees any overread, and
         * one NUL-terminated for the string parsers. */
        char *buf = malloc(size ? size : 1), *str = malloc(size + 1), *out;
        static struct rtspreq r;
        struct rtspreq_url u;
        struct rtspreq_transport t;
        size_t off = 0, out_len;

        if (!buf || !str)
                goto out;
        memcpy(buf, data, size);
        while (off < size) {
                size_t plen;
                int ch, n;
                if (buf[off] == '$') {
                        n = rtspreq_frame_parse((const uint8_t *)buf + off, size - off, &ch, &plen);
                        if (n > 0 && (ch < 0 || ch > 255 || (size_t)n != 4 + plen))
                                abort();
                } else {
                        n = rtspreq_parse(buf + off, size - off, &r);
                        if (n < 0 && n != -EBADMSG)
                                abort();
                        if (n > 0)
                                fuzz_request(&r, buf + off, size - off);
                }
                if (n > (int)(size - off))
                        abort();
                if (n <= 0)
                        break;
                off += (size_t)n;
        }
        memcpy(str, data, size);
        str[size] = '\0';
        rtspreq_url_parse(str, &u);
        rtspreq_track(str);
        rtspreq_transport_parse(str, &t);
        if (sdp_rewrite_controls(buf, size, "rtsp://gate:8554/t/tok", &out, &out_len) == 0) {
                if (strlen(out) != out_len)
                        abort();
                free(out);
        }
out:
        free(buf);
        free(str);
        return 0;
}

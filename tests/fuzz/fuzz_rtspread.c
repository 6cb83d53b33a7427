/* Fuzz target for RTSP responses as they arrive (issue 17, harness item 4):
 * rtsp.c's reader appends what each read brings and calls rtspmsg_parse()
 * on all it has so far; the fuzzer chooses where the reads split. And
 * rtspmsg_url_split(), the whole of rtsp.c's rtsp_parse_url (an operator's
 * or an import's URL of a reserved interface, Art 13).
 *
 * Input, byte 0:
 *   bit 7 set:   the rest is a URL (up to its first NUL)
 *   bit 7 clear: N = byte 0 % 8 split points follow, 2 bytes each (big
 *                endian, offsets into the response, in any order), then
 *                the response
 * Invariants (abort() is a finding): a prefix the whole response parses
 * from is never refused nor taken as a different response (a read that
 * ends mid-message must ask for more); once a response is taken, the
 * reader's answer does not change with the bytes that follow it; a URL
 * split is NUL-terminated, has a host and a numeric port. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "transport/rtspmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_size(const void *a, const void *b)
{
        size_t x = *(const size_t *)a, y = *(const size_t *)b;

        return x < y ? -1 : x > y;
}

/* Parse the first LEN bytes of DATA from a buffer of exactly LEN bytes, so
 * that ASan sees any read past what has arrived. */
static int parse_prefix(const uint8_t *data, size_t len, struct rtspmsg_response *r)
{
        char *buf = malloc(len ? len : 1);
        int n;

        if (!buf)
                abort();
        memcpy(buf, data, len);
        n = rtspmsg_parse(buf, len, r);
        if (n > 0 && (r->body < buf || r->body + r->body_len > buf + n))
                abort();        /* the body lies outside what was taken */
        free(buf);
        return n;
}

static void url(const uint8_t *data, size_t size)
{
        char *s = strndup((const char *)data, size);
        struct rtspmsg_url u;

        if (!s)
                return;
        memset(&u, 0x55, sizeof(u));    /* what the split leaves untouched shows */
        if (rtspmsg_url_split(s, &u) == 0) {
                if (!memchr(u.host, 0, sizeof(u.host)) || !memchr(u.port, 0, sizeof(u.port)) ||
                    !memchr(u.user, 0, sizeof(u.user)) || !memchr(u.password, 0, sizeof(u.password)) ||
                    !memchr(u.url, 0, sizeof(u.url)))
                        abort();
                if (!u.host[0] || !u.port[0] || strncmp(u.url, "rtsp://", 7) != 0)
                        abort();
                for (const char *p = u.port; *p; p++)
                        if (!isdigit((unsigned char)*p))
                                abort();
        }
        free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t splits[9], n_splits, i, len, prev;
        struct rtspmsg_response whole_r, r;
        int whole;

        if (size < 1)
                return 0;
        if (data[0] & 0x80) {
                url(data + 1, size - 1);
                return 0;
        }
        n_splits = data[0] % 8;
        if (size < 1 + 2 * n_splits)
                return 0;
        for (i = 0; i < n_splits; i++)
                splits[i] = (size_t)data[1 + 2 * i] << 8 | data[2 + 2 * i];
        data += 1 + 2 * n_splits;
        size -= 1 + 2 * n_splits;
        for (i = 0; i < n_splits; i++)
                splits[i] = size ? splits[i] % (size + 1) : 0;
        splits[n_splits++] = size;
        qsort(splits, n_splits, sizeof(splits[0]), cmp_size);

        whole = parse_prefix(data, size, &whole_r);
        prev = 0;
        for (i = 0; i < n_splits; i++) {
                int n;

                len = splits[i];
                if (len == prev && i > 0)
                        continue;
                prev = len;
                n = parse_prefix(data, len, &r);
                if (n > (int)len || (n < 0 && n != -EBADMSG))
                        abort();
                if (whole > 0 && len < (size_t)whole && n != 0)
                        abort();        /* refused or taken before the response had all arrived */
                if (n > 0) {
                        /* Taken: the reader stops here, and what follows cannot change it. */
                        if (whole != n || r.status != whole_r.status || r.cseq != whole_r.cseq ||
                            r.body_len != whole_r.body_len)
                                abort();
                        break;
                }
                if (n < 0) {
                        /* Refused: every longer read must be refused too. */
                        if (whole >= 0)
                                abort();
                        break;
                }
        }
        return 0;
}

/* Fuzz target for the outbox array reader (issue 17, harness item 4):
 * sqlarray_reader_init/next over a `changes bytea[]` column as the
 * outbox read gets it in binary (PostgreSQL's array_send format). The
 * bytes come from our own database, but a page of them is what a sender
 * trusts to cut Deltas from, and a bad one must be refused, not read past.
 *
 * Invariants (abort() is a finding): the reader hands out at most the
 * number of elements init announced, each inside the buffer; after an
 * error or the end it stays there. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/sqlarray.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A copy of exactly SIZE bytes, so that ASan sees any overread. */
        uint8_t *buf = malloc(size ? size : 1);
        struct sqlarray_reader r;
        const uint8_t *el;
        size_t len;
        int n, got = 0, k;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        n = sqlarray_reader_init(&r, buf, size);
        if (n < 0) {
                if (n != -EBADMSG)
                        abort();
                free(buf);
                return 0;
        }
        while ((k = sqlarray_reader_next(&r, &el, &len)) == 1) {
                if (++got > n)
                        abort();
                if (el && (el < buf || len > size || el + len > buf + size))
                        abort();
        }
        if (k != 0 && k != -EBADMSG)
                abort();
        if (k == 0 && got != n)
                abort();        /* the end came before the elements announced */
        free(buf);
        return 0;
}

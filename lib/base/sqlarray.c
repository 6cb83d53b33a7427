#include "base/sqlarray.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* The binary form (PostgreSQL's array_send): a 20-byte header (dimensions,
 * has-nulls flag, element type, length, lower bound), then per element a
 * 32-bit big-endian length (-1 for NULL) and the element's bytes. Room for
 * the header is kept at the front; sqlarray_get() fills it in. */
#define SQLARRAY_HEADER 20

static void sqlarray_reserve(struct sqlarray *a, size_t more)
{
        size_t need = a->len + more + 3;  /* ',' … '}' '\0' */
        size_t cap = a->cap ? a->cap : 256;

        if (need <= a->cap)
                return;
        while (cap < need)
                cap *= 2;
        a->buf = realloc(a->buf, cap);
        vigil_require(a->buf != NULL);
        a->cap = cap;
}

static bool sqlarray_binary(const struct sqlarray *a)
{
        return a->type != SQLARRAY_LITERAL;
}

/* Open the next element: '{' first, ',' after; in the binary form, its
 * length word (LEN < 0: NULL). */
static void sqlarray_next(struct sqlarray *a, size_t more)
{
        sqlarray_reserve(a, more);
        a->buf[a->len++] = a->n == 0 ? '{' : ',';
        a->n++;
}

static void sqlarray_put(struct sqlarray *a, const void *s, size_t n)
{
        memcpy(a->buf + a->len, s, n);
        a->len += n;
}

static void sqlarray_next_binary(struct sqlarray *a, int32_t len)
{
        uint32_t be = htobe32((uint32_t)len);

        if (a->len < SQLARRAY_HEADER)
                a->len = SQLARRAY_HEADER;
        sqlarray_reserve(a, 4 + (len > 0 ? (size_t)len : 0));
        sqlarray_put(a, &be, 4);
        a->n++;
        if (len < 0)
                a->has_null = true;
}

void sqlarray_set_type(struct sqlarray *a, enum sqlarray_type t)
{
        vigil_require(a->n == 0);
        a->type = t;
}

void sqlarray_reset(struct sqlarray *a)
{
        a->len = 0;
        a->n = 0;
        a->has_null = false;
}

void sqlarray_deinit(struct sqlarray *a)
{
        free(a->buf);
        a->buf = NULL;
        a->len = a->cap = a->n = 0;
        a->has_null = false;
}

static void put32(char *p, uint32_t v)
{
        v = htobe32(v);
        memcpy(p, &v, 4);
}

const char *sqlarray_get(struct sqlarray *a)
{
        if (sqlarray_binary(a)) {
                sqlarray_reserve(a, SQLARRAY_HEADER);
                if (a->len < SQLARRAY_HEADER)
                        a->len = SQLARRAY_HEADER;
                put32(a->buf, a->n ? 1 : 0);
                put32(a->buf + 4, a->has_null ? 1 : 0);
                put32(a->buf + 8, (uint32_t)a->type);
                put32(a->buf + 12, (uint32_t)a->n);
                put32(a->buf + 16, 1);
                return a->buf;
        }
        if (a->n == 0) {
                sqlarray_reserve(a, 2);
                memcpy(a->buf, "{}", 3);
                a->len = 0;
                return a->buf;
        }
        a->buf[a->len] = '}';
        a->buf[a->len + 1] = '\0';
        return a->buf;
}

void sqlarray_param(struct sqlarray *a, const char **value, int *length, int *format)
{
        *value = sqlarray_get(a);
        if (sqlarray_binary(a)) {
                /* An empty array is the 12-byte header without a dimension. */
                *length = a->n ? (int)a->len : 12;
                *format = 1;
        } else {
                *length = 0;
                *format = 0;
        }
}

void sqlarray_add_null(struct sqlarray *a)
{
        if (sqlarray_binary(a)) {
                sqlarray_next_binary(a, -1);
                return;
        }
        sqlarray_next(a, 4);
        sqlarray_put(a, "NULL", 4);
}

void sqlarray_add_text(struct sqlarray *a, const char *s)
{
        size_t i, n;

        if (!s) {
                sqlarray_add_null(a);
                return;
        }
        n = strlen(s);
        if (sqlarray_binary(a)) {
                vigil_require(a->type == SQLARRAY_TEXT);
                sqlarray_next_binary(a, (int32_t)n);
                sqlarray_put(a, s, n);
                return;
        }
        sqlarray_next(a, 2 * n + 2);
        a->buf[a->len++] = '"';
        for (i = 0; i < n; i++) {
                if (s[i] == '"' || s[i] == '\\')
                        a->buf[a->len++] = '\\';
                a->buf[a->len++] = s[i];
        }
        a->buf[a->len++] = '"';
}

void sqlarray_add_bytea(struct sqlarray *a, const uint8_t *b, size_t len)
{
        static const char hex[] = "0123456789abcdef";
        size_t i;

        if (sqlarray_binary(a)) {
                vigil_require(a->type == SQLARRAY_BYTEA);
                sqlarray_next_binary(a, (int32_t)len);
                if (len)
                        sqlarray_put(a, b, len);
                return;
        }
        sqlarray_next(a, 2 * len + 6);
        /* "\\x…": the array parser turns \\ into \, bytea reads \x hex. */
        sqlarray_put(a, "\"\\\\x", 4);
        for (i = 0; i < len; i++) {
                a->buf[a->len++] = hex[b[i] >> 4];
                a->buf[a->len++] = hex[b[i] & 15];
        }
        a->buf[a->len++] = '"';
}

void sqlarray_add_int64(struct sqlarray *a, int64_t v)
{
        char s[24];
        int n;

        if (sqlarray_binary(a)) {
                uint64_t be = htobe64((uint64_t)v);
                vigil_require(a->type == SQLARRAY_INT8);
                sqlarray_next_binary(a, 8);
                sqlarray_put(a, &be, 8);
                return;
        }
        n = snprintf(s, sizeof(s), "%" PRId64, v);
        sqlarray_next(a, (size_t)n);
        sqlarray_put(a, s, (size_t)n);
}

void sqlarray_add_double(struct sqlarray *a, bool present, double v)
{
        char s[40];
        int n;

        if (!present) {
                sqlarray_add_null(a);
                return;
        }
        if (sqlarray_binary(a)) {
                uint64_t bits;
                vigil_require(a->type == SQLARRAY_FLOAT8);
                memcpy(&bits, &v, 8);
                bits = htobe64(bits);
                sqlarray_next_binary(a, 8);
                sqlarray_put(a, &bits, 8);
                return;
        }
        n = snprintf(s, sizeof(s), "%.17g", v);
        sqlarray_next(a, (size_t)n);
        sqlarray_put(a, s, (size_t)n);
}

void sqlarray_add_bool(struct sqlarray *a, bool present, bool v)
{
        if (!present) {
                sqlarray_add_null(a);
                return;
        }
        if (sqlarray_binary(a)) {
                vigil_require(a->type == SQLARRAY_BOOL);
                sqlarray_next_binary(a, 1);
                a->buf[a->len++] = v ? 1 : 0;
                return;
        }
        sqlarray_next(a, 1);
        a->buf[a->len++] = v ? 't' : 'f';
}

int sqlarray_add_parsed(struct sqlarray *a, const char *s)
{
        char *end;

        if (!s) {
                sqlarray_add_null(a);
                return 0;
        }
        switch (a->type) {
        case SQLARRAY_LITERAL:
        case SQLARRAY_TEXT:
                sqlarray_add_text(a, s);
                return 0;
        case SQLARRAY_BYTEA:
                sqlarray_add_bytea(a, (const uint8_t *)s, strlen(s));
                return 0;
        case SQLARRAY_INT8: {
                long long v;
                errno = 0;
                v = strtoll(s, &end, 10);
                if (errno || end == s || *end)
                        return -EINVAL;
                sqlarray_add_int64(a, v);
                return 0;
        }
        case SQLARRAY_FLOAT8: {
                double v = strtod(s, &end);
                /* The literal form would let PostgreSQL refuse these. */
                if (end == s || *end || !isfinite(v))
                        return -EINVAL;
                sqlarray_add_double(a, true, v);
                return 0;
        }
        case SQLARRAY_BOOL:
                if (strcmp(s, "t") == 0 || strcmp(s, "true") == 0)
                        sqlarray_add_bool(a, true, true);
                else if (strcmp(s, "f") == 0 || strcmp(s, "false") == 0)
                        sqlarray_add_bool(a, true, false);
                else
                        return -EINVAL;
                return 0;
        }
        return -EINVAL;
}

static uint32_t get32(const uint8_t *p)
{
        uint32_t v;

        memcpy(&v, p, 4);
        return be32toh(v);
}

int sqlarray_reader_init(struct sqlarray_reader *r, const void *buf, size_t len)
{
        const uint8_t *p = buf;
        uint32_t ndim, n;

        r->p = r->end = p;
        r->left = 0;
        if (len < 12)
                return -EBADMSG;
        ndim = get32(p);
        if (ndim == 0) {
                r->p = r->end = p + len;
                return 0;
        }
        if (ndim != 1 || len < SQLARRAY_HEADER)
                return -EBADMSG;
        n = get32(p + 12);
        if (n > INT32_MAX)
                return -EBADMSG;
        r->p = p + SQLARRAY_HEADER;
        r->end = p + len;
        r->left = n;
        return (int)n;
}

int sqlarray_reader_next(struct sqlarray_reader *r, const uint8_t **ret, size_t *ret_len)
{
        uint32_t n;

        if (r->left == 0)
                return 0;
        if (r->end - r->p < 4)
                return -EBADMSG;
        n = get32(r->p);
        r->p += 4;
        r->left--;
        if (n == UINT32_MAX) {  /* -1: NULL */
                *ret = NULL;
                *ret_len = 0;
                return 1;
        }
        if ((size_t)(r->end - r->p) < n)
                return -EBADMSG;
        *ret = r->p;
        *ret_len = n;
        r->p += n;
        return 1;
}

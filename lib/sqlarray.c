#include "sqlarray.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

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

/* Open the next element: '{' first, ',' after. */
static void sqlarray_next(struct sqlarray *a, size_t more)
{
        sqlarray_reserve(a, more);
        a->buf[a->len++] = a->n == 0 ? '{' : ',';
        a->n++;
}

static void sqlarray_put(struct sqlarray *a, const char *s, size_t n)
{
        memcpy(a->buf + a->len, s, n);
        a->len += n;
}

void sqlarray_reset(struct sqlarray *a)
{
        a->len = 0;
        a->n = 0;
}

void sqlarray_deinit(struct sqlarray *a)
{
        free(a->buf);
        a->buf = NULL;
        a->len = a->cap = a->n = 0;
}

const char *sqlarray_get(struct sqlarray *a)
{
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

void sqlarray_add_null(struct sqlarray *a)
{
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
        int n = snprintf(s, sizeof(s), "%" PRId64, v);

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
        sqlarray_next(a, 1);
        a->buf[a->len++] = v ? 't' : 'f';
}

#include "base/csv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void csv_reader_init(struct csv_reader *rd, const char *buf, size_t len)
{
        rd->p = buf;
        rd->end = buf + len;
        rd->line = 1;
}

void csv_free_fields(char **fields, int n)
{
        int i;

        for (i = 0; i < n; i++) {
                free(fields[i]);
                fields[i] = NULL;
        }
}

/* A field being built. */
struct csv_buf {
        char *s;
        size_t len, cap;
};

static int csv_put(struct csv_buf *b, char c)
{
        if (b->len + 2 > b->cap) {
                size_t cap = b->cap ? b->cap * 2 : 32;
                char *s;
                if (cap > CSV_MAX_FIELD + 2)
                        return -1;
                s = realloc(b->s, cap);
                if (!s)
                        return -1;
                b->s = s;
                b->cap = cap;
        }
        b->s[b->len++] = c;
        b->s[b->len] = '\0';
        return 0;
}

static char *csv_take(struct csv_buf *b)
{
        char *s = b->s ? b->s : strdup("");

        b->s = NULL;
        b->len = b->cap = 0;
        return s;
}

static int csv_fail(struct csv_reader *rd, char **fields, int n, struct csv_buf *b)
{
        free(b->s);
        csv_free_fields(fields, n);
        rd->p = rd->end;
        return -1;
}

int csv_next(struct csv_reader *rd, char **fields, int max)
{
        struct csv_buf b = { 0 };
        int n = 0;
        bool quoted = false, after_quote = false, any = false;

        /* Skip blank lines. */
        while (rd->p < rd->end && (*rd->p == '\n' || *rd->p == '\r')) {
                if (*rd->p == '\n')
                        rd->line++;
                rd->p++;
        }
        if (rd->p >= rd->end)
                return 0;
        while (rd->p < rd->end) {
                char c = *rd->p++;
                any = true;
                if (quoted) {
                        if (c == '"') {
                                if (rd->p < rd->end && *rd->p == '"') {
                                        rd->p++;
                                        if (csv_put(&b, '"') < 0)
                                                return csv_fail(rd, fields, n, &b);
                                } else {
                                        quoted = false;
                                        after_quote = true;
                                }
                                continue;
                        }
                        if (c == '\n')
                                rd->line++;
                        if (csv_put(&b, c) < 0)
                                return csv_fail(rd, fields, n, &b);
                        continue;
                }
                if (c == ',') {
                        if (n >= max)
                                return csv_fail(rd, fields, n, &b);
                        fields[n++] = csv_take(&b);
                        after_quote = false;
                        continue;
                }
                if (c == '\n' || c == '\r') {
                        if (c == '\r' && rd->p < rd->end && *rd->p == '\n')
                                rd->p++;
                        rd->line++;
                        break;
                }
                if (after_quote)
                        return csv_fail(rd, fields, n, &b);  /* "ab"c */
                if (c == '"' && b.len == 0) {
                        quoted = true;
                        continue;
                }
                if (csv_put(&b, c) < 0)
                        return csv_fail(rd, fields, n, &b);
        }
        if (quoted || n >= max)
                return csv_fail(rd, fields, n, &b);
        if (!any)
                return 0;
        fields[n++] = csv_take(&b);
        return n;
}

int csv_split_line(const char *line, char **fields, int max)
{
        struct csv_reader rd;

        csv_reader_init(&rd, line, strlen(line));
        return csv_next(&rd, fields, max);
}

/* Make room in *BUF for NEED bytes; the old buffer stays the caller's if
 * it cannot grow. */
static int csv_reserve(char **buf, size_t *cap, size_t need)
{
        size_t n = *cap ? *cap : 1024;
        char *b;

        if (need <= *cap)
                return 0;
        while (n < need)
                n *= 2;
        b = realloc(*buf, n);
        if (!b)
                return -ENOMEM;
        *buf = b;
        *cap = n;
        return 0;
}

ssize_t csv_read_record(FILE *f, char **buf, size_t *cap, long *lines)
{
        size_t len = 0;
        bool quoted = false;
        int c;

        while ((c = fgetc(f)) != EOF) {
                if (csv_reserve(buf, cap, len + 2) < 0)
                        return -ENOMEM;
                (*buf)[len++] = (char)c;
                if (c == '"')
                        quoted = !quoted;
                if (c == '\n') {
                        (*lines)++;
                        if (!quoted)
                                break;
                }
        }
        if (len > 0 && (*buf)[len - 1] != '\n') {
                /* The last record without its newline: the newline and the
                 * NUL after it need two bytes, not the one the loop kept
                 * (issue 17, small ones: a record filling the buffer wrote
                 * its NUL past the end). */
                if (csv_reserve(buf, cap, len + 2) < 0)
                        return -ENOMEM;
                (*buf)[len++] = '\n';
                (*lines)++;
        }
        if (*buf)
                (*buf)[len] = '\0';
        return (ssize_t)len;
}

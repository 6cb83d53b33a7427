#include "base/csv.h"

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

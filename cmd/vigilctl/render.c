/* render: tables and key: value lines from the node's JSON replies. */
#include "render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct render_table {
        size_t ncols;
        size_t nrows, cap;
        char **cells;   /* (nrows + 1) * ncols, row 0 is the header */
};

/* Decode one UTF-8 sequence at S (jansson hands us valid UTF-8; files and
 * argv may not be, so a bad byte decodes as itself, one byte long). */
static uint32_t render_utf8_next(const unsigned char *s, size_t *ret_len)
{
        uint32_t c = s[0];
        size_t len = 1, i;

        if (c >= 0xf0 && c < 0xf8)
                len = 4, c &= 0x07;
        else if (c >= 0xe0)
                len = c < 0xf0 ? 3 : 1, c &= len == 3 ? 0x0f : 0xff;
        else if (c >= 0xc0)
                len = 2, c &= 0x1f;
        for (i = 1; i < len; i++) {
                if ((s[i] & 0xc0) != 0x80) {
                        *ret_len = 1;
                        return s[0];
                }
                c = (c << 6) | (s[i] & 0x3f);
        }
        *ret_len = len;
        return c;
}

static bool render_is_wide(uint32_t c)
{
        return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) ||
               (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
               (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
               (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x20000 && c <= 0x3fffd);
}

size_t render_width(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t w = 0, len;

        while (*p) {
                w += render_is_wide(render_utf8_next(p, &len)) ? 2 : 1;
                p += len;
        }
        return w;
}

/* A copy of S safe to print on a terminal: C0 and C1 control characters
 * (escape sequences start with them) become '?'. Caller frees. */
static char *render_sanitize(const char *s)
{
        char *copy = strdup(s ? s : "-");
        unsigned char *p = (unsigned char *)copy;
        size_t len;

        if (!copy)
                return NULL;
        while (*p) {
                uint32_t c = render_utf8_next(p, &len);

                if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
                        memset(p, '?', len);
                }
                p += len;
        }
        return copy;
}

struct render_table *render_table_new(size_t ncols, const char *const *headers)
{
        struct render_table *t = calloc(1, sizeof(*t));

        if (!t)
                return NULL;
        t->ncols = ncols;
        if (render_table_add(t, 0, headers) < 0) {
                render_table_free(t);
                return NULL;
        }
        return t;
}

void render_table_free(struct render_table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}

int render_table_add(struct render_table *t, size_t indent, const char *const *cells)
{
        if (t->nrows == t->cap) {
                size_t cap = t->cap ? 2 * t->cap : 16;
                char **n = realloc(t->cells, cap * t->ncols * sizeof(*n));

                if (!n)
                        return -ENOMEM;
                t->cells = n;
                t->cap = cap;
        }
        for (size_t c = 0; c < t->ncols; c++) {
                char *s = render_sanitize(cells[c]);

                if (s && c == 0 && indent > 0) {
                        size_t pad = 2 * indent;
                        char *ind = malloc(pad + strlen(s) + 1);

                        if (ind) {
                                memset(ind, ' ', pad);
                                strcpy(ind + pad, s);
                        }
                        free(s);
                        s = ind;
                }
                if (!s) {
                        while (c-- > 0)
                                free(t->cells[t->nrows * t->ncols + c]);
                        return -ENOMEM;
                }
                t->cells[t->nrows * t->ncols + c] = s;
        }
        t->nrows++;
        return 0;
}

void render_table_print(const struct render_table *t, FILE *out)
{
        size_t *width = calloc(t->ncols, sizeof(*width));

        if (!width)
                return;
        for (size_t r = 0; r < t->nrows; r++)
                for (size_t c = 0; c < t->ncols; c++) {
                        size_t w = render_width(t->cells[r * t->ncols + c]);
                        if (w > width[c])
                                width[c] = w;
                }
        for (size_t r = 0; r < t->nrows; r++) {
                for (size_t c = 0; c < t->ncols; c++) {
                        const char *s = t->cells[r * t->ncols + c];

                        fputs(s, out);
                        if (c + 1 < t->ncols)
                                fprintf(out, "%*s", (int)(width[c] - render_width(s) + 2), "");
                }
                fputc('\n', out);
        }
        free(width);
}

const char *render_time(char *buf, size_t n, const char *iso)
{
        /* 2026-11-28T12:00:00.123Z -> 2026-11-28 12:00:00Z: seconds are
         * enough for a person, and the Z keeps it unambiguous. */
        if (!iso) {
                snprintf(buf, n, "-");
                return buf;
        }
        if (strlen(iso) >= 19 && iso[10] == 'T') {
                const char *zone = iso + 19;

                while (*zone == '.' || (*zone >= '0' && *zone <= '9'))
                        zone++;
                snprintf(buf, n, "%.10s %.8s%s", iso, iso + 11, *zone ? zone : "Z");
                return buf;
        }
        snprintf(buf, n, "%s", iso);
        return buf;
}

/* A JSON scalar as text into BUF; NULL for null or missing. */
static const char *render_scalar(char *buf, size_t n, const json_t *v)
{
        if (!v || json_is_null(v))
                return NULL;
        if (json_is_string(v))
                return json_string_value(v);
        if (json_is_integer(v))
                snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
                snprintf(buf, n, "%g", json_real_value(v));
        else if (json_is_boolean(v))
                snprintf(buf, n, "%s", json_is_true(v) ? "yes" : "no");
        else
                return NULL;
        return buf;
}

static const char *render_or(const char *s, const char *fallback)
{
        return s ? s : fallback;
}

static const char *render_get(char *buf, size_t n, const json_t *obj, const char *key)
{
        return render_scalar(buf, n, json_object_get(obj, key));
}

const char *render_node_state(char *buf, size_t n, const json_t *node)
{
        const json_t *b = json_object_get(json_object_get(node, "link"), "backlog");
        char t[64];
        size_t len;

        if (json_is_true(json_object_get(node, "stale"))) {
                const char *seen = json_string_value(json_object_get(node, "last_seen"));

                snprintf(buf, n, "stale (last seen %s)", seen ? render_time(t, sizeof(t), seen) : "never");
        } else {
                snprintf(buf, n, "%s", json_is_true(json_object_get(node, "online")) ? "online" : "offline");
        }
        /* Issue 17: what waits for it here (store and forward). */
        len = strlen(buf);
        if (json_integer_value(json_object_get(b, "waiting")) > 0 && len < n)
                snprintf(buf + len, n - len, ", %lld changes waiting %llds%s",
                         (long long)json_integer_value(json_object_get(b, "waiting")),
                         (long long)json_integer_value(json_object_get(b, "oldest_seconds")),
                         json_is_true(json_object_get(b, "alarm")) ? " (ALARM)" : "");
        return buf;
}

/* ---- status ---- */

static void render_kv(FILE *out, size_t keywidth, const char *key, const char *value)
{
        char *v = render_sanitize(value);

        fprintf(out, "%s:%*s%s\n", key, (int)(keywidth - strlen(key) + 1), "", v ? v : "?");
        free(v);
}

int render_status(FILE *out, const json_t *doc)
{
        static const char *const known[] = { "id", "name", "tier", "parent", "children" };
        const json_t *parent, *children, *db, *v;
        const char *key;
        char b1[64], b2[64], line[512];
        size_t keywidth = strlen("children"), online = 0;

        if (!json_is_object(doc))
                return -EBADMSG;
        parent = json_object_get(doc, "parent");
        children = json_object_get(doc, "children");
        if (children && !json_is_array(children))
                return -EBADMSG;
        json_object_foreach((json_t *)doc, key, v)
                if (!json_is_object(v) && !json_is_array(v) && strlen(key) > keywidth)
                        keywidth = strlen(key);
        if (json_integer_value(json_object_get(json_object_get(doc, "dead_letters"), "held")) > 0 &&
            keywidth < strlen("dead letters"))
                keywidth = strlen("dead letters");

        render_kv(out, keywidth, "id", render_get(b1, sizeof(b1), doc, "id"));
        render_kv(out, keywidth, "name", render_get(b1, sizeof(b1), doc, "name"));
        render_kv(out, keywidth, "tier", render_get(b1, sizeof(b1), doc, "tier"));
        if (json_is_object(parent)) {
                snprintf(line, sizeof(line), "%s (%s)",
                         render_or(render_get(b1, sizeof(b1), parent, "id"), "?"),
                         render_node_state(b2, sizeof(b2), parent));
                render_kv(out, keywidth, "parent", line);
        } else {
                render_kv(out, keywidth, "parent", "none (top of the tree)");
        }
        /* The node's own PostgreSQL: while it is unreachable the node still
         * links, but every command other than status is refused. */
        db = json_object_get(doc, "database");
        if (json_is_object(db)) {
                if (json_is_true(json_object_get(db, "connected")))
                        snprintf(line, sizeof(line), "connected");
                else
                        snprintf(line, sizeof(line), "UNREACHABLE since %s (reconnecting)",
                                 render_or(render_get(b1, sizeof(b1), db, "down_since"), "start"));
                render_kv(out, keywidth, "database", line);
        }
        /* Issue 17: changes the links could not apply, waiting for an admin. */
        v = json_object_get(doc, "dead_letters");
        if (json_is_object(v) && json_integer_value(json_object_get(v, "held")) > 0) {
                snprintf(line, sizeof(line), "%lld held, not applied (vigilctl deadletter list)",
                         (long long)json_integer_value(json_object_get(v, "held")));
                render_kv(out, keywidth, "dead letters", line);
        }
        /* Keys a later daemon adds (version, uptime, ...) show up too. */
        json_object_foreach((json_t *)doc, key, v) {
                bool skip = false;

                for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
                        skip |= strcmp(key, known[i]) == 0;
                if (!skip && !json_is_object(v) && !json_is_array(v))
                        render_kv(out, keywidth, key, render_or(render_scalar(b1, sizeof(b1), v), "-"));
        }

        if (!children || json_array_size(children) == 0) {
                render_kv(out, keywidth, "children", "none");
                return 0;
        }
        for (size_t i = 0; i < json_array_size(children); i++)
                online += json_is_true(json_object_get(json_array_get(children, i), "online"));
        snprintf(line, sizeof(line), "%zu (%zu online, %zu offline)", json_array_size(children),
                 online, json_array_size(children) - online);
        render_kv(out, keywidth, "children", line);
        fputc('\n', out);
        {
                static const char *const headers[] = { "ID", "NAME", "STATE", "DEAD LETTERS" };
                struct render_table *t;
                bool dead = false;
                char b3[32];

                /* A column of dead letters only where a child has some. */
                for (size_t i = 0; i < json_array_size(children); i++)
                        dead |= json_integer_value(json_object_get(json_array_get(children, i), "dead_letters")) > 0;
                t = render_table_new(dead ? 4 : 3, headers);
                if (!t)
                        return -ENOMEM;
                for (size_t i = 0; i < json_array_size(children); i++) {
                        const json_t *c = json_array_get(children, i);
                        const char *cells[4];

                        cells[0] = render_get(b1, sizeof(b1), c, "id");
                        cells[1] = json_string_value(json_object_get(c, "name"));
                        cells[2] = render_node_state(b2, sizeof(b2), c);
                        cells[3] = render_get(b3, sizeof(b3), c, "dead_letters");
                        render_table_add(t, 0, cells);
                }
                render_table_print(t, out);
                render_table_free(t);
        }
        return 0;
}

/* ---- tree ---- */

struct render_tree_node {
        const json_t *obj;
        const char *id;         /* "" if absent */
        long parent;            /* index into the sorted array, -1: a root */
        long first_child, next_sibling;
        bool visited;
};

static int render_tree_cmp(const void *a, const void *b)
{
        return strcmp(((const struct render_tree_node *)a)->id,
                      ((const struct render_tree_node *)b)->id);
}

static long render_tree_find(const struct render_tree_node *nodes, size_t n, const char *id)
{
        struct render_tree_node key = { .id = id };
        const struct render_tree_node *hit;

        if (!id)
                return -1;
        hit = bsearch(&key, nodes, n, sizeof(*nodes), render_tree_cmp);
        return hit ? hit - nodes : -1;
}

static int render_tree_row(struct render_table *t, const struct render_tree_node *node, size_t depth)
{
        char b[5][64];
        const char *cells[7];

        cells[0] = node->id[0] ? node->id : "?";
        cells[1] = render_get(b[0], sizeof(b[0]), node->obj, "tier");
        cells[2] = json_string_value(json_object_get(node->obj, "name"));
        cells[3] = json_string_value(json_object_get(node->obj, "parent"));
        cells[4] = render_node_state(b[1], sizeof(b[1]), node->obj);
        cells[5] = render_time(b[2], sizeof(b[2]),
                               json_string_value(json_object_get(node->obj, "last_seen")));
        cells[6] = render_get(b[3], sizeof(b[3]), node->obj, "cameras");
        return render_table_add(t, depth, cells);
}

/* Depth-first from ROOT with an explicit stack (no recursion: the document
 * comes from the network). Marks what it prints as visited. */
static int render_tree_walk(struct render_table *t, struct render_tree_node *nodes, size_t n,
                            long root, long *stack, size_t *depths)
{
        size_t top = 0;

        stack[top] = root;
        depths[top++] = 0;
        while (top > 0) {
                long i = stack[--top];
                size_t depth = depths[top];
                size_t start = top;

                if (nodes[i].visited)
                        continue;
                nodes[i].visited = true;
                if (render_tree_row(t, &nodes[i], depth) < 0)
                        return -ENOMEM;
                /* Push children in reverse so the smallest ID comes out first. */
                for (long c = nodes[i].first_child; c >= 0; c = nodes[c].next_sibling) {
                        if (nodes[c].visited || top >= n)
                                continue;
                        stack[top] = c;
                        depths[top++] = depth + 1;
                }
                for (size_t a = start, b = top; b > a + 1; a++, b--) {
                        long tmp = stack[a];

                        stack[a] = stack[b - 1];
                        stack[b - 1] = tmp;
                }
        }
        return 0;
}

int render_tree(FILE *out, const json_t *doc)
{
        static const char *const headers[] = {
                "ID", "TIER", "NAME", "PARENT", "STATE", "LAST SEEN", "CAMERAS"
        };
        struct render_tree_node *nodes = NULL;
        struct render_table *t = NULL;
        long *stack = NULL;
        size_t *depths = NULL;
        size_t n;
        int r = -ENOMEM;

        if (!json_is_array(doc))
                return -EBADMSG;
        n = json_array_size(doc);
        for (size_t i = 0; i < n; i++)
                if (!json_is_object(json_array_get(doc, i)))
                        return -EBADMSG;
        nodes = calloc(n ? n : 1, sizeof(*nodes));
        stack = calloc(n ? n : 1, sizeof(*stack));
        depths = calloc(n ? n : 1, sizeof(*depths));
        t = render_table_new(7, headers);
        if (!nodes || !stack || !depths || !t)
                goto out;
        for (size_t i = 0; i < n; i++) {
                nodes[i].obj = json_array_get(doc, i);
                nodes[i].id = json_string_value(json_object_get(nodes[i].obj, "id"));
                if (!nodes[i].id)
                        nodes[i].id = "";
        }
        qsort(nodes, n, sizeof(*nodes), render_tree_cmp);
        for (size_t i = 0; i < n; i++) {
                const char *pid = json_string_value(json_object_get(nodes[i].obj, "parent"));

                nodes[i].parent = render_tree_find(nodes, n, pid);
                if (nodes[i].parent == (long)i)
                        nodes[i].parent = -1;
                nodes[i].first_child = -1;
                nodes[i].next_sibling = -1;
        }
        /* Link children in ID order: walk backwards and prepend. */
        for (size_t k = n; k-- > 0;) {
                long p = nodes[k].parent;

                if (p >= 0) {
                        nodes[k].next_sibling = nodes[p].first_child;
                        nodes[p].first_child = (long)k;
                }
        }
        for (size_t i = 0; i < n; i++)
                if (nodes[i].parent < 0 && (r = render_tree_walk(t, nodes, n, (long)i, stack, depths)) < 0)
                        goto out;
        /* Whatever is left sits on a parent cycle (a corrupt reply); show it
         * rather than hide it. */
        for (size_t i = 0; i < n; i++)
                if (!nodes[i].visited && (r = render_tree_walk(t, nodes, n, (long)i, stack, depths)) < 0)
                        goto out;
        render_table_print(t, out);
        r = 0;
out:
        render_table_free(t);
        free(depths);
        free(stack);
        free(nodes);
        return r;
}

void render_cell(char *buf, size_t n, const json_t *v)
{
        size_t i, len = 0;
        json_t *e;

        if (json_is_string(v)) {
                snprintf(buf, n, "%s", json_string_value(v));
        } else if (json_is_integer(v)) {
                snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        } else if (json_is_real(v)) {
                snprintf(buf, n, "%.10g", json_real_value(v));
        } else if (json_is_boolean(v)) {
                snprintf(buf, n, "%s", json_is_true(v) ? "yes" : "no");
        } else if (json_is_array(v) && json_array_size(v) > 0) {
                buf[0] = '\0';
                json_array_foreach(v, i, e) {
                        int w = snprintf(buf + len, n - len, "%s%s", i ? "," : "",
                                         json_is_string(e) ? json_string_value(e) : "?");
                        if (w < 0 || (size_t)w >= n - len)
                                break;
                        len += (size_t)w;
                }
        } else {
                snprintf(buf, n, "-");
        }
}

/* O's value for KEY: "a|b" is the first of a and b that is not null. */
static const json_t *render_key(const json_t *o, const char *key)
{
        const json_t *v = NULL;
        char name[64];

        while (*key) {
                size_t len = strcspn(key, "|");
                snprintf(name, sizeof(name), "%.*s", (int)len, key);
                v = json_object_get(o, name);
                if (v && !json_is_null(v))
                        return v;
                key += len + (key[len] == '|');
        }
        return v;
}

int render_json_rows(FILE *out, const json_t *doc, const char *const *keys, const char *const *heads, size_t n)
{
        struct render_table *t;
        char cells[8][256];
        const char *row[8];
        size_t i, k;
        json_t *o;

        if (!json_is_array(doc) || n > 8)
                return -EBADMSG;
        if (json_array_size(doc) == 0) {
                fprintf(out, "(none)\n");
                return 0;
        }
        t = render_table_new(n, heads);
        if (!t)
                return -ENOMEM;
        json_array_foreach(doc, i, o) {
                for (k = 0; k < n; k++) {
                        render_cell(cells[k], sizeof(cells[k]), render_key(o, keys[k]));
                        row[k] = cells[k];
                }
                render_table_add(t, 0, row);
        }
        render_table_print(t, out);
        render_table_free(t);
        return 0;
}

/* Unit tests of cmd/vigilctl/render.c: vigilctl's human tables. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "render.h"


/* Render DOC_TEXT with FN into a malloc'd string (caller frees); *RET_RC gets FN's result. */
static char *render_to_string(int (*fn)(FILE *, const json_t *), const char *doc_text, int *ret_rc)
{
        json_error_t jerr;
        json_t *doc = json_loads(doc_text, JSON_DECODE_ANY, &jerr);
        char *buf = NULL;
        size_t len = 0;
        FILE *f;

        if (!doc) {
                fprintf(stderr, "bad test JSON: %s\n", jerr.text);
                exit(1);
        }
        f = open_memstream(&buf, &len);
        *ret_rc = fn(f, doc);
        fclose(f);
        json_decref(doc);
        return buf;
}

/* The LINEth line (0-based) of TEXT, copied into a static buffer. */
static const char *line_of(const char *text, int line)
{
        static char buf[512];
        const char *end;

        while (line-- > 0 && text) {
                text = strchr(text, '\n');
                if (text)
                        text++;
        }
        if (!text || !*text)
                return "";
        end = strchr(text, '\n');
        snprintf(buf, sizeof(buf), "%.*s", (int)(end ? end - text : (long)strlen(text)), text);
        return buf;
}

static int count_lines(const char *text)
{
        int n = 0;

        for (; *text; text++)
                n += *text == '\n';
        return n;
}

static void test_tree_order_and_states(void)
{
        /* Deliberately out of order: the renderer sorts by the tree. */
        const char *doc =
                "["
                "{\"id\":\"43010401002000000001\",\"tier\":\"station\",\"name\":\"yuelu-1\","
                " \"parent\":\"43010400002000000001\",\"online\":true,\"last_seen\":\"2026-11-28T03:00:01.5Z\","
                " \"stale\":false,\"cameras\":12},"
                "{\"id\":\"43010201002000000001\",\"tier\":\"station\",\"name\":\"furong-1\","
                " \"parent\":\"43010200002000000001\",\"online\":true,\"last_seen\":\"2026-11-28T02:59:58Z\","
                " \"stale\":true,\"cameras\":3},"
                "{\"id\":\"43010000002000000001\",\"tier\":\"city\",\"name\":\"city\","
                " \"parent\":null,\"online\":true,\"last_seen\":null,\"stale\":false,\"cameras\":0},"
                "{\"id\":\"43010402002000000001\",\"tier\":\"station\",\"name\":\"yuelu-2\","
                " \"parent\":\"43010400002000000001\",\"online\":false,\"last_seen\":null,"
                " \"stale\":false,\"cameras\":null},"
                "{\"id\":\"43010200002000000001\",\"tier\":\"district\",\"name\":\"furong\","
                " \"parent\":\"43010000002000000001\",\"online\":false,"
                " \"last_seen\":\"2026-11-28T03:00:00.123Z\",\"stale\":false,\"cameras\":3},"
                "{\"id\":\"43010400002000000001\",\"tier\":\"district\",\"name\":\"yuelu\","
                " \"parent\":\"43010000002000000001\",\"online\":true,\"last_seen\":null,"
                " \"stale\":false,\"cameras\":12}"
                "]";
        int rc;
        char *out = render_to_string(render_tree, doc, &rc);

        CHECK(rc == 0);
        /* The STATE column is as wide as its widest cell; check that
         * alignment by position instead of in WANT's spelling above. */
        CHECK(count_lines(out) == 7);
        CHECK(strncmp(line_of(out, 1), "43010000002000000001 ", 21) == 0);
        CHECK(strncmp(line_of(out, 2), "  43010200002000000001 ", 23) == 0);
        CHECK(strncmp(line_of(out, 3), "    43010201002000000001 ", 25) == 0);
        CHECK(strncmp(line_of(out, 4), "  43010400002000000001 ", 23) == 0);
        CHECK(strncmp(line_of(out, 5), "    43010401002000000001 ", 25) == 0);
        CHECK(strncmp(line_of(out, 6), "    43010402002000000001 ", 25) == 0);
        CHECK(strstr(line_of(out, 3), "stale (last seen 2026-11-28 02:59:58Z)") != NULL);
        CHECK(strstr(line_of(out, 2), "  offline  ") != NULL);
        CHECK(strstr(line_of(out, 4), "  online  ") != NULL);
        /* Every column starts at the same offset on every line. */
        {
                const char *hdr = line_of(out, 0);
                long state_col = strstr(hdr, "STATE") - hdr;
                char row[512];

                snprintf(row, sizeof(row), "%s", line_of(out, 6));
                CHECK(strncmp(row + state_col, "offline", 7) == 0);
                snprintf(row, sizeof(row), "%s", line_of(out, 3));
                CHECK(strncmp(row + state_col, "stale", 5) == 0);
        }
        /* No trailing blanks. */
        CHECK(strstr(out, " \n") == NULL);
        free(out);
}

static void test_tree_exact(void)
{
        const char *doc =
                "[{\"id\":\"43010401002000000001\",\"tier\":\"station\",\"name\":\"yuelu-1\","
                "  \"parent\":\"43010400002000000001\",\"online\":true,\"last_seen\":null,\"stale\":false,\"cameras\":2},"
                " {\"id\":\"43010400002000000001\",\"tier\":\"district\",\"name\":\"yuelu\","
                "  \"parent\":\"43010000002000000001\",\"online\":true,\"last_seen\":null,\"stale\":false,\"cameras\":2}]";
        const char *want =
                "ID                      TIER      NAME     PARENT                STATE   LAST SEEN  CAMERAS\n"
                "43010400002000000001    district  yuelu    43010000002000000001  online  -          2\n"
                "  43010401002000000001  station   yuelu-1  43010400002000000001  online  -          2\n";
        int rc;
        char *out = render_to_string(render_tree, doc, &rc);

        /* --under: the subtree's root has a parent outside the reply. */
        CHECK(rc == 0);
        CHECK_STREQ(out, want);
        free(out);
}

static void test_tree_cycle_and_bad_shape(void)
{
        const char *cycle =
                "[{\"id\":\"A\",\"parent\":\"B\"},{\"id\":\"B\",\"parent\":\"A\"},{\"id\":\"C\",\"parent\":\"C\"}]";
        int rc;
        char *out = render_to_string(render_tree, cycle, &rc);

        /* A corrupt reply still shows every node, and terminates. */
        CHECK(rc == 0);
        CHECK(count_lines(out) == 4);
        free(out);

        out = render_to_string(render_tree, "{\"id\":\"x\"}", &rc);
        CHECK(rc < 0);
        free(out);
        out = render_to_string(render_tree, "[1,2]", &rc);
        CHECK(rc < 0);
        free(out);
        out = render_to_string(render_tree, "[]", &rc);
        CHECK(rc == 0);
        CHECK(count_lines(out) == 1);
        free(out);
}

static void test_status(void)
{
        const char *doc =
                "{\"id\":\"43010400002000000001\",\"tier\":\"district\",\"name\":\"yuelu\","
                " \"parent\":{\"id\":\"43010000002000000001\",\"online\":true},"
                " \"children\":[{\"id\":\"43010401002000000001\",\"online\":true,\"name\":\"yuelu-1\"},"
                "               {\"id\":\"43010402002000000001\",\"online\":false,\"name\":\"yuelu-2\"}]}";
        const char *want =
                "id:       43010400002000000001\n"
                "name:     yuelu\n"
                "tier:     district\n"
                "parent:   43010000002000000001 (online)\n"
                "children: 2 (1 online, 1 offline)\n"
                "\n"
                "ID                    NAME     STATE\n"
                "43010401002000000001  yuelu-1  online\n"
                "43010402002000000001  yuelu-2  offline\n";
        int rc;
        char *out = render_to_string(render_status, doc, &rc);

        CHECK(rc == 0);
        CHECK_STREQ(out, want);
        free(out);

        out = render_to_string(render_status,
                "{\"id\":\"43010000002000000001\",\"tier\":\"city\",\"name\":\"city\",\"parent\":null,\"children\":[]}",
                &rc);
        CHECK(rc == 0);
        CHECK_CONTAINS(out, "parent:   none");
        CHECK_CONTAINS(out, "children: none");
        free(out);

        /* The node's own database, up and down. */
        out = render_to_string(render_status,
                "{\"id\":\"43010000002000000001\",\"tier\":\"city\",\"name\":\"city\",\"parent\":null,"
                "\"children\":[],\"database\":{\"connected\":true,\"reconnects\":0}}", &rc);
        CHECK(rc == 0);
        CHECK_CONTAINS(out, "database: connected\n");
        free(out);
        out = render_to_string(render_status,
                "{\"id\":\"43010000002000000001\",\"tier\":\"city\",\"name\":\"city\",\"parent\":null,"
                "\"children\":[],\"database\":{\"connected\":false,"
                "\"down_since\":\"2026-11-29T13:01:21.378Z\"}}", &rc);
        CHECK(rc == 0);
        CHECK_CONTAINS(out, "database: UNREACHABLE since 2026-11-29T13:01:21.378Z (reconnecting)\n");
        free(out);
}

static void test_width_and_sanitize(void)
{
        static const char *const headers[] = { "NAME", "X" };
        const char *row1[] = { "\xe5\xb2\xb3\xe9\xba\x93", "a" };    /* 岳麓: 4 columns */
        const char *row2[] = { "evil\x1b[2Jname", "b" };
        struct render_table *t = render_table_new(2, headers);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        CHECK(render_width("\xe5\xb2\xb3\xe9\xba\x93") == 4);
        CHECK(render_width("yuelu") == 5);
        render_table_add(t, 0, row1);
        render_table_add(t, 0, row2);
        render_table_print(t, f);
        fclose(f);
        CHECK(strchr(buf, 0x1b) == NULL);
        CHECK_CONTAINS(buf, "evil?[2Jname  b\n");
        /* 4 columns of CJK + 10 of padding = 14 = width of "evil?[2Jname" + 2 */
        CHECK_CONTAINS(buf, "\xe5\xb2\xb3\xe9\xba\x93          a\n");
        render_table_free(t);
        free(buf);
}

static void test_time(void)
{
        char b[64];

        CHECK(strcmp(render_time(b, sizeof(b), "2026-11-28T12:00:00.123456Z"), "2026-11-28 12:00:00Z") == 0);
        CHECK(strcmp(render_time(b, sizeof(b), "2026-11-28T12:00:00+08:00"), "2026-11-28 12:00:00+08:00") == 0);
        CHECK(strcmp(render_time(b, sizeof(b), NULL), "-") == 0);
}

static int rows_of(FILE *f, const json_t *doc)
{
        static const char *const keys[] = { "id", "officers", "n", "ok", "none" };
        static const char *const heads[] = { "ID", "OFFICERS", "N", "OK", "NONE" };

        return render_json_rows(f, doc, keys, heads, 5);
}

static void test_json_rows(void)
{
        int rc;
        char *out = render_to_string(rows_of, "[{\"id\":\"req-1\",\"officers\":[\"inv-1\",\"inv-2\"],"
                                     "\"n\":3,\"ok\":true,\"none\":null}]", &rc);

        CHECK(rc == 0);
        CHECK_STREQ(line_of(out, 0), "ID     OFFICERS     N  OK   NONE");
        CHECK_STREQ(line_of(out, 1), "req-1  inv-1,inv-2  3  yes  -");
        free(out);
        out = render_to_string(rows_of, "[]", &rc);
        CHECK(rc == 0);
        CHECK_STREQ(out, "(none)\n");
        free(out);
        out = render_to_string(rows_of, "{}", &rc);
        CHECK(rc == -EBADMSG);
        free(out);
}

static int streams_of(FILE *f, const json_t *doc)
{
        static const char *const keys[] = { "id", "stream_url|has_stream" };
        static const char *const heads[] = { "ID", "STREAM" };

        return render_json_rows(f, doc, keys, heads, 2);
}

/* "a|b": the address where it is shown (at its station), else whether
 * there is one. */
static void test_json_rows_either(void)
{
        int rc;
        char *out = render_to_string(streams_of, "[{\"id\":\"c1\",\"stream_url\":\"rtsp://10.0.0.1/a\","
                                     "\"has_stream\":true},{\"id\":\"c2\",\"stream_url\":null,\"has_stream\":true},"
                                     "{\"id\":\"c3\",\"stream_url\":null,\"has_stream\":false},{\"id\":\"c4\"}]", &rc);

        CHECK(rc == 0);
        CHECK_STREQ(line_of(out, 1), "c1  rtsp://10.0.0.1/a");
        CHECK_STREQ(line_of(out, 2), "c2  yes");
        CHECK_STREQ(line_of(out, 3), "c3  no");
        CHECK_STREQ(line_of(out, 4), "c4  -");
        free(out);
}

int main(void)
{
        RUN(test_json_rows);
        RUN(test_json_rows_either);
        RUN(test_tree_order_and_states);
        RUN(test_tree_exact);
        RUN(test_tree_cycle_and_bad_shape);
        RUN(test_status);
        RUN(test_width_and_sanitize);
        RUN(test_time);
        return 0;
}

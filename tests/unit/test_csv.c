/* Unit tests for lib/csv.c: RFC 4180 records as imports send them. */
#include <unistd.h>

#include "base/csv.h"
#include "unit.h"

static int parse(const char *text, struct csv_reader *rd, char **f)
{
        csv_reader_init(rd, text, strlen(text));
        return csv_next(rd, f, 8);
}

static void test_plain(void)
{
        struct csv_reader rd;
        char *f[8];

        CHECK(parse("a,b,,d\nx,y\n", &rd, f) == 4);
        CHECK_STREQ(f[0], "a");
        CHECK_STREQ(f[2], "");
        CHECK_STREQ(f[3], "d");
        csv_free_fields(f, 4);
        CHECK(rd.line == 2);
        CHECK(csv_next(&rd, f, 8) == 2);
        CHECK_STREQ(f[1], "y");
        csv_free_fields(f, 2);
        CHECK(csv_next(&rd, f, 8) == 0);
}

static void test_quotes(void)
{
        struct csv_reader rd;
        char *f[8];

        /* Commas, doubled quotes and a newline inside quotes; CRLF ends. */
        CHECK(parse("\"a, b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\nnext\n", &rd, f) == 3);
        CHECK_STREQ(f[0], "a, b");
        CHECK_STREQ(f[1], "say \"hi\"");
        CHECK_STREQ(f[2], "two\nlines");
        csv_free_fields(f, 3);
        /* The record spanned lines 1-2: the next starts on line 3. */
        CHECK(rd.line == 3);
        CHECK(csv_next(&rd, f, 8) == 1);
        CHECK_STREQ(f[0], "next");
        csv_free_fields(f, 1);
}

static void test_blank_lines_and_last_line(void)
{
        struct csv_reader rd;
        char *f[8];

        CHECK(parse("\n\na,b", &rd, f) == 2);  /* no final newline */
        CHECK_STREQ(f[1], "b");
        csv_free_fields(f, 2);
        CHECK(csv_next(&rd, f, 8) == 0);
}

static void test_refusals(void)
{
        struct csv_reader rd;
        char *f[8];

        CHECK(parse("a,\"open\n", &rd, f) == -1);       /* unterminated quote */
        CHECK(csv_next(&rd, f, 8) == 0);                 /* and at the end after */
        CHECK(parse("\"ab\"c,d\n", &rd, f) == -1);       /* text after a closing quote */
        CHECK(parse("1,2,3,4,5,6,7,8,9\n", &rd, f) == -1); /* more fields than room */
        CHECK(csv_split_line("code,name", f, 8) == 2);
        csv_free_fields(f, 2);
}

static void test_field_limit(void)
{
        size_t n = CSV_MAX_FIELD + 10;
        char *big = malloc(n + 2);
        struct csv_reader rd;
        char *f[8];

        CHECK(big != NULL);
        memset(big, 'x', n);
        big[n] = '\n';
        big[n + 1] = '\0';
        CHECK(parse(big, &rd, f) == -1);
        free(big);
}

/* A file whose last record has no newline (issue 17, small ones): the
 * reader adds one, and the NUL after it, within its buffer. The record
 * that fills the buffer to the byte (1023 bytes: the reader grows at
 * 1024 with room for one more and a NUL) wrote a byte past it, which
 * ASan reports; each length around it is read back whole. */
static void test_read_record_last_without_newline(void)
{
        for (size_t n = 1020; n <= 1026; n++) {
                char path[] = "/tmp/vigil-test-csv-XXXXXX";
                int fd = mkstemp(path);
                char *text = malloc(n), *buf = NULL;
                size_t cap = 0;
                long lines = 0;
                FILE *f;

                CHECK(fd >= 0 && text);
                memset(text, 'x', n);
                CHECK(write(fd, text, n) == (ssize_t)n);
                close(fd);
                f = fopen(path, "r");
                CHECK(f);
                CHECK(csv_read_record(f, &buf, &cap, &lines) == (ssize_t)n + 1);
                CHECK(cap >= n + 2 && buf[n] == '\n' && buf[n + 1] == '\0');
                CHECK(memcmp(buf, text, n) == 0 && lines == 1);
                CHECK(csv_read_record(f, &buf, &cap, &lines) == 0);
                fclose(f);
                unlink(path);
                free(text);
                free(buf);
        }
}

int main(void)
{
        test_plain();
        test_quotes();
        test_blank_lines_and_last_line();
        test_refusals();
        test_field_limit();
        test_read_record_last_without_newline();
        return 0;
}

/* Unit tests for lib/log.c: line format, levels, escaping, reopen. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/log.h"
#include "unit.h"

static char dir[] = "/tmp/vigil-test-log-XXXXXX";

static char *slurp(const char *path)
{
        static char buf[65536];
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        return buf;
}

static void test_level_parse(void)
{
        enum log_level l = LOG_ERROR;
        CHECK(log_level_parse("debug", &l) == 0 && l == LOG_DEBUG);
        CHECK(log_level_parse("info", &l) == 0 && l == LOG_INFO);
        CHECK(log_level_parse("warn", &l) == 0 && l == LOG_WARN);
        CHECK(log_level_parse("error", &l) == 0 && l == LOG_ERROR);
        CHECK(log_level_parse("warning", &l) == -EINVAL);
        CHECK(log_level_parse("", &l) == -EINVAL);
        CHECK(log_level_parse(NULL, &l) == -EINVAL);
}

static void test_escape(void)
{
        char buf[64];
        CHECK_STREQ(log_escape(buf, sizeof(buf), "plain"), "plain");
        CHECK_STREQ(log_escape(buf, sizeof(buf), "say \"hi\"\\"), "say \\\"hi\\\"\\\\");
        CHECK_STREQ(log_escape(buf, sizeof(buf), "a\nb\tc\x01"), "a\\nb\\tc\\x01");
        CHECK_STREQ(log_escape(buf, sizeof(buf), NULL), "");
        /* truncation never leaves half an escape */
        char small[4];
        CHECK_STREQ(log_escape(small, sizeof(small), "ab\"cd"), "ab");
        CHECK_STREQ(log_escape(small, sizeof(small), "abcdef"), "abc");
        CHECK_STREQ(log_escape(buf, 1, "abc"), "");
}

static void test_format_and_levels(void)
{
        char path[128], moved[128];
        snprintf(path, sizeof(path), "%s/vigild.log", dir);
        snprintf(moved, sizeof(moved), "%s/vigild.log.1", dir);

        CHECK(log_open(path) == 0);
        log_set_level(LOG_INFO);
        log_warn("link", "peer=%s msg=\"heartbeat lost\"", "43010401002000000001");
        log_debug("link", "msg=\"not shown\"");
        log_info("node", "msg=\"two\nlines\"");
        char *text = slurp(path);

        regex_t re;
        CHECK(regcomp(&re, "^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                      "level=warn sub=link peer=43010401002000000001 msg=\"heartbeat lost\"\n"
                      "ts=[^ ]+Z level=info sub=node msg=\"two lines\"\n$",
                      REG_EXTENDED) == 0);
        if (regexec(&re, text, 0, NULL, 0) != 0)
                fprintf(stderr, "log text was:\n%s", text);
        CHECK(regexec(&re, text, 0, NULL, 0) == 0);
        regfree(&re);

        log_set_level(LOG_DEBUG);
        log_debug("link", "msg=\"now shown\"");
        CHECK_CONTAINS(slurp(path), "level=debug sub=link msg=\"now shown\"");

        /* SIGHUP after logrotate moved the file: a new file appears */
        CHECK(rename(path, moved) == 0);
        CHECK(log_reopen() == 0);
        log_error("node", "msg=\"after reopen\"");
        CHECK_CONTAINS(slurp(path), "level=error sub=node msg=\"after reopen\"");
        CHECK(strstr(slurp(moved), "after reopen") == NULL);

        /* a soft assert logs and lets the caller recover */
        int x = 0;
        CHECK(vigil_fails(x == 1));
        CHECK(!vigil_fails(x == 0));
        CHECK_CONTAINS(slurp(path), "expr=\"x == 1\"");

        /* a very long line is cut but still ends with a newline */
        char big[10000];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        log_info("big", "v=%s", big);
        log_info("next", "msg=after");
        text = slurp(path);
        CHECK_CONTAINS(text, "x\nts=");
        CHECK_CONTAINS(text, "sub=next msg=after\n");

        CHECK(log_open("/nonexistent-dir/x.log") < 0);
        CHECK(log_open(NULL) == 0);
        log_set_level(LOG_INFO);
        unlink(path);
        unlink(moved);
}

int main(void)
{
        CHECK(mkdtemp(dir) != NULL);
        RUN(test_level_parse);
        RUN(test_escape);
        RUN(test_format_and_levels);
        rmdir(dir);
        return 0;
}

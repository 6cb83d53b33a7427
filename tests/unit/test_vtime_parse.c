/* Unit tests of the times operators type (lib/base/vtime.c, vtime_parse, and
 * accessctl_parse_time in lib/control/accessctl.c, which names the option
 * in its refusal): an extreme value is refused as out of range, never
 * wrapped into a time in the past or the far future (issue 17, small
 * ones: "99999999999d" overflowed a signed multiplication). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/vtime.h"
#include "control/accessctl.h"
#include "unit.h"

/* 2026-12-03T08:00:00Z */
#define NOW 1796284800000000LL

static int64_t parsed(const char *s)
{
        int64_t v = -1;

        CHECK(vtime_parse(s, NOW, &v) == 0);
        return v;
}

static void refused(const char *s, int code)
{
        int64_t v = 42;

        if (vtime_parse(s, NOW, &v) != code) {
                fprintf(stderr, "vtime_parse(\"%s\") did not give %d\n", s, code);
                exit(1);
        }
        CHECK(v == 42);  /* untouched */
}

static void test_ordinary(void)
{
        CHECK(parsed("30m") == NOW + 30 * 60 * 1000000LL);
        CHECK(parsed("8h") == NOW + 8 * 3600 * 1000000LL);
        CHECK(parsed("7d") == NOW + 7 * 86400 * 1000000LL);
        CHECK(parsed("2026-11-28T10:00:00Z") == 1795860000000000LL);
        CHECK(parsed("2026-11-28T10:00") == 1795860000000000LL);
        CHECK(parsed("1970-01-01T00:00:00Z") == 0);
        CHECK(parsed("9999-12-31T23:59:59Z") == 253402300799000000LL);
        refused("", -EINVAL);
        refused("soon", -EINVAL);
        refused("0d", -EINVAL);
        refused("7w", -EINVAL);
        refused("2026-13-01T00:00Z", -EINVAL);
}

static void test_extremes(void)
{
        /* Durations that overflow int64 microseconds, or strtol itself. */
        refused("106751992d", -ERANGE);
        refused("9223372036854775807d", -ERANGE);
        refused("99999999999999999999999d", -ERANGE);
        refused("2562047788015h", -ERANGE);
        refused("153722867280912931m", -ERANGE);
        /* Past the last time this holds (9999-12-31), though no overflow. */
        refused("3000000d", -ERANGE);
        refused("10000-01-01T00:00:00Z", -ERANGE);
        refused("292277026596-12-04T15:30:07Z", -ERANGE);
        refused("99999999999-01-01T00:00Z", -ERANGE);
        /* Before the epoch: no access log holds such a time. */
        refused("1969-12-31T23:59:59Z", -ERANGE);
        refused("0001-01-01T00:00:00Z", -ERANGE);
        refused("-2147481748-01-01T00:00:00Z", -EINVAL);
}

static void test_accessctl_message(void)
{
        char err[200] = "";
        int64_t v = 42;

        CHECK(accessctl_parse_time("--until", "8h", NOW, &v, err, sizeof(err)) == 0);
        CHECK(v == NOW + 8 * 3600 * 1000000LL);
        v = 42;
        CHECK(accessctl_parse_time("--until", "99999999999d", NOW, &v, err, sizeof(err)) == -ERANGE);
        CHECK(v == 42);
        CHECK_CONTAINS(err, "--until 99999999999d");
        CHECK_CONTAINS(err, "out of range");
        CHECK_CONTAINS(err, "9999-12-31");
        CHECK(accessctl_parse_time("--from", "tomorrow", NOW, &v, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "--from tomorrow");
        CHECK_CONTAINS(err, "YYYY-MM-DDTHH:MM:SSZ");
}

int main(void)
{
        RUN(test_ordinary);
        RUN(test_extremes);
        RUN(test_accessctl_message);
        return 0;
}

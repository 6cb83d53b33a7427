/* Fuzz target for the control arguments an operator types (issue 17,
 * harness item 4): times (--from, --to, --until: vtime_parse, what
 * accessctl's commands call), emergency declare's --duration and
 * --look-back, and --near with --radius.
 *
 * Input: byte 0 chooses the parser (% 3), the rest is the argument (up
 * to its first NUL; for --near, the radius follows after a newline).
 * Invariants (abort() is a finding): a time given as a duration from now
 * is ahead of now (no overflow, which UBSan reports too); a duration
 * accepted reads back as "N unit" with N in 0..100000; an area accepted is
 * a point on the earth and a positive, finite radius. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vtime.h"
#include "control/emergencyctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A fixed "now" (2026-12-03T00:00:00Z): an input replays the same way. */
#define NOW_US (INT64_C(1796256000) * 1000000)

static void times(const char *s)
{
        int64_t t = -1;

        char *end;
        long v;

        if (vtime_parse(s, NOW_US, &t) < 0) {
                if (t != -1)
                        abort();        /* refused, yet *ret written */
                return;
        }
        /* A duration ("30m") is ahead of now: one that wrapped is not. */
        v = strtol(s, &end, 10);
        if (end != s && end[0] && !end[1] && v > 0 && t <= NOW_US)
                abort();
}

static void duration(const char *s)
{
        char out[32], unit[16];
        long n;

        if (!emergencyctl_duration(s, out, sizeof(out)))
                return;
        if (sscanf(out, "%ld %15s", &n, unit) != 2 || n < 0 || n > 100000 ||
            (strcmp(unit, "seconds") && strcmp(unit, "minutes") && strcmp(unit, "hours") && strcmp(unit, "days")))
                abort();
}

static void area(char *s)
{
        char *radius = strchr(s, '\n');
        double lat = NAN, lon = NAN;

        if (radius)
                *radius++ = '\0';
        if (!emergencyctl_area(s, radius, &lat, &lon))
                return;
        if (!radius)
                abort();        /* --near without --radius */
        if (!isfinite(lat) || !isfinite(lon) || fabs(lat) > 90 || fabs(lon) > 180)
                abort();
        {
                /* What the database is given is the text: it must be the number. */
                char *end;
                double r = strtod(radius, &end);
                int used = 0;
                if (!(r > 0) || !isfinite(r) || *end)
                        abort();
                if (sscanf(s, "%*f,%*f%n", &used) < 0 || used == 0 || s[used])
                        abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s;

        if (size < 1)
                return 0;
        s = strndup((const char *)data + 1, size - 1);
        if (!s)
                return 0;
        switch (data[0] % 3) {
        case 0:
                times(s);
                break;
        case 1:
                duration(s);
                break;
        default:
                area(s);
                break;
        }
        free(s);
        return 0;
}

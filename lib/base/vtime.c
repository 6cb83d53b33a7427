#include "base/vtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

int64_t vtime_now_us(void)
{
        struct timeval tv;

        gettimeofday(&tv, NULL);
        return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

int vtime_parse(const char *s, int64_t now_us, int64_t *ret)
{
        struct tm tm;
        char *end;
        long v;

        if (!s || !*s)
                return -EINVAL;
        v = strtol(s, &end, 10);
        if (end != s && end[0] && !end[1] && v > 0) {
                int64_t unit = end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 0;
                /* At most 100 years ahead: V * UNIT microseconds must not
                 * overflow (issue 17 item 8; tests/fuzz/corpus/args/time_days_overflow). */
                if (!unit || v > 100L * 366 * 86400 / unit)
                        return -EINVAL;
                *ret = now_us + (int64_t)v * unit * 1000000;
                return 0;
        }
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end) {
                memset(&tm, 0, sizeof(tm));
                end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
        }
        if (!end || (*end && strcmp(end, "Z") != 0))
                return -EINVAL;
        *ret = (int64_t)timegm(&tm) * 1000000;
        return 0;
}

void vtime_format_ms(int64_t us, char *buf, size_t n)
{
        time_t s = (time_t)(us / 1000000);
        struct tm tm;
        char date[32];

        gmtime_r(&s, &tm);
        strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf, n, "%.20s.%03dZ", date, (int)((us / 1000) % 1000));
}

int64_t vtime_next_version(struct vtime_versions *v)
{
        int64_t now = vtime_now_us();

        if (now <= v->last)
                now = v->last + 1;
        v->last = now;
        return now;
}

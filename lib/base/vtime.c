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

/* The times vigil holds: from the epoch (no access log is older) to the
 * last second of 9999, well inside int64 microseconds and PostgreSQL's
 * timestamptz, so that no typed time wraps (issue 17, small ones). */
#define VTIME_MAX_US 253402300799999999LL

int vtime_parse(const char *s, int64_t now_us, int64_t *ret)
{
        struct tm tm;
        char *end;
        long long v;
        time_t t;

        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (end != s && end[0] && !end[1] && (v > 0 || errno == ERANGE)) {
                int64_t unit = end[0] == 'm' ? 60 : end[0] == 'h' ? 3600 : end[0] == 'd' ? 86400 : 0;
                if (!unit || v < 0)
                        return -EINVAL;
                /* Checked before multiplying: a signed overflow is no
                 * time at all. */
                if (errno == ERANGE || now_us < 0 || now_us > VTIME_MAX_US ||
                    v > (VTIME_MAX_US - now_us) / (unit * 1000000))
                        return -ERANGE;
                *ret = now_us + (int64_t)v * unit * 1000000;
                return 0;
        }
        /* strptime reads four digits of a year: a longer one is a year
         * past 9999, not a typo to call "not a time". */
        if (strspn(s, "0123456789") > 4 && s[strspn(s, "0123456789")] == '-')
                return -ERANGE;
        memset(&tm, 0, sizeof(tm));
        end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!end) {
                memset(&tm, 0, sizeof(tm));
                end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
        }
        if (!end || (*end && strcmp(end, "Z") != 0))
                return -EINVAL;
        /* tm_year counts from 1900 in an int: 1970 to 9999 only, checked
         * before timegm, which may overflow or fail on others. */
        if (tm.tm_year < 70 || tm.tm_year > 9999 - 1900)
                return -ERANGE;
        t = timegm(&tm);
        if (t == (time_t)-1 || t < 0 || t > VTIME_MAX_US / 1000000)
                return -ERANGE;
        *ret = (int64_t)t * 1000000;
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
        /* Half the window left: reserve the next one, before it is needed. */
        if (v->reserve && now > v->horizon - VTIME_RESERVE_US / 2) {
                v->horizon = now + VTIME_RESERVE_US;
                v->reserve(v->reserve_arg, v->horizon);
        }
        return now;
}

void vtime_versions_seed(struct vtime_versions *v, int64_t stored)
{
        if (stored > v->last)
                v->last = stored;
        v->horizon = 0;
}

void vtime_versions_unreserved(struct vtime_versions *v)
{
        v->horizon = 0;
}

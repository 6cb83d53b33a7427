/* Unit tests for lib/base/vtime.c's versions (issue 17, fault 4): a
 * hybrid logical clock, above the wall clock's past and above what the
 * database says was issued before a restart, reserved ahead of use. */
#include <stdint.h>

#include "base/vtime.h"
#include "unit.h"

struct reservations {
        int n;
        int64_t upto;
};

static void reserve(void *arg, int64_t upto)
{
        struct reservations *r = arg;

        r->n++;
        r->upto = upto;
}

/* Never repeats, never goes back, even when the clock is behind the last
 * version (a clock stepped back). */
static void test_monotonic(void)
{
        struct vtime_versions v = { 0 };
        int64_t a = vtime_next_version(&v), b = vtime_next_version(&v);
        int64_t ahead = vtime_now_us() + 3600LL * 1000000;

        CHECK(a > 0 && b > a);
        v.last = ahead;                         /* the clock is an hour behind */
        CHECK(vtime_next_version(&v) == ahead + 1);
        CHECK(vtime_next_version(&v) == ahead + 2);
}

/* After a restart: above what the database held (the versions issued or
 * reserved before it), not the wall clock; and a reservation covers every
 * version before it is returned. */
static void test_seed_and_reserve(void)
{
        struct reservations r = { 0 };
        struct vtime_versions v = { .reserve = reserve, .reserve_arg = &r };
        int64_t stored = vtime_now_us() + 86400LL * 1000000, x, i;

        vtime_versions_seed(&v, stored);
        x = vtime_next_version(&v);
        CHECK(x == stored + 1);
        CHECK(r.n == 1 && r.upto >= x + VTIME_RESERVE_US - 1);
        /* Within the window: no I/O per version. */
        for (i = 0; i < 1000; i++)
                CHECK(vtime_next_version(&v) <= r.upto);
        CHECK(r.n == 1);
        /* Seeding never lowers the clock. */
        vtime_versions_seed(&v, 5);
        CHECK(vtime_next_version(&v) > x + 1000);
        CHECK(r.n == 2);                        /* a seed asks for a reservation again */
        /* A failed reservation is asked again with the next version. */
        vtime_versions_unreserved(&v);
        x = vtime_next_version(&v);
        CHECK(r.n == 3 && r.upto > x);
}

int main(void)
{
        RUN(test_monotonic);
        RUN(test_seed_and_reserve);
        return 0;
}

/* bench_latency: the clock and the latency summary the round-trip
 * benchmarks (bench_view, bench_emergency) share. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

/* Sort LAT (N round trips, ms) and print one JSON object: {"what","count",
 * "p50_ms","p99_ms","max_ms","mean_ms"}. */
static inline void bench_print_latencies(const char *what, double *lat, int n)
{
        double sum = 0;
        int i, p99 = (int)(n * 0.99) < n ? (int)(n * 0.99) : n - 1;

        qsort(lat, (size_t)n, sizeof(*lat), bench_cmp_double);
        for (i = 0; i < n; i++)
                sum += lat[i];
        printf("{\"what\":\"%s\",\"count\":%d,\"p50_ms\":%.4f,\"p99_ms\":%.4f,\"max_ms\":%.4f,\"mean_ms\":%.4f}\n",
               what, n, lat[n / 2], lat[p99], lat[n - 1], sum / n);
}

/* unit_loop.h: run a real libuv loop until a condition holds, with a
 * deadline, so that a module that stops making progress fails its test
 * (file:line and what was awaited) instead of hanging until meson's timeout.
 *
 *   RUN_LOOP_UNTIL(loop, done == 1, 5000);
 *
 * The deadline timer keeps the loop from returning early when nothing else
 * is active, and wakes it if the module under test missed a wake-up. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

static int unit_loop_timed_out;

static void unit_loop_on_deadline(uv_timer_t *t)
{
        (void)t;
        unit_loop_timed_out = 1;
}

#define RUN_LOOP_UNTIL(loop, cond, ms) \
        do { \
                uv_timer_t deadline_; \
                uv_timer_init((loop), &deadline_); \
                unit_loop_timed_out = 0; \
                uv_timer_start(&deadline_, unit_loop_on_deadline, (ms), 0); \
                while (!(cond) && !unit_loop_timed_out) \
                        uv_run((loop), UV_RUN_ONCE); \
                uv_close((uv_handle_t *)&deadline_, NULL); \
                uv_run((loop), UV_RUN_NOWAIT); \
                if (!(cond)) { \
                        fprintf(stderr, "%s:%d: timed out after %d ms waiting for: %s\n", \
                                __FILE__, __LINE__, (int)(ms), #cond); \
                        exit(1); \
                } \
        } while (0)

/* Run LOOP for MS milliseconds whatever happens (to show nothing arrives). */
#define RUN_LOOP_FOR(loop, ms) \
        do { \
                uv_timer_t deadline_; \
                uv_timer_init((loop), &deadline_); \
                unit_loop_timed_out = 0; \
                uv_timer_start(&deadline_, unit_loop_on_deadline, (ms), 0); \
                while (!unit_loop_timed_out) \
                        uv_run((loop), UV_RUN_ONCE); \
                uv_close((uv_handle_t *)&deadline_, NULL); \
                uv_run((loop), UV_RUN_NOWAIT); \
        } while (0)

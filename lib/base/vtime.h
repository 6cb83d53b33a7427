/* vtime: wall-clock time as vigil uses it: microseconds since the Unix
 * epoch, the times operators type (ISO 8601 UTC or a duration from now),
 * the times replies show, and the versions a node stamps on its own
 * changes. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/** Wall clock in microseconds. */
int64_t vtime_now_us(void);

/** An ISO-8601 UTC time ("2026-11-28T10:00:00Z", seconds optional) or a
 *  duration from NOW_US ("30m", "8h", "7d") as Unix microseconds in *RET;
 *  -EINVAL, leaving *RET untouched, if it is neither; -ERANGE if it is a
 *  time before 1970 or after 9999-12-31 (or a duration that overflows). */
int vtime_parse(const char *s, int64_t now_us, int64_t *ret);

/** US as "2026-11-28T10:00:00.123Z" into BUF (size N, at least 32). */
void vtime_format_ms(int64_t us, char *buf, size_t n);

/* The versions a node stamps on its own changes: the wall clock in
 * microseconds, never repeating and never going back within a process. */
struct vtime_versions {
        int64_t last;
};

/** A fresh version. */
int64_t vtime_next_version(struct vtime_versions *v);

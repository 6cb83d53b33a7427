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

/* The versions a node stamps on its own changes: a hybrid logical clock,
 * the wall clock in microseconds or, when that is not above the last
 * version, the last + 1 (issue 17, fault 4: a clock stepped back must not
 * make replicas ignore what comes next). Within a process that alone is
 * monotonic; across restarts the database keeps the order: vigild seeds
 * LAST at start with the versions the database says were issued or
 * reserved (vtime_versions_seed), and RESERVE, if set, is asked to record
 * in the database every version up to HORIZON before one above it is used
 * (version_reserve(), functions/federation.sql). It is asked ahead of
 * need, VTIME_RESERVE_US at a time, so issuing stays a call without I/O;
 * the reservation goes first on the connection the version's own
 * transaction takes, so it commits before any row stamped above it. */
#define VTIME_RESERVE_US (60LL * 1000000)

struct vtime_versions {
        int64_t last;
        int64_t horizon;        /* versions up to this are reserved */
        /* Record in the database that versions up to UPTO are issued. */
        void (*reserve)(void *arg, int64_t upto);
        void *reserve_arg;
};

/** A fresh version: above every one V issued, or seeded with. */
int64_t vtime_next_version(struct vtime_versions *v);

/** Start above STORED, the last version the database says this node
 *  issued or reserved (never lowers LAST). The next version issued asks
 *  for a reservation first. */
void vtime_versions_seed(struct vtime_versions *v, int64_t stored);

/** A reservation did not commit: the next version issued asks again. */
void vtime_versions_unreserved(struct vtime_versions *v);

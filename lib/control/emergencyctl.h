/* emergencyctl: the emergency commands (Art 13, 19): a commander declares
 * an emergency over a subtree and ends it, anyone admitted follows its
 * status and reads its after-action report; an admin of a station holds
 * the credentials of a system's reserved interface (never replicated).
 * The orders themselves are features/emergency.c. */
#pragma once

#include "control/control.h"
#include "features/emergency.h"

/* The commands' context is the node's struct emergency. */
extern const struct control_command emergencyctl_commands[];

/* The argument parsers of emergency declare, pure (fuzzed by
 * tests/fuzz/fuzz_args.c). */
/** "90s", "30m", "2h", "1d" (and "0") as an interval into OUT (size N),
 *  for PostgreSQL; false if not. */
bool emergencyctl_duration(const char *v, char *out, size_t n);
/** --near LAT,LON and --radius METRES, both or neither (NULL): true, with
 *  the point in *LAT, *LON when given; false unless both are numbers and
 *  the point lies on the earth and the radius is positive. */
bool emergencyctl_area(const char *near, const char *radius, double *lat, double *lon);

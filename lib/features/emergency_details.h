/* emergency_details: what a station's linkage report says of each system
 * it linked under an emergency (Art 13, 19), as it goes up the tree.
 *
 * A report's `details` are a JSON array, one object per system probed
 * (system, url, outcome, reason, streams, linked_at, responsible_entity,
 * notification). The reserved interface itself (the URL, its host and
 * port, a stream's absolute control URL) is held at the station, in its
 * linkages, and never leaves it (Art 19, 29(2); DESIGN.md "The gate"):
 * the station takes it out before its report goes up, and a parent takes
 * it out of a report a child sends with it (an old or a hostile station),
 * before it keeps or forwards it. */
#pragma once

#include <stddef.h>

/** DETAILS without the reserved interfaces: each object's "url" removed,
 *  its host[:port] in "reason" replaced by "the reserved interface", a
 *  stream's "control" removed where it is an absolute URL. 1 with the
 *  result in *RET (caller frees), or 0 if there was nothing to take out
 *  (*RET untouched); -EINVAL if DETAILS is not a JSON array, -ENOMEM. */
int emergency_details_strip(const char *details, char **ret);

/** URL without any userinfo ("rtsp://u:p@h/x" -> "rtsp://h/x") into OUT
 *  (size N); URL itself if it has none. What a station records of a
 *  linkage (Art 5, 24(1)). */
const char *emergency_details_url_clean(const char *url, char *out, size_t n);

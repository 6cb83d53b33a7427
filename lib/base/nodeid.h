/* nodeid: GB/T 28181 rule A IDs and the three-tier tree they encode.
 *
 * 20 digits = centre code (8: province 2, city 2, district 2, grassroots
 * unit 2) + industry (2) + type (3) + serial (7). A platform node uses type
 * 200; cameras use 131/132. The centre code is the tree (DESIGN.md
 * "Identity and tiers"): city PPCC0000, district PPCCDD00 (DD != 00),
 * station PPCCDDSS (SS != 00). A node's prefix is its centre code without
 * trailing "00" pairs: 4301, 430104, 43010401. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define NODEID_LEN 20
#define NODEID_TYPE_PLATFORM 200

enum tier { TIER_NONE = 0, TIER_CITY = 1, TIER_DISTRICT = 2, TIER_STATION = 3 };

/** "city" / "district" / "station"; "none" otherwise. Static string. */
const char *tier_name(enum tier t);
/** Parse a tier name; returns 0 or -EINVAL. */
int tier_parse(const char *s, enum tier *ret_tier);

/** True if S is exactly 20 ASCII digits. */
bool nodeid_is_wellformed(const char *s);
/** The 3-digit type field of a well-formed ID (e.g. 200, 131). */
int nodeid_type(const char *id);
/** The tier a well-formed ID's centre code encodes, or TIER_NONE if the
 *  centre code fits none (e.g. 43000000, or 43010001: unit without district). */
enum tier nodeid_tier(const char *id);
/** Write ID's prefix (4, 6 or 8 digits) into BUF (size >= 9). Returns BUF,
 *  or NULL if ID has no tier. */
char *nodeid_prefix(const char *id, char *buf);

/** Check that ID is a platform node ID (type 200) whose centre code fits
 *  TIER. On failure returns -EINVAL and writes a sentence naming the ID and
 *  the rule into ERR (size ERRLEN), e.g.
 *  "node ID 43010400002000000001 is a district centre code (PPCCDD00), but
 *   tier is station: a station ID must look like PPCCDDSS with SS != 00". */
int nodeid_check_node(const char *id, enum tier tier, char *err, size_t errlen);

/** Check that CHILD sits directly under PARENT: the child's tier is one below
 *  the parent's and its centre code starts with the parent's prefix. Both
 *  must already pass nodeid_check_node(). -EINVAL with a sentence in ERR
 *  naming both IDs and the rule. */
int nodeid_check_child(const char *child, const char *parent, char *err, size_t errlen);

/** Check that ID is a platform node strictly below node ABOVE: of a lower
 *  tier than ABOVE and under its prefix, so never ABOVE itself nor another
 *  node of ABOVE's centre code (issue 17, fault 6: a station has nothing
 *  below it and can fabricate no node inside its own code). ABOVE must
 *  pass nodeid_check_node(). -EINVAL with a sentence in ERR naming both
 *  IDs and the rule. */
int nodeid_check_below(const char *id, const char *above, char *err, size_t errlen);

/** True if ID is node NODE itself or a platform node strictly below it
 *  (nodeid_check_below): the nodes a child may speak for (its log, its
 *  officers' units, its stations), never another node of its own centre
 *  code (issue 17, fault 6). */
bool nodeid_at_or_below(const char *id, const char *node);

/** True if ID (any well-formed ID, node or device) lies in the subtree of
 *  node ROOT (its centre code starts with ROOT's prefix). */
bool nodeid_under(const char *id, const char *root);

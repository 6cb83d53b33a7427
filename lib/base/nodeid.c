/* nodeid: GB/T 28181 rule A IDs and the tier tree their centre codes encode.
 *
 * Everything here works on the first 8 digits (the centre code, GB/T 2260
 * administrative divisions plus a grassroots unit) and the 3-digit type.
 * The tree needs no lookup table: a node's subtree is every ID that starts
 * with its prefix (DESIGN.md "Identity and tiers"). */
#include "base/nodeid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const tier_names[] = {
        [TIER_NONE] = "none", [TIER_CITY] = "city",
        [TIER_DISTRICT] = "district", [TIER_STATION] = "station",
};

/* What each tier's centre code looks like, for error messages. */
static const char *const tier_shapes[] = {
        [TIER_NONE] = "none",
        [TIER_CITY] = "PPCC0000 with CC != 00",
        [TIER_DISTRICT] = "PPCCDD00 with DD != 00",
        [TIER_STATION] = "PPCCDDSS with DD != 00 and SS != 00",
};

const char *tier_name(enum tier t)
{
        if (t < TIER_NONE || t > TIER_STATION)
                return "none";
        return tier_names[t];
}

int tier_parse(const char *s, enum tier *ret_tier)
{
        if (!s)
                return -EINVAL;
        for (int t = TIER_CITY; t <= TIER_STATION; t++) {
                if (strcmp(s, tier_names[t]) == 0) {
                        *ret_tier = (enum tier)t;
                        return 0;
                }
        }
        return -EINVAL;
}

bool nodeid_is_wellformed(const char *s)
{
        if (!s)
                return false;
        for (int i = 0; i < NODEID_LEN; i++)
                if (s[i] < '0' || s[i] > '9')
                        return false;
        return s[NODEID_LEN] == '\0';
}

int nodeid_type(const char *id)
{
        /* digits 11-13 (1-based): after centre code (8) and industry (2) */
        return (id[10] - '0') * 100 + (id[11] - '0') * 10 + (id[12] - '0');
}

static bool pair_zero(const char *id, int at)
{
        return id[at] == '0' && id[at + 1] == '0';
}

enum tier nodeid_tier(const char *id)
{
        if (!nodeid_is_wellformed(id))
                return TIER_NONE;
        /* A province (PP0000..) or a bare province code is no node of ours. */
        if (pair_zero(id, 0) || pair_zero(id, 2))
                return TIER_NONE;
        bool dd = !pair_zero(id, 4), ss = !pair_zero(id, 6);
        if (!dd && !ss)
                return TIER_CITY;
        if (dd && !ss)
                return TIER_DISTRICT;
        if (dd && ss)
                return TIER_STATION;
        return TIER_NONE; /* grassroots unit without a district */
}

static int prefix_len(enum tier t)
{
        switch (t) {
        case TIER_CITY: return 4;
        case TIER_DISTRICT: return 6;
        case TIER_STATION: return 8;
        default: return 0;
        }
}

char *nodeid_prefix(const char *id, char *buf)
{
        int n = prefix_len(nodeid_tier(id));
        if (n == 0)
                return NULL;
        memcpy(buf, id, (size_t)n);
        buf[n] = '\0';
        return buf;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
        if (err && errlen > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int nodeid_check_node(const char *id, enum tier tier, char *err, size_t errlen)
{
        if (!nodeid_is_wellformed(id))
                return fail(err, errlen,
                            "node ID \"%.40s\" is not a GB/T 28181 ID: it must be exactly 20 digits "
                            "(centre code 8, industry 2, type 3, serial 7)",
                            id ? id : "");
        if (tier < TIER_CITY || tier > TIER_STATION)
                return fail(err, errlen, "node ID %s: tier must be city, district or station", id);
        int type = nodeid_type(id);
        if (type != NODEID_TYPE_PLATFORM)
                return fail(err, errlen,
                            "node ID %s has type %03d (digits 11-13), but a platform node "
                            "must have type %d (GB/T 28181 rule A)",
                            id, type, NODEID_TYPE_PLATFORM);
        enum tier actual = nodeid_tier(id);
        if (actual == TIER_NONE)
                return fail(err, errlen,
                            "node ID %s has centre code %.8s, which is no city (PPCC0000), "
                            "district (PPCCDD00) or station (PPCCDDSS) code; tier is %s: "
                            "a %s ID must look like %s",
                            id, id, tier_name(tier), tier_name(tier), tier_shapes[tier]);
        if (actual != tier)
                return fail(err, errlen,
                            "node ID %s is a %s centre code (%s), but tier is %s: "
                            "a %s ID must look like %s",
                            id, tier_name(actual),
                            actual == TIER_CITY ? "PPCC0000" :
                            actual == TIER_DISTRICT ? "PPCCDD00" : "PPCCDDSS",
                            tier_name(tier), tier_name(tier), tier_shapes[tier]);
        return 0;
}

int nodeid_check_child(const char *child, const char *parent, char *err, size_t errlen)
{
        enum tier ct = nodeid_tier(child), pt = nodeid_tier(parent);
        if (ct == TIER_NONE || pt == TIER_NONE)
                return fail(err, errlen, "node IDs \"%.40s\" and \"%.40s\" must both be "
                            "well-formed platform node IDs",
                            child ? child : "", parent ? parent : "");
        if (ct != pt + 1)
                return fail(err, errlen,
                            "node ID %s (%s) cannot sit directly under %s (%s): "
                            "a %s's parent must be a %s",
                            child, tier_name(ct), parent, tier_name(pt), tier_name(ct),
                            ct == TIER_CITY ? "nothing (the city is the root)" :
                            tier_name((enum tier)(ct - 1)));
        char prefix[9];
        nodeid_prefix(parent, prefix);
        if (strncmp(child, prefix, strlen(prefix)) != 0)
                return fail(err, errlen,
                            "node ID %s is not under parent %s (prefix %s): "
                            "a child's centre code must start with its parent's prefix",
                            child, parent, prefix);
        return 0;
}

int nodeid_check_below(const char *id, const char *above, char *err, size_t errlen)
{
        enum tier it, at = nodeid_tier(above);
        char prefix[9];

        if (!nodeid_is_wellformed(id))
                return fail(err, errlen, "\"%.40s\" is not a GB/T 28181 node ID (20 digits)", id ? id : "");
        if (at == TIER_NONE)
                return fail(err, errlen, "\"%.40s\" is no platform node ID", above ? above : "");
        if (nodeid_type(id) != NODEID_TYPE_PLATFORM)
                return fail(err, errlen, "node ID %s has type %03d (digits 11-13), not a platform's %d",
                            id, nodeid_type(id), NODEID_TYPE_PLATFORM);
        /* A station's code is a whole centre code: anything it names below
         * itself would be a second node of that code. */
        if (at == TIER_STATION)
                return fail(err, errlen, "station %s has no platforms below it: node %s is not its to announce",
                            above, id);
        it = nodeid_tier(id);
        nodeid_prefix(above, prefix);
        if (strncmp(id, prefix, strlen(prefix)) != 0)
                return fail(err, errlen, "node %s is not under %s (prefix %s): a node announces only its own "
                            "subtree", id, above, prefix);
        if (it == TIER_NONE || it <= at)
                return fail(err, errlen, "node %s (%s) is not of a lower tier than %s (%s): one node per "
                            "centre code, and only below it", id, tier_name(it), above, tier_name(at));
        return 0;
}

bool nodeid_at_or_below(const char *id, const char *node)
{
        if (!id || !node)
                return false;
        return (nodeid_is_wellformed(id) && strcmp(id, node) == 0) || nodeid_check_below(id, node, NULL, 0) == 0;
}

bool nodeid_under(const char *id, const char *root)
{
        char prefix[9];
        if (!nodeid_is_wellformed(id) || !nodeid_prefix(root, prefix))
                return false;
        return strncmp(id, prefix, strlen(prefix)) == 0;
}

/* Unit tests for lib/nodeid.c: GB/T 28181 IDs and the tier rules. */
#include <errno.h>

#include "base/nodeid.h"
#include "unit.h"

#define CITY     "43010000002000000001"
#define YUELU    "43010400002000000001"
#define FURONG   "43010200002000000001"
#define YUELU_1  "43010401002000000001"
#define YUELU_2  "43010402002000000001"
#define FURONG_1 "43010201002000000001"

static void test_wellformed(void)
{
        CHECK(nodeid_is_wellformed(CITY));
        CHECK(!nodeid_is_wellformed(NULL));
        CHECK(!nodeid_is_wellformed(""));
        CHECK(!nodeid_is_wellformed("4301000000200000000"));     /* 19 */
        CHECK(!nodeid_is_wellformed("430100000020000000011"));   /* 21 */
        CHECK(!nodeid_is_wellformed("4301000000200000000a"));
        CHECK(!nodeid_is_wellformed("-3010000002000000001"));
        CHECK(!nodeid_is_wellformed(" 43010000002000000001"));
}

static void test_type_and_tier(void)
{
        CHECK(nodeid_type(CITY) == 200);
        CHECK(nodeid_type("43010401001310000001") == 131);
        CHECK(nodeid_tier(CITY) == TIER_CITY);
        CHECK(nodeid_tier(YUELU) == TIER_DISTRICT);
        CHECK(nodeid_tier(YUELU_1) == TIER_STATION);
        CHECK(nodeid_tier("43000000002000000001") == TIER_NONE);  /* province */
        CHECK(nodeid_tier("00000000002000000001") == TIER_NONE);
        CHECK(nodeid_tier("43010001002000000001") == TIER_NONE);  /* unit, no district */
        CHECK(nodeid_tier("not an id") == TIER_NONE);
}

static void test_prefix(void)
{
        char buf[9];
        CHECK_STREQ(nodeid_prefix(CITY, buf), "4301");
        CHECK_STREQ(nodeid_prefix(YUELU, buf), "430104");
        CHECK_STREQ(nodeid_prefix(YUELU_1, buf), "43010401");
        CHECK(nodeid_prefix("43010001002000000001", buf) == NULL);
}

static void test_tier_names(void)
{
        enum tier t = TIER_NONE;
        CHECK(tier_parse("city", &t) == 0 && t == TIER_CITY);
        CHECK(tier_parse("district", &t) == 0 && t == TIER_DISTRICT);
        CHECK(tier_parse("station", &t) == 0 && t == TIER_STATION);
        CHECK(tier_parse("none", &t) == -EINVAL);
        CHECK(tier_parse("City", &t) == -EINVAL);
        CHECK(tier_parse(NULL, &t) == -EINVAL);
        CHECK_STREQ(tier_name(TIER_DISTRICT), "district");
        CHECK_STREQ(tier_name((enum tier)42), "none");
}

static void test_check_node(void)
{
        char err[256];
        CHECK(nodeid_check_node(CITY, TIER_CITY, err, sizeof(err)) == 0);
        CHECK(nodeid_check_node(YUELU, TIER_DISTRICT, err, sizeof(err)) == 0);
        CHECK(nodeid_check_node(YUELU_1, TIER_STATION, err, sizeof(err)) == 0);

        /* wrong type: a camera ID is no platform node */
        err[0] = '\0';
        CHECK(nodeid_check_node("43010401001310000001", TIER_STATION, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "43010401001310000001");
        CHECK_CONTAINS(err, "type 131");
        CHECK_CONTAINS(err, "200");

        /* a station tier with a district code */
        CHECK(nodeid_check_node(YUELU, TIER_STATION, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, YUELU);
        CHECK_CONTAINS(err, "district centre code (PPCCDD00), but tier is station");
        CHECK_CONTAINS(err, "PPCCDDSS");

        CHECK(nodeid_check_node(YUELU_1, TIER_CITY, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "tier is city");
        CHECK(nodeid_check_node(CITY, TIER_DISTRICT, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "city centre code");

        CHECK(nodeid_check_node("43010001002000000001", TIER_STATION, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "43010001");

        CHECK(nodeid_check_node("4301", TIER_CITY, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "20 digits");
        CHECK(nodeid_check_node(CITY, TIER_NONE, err, sizeof(err)) == -EINVAL);
        /* a NULL/zero-size error buffer is allowed */
        CHECK(nodeid_check_node(YUELU, TIER_STATION, NULL, 0) == -EINVAL);
}

static void test_check_child(void)
{
        char err[256];
        CHECK(nodeid_check_child(YUELU_1, YUELU, err, sizeof(err)) == 0);
        CHECK(nodeid_check_child(YUELU_2, YUELU, err, sizeof(err)) == 0);
        CHECK(nodeid_check_child(FURONG_1, FURONG, err, sizeof(err)) == 0);
        CHECK(nodeid_check_child(YUELU, CITY, err, sizeof(err)) == 0);
        CHECK(nodeid_check_child(FURONG, CITY, err, sizeof(err)) == 0);

        /* yuelu-1 under furong */
        err[0] = '\0';
        CHECK(nodeid_check_child(YUELU_1, FURONG, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, YUELU_1);
        CHECK_CONTAINS(err, FURONG);
        CHECK_CONTAINS(err, "prefix 430102");

        /* station directly under the city */
        CHECK(nodeid_check_child(YUELU_1, CITY, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, YUELU_1);
        CHECK_CONTAINS(err, CITY);
        CHECK_CONTAINS(err, "a station's parent must be a district");

        /* upside down, siblings, itself */
        CHECK(nodeid_check_child(CITY, YUELU, err, sizeof(err)) == -EINVAL);
        CHECK(nodeid_check_child(YUELU_1, YUELU_2, err, sizeof(err)) == -EINVAL);
        CHECK(nodeid_check_child(YUELU, YUELU, err, sizeof(err)) == -EINVAL);
        /* a city of another province cannot hold our district */
        CHECK(nodeid_check_child(YUELU, "44010000002000000001", err, sizeof(err)) == -EINVAL);
        CHECK(nodeid_check_child("junk", CITY, err, sizeof(err)) == -EINVAL);
}

static void test_under(void)
{
        CHECK(nodeid_under("43010401001310000007", YUELU_1));   /* camera at yuelu-1 */
        CHECK(nodeid_under("43010401001310000007", YUELU));
        CHECK(nodeid_under("43010401001310000007", CITY));
        CHECK(!nodeid_under("43010401001310000007", YUELU_2));
        CHECK(!nodeid_under("43010401001310000007", FURONG));
        CHECK(nodeid_under(YUELU, YUELU));
        CHECK(!nodeid_under(CITY, YUELU));
        CHECK(!nodeid_under("bad", CITY));
        CHECK(!nodeid_under(YUELU, "bad"));
}

/* Issue 17, fault 6: what a node may announce below itself. Strictly
 * below, of a lower tier: never a second node of its own centre code (a
 * station has nothing below it), nor its parent's or a sibling's. */
static void test_check_below(void)
{
        char err[256];

        CHECK(nodeid_check_below(YUELU_1, YUELU, err, sizeof(err)) == 0);
        CHECK(nodeid_check_below(YUELU_1, CITY, err, sizeof(err)) == 0);
        CHECK(nodeid_check_below(YUELU, CITY, err, sizeof(err)) == 0);

        /* A station fabricating a node inside its own centre code. */
        err[0] = '\0';
        CHECK(nodeid_check_below("43010401002000000099", YUELU_1, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "station " YUELU_1 " has no platforms below it");
        CHECK(nodeid_check_below(YUELU_2, YUELU_1, err, sizeof(err)) == -EINVAL);
        /* A district announcing a twin of itself, or itself. */
        err[0] = '\0';
        CHECK(nodeid_check_below("43010400002000000002", YUELU, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "not of a lower tier than " YUELU);
        CHECK(nodeid_check_below(YUELU, YUELU, err, sizeof(err)) == -EINVAL);
        /* Above it, beside it, not a platform, no tier. */
        CHECK(nodeid_check_below(CITY, YUELU, err, sizeof(err)) == -EINVAL);
        err[0] = '\0';
        CHECK(nodeid_check_below(FURONG_1, YUELU, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "not under " YUELU " (prefix 430104)");
        err[0] = '\0';
        CHECK(nodeid_check_below("43010401001310000001", YUELU, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "type 131");
        CHECK(nodeid_check_below("43010001002000000001", CITY, err, sizeof(err)) == -EINVAL);
        CHECK(nodeid_check_below("junk", CITY, err, sizeof(err)) == -EINVAL);
        CHECK(nodeid_check_below(YUELU_1, "junk", err, sizeof(err)) == -EINVAL);
        CHECK(nodeid_check_below(NULL, CITY, err, sizeof(err)) == -EINVAL);
}

/* What a child may speak for (its log, officers' units, stations): itself
 * or a node below it, never a node it invented inside its own code. */
static void test_at_or_below(void)
{
        CHECK(nodeid_at_or_below(YUELU_1, YUELU_1));
        CHECK(nodeid_at_or_below(YUELU_1, YUELU));
        CHECK(nodeid_at_or_below(YUELU, YUELU));
        CHECK(nodeid_at_or_below(YUELU_1, CITY));
        CHECK(!nodeid_at_or_below("43010401002000000099", YUELU_1));
        CHECK(!nodeid_at_or_below("43010400002000000099", YUELU));
        CHECK(!nodeid_at_or_below(YUELU_2, YUELU_1));
        CHECK(!nodeid_at_or_below(YUELU, YUELU_1));
        CHECK(!nodeid_at_or_below("43010401001310000001", YUELU_1));    /* a camera is no node */
        CHECK(!nodeid_at_or_below(NULL, YUELU));
        CHECK(!nodeid_at_or_below("junk", "junk"));
}

int main(void)
{
        RUN(test_wellformed);
        RUN(test_type_and_tier);
        RUN(test_prefix);
        RUN(test_tier_names);
        RUN(test_check_node);
        RUN(test_check_child);
        RUN(test_under);
        RUN(test_check_below);
        RUN(test_at_or_below);
        return 0;
}

/* Unit tests of lib/delivery/tree.c's encoders: what tree_encode_node_state and
 * tree_encode_link_probe produce must come back, field for field, through
 * the checked decoder every receiver uses (wire_decode_change). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "delivery/tree.h"
#include "wire/wire.h"

#define STATION "43010401002000000001"
#define DISTRICT "43010400002000000001"
#define CITY "43010000002000000001"

static Vigil__Change *decode(uint8_t *buf, size_t len)
{
        Vigil__Change *c = NULL;
        char err[256] = "";

        if (wire_decode_change(buf, len, &c, err, sizeof(err)) != 0) {
                fprintf(stderr, "wire_decode_change: %s\n", err);
                exit(1);
        }
        free(buf);
        return c;
}

static void test_node_state(void)
{
        uint8_t *buf = NULL;
        size_t len = 0;
        Vigil__Change *c;
        Vigil__NodeState *s;

        CHECK(tree_encode_node_state(STATION, DISTRICT, VIGIL__TIER__TIER_STATION, "yuelu-1", true,
                                        1700000000123456LL, 42, &buf, &len) == 0);
        CHECK(buf && len > 0);
        c = decode(buf, len);
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_NODE_STATE);
        s = c->node_state;
        CHECK_STREQ(s->node_id, STATION);
        CHECK_STREQ(s->parent_id, DISTRICT);
        CHECK(s->has_tier && s->tier == VIGIL__TIER__TIER_STATION);
        CHECK_STREQ(s->name, "yuelu-1");
        CHECK(s->has_online && s->online);
        CHECK(s->has_last_seen_us && s->last_seen_us == 1700000000123456LL);
        CHECK(s->has_version && s->version == 42);
        wire_change_free(c);
}

/* The city has no parent; a node never seen has no last_seen; offline is
 * sent as false, not left out. */
static void test_node_state_city(void)
{
        uint8_t *buf = NULL;
        size_t len = 0;
        Vigil__Change *c;
        Vigil__NodeState *s;

        CHECK(tree_encode_node_state(CITY, NULL, VIGIL__TIER__TIER_CITY, "city", false, 0, 1,
                                        &buf, &len) == 0);
        c = decode(buf, len);
        s = c->node_state;
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_NODE_STATE);
        CHECK_STREQ(s->node_id, CITY);
        CHECK(s->parent_id == NULL);
        CHECK(s->has_tier && s->tier == VIGIL__TIER__TIER_CITY);
        CHECK(s->has_online && !s->online);
        CHECK(!s->has_last_seen_us);
        CHECK(s->has_version && s->version == 1);
        wire_change_free(c);
}

/* A malformed ID encodes (the encoder trusts its caller) but the receiver's
 * decoder refuses it. */
static void test_node_state_bad_id_refused(void)
{
        uint8_t *buf = NULL;
        size_t len = 0;
        Vigil__Change *c = NULL;
        char err[256] = "";

        CHECK(tree_encode_node_state("4301", NULL, VIGIL__TIER__TIER_STATION, "x", true, 0, 1,
                                        &buf, &len) == 0);
        CHECK(wire_decode_change(buf, len, &c, err, sizeof(err)) == -EBADMSG);
        CHECK(c == NULL);
        CHECK_CONTAINS(err, "node_id");
        free(buf);
}

static void test_link_probe(void)
{
        uint8_t *buf = NULL;
        size_t len = 0, i;
        Vigil__Change *c;
        Vigil__LinkProbe *p;

        CHECK(tree_encode_link_probe(STATION, 0x1122334455667788ULL, 7, 1700000000654321LL, 1000,
                                        &buf, &len) == 0);
        CHECK(len > 1000);
        c = decode(buf, len);
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_LINK_PROBE);
        p = c->link_probe;
        CHECK_STREQ(p->origin, STATION);
        CHECK(p->has_probe_id && p->probe_id == 0x1122334455667788ULL);
        CHECK(p->has_number && p->number == 7);
        CHECK(p->has_sent_at_us && p->sent_at_us == 1700000000654321LL);
        CHECK(p->has_padding && p->padding.len == 1000);
        for (i = 0; i < p->padding.len; i++)
                CHECK(p->padding.data[i] == 0);
        wire_change_free(c);

        /* Without padding the field is absent and the message small. */
        CHECK(tree_encode_link_probe(STATION, 1, 1, 5, 0, &buf, &len) == 0);
        CHECK(len < 64);
        c = decode(buf, len);
        p = c->link_probe;
        CHECK(!p->has_padding);
        CHECK(p->probe_id == 1 && p->number == 1 && p->sent_at_us == 5);
        wire_change_free(c);
}

/* A camera's row and its status delta (lib/catalog.c): the delta carries
 * the status alone, a fraction of the row. */

/* Issue 17, fault 6: what a child may announce, through the check the
 * change kinds call (tree_add_node_state / tree_add_node_removed). */
static Vigil__NodeState state(const char *id, const char *parent, Vigil__Tier tier)
{
        Vigil__NodeState s = VIGIL__NODE_STATE__INIT;

        s.node_id = (char *)id;
        s.parent_id = (char *)parent;
        s.has_tier = 1;
        s.tier = tier;
        s.name = (char *)"n";
        return s;
}

static void test_child_announces_only_below_itself(void)
{
        Vigil__NodeState s;
        Vigil__NodeRemoved rm = VIGIL__NODE_REMOVED__INIT;
        char err[512];

        /* A district's station, as the district's enrolment and observations
         * send it up to the city. */
        s = state(STATION, DISTRICT, VIGIL__TIER__TIER_STATION);
        CHECK(tree_check_node_state(DISTRICT, &s, err, sizeof(err)) == 0);

        /* A station fabricating a node inside its own centre code. */
        err[0] = '\0';
        s = state("43010401002000000099", STATION, VIGIL__TIER__TIER_STATION);
        CHECK(tree_check_node_state(STATION, &s, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "station " STATION " has no platforms below it");
        /* ... or claiming a lower tier for it. */
        s = state("43010401002000000099", STATION, VIGIL__TIER__TIER_DISTRICT);
        CHECK(tree_check_node_state(STATION, &s, err, sizeof(err)) == -EBADMSG);
        /* A district announcing a twin of itself. */
        err[0] = '\0';
        s = state("43010400002000000009", CITY, VIGIL__TIER__TIER_DISTRICT);
        CHECK(tree_check_node_state(DISTRICT, &s, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "not of a lower tier");
        /* A station's tier that is not the one its ID encodes. */
        err[0] = '\0';
        s = state(STATION, DISTRICT, VIGIL__TIER__TIER_DISTRICT);
        CHECK(tree_check_node_state(DISTRICT, &s, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "its tier is not the station its ID encodes");
        /* Its parent must be the child itself (or below it), directly above. */
        err[0] = '\0';
        s = state(STATION, CITY, VIGIL__TIER__TIER_STATION);
        CHECK(tree_check_node_state(DISTRICT, &s, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "parent " CITY " is not " DISTRICT);
        s = state(STATION, "43010400002000000009", VIGIL__TIER__TIER_STATION);
        CHECK(tree_check_node_state(DISTRICT, &s, err, sizeof(err)) == -EBADMSG);
        s = state(STATION, NULL, VIGIL__TIER__TIER_STATION);
        CHECK(tree_check_node_state(DISTRICT, &s, err, sizeof(err)) == -EBADMSG);

        /* Removals: below the child only; a station removes nothing. */
        rm.node_id = (char *)STATION;
        CHECK(tree_check_node_removed(DISTRICT, &rm, err, sizeof(err)) == 0);
        CHECK(tree_check_node_removed(CITY, &rm, err, sizeof(err)) == 0);
        err[0] = '\0';
        rm.node_id = (char *)"43010401002000000099";
        CHECK(tree_check_node_removed(STATION, &rm, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "node removed refused");
        rm.node_id = (char *)DISTRICT;
        CHECK(tree_check_node_removed(DISTRICT, &rm, err, sizeof(err)) == -EBADMSG);
}

int main(void)
{
        RUN(test_node_state);
        RUN(test_node_state_city);
        RUN(test_node_state_bad_id_refused);
        RUN(test_link_probe);
        RUN(test_child_announces_only_below_itself);
        return 0;
}

/* lib/wire/trust.c: whose signatures a node accepts. A station configured
 * with the city's key takes the chain its district sends only if it checks
 * from that key down to itself; a compromised district can certify neither
 * a "city" key of its own, nor a sibling's key, nor a key for the station
 * other than the station's; a refused chain leaves the one held. */
#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "vigil.pb-c.h"
#include "wire/decision.h"
#include "wire/trust.h"
#include "unit.h"

#define CITY "43010000002000000001"
#define DISTRICT "43010400002000000001"
#define STATION "43010401002000000001"
#define SIBLING "43010402002000000001"
#define OTHER_DISTRICT "43010200002000000001"

static uint8_t city_pk[32], city_sk[64], dist_pk[32], dist_sk[64], st_pk[32], st_sk[64], x_pk[32], x_sk[64];
static char err[512];

/* The district as the city enrolled it, and the station's chain it sends. */
static void district_trust(struct trust *d)
{
        Vigil__NodeCert c, *chain[1] = { &c };
        uint8_t sig[64];
        struct trust city;

        trust_init(&city, CITY, city_pk, NULL);
        CHECK(city.complete && city.n == 1);
        CHECK(trust_chain(&city, &c) == 0);                       /* the city has none to pass */
        CHECK(trust_certify(&city, city_sk, DISTRICT, dist_pk, &c, sig) == 0);
        trust_init(d, DISTRICT, dist_pk, city_pk);
        CHECK(!d->complete);
        CHECK(trust_accept(d, chain, 1, err, sizeof(err)) == 0);
        CHECK(d->complete && d->n == 2);
}

static void test_chain_from_the_root(void)
{
        struct trust d, s;
        Vigil__NodeCert certs[TRUST_MAX], *chain[TRUST_MAX];
        uint8_t sig[64];
        size_t n;

        district_trust(&d);
        n = trust_chain(&d, certs);
        CHECK(n == 1);
        CHECK(trust_certify(&d, dist_sk, STATION, st_pk, &certs[n], sig) == 0);
        chain[0] = &certs[0];
        chain[1] = &certs[1];
        trust_init(&s, STATION, st_pk, city_pk);
        CHECK(trust_key(&s, CITY) == NULL);                       /* not before the chain */
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == 0);
        CHECK(memcmp(trust_key(&s, CITY), city_pk, 32) == 0);
        CHECK(memcmp(trust_key(&s, DISTRICT), dist_pk, 32) == 0);
        CHECK(memcmp(trust_key(&s, STATION), st_pk, 32) == 0);
        CHECK(trust_key(&s, SIBLING) == NULL);
        CHECK(!trust_differs(&s, chain, 2));
}

/* The district signs everything itself: its own "city" certificate, or a
 * certificate naming itself with another key. */
static void test_compromised_district_cannot_forge(void)
{
        struct trust s;
        Vigil__NodeCert fake_city, mine, *chain[2] = { &fake_city, &mine };
        uint8_t s1[64], s2[64];
        struct trust cx, dx;

        /* "The city certifies the district with key X": signed by X. */
        trust_init(&cx, CITY, x_pk, NULL);
        CHECK(trust_certify(&cx, x_sk, DISTRICT, x_pk, &fake_city, s1) == 0);
        trust_init(&dx, DISTRICT, x_pk, city_pk);
        CHECK(trust_certify(&dx, x_sk, STATION, st_pk, &mine, s2) == 0);
        trust_init(&s, STATION, st_pk, city_pk);
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "certificate 1");
        CHECK(!s.complete && trust_key(&s, CITY) == NULL && trust_key(&s, DISTRICT) == NULL);
}

static void test_chain_must_reach_this_node(void)
{
        struct trust d, s;
        Vigil__NodeCert certs[TRUST_MAX], *chain[TRUST_MAX];
        uint8_t sig[64];

        district_trust(&d);
        CHECK(trust_chain(&d, certs) == 1);
        chain[0] = &certs[0];
        chain[1] = &certs[1];
        /* A sibling's certificate, sent to this station. */
        CHECK(trust_certify(&d, dist_sk, SIBLING, x_pk, &certs[1], sig) == 0);
        trust_init(&s, STATION, st_pk, city_pk);
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "ends at " SIBLING);
        /* This station, with a key it does not hold. */
        CHECK(trust_certify(&d, dist_sk, STATION, x_pk, &certs[1], sig) == 0);
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "another signing key");
        /* Only the district's certificate: it does not reach the station. */
        CHECK(trust_accept(&s, chain, 1, err, sizeof(err)) == -EPERM);
        /* Nothing. */
        CHECK(trust_accept(&s, chain, 0, err, sizeof(err)) == -EPERM);
        CHECK(!s.complete);
}

/* The city certifying the station directly, skipping the district; a
 * district of another branch in between; a configured root of another city. */
static void test_chain_follows_the_tree(void)
{
        struct trust city, s, od;
        Vigil__NodeCert c1, c2, *chain[2] = { &c1, &c2 };
        uint8_t s1[64], s2[64];

        trust_init(&city, CITY, city_pk, NULL);
        CHECK(trust_certify(&city, city_sk, STATION, st_pk, &c1, s1) == 0);
        trust_init(&s, STATION, st_pk, city_pk);
        CHECK(trust_accept(&s, chain, 1, err, sizeof(err)) == -EPERM);

        CHECK(trust_certify(&city, city_sk, OTHER_DISTRICT, x_pk, &c1, s1) == 0);
        trust_init(&od, OTHER_DISTRICT, x_pk, city_pk);
        CHECK(trust_certify(&od, x_sk, STATION, st_pk, &c2, s2) == 0);
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "certificate 2");

        /* A station configured with another root key refuses the real chain. */
        CHECK(trust_certify(&city, city_sk, DISTRICT, dist_pk, &c1, s1) == 0);
        trust_init(&od, DISTRICT, dist_pk, city_pk);
        CHECK(trust_certify(&od, dist_sk, STATION, st_pk, &c2, s2) == 0);
        trust_init(&s, STATION, st_pk, x_pk);
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == -EPERM);
        trust_init(&s, STATION, st_pk, city_pk);
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == 0);
}

/* A refused chain leaves the one held: a district that turned hostile
 * cannot make its station forget the city's key. */
static void test_refused_chain_keeps_the_held_one(void)
{
        struct trust d, s;
        Vigil__NodeCert certs[TRUST_MAX], *chain[TRUST_MAX];
        uint8_t sig[64], bad[64];

        district_trust(&d);
        CHECK(trust_chain(&d, certs) == 1);
        CHECK(trust_certify(&d, dist_sk, STATION, st_pk, &certs[1], sig) == 0);
        chain[0] = &certs[0];
        chain[1] = &certs[1];
        trust_init(&s, STATION, st_pk, city_pk);
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == 0);
        memcpy(bad, certs[0].signature.data, 64);
        bad[0] ^= 1;
        certs[0].signature.data = bad;
        CHECK(trust_differs(&s, chain, 2));
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == -EPERM);
        CHECK(s.complete && memcmp(trust_key(&s, DISTRICT), dist_pk, 32) == 0);
}

/* trust_check: who may sign what reaches this station. */
static void test_check_decisions(void)
{
        struct trust d, s;
        Vigil__NodeCert certs[TRUST_MAX], *chain[TRUST_MAX];
        Vigil__Grant g = VIGIL__GRANT__INIT;
        uint8_t sig[64], gsig[64];

        district_trust(&d);
        CHECK(trust_chain(&d, certs) == 1);
        CHECK(trust_certify(&d, dist_sk, STATION, st_pk, &certs[1], sig) == 0);
        chain[0] = &certs[0];
        chain[1] = &certs[1];
        trust_init(&s, STATION, st_pk, city_pk);
        g.request_id = "r";
        g.filed_at = CITY;
        /* Unsigned, before the chain came: refused, saying why. */
        CHECK(trust_check(&s, &g.base, CITY, NULL, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "not signed");
        CHECK(decision_sign(&g.base, CITY, city_sk, gsig, NULL) == 0);
        CHECK(trust_check(&s, &g.base, CITY, NULL, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "no chain");
        CHECK(trust_accept(&s, chain, 2, err, sizeof(err)) == 0);
        CHECK(trust_check(&s, &g.base, CITY, NULL, err, sizeof(err)) == 0);
        CHECK(trust_check(&s, &g.base, NULL, NULL, err, sizeof(err)) == 0);
        /* The district signs as itself a grant the city decided. */
        CHECK(decision_sign(&g.base, DISTRICT, dist_sk, gsig, NULL) == 0);
        CHECK(trust_check(&s, &g.base, CITY, NULL, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "not by " CITY);
        /* ... or names the city, with its own key. */
        CHECK(decision_sign(&g.base, CITY, dist_sk, gsig, NULL) == 0);
        CHECK(trust_check(&s, &g.base, CITY, NULL, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "forged or altered");
        /* A node that is not an ancestor. */
        CHECK(decision_sign(&g.base, SIBLING, x_sk, gsig, NULL) == 0);
        CHECK(trust_check(&s, &g.base, NULL, NULL, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, "not an ancestor");
}

int main(void)
{
        CHECK(sodium_init() >= 0);
        crypto_sign_keypair(city_pk, city_sk);
        crypto_sign_keypair(dist_pk, dist_sk);
        crypto_sign_keypair(st_pk, st_sk);
        crypto_sign_keypair(x_pk, x_sk);
        RUN(test_chain_from_the_root);
        RUN(test_compromised_district_cannot_forge);
        RUN(test_chain_must_reach_this_node);
        RUN(test_chain_follows_the_tree);
        RUN(test_refused_chain_keeps_the_held_one);
        RUN(test_check_decisions);
        return 0;
}

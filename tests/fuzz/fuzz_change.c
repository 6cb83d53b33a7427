/* Fuzz target for each change kind's semantic decoder behind the router
 * (issue 17, harness item 4): what change_batch_add() hands a feature's
 * `add` or `row` callback after wire_decode_change(), with the node's real
 * change table as node_register() builds it (the tree's kinds, the
 * catalog, officers, grants, conferrals, audit, emergencies).
 *
 * The statements land in a real struct db_tx (lib/db/db.c builds one in
 * memory) that is never submitted, so no PostgreSQL is needed. The nodes'
 * signing keys come from fixed seeds (the city's: bytes 1) and each holds
 * its chain of keys from the city, so decisions signed as make_seeds.c
 * signs them get past the signature checks into the kinds' own.
 *
 * Input: one byte choosing the receiving node and the direction, then
 * changes, each a 2-byte big-endian length and that many bytes, all added
 * to one batch (as one applying transaction of the link does):
 *   byte 0, bits 0-1: 0 station (from its parent, the district),
 *                     1 district (from its parent, or from a child station),
 *                     2, 3 city (from a child district)
 *           bit 2:    the district's changes come from its parent
 *           bit 3:    a snapshot's changes
 * A refusal (-EBADMSG with a reason) is fine; a crash, a sanitizer report,
 * an empty reason or another error is a finding. */
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"
#include "node.h"
#include "wire/trust.h"

#define CITY "43010000002000000001"
#define DISTRICT "43010400002000000001"
#define STATION "43010401002000000001"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct node nodes[3];
static uint8_t city_sign_public[32];

/* Keys from fixed seeds: an input replays the same way in every run. */
static void fixed_keys(struct node *n, unsigned char which)
{
        unsigned char seed[crypto_sign_SEEDBYTES];

        memset(seed, which, sizeof(seed));
        crypto_sign_seed_keypair(n->keys.sign_public, n->keys.sign_secret, seed);
        memset(n->keys.credentials_key, which, sizeof(n->keys.credentials_key));
        /* The CURVE keys are not used by applying. */
        memset(n->keys.curve_public, '0', KEYS_Z85_LEN);
        memset(n->keys.curve_secret, '0', KEYS_Z85_LEN);
}

static void node_setup(struct node *n, enum tier tier, const char *id, const char *parent)
{
        memset(n, 0, sizeof(*n));
        config_init(&n->cfg);
        n->cfg.tier = tier;
        snprintf(n->cfg.node_id, sizeof(n->cfg.node_id), "%s", id);
        snprintf(n->cfg.parent_id, sizeof(n->cfg.parent_id), "%s", parent ? parent : "");
        n->loop = uv_default_loop();
        fixed_keys(n, (unsigned char)tier);
        delivery_init(&n->delivery, n->loop, &n->cfg);
        trust_init(&n->delivery.trust, n->cfg.node_id, n->keys.sign_public,
                   tier == TIER_CITY ? NULL : city_sign_public);
        node_register(n);
}

/* PARENT certifies CHILD's signing key, and CHILD takes the chain, as the
 * downlink's Welcome and the uplink do: decisions from above then check
 * against the real chain of keys. */
static void certify(struct node *parent, struct node *child)
{
        Vigil__NodeCert certs[TRUST_MAX], *chain[TRUST_MAX];
        uint8_t sig[64];
        char err[256];
        size_t n = trust_chain(&parent->delivery.trust, certs), k;

        if (n >= TRUST_MAX || trust_certify(&parent->delivery.trust, parent->keys.sign_secret, child->cfg.node_id,
                                            child->keys.sign_public, &certs[n], sig) < 0)
                abort();
        n++;
        for (k = 0; k < n; k++)
                chain[k] = &certs[k];
        if (trust_accept(&child->delivery.trust, chain, n, err, sizeof(err)) < 0) {
                fprintf(stderr, "fuzz_change: %s\n", err);
                abort();
        }
}

static void setup(void)
{
        static bool done;

        if (done)
                return;
        done = true;
        if (sodium_init() < 0)
                abort();
        /* The refusals log: not what a campaign should print. */
        if (!getenv("VIGIL_FUZZ_LOG"))
                log_set_level(LOG_ERROR);
        node_setup(&nodes[2], TIER_CITY, CITY, NULL);
        memcpy(city_sign_public, nodes[2].keys.sign_public, 32);
        node_setup(&nodes[1], TIER_DISTRICT, DISTRICT, CITY);
        node_setup(&nodes[0], TIER_STATION, STATION, DISTRICT);
        certify(&nodes[2], &nodes[1]);
        certify(&nodes[1], &nodes[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct node *n;
        struct change_batch *b;
        struct db_tx *tx;
        const char *via, *uplink;
        bool from_parent, snapshot;
        size_t at = 1;
        char err[512];

        setup();
        if (size < 1)
                return 0;
        n = &nodes[(data[0] & 3) > 2 ? 2 : data[0] & 3];
        snapshot = data[0] & 8;
        switch (n->cfg.tier) {
        case TIER_STATION:
                from_parent = true;
                break;
        case TIER_DISTRICT:
                from_parent = data[0] & 4;
                break;
        default:
                from_parent = false;
                break;
        }
        via = from_parent ? n->cfg.parent_id : n->cfg.tier == TIER_CITY ? DISTRICT : STATION;
        uplink = n->cfg.tier == TIER_CITY ? NULL : n->cfg.parent_id;
        tx = db_tx_new();
        if (!tx)
                return 0;
        b = change_batch_new(&n->delivery.kinds, tx, via, uplink, from_parent, snapshot);
        while (at + 2 <= size) {
                size_t len = (size_t)data[at] << 8 | data[at + 1];
                uint8_t *copy;
                int r;

                at += 2;
                if (len > size - at)
                        len = size - at;
                /* A copy of exactly LEN bytes, so that ASan sees any overread. */
                copy = malloc(len ? len : 1);
                if (!copy)
                        break;
                memcpy(copy, data + at, len);
                at += len;
                err[0] = '\0';
                r = change_batch_add(b, copy, len, err, sizeof(err));
                free(copy);
                if (r < 0 && (r != -EBADMSG || !err[0])) {
                        fprintf(stderr, "change_batch_add: %d, reason \"%s\"\n", r, err);
                        abort();        /* a refusal names its reason */
                }
        }
        change_batch_finish(b);
        db_tx_free(tx);
        return 0;
}

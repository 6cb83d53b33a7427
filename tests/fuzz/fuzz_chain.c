/* Fuzz target for what signed decisions do with untrusted bytes (issue
 * 15): a Welcome's chain of certificates checked from a root key
 * (trust_accept), and the signatures of the grants and orders in a Delta
 * checked against the keys that chain gave (trust_check, decision_verify).
 * The keys come from fixed seeds (corpus/chain was made with the same:
 * seeds of 32 bytes 0x01 for the city, 0x02 for the district, 0x03 for
 * the station), so the corpus reaches the paths a valid chain takes. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/trust.h"
#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STATION "43010401002000000001"

static struct trust trust;

static void fuzz_setup(void)
{
        static int done;
        uint8_t seed[32], root_pk[32], pk[32], sk[64];

        if (done)
                return;
        done = 1;
        if (sodium_init() < 0)
                abort();
        memset(seed, 1, sizeof(seed));
        crypto_sign_seed_keypair(root_pk, sk, seed);
        memset(seed, 3, sizeof(seed));
        crypto_sign_seed_keypair(pk, sk, seed);
        trust_init(&trust, STATION, pk, root_pk);
}

static void fuzz_change(const struct trust *t, const ProtobufCBinaryData *b)
{
        static const char *const unsigned_fields[] = { "request_id", NULL };
        Vigil__Change *c = NULL;
        char err[512];

        if (wire_decode_change(b->data, b->len, &c, err, sizeof(err)) < 0)
                return;
        if (c->kind_case == VIGIL__CHANGE__KIND_GRANT)
                (void)trust_check(t, &c->grant->base, c->grant->filed_at, NULL, err, sizeof(err));
        else if (c->kind_case == VIGIL__CHANGE__KIND_EMERGENCY_ORDER)
                (void)trust_check(t, &c->emergency_order->base, NULL, NULL, err, sizeof(err));
        else if (c->kind_case == VIGIL__CHANGE__KIND_CONFERRAL)
                (void)trust_check(t, &c->conferral->base, NULL, unsigned_fields, err, sizeof(err));
        wire_change_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct trust t;
        Vigil__Envelope *env = NULL;
        char err[512];

        fuzz_setup();
        t = trust;
        if (wire_decode_envelope(data, size, &env, err, sizeof(err)) < 0)
                return 0;
        if (env->body_case == VIGIL__ENVELOPE__BODY_WELCOME && env->welcome->n_chain > 0) {
                struct trust before = t;
                if (trust_accept(&t, env->welcome->chain, env->welcome->n_chain, err, sizeof(err)) < 0 &&
                    memcmp(&before, &t, sizeof(t)) != 0)
                        abort();   /* a refused chain leaves the trust as it was */
                if (t.complete && !trust_key(&t, STATION))
                        abort();   /* a chain taken reaches this node */
                (void)trust_differs(&t, env->welcome->chain, env->welcome->n_chain);
        } else if (env->body_case == VIGIL__ENVELOPE__BODY_VIEW_REQUEST) {
                static const char *const unsigned_fields[] = { "request_id", NULL };
                (void)trust_check(&t, &env->view_request->base, env->view_request->entry_node, unsigned_fields,
                                  err, sizeof(err));
        } else if (env->body_case == VIGIL__ENVELOPE__BODY_DELTA) {
                fuzz_change(&t, &env->delta->change);
                for (size_t i = 0; i < env->delta->n_changes; i++)
                        fuzz_change(&t, &env->delta->changes[i]);
        }
        wire_envelope_free(env);
        return 0;
}

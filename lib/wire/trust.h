/* trust: whose signatures a node accepts (issue 15, Art 19: a node below
 * acts only on what an ancestor with that authority decided).
 *
 * The root is the city's signing key, in every other node's config
 * ([parent] root_sign_key: given out of band, like the parent's CURVE
 * key). Every other key comes in a chain of certificates, each a NodeCert
 * naming a node and its signing key as its parent enrolled them (`vigilctl
 * node enroll … --sign-key`), signed by that parent:
 *
 *     city key (config) ─signs─> district's cert ─signs─> station's cert
 *
 * A parent sends the chain down in its Welcome: its own chain (as it got
 * it) and a certificate for the child, signed on the spot. The child
 * checks it from the root: each certificate signed by the key the one
 * before named, each node directly under its signer, the last naming the
 * child itself with the key it holds. So a compromised district can sign
 * only as the district: it cannot put a key of its own in the city's place,
 * nor name a sibling. A chain that does not check is refused and the one
 * held is kept. What a node holds is its ancestors and itself, nothing
 * else: "known here" means "an ancestor or this node". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "vigil.pb-c.h"

#define TRUST_MAX 8

struct trust_node {
        char id[21];
        uint8_t key[32];
        char signer[21];               /* its certificate's (empty: the root) */
        uint8_t sig[64];
};

struct trust {
        char self[21];
        uint8_t self_key[32];
        bool has_root;
        uint8_t root_key[32];
        /* From the root down to this node; only this node until a chain
         * checks (the root's ID is learnt from its first certificate). */
        struct trust_node nodes[TRUST_MAX];
        int n;
        bool complete;                 /* the chain reaches this node from the root */
        unsigned long refused;         /* decisions refused by the features for their signature */
};

/** Set T up for node SELF with signing key SELF_KEY. ROOT_KEY: the city's
 *  key (NULL at the city, whose own key is the root). */
void trust_init(struct trust *t, const char *self, const uint8_t self_key[32], const uint8_t *root_key);
/** Check the chain CERTS (N, from the city's first certificate down to
 *  this node's) and take it. 0; -EPERM with a sentence in ERR, T unchanged. */
int trust_accept(struct trust *t, Vigil__NodeCert *const *certs, size_t n, char *err, size_t errlen);
/** Whether T would change by CERTS (a chain already held is not stored again). */
bool trust_differs(const struct trust *t, Vigil__NodeCert *const *certs, size_t n);
/** The signing key of ancestor-or-self ID, or NULL. */
const uint8_t *trust_key(const struct trust *t, const char *id);
/** Fill OUT (at least TRUST_MAX) with this node's chain, pointing into T;
 *  the number filled (0 at the city, or while incomplete). */
size_t trust_chain(const struct trust *t, Vigil__NodeCert *out);
/** Sign, as this node (SECRET_KEY), the certificate of child CHILD with
 *  signing key CHILD_KEY into OUT, which points into T, CHILD, CHILD_KEY
 *  and SIG (they must outlive its packing). 0 or negative errno. */
int trust_certify(const struct trust *t, const uint8_t secret_key[64], const char *child,
                  const uint8_t child_key[32], Vigil__NodeCert *out, uint8_t sig[64]);
/** Whether M (a message with signer and signature) is signed by an
 *  ancestor-or-self; if DECIDER is not NULL, by DECIDER itself. 0, or
 *  -EPERM with a sentence in ERR naming who signed and what is wrong. */
int trust_check(const struct trust *t, const ProtobufCMessage *m, const char *decider,
                const char *const *unsigned_fields, char *err, size_t errlen);

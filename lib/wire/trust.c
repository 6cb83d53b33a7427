#include "wire/trust.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/nodeid.h"
#include "wire/decision.h"

void trust_init(struct trust *t, const char *self, const uint8_t self_key[32], const uint8_t *root_key)
{
        memset(t, 0, sizeof(*t));
        snprintf(t->self, sizeof(t->self), "%s", self);
        memcpy(t->self_key, self_key, 32);
        snprintf(t->nodes[0].id, sizeof(t->nodes[0].id), "%s", self);
        memcpy(t->nodes[0].key, self_key, 32);
        t->n = 1;
        if (root_key) {
                t->has_root = true;
                memcpy(t->root_key, root_key, 32);
                t->complete = false;
        } else {
                t->complete = true;     /* the city: its own key is the root */
        }
}

int trust_accept(struct trust *t, Vigil__NodeCert *const *certs, size_t n, char *err, size_t errlen)
{
        struct trust_node nodes[TRUST_MAX];
        const uint8_t *key = t->root_key;
        size_t k;
        int r;

        if (!t->has_root) {
                snprintf(err, errlen, "the city takes no chain: its own key is the root");
                return -EPERM;
        }
        if (n == 0 || n + 1 > TRUST_MAX) {
                snprintf(err, errlen, "a chain of %zu certificates cannot reach this node", n);
                return -EPERM;
        }
        memset(nodes, 0, sizeof(nodes));
        if (!certs[0]->signer || !nodeid_is_wellformed(certs[0]->signer) ||
            nodeid_tier(certs[0]->signer) != TIER_CITY || !nodeid_under(t->self, certs[0]->signer)) {
                snprintf(err, errlen, "the chain does not start at a city above this node");
                return -EPERM;
        }
        snprintf(nodes[0].id, sizeof(nodes[0].id), "%s", certs[0]->signer);
        memcpy(nodes[0].key, t->root_key, 32);
        for (k = 0; k < n; k++) {
                const Vigil__NodeCert *c = certs[k];
                char why[256];
                if (!c->node_id || !nodeid_is_wellformed(c->node_id) || !c->signer ||
                    strcmp(c->signer, nodes[k].id) != 0 || !c->has_sign_key || c->sign_key.len != 32 ||
                    nodeid_check_child(c->node_id, c->signer, why, sizeof(why)) < 0) {
                        snprintf(err, errlen, "certificate %zu (%s) does not follow %s", k + 1,
                                 c->node_id ? c->node_id : "no node", nodes[k].id);
                        return -EPERM;
                }
                r = decision_verify(&c->base, key, NULL);
                if (r < 0) {
                        snprintf(err, errlen, "certificate %zu (%s): %s", k + 1, c->node_id,
                                 r == -ENOMSG ? "not signed" : "its signature is not its signer's "
                                                               "(the root key or a forged certificate)");
                        return -EPERM;
                }
                snprintf(nodes[k + 1].id, sizeof(nodes[k + 1].id), "%s", c->node_id);
                memcpy(nodes[k + 1].key, c->sign_key.data, 32);
                snprintf(nodes[k + 1].signer, sizeof(nodes[k + 1].signer), "%s", c->signer);
                memcpy(nodes[k + 1].sig, c->signature.data, 64);
                key = nodes[k + 1].key;
        }
        if (strcmp(nodes[n].id, t->self) != 0 || memcmp(nodes[n].key, t->self_key, 32) != 0) {
                snprintf(err, errlen, "the chain ends at %s with %s signing key, not at this node with its own "
                         "(enrol this node's sign.pub at its parent)", nodes[n].id,
                         strcmp(nodes[n].id, t->self) == 0 ? "another" : "its");
                return -EPERM;
        }
        memcpy(t->nodes, nodes, sizeof(nodes));
        t->n = (int)n + 1;
        t->complete = true;
        return 0;
}

bool trust_differs(const struct trust *t, Vigil__NodeCert *const *certs, size_t n)
{
        size_t k;

        if (!t->complete || (size_t)t->n != n + 1)
                return true;
        for (k = 0; k < n; k++) {
                const struct trust_node *x = &t->nodes[k + 1];
                if (!certs[k]->node_id || strcmp(certs[k]->node_id, x->id) != 0 || certs[k]->sign_key.len != 32 ||
                    memcmp(certs[k]->sign_key.data, x->key, 32) != 0 || certs[k]->signature.len != 64 ||
                    memcmp(certs[k]->signature.data, x->sig, 64) != 0)
                        return true;
        }
        return false;
}

const uint8_t *trust_key(const struct trust *t, const char *id)
{
        int k;

        if (!id)
                return NULL;
        for (k = 0; k < t->n; k++)
                if (strcmp(t->nodes[k].id, id) == 0)
                        return t->nodes[k].key;
        return NULL;
}

size_t trust_chain(const struct trust *t, Vigil__NodeCert *out)
{
        size_t n = 0;
        int k;

        if (!t->complete || !t->has_root)
                return 0;
        for (k = 1; k < t->n; k++, n++) {
                Vigil__NodeCert *c = &out[n];
                vigil__node_cert__init(c);
                c->node_id = (char *)t->nodes[k].id;
                c->has_sign_key = 1;
                c->sign_key.data = (uint8_t *)t->nodes[k].key;
                c->sign_key.len = 32;
                c->signer = (char *)t->nodes[k].signer;
                c->has_signature = 1;
                c->signature.data = (uint8_t *)t->nodes[k].sig;
                c->signature.len = 64;
        }
        return n;
}

int trust_certify(const struct trust *t, const uint8_t secret_key[64], const char *child,
                  const uint8_t child_key[32], Vigil__NodeCert *out, uint8_t sig[64])
{
        vigil__node_cert__init(out);
        out->node_id = (char *)child;
        out->has_sign_key = 1;
        out->sign_key.data = (uint8_t *)child_key;
        out->sign_key.len = 32;
        return decision_sign(&out->base, t->self, secret_key, sig, NULL);
}

int trust_check(const struct trust *t, const ProtobufCMessage *m, const char *decider,
                const char *const *unsigned_fields, char *err, size_t errlen)
{
        const char *signer = decision_signer(m);
        const uint8_t *key;
        int r;

        if (!signer) {
                snprintf(err, errlen, "it is not signed");
                return -EPERM;
        }
        if (decider && strcmp(signer, decider) != 0) {
                snprintf(err, errlen, "it is signed by %s, not by %s, which decided it", signer, decider);
                return -EPERM;
        }
        key = trust_key(t, signer);
        if (!key) {
                snprintf(err, errlen, "it is signed by %s, %s", signer,
                         t->complete ? "which is not an ancestor of this node"
                                     : "and this node holds no chain of keys from the city yet");
                return -EPERM;
        }
        r = decision_verify(m, key, unsigned_fields);
        if (r < 0) {
                snprintf(err, errlen, "its signature is not %s's%s", signer,
                         r == -ENOMSG ? " (none)" : ": forged or altered on the way");
                return -EPERM;
        }
        return 0;
}

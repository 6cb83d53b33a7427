/* lib/wire/decision.c: a decision's signature vouches for exactly what its
 * signer decided. Any field changed (each field of a grant, in turn),
 * another key, another signer named, no signature, a signature moved to
 * another kind of message: refused. A field named unsigned (a hop's own
 * request_id) may change. Works alike for every message with signer and
 * signature (Grant, EmergencyOrder, ViewRequest, Conferral, NodeCert). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "vigil.pb-c.h"
#include "wire/decision.h"
#include "unit.h"

#define CITY "43010000002000000001"
#define DISTRICT "43010400002000000001"

static uint8_t pk[32], sk[64], other_pk[32], other_sk[64];

static char *cams[] = { "43010401001310000001", "43010401001310000002" };
static char *acts[] = { "view-live" };
static char *offs[] = { "inv-1", "inv-2" };

static void grant_fill(Vigil__Grant *g)
{
        vigil__grant__init(g);
        g->request_id = "req-1";
        g->has_version = 1;
        g->version = 7;
        g->n_cameras = 2;
        g->cameras = cams;
        g->n_actions = 1;
        g->actions = acts;
        g->n_officers = 2;
        g->officers = offs;
        g->has_rec_from_us = 1;
        g->rec_from_us = 1000;
        g->has_rec_to_us = 1;
        g->rec_to_us = 2000;
        g->has_valid_until_us = 1;
        g->valid_until_us = 1795957253000000;
        g->has_revoked = 1;
        g->revoked = 0;
        g->purpose = "theft";
        g->destination = "evidence room";
        g->case_no = "C-1";
        g->approved_by = "principal";
        g->filed_at = CITY;
}

/* Sign a grant, pack it, unpack it as a receiver would: the copy RET. */
static Vigil__Grant *grant_signed_copy(void)
{
        Vigil__Grant g;
        uint8_t sig[64], buf[2048];
        size_t n;

        grant_fill(&g);
        CHECK(decision_sign(&g.base, CITY, sk, sig, NULL) == 0);
        CHECK(strcmp(g.signer, CITY) == 0 && g.has_signature && g.signature.len == 64);
        n = vigil__grant__pack(&g, buf);
        return vigil__grant__unpack(NULL, n, buf);
}

static void test_signed_grant_verifies_after_the_wire(void)
{
        Vigil__Grant *g = grant_signed_copy();

        CHECK(g != NULL);
        CHECK(decision_verify(&g->base, pk, NULL) == 0);
        CHECK_STREQ(decision_signer(&g->base), CITY);
        CHECK(decision_verify(&g->base, other_pk, NULL) == -EBADMSG);
        vigil__grant__free_unpacked(g, NULL);
}

/* Each field of the grant changed in turn, as a node in between would. */
static void test_every_field_is_covered(void)
{
        Vigil__Grant *g = grant_signed_copy();
        char *other_cams[] = { "43010401001310000001", "43010402001310000002" };
        char *more_acts[] = { "view-live", "copy" };
        char *other_offs[] = { "inv-1", "mole" };
        Vigil__Grant t;
        int field;

        for (field = 0; field < 16; field++) {
                t = *g;
                switch (field) {
                case 0: t.request_id = "req-2"; break;
                case 1: t.version = 8; break;
                case 2: t.cameras = other_cams; break;
                case 3: t.n_cameras = 1; break;
                case 4: t.actions = more_acts; t.n_actions = 2; break;
                case 5: t.officers = other_offs; break;
                case 6: t.rec_from_us = 0; break;
                case 7: t.has_rec_to_us = 0; break;
                case 8: t.valid_until_us += 1; break;
                case 9: t.revoked = 1; break;             /* a forged revocation */
                case 10: t.purpose = "curiosity"; break;
                case 11: t.destination = NULL; break;
                case 12: t.case_no = "C-2"; break;
                case 13: t.approved_by = "mole"; break;
                case 14: t.filed_at = DISTRICT; break;
                case 15: t.signer = DISTRICT; break;       /* another signer named */
                }
                if (decision_verify(&t.base, pk, NULL) != -EBADMSG) {
                        fprintf(stderr, "field change %d not caught\n", field);
                        CHECK(0);
                }
        }
        /* The signature itself altered, or cut short. */
        t = *g;
        {
                uint8_t s2[64];
                memcpy(s2, g->signature.data, 64);
                s2[10] ^= 0x40;
                t.signature.data = s2;
                CHECK(decision_verify(&t.base, pk, NULL) == -EBADMSG);
                t.signature.len = 63;
                CHECK(decision_verify(&t.base, pk, NULL) == -ENOMSG);
        }
        vigil__grant__free_unpacked(g, NULL);
}

static void test_missing_signature_or_signer(void)
{
        Vigil__Grant g, t;
        uint8_t sig[64];

        grant_fill(&g);
        CHECK(decision_verify(&g.base, pk, NULL) == -ENOMSG);  /* never signed */
        CHECK(decision_signer(&g.base) == NULL);
        CHECK(decision_sign(&g.base, CITY, sk, sig, NULL) == 0);
        t = g;
        t.has_signature = 0;
        CHECK(decision_verify(&t.base, pk, NULL) == -ENOMSG);
        t = g;
        t.signer = NULL;
        CHECK(decision_verify(&t.base, pk, NULL) == -ENOMSG);
        t.signer = "";
        CHECK(decision_verify(&t.base, pk, NULL) == -ENOMSG);
        CHECK(decision_sign(&g.base, "", sk, sig, NULL) == -EINVAL);
}

static void test_wrong_key_signs(void)
{
        Vigil__Grant g;
        uint8_t sig[64];

        /* A district signing with its own key, naming the city as signer. */
        grant_fill(&g);
        CHECK(decision_sign(&g.base, CITY, other_sk, sig, NULL) == 0);
        CHECK(decision_verify(&g.base, pk, NULL) == -EBADMSG);
        CHECK(decision_verify(&g.base, other_pk, NULL) == 0);
}

/* A hop rewrites a view request's request_id: left out of what is signed;
 * nothing else may change. */
static void test_unsigned_fields(void)
{
        static const char *const unsigned_fields[] = { "request_id", NULL };
        static const char *const unknown[] = { "no_such_field", NULL };
        Vigil__ViewRequest r = VIGIL__VIEW_REQUEST__INIT, t;
        uint8_t sig[64];

        r.has_request_id = 1;
        r.request_id = 1;
        r.officer = "inv-1";
        r.officer_key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
        r.camera = "43010401001310000001";
        r.action = "view-live";
        r.entry_node = CITY;
        r.officer_unit = CITY;
        r.has_signed_at_us = 1;
        r.signed_at_us = 1795957253000000;
        CHECK(decision_sign(&r.base, CITY, sk, sig, unsigned_fields) == 0);
        t = r;
        t.request_id = 99;
        CHECK(decision_verify(&t.base, pk, unsigned_fields) == 0);
        CHECK(decision_verify(&t.base, pk, NULL) == -EBADMSG);
        t.officer_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        CHECK(decision_verify(&t.base, pk, unsigned_fields) == -EBADMSG);
        t = r;
        t.signed_at_us += 1;
        CHECK(decision_verify(&t.base, pk, unsigned_fields) == -EBADMSG);
        t = r;
        t.officer_unit = DISTRICT;
        CHECK(decision_verify(&t.base, pk, unsigned_fields) == -EBADMSG);
        CHECK(decision_sign(&r.base, CITY, sk, sig, unknown) == -EINVAL);
}

/* The same bytes are not the same decision as another kind of message, and
 * a message without the two fields cannot be signed. */
static void test_any_message_with_the_fields(void)
{
        Vigil__EmergencyOrder o = VIGIL__EMERGENCY_ORDER__INIT;
        Vigil__Conferral c = VIGIL__CONFERRAL__INIT, c2;
        Vigil__NodeCert n = VIGIL__NODE_CERT__INIT;
        Vigil__Hello h = VIGIL__HELLO__INIT;
        uint8_t sig[64], key[32] = { 1 };

        o.id = "E-1";
        o.scope = DISTRICT;
        o.declared_at = CITY;
        CHECK(decision_sign(&o.base, CITY, sk, sig, NULL) == 0);
        CHECK(decision_verify(&o.base, pk, NULL) == 0);
        o.ended = 1;
        o.has_ended = 1;                              /* a forged end */
        CHECK(decision_verify(&o.base, pk, NULL) == -EBADMSG);

        c.id = "C-1";
        c.unit = DISTRICT;
        c.role = "principal";
        CHECK(decision_sign(&c.base, CITY, sk, sig, NULL) == 0);
        CHECK(decision_verify(&c.base, pk, NULL) == 0);
        c2 = c;
        c2.role = "commander";
        CHECK(decision_verify(&c2.base, pk, NULL) == -EBADMSG);

        n.node_id = DISTRICT;
        n.has_sign_key = 1;
        n.sign_key.data = key;
        n.sign_key.len = 32;
        CHECK(decision_sign(&n.base, CITY, sk, sig, NULL) == 0);
        CHECK(decision_verify(&n.base, pk, NULL) == 0);
        key[0] = 2;                                    /* another key certified */
        CHECK(decision_verify(&n.base, pk, NULL) == -EBADMSG);

        CHECK(decision_sign(&h.base, CITY, sk, sig, NULL) == -EINVAL);
        CHECK(decision_verify(&h.base, pk, NULL) == -EINVAL);
}

/* A grant's signature does not make a conferral: the type is signed. */
static void test_type_is_signed(void)
{
        Vigil__Conferral c = VIGIL__CONFERRAL__INIT;
        Vigil__NodeCert n = VIGIL__NODE_CERT__INIT;
        uint8_t sig[64], buf[256];
        size_t len;
        Vigil__NodeCert *m;

        /* Both with only field 1 set to the same text: the same packed bytes. */
        c.id = DISTRICT;
        CHECK(decision_sign(&c.base, CITY, sk, sig, NULL) == 0);
        n.node_id = DISTRICT;
        n.signer = CITY;
        n.has_signature = 1;
        n.signature.data = sig;
        n.signature.len = 64;
        len = vigil__node_cert__pack(&n, buf);
        m = vigil__node_cert__unpack(NULL, len, buf);
        CHECK(m != NULL);
        CHECK(decision_verify(&m->base, pk, NULL) == -EBADMSG);
        vigil__node_cert__free_unpacked(m, NULL);
}

int main(void)
{
        CHECK(sodium_init() >= 0);
        crypto_sign_keypair(pk, sk);
        crypto_sign_keypair(other_pk, other_sk);
        RUN(test_signed_grant_verifies_after_the_wire);
        RUN(test_every_field_is_covered);
        RUN(test_missing_signature_or_signer);
        RUN(test_wrong_key_signs);
        RUN(test_unsigned_fields);
        RUN(test_any_message_with_the_fields);
        RUN(test_type_is_signed);
        return 0;
}

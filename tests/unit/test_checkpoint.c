/* The signed checkpoints of lib/wire/checkpoint.c: what is signed and what a
 * signature vouches for. A checkpoint verifies only with its node's key and
 * only for exactly what was signed: the node, the record, its hash and the
 * time of signing. */
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#include "wire/checkpoint.h"
#include "unit.h"

#define NODE "43010401002000000001"

static uint8_t pk[32], sk[64], other_pk[32], other_sk[64], hash[32], sig[64];

static void test_signed_and_checked(void)
{
        uint8_t h2[32], s2[64];

        CHECK(checkpoint_sign(sk, NODE, 42, hash, 1795957253000000, sig) == 0);
        CHECK(checkpoint_verify(pk, NODE, 42, hash, 1795957253000000, sig));
        /* Another key, node, record, hash or time: not this signature. */
        CHECK(!checkpoint_verify(other_pk, NODE, 42, hash, 1795957253000000, sig));
        CHECK(!checkpoint_verify(pk, "43010402002000000001", 42, hash, 1795957253000000, sig));
        CHECK(!checkpoint_verify(pk, NODE, 43, hash, 1795957253000000, sig));
        memcpy(h2, hash, 32);
        h2[31] ^= 1;
        CHECK(!checkpoint_verify(pk, NODE, 42, h2, 1795957253000000, sig));
        CHECK(!checkpoint_verify(pk, NODE, 42, hash, 1795957253000001, sig));
        memcpy(s2, sig, 64);
        s2[0] ^= 0x80;
        CHECK(!checkpoint_verify(pk, NODE, 42, hash, 1795957253000000, s2));
        /* The other node's own signature is its own. */
        CHECK(checkpoint_sign(other_sk, NODE, 42, hash, 1795957253000000, s2) == 0);
        CHECK(checkpoint_verify(other_pk, NODE, 42, hash, 1795957253000000, s2));
        CHECK(!checkpoint_verify(pk, NODE, 42, hash, 1795957253000000, s2));
}

static void test_message_is_unambiguous(void)
{
        uint8_t a[CHECKPOINT_MAX_MESSAGE], b[CHECKPOINT_MAX_MESSAGE];
        size_t na = checkpoint_message(NODE, 1, hash, 2, a);
        size_t nb = checkpoint_message(NODE, 2, hash, 1, b);

        /* The context, the node and its NUL, 8 + 32 + 8 bytes. */
        CHECK(na == sizeof("vigil audit checkpoint") + strlen(NODE) + 1 + 48);
        CHECK(na == nb && memcmp(a, b, na) != 0);
        CHECK(memcmp(a, "vigil audit checkpoint", sizeof("vigil audit checkpoint")) == 0);
        /* A node ID longer than any GB/T 28181 ID is not signed. */
        CHECK(checkpoint_message("430104010020000000011234567890123", 1, hash, 2, a) == 0);
        CHECK(checkpoint_sign(sk, "430104010020000000011234567890123", 1, hash, 2, sig) < 0);
}

int main(void)
{
        CHECK(sodium_init() >= 0);
        crypto_sign_keypair(pk, sk);
        crypto_sign_keypair(other_pk, other_sk);
        randombytes_buf(hash, sizeof(hash));
        RUN(test_signed_and_checked);
        RUN(test_message_is_unambiguous);
        return 0;
}

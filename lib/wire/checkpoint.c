#include "wire/checkpoint.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static const char checkpoint_context[] = "vigil audit checkpoint";

static void checkpoint_put_be64(uint8_t *p, int64_t v)
{
        uint64_t u = (uint64_t)v;
        int i;

        for (i = 7; i >= 0; i--, u >>= 8)
                p[i] = (uint8_t)u;
}

size_t checkpoint_message(const char *node, int64_t seq, const uint8_t hash[32], int64_t signed_at_us,
                          uint8_t buf[CHECKPOINT_MAX_MESSAGE])
{
        size_t cl = sizeof(checkpoint_context), nl = strlen(node), n = 0;

        if (nl > 32)
                return 0;
        memcpy(buf, checkpoint_context, cl);      /* with its NUL */
        n += cl;
        memcpy(buf + n, node, nl);
        n += nl;
        buf[n++] = 0;
        checkpoint_put_be64(buf + n, seq);
        n += 8;
        memcpy(buf + n, hash, 32);
        n += 32;
        checkpoint_put_be64(buf + n, signed_at_us);
        return n + 8;
}

int checkpoint_sign(const uint8_t secret_key[64], const char *node, int64_t seq, const uint8_t hash[32],
                    int64_t signed_at_us, uint8_t sig[64])
{
        uint8_t m[CHECKPOINT_MAX_MESSAGE];
        size_t n = checkpoint_message(node, seq, hash, signed_at_us, m);

        if (n == 0)
                return -EINVAL;
        return crypto_sign_detached(sig, NULL, m, n, secret_key) == 0 ? 0 : -EINVAL;
}

bool checkpoint_verify(const uint8_t public_key[32], const char *node, int64_t seq, const uint8_t hash[32],
                       int64_t signed_at_us, const uint8_t sig[64])
{
        uint8_t m[CHECKPOINT_MAX_MESSAGE];
        size_t n = checkpoint_message(node, seq, hash, signed_at_us, m);

        return n > 0 && crypto_sign_verify_detached(sig, m, n, public_key) == 0;
}

int checkpoint_record_hash(const uint8_t prev[32], int form, const char *const fields[CHECKPOINT_RECORD_FIELDS],
                           uint8_t out[32])
{
        static const unsigned char sep = 0x1f, null_len[4] = { 0xff, 0xff, 0xff, 0xff };
        static const char marker[] = "vigil-audit-2";   /* with its NUL */
        crypto_hash_sha256_state st;
        int i;

        if (form != CHECKPOINT_FORM_JOINED && form != CHECKPOINT_FORM_LENGTHS)
                return -EINVAL;
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, prev, 32);
        if (form == CHECKPOINT_FORM_LENGTHS)
                crypto_hash_sha256_update(&st, (const unsigned char *)marker, sizeof(marker));
        for (i = 0; i < CHECKPOINT_RECORD_FIELDS; i++) {
                const char *f = fields[i];
                size_t len = f ? strlen(f) : 0;

                if (form == CHECKPOINT_FORM_JOINED) {
                        if (i > 0)
                                crypto_hash_sha256_update(&st, &sep, 1);
                } else if (!f) {
                        crypto_hash_sha256_update(&st, null_len, 4);
                        continue;
                } else {
                        unsigned char be[4] = { (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                                                (unsigned char)(len >> 8), (unsigned char)len };
                        crypto_hash_sha256_update(&st, be, 4);
                }
                if (len > 0)
                        crypto_hash_sha256_update(&st, (const unsigned char *)f, len);
        }
        crypto_hash_sha256_final(&st, out);
        return 0;
}

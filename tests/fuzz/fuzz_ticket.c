/* Fuzz target for lib/ticket.c: a media gateway checks tokens that anyone
 * can hand it. Every input must verify, or be refused with a code, never
 * crash or read past its end; a refused token fills nothing. */
#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ticket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* The corpus tokens are signed with this fixed test key (seed 0). */
        static uint8_t pk[32], sk[64];
        static int ready;
        char *tok = malloc(size + 1);
        struct ticket t;
        int r;

        if (!ready) {
                uint8_t seed[32] = { 0 };
                if (sodium_init() < 0)
                        abort();
                crypto_sign_seed_keypair(pk, sk, seed);
                ready = 1;
        }
        if (!tok)
                return 0;
        memcpy(tok, data, size);
        tok[size] = '\0';
        memset(&t, 0x5a, sizeof(t));
        r = ticket_verify(tok, pk, 1800000000000001LL, &t);
        if (r != 0 && r != -EBADMSG && r != -EKEYREJECTED && r != -ETIME)
                abort();
        if (r != 0 && t.station[0] != 0x5a)
                abort();  /* untouched on refusal */
        if (r == 0 && (strnlen(t.officer, sizeof(t.officer)) == sizeof(t.officer) || !t.grant[0] == !t.emergency[0]))
                abort();
        r = ticket_decode_unverified(tok, &t);
        if (r != 0 && r != -EBADMSG)
                abort();
        free(tok);
        return 0;
}

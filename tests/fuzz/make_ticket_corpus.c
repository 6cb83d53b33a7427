/* Writes the seed corpus of tests/fuzz/fuzz_ticket.c (signed with the fixed
 * test key, seed 0):
 *   ninja -C build tests/fuzz/make_ticket_corpus
 *   build/tests/fuzz/make_ticket_corpus tests/fuzz/corpus/ticket */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wire/ticket.h"
static void put(const char *dir, const char *name, const char *s)
{
        char p[512]; FILE *f;
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        f = fopen(p, "w"); fputs(s, f); fclose(f);
}
int main(int argc, char **argv)
{
        uint8_t pk[32], sk[64], seed[32] = { 0 };
        struct ticket t; char *tok, *cut;
        (void)argc;
        if (sodium_init() < 0)
                return 1;
        crypto_sign_seed_keypair(pk, sk, seed);
        memset(&t, 0, sizeof(t));
        memset(t.id, 7, sizeof(t.id));
        strcpy(t.station, "43010401002000000001"); strcpy(t.officer, "city-inv-1");
        strcpy(t.camera, "43010401001310000001"); strcpy(t.action, "view-live");
        strcpy(t.grant, "req-0123456789"); strcpy(t.url, "rtsp://10.0.0.1/live");
        t.issued_us = 1800000000000000LL; t.expires_us = t.issued_us + 300000000LL;
        ticket_sign(&t, sk, &tok); put(argv[1], "valid", tok);
        cut = strdup(tok); cut[strlen(cut) / 2] = 0; put(argv[1], "truncated", cut);
        t.issued_us -= 3600000000LL; t.expires_us -= 3600000000LL; free(tok);
        ticket_sign(&t, sk, &tok); put(argv[1], "expired", tok); free(tok);
        t.issued_us += 3600000000LL; t.expires_us += 3600000000LL;
        strcpy(t.action, "copy"); t.from_us = 1700000000000000LL; t.to_us = t.from_us + 3600000000LL;
        t.grant[0] = 0; strcpy(t.emergency, "em-42");
        ticket_sign(&t, sk, &tok); put(argv[1], "emergency_copy", tok);
        tok[10] ^= 1; put(argv[1], "altered", tok); free(tok);
        put(argv[1], "not_a_ticket", "vt1.AAAA.AAAA");
        return 0;
}

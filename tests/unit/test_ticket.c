/* Unit tests for lib/ticket.c: a signed ticket verifies with the station's
 * key and no other; every alteration, expiry and malformation is refused
 * with its own code. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/ticket.h"
#include "unit.h"

static uint8_t pk[32], sk[64], pk2[32], sk2[64];

static struct ticket sample(void)
{
        struct ticket t;

        memset(&t, 0, sizeof(t));
        ticket_new_id(&t);
        snprintf(t.station, sizeof(t.station), "43010401002000000001");
        snprintf(t.officer, sizeof(t.officer), "city-inv-1");
        snprintf(t.officer_key, sizeof(t.officer_key), "%s", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
        snprintf(t.unit, sizeof(t.unit), "43010000002000000001");
        snprintf(t.camera, sizeof(t.camera), "43010401001310000001");
        snprintf(t.action, sizeof(t.action), "view-live");
        snprintf(t.grant, sizeof(t.grant), "req-0123456789");
        snprintf(t.url, sizeof(t.url), "rtsp://10.0.0.1:8554");     /* the station's gate */
        t.issued_us = 1800000000000000LL;
        t.expires_us = t.issued_us + 300000000LL;
        return t;
}

static void test_roundtrip(void)
{
        struct ticket t = sample(), got;
        char *tok;

        CHECK(ticket_sign(&t, sk, &tok) == 0);
        CHECK(strncmp(tok, "vt1.", 4) == 0);
        CHECK(ticket_verify(tok, pk, t.issued_us + 1, &got) == 0);
        CHECK(memcmp(&got, &t, sizeof(t)) == 0);
        CHECK(strcmp(got.unit, "43010000002000000001") == 0);
        /* A unit that is not a node ID is not signed. */
        {
                struct ticket bad = t;
                char *no;
                snprintf(bad.unit, sizeof(bad.unit), "city");
                CHECK(ticket_sign(&bad, sk, &no) == -EINVAL);
        }
        /* Another station's key. */
        CHECK(ticket_verify(tok, pk2, t.issued_us + 1, &got) == -EKEYREJECTED);
        /* Time: before issue, at and after expiry. */
        CHECK(ticket_verify(tok, pk, t.issued_us - 1, &got) == -ETIME);
        CHECK(ticket_verify(tok, pk, t.expires_us, &got) == -ETIME);
        /* Unverified decoding says what it claims. */
        memset(&got, 0, sizeof(got));
        CHECK(ticket_decode_unverified(tok, &got) == 0 && strcmp(got.officer, "city-inv-1") == 0);
        free(tok);
}

/* Flip each character of the token in turn: never accepted. */
static void test_every_alteration_refused(void)
{
        struct ticket t = sample(), got;
        char *tok;
        size_t i, n;

        CHECK(ticket_sign(&t, sk, &tok) == 0);
        n = strlen(tok);
        for (i = 4; i < n; i++) {
                char c = tok[i];
                int r;
                if (c == '.')
                        continue;
                tok[i] = c == 'A' ? 'B' : 'A';
                r = ticket_verify(tok, pk, t.issued_us + 1, &got);
                CHECK(r == -EKEYREJECTED || r == -EBADMSG);
                tok[i] = c;
        }
        CHECK(ticket_verify(tok, pk, t.issued_us + 1, &got) == 0);
        /* One spelling only: a byte outside base64url (libsodium 1.0.18
         * decodes bytes above 0x7f as '_') is refused, not decoded. A token
         * with a '_' in it (new IDs until there is one) shows it. */
        for (int tries = 0; !strchr(tok + 4, '_') && tries < 200; tries++) {
                free(tok);
                ticket_new_id(&t);
                CHECK(ticket_sign(&t, sk, &tok) == 0);
        }
        CHECK(strchr(tok + 4, '_') != NULL);
        n = strlen(tok);
        for (i = 4; i < n; i++) {
                char c = tok[i];
                if (c != '_')
                        continue;
                tok[i] = (char)0xdf;
                CHECK(ticket_verify(tok, pk, t.issued_us + 1, &got) == -EBADMSG);
                tok[i] = c;
        }
        free(tok);
}

/* A payload from one ticket with the signature of another. */
static void test_spliced(void)
{
        struct ticket a = sample(), b = sample(), got;
        char *ta, *tb, spliced[TICKET_MAX_TOKEN * 2];

        snprintf(b.officer, sizeof(b.officer), "city-inv-2");
        CHECK(ticket_sign(&a, sk, &ta) == 0);
        CHECK(ticket_sign(&b, sk, &tb) == 0);
        snprintf(spliced, sizeof(spliced), "%.*s%s", (int)(strrchr(tb, '.') - tb), tb, strrchr(ta, '.'));
        CHECK(ticket_verify(spliced, pk, a.issued_us + 1, &got) == -EKEYREJECTED);
        free(ta);
        free(tb);
}

static void test_malformed(void)
{
        struct ticket t = sample(), got;
        char big[TICKET_MAX_TOKEN + 10];
        char *tok;

        CHECK(ticket_verify(NULL, pk, 1, &got) == -EBADMSG);
        CHECK(ticket_verify("", pk, 1, &got) == -EBADMSG);
        CHECK(ticket_verify("vt1.", pk, 1, &got) == -EBADMSG);
        CHECK(ticket_verify("vt1..", pk, 1, &got) == -EBADMSG);
        CHECK(ticket_verify("vt2.AAAA.AAAA", pk, 1, &got) == -EBADMSG);
        CHECK(ticket_verify("vt1.!!!!.AAAA", pk, 1, &got) == -EBADMSG);
        CHECK(ticket_verify("vt1.AAAA.AAAA", pk, 1, &got) == -EBADMSG);
        memset(big, 'A', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        memcpy(big, "vt1.", 4);
        CHECK(ticket_verify(big, pk, 1, &got) == -EBADMSG);
        /* Cut short: the signature incomplete. */
        CHECK(ticket_sign(&t, sk, &tok) == 0);
        tok[strlen(tok) - 3] = '\0';
        CHECK(ticket_verify(tok, pk, t.issued_us + 1, &got) == -EBADMSG);
        free(tok);
}

/* What the station refuses to sign (and so no verifier ever accepts). */
static void test_invalid_not_signed(void)
{
        struct ticket t;
        char *tok = NULL;

        t = sample();
        t.grant[0] = '\0';                      /* Art 29(2): no basis */
        CHECK(ticket_sign(&t, sk, &tok) == -EINVAL);
        t = sample();
        snprintf(t.emergency, sizeof(t.emergency), "em-1");   /* two bases */
        CHECK(ticket_sign(&t, sk, &tok) == -EINVAL);
        t = sample();
        snprintf(t.camera, sizeof(t.camera), "43010402001310000001");  /* not this station's */
        CHECK(ticket_sign(&t, sk, &tok) == -EINVAL);
        t = sample();
        snprintf(t.action, sizeof(t.action), "delete");
        CHECK(ticket_sign(&t, sk, &tok) == -EINVAL);
        t = sample();
        t.expires_us = t.issued_us + TICKET_MAX_LIFE_US + 1;
        CHECK(ticket_sign(&t, sk, &tok) == -EINVAL);
        t = sample();
        t.expires_us = t.issued_us;
        CHECK(ticket_sign(&t, sk, &tok) == -EINVAL);
        t = sample();
        t.from_us = 5;
        t.to_us = 5;
        CHECK(ticket_sign(&t, sk, &tok) == -EINVAL);
        CHECK(tok == NULL);
}

int main(void)
{
        CHECK(sodium_init() >= 0);
        crypto_sign_keypair(pk, sk);
        crypto_sign_keypair(pk2, sk2);
        RUN(test_roundtrip);
        RUN(test_every_alteration_refused);
        RUN(test_spliced);
        RUN(test_malformed);
        RUN(test_invalid_not_signed);
        return 0;
}

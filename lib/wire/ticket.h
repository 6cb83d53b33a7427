/* ticket: the short-lived view tickets a station signs (Art 19, 29(2)).
 *
 * A ticket says: officer BADGE (holding CURVE key K) may ACTION camera C
 * (recorded material FROM..TO) until EXPIRES, on the basis of grant G (or
 * emergency E), as decided by STATION. The token is text:
 *
 *     vt1.<payload>.<signature>
 *
 * payload: base64url (no padding) of the protobuf Ticket (proto/vigil.proto);
 * signature: base64url of the Ed25519 signature (the station's sign.key) of
 * the bytes "vt1." followed by the payload bytes. A media gateway checks a
 * token offline with ticket_verify() and the station's sign.pub, or with
 * `vigilctl ticket verify TOKEN --key-file sign.pub`. Tokens are untrusted
 * input: bounded and checked field by field (tests/fuzz/fuzz_ticket.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TICKET_MAX_TOKEN 4096
/* Longest life a station gives a ticket. */
#define TICKET_MAX_LIFE_US (24LL * 3600 * 1000000)

struct ticket {
        uint8_t id[16];
        char station[21];
        char officer[33];
        char officer_key[41];
        char unit[21];                   /* the officer's unit, as the entry node knew it */
        char camera[21];
        char action[16];
        int64_t from_us, to_us;          /* 0: none (live) */
        int64_t issued_us, expires_us;
        char grant[65];                  /* the basis: a grant, or */
        char emergency[65];              /* an emergency */
        char url[1025];
};

/** Sign T with the station's Ed25519 SECRET key. *RET_TOKEN is the token
 *  (caller frees). -EINVAL if T is not a valid ticket (see ticket_verify),
 *  -ENOMEM. */
int ticket_sign(const struct ticket *t, const uint8_t secret[64], char **ret_token);

/** Check TOKEN with the station's Ed25519 PUBLIC key at time NOW_US and fill
 *  *RET (only on success). Returns 0 if the signature is the station's and
 *  NOW_US is within [issued, expires); -EBADMSG if TOKEN is not a ticket (or
 *  a field is invalid), -EKEYREJECTED if the signature does not verify
 *  (forged, altered, or another station's), -ETIME if expired or not yet
 *  valid. */
int ticket_verify(const char *token, const uint8_t public[32], int64_t now_us, struct ticket *ret);

/** Decode TOKEN WITHOUT checking its signature or time: for showing what a
 *  token claims, never for deciding. 0 or -EBADMSG. */
int ticket_decode_unverified(const char *token, struct ticket *ret);

/** A new random ticket ID in T. */
void ticket_new_id(struct ticket *t);

/* credentials: the credentials of reserved interfaces a station holds
 * (Art 5, 24(1)), sealed at rest.
 *
 * `vigilctl system credentials` gives a system's user and password to its
 * station (never in a URL: a URL travels up the tree). They are sealed
 * here, on the loop, with XChaCha20-Poly1305 (libsodium) under the node's
 * DIR/credentials.key (base/keys.h), the system's code as associated data
 * (a sealed row copied onto another system does not open); the database
 * holds the nonce and the sealed bytes only, and they are opened only on
 * the loop, when a system is linked (features/emergency.c). Rows of an
 * older database, kept in clear, are sealed by the sweep. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/runonce.h"

struct db;

#define CREDENTIALS_MAX 256     /* a user or a password, bytes */

struct credentials {
        struct db *db;                  /* borrowed: the one the sweep seals on */
        const uint8_t *key;             /* borrowed: 32 bytes (node_keys.credentials_key) */
        struct runonce sealing;
        bool none_pending;              /* the sweep found none to seal */
};

/** Set C up: KEY is borrowed. */
void credentials_init(struct credentials *c, const uint8_t *key);
/** Seal USER and PASSWORD of SYSTEM: a fresh nonce and the sealed bytes,
 *  each as hex (caller frees both). 0, or -EINVAL (too long). */
int credentials_seal(const struct credentials *c, const char *system, const char *user, const char *password,
                     char **ret_nonce_hex, char **ret_sealed_hex);
/** Open what credentials_seal sealed for SYSTEM into RET_USER and
 *  RET_PASSWORD (each CREDENTIALS_MAX + 1 bytes); -EBADMSG if it does not
 *  open (another key, another system, altered). */
int credentials_open(const struct credentials *c, const char *system, const char *nonce_hex, const char *sealed_hex,
                     char *ret_user, char *ret_password);
/** The sweep: seal the rows still held in clear (an older database), a
 *  batch at a time, until none is left. */
void credentials_seal_pending(struct credentials *c, struct db *db);

/* keys: a node's CURVE key pair (ZeroMQ) and Ed25519 signing key (libsodium),
 * and officer/admin CURVE identities.
 *
 * Node key directory (written by `vigild keygen DIR`, mode 0700/0600):
 *   DIR/curve.pub   Z85 public key (40 chars + newline)
 *   DIR/curve.key   Z85 secret key
 *   DIR/sign.pub    Ed25519 public key, hex (64 chars)
 *   DIR/sign.key    Ed25519 secret key, hex (128 chars)
 *   DIR/credentials.key  the key that seals the credentials a station holds
 *                   (XChaCha20-Poly1305, 32 bytes, hex): outside the
 *                   database, so a copy of the database holds no password
 *                   (Art 5, 24(1)); created by keygen, and by keys_load in
 *                   a key directory made before it existed
 * Identity file (written by `vigilctl keygen FILE --name NAME`, mode 0600), INI:
 *   [identity]
 *   name = admin
 *   public = <Z85>
 *   secret = <Z85>
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define KEYS_Z85_LEN 40

struct node_keys {
        char curve_public[KEYS_Z85_LEN + 1];
        char curve_secret[KEYS_Z85_LEN + 1];
        uint8_t sign_public[32];
        uint8_t sign_secret[64];
        uint8_t credentials_key[32];
};

struct identity {
        char name[128];
        char curve_public[KEYS_Z85_LEN + 1];
        char curve_secret[KEYS_Z85_LEN + 1];
};

/** Create DIR if needed and write a fresh node key set into it. Refuses to
 *  overwrite existing key files (-EEXIST). On success copies the Z85 CURVE
 *  public key into RET_PUBLIC (size >= 41). Negative errno on failure. */
int keys_generate(const char *dir, char *ret_public);
/** Load DIR's key set into RET; -ENOENT/-EINVAL with a sentence in ERR;
 *  -EPERM if a secret key file (curve.key, sign.key, credentials.key) has
 *  a group or world bit, as ssh refuses such a private key (the sentence
 *  names the file, its mode and `chmod 600`). A missing credentials.key
 *  is created (mode 0600): a key directory of an older vigild has none. */
int keys_load(const char *dir, struct node_keys *ret, char *err, size_t errlen);
/** Parse a 64-digit hex Ed25519 public key (sign.pub) into RET. 0 or -EINVAL. */
int keys_sign_public_parse(const char *hex, uint8_t ret[32]);
/** KEY as 64 hex digits into RET (size >= 65). */
void keys_sign_public_hex(const uint8_t key[32], char ret[65]);
/** True if S is a 40-character Z85 string that decodes to 32 bytes. */
int keys_z85_valid(const char *s);

/** Write a fresh identity named NAME to PATH (refuses to overwrite). */
int identity_generate(const char *path, const char *name, struct identity *ret);
/** Load an identity file; negative errno with a sentence in ERR (-EPERM
 *  if others than its owner may read or change it: it holds a secret). */
int identity_load(const char *path, struct identity *ret, char *err, size_t errlen);

/* checkpoint: a node's signed statement about its own access log (Art
 * 23(5)): "record SEQ of NODE's log has hash HASH", signed with the node's
 * Ed25519 key at SIGNED_AT_US. The node signs (features/audit.c); anyone
 * with its public key checks, vigilctl included, offline. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKPOINT_MAX_MESSAGE 128

/** The bytes signed: "vigil audit checkpoint" 0 NODE 0 SEQ (8, big-endian)
 *  HASH (32) SIGNED_AT_US (8, big-endian). Returns their length (0 if
 *  NODE is longer than 32 bytes). */
size_t checkpoint_message(const char *node, int64_t seq, const uint8_t hash[32], int64_t signed_at_us,
                          uint8_t buf[CHECKPOINT_MAX_MESSAGE]);
/** SIG (64 bytes) by SECRET_KEY (Ed25519, 64 bytes). 0, or -EINVAL. */
int checkpoint_sign(const uint8_t secret_key[64], const char *node, int64_t seq, const uint8_t hash[32],
                    int64_t signed_at_us, uint8_t sig[64]);
/** Whether SIG is PUBLIC_KEY's (32 bytes) signature on that checkpoint. */
bool checkpoint_verify(const uint8_t public_key[32], const char *node, int64_t seq, const uint8_t hash[32],
                       int64_t signed_at_us, const uint8_t sig[64]);

/* The fields of an access-log record in the order of its canonical form. */
enum {
        CHECKPOINT_RECORD_FIELDS = 13, /* seq, at_us, node, actor, action, outcome, article, camera,
                                        * purpose, destination, request_id, emergency_id, detail */
};

/* The canonical forms of a record (schema/017_audit_form.sql): 1 for
 * records written before it, 2 since. */
enum {
        CHECKPOINT_FORM_JOINED = 1,     /* fields joined by 0x1f, NULL as "": ambiguous */
        CHECKPOINT_FORM_LENGTHS = 2,    /* each field length-prefixed, NULL distinct */
};

/** A record's hash as the node computes it (schema/functions/audit.sql,
 *  audit_canonical_fields and audit_chain): SHA-256(PREV || the canonical
 *  bytes of the 13 FIELDS (each as text, NULL for an SQL NULL) in FORM).
 *  Form 1: the fields joined by 0x1f, a NULL as "". Form 2:
 *  "vigil-audit-2" 0x00, then each field as its length (4 bytes,
 *  big-endian) and its bytes, a NULL as ffffffff alone. The same bytes at
 *  every tier, so a client that fetched the records recomputes the chain
 *  itself. Returns 0, or -EINVAL for a form it does not know (OUT is then
 *  untouched). */
int checkpoint_record_hash(const uint8_t prev[32], int form, const char *const fields[CHECKPOINT_RECORD_FIELDS],
                           uint8_t out[32]);

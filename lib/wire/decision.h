/* decision: Ed25519 signatures on decisions that travel down (issue 15,
 * Art 19, 20: a station acts only on what an ancestor with that authority
 * decided). Any protobuf message with the two fields
 *
 *     optional string signer = N;     // the node that decided
 *     optional bytes signature = M;   // 64 bytes
 *
 * can be signed and checked: Grant, EmergencyOrder, Conferral,
 * ViewRequest, NodeCert. What is signed is
 *
 *     "vigil decision v1" 0 TYPE 0 SIGNER 0 PACKED
 *
 * TYPE the message's full name (a grant's signature is not an order's),
 * PACKED the message encoded with signer, signature and the UNSIGNED
 * fields cleared (a field a hop rewrites, such as a view request's
 * per-hop request_id). A relaying node forwards the bytes it received,
 * unknown fields included, so the receiver checks what the signer signed. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#define DECISION_SIG_LEN 64

/** Sign M as SIGNER with SECRET_KEY (Ed25519, 64 bytes): sets M's signer
 *  to SIGNER and its signature to RET_SIG (both borrowed by M: they must
 *  outlive its packing). UNSIGNED: NULL or a NULL-terminated list of field
 *  names left out. 0; -EINVAL if M lacks the fields or a name is unknown;
 *  -ENOMEM. */
int decision_sign(ProtobufCMessage *m, const char *signer, const uint8_t secret_key[64],
                  uint8_t ret_sig[DECISION_SIG_LEN], const char *const *unsigned_fields);
/** Whether M carries a signature by PUBLIC_KEY (32 bytes) for the signer it
 *  names. 0; -ENOMSG if it names no signer or carries no 64-byte
 *  signature; -EBADMSG if the signature does not verify; -EINVAL, -ENOMEM. */
int decision_verify(const ProtobufCMessage *m, const uint8_t public_key[32], const char *const *unsigned_fields);
/** The signer M names (borrowed from M), or NULL. */
const char *decision_signer(const ProtobufCMessage *m);

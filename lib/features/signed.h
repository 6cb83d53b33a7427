/* signed: what every kind of signed decision from above does alike (issue
 * 15, Art 19): a grant or revocation, an emergency order or its end, a
 * conferral. The deciding node signs it (wire/decision.h) as it sends it
 * down; a node below applies it only if that node signed it, is an
 * ancestor whose key it holds (wire/trust.h) and covers what it decides
 * (every camera, the scope, the unit lies under the signer); what fails
 * is refused where it arrived, on record and counted, and the link goes
 * on. A decision's bytes are kept as they came (signed_changes, schema
 * 011): a child's snapshot gets the decider's own bytes, as no node can
 * sign for another. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

#include "db/db.h"
#include "delivery/delivery.h"

/** Whether M (WHAT ID, e.g. "grant", request ID) may be applied here: signed
 *  by DECIDER, an ancestor-or-self known to D, and each of the N SUBJECTS
 *  (camera IDs, a scope, a unit) under it. 0, or -EPERM with a sentence
 *  citing Art 19 in WHY. */
int signed_check(const struct delivery *d, const ProtobufCMessage *m, const char *decider, const char *what,
                 const char *id, char *const *subjects, size_t n, char *why, size_t whylen);
/** Refuse decision ID (ACTION, e.g. "grant.receive") from VIA for WHY: adds
 *  its access-log record to TX, logs it and counts it (D's trust.refused). */
void signed_refuse(struct delivery *d, struct db_tx *tx, const char *via, const char *action, const char *id,
                   const ProtobufCMessage *m, const char *why);
/** Add to TX the statement keeping CHANGE (LEN bytes), version VERSION of
 *  decision KIND ("grant", "emergency_order", "conferral") ID. */
void signed_keep(struct db_tx *tx, const char *kind, const char *id, int64_t version, const uint8_t *change,
                 size_t len);
/** The SQL expression of a decision's kept bytes (hex, NULL if none), for
 *  a snapshot's select: KIND, and the expressions of its ID and version. */
#define SIGNED_BYTES_SQL(kind, id, version)                                                            \
        "(SELECT encode(s.change, 'hex') FROM signed_changes s WHERE s.kind = '" kind "' AND s.id = " id \
        " AND s.version = " version ")"
/** Column COL of row I of RES (SIGNED_BYTES_SQL) as bytes (caller frees
 *  *RET): 1 if there were some, 0 if NULL, -EBADMSG or -ENOMEM. */
int signed_bytes(const PGresult *res, int i, int col, uint8_t **ret, size_t *ret_len);

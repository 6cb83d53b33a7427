/* officer: officers and delegations (Art 19, 20(2)) as they replicate up:
 * encoding a row into a Change, applying a child's change at its parent
 * (checked: a child speaks only for units in its own subtree), and their
 * part of a snapshot. Registering them is accessctl.c; the rules are in
 * schema/007_access.sql. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "vigil.pb-c.h"

struct db_tx;

/** The SELECT lists officer_encode_row / delegation_encode_row expect. */
extern const char officer_columns[];
extern const char delegation_columns[];

/** Encode an Officer change from its fields (ROLES comma-separated).
 *  Caller owns *RET. */
int officer_encode(const char *badge, const char *name, const char *unit, const char *credential,
                   const char *roles, const char *public_key, bool active, int64_t version, bool removed,
                   uint8_t **ret, size_t *ret_len);
/** Encode a Delegation change. Caller owns *RET. */
int delegation_encode(const char *id, const char *unit, const char *principal, const char *deputy,
                      int64_t from_us, int64_t until_us, bool revoked, int64_t version, uint8_t **ret,
                      size_t *ret_len);
/** Encode row I of RES (officer_columns) as an Officer change. Caller owns
 *  *RET. REMOVED makes a tombstone with VERSION (< 0: the row's own). */
int officer_encode_row(const PGresult *res, int i, int64_t version, bool removed, uint8_t **ret, size_t *ret_len);
/** Encode row I of RES (delegation_columns) as a Delegation change. */
int delegation_encode_row(const PGresult *res, int i, uint8_t **ret, size_t *ret_len);

/** Add to TX the statement applying C (an Officer or Delegation change,
 *  bytes CHANGE) received from child VIA; UPLINK (NULL at the city) gets it
 *  forwarded if it changed anything. -EBADMSG with a reason in ERR if the
 *  child may not send it (a unit outside its subtree, a field missing). */
int officer_replica_add(struct db_tx *tx, const Vigil__Change *c, const char *via, const char *uplink,
                        bool snapshot, const uint8_t *change, size_t len, char *err, size_t errlen);

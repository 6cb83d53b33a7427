/* grant: approved requests travelling down (Art 19, 20). The node where a
 * request was decided sends each decision (an approval, later perhaps its
 * revocation) as a Grant change to the children holding its cameras, and
 * keeps it itself; each district forwards it (schema: grant_apply()); the
 * owning station decides every view by it (view.c). Sending is a sweep of
 * decisions not yet sent, so a crash between deciding and sending loses
 * nothing. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "vigil.pb-c.h"

struct node;
struct db_tx;

/** Send the decisions not yet sent (a few per call); call after a decision
 *  and now and then. */
void grant_dispatch(struct node *n);
/** The live grants for a child's cameras, for its snapshot: parameters
 *  $1 the child's prefix, $2 the last request ID of the page before ("" at
 *  first), $3 the page size. */
extern const char grant_snapshot_select[];
/** Encode row I of a grant_snapshot_select result as a Grant change.
 *  Caller owns *RET. */
int grant_encode_row(const PGresult *res, int i, uint8_t **ret, size_t *ret_len);
/** Add to TX the statement applying Grant change C (bytes CHANGE) from the
 *  parent VIA. -EBADMSG with a reason in ERR if it is malformed. */
int grant_replica_add(struct db_tx *tx, const Vigil__Change *c, const char *via, const uint8_t *change,
                      size_t len, char *err, size_t errlen);

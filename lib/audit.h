/* audit: the access log (Art 23(5)) travels up. Each node's records are
 * written, chained and kept append-only by the database
 * (schema/007_access.sql); this module sends them to the parent (a sweep
 * of what is not yet sent, the mark moved in the same transaction) and
 * applies the children's records into audit_copies, where the database
 * checks that each extends the chain held for that node and raises an
 * alarm (a fork: the log was rewritten) if not. Alarms are logged once. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vigil.pb-c.h"

struct node;
struct db_tx;

/** Queue this node's records not yet sent for the parent. */
void audit_forward(struct node *n);
/** Log alarms raised since the last call (forks, gaps in children's logs). */
void audit_check_alarms(struct node *n);
/** Add to TX the statement keeping AuditRecord change C (bytes CHANGE) from
 *  child VIA; UPLINK gets it forwarded. -EBADMSG with a reason in ERR if it
 *  is incomplete or of a node not under VIA. */
int audit_replica_add(struct db_tx *tx, const Vigil__Change *c, const char *via, const char *uplink,
                      const uint8_t *change, size_t len, char *err, size_t errlen);

/* audit: the access log (Art 23(5)) travels up. Each node's records are
 * written, chained and kept append-only by the database
 * (schema/007_access.sql); this module sends them to the parent (a sweep
 * of what is not yet sent, the mark moved in the same transaction) and
 * applies the children's records into audit_copies, where the database
 * checks that each extends the chain held for that node and raises an
 * alarm (a fork: the log was rewritten) if not. Alarms are logged once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil.pb-c.h"

struct node;
struct db_tx;
struct sqlarray;

/** Queue this node's records not yet sent for the parent. */
void audit_forward(struct node *n);
/** The same, starting with a read at the end of TX (not yet submitted;
 *  the caller submits it): the records TX writes go up as soon as it
 *  commits. While a forward runs, the next one follows it instead. */
void audit_forward_in(struct node *n, struct db_tx *tx);
/** Log alarms raised since the last call (forks, gaps in children's logs). */
void audit_check_alarms(struct node *n);

/* Signed checkpoints (schema 023, wire/checkpoint.h): a node signs "record
 * SEQ of my log has hash HASH" with its Ed25519 key. */
/** Sign this node's log head if it grew since the last checkpoint; keep
 *  it and send it up. Call now and then (every 2 s). */
void audit_checkpoint(struct node *n);
/** Add to TX the statement keeping AuditCheckpoint change C (bytes CHANGE)
 *  from child VIA and forwarding it to UPLINK. -EBADMSG with a reason in ERR
 *  if it is of a node not under VIA. */
int audit_checkpoint_replica_add(struct db_tx *tx, const Vigil__Change *c, const char *via, const char *uplink,
                                 const uint8_t *change, size_t len, char *err, size_t errlen);
/* Children's records are applied as a set: one array per field
 * (AUDIT_COPY_COLUMNS of them), one statement per batch (schema 017). */
#define AUDIT_COPY_COLUMNS 16

/** Add AuditRecord change C (bytes CHANGE) from child VIA as one row to
 *  COLS (AUDIT_COPY_COLUMNS arrays; their types are set when empty).
 *  -EBADMSG with a reason in ERR, adding nothing, if it is incomplete or of
 *  a node not under VIA. */
int audit_replica_row(struct sqlarray *cols, const Vigil__Change *c, const char *via, const uint8_t *change,
                      size_t len, char *err, size_t errlen);
/** Add to TX the statement keeping the rows in COLS (received from VIA, in
 *  order; UPLINK gets them forwarded) and empty COLS. */
void audit_replica_flush(struct db_tx *tx, struct sqlarray *cols, const char *via, const char *uplink);

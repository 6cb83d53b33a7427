/* audit: the access log (Art 23(5)) travels up. Each node's records are
 * written, chained and kept append-only by the database
 * (schema/004_audit.sql, functions/audit.sql); this module sends them to the parent (a sweep
 * of what is not yet sent, the mark moved in the same transaction) and
 * applies the children's records into audit_copies, where the database
 * checks that each extends the chain held for that node and raises an
 * alarm (a fork: the log was rewritten) if not. Alarms are logged once. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/keys.h"
#include "base/runonce.h"
#include "delivery/delivery.h"
#include "vigil.pb-c.h"

struct db_tx;

/* Records of a child applied as a set: one array per field. */
#define AUDIT_COPY_COLUMNS 16
_Static_assert(AUDIT_COPY_COLUMNS <= CHANGE_MAX_COLUMNS, "a batch's columns hold an audit record");

struct audit {
        struct delivery *d;
        const struct node_keys *keys;   /* the node's Ed25519 key signs its checkpoints */
        struct runonce forwarding;
        bool read_in_tx;                /* the forward in flight reads in another's transaction */
        int read_index;                 /* ... as its statement number */
        bool checkpointing, alarm_check;
        uint64_t checkpoint_ms;         /* loop time of this node's last checkpoint; 0: none yet */
        unsigned long alarms;           /* fork/gap alarms in children's logs seen since start */
};

/** Set AU up on D (KEYS borrowed): the AuditRecord and AuditCheckpoint
 *  kinds (from children). */
void audit_init(struct audit *au, struct delivery *d, const struct node_keys *keys);
/** Queue this node's records not yet sent for the parent. */
void audit_forward(struct audit *au);
/** The same, starting with a read at the end of TX (not yet submitted;
 *  the caller submits it): the records TX writes go up as soon as it
 *  commits. While a forward runs, the next one follows it instead. */
void audit_forward_in(struct audit *au, struct db_tx *tx);
/** Log alarms raised since the last call (forks, gaps in children's logs). */
void audit_check_alarms(struct audit *au);

/* Signed checkpoints (audit_checkpoints, wire/checkpoint.h): a node signs "record
 * SEQ of my log has hash HASH" with its Ed25519 key. */
/** Sign this node's log head if it grew since the last checkpoint; keep
 *  it and send it up. Call now and then (every 2 s). */
void audit_checkpoint(struct audit *au);

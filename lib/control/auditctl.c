#include "control/auditctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/nodeid.h"
#include "db/db.h"

/* At most this many records a page: some 1 kB each, well under the
 * control socket's reply limit. */
#define AUDITCTL_PAGE_MAX 1000

/* audit.records [--node ID] [--after SEQ] [--limit N]: the records after
 * SEQ of this node's log, or of the copy held here of a node below, in
 * order, with every field of the canonical form (the time in microseconds,
 * as audit_canonical() has it; NULL as null), the form (1 or 2, migration
 * 017), the previous hash and the hash as stored.
 * The client recomputes; nothing here is to be believed. */
static void auditctl_records(struct control_req *q)
{
        struct delivery *d = q->ctx;
        const char *node = control_arg(q, "node"), *after = control_arg(q, "after"),
                   *limit = control_arg(q, "limit");
        const char *p[3];
        struct db_tx *tx;
        long n;

        p[0] = after ? after : "0";
        p[1] = limit ? limit : "1000";
        p[2] = node ? node : d->cfg->node_id;
        n = strtol(p[1], NULL, 10);
        if (!nodeid_is_wellformed(p[2]) || !*p[0] || strspn(p[0], "0123456789") != strlen(p[0]) ||
            strlen(p[0]) > 18 || !*p[1] || strspn(p[1], "0123456789") != strlen(p[1]) || n < 1 ||
            n > AUDITCTL_PAGE_MAX) {
                control_reply(q, CONTROL_USAGE, NULL,
                              "audit records: --node is a node ID, --after a record number, --limit 1 to 1000", NULL);
                free(q);
                return;
        }
        tx = db_tx_new();
        if (strcmp(p[2], d->cfg->node_id) == 0)
                db_tx_add(tx, "SELECT coalesce(json_agg(x ORDER BY x.seq), '[]')::text FROM (SELECT seq, "
                              "(extract(epoch FROM at) * 1000000)::bigint AS at_us, node_id, actor, action, outcome, "
                              "article, camera, purpose, destination, request_id, emergency_id, detail, "
                              "encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash, form FROM audit_log "
                              "WHERE seq > $1::bigint ORDER BY seq LIMIT $2::int) x", 2, p, NULL, NULL);
        else
                db_tx_add(tx, "SELECT coalesce(json_agg(x ORDER BY x.seq), '[]')::text FROM (SELECT seq, "
                              "(extract(epoch FROM at) * 1000000)::bigint AS at_us, node_id, actor, action, outcome, "
                              "article, camera, purpose, destination, request_id, emergency_id, detail, "
                              "encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash, form FROM audit_copies "
                              "WHERE node_id = $3 AND seq > $1::bigint ORDER BY seq LIMIT $2::int) x", 3, p, NULL,
                          NULL);
        db_submit(d->links.db, tx, control_on_json_row, q);
}

const struct control_command auditctl_commands[] = {
        { "audit.records", auditctl_records },
        { NULL, NULL },
};

#include "audit.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "node.h"
#include "nodeid.h"
#include "sqlarray.h"
#include "wire.h"

/* Records sent up per transaction. */
#define AUDIT_FORWARD_BATCH 500

static const char audit_unsent[] =
        "SELECT seq, node_id, (extract(epoch FROM at) * 1000000)::bigint, actor, action, outcome, article, "
        "camera, purpose, destination, request_id, emergency_id, detail, encode(prev_hash, 'hex'), "
        "encode(hash, 'hex'), (SELECT s.seq FROM audit_sent s) "
        "FROM audit_log WHERE seq > (SELECT s.seq FROM audit_sent s) ORDER BY 1 LIMIT 500";

static const char *audit_text(const PGresult *res, int i, int c)
{
        return PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

/* Encode row I of an audit_unsent result. Caller owns *RET. */
static int audit_encode_row(const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__AuditRecord a = VIGIL__AUDIT_RECORD__INIT;
        uint8_t prev[32], hash[32];
        size_t np = 0, nh = 0;

        if (sodium_hex2bin(prev, sizeof(prev), PQgetvalue(res, i, 13), strlen(PQgetvalue(res, i, 13)), NULL, &np,
                           NULL) < 0 ||
            sodium_hex2bin(hash, sizeof(hash), PQgetvalue(res, i, 14), strlen(PQgetvalue(res, i, 14)), NULL, &nh,
                           NULL) < 0)
                return -EINVAL;
        a.has_seq = a.has_at_us = a.has_prev_hash = a.has_hash = 1;
        a.seq = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        a.node_id = PQgetvalue(res, i, 1);
        a.at_us = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        a.actor = PQgetvalue(res, i, 3);
        a.action = PQgetvalue(res, i, 4);
        a.outcome = PQgetvalue(res, i, 5);
        a.article = (char *)audit_text(res, i, 6);
        a.camera = (char *)audit_text(res, i, 7);
        a.purpose = (char *)audit_text(res, i, 8);
        a.destination = (char *)audit_text(res, i, 9);
        a.request_id = (char *)audit_text(res, i, 10);
        a.emergency_id = (char *)audit_text(res, i, 11);
        a.detail = (char *)audit_text(res, i, 12);
        a.prev_hash.data = prev;
        a.prev_hash.len = np;
        a.hash.data = hash;
        a.hash.len = nh;
        c.kind_case = VIGIL__CHANGE__KIND_AUDIT_RECORD;
        c.audit_record = &a;
        return wire_encode_change(&c, ret, ret_len);
}

/* --- this node's log, up --- */

static void audit_on_forwarded(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct node *n = arg;

        (void)tx;
        n->audit_forwarding = false;
        if (err) {
                log_warn("audit", "msg=\"cannot queue the access log for the parent\" reason=\"%s\"", msg);
                return;
        }
        node_kick_uplink(n);
}

static void audit_on_unsent(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct node *n = arg;
        PGresult *res = db_tx_result(rtx, 0);
        struct sqlarray changes = { .type = SQLARRAY_BYTEA };
        struct db_tx *tx;
        const char *p[4];
        int lens[4] = { 0 }, fmts[4] = { 0 }, i, nr;

        if (err || !res || (nr = PQntuples(res)) == 0) {
                if (err)
                        log_warn("audit", "msg=\"cannot read the access log\" reason=\"%s\"", msg);
                n->audit_forwarding = false;
                return;
        }
        for (i = 0; i < nr; i++) {
                uint8_t *buf;
                size_t len;
                vigil_require(audit_encode_row(res, i, &buf, &len) == 0);
                sqlarray_add_bytea(&changes, buf, len);
                free(buf);
        }
        p[0] = n->cfg.parent_id;
        sqlarray_param(&changes, &p[1], &lens[1], &fmts[1]);
        p[2] = PQgetvalue(res, nr - 1, 0);
        p[3] = PQgetvalue(res, 0, 15);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT outbox_append($1, $2::bytea[])", 2, p, lens, fmts);
        /* Only if nobody else moved the mark meanwhile: sent once, in order. */
        db_tx_add(tx, "UPDATE audit_sent SET seq = $1::bigint WHERE seq = $2::bigint", 2, p + 2, NULL, NULL);
        sqlarray_deinit(&changes);
        db_submit(n->db, tx, audit_on_forwarded, n);
}

void audit_forward(struct node *n)
{
        struct db_tx *tx;

        if (!n->has_parent || n->audit_forwarding || !n->db || !db_is_up(n->db))
                return;
        n->audit_forwarding = true;
        tx = db_tx_new();
        db_tx_add(tx, audit_unsent, 0, NULL, NULL, NULL);
        db_submit(n->db, tx, audit_on_unsent, n);
}

/* --- alarms --- */

static void audit_on_alarms(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct node *n = arg;
        PGresult *res = db_tx_result(tx, 0);
        int i;

        (void)msg;
        n->audit_alarm_check = false;
        if (err || !res)
                return;
        n->audit_alarms += (unsigned long)PQntuples(res);
        for (i = 0; i < PQntuples(res); i++)
                log_error("audit", "node=%s seq=%s kind=%s msg=\"access log alarm\" detail=\"%s\"",
                          PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                          PQgetvalue(res, i, 3));
}

void audit_check_alarms(struct node *n)
{
        struct db_tx *tx;

        if (!n->has_children || n->audit_alarm_check || !n->db || !db_is_up(n->db))
                return;
        n->audit_alarm_check = true;
        tx = db_tx_new();
        db_tx_add(tx, "UPDATE audit_alarms SET logged = true WHERE NOT logged "
                      "RETURNING node_id, seq, kind, detail", 0, NULL, NULL, NULL);
        db_submit(n->db, tx, audit_on_alarms, n);
}

/* --- copies from the children --- */

int audit_replica_add(struct db_tx *tx, const Vigil__Change *c, const char *via, const char *uplink,
                      const uint8_t *change, size_t len, char *err, size_t errlen)
{
        const Vigil__AuditRecord *a = c->audit_record;
        char seq[24], at[24];
        const char *p[18];
        int lens[18] = { 0 }, fmts[18] = { 0 };

        if (!a->node_id || !nodeid_is_wellformed(a->node_id) || !nodeid_under(a->node_id, via) || !a->has_seq ||
            a->seq < 1 || !a->has_at_us || !a->actor || !a->action || !a->outcome || a->prev_hash.len != 32 ||
            a->hash.len != 32) {
                snprintf(err, errlen, "audit record: incomplete, or of a node not under %s", via);
                return -EBADMSG;
        }
        snprintf(seq, sizeof(seq), "%" PRId64, a->seq);
        snprintf(at, sizeof(at), "%" PRId64, a->at_us);
        p[0] = via;
        p[1] = uplink;
        p[2] = a->node_id;
        p[3] = seq;
        p[4] = at;
        p[5] = a->actor;
        p[6] = a->action;
        p[7] = a->outcome;
        p[8] = a->article;
        p[9] = a->camera;
        p[10] = a->purpose;
        p[11] = a->destination;
        p[12] = a->request_id;
        p[13] = a->emergency_id;
        p[14] = a->detail;
        p[15] = (const char *)a->prev_hash.data;
        lens[15] = 32;
        fmts[15] = 1;
        p[16] = (const char *)a->hash.data;
        lens[16] = 32;
        fmts[16] = 1;
        p[17] = (const char *)change;
        lens[17] = (int)len;
        fmts[17] = 1;
        /* The time exactly as recorded: microseconds, no floating point. */
        db_tx_add(tx, "SELECT audit_copy_apply($1, $2, $3, $4, timestamptz 'epoch' + $5::bigint * interval "
                      "'1 microsecond', $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
                  18, p, lens, fmts);
        return 0;
}

#include "features/audit.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "base/log.h"
#include "base/nodeid.h"
#include "base/sqlarray.h"
#include "wire/checkpoint.h"
#include "wire/wire.h"
#include "base/vtime.h"

/* Records sent up per transaction. */
#define AUDIT_FORWARD_BATCH 500
/* A node signs its log's head at most this often: once per emergency at a
 * station, not with every batch (each one is a signature, a row and a
 * change applied at every tier above). */
#define AUDIT_CHECKPOINT_EVERY_MS 10000

/* Whether this node may sign a checkpoint now. */
static bool audit_checkpoint_due(const struct audit *au)
{
        return au->checkpoint_ms == 0 || uv_now(au->d->links.loop) - au->checkpoint_ms >= AUDIT_CHECKPOINT_EVERY_MS;
}

static const char audit_unsent[] =
        "SELECT seq, node_id, (extract(epoch FROM at) * 1000000)::bigint, actor, action, outcome, article, "
        "camera, purpose, destination, request_id, emergency_id, detail, encode(prev_hash, 'hex'), "
        "encode(hash, 'hex'), (SELECT s.seq FROM audit_sent s) "
        "FROM audit_log WHERE seq > (SELECT s.seq FROM audit_sent s) ORDER BY 1 LIMIT 500";

static const char *audit_text(const PGresult *res, int i, int c)
{
        return PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

/* Encode row I of a result whose columns from B on are audit_unsent's.
 * Caller owns *RET. */
static int audit_encode_cols(const PGresult *res, int i, int b, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__AuditRecord a = VIGIL__AUDIT_RECORD__INIT;
        uint8_t prev[32], hash[32];
        size_t np = 0, nh = 0;

        const char *ph = PQgetvalue(res, i, b + 13), *hh = PQgetvalue(res, i, b + 14);

        if (sodium_hex2bin(prev, sizeof(prev), ph, strlen(ph), NULL, &np, NULL) < 0 ||
            sodium_hex2bin(hash, sizeof(hash), hh, strlen(hh), NULL, &nh, NULL) < 0)
                return -EINVAL;
        a.has_seq = a.has_at_us = a.has_prev_hash = a.has_hash = 1;
        a.seq = strtoll(PQgetvalue(res, i, b + 0), NULL, 10);
        a.node_id = PQgetvalue(res, i, b + 1);
        a.at_us = strtoll(PQgetvalue(res, i, b + 2), NULL, 10);
        a.actor = PQgetvalue(res, i, b + 3);
        a.action = PQgetvalue(res, i, b + 4);
        a.outcome = PQgetvalue(res, i, b + 5);
        a.article = (char *)audit_text(res, i, b + 6);
        a.camera = (char *)audit_text(res, i, b + 7);
        a.purpose = (char *)audit_text(res, i, b + 8);
        a.destination = (char *)audit_text(res, i, b + 9);
        a.request_id = (char *)audit_text(res, i, b + 10);
        a.emergency_id = (char *)audit_text(res, i, b + 11);
        a.detail = (char *)audit_text(res, i, b + 12);
        a.prev_hash.data = prev;
        a.prev_hash.len = np;
        a.hash.data = hash;
        a.hash.len = nh;
        c.kind_case = VIGIL__CHANGE__KIND_AUDIT_RECORD;
        c.audit_record = &a;
        return wire_encode_change(&c, ret, ret_len);
}

static int audit_encode_row(const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        return audit_encode_cols(res, i, 0, ret, ret_len);
}

/* --- this node's log, up --- */

static void audit_forward_done(struct audit *au)
{
        if (runonce_end(&au->forwarding))
                audit_forward(au);
}

static void audit_on_forwarded(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct audit *au = arg;

        (void)tx;
        if (err)
                log_warn("audit", "msg=\"cannot queue the access log for the parent\" reason=\"%s\"", msg);
        else
                link_set_kick_parent(&au->d->links);
        audit_forward_done(au);
}

static uint8_t *audit_checkpoint_add(struct audit *au, struct db_tx *tx, const char *seq, const char *hash_hex,
                                     const char *uplink, size_t *ret_len);

static void audit_on_unsent(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct audit *au = arg;
        PGresult *res = err ? NULL : db_tx_result(rtx, au->read_index);
        struct sqlarray changes = { .type = SQLARRAY_BYTEA };
        struct db_tx *tx;
        const char *p[4];
        int lens[4] = { 0 }, fmts[4] = { 0 }, i, nr;

        if (!res || (nr = PQntuples(res)) == 0) {
                /* Within another's transaction, its owner says why it failed. */
                if (err && !au->read_in_tx)
                        log_warn("audit", "msg=\"cannot read the access log\" reason=\"%s\"", msg);
                audit_forward_done(au);
                return;
        }
        for (i = 0; i < nr; i++) {
                uint8_t *buf;
                size_t len;
                vigil_require(audit_encode_row(res, i, &buf, &len) == 0);
                sqlarray_add_bytea(&changes, buf, len);
                free(buf);
        }
        tx = db_tx_new();
        /* The batch ends with this node's signed checkpoint of its last
         * record, when one is due: kept and sent in this same transaction,
         * no other. */
        if (audit_checkpoint_due(au)) {
                size_t len;
                uint8_t *buf = audit_checkpoint_add(au, tx, PQgetvalue(res, nr - 1, 0), PQgetvalue(res, nr - 1, 14),
                                                    NULL, &len);
                sqlarray_add_bytea(&changes, buf, len);
                free(buf);
        }
        /* A full batch: more may wait. */
        if (nr == AUDIT_FORWARD_BATCH)
                runonce_again(&au->forwarding);
        p[0] = au->d->cfg->parent_id;
        sqlarray_param(&changes, &p[1], &lens[1], &fmts[1]);
        p[2] = PQgetvalue(res, nr - 1, 0);
        p[3] = PQgetvalue(res, 0, 15);
        db_tx_add(tx, "SELECT outbox_append($1, $2::bytea[])", 2, p, lens, fmts);
        /* Only if nobody else moved the mark meanwhile: sent once, in order. */
        db_tx_add(tx, "UPDATE audit_sent SET seq = $1::bigint WHERE seq = $2::bigint", 2, p + 2, NULL, NULL);
        sqlarray_deinit(&changes);
        db_submit(au->d->links.db, tx, audit_on_forwarded, au);
}

/* One forward at a time; a call meanwhile is remembered and made after. */
static bool audit_forward_begin(struct audit *au)
{
        if (!au->d->has_parent || !au->d->links.db || !db_is_up(au->d->links.db))
                return false;
        return runonce_begin(&au->forwarding);
}

void audit_forward(struct audit *au)
{
        struct db_tx *tx;

        if (!audit_forward_begin(au))
                return;
        tx = db_tx_new();
        au->read_in_tx = false;
        au->read_index = 0;
        db_tx_add(tx, audit_unsent, 0, NULL, NULL, NULL);
        db_submit(au->d->links.db, tx, audit_on_unsent, au);
}

void audit_forward_in(struct audit *au, struct db_tx *tx)
{
        if (!audit_forward_begin(au))
                return;
        au->read_in_tx = true;
        au->read_index = db_tx_count(tx);
        vigil_require(db_tx_also(tx, audit_on_unsent, au) == 0);
        db_tx_add(tx, audit_unsent, 0, NULL, NULL, NULL);
}

/* --- signed checkpoints --- */

static void audit_on_checkpointed(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct audit *au = arg;

        (void)tx;
        au->checkpointing = false;
        if (err && err != -ECANCELED)
                log_warn("audit", "msg=\"cannot keep a checkpoint of the access log\" reason=\"%s\"", msg);
        else if (!err)
                link_set_kick_parent(&au->d->links);
}

/* The statement keeping a checkpoint (VIA NULL: this node's own); CHANGE
 * goes to UPLINK if both are given. */
static void audit_add_checkpoint_keep(struct db_tx *tx, const char *via, const char *node, int64_t seq,
                                      const uint8_t hash[32], int64_t at_us, const uint8_t sig[64],
                                      const uint8_t *change, size_t len, const char *uplink)
{
        char s[24], at[24];
        const char *p[8] = { via, node, s, (const char *)hash, at, (const char *)sig, (const char *)change,
                             change ? uplink : NULL };
        int lens[8] = { 0, 0, 0, 32, 0, 64, (int)len, 0 }, fmts[8] = { 0, 0, 0, 1, 0, 1, 1, 0 };

        snprintf(s, sizeof(s), "%" PRId64, seq);
        snprintf(at, sizeof(at), "%" PRId64, at_us);
        db_tx_add(tx, "SELECT audit_checkpoint_keep($1, $2, $3, $4, timestamptz 'epoch' + "
                      "$5::bigint * interval '1 microsecond', $6, $7, $8)", 8, p, lens, fmts);
}

/* Sign record SEQ of this node's log (its hash HASH_HEX, as read) now and
 * add to TX the statement keeping the checkpoint, sent to UPLINK if given.
 * Returns the checkpoint's change (caller frees), *RET_LEN its length. */
static uint8_t *audit_checkpoint_add(struct audit *au, struct db_tx *tx, const char *seq, const char *hash_hex,
                                     const char *uplink, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__AuditCheckpoint cp = VIGIL__AUDIT_CHECKPOINT__INIT;
        uint8_t hash[32], sig[64], *buf;
        size_t nh = 0;

        vigil_require(sodium_hex2bin(hash, sizeof(hash), hash_hex, strlen(hash_hex), NULL, &nh, NULL) == 0 &&
                      nh == 32);
        cp.node_id = (char *)au->d->cfg->node_id;
        cp.has_seq = cp.has_hash = cp.has_signed_at_us = cp.has_signature = 1;
        cp.seq = strtoll(seq, NULL, 10);
        cp.hash.data = hash;
        cp.hash.len = 32;
        cp.signed_at_us = vtime_now_us();
        vigil_require(checkpoint_sign(au->keys->sign_secret, au->d->cfg->node_id, cp.seq, hash, cp.signed_at_us,
                                            sig) == 0);
        cp.signature.data = sig;
        cp.signature.len = 64;
        c.kind_case = VIGIL__CHANGE__KIND_AUDIT_CHECKPOINT;
        c.audit_checkpoint = &cp;
        vigil_require(wire_encode_change(&c, &buf, ret_len) == 0);
        audit_add_checkpoint_keep(tx, NULL, au->d->cfg->node_id, cp.seq, hash, cp.signed_at_us, sig, buf, *ret_len,
                                  uplink);
        au->checkpoint_ms = uv_now(au->d->links.loop);
        return buf;
}

/* The head, when no batch sent up carried it (the city sends none). */
static void audit_on_head(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct audit *au = arg;
        PGresult *res = err ? NULL : db_tx_result(rtx, 0);
        struct db_tx *tx;
        size_t len;

        if (!res || PQntuples(res) != 1) {
                if (err && err != -ECANCELED)
                        log_warn("audit", "msg=\"cannot read the access log's head\" reason=\"%s\"", msg);
                au->checkpointing = false;
                return;
        }
        tx = db_tx_new();
        free(audit_checkpoint_add(au, tx, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), delivery_parent_id(au->d), &len));
        db_submit(au->d->links.db, tx, audit_on_checkpointed, au);
}

void audit_checkpoint(struct audit *au)
{
        struct db_tx *tx;

        if (au->checkpointing || !au->d->links.db || !db_is_up(au->d->links.db) || !audit_checkpoint_due(au))
                return;
        au->checkpointing = true;
        tx = db_tx_new();
        db_tx_add(tx, "SELECT seq, encode(hash, 'hex') FROM audit_log WHERE seq > coalesce((SELECT max(c.seq) "
                      "FROM audit_checkpoints c WHERE c.via IS NULL AND c.node_id = vigil_self()), 0) "
                      "ORDER BY seq DESC LIMIT 1", 0, NULL, NULL, NULL);
        db_submit(au->d->links.db, tx, audit_on_head, au);
}

/* A child's (or a node below it's) checkpoint: kept and forwarded. */
static int audit_checkpoint_add_copy(void *arg, struct change_batch *b, const Vigil__Change *c,
                                     const uint8_t *change, size_t len, char *err, size_t errlen)
{
        const Vigil__AuditCheckpoint *cp = c->audit_checkpoint;
        const char *via = change_batch_via(b);

        (void)arg;
        /* wire.c checked the fields; the subject must be the child or a
         * node below it (no log of a node it invented: issue 17, fault 6). */
        if (!nodeid_at_or_below(cp->node_id, via)) {
                snprintf(err, errlen, "audit checkpoint of %s, not under %s", cp->node_id, via);
                return -EBADMSG;
        }
        audit_add_checkpoint_keep(change_batch_tx(b), via, cp->node_id, cp->seq, cp->hash.data, cp->signed_at_us,
                                  cp->signature.data, change, len, change_batch_uplink(b));
        return 0;
}

/* --- alarms --- */

static void audit_on_alarms(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct audit *au = arg;
        PGresult *res = db_tx_result(tx, 0);
        int i;

        (void)msg;
        au->alarm_check = false;
        if (err || !res)
                return;
        au->alarms += (unsigned long)PQntuples(res);
        for (i = 0; i < PQntuples(res); i++)
                log_error("audit", "node=%s seq=%s kind=%s msg=\"access log alarm\" detail=\"%s\"",
                          PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                          PQgetvalue(res, i, 3));
}

void audit_check_alarms(struct audit *au)
{
        struct db_tx *tx;

        if (!au->d->has_children || au->alarm_check || !au->d->links.db || !db_is_up(au->d->links.db))
                return;
        au->alarm_check = true;
        tx = db_tx_new();
        /* Alarms are insert-only (schema/008_db_roles.sql): that one was
         * shown is an insert of its own, never a change to the alarm. */
        db_tx_add(tx, "WITH shown AS (INSERT INTO audit_alarms_logged (alarm_id) "
                      "SELECT a.id FROM audit_alarms a WHERE NOT EXISTS "
                      "(SELECT 1 FROM audit_alarms_logged l WHERE l.alarm_id = a.id) "
                      "ON CONFLICT DO NOTHING RETURNING alarm_id) "
                      "SELECT a.node_id, a.seq, a.kind, a.detail FROM audit_alarms a "
                      "JOIN shown ON shown.alarm_id = a.id ORDER BY a.id", 0, NULL, NULL, NULL);
        db_submit(au->d->links.db, tx, audit_on_alarms, au);
}

/* --- copies from the children --- */

static const enum sqlarray_type audit_copy_types[AUDIT_COPY_COLUMNS] = {
        SQLARRAY_TEXT, SQLARRAY_INT8, SQLARRAY_INT8,                    /* node, seq, at (us) */
        SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_TEXT,     /* actor .. article */
        SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_TEXT,     /* camera .. request */
        SQLARRAY_TEXT, SQLARRAY_TEXT,                                   /* emergency, detail */
        SQLARRAY_BYTEA, SQLARRAY_BYTEA, SQLARRAY_BYTEA,                 /* prev, hash, change */
};

/* Children's records are applied as a set: one array per field, one
 * statement per batch (audit_copies_apply). */
static int audit_copy_row(void *arg, struct change_batch *b, struct sqlarray *cols, const Vigil__Change *c,
                          const uint8_t *change, size_t len, char *err, size_t errlen)
{
        const Vigil__AuditRecord *a = c->audit_record;
        const char *via = change_batch_via(b);
        int i;

        (void)arg;
        if (!a->node_id || !nodeid_at_or_below(a->node_id, via) || !a->has_seq ||
            a->seq < 1 || !a->has_at_us || !a->actor || !a->action || !a->outcome || a->prev_hash.len != 32 ||
            a->hash.len != 32) {
                snprintf(err, errlen, "audit record: incomplete, or of a node not under %s", via);
                return -EBADMSG;
        }
        if (cols[0].n == 0)
                for (i = 0; i < AUDIT_COPY_COLUMNS; i++) {
                        sqlarray_reset(&cols[i]);
                        sqlarray_set_type(&cols[i], audit_copy_types[i]);
                }
        sqlarray_add_text(&cols[0], a->node_id);
        sqlarray_add_int64(&cols[1], a->seq);
        /* The time exactly as recorded: microseconds, no floating point. */
        sqlarray_add_int64(&cols[2], a->at_us);
        sqlarray_add_text(&cols[3], a->actor);
        sqlarray_add_text(&cols[4], a->action);
        sqlarray_add_text(&cols[5], a->outcome);
        sqlarray_add_text(&cols[6], a->article);
        sqlarray_add_text(&cols[7], a->camera);
        sqlarray_add_text(&cols[8], a->purpose);
        sqlarray_add_text(&cols[9], a->destination);
        sqlarray_add_text(&cols[10], a->request_id);
        sqlarray_add_text(&cols[11], a->emergency_id);
        sqlarray_add_text(&cols[12], a->detail);
        sqlarray_add_bytea(&cols[13], a->prev_hash.data, a->prev_hash.len);
        sqlarray_add_bytea(&cols[14], a->hash.data, a->hash.len);
        sqlarray_add_bytea(&cols[15], change, len);
        return 0;
}

static void audit_copy_flush(void *arg, struct change_batch *b, struct sqlarray *cols)
{
        struct db_tx *tx = change_batch_tx(b);
        const char *p[2 + AUDIT_COPY_COLUMNS] = { change_batch_via(b), change_batch_uplink(b) };
        int lens[2 + AUDIT_COPY_COLUMNS] = { 0 }, fmts[2 + AUDIT_COPY_COLUMNS] = { 0 }, i;

        if (cols[0].n == 0)
                return;
        for (i = 0; i < AUDIT_COPY_COLUMNS; i++)
                sqlarray_param(&cols[i], &p[2 + i], &lens[2 + i], &fmts[2 + i]);
        /* A snapshot's records fill what is missing, wherever it is
         * (issue 17, fault 3); a delta's extend the chain. */
        db_tx_add(tx, change_batch_snapshot(b) ?
                      "SELECT audit_copies_fill($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                      "$15, $16, $17, $18)" :
                      "SELECT audit_copies_apply($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                      "$15, $16, $17, $18)",
                  2 + AUDIT_COPY_COLUMNS, p, lens, fmts);
        for (i = 0; i < AUDIT_COPY_COLUMNS; i++)
                sqlarray_reset(&cols[i]);
}

/* --- the log in a snapshot, up --- */

/* A snapshot up carries this node's log and the copies it holds, whole
 * (issue 17, fault 3): a parent restored from a backup lacks the records
 * it acknowledged after the backup was made, and the child may have
 * trimmed them from its outbox; a snapshot is then the only way they come
 * back. Keyset order (node, seq): columns 0 and 1, then audit_unsent's. */
static const char audit_snapshot_select[] =
        "SELECT r.node_id, r.seq, r.seq, r.node_id, (extract(epoch FROM r.at) * 1000000)::bigint, r.actor, "
        "r.action, r.outcome, r.article, r.camera, r.purpose, r.destination, r.request_id, r.emergency_id, "
        "r.detail, encode(r.prev_hash, 'hex'), encode(r.hash, 'hex'), encode(r.raw, 'hex') FROM ("
        "SELECT node_id, seq, at, actor, action, outcome, article, camera, purpose, destination, request_id, "
        "emergency_id, detail, prev_hash, hash, NULL::bytea AS raw, 0 AS fork FROM audit_log UNION ALL "
        "SELECT node_id, seq, at, actor, action, outcome, article, camera, purpose, destination, request_id, "
        "emergency_id, detail, prev_hash, hash, NULL, 0 FROM audit_copies UNION ALL "
        "SELECT node_id, seq, at, actor, action, outcome, NULL, NULL, NULL, NULL, NULL, NULL, NULL, prev_hash, "
        "hash, change, 1 FROM audit_forks) r "
        /* >=: a copy and a fork share (node, seq); the page's last row is
         * read again (skipped at the receiver as held), none is skipped. */
        "WHERE (r.node_id, r.seq) >= ($1, coalesce(nullif($2, '')::bigint, 0)) "
        "ORDER BY r.node_id, r.seq, r.fork, r.hash LIMIT $3::int";

static void audit_snapshot_read(void *arg, struct db_tx *tx, const struct snapshot_page *pg)
{
        char lim[16];
        const char *p[3] = { pg->key1, pg->key2, lim };

        (void)arg;
        snprintf(lim, sizeof(lim), "%d", pg->limit);
        db_tx_add(tx, audit_snapshot_select, 3, p, NULL, NULL);
}

/* A fork's record goes as it arrived (its change, kept whole), after the
 * copy of its sequence: the receiver keeps it as a fork too. */
static int audit_snapshot_encode(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        const char *raw = PQgetvalue(res, i, 17);
        size_t n = strlen(raw), len = 0;

        (void)arg;
        if (PQgetisnull(res, i, 17))
                return audit_encode_cols(res, i, 2, ret, ret_len);
        *ret = malloc(n / 2 + 1);
        if (!*ret)
                return -ENOMEM;
        if (sodium_hex2bin(*ret, n / 2 + 1, raw, n, NULL, &len, NULL) < 0) {
                free(*ret);
                *ret = NULL;
                return -EINVAL;
        }
        *ret_len = len;
        return 0;
}

void audit_init(struct audit *au, struct delivery *d, const struct node_keys *keys)
{
        memset(au, 0, sizeof(*au));
        au->d = d;
        au->keys = keys;
        change_register(&d->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_AUDIT_RECORD, .name = "audit record", .from = CHANGE_FROM_CHILD,
                .wrong_way = "access logs only travel up, not from the parent", .row = audit_copy_row,
                .flush = audit_copy_flush, .arg = au });
        change_register(&d->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_AUDIT_CHECKPOINT, .name = "audit checkpoint",
                .from = CHANGE_FROM_CHILD, .wrong_way = "access logs only travel up, not from the parent",
                .add = audit_checkpoint_add_copy, .arg = au });
        snapshot_register(&d->sections, &(struct snapshot_section){
                .name = "access log", .to = SNAPSHOT_TO_PARENT, .add_read = audit_snapshot_read,
                .encode = audit_snapshot_encode, .arg = au });
}

#include "features/conferral.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "base/sqlarray.h"
#include "db/db.h"
#include "features/signed.h"
#include "wire/decision.h"
#include "wire/wire.h"

/* The columns a Conferral is encoded from, in conferral_row_encode's order. */
#define CONFERRAL_COLUMNS                                                                                      \
        "id, version, unit, badge, public_key, role, array_to_string(conferred_by, ','), conferred_at, "       \
        "(extract(epoch FROM valid_until) * 1000000)::bigint, state = 'revoked'"

/* Conferred or revoked here for a unit below, not yet sent in this version. */
static const char conferral_pending[] =
        "SELECT " CONFERRAL_COLUMNS " FROM conferrals WHERE via IS NULL AND state <> 'pending' "
        "AND unit <> vigil_self() AND dispatched_version IS DISTINCT FROM version ORDER BY version LIMIT 20";

/* The live conferrals of a child's officers ($1 its ID), a page after $2. */
static const char conferral_snapshot_select[] =
        "SELECT " CONFERRAL_COLUMNS " FROM conferrals WHERE via IS NULL AND state = 'live' AND unit = $1 "
        "AND (valid_until IS NULL OR valid_until > now()) AND id > $2 ORDER BY id LIMIT $3::int";

/* Row I of a CONFERRAL_COLUMNS result as a Change (caller owns *RET),
 * signed by this node, which conferred it. */
static int conferral_row_encode(const struct conferral *cf, const PGresult *res, int i, uint8_t **ret,
                                size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__Conferral k = VIGIL__CONFERRAL__INIT;
        uint8_t sig[DECISION_SIG_LEN];
        char *by = strdup(PQgetvalue(res, i, 6)), *save = NULL, *tok, *list[8];
        size_t n = 0;
        int r;

        if (!by)
                return -ENOMEM;
        for (tok = strtok_r(by, ",", &save); tok && n < 8; tok = strtok_r(NULL, ",", &save))
                list[n++] = tok;
        k.id = PQgetvalue(res, i, 0);
        k.has_version = 1;
        k.version = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        k.unit = PQgetvalue(res, i, 2);
        k.badge = PQgetvalue(res, i, 3);
        k.public_key = PQgetvalue(res, i, 4);
        k.role = PQgetvalue(res, i, 5);
        k.n_conferred_by = n;
        k.conferred_by = list;
        k.conferred_at = PQgetvalue(res, i, 7);
        k.has_valid_until_us = !PQgetisnull(res, i, 8);
        k.valid_until_us = k.has_valid_until_us ? strtoll(PQgetvalue(res, i, 8), NULL, 10) : 0;
        k.has_revoked = 1;
        k.revoked = PQgetvalue(res, i, 9)[0] == 't';
        c.kind_case = VIGIL__CHANGE__KIND_CONFERRAL;
        c.conferral = &k;
        r = decision_sign(&k.base, cf->d->cfg->node_id, cf->keys->sign_secret, sig, NULL);
        if (r == 0)
                r = wire_encode_change(&c, ret, ret_len);
        free(by);
        return r;
}

/* A Conferral from the parent: for an officer of this node, checked again
 * by conferral_apply (which refuses and logs, never raises). */
static int conferral_add(void *arg, struct change_batch *b, const Vigil__Change *ch, const uint8_t *change,
                         size_t len, char *err, size_t errlen)
{
        struct conferral *cf = arg;
        const Vigil__Conferral *k = ch->conferral;
        struct sqlarray by = { .type = SQLARRAY_TEXT };
        char version[24], until[32], why[300];
        const char *p[11];
        int lens[11] = { 0 }, fmts[11] = { 0 };
        size_t i;

        (void)change;
        (void)len;
        if (!k->id || !k->has_version || !k->unit || !nodeid_is_wellformed(k->unit) || !k->badge ||
            !k->public_key || !k->role || !k->conferred_at || k->n_conferred_by == 0) {
                snprintf(err, errlen, "conferral %s: a field is missing", k->id ? k->id : "(none)");
                return -EBADMSG;
        }
        /* Signed by the node that conferred it, an ancestor covering the
         * officer's unit; conferral_apply checks that node is the parent. */
        if (signed_check(cf->d, &k->base, k->conferred_at, "conferral", k->id, (char *const *)&k->unit, 1, why,
                         sizeof(why)) < 0) {
                cf->refused++;
                signed_refuse(cf->d, change_batch_tx(b), change_batch_via(b), "conferral.receive", k->id, &k->base,
                              why);
                return 0;
        }
        if (cf->changed)
                cf->changed(cf->changed_arg);
        for (i = 0; i < k->n_conferred_by; i++)
                sqlarray_add_text(&by, k->conferred_by[i]);
        snprintf(version, sizeof(version), "%" PRId64, k->version);
        snprintf(until, sizeof(until), "%.6f", (double)k->valid_until_us / 1e6);
        p[0] = change_batch_via(b);
        p[1] = k->id;
        p[2] = version;
        p[3] = k->unit;
        p[4] = k->badge;
        p[5] = k->public_key;
        p[6] = k->role;
        sqlarray_param(&by, &p[7], &lens[7], &fmts[7]);
        p[8] = k->conferred_at;
        p[9] = k->has_valid_until_us ? until : NULL;
        p[10] = k->revoked ? "t" : "f";
        db_tx_add(change_batch_tx(b), "SELECT conferral_apply($1, $2, $3, $4, $5, $6, $7, $8::text[], $9, "
                                      "to_timestamp($10::double precision), $11)", 11, p, lens, fmts);
        sqlarray_deinit(&by);
        return 0;
}

static void conferral_add_read(void *arg, struct db_tx *tx, const struct snapshot_page *pg)
{
        char lim[16];
        const char *p[3] = { pg->peer, pg->key1, lim };

        (void)arg;
        snprintf(lim, sizeof(lim), "%d", pg->limit);
        db_tx_add(tx, conferral_snapshot_select, 3, p, NULL, NULL);
}

static int conferral_encode_row(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        return conferral_row_encode(arg, res, i, ret, ret_len);
}

void conferral_init(struct conferral *c, struct delivery *d, const struct node_keys *keys,
                    void (*changed)(void *arg), void *arg)
{
        memset(c, 0, sizeof(*c));
        c->d = d;
        c->keys = keys;
        c->changed = changed;
        c->changed_arg = arg;
        change_register(&d->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_CONFERRAL, .name = "conferral", .from = CHANGE_FROM_PARENT,
                .wrong_way = "a conferral only comes from the parent (powers come from above)",
                .add = conferral_add, .arg = c });
        snapshot_register(&d->sections, &(struct snapshot_section){
                .name = "conferrals", .to = SNAPSHOT_TO_CHILD, .add_read = conferral_add_read,
                .encode = conferral_encode_row, .arg = c });
}

/* --- sending what was conferred here --- */

static void conferral_dispatch_done(struct conferral *c)
{
        if (runonce_end(&c->dispatching))
                conferral_dispatch(c);
}

static void conferral_on_sent(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct conferral *c = arg;

        (void)tx;
        if (err)
                log_warn("access", "msg=\"cannot send conferrals down\" reason=\"%s\"", msg);
        else
                link_set_kick_children(&c->d->links);
        conferral_dispatch_done(c);
}

static void conferral_on_pending(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct conferral *c = arg;
        PGresult *res = db_tx_result(rtx, 0);
        struct db_tx *tx;
        int i, n;

        if (err || !res || PQntuples(res) == 0) {
                if (err)
                        log_warn("access", "msg=\"cannot read conferrals to send\" reason=\"%s\"", msg);
                conferral_dispatch_done(c);
                return;
        }
        n = PQntuples(res);
        tx = db_tx_new();
        for (i = 0; i < n; i++) {
                uint8_t *buf;
                size_t len;
                if (conferral_row_encode(c, res, i, &buf, &len) < 0)
                        continue;
                {
                        const char *p[3] = { PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), (const char *)buf };
                        int lens[3] = { 0, 0, (int)len }, fmts[3] = { 0, 0, 1 };
                        db_tx_add(tx, "SELECT conferral_send($1, $2::bigint, $3)", 3, p, lens, fmts);
                }
                free(buf);
                c->sent++;
                log_info("access", "conferral=%s unit=%s badge=%s msg=\"conferral sent down\"",
                         PQgetvalue(res, i, 0), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3));
        }
        db_submit(c->d->links.db, tx, conferral_on_sent, c);
}

void conferral_dispatch(struct conferral *c)
{
        struct db *db = c->d->links.db;
        struct db_tx *tx;

        if (!db || !db_is_up(db) || !runonce_begin(&c->dispatching))
                return;
        tx = db_tx_new();
        db_tx_add(tx, conferral_pending, 0, NULL, NULL, NULL);
        db_submit(db, tx, conferral_on_pending, c);
}

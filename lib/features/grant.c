#include "features/grant.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "base/log.h"
#include "base/nodeid.h"
#include "base/sqlarray.h"
#include "features/signed.h"
#include "wire/decision.h"
#include "wire/wire.h"

#define GRANT_DISPATCH_BATCH 20

static const char grant_select[] =
        "SELECT id, grant_version, array_to_string(cameras, ','), array_to_string(actions, ','), "
        "array_to_string(officers, ','), (extract(epoch FROM rec_from) * 1000000)::bigint, "
        "(extract(epoch FROM rec_to) * 1000000)::bigint, (extract(epoch FROM expires_at) * 1000000)::bigint, "
        "state = 'revoked', purpose, destination, case_no, decided_by, node_id, "
        "array_to_string(officer_units, ','), array_to_string(officer_keys, ',') "
        "FROM access_requests WHERE state IN ('approved', 'revoked') "
        "AND grant_version IS DISTINCT FROM dispatched_version ORDER BY grant_version LIMIT 20";

/* Split "a,b,c" into LIST (pointers into the copy *BUF, caller frees). */
static size_t grant_split(const char *s, char **buf, char **list, size_t max)
{
        char *save = NULL, *tok;
        size_t n = 0;

        *buf = strdup(s ? s : "");
        vigil_require(*buf != NULL);
        for (tok = strtok_r(*buf, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
                list[n++] = tok;
        return n;
}

static int64_t grant_int(const PGresult *res, int i, int c)
{
        return PQgetisnull(res, i, c) ? 0 : strtoll(PQgetvalue(res, i, c), NULL, 10);
}

static const char *grant_text(const PGresult *res, int i, int c)
{
        return PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

/* The statement applying grant G (bytes CHANGE) at this node, from VIA. */
static void grant_add_apply(struct db_tx *tx, const char *via, const Vigil__Grant *g, const uint8_t *change,
                            size_t len)
{
        struct sqlarray cams = { .type = SQLARRAY_TEXT }, acts = { .type = SQLARRAY_TEXT },
                        offs = { .type = SQLARRAY_TEXT }, units = { .type = SQLARRAY_TEXT },
                        keys = { .type = SQLARRAY_TEXT };
        char version[24], from[32], to[32], until[32];
        const char *p[18];
        int lens[18] = { 0 }, fmts[18] = { 0 };
        size_t k;

        for (k = 0; k < g->n_cameras; k++)
                sqlarray_add_text(&cams, g->cameras[k]);
        for (k = 0; k < g->n_actions; k++)
                sqlarray_add_text(&acts, g->actions[k]);
        for (k = 0; k < g->n_officers; k++)
                sqlarray_add_text(&offs, g->officers[k]);
        /* Identity, not text: officer K as the deciding node knew them
         * (grant_add checked that NAMED matches OFFICERS one to one). */
        for (k = 0; k < g->n_named; k++) {
                sqlarray_add_text(&units, g->named[k]->unit);
                sqlarray_add_text(&keys, g->named[k]->public_key);
        }
        snprintf(version, sizeof(version), "%" PRId64, g->version);
        snprintf(from, sizeof(from), "%.6f", (double)g->rec_from_us / 1e6);
        snprintf(to, sizeof(to), "%.6f", (double)g->rec_to_us / 1e6);
        snprintf(until, sizeof(until), "%.6f", (double)g->valid_until_us / 1e6);
        p[0] = via;
        p[1] = g->request_id;
        p[2] = version;
        sqlarray_param(&cams, &p[3], &lens[3], &fmts[3]);
        sqlarray_param(&acts, &p[4], &lens[4], &fmts[4]);
        sqlarray_param(&offs, &p[5], &lens[5], &fmts[5]);
        p[6] = g->has_rec_from_us ? from : NULL;
        p[7] = g->has_rec_to_us ? to : NULL;
        p[8] = until;
        p[9] = g->revoked ? "t" : "f";
        p[10] = g->purpose;
        p[11] = g->destination;
        p[12] = g->case_no;
        p[13] = g->approved_by;
        p[14] = g->filed_at;
        p[15] = (const char *)change;
        lens[15] = (int)len;
        fmts[15] = 1;
        sqlarray_param(&units, &p[16], &lens[16], &fmts[16]);
        sqlarray_param(&keys, &p[17], &lens[17], &fmts[17]);
        db_tx_add(tx, "SELECT grant_apply($1, $2, $3, $4::text[], $5::text[], $6::text[], "
                      "to_timestamp($7::double precision), to_timestamp($8::double precision), "
                      "to_timestamp($9::double precision), $10, $11, $12, $13, $14, $15, $16, "
                      "$17::text[], $18::text[])",
                  18, p, lens, fmts);
        sqlarray_deinit(&units);
        sqlarray_deinit(&keys);
        sqlarray_deinit(&cams);
        sqlarray_deinit(&acts);
        sqlarray_deinit(&offs);
}

/* Row I of a grant_select (or grant_snapshot_select) result as a Grant;
 * grant_row_free() releases what it points into. */
struct grant_row {
        Vigil__Grant g;
        char *b1, *b2, *b3, *b4, *b5, *cams[256], *acts[8], *offs[16], *units[16], *keys[16];
        Vigil__OfficerRef refs[16], *named[16];
};

static void grant_row_read(struct grant_row *r, const PGresult *res, int i)
{
        Vigil__Grant *g = &r->g;

        vigil__grant__init(g);
        g->request_id = PQgetvalue(res, i, 0);
        g->has_version = 1;
        g->version = grant_int(res, i, 1);
        g->n_cameras = grant_split(PQgetvalue(res, i, 2), &r->b1, r->cams, 256);
        g->cameras = r->cams;
        g->n_actions = grant_split(PQgetvalue(res, i, 3), &r->b2, r->acts, 8);
        g->actions = r->acts;
        g->n_officers = grant_split(PQgetvalue(res, i, 4), &r->b3, r->offs, 16);
        g->officers = r->offs;
        g->has_rec_from_us = !PQgetisnull(res, i, 5);
        g->rec_from_us = grant_int(res, i, 5);
        g->has_rec_to_us = !PQgetisnull(res, i, 6);
        g->rec_to_us = grant_int(res, i, 6);
        g->has_valid_until_us = 1;
        g->valid_until_us = grant_int(res, i, 7);
        g->has_revoked = 1;
        g->revoked = PQgetvalue(res, i, 8)[0] == 't';
        g->purpose = (char *)grant_text(res, i, 9);
        g->destination = (char *)grant_text(res, i, 10);
        g->case_no = (char *)grant_text(res, i, 11);
        g->approved_by = (char *)grant_text(res, i, 12);
        g->filed_at = (char *)grant_text(res, i, 13);
        /* Grant.named: each officer by unit, badge and key (a request filed
         * before they were kept has none: it names no one a station admits). */
        {
                size_t nu = grant_split(grant_text(res, i, 14), &r->b4, r->units, 16);
                size_t nk = grant_split(grant_text(res, i, 15), &r->b5, r->keys, 16);
                size_t k;

                g->n_named = 0;
                g->named = r->named;
                if (nu == g->n_officers && nk == g->n_officers)
                        for (k = 0; k < g->n_officers; k++) {
                                vigil__officer_ref__init(&r->refs[k]);
                                r->refs[k].unit = r->units[k];
                                r->refs[k].badge = r->offs[k];
                                r->refs[k].public_key = r->keys[k];
                                r->named[k] = &r->refs[k];
                                g->n_named++;
                        }
        }
}

static void grant_row_free(struct grant_row *r)
{
        free(r->b1);
        free(r->b2);
        free(r->b3);
        free(r->b4);
        free(r->b5);
}

static int grant_row_encode(struct grant_row *r, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;

        c.kind_case = VIGIL__CHANGE__KIND_GRANT;
        c.grant = &r->g;
        return wire_encode_change(&c, ret, ret_len);
}

/* Add to TX the statement keeping (and sending down) the decision in row I
 * of a grant_select result, signed by this node (Art 19: the stations
 * below apply only what the deciding node signed). */
static int grant_add_row(struct grant *g, struct db_tx *tx, const PGresult *res, int i)
{
        struct grant_row r;
        uint8_t *buf, sig[DECISION_SIG_LEN];
        size_t len;
        int ret;

        grant_row_read(&r, res, i);
        ret = decision_sign(&r.g.base, g->d->cfg->node_id, g->keys->sign_secret, sig, NULL);
        if (ret == 0)
                ret = grant_row_encode(&r, &buf, &len);
        if (ret == 0) {
                grant_add_apply(tx, NULL, &r.g, buf, len);
                signed_keep(tx, "grant", r.g.request_id, r.g.version, buf, len);
                free(buf);
        }
        grant_row_free(&r);
        return ret;
}

/* The grants held here for the cameras under a child ($1: its prefix),
 * a page after request $2 (keyset), at most $3, until they expire: what a
 * child without our state gets in its snapshot. Revoked ones too: a child
 * whose database was restored from a backup may hold one as live, and
 * would let its officers view until it expired (issue 17, fault 3; found
 * by tests/chaos seed 301). An expired grant needs no sending. The last
 * column: the decider's signed bytes (grant_encode_row sends those). */
static const char grant_snapshot_select[] =
        "SELECT request_id, version, array_to_string(cameras, ','), array_to_string(actions, ','), "
        "array_to_string(officers, ','), (extract(epoch FROM rec_from) * 1000000)::bigint, "
        "(extract(epoch FROM rec_to) * 1000000)::bigint, (extract(epoch FROM valid_until) * 1000000)::bigint, "
        "revoked, purpose, destination, case_no, approved_by, filed_at, "
        "array_to_string(officer_units, ','), array_to_string(officer_keys, ','), "
        SIGNED_BYTES_SQL("grant", "grants.request_id", "grants.version")
        " FROM grants WHERE valid_until > now() AND request_id > $2 "
        "AND EXISTS (SELECT 1 FROM unnest(cameras) AS c WHERE left(c, length($1)) = $1) "
        "ORDER BY request_id LIMIT $3::int";

static int grant_encode_row(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        struct grant_row r;
        int ret_code;

        (void)arg;
        /* The decider's own bytes: this node cannot sign for it (a grant
         * kept from before migration 011 has none, goes as it is, and is
         * refused below). */
        ret_code = signed_bytes(res, i, PQnfields(res) - 1, ret, ret_len);
        if (ret_code != 0)
                return ret_code < 0 ? ret_code : 0;
        grant_row_read(&r, res, i);
        ret_code = grant_row_encode(&r, ret, ret_len);
        grant_row_free(&r);
        return ret_code;
}

/* Art 19: a grant or revocation from above is applied only if the node
 * that decided it (filed_at) signed it and every camera lies under it
 * (features/signed.h); else refused on record, acked, not applied. */
static int grant_add(void *arg, struct change_batch *b, const Vigil__Change *c, const uint8_t *change,
                     size_t len, char *err, size_t errlen)
{
        struct grant *gr = arg;
        const Vigil__Grant *g = c->grant;
        char why[512];
        size_t k;

        if (!g->request_id || !g->has_version ||
            !g->has_valid_until_us || g->n_cameras == 0 || g->n_actions == 0 || g->n_officers < 2) {
                snprintf(err, errlen, "grant: request, version, cameras, actions, two officers and an expiry "
                         "are required");
                return -EBADMSG;
        }
        /* Identity, not text: each officer named by unit and key, in order. */
        if (g->n_named != g->n_officers) {
                snprintf(err, errlen, "grant %s: %zu officers but %zu named by unit and key", g->request_id,
                         g->n_officers, g->n_named);
                return -EBADMSG;
        }
        for (k = 0; k < g->n_named; k++)
                if (!g->named[k]->unit || !g->named[k]->badge || !g->named[k]->public_key ||
                    strcmp(g->named[k]->badge, g->officers[k]) != 0 || !nodeid_is_wellformed(g->named[k]->unit)) {
                        snprintf(err, errlen, "grant %s: officer %s is not named by unit, badge and key",
                                 g->request_id, g->officers[k]);
                        return -EBADMSG;
                }
        for (k = 0; k < g->n_cameras; k++)
                if (!nodeid_is_wellformed(g->cameras[k])) {
                        snprintf(err, errlen, "grant %s: camera %s is not a GB/T 28181 ID", g->request_id,
                                 g->cameras[k]);
                        return -EBADMSG;
                }
        if (signed_check(gr->d, &g->base, g->filed_at, "grant", g->request_id, g->cameras, g->n_cameras, why,
                         sizeof(why)) < 0) {
                gr->refused++;
                signed_refuse(gr->d, change_batch_tx(b), change_batch_via(b),
                              g->revoked ? "grant.revoke" : "grant.receive", g->request_id, &g->base, why);
                return 0;
        }
        grant_add_apply(change_batch_tx(b), change_batch_via(b), g, change, len);
        signed_keep(change_batch_tx(b), "grant", g->request_id, g->version, change, len);
        return 0;
}

/* The snapshot of a child without our state: the live grants for the
 * cameras under it ($1 its prefix; keyed by the child, not by us). */
static void grant_add_read(void *arg, struct db_tx *tx, const struct snapshot_page *pg)
{
        char prefix[12], lim[16];
        const char *p[3] = { prefix, pg->key1, lim };

        (void)arg;
        nodeid_prefix(pg->peer, prefix);
        snprintf(lim, sizeof(lim), "%d", pg->limit);
        db_tx_add(tx, grant_snapshot_select, 3, p, NULL, NULL);
}

void grant_init(struct grant *g, struct delivery *d, const struct node_keys *keys)
{
        memset(g, 0, sizeof(*g));
        g->d = d;
        g->keys = keys;
        change_register(&d->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_GRANT, .name = "grant", .from = CHANGE_FROM_PARENT,
                .wrong_way = "a grant only comes from the parent", .add = grant_add, .arg = g });
        snapshot_register(&d->sections, &(struct snapshot_section){
                .name = "grants", .to = SNAPSHOT_TO_CHILD, .add_read = grant_add_read,
                .encode = grant_encode_row, .arg = g });
}

/* --- sending what was decided here --- */

/* One dispatch at a time; one asked for meanwhile follows. */
static void grant_dispatch_done(struct grant *g)
{
        if (runonce_end(&g->dispatching))
                grant_dispatch(g);
}

static void grant_on_dispatched(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct grant *g = arg;

        (void)tx;
        if (err)
                log_warn("access", "msg=\"cannot send grants down\" reason=\"%s\"", msg);
        else
                link_set_kick_children(&g->d->links);
        grant_dispatch_done(g);
}

static void grant_on_pending(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct grant *g = arg;
        PGresult *res = db_tx_result(rtx, 0);
        struct db_tx *tx;
        int i, nr;

        if (err || !res || PQntuples(res) == 0) {
                if (err)
                        log_warn("access", "msg=\"cannot read decisions to send\" reason=\"%s\"", msg);
                grant_dispatch_done(g);
                return;
        }
        nr = PQntuples(res);
        tx = db_tx_new();
        for (i = 0; i < nr; i++) {
                const char *p[2] = { PQgetvalue(res, i, 0), PQgetvalue(res, i, 1) };
                if (grant_add_row(g, tx, res, i) < 0)
                        continue;
                db_tx_add(tx, "UPDATE access_requests SET dispatched_version = $2::bigint WHERE id = $1", 2, p,
                          NULL, NULL);
                log_info("access", "request=%s msg=\"decision sent down\"", PQgetvalue(res, i, 0));
        }
        db_submit(g->d->links.db, tx, grant_on_dispatched, g);
}

void grant_dispatch(struct grant *g)
{
        struct db *db = g->d->links.db;
        struct db_tx *tx;

        if (!db || !db_is_up(db) || !runonce_begin(&g->dispatching))
                return;
        tx = db_tx_new();
        db_tx_add(tx, grant_select, 0, NULL, NULL, NULL);
        db_submit(db, tx, grant_on_pending, g);
}

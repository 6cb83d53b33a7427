#include "features/emergency-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/audit.h"
#include "features/emergency_bounds.h"
#include "features/emergency_details.h"
#include "db/db.h"
#include "base/log.h"
#include "base/nodeid.h"
#include "transport/rtsp.h"
#include "base/sqlarray.h"
#include "features/signed.h"
#include "wire/decision.h"
#include "wire/wire.h"
#include "base/vtime.h"
#include "base/ids.h"
#include "base/keys.h"

/* --- orders: encode, send down, apply --- */

static const char emergency_select[] =
        "SELECT id, dispatch_version, scope, near_lat, near_lon, radius_m, "
        "(extract(epoch FROM starts_at) * 1000000)::bigint, (extract(epoch FROM ends_at) * 1000000)::bigint, "
        "incident, authority, declared_by, declared_at, ended_at IS NOT NULL, " EMERGENCY_BOUNDS_COLUMN
        " FROM emergencies "
        "WHERE dispatch_version IS DISTINCT FROM dispatched_version ORDER BY dispatch_version LIMIT 20";

/* The numbers among an order's fields, as text for its parameters. */
struct emergency_order_text {
        char version[24], lat[32], lon[32], rad[32], starts[32], ends[32];
};

/* The order's fields as parameters $2..$14 of emergency_apply and
 * emergency_receive (P[1..13]; T holds the numbers). */
static void emergency_order_params(const Vigil__EmergencyOrder *o, const char **p, struct emergency_order_text *t)
{
        snprintf(t->version, sizeof(t->version), "%" PRId64, o->version);
        snprintf(t->lat, sizeof(t->lat), "%.9f", o->near_lat);
        snprintf(t->lon, sizeof(t->lon), "%.9f", o->near_lon);
        snprintf(t->rad, sizeof(t->rad), "%.3f", o->radius_m);
        snprintf(t->starts, sizeof(t->starts), "%" PRId64, o->starts_us);
        snprintf(t->ends, sizeof(t->ends), "%" PRId64, o->ends_us);
        p[1] = o->id;
        p[2] = t->version;
        p[3] = o->scope;
        p[4] = o->has_radius_m ? t->lat : NULL;
        p[5] = o->has_radius_m ? t->lon : NULL;
        p[6] = o->has_radius_m ? t->rad : NULL;
        p[7] = t->starts;
        p[8] = t->ends;
        p[9] = o->incident;
        p[10] = o->authority;
        p[11] = o->declared_by;
        p[12] = o->declared_at;
        p[13] = o->ended ? "t" : "f";
}

/* BOUNDS: emergency_bounds_json of O. */
static void emergency_add_apply(struct db_tx *tx, const char *via, const Vigil__EmergencyOrder *o,
                                const uint8_t *change, size_t len, const char *bounds)
{
        struct emergency_order_text t;
        const char *p[16];
        int lens[16] = { 0 }, fmts[16] = { 0 };

        emergency_order_params(o, p, &t);
        p[0] = via;
        p[14] = (const char *)change;
        lens[14] = (int)len;
        fmts[14] = 1;
        p[15] = bounds;
        db_tx_add(tx, "SELECT emergency_apply($1, $2, $3, $4, $5, $6, $7, "
                      "timestamptz 'epoch' + $8::bigint * interval '1 microsecond', "
                      "timestamptz 'epoch' + $9::bigint * interval '1 microsecond', $10, $11, $12, $13, $14, $15, "
                      "$16::jsonb)",
                  16, p, lens, fmts);
}

/* Row I of an emergency_select (or emergency_snapshot_select) result as
 * an order; O points into RES and B (emergency_bounds_free it). */
static void emergency_row_read(Vigil__EmergencyOrder *o, struct emergency_bounds *b, const PGresult *res, int i)
{
        vigil__emergency_order__init(o);
        o->id = PQgetvalue(res, i, 0);
        o->has_version = 1;
        o->version = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        o->scope = PQgetvalue(res, i, 2);
        if (!PQgetisnull(res, i, 3)) {
                o->has_near_lat = o->has_near_lon = o->has_radius_m = 1;
                o->near_lat = strtod(PQgetvalue(res, i, 3), NULL);
                o->near_lon = strtod(PQgetvalue(res, i, 4), NULL);
                o->radius_m = strtod(PQgetvalue(res, i, 5), NULL);
        }
        o->has_starts_us = o->has_ends_us = o->has_ended = 1;
        o->starts_us = strtoll(PQgetvalue(res, i, 6), NULL, 10);
        o->ends_us = strtoll(PQgetvalue(res, i, 7), NULL, 10);
        o->incident = PQgetvalue(res, i, 8);
        o->authority = PQgetvalue(res, i, 9);
        o->declared_by = PQgetvalue(res, i, 10);
        o->declared_at = PQgetvalue(res, i, 11);
        o->ended = PQgetvalue(res, i, 12)[0] == 't';
        emergency_bounds_read(b, o, PQgetvalue(res, i, 13));
}

/* Row I read into *O and encoded as an EmergencyOrder change. */
static int emergency_row_encode(Vigil__EmergencyOrder *o, struct emergency_bounds *b, const PGresult *res, int i,
                                uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;

        emergency_row_read(o, b, res, i);
        c.kind_case = VIGIL__CHANGE__KIND_EMERGENCY_ORDER;
        c.emergency_order = o;
        return wire_encode_change(&c, ret, ret_len);
}

/* A snapshot's order: the declaring node's own bytes (this node cannot
 * sign for it), the last column of emergency_snapshot_select. */

static int emergency_encode_row(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        Vigil__EmergencyOrder o;
        struct emergency_bounds b;
        int r = signed_bytes(res, i, PQnfields(res) - 1, ret, ret_len);

        if (r != 0)
                return r < 0 ? r : 0;
        (void)arg;
        r = emergency_row_encode(&o, &b, res, i, ret, ret_len);
        emergency_bounds_free(&b);
        return r;
}

/* The orders held here that cover a child ($1: its ID; the last column:
 * the declaring node's signed bytes), as emergency_apply decides whom to
 * send them to: what a child without our state gets in its snapshot (one
 * that joins or is rebuilt during an emergency acts on it). Ended ones
 * too, until their time is up: a child whose database was restored from a
 * backup may hold one as live, and would keep private systems linked
 * until it expires (issue 17, fault 3; found by tests/chaos seed 300).
 * Few: one page. */
static const char emergency_snapshot_select[] =
        "SELECT id, version, scope, near_lat, near_lon, radius_m, "
        "(extract(epoch FROM starts_at) * 1000000)::bigint, (extract(epoch FROM ends_at) * 1000000)::bigint, "
        "incident, authority, declared_by, declared_at, ended_at IS NOT NULL, " EMERGENCY_BOUNDS_COLUMN ", "
        SIGNED_BYTES_SQL("emergency_order", "emergencies.id", "emergencies.version")
        " FROM emergencies WHERE ends_at > now() "
        "AND (left($1, length(vigil_prefix(scope))) = vigil_prefix(scope) "
        "OR left(scope, length(vigil_prefix($1))) = vigil_prefix($1)) ORDER BY id";

/* Add to TX the statement keeping (and sending down) the order in row I of
 * an emergency_select result, signed by this node, which declared it (Art
 * 19: the stations act only on what the declaring node signed). */
static int emergency_add_row(struct emergency *e, struct db_tx *tx, const PGresult *res, int i)
{
        Vigil__EmergencyOrder o;
        struct emergency_bounds b;
        Vigil__Change c = VIGIL__CHANGE__INIT;
        uint8_t *buf, sig[DECISION_SIG_LEN];
        size_t len;
        int r;

        emergency_row_read(&o, &b, res, i);
        r = decision_sign(&o.base, e->d->cfg->node_id, e->audit->keys->sign_secret, sig, NULL);
        if (r == 0) {
                c.kind_case = VIGIL__CHANGE__KIND_EMERGENCY_ORDER;
                c.emergency_order = &o;
                r = wire_encode_change(&c, &buf, &len);
        }
        if (r == 0) {
                /* The command's own row: its bounds as it holds them. */
                emergency_add_apply(tx, NULL, &o, buf, len, PQgetvalue(res, i, 13));
                signed_keep(tx, "emergency_order", o.id, o.version, buf, len);
                free(buf);
        }
        emergency_bounds_free(&b);
        return r;
}

static void emergency_on_dispatched(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct emergency *e = arg;

        (void)tx;
        if (err)
                log_warn("emergency", "msg=\"cannot send orders down\" reason=\"%s\"", msg);
        else
                link_set_kick_children_after(&e->d->links, tx);
        if (runonce_end(&e->dispatching))
                emergency_dispatch(e);
}

static void emergency_on_pending(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct emergency *e = arg;
        PGresult *res = db_tx_result(rtx, 0);
        struct db_tx *tx;
        int i, nr;

        if (err || !res || (nr = PQntuples(res)) == 0) {
                if (err)
                        log_warn("emergency", "msg=\"cannot read orders to send\" reason=\"%s\"", msg);
                if (runonce_end(&e->dispatching))
                        emergency_dispatch(e);
                return;
        }
        tx = db_tx_new();
        for (i = 0; i < nr; i++) {
                const char *p[2] = { PQgetvalue(res, i, 0), PQgetvalue(res, i, 1) };
                if (emergency_add_row(e, tx, res, i) < 0)
                        continue;
                db_tx_add(tx, "UPDATE emergencies SET dispatched_version = $2::bigint WHERE id = $1", 2, p, NULL,
                          NULL);
                log_info("emergency", "id=%s msg=\"order sent down\"", PQgetvalue(res, i, 0));
        }
        link_set_read_children_in(&e->d->links, tx);   /* sent as it commits */
        db_submit(e->d->links.db, tx, emergency_on_dispatched, e);
}

void emergency_dispatch(struct emergency *e)
{
        struct db_tx *tx;

        if (!e->d->links.db || !db_is_up(e->d->links.db) || e->d->cfg->tier == TIER_STATION ||
            !runonce_begin(&e->dispatching))
                return;
        tx = db_tx_new();
        db_tx_add(tx, emergency_select, 0, NULL, NULL, NULL);
        db_submit(e->d->links.db, tx, emergency_on_pending, e);
}

/* --- reports --- */

/* The statement keeping report R (bytes CHANGE) from VIA (NULL: this
 * station's own) and forwarding it to UPLINK. */
static void emergency_add_report_apply(struct db_tx *tx, const char *via, const char *uplink,
                                       const Vigil__EmergencyReport *r, const uint8_t *change, size_t len)
{
        char version[24], acked[24], nl[16], nf[16], nu[16];
        const char *p[12];
        int lens[12] = { 0 }, fmts[12] = { 0 };

        snprintf(version, sizeof(version), "%" PRId64, r->version);
        snprintf(acked, sizeof(acked), "%" PRId64, r->acked_us);
        snprintf(nl, sizeof(nl), "%d", r->linked);
        snprintf(nf, sizeof(nf), "%d", r->failed);
        snprintf(nu, sizeof(nu), "%d", r->unlinked);
        p[0] = via;
        p[1] = uplink;
        p[2] = r->emergency_id;
        p[3] = r->station;
        p[4] = version;
        p[5] = acked;
        p[6] = nl;
        p[7] = nf;
        p[8] = r->done ? "t" : "f";
        p[9] = r->details;
        p[10] = (const char *)change;
        lens[10] = (int)len;
        fmts[10] = 1;
        p[11] = nu;
        db_tx_add(tx, "SELECT emergency_report_apply($1, $2, $3, $4, $5, "
                      "timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7, $8, $9, $10::jsonb, $11, "
                      "$12::integer)", 12, p, lens, fmts);
}

/* This station's report on order ID (a new version), encoded into *BUF
 * (caller frees); R is filled in and points into the arguments. */
static void emergency_encode_report(struct emergency *e, Vigil__EmergencyReport *r, const char *id, int64_t acked_us,
                                    int linked, int failed, bool done, const char *details, int unlinked,
                                    uint8_t **buf, size_t *len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;

        vigil__emergency_report__init(r);
        r->emergency_id = (char *)id;
        r->station = (char *)e->d->cfg->node_id;
        r->has_version = r->has_acked_us = r->has_linked = r->has_failed = r->has_done = r->has_unlinked = 1;
        r->version = delivery_next_version(e->d);
        r->acked_us = acked_us;
        r->linked = linked;
        r->failed = failed;
        r->done = done;
        r->details = (char *)details;
        r->unlinked = unlinked;
        c.kind_case = VIGIL__CHANGE__KIND_EMERGENCY_REPORT;
        c.emergency_report = r;
        vigil_require(wire_encode_change(&c, buf, len) == 0);
}

void emergency_add_report(struct emergency *e, struct db_tx *tx, const char *id, int64_t acked_us, int linked,
                                 int failed, bool done, const char *details, int unlinked)
{
        Vigil__EmergencyReport r;
        uint8_t *buf;
        size_t len;

        emergency_encode_report(e, &r, id, acked_us, linked, failed, done, details, unlinked, &buf, &len);
        emergency_add_report_apply(tx, NULL, delivery_parent_id(e->d), &r, buf, len);
        free(buf);
}

/* At a station, the statement keeping order O from VIA and acking it, its
 * report up (schema/functions/emergency.sql: emergency_receive decides whether the order is
 * new, live and covers this station). */
static void emergency_add_receive(struct emergency *e, struct db_tx *tx, const char *via, const Vigil__EmergencyOrder *o,
                                  const char *bounds)
{
        Vigil__EmergencyReport r;
        struct emergency_order_text t;
        char rversion[24], acked[24];
        const char *p[19];
        int lens[19] = { 0 }, fmts[19] = { 0 };
        uint8_t *buf;
        size_t len;

        emergency_encode_report(e, &r, o->id, vtime_now_us(), 0, 0, false, "[]", 0, &buf, &len);
        emergency_order_params(o, p, &t);
        p[0] = via;
        snprintf(rversion, sizeof(rversion), "%" PRId64, r.version);
        snprintf(acked, sizeof(acked), "%" PRId64, r.acked_us);
        p[14] = rversion;
        p[15] = acked;
        p[16] = delivery_parent_id(e->d);
        p[17] = (const char *)buf;
        lens[17] = (int)len;
        fmts[17] = 1;
        p[18] = bounds;
        db_tx_add(tx, "SELECT emergency_receive($1, $2, $3, $4, $5, $6, $7, "
                      "timestamptz 'epoch' + $8::bigint * interval '1 microsecond', "
                      "timestamptz 'epoch' + $9::bigint * interval '1 microsecond', $10, $11, $12, $13, $14, $15, "
                      "timestamptz 'epoch' + $16::bigint * interval '1 microsecond', $17, $18, $19::jsonb)",
                  19, p, lens, fmts);
        free(buf);
}

/* An order from the parent: kept (and forwarded) by a district, kept and
 * acked by a station in the same statement. Art 19: only if the node that
 * declared it (declared_at) signed it and the scope lies under it
 * (features/signed.h); else refused on record, acked as a change (the link
 * goes on), neither kept nor acked as an order. */
static int emergency_add_order(void *arg, struct change_batch *b, const Vigil__Change *c, const uint8_t *change,
                               size_t len, char *err, size_t errlen)
{
        struct emergency *e = arg;
        const Vigil__EmergencyOrder *o = c->emergency_order;
        char why[512];
        char *bounds;

        if (!o->id || !o->has_version || !o->scope || !nodeid_is_wellformed(o->scope) || !o->has_starts_us ||
            !o->has_ends_us || o->ends_us <= o->starts_us || !o->incident || !o->authority ||
            !o->declared_by || !o->declared_at ||
            o->has_radius_m != o->has_near_lat || o->has_near_lat != o->has_near_lon) {
                snprintf(err, errlen, "emergency order: a field is missing or inconsistent");
                return -EBADMSG;
        }
        if (signed_check(e->d, &o->base, o->declared_at, "emergency order", o->id, &o->scope, 1, why,
                         sizeof(why)) < 0) {
                e->refused++;
                signed_refuse(e->d, change_batch_tx(b), change_batch_via(b), o->ended ? "emergency.end" :
                              "emergency.receive", o->id, &o->base, why);
                return 0;
        }
        if (!(bounds = emergency_bounds_json(o, err, errlen)))
                return -EBADMSG;
        signed_keep(change_batch_tx(b), "emergency_order", o->id, o->version, change, len);
        if (e->d->cfg->tier != TIER_STATION) {
                emergency_add_apply(change_batch_tx(b), change_batch_via(b), o, change, len, bounds);
                free(bounds);
                return 0;
        }
        emergency_add_receive(e, change_batch_tx(b), change_batch_via(b), o, bounds);
        free(bounds);
        /* Linked after a delay (emergency_act_soon, once the transaction
         * committed); an end is undone at once. */
        if (!o->ended)
                change_batch_note(b, e->order_note);
        return 0;
}

/* A report from a child (of its own, or of a station below it): kept and
 * forwarded. */
static int emergency_add_copy(void *arg, struct change_batch *b, const Vigil__Change *c, const uint8_t *change,
                              size_t len, char *err, size_t errlen)
{
        const Vigil__EmergencyReport *r = c->emergency_report;
        const char *via = change_batch_via(b);
        json_t *d = NULL;
        char *stripped = NULL;
        uint8_t *buf;
        size_t blen;
        int s;

        (void)arg;
        if (!r->emergency_id || !r->station || !nodeid_at_or_below(r->station, via) || !r->has_version || !r->has_acked_us ||
            (r->details && !(d = json_loads(r->details, 0, NULL)))) {
                snprintf(err, errlen, "emergency report: incomplete, or of a station not under %s", via);
                return -EBADMSG;
        }
        json_decref(d);
        /* Art 19, 29(2): a child that sends a reserved interface up (an
         * old or a hostile station) gets it neither kept nor forwarded:
         * the report goes on re-encoded without it. */
        if (r->details && (s = emergency_details_strip(r->details, &stripped)) != 0) {
                Vigil__EmergencyReport copy = *r;
                Vigil__Change cc = *c;
                if (s < 0) {
                        snprintf(err, errlen, "emergency report: details not kept (%s)", strerror(-s));
                        return -EBADMSG;
                }
                copy.details = stripped;
                cc.emergency_report = &copy;
                if (wire_encode_change(&cc, &buf, &blen) < 0) {
                        free(stripped);
                        snprintf(err, errlen, "emergency report: cannot re-encode it without its addresses");
                        return -ENOMEM;
                }
                emergency_add_report_apply(change_batch_tx(b), via, change_batch_uplink(b), &copy, buf, blen);
                free(buf);
                free(stripped);
                return 0;
        }
        emergency_add_report_apply(change_batch_tx(b), via, change_batch_uplink(b), r, change, len);
        return 0;
}

/* --- what delivery tells us --- */

/* Whether the transaction with NOTES acked an order to link later. */
static bool emergency_ordered(const struct emergency *e, unsigned notes)
{
        return (notes & e->order_note) && e->link_delay_ms > 0;
}

/* At a station, what the parent sent may end an emergency: what is due is
 * undone by a transaction queued right behind the applying one on the
 * connection, so it runs as that commits, without a round trip in between.
 * An order acked in it is linked a little later (emergency_act_soon, once
 * it committed); with no delay configured it is taken by that same
 * transaction. */
static void emergency_on_submitted(void *arg, struct link *l, unsigned notes)
{
        struct emergency *e = arg;

        if (l->dir == LINK_TO_PARENT && e->d->cfg->tier == TIER_STATION && !emergency_ordered(e, notes))
                emergency_act(e);
}

static void emergency_on_applied(void *arg, struct link *l, unsigned notes)
{
        struct emergency *e = arg;

        (void)l;
        if (emergency_ordered(e, notes))
                emergency_act_soon(e);
}

/* A snapshot from the parent may hold orders (a station rebuilt, or
 * enrolled, during an emergency). */
static void emergency_on_snapshot_applied(void *arg, struct link *l)
{
        struct emergency *e = arg;

        if (l->dir == LINK_TO_PARENT && e->d->cfg->tier == TIER_STATION)
                emergency_act(e);
}

static void emergency_add_read(void *arg, struct db_tx *tx, const struct snapshot_page *pg)
{
        const char *p[1] = { pg->peer };

        (void)arg;
        db_tx_add(tx, emergency_snapshot_select, 1, p, NULL, NULL);
}

void emergency_init(struct emergency *e, struct delivery *d, struct audit *audit, const struct node_keys *keys)
{
        memset(e, 0, sizeof(*e));
        e->d = d;
        e->audit = audit;
        credentials_init(&e->creds, keys->credentials_key);
        e->link_delay_ms = d->cfg->emergency_link_delay_ms;
        e->order_note = change_note_new(&d->kinds);
        /* Orders come down from the parent, reports up from children. */
        change_register(&d->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_EMERGENCY_ORDER, .name = "emergency order",
                .from = CHANGE_FROM_PARENT,
                .wrong_way = "emergency orders travel down and reports up, not the other way",
                .add = emergency_add_order, .arg = e });
        change_register(&d->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_EMERGENCY_REPORT, .name = "emergency report",
                .from = CHANGE_FROM_CHILD,
                .wrong_way = "emergency orders travel down and reports up, not the other way",
                .add = emergency_add_copy, .arg = e });
        snapshot_register(&d->sections, &(struct snapshot_section){
                .name = "orders", .to = SNAPSHOT_TO_CHILD, .one_page = true, .add_read = emergency_add_read,
                .encode = emergency_encode_row, .arg = e });
        link_set_listen(&d->links, &(struct link_listener){
                .submitted = emergency_on_submitted, .applied = emergency_on_applied,
                .snapshot_applied = emergency_on_snapshot_applied, .arg = e });
}

void emergency_close(struct emergency *e)
{
        e->stopping = true;
        if (e->timer_init) {
                uv_close((uv_handle_t *)&e->link_timer, NULL);
                e->timer_init = false;
        }
        rtsp_pool_free(e->rtsp);
        e->rtsp = NULL;
}


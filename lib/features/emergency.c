#include "features/emergency.h"

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

/* Reserved interfaces probed at once by a station (of them, against one
 * host and port: a recorder behind several systems, many of which accept
 * only a few sessions at once), and each one's deadline. */
#define EMERGENCY_PROBES 16
#define EMERGENCY_PROBES_PER_HOST 4
#define EMERGENCY_PROBE_MS 5000
/* Progress reports go up at most this often per order and station: a
 * city's worth of stations reporting each batch of linkages would crowd
 * out the acks still on their way to the command; twice a second is
 * live enough for the one watching `emergency status`. */
#define EMERGENCY_PROGRESS_US (500 * 1000)
/* Linkages probed are put on record at most this long after the first
 * of them answered (or at once when the last did): a few commits per
 * station instead of one per answer while a city's stations link at once
 * (each commit a WAL flush on the stations' cluster). */
#define EMERGENCY_FLUSH_MS 100

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

/* The live orders held here that cover a child ($1: its ID; the last
 * column: the declaring node's signed bytes), as
 * emergency_apply decides whom to send them to: what a child without our
 * state gets in its snapshot (one that joins or is rebuilt during an
 * emergency acts on it). Few: one page. */
static const char emergency_snapshot_select[] =
        "SELECT id, version, scope, near_lat, near_lon, radius_m, "
        "(extract(epoch FROM starts_at) * 1000000)::bigint, (extract(epoch FROM ends_at) * 1000000)::bigint, "
        "incident, authority, declared_by, declared_at, ended_at IS NOT NULL, " EMERGENCY_BOUNDS_COLUMN ", "
        SIGNED_BYTES_SQL("emergency_order", "emergencies.id", "emergencies.version")
        " FROM emergencies WHERE ended_at IS NULL AND ends_at > now() "
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

/* The statement keeping (and sending up) this station's report. */
static void emergency_add_report(struct emergency *e, struct db_tx *tx, const char *id, int64_t acked_us, int linked,
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

/* --- acting, at a station --- */

struct emergency_job {
        struct emergency *e;
        char id[65];
        int64_t acked_us;
        int pending;            /* probes not yet answered */
        int linked, failed;     /* of those on record */
        int64_t reported_us;    /* when the last report went up */
        size_t recorded;        /* details[0 .. recorded) are on record */
        bool flushing, cancelled;
        bool reading_back;      /* the flush in flight reads all back */
        json_t *details;        /* one object per system probed */
        uv_timer_t flush_timer; /* EMERGENCY_FLUSH_MS after an answer */
};

struct emergency_probe {
        struct emergency_job *job;
        char system[65], url[1024];
};

static void emergency_flush(struct emergency_job *j);

static void emergency_job_closed(uv_handle_t *h)
{
        struct emergency_job *j = h->data;

        json_decref(j->details);
        free(j);
}

static void emergency_job_free(struct emergency_job *j)
{
        uv_close((uv_handle_t *)&j->flush_timer, emergency_job_closed);
}

static void emergency_on_flush_timer(uv_timer_t *t)
{
        emergency_flush(t->data);
}

/* What was probed goes on record soon (EMERGENCY_FLUSH_MS), or now when
 * every probe has answered (the final report follows). */
static void emergency_flush_soon(struct emergency_job *j)
{
        if (j->pending > 0 && json_array_size(j->details) == j->recorded)
                return;   /* nothing new to record */
        if (j->pending == 0) {
                uv_timer_stop(&j->flush_timer);
                emergency_flush(j);
        } else if (!uv_is_active((uv_handle_t *)&j->flush_timer)) {
                uv_timer_start(&j->flush_timer, emergency_on_flush_timer, EMERGENCY_FLUSH_MS, 0);
        }
}

static void emergency_on_report(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct emergency *e = arg;

        (void)tx;
        if (err) {
                log_warn("emergency", "msg=\"cannot record a linkage report\" reason=\"%s\"", msg);
                return;
        }
        link_set_kick_parent_after(&e->d->links, tx);
}

/* The final report: what the station recorded (linkages, and the owners'
 * notifications: Art 13), read back in the last records' transaction so
 * the command sees the record itself. */
static void emergency_report_done(struct emergency_job *j, const char *details)
{
        struct emergency *e = j->e;
        struct db_tx *tx = db_tx_new();
        char *stripped = NULL;

        /* Art 19, 29(2): the reserved interfaces linked stay here, in the
         * linkages; the report says what was linked and how it went. */
        if (emergency_details_strip(details, &stripped) < 0) {
                log_warn("emergency", "id=%s msg=\"details unreadable; kept at the station\"", j->id);
                details = "[]";
        } else if (stripped) {
                details = stripped;
        }
        if (strlen(details) > WIRE_MAX_REPORT_DETAILS) {
                /* A parent refuses longer details (lib/wire.c): the counts
                 * go up, the record of each system stays here. */
                log_warn("emergency", "id=%s bytes=%zu msg=\"details too long to report; kept at the station\"",
                         j->id, strlen(details));
                details = "[]";
        }
        log_info("emergency", "id=%s linked=%d failed=%d msg=\"linkage done\"", j->id, j->linked, j->failed);
        emergency_add_report(e, tx, j->id, j->acked_us, j->linked, j->failed, true, details, 0);
        free(stripped);
        link_set_read_parent_in(&e->d->links, tx);   /* sent as it commits */
        db_submit(e->d->links.db, tx, emergency_on_report, e);
}

static void emergency_on_flushed(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct emergency_job *j = arg;
        PGresult *res;

        j->flushing = false;
        if (err == -ECANCELED)
                j->cancelled = true;
        else if (err)
                log_warn("emergency", "id=%s msg=\"cannot record linkages\" reason=\"%s\"", j->id, msg);
        if (j->cancelled) {
                if (j->pending == 0)
                        emergency_job_free(j);
                return;
        }
        if (j->reading_back) {
                /* The last records went with the read-back of them all. */
                res = err ? NULL : db_tx_result(tx, db_tx_count(tx) - 1);
                if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
                        emergency_report_done(j, PQgetvalue(res, 0, 0));
                } else {
                        char *fallback = json_dumps(j->details, JSON_COMPACT);
                        if (err)
                                log_warn("emergency", "id=%s msg=\"reporting what was probed, not read back\"", j->id);
                        emergency_report_done(j, fallback ? fallback : "[]");
                        free(fallback);
                }
                emergency_job_free(j);
                return;
        }
        if (!err)
                link_set_kick_parent_after(&j->e->d->links, tx);   /* the progress report */
        emergency_flush_soon(j);
}

/* Put on record what was probed since the last flush, in one transaction:
 * each linkage (or why not) and, for a system linked, its owner's
 * notification (Art 13); with it a progress report up (at most every
 * EMERGENCY_PROGRESS_US), or, once every
 * probe has answered, the read-back for the final report. Probes answering
 * while a flush commits wait for the next one, so a station linking many
 * systems at once commits a few times, not once per system. */
static void emergency_flush(struct emergency_job *j)
{
        size_t i, n = json_array_size(j->details);
        struct sqlarray linked = { 0 };
        const char *p[6];
        struct db_tx *tx;
        bool last, first = j->recorded == 0;

        if (j->flushing || j->cancelled || (j->recorded == n && j->pending > 0))
                return;
        tx = db_tx_new();
        sqlarray_set_type(&linked, SQLARRAY_TEXT);
        for (i = j->recorded; i < n; i++) {
                json_t *o = json_array_get(j->details, i);
                char *streams = json_dumps(json_object_get(o, "streams"), JSON_COMPACT);
                p[0] = j->id;
                p[1] = json_string_value(json_object_get(o, "system"));
                p[2] = json_string_value(json_object_get(o, "url"));
                p[3] = json_string_value(json_object_get(o, "outcome"));
                p[4] = json_string_value(json_object_get(o, "reason"));
                p[5] = streams;
                db_tx_add(tx, "SELECT linkage_record($1, $2, $3, $4, $5, $6::jsonb)", 6, p, NULL, NULL);
                free(streams);
                if (strcmp(p[3], "linked") == 0) {
                        j->linked++;
                        sqlarray_add_text(&linked, p[1]);
                } else {
                        j->failed++;
                }
        }
        j->recorded = n;
        /* Art 19, 23(5): one record in the access log for the systems this
         * batch linked (linkage_log). */
        if (linked.n > 0) {
                int lens[2] = { 0 }, fmts[2] = { 0 };
                p[0] = j->id;
                sqlarray_param(&linked, &p[1], &lens[1], &fmts[1]);
                db_tx_add(tx, "SELECT linkage_log($1, $2::text[])", 2, p, lens, fmts);
        }
        sqlarray_deinit(&linked);
        /* What the station logged (the order's receipt, the linkages) goes
         * up with the first records of the linkage and with the last, not
         * at the next sweep (Art 23(5): a copy the parent holds is one a
         * lost station cannot take with it); those between wait for the
         * last: each forward is a transaction here and at every tier above,
         * in the seconds the command waits for the linkages. (Before the
         * read-back, which emergency_on_flushed expects last.) */
        last = j->pending == 0;
        if (first || last)
                audit_forward_in(j->e->audit, tx);
        j->reading_back = last;
        if (last) {
                p[0] = j->id;
                db_tx_add(tx, "SELECT json_agg(json_build_object('system', l.system_code, 'url', l.url, "
                              "'outcome', l.outcome, 'reason', l.reason, 'streams', l.streams, "
                              "'linked_at', l.linked_at, 'responsible_entity', y.responsible_entity, "
                              "'notification', t.text) ORDER BY l.system_code)::text "
                              "FROM linkages l LEFT JOIN systems y ON y.station_id = vigil_self() "
                              "AND y.code = l.system_code LEFT JOIN linkage_notifications t "
                              "ON t.emergency_id = l.emergency_id AND t.system_code = l.system_code "
                              "WHERE l.emergency_id = $1",
                          1, p, NULL, NULL);
        } else if (vtime_now_us() - j->reported_us >= EMERGENCY_PROGRESS_US) {
                emergency_add_report(j->e, tx, j->id, j->acked_us, j->linked, j->failed, false, NULL, 0);
                j->reported_us = vtime_now_us();
                link_set_read_parent_in(&j->e->d->links, tx);
        }
        j->flushing = true;
        db_submit(j->e->d->links.db, tx, emergency_on_flushed, j);
}

static void emergency_on_probed(void *arg, const struct rtsp_result *r)
{
        struct emergency_probe *pr = arg;
        struct emergency_job *j = pr->job;
        json_t *o, *streams;
        char clean[sizeof(pr->url)];
        int i;

        j->pending--;
        if (r->outcome == RTSP_CANCELLED) {
                /* Stopping: what was probed and not recorded is probed
                 * again by nobody (the order counts as acted on). */
                j->cancelled = true;
                free(pr);
                if (j->pending == 0 && !j->flushing)
                        emergency_job_free(j);
                return;
        }
        streams = json_array();
        for (i = 0; r->sdp && i < r->sdp->n_media; i++) {
                const struct sdp_media *m = &r->sdp->media[i];
                json_t *x = json_object();
                json_object_set_new(x, "media", json_string(m->type));
                json_object_set_new(x, "codec", json_string(m->codec));
                json_object_set_new(x, "clock_rate", json_integer(m->clock_rate));
                json_object_set_new(x, "framerate", json_real(m->framerate));
                json_object_set_new(x, "profile_level_id", json_string(m->profile_level_id));
                json_object_set_new(x, "control", json_string(m->control));
                json_array_append_new(streams, x);
        }
        o = json_object();
        json_object_set_new(o, "system", json_string(pr->system));
        /* On record here without any userinfo (Art 5, 24(1)): the catalog
         * refuses a URL with one (url_has_credentials), migration 009
         * cleaned older rows; this is the last line. */
        json_object_set_new(o, "url", json_string(emergency_details_url_clean(pr->url, clean, sizeof(clean))));
        json_object_set_new(o, "outcome", json_string(r->outcome == RTSP_OK ? "linked"
                                                                              : rtsp_outcome_name(r->outcome)));
        json_object_set_new(o, "reason", json_string(r->reason ? r->reason : ""));
        json_object_set_new(o, "streams", streams);
        json_array_append_new(j->details, o);
        free(pr);
        emergency_flush_soon(j);
}

/* Probe PR, row I of an emergency_take result: with the credentials held,
 * opened here, on the loop, and nowhere else (features/credentials.h). */
static void emergency_probe(struct emergency *e, struct emergency_probe *pr, const PGresult *res, int i)
{
        char user[CREDENTIALS_MAX + 1], password[CREDENTIALS_MAX + 1];
        const char *u = PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4);
        const char *pw = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
        struct rtsp_result bad = { RTSP_BAD_RESPONSE, "not an rtsp:// URL we can probe", 0, NULL };
        int r;

        if (!PQgetisnull(res, i, 7)) {
                if (credentials_open(&e->creds, pr->system, PQgetvalue(res, i, 6), PQgetvalue(res, i, 7), user,
                                     password) < 0) {
                        /* Another key directory, or the row altered. */
                        struct rtsp_result sealed = { RTSP_AUTH_FAILED, "the credentials held here do not open "
                                                      "with this node's credentials.key", 0, NULL };
                        log_warn("emergency", "system=%s msg=\"held credentials do not open\"", pr->system);
                        emergency_on_probed(pr, &sealed);
                        return;
                }
                u = user;
                pw = password;
        }
        r = e->rtsp ? rtsp_probe(e->rtsp, pr->url, u, pw, EMERGENCY_PROBE_MS, emergency_on_probed, pr) : -EINVAL;
        sodium_memzero(user, sizeof(user));
        sodium_memzero(password, sizeof(password));
        if (r < 0)
                emergency_on_probed(pr, &bad);
}

/* Start probing the systems of one order: rows [FIRST, END) of RES. */
static void emergency_start(struct emergency *e, PGresult *res, int first, int end)
{
        struct emergency_job *j = calloc(1, sizeof(*j));
        int i;

        vigil_require(j != NULL);
        j->e = e;
        uv_timer_init(e->d->links.loop, &j->flush_timer);
        j->flush_timer.data = j;
        snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, first, 0));
        j->acked_us = PQgetisnull(res, first, 1) ? vtime_now_us() : strtoll(PQgetvalue(res, first, 1), NULL, 10);
        j->details = json_array();
        j->reported_us = vtime_now_us();   /* the ack */
        if (PQgetisnull(res, first, 2)) {          /* no system to link */
                log_info("emergency", "id=%s systems=0 msg=\"acting on the order\"", j->id);
                emergency_flush(j);
                return;
        }
        log_info("emergency", "id=%s systems=%d msg=\"acting on the order, linking\"", j->id, end - first);
        if (!e->rtsp)
                e->rtsp = rtsp_pool_new(e->d->links.loop, EMERGENCY_PROBES, EMERGENCY_PROBES_PER_HOST);
        j->pending = end - first;
        for (i = first; i < end; i++) {
                struct emergency_probe *pr = calloc(1, sizeof(*pr));
                vigil_require(pr != NULL);
                pr->job = j;
                snprintf(pr->system, sizeof(pr->system), "%s", PQgetvalue(res, i, 2));
                snprintf(pr->url, sizeof(pr->url), "%s", PQgetvalue(res, i, 3));
                emergency_probe(e, pr, res, i);
        }
}

/* Linkages to undo (end or expiry): each emergency's are undone and
 * reported in one transaction; and the orders to act on, each order's
 * rows together. */
static void emergency_on_acting(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct emergency *e = arg;
        PGresult *due = db_tx_result(rtx, 0), *take = db_tx_result(rtx, 1);
        struct db_tx *tx;
        int i, first, nr;

        if (err) {
                log_warn("emergency", "msg=\"cannot act on orders\" reason=\"%s\"", msg);
                runonce_end(&e->acting);
                return;
        }
        for (i = 0; due && i < PQntuples(due); i++) {
                const char *p[2] = { PQgetvalue(due, i, 0), PQgetvalue(due, i, 1) };
                int linked = atoi(p[1]);
                log_info("emergency", "id=%s linked=%s msg=\"undoing linkages\"", p[0], p[1]);
                tx = db_tx_new();
                db_tx_add(tx, "SELECT emergency_unlink_one($1, $2::integer)", 2, p, NULL, NULL);
                /* Once undone, every linked system is unlinked. */
                emergency_add_report(e, tx, p[0], vtime_now_us(), linked, atoi(PQgetvalue(due, i, 2)), true, NULL,
                                     linked);
                link_set_read_parent_in(&e->d->links, tx);
                audit_forward_in(e->audit, tx);   /* the log of the unlinking, up with it */
                db_submit(e->d->links.db, tx, emergency_on_report, e);
        }
        nr = take ? PQntuples(take) : 0;
        for (first = 0; first < nr; first = i) {
                for (i = first + 1; i < nr && strcmp(PQgetvalue(take, i, 0), PQgetvalue(take, first, 0)) == 0; i++)
                        ;
                emergency_start(e, take, first, i);
        }
        if (runonce_end(&e->acting))
                emergency_act(e);   /* an order arrived meanwhile */
}

void emergency_act(struct emergency *e)
{
        struct db_tx *tx;

        if (e->d->cfg->tier != TIER_STATION || !e->d->links.db || !db_is_up(e->d->links.db))
                return;
        if (!runonce_begin(&e->acting))
                return;   /* an order arrived meanwhile: it follows */
        /* The end, or the expiry by this station's own clock, undoes every
         * linkage (also when cut off from the parent): what is due is read
         * here, undone and reported in one transaction per emergency
         * (emergency_unlink_due). The orders acked on arrival (emergency_receive, in the
         * applying transaction) are taken to act on in the same round trip,
         * unless one is waiting for its link delay (emergency_act_soon):
         * then they are taken when it fires, not early by whatever calls
         * this meanwhile (the sweep every two seconds took a tenth of a
         * city's stations early, linking among the acks). */
        tx = db_tx_new();
        db_tx_add(tx, "SELECT * FROM emergency_unlink_due()", 0, NULL, NULL, NULL);
        if (!e->timer_init || !uv_is_active((uv_handle_t *)&e->link_timer))
                db_tx_add(tx, "SELECT emergency_id, (extract(epoch FROM acked_at) * 1000000)::bigint, system_code, "
                              "url, username, password, encode(nonce, 'hex'), encode(sealed, 'hex') "
                              "FROM emergency_take()",
                          0, NULL, NULL, NULL);
        db_submit(e->d->links.db, tx, emergency_on_acting, e);
        /* Credentials an older database held in clear are sealed. */
        credentials_seal_pending(&e->creds, e->d->links.db);
}

/* The ack first, then the linking. A station acks an order in the
 * transaction that keeps it; the ack is the command's only sign that the
 * order arrived, and every station's must get there (issue 5's target:
 * all acked within 250 ms). Linking opens a connection to every private system in
 * scope and records what each answers: where many station nodes share a
 * server (and their private systems' answers come back to it), a city's
 * worth of them linking at once takes the processor from the acks still
 * on their way up through the districts. So a station starts linking
 * [emergency] link_delay_ms (200) after its ack committed; 0 links at
 * once. Measured with tests/bench/emergency-fanout (111 nodes on 2 cores):
 * acks p50 ~205 -> ~135 ms, linking all 1,000 ~0.95 -> ~1.0 s (the
 * linking was bound by the processor, not by when it began); a station
 * alone on its host gains nothing and links 200 ms later. */
static void emergency_on_link_timer(uv_timer_t *t)
{
        emergency_act(t->data);
}

void emergency_act_soon(struct emergency *e)
{
        if (e->stopping)
                return;
        if (!e->timer_init) {
                vigil_require(uv_timer_init(e->d->links.loop, &e->link_timer) == 0);
                e->link_timer.data = e;
                e->timer_init = true;
        }
        /* An order acked meanwhile is taken with the first. */
        if (!uv_is_active((uv_handle_t *)&e->link_timer))
                uv_timer_start(&e->link_timer, emergency_on_link_timer,
                               (uint64_t)e->link_delay_ms, 0);
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


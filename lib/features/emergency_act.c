/* emergency_act: a station acting on the orders it acked (Art 13): the
 * private systems in scope linked through their reserved interfaces, each
 * linkage on record with its owner's notification, the report up; and the
 * linkages of ended or expired emergencies undone.
 *
 * At least once (issue 17, fault 7): an order counts as acted on only in
 * the transaction that records its final report (emergency_acted). Until
 * then every round of emergency_act takes it again, unless a job of this
 * process is working on it: a crash, a stop or a failed final record
 * leaves it to the next round (or the next start), which probes only the
 * systems not yet linked. Linkages are keyed by emergency and system, the
 * owners' notifications too: a second take records nothing twice. */
#include "features/emergency-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/sqlarray.h"
#include "base/vtime.h"
#include "db/db.h"
#include "features/audit.h"
#include "features/emergency_details.h"
#include "transport/rtsp.h"
#include "wire/wire.h"

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

/* --- acting, at a station --- */

struct emergency_job {
        struct emergency_job *next;     /* E's jobs in flight (emergency_act skips their orders) */
        struct emergency *e;
        char id[65];
        char version[24];       /* of the order taken: acted on once its final report is on record */
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
        struct emergency_job **pp;

        for (pp = &j->e->jobs; *pp; pp = &(*pp)->next)
                if (*pp == j) {
                        *pp = j->next;
                        break;
                }
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
        const char *p[2] = { j->id, j->version };
        json_t *all = json_loads(details, 0, NULL);
        size_t i;

        /* The totals are those on record, this take's and an earlier one's
         * (a take after a crash probes only what was not linked). */
        if (json_is_array(all)) {
                j->linked = j->failed = 0;
                for (i = 0; i < json_array_size(all); i++) {
                        const char *o = json_string_value(json_object_get(json_array_get(all, i), "outcome"));
                        if (o && strcmp(o, "linked") == 0)
                                j->linked++;
                        else
                                j->failed++;
                }
        }
        json_decref(all);

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
        /* Acted on, in the transaction of the final report: not before. */
        db_tx_add(tx, "SELECT emergency_acted($1, $2::bigint)", 2, p, NULL, NULL);
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
                /* Stopping: the order is not acted on yet; the next
                 * start takes it again and probes what is not linked. */
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

/* Probe PR, row I of an emergency_work result: with the credentials held,
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
        snprintf(j->version, sizeof(j->version), "%s", PQgetvalue(res, first, 8));
        j->next = e->jobs;
        e->jobs = j;
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
        if (!e->timer_init || !uv_is_active((uv_handle_t *)&e->link_timer)) {
                /* Not the orders a job of ours is working on. */
                struct sqlarray busy = { 0 };
                const char *p[1];
                int lens[1], fmts[1];
                struct emergency_job *j;

                sqlarray_set_type(&busy, SQLARRAY_TEXT);
                for (j = e->jobs; j; j = j->next)
                        sqlarray_add_text(&busy, j->id);
                sqlarray_param(&busy, &p[0], &lens[0], &fmts[0]);
                db_tx_add(tx, "SELECT emergency_id, (extract(epoch FROM acked_at) * 1000000)::bigint, system_code, "
                              "url, username, password, encode(nonce, 'hex'), encode(sealed, 'hex'), version "
                              "FROM emergency_work($1::text[])",
                          1, p, lens, fmts);
                sqlarray_deinit(&busy);
        }
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


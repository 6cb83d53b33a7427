#include "features/stream_gate.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/sqlarray.h"
#include "base/vtime.h"
#include "db/db.h"
#include "wire/ticket.h"

/* One session the gate asked about: being decided, or admitted. */
struct stream_gate_ticket {
        struct stream_gate_ticket *next, **prevp;
        struct stream_gate *sg;
        struct gate_session *s;        /* NULL once the gate has closed it */
        struct ticket t;
        char id[2 * sizeof(((struct ticket *)0)->id) + 1];
        char client[64];
        bool deciding;                 /* gate_open asked, no answer yet */
        bool admitted;
        char closing[300];             /* why this side closed it ("" if it did not) */
};

static void sg_link(struct stream_gate *sg, struct stream_gate_ticket *gt)
{
        gt->next = sg->tickets;
        if (gt->next)
                gt->next->prevp = &gt->next;
        gt->prevp = &sg->tickets;
        sg->tickets = gt;
}

static void sg_unlink(struct stream_gate_ticket *gt)
{
        if (!gt->prevp)
                return;
        *gt->prevp = gt->next;
        if (gt->next)
                gt->next->prevp = gt->prevp;
        gt->prevp = NULL;
        gt->next = NULL;
}

static struct stream_gate_ticket *sg_find(struct stream_gate *sg, const struct gate_session *s)
{
        for (struct stream_gate_ticket *gt = sg->tickets; gt; gt = gt->next)
                if (gt->s == s)
                        return gt;
        return NULL;
}

static void sg_on_logged(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct stream_gate *sg = arg;

        (void)tx;
        if (err)
                log_warn("gate", "msg=\"cannot put a gate record on the log\" reason=\"%s\"", msg);
        else if (sg->audit)
                audit_forward(sg->audit);
}

static void sg_time(char *out, size_t n, int64_t us)
{
        snprintf(out, n, "%.6f", (double)us / 1e6);
}

/* The recorded range a ticket for recorded material covers, as an RTSP
 * absolute range (RFC 2326 3.7): "clock=20261203T010000Z-20261203T011500Z".
 * The gate asks the upstream for this range and no other, whatever the
 * player asks: a grant for a quarter of an hour of footage plays that
 * quarter of an hour (Art 29(2)). "" for live. */
static void sg_range(const struct ticket *t, char *out, size_t n)
{
        char a[24], b[24];
        time_t from = (time_t)(t->from_us / 1000000), to = (time_t)(t->to_us / 1000000);
        struct tm tf, tt;

        out[0] = '\0';
        if (strcmp(t->action, "view-live") == 0 || !t->from_us || !t->to_us || !gmtime_r(&from, &tf) ||
            !gmtime_r(&to, &tt))
                return;
        strftime(a, sizeof(a), "%Y%m%dT%H%M%SZ", &tf);
        strftime(b, sizeof(b), "%Y%m%dT%H%M%SZ", &tt);
        snprintf(out, n, "clock=%s-%s", a, b);
}

/* --- a token refused on the loop (not a ticket, forged, expired, in use) --- */

/* A claimed badge for the daemon's log: what a forged token says is
 * anyone's words, kept to what a badge may be made of. */
static const char *sg_claim(const char *s)
{
        for (const char *c = s; *c; c++)
                if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                      *c == '-' || *c == '_' || *c == '.'))
                        return "?";
        return *s ? s : "?";
}

static void sg_on_refusal_logged(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct stream_gate *sg = arg;

        sg->pending_refusals--;
        sg_on_logged(arg, tx, err, msg);
}

static void sg_write_refusal(struct stream_gate *sg, const char *const p[8])
{
        struct db_tx *tx = db_tx_new();

        db_tx_add(tx, "SELECT gate_refused($1, $2, $3, $4, $5::boolean, $6, $7, $8)", 8, p, NULL, NULL);
        sg->pending_refusals++;
        db_submit(sg->db, tx, sg_on_refusal_logged, sg);
}

/* The player gets STATUS and WHY; the station's log gets a record, unless
 * a flood of refusals is being written: then it gets one record that sums
 * them up when the flood has passed (sg_on_check). T: the ticket, if its
 * signature verified (its officer and basis are then its own). */
static void sg_refuse(struct stream_gate *sg, struct gate_session *s, int status, const char *token,
                      const struct ticket *t, const char *client, const char *why)
{
        struct ticket claim;
        bool claims = !t && ticket_decode_unverified(token, &claim) == 0;
        const struct ticket *who = t ? t : claims ? &claim : NULL;
        char id[2 * sizeof(claim.id) + 1] = "";

        if (t)
                sodium_bin2hex(id, sizeof(id), t->id, sizeof(t->id));
        log_warn("gate", "client=%s officer=%s%s msg=\"token refused\" reason=\"%s\"", client,
                 who ? sg_claim(who->officer) : "?", t ? "" : " (unverified)", why);
        gate_refuse(s, status, why);
        if (!sg->db || !db_is_up(sg->db)) {
                log_warn("gate", "client=%s msg=\"refusal not on record: the database is down\"", client);
                return;
        }
        if (sg->pending_refusals >= STREAM_GATE_MAX_PENDING_REFUSALS) {
                sg->unrecorded_refusals++;
                return;
        }
        {
                const char *p[8] = { who ? who->officer : NULL, who ? who->camera : NULL, client, why,
                                     t ? "true" : "false", t ? t->grant : NULL, t ? t->emergency : NULL,
                                     t ? id : NULL };
                sg_write_refusal(sg, p);
        }
}

static void sg_refuse_token(struct stream_gate *sg, struct gate_session *s, const char *token, const char *client,
                            const char *why)
{
        sg->refused_token++;
        sg_refuse(sg, s, 403, token, NULL, client, why);
}

/* A flood's refusals, summed up in one record once it has passed. */
static void sg_sum_up_refusals(struct stream_gate *sg)
{
        char why[160];
        const char *p[8] = { NULL, NULL, "(many)", why, "false", NULL, NULL, NULL };

        if (!sg->unrecorded_refusals || sg->pending_refusals || !sg->db || !db_is_up(sg->db))
                return;
        snprintf(why, sizeof(why), "%lu more tokens refused in a flood, not recorded one by one (the daemon's "
                 "log names their addresses)", sg->unrecorded_refusals);
        sg->unrecorded_refusals = 0;
        sg_write_refusal(sg, p);
}

/* --- each ticket serves the address that first opened it --- */

struct stream_gate_binding {
        struct stream_gate_binding *next;
        char id[2 * sizeof(((struct ticket *)0)->id) + 1];
        char host[64];
        int64_t expires_us;
};

/* "1.2.3.4:5678" -> "1.2.3.4", "[::1]:5678" -> "[::1]". */
static void sg_host(const char *client, char *out, size_t n)
{
        const char *colon = strrchr(client, ':');
        size_t len = colon ? (size_t)(colon - client) : strlen(client);

        snprintf(out, n, "%.*s", (int)len, client);
}

/* True if ID may be opened from CLIENT: the first to open it binds it to
 * its address until it expires. A ticket is a bearer credential for its
 * minutes; one intercepted on the way (a compromised node above, the
 * plain RTSP hop) then serves nobody but the player it was opened by. */
static bool sg_bind(struct stream_gate *sg, const struct ticket *t, const char *id, const char *client)
{
        struct stream_gate_binding *b;
        char host[64];

        sg_host(client, host, sizeof(host));
        for (b = sg->bindings; b; b = b->next)
                if (strcmp(b->id, id) == 0)
                        return strcmp(b->host, host) == 0;
        b = calloc(1, sizeof(*b));
        vigil_require(b != NULL);
        snprintf(b->id, sizeof(b->id), "%s", id);
        snprintf(b->host, sizeof(b->host), "%s", host);
        b->expires_us = t->expires_us;
        b->next = sg->bindings;
        sg->bindings = b;
        return true;
}

static void sg_unbind_expired(struct stream_gate *sg, int64_t now, bool all)
{
        struct stream_gate_binding **bp = &sg->bindings, *b;

        while ((b = *bp))
                if (all || now >= b->expires_us) {
                        *bp = b->next;
                        free(b);
                } else {
                        bp = &b->next;
                }
}

/* Why a session ended, in the log's words: fixed sentences, as what the
 * protocol half says of an upstream may name the camera's address. */
static const char *sg_end_text(enum gate_end end)
{
        switch (end) {
        case GATE_END_TEARDOWN: return "the player ended it";
        case GATE_END_CLIENT_GONE: return "the player's connection closed";
        case GATE_END_UPSTREAM: return "the camera's stream failed or could not be opened";
        case GATE_END_CLOSED: return "closed by the station";
        case GATE_END_REFUSED: return "refused";
        case GATE_END_PROTOCOL: return "the player broke the protocol";
        }
        return "?";
}

/* The close of an admitted session, on record (gate_closed; its open row
 * in gate_sessions goes with it). */
static void sg_record_close(struct stream_gate_ticket *gt, const char *end, uint64_t bytes, int64_t duration_us,
                            const char *why)
{
        struct stream_gate *sg = gt->sg;
        char b[32], secs[32];
        const char *p[10] = { gt->id, gt->t.officer, gt->t.camera, gt->t.grant, gt->t.emergency,
                              gt->client, b, secs, end, why };

        snprintf(b, sizeof(b), "%" PRIu64, bytes);
        snprintf(secs, sizeof(secs), "%.3f", (double)duration_us / 1e6);
        log_info("gate", "ticket=%s officer=%s camera=%s client=%s bytes=%s seconds=%s end=%s "
                 "msg=\"closed\" reason=\"%s\"", gt->id, gt->t.officer, gt->t.camera, gt->client, b, secs, end,
                 why);
        if (sg->db && db_is_up(sg->db)) {
                struct db_tx *tx = db_tx_new();
                db_tx_add(tx, "SELECT gate_closed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)", 10, p, NULL, NULL);
                db_submit(sg->db, tx, sg_on_logged, sg);
        } else {
                log_warn("gate", "ticket=%s msg=\"close not on record: the database is down (recorded at the "
                         "next start)\"", gt->id);
        }
}

/* --- the basis, asked of the database --- */

static void sg_free_if_done(struct stream_gate_ticket *gt)
{
        if (!gt->s && !gt->deciding) {
                gt->sg->sessions--;
                sg_unlink(gt);
                free(gt);
        }
}

static void sg_on_decided(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct stream_gate_ticket *gt = arg;
        struct stream_gate *sg = gt->sg;
        PGresult *res = db_tx_result(tx, 0);
        char user[CREDENTIALS_MAX + 1] = "", password[CREDENTIALS_MAX + 1] = "";
        const char *u = NULL, *pw = NULL;
        char range[64];

        gt->deciding = false;
        if (!gt->s) {                   /* the player left meanwhile */
                if (!err && res && PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't')
                        sg_record_close(gt, gate_end_name(GATE_END_CLIENT_GONE), 0, 0,
                                        "the player left before the stream opened");
                sg_free_if_done(gt);
                return;
        }
        if (err || !res || PQntuples(res) != 1) {
                log_warn("gate", "ticket=%s msg=\"cannot decide: the database did not answer\" reason=\"%s\"",
                         gt->id, err ? msg : "no row");
                gate_refuse(gt->s, 503, "the station cannot check tickets now");
                return;
        }
        if (PQgetvalue(res, 0, 0)[0] != 't') {
                const char *why = PQgetisnull(res, 0, 2) ? "refused" : PQgetvalue(res, 0, 2);
                sg->refused_basis++;
                log_info("gate", "ticket=%s officer=%s camera=%s msg=\"refused\" reason=\"%s\"", gt->id,
                         gt->t.officer, gt->t.camera, why);
                gate_refuse(gt->s, strstr(why, "not registered") ? 404 : 403, why);
                audit_forward(sg->audit);
                return;
        }
        /* From here the open is on record (gate.open ok): a refusal now is
         * its close, so every open has one (sg_closed, end "refused"). */
        gt->admitted = true;
        if (vtime_now_us() >= gt->t.expires_us) {
                snprintf(gt->closing, sizeof(gt->closing), "the ticket expired while it was checked");
                gate_refuse(gt->s, 403, gt->closing);
                return;
        }
        if (!PQgetisnull(res, 0, 8)) {
                if (credentials_open(&sg->creds, PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 7),
                                     PQgetvalue(res, 0, 8), user, password) < 0) {
                        log_warn("gate", "system=%s msg=\"held credentials do not open\"", PQgetvalue(res, 0, 4));
                        snprintf(gt->closing, sizeof(gt->closing),
                                 "the credentials held for the camera's system do not open here");
                        gate_refuse(gt->s, 503, gt->closing);
                        return;
                }
                u = user;
                pw = password;
        } else if (!PQgetisnull(res, 0, 6)) {   /* an older database's row, not sealed yet */
                u = PQgetisnull(res, 0, 5) ? NULL : PQgetvalue(res, 0, 5);
                pw = PQgetvalue(res, 0, 6);
        }
        /* The range the ticket covers, or none for live: the player's own
         * Range never reaches the camera (a live grant is not a playback). */
        sg_range(&gt->t, range, sizeof(range));
        gate_force_range(gt->s, range);
        log_info("gate", "ticket=%s officer=%s camera=%s client=%s range=%s msg=\"admitted\"", gt->id,
                 gt->t.officer, gt->t.camera, gt->client, range[0] ? range : "live");
        gate_admit(gt->s, PQgetvalue(res, 0, 3), u, pw, gt);
        sodium_memzero(user, sizeof(user));
        sodium_memzero(password, sizeof(password));
        audit_forward(sg->audit);
}

static void sg_admit(void *arg, struct gate_session *s, const char *token, const char *client)
{
        struct stream_gate *sg = arg;
        struct stream_gate_ticket *gt;
        struct ticket t;
        char from[32], to[32], expires[32];
        const char *why = NULL;
        int r;

        r = ticket_verify(token, sg->keys->sign_public, vtime_now_us(), &t);
        if (r == -EKEYREJECTED)
                why = "the ticket is not one this station signed (altered, forged, or another station's)";
        else if (r == -ETIME)
                why = "the ticket has expired (or is not valid yet)";
        else if (r < 0)
                why = "not a ticket";
        else if (strcmp(t.station, sg->cfg->node_id) != 0)
                why = "the ticket is for another station";
        if (why) {
                sg_refuse_token(sg, s, token, client, why);
                return;
        }
        if (strcmp(t.action, "view-live") != 0 && (!t.from_us || !t.to_us || t.from_us >= t.to_us)) {
                sg->refused_token++;
                sg_refuse(sg, s, 403, token, &t, client, "Art 20(4): a ticket for recorded material names its "
                          "time range");
                return;
        }
        if (sg->sessions >= STREAM_GATE_MAX_SESSIONS) {
                sg->refused_unavailable++;
                log_warn("gate", "client=%s sessions=%u msg=\"refused: the gate is full\"", client, sg->sessions);
                gate_refuse(s, 503, "the gate has as many sessions as it serves");
                return;
        }
        gt = calloc(1, sizeof(*gt));
        vigil_require(gt != NULL);
        gt->sg = sg;
        gt->t = t;
        sodium_bin2hex(gt->id, sizeof(gt->id), t.id, sizeof(t.id));
        snprintf(gt->client, sizeof(gt->client), "%s", client);
        /* One session per ticket: a ticket passed on does not become a
         * second viewer while the first watches. */
        for (struct stream_gate_ticket *o = sg->tickets; o; o = o->next)
                if (o->s && strcmp(o->id, gt->id) == 0) {
                        free(gt);
                        sg->refused_busy++;
                        sg_refuse(sg, s, 403, token, &t, client, "the ticket is in use by another session");
                        return;
                }
        if (!sg_bind(sg, &t, gt->id, client)) {
                free(gt);
                sg->refused_busy++;
                sg_refuse(sg, s, 403, token, &t, client, "the ticket was opened from another address; it serves "
                          "only the player that first opened it");
                return;
        }
        if (!sg->db || !db_is_up(sg->db)) {
                free(gt);
                sg->refused_unavailable++;
                log_warn("gate", "client=%s msg=\"cannot check a ticket: the database is down\"", client);
                gate_refuse(s, 503, "the station cannot check tickets now");
                return;
        }
        gt->s = s;
        gt->deciding = true;
        sg->sessions++;
        sg_link(sg, gt);
        sg_time(from, sizeof(from), t.from_us);
        sg_time(to, sizeof(to), t.to_us);
        sg_time(expires, sizeof(expires), t.expires_us);
        {
                const char *p[12] = { gt->id, t.officer, t.officer_key[0] ? t.officer_key : NULL,
                                      t.unit[0] ? t.unit : NULL, t.camera, t.action, t.from_us ? from : NULL,
                                      t.to_us ? to : NULL, t.grant, t.emergency, client, expires };
                struct db_tx *tx = db_tx_new();
                db_tx_add(tx, "SELECT granted, article, message, url, system_code, username, password, nonce, "
                              "sealed FROM gate_open($1, $2, $3, $4, $5, $6, to_timestamp($7::double precision), "
                              "to_timestamp($8::double precision), $9, $10, $11, "
                              "to_timestamp($12::double precision))", 12, p, NULL, NULL);
                db_submit(sg->db, tx, sg_on_decided, gt);
        }
}

/* --- the end of a session, on record --- */

static void sg_closed(void *arg, struct gate_session *s, enum gate_end end, uint64_t bytes, int64_t duration_us,
                      const char *reason)
{
        struct stream_gate *sg = arg;
        struct stream_gate_ticket *gt = sg_find(sg, s);

        if (!gt)
                return;                 /* refused on the loop: on record already */
        gt->s = NULL;
        (void)reason;   /* the gate's own words may name the camera's address: not for the log */
        if (gt->admitted)
                sg_record_close(gt, gate_end_name(end), bytes, duration_us,
                                gt->closing[0] ? gt->closing : sg_end_text(end));
        sg_free_if_done(gt);
}

/* --- while it lasts: expiry and the basis, every STREAM_GATE_CHECK_MS --- */

static void sg_close(struct stream_gate_ticket *gt, const char *why)
{
        if (!gt->s || gt->closing[0])
                return;
        snprintf(gt->closing, sizeof(gt->closing), "%s", why);
        gate_close(gt->s, why);
}

static void sg_on_checked(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct stream_gate *sg = arg;
        PGresult *res = db_tx_result(tx, 0);
        int n, i;

        sg->checking = false;
        if (err || !res) {
                /* The sessions go on for STREAM_GATE_CHECK_GRACE_MS at
                 * most (sg_on_check): a revocation comes through this
                 * database, and may be waiting in it. */
                log_warn("gate", "msg=\"cannot check the open sessions\" reason=\"%s\"", err ? msg : "no result");
                return;
        }
        sg->checked_ms = uv_now(sg->loop);
        n = PQntuples(res);
        for (i = 0; i < n; i++) {
                const char *id = PQgetvalue(res, i, 0);
                for (struct stream_gate_ticket *gt = sg->tickets; gt; gt = gt->next)
                        if (gt->admitted && gt->s && strcmp(gt->id, id) == 0) {
                                sg->closed_basis++;
                                sg_close(gt, PQgetvalue(res, i, 1));
                                break;
                        }
        }
}

static void sg_on_check(uv_timer_t *t)
{
        struct stream_gate *sg = t->data;
        int64_t now = vtime_now_us();
        struct sqlarray a[10];
        const char *vals[10];
        int lens[10], fmts[10], n = 0, i;
        struct stream_gate_ticket *gt, *next;

        bool unchecked = uv_now(sg->loop) - sg->checked_ms > STREAM_GATE_CHECK_GRACE_MS;

        for (gt = sg->tickets; gt; gt = next) {
                next = gt->next;                /* gate_close may end it at once */
                if (gt->admitted && gt->s && !gt->closing[0] && now >= gt->t.expires_us) {
                        sg->closed_expired++;
                        sg_close(gt, "the ticket expired");
                } else if (gt->admitted && gt->s && !gt->closing[0] && unchecked) {
                        sg->closed_unchecked++;
                        sg_close(gt, "the station could not confirm the grant or emergency for 10 s");
                }
        }
        sg_unbind_expired(sg, now, false);
        sg_sum_up_refusals(sg);
        for (gt = sg->tickets; gt && !(gt->admitted && gt->s); gt = gt->next)
                ;
        if (!gt)
                sg->checked_ms = uv_now(sg->loop);     /* nothing to confirm */
        if (sg->checking || !sg->db || !db_is_up(sg->db))
                return;
        memset(a, 0, sizeof(a));
        for (gt = sg->tickets; gt; gt = gt->next) {
                if (!gt->admitted || !gt->s || gt->closing[0])
                        continue;
                sqlarray_add_text(&a[0], gt->id);
                sqlarray_add_text(&a[1], gt->t.grant);
                sqlarray_add_text(&a[2], gt->t.emergency);
                sqlarray_add_text(&a[3], gt->t.officer);
                sqlarray_add_text(&a[4], gt->t.officer_key);
                if (gt->t.unit[0])
                        sqlarray_add_text(&a[5], gt->t.unit);
                else
                        sqlarray_add_null(&a[5]);
                sqlarray_add_text(&a[6], gt->t.camera);
                sqlarray_add_text(&a[7], gt->t.action);
                sqlarray_add_double(&a[8], gt->t.from_us != 0, (double)gt->t.from_us / 1e6);
                sqlarray_add_double(&a[9], gt->t.to_us != 0, (double)gt->t.to_us / 1e6);
                n++;
        }
        if (n > 0) {
                struct db_tx *tx = db_tx_new();
                for (i = 0; i < 10; i++)
                        sqlarray_param(&a[i], &vals[i], &lens[i], &fmts[i]);
                db_tx_add(tx, "SELECT ($1::text[])[c.i], c.message FROM gate_check($2, $3, $4, $5, $6, $7, $8, "
                              "$9, $10) c", 10, vals, lens, fmts);
                sg->checking = true;
                db_submit(sg->db, tx, sg_on_checked, sg);
        }
        for (i = 0; i < 10; i++)
                sqlarray_deinit(&a[i]);
}

/* --- start and stop --- */

static const struct gate_ops sg_ops = { .admit = sg_admit, .closed = sg_closed };

int stream_gate_start(struct stream_gate *sg, uv_loop_t *loop, const struct config *cfg,
                      const struct node_keys *keys, struct audit *audit, struct db *db, char *err, size_t errlen)
{
        int r;

        memset(sg, 0, sizeof(*sg));
        sg->loop = loop;
        sg->cfg = cfg;
        sg->keys = keys;
        sg->audit = audit;
        sg->db = db;
        credentials_init(&sg->creds, keys->credentials_key);
        if (cfg->tier != TIER_STATION || !cfg->gate_host[0])
                return 0;
        r = gate_start(loop, cfg->gate_host, cfg->gate_port, &sg_ops, sg, &sg->gate);
        if (r < 0) {
                snprintf(err, errlen, "cannot listen for players on [gate] listen %s:%d: %s", cfg->gate_host,
                         cfg->gate_port, uv_strerror(r));
                return r;
        }
        /* Sessions the log shows open from before a stop or crash get
         * their close, "end unknown" (gate_recover, Art 23(5)). */
        {
                struct db_tx *tx = db_tx_new();
                db_tx_add(tx, "SELECT gate_recover()", 0, NULL, NULL, NULL);
                db_submit(db, tx, sg_on_logged, sg);
        }
        sg->checked_ms = uv_now(loop);
        uv_timer_init(loop, &sg->check);
        sg->check.data = sg;
        sg->check_init = true;
        uv_timer_start(&sg->check, sg_on_check, STREAM_GATE_CHECK_MS, STREAM_GATE_CHECK_MS);
        log_info("gate", "listen=%s:%d public_url=%s msg=\"stream gate open\"", cfg->gate_host, cfg->gate_port,
                 cfg->gate_public_url);
        return 0;
}

void stream_gate_forget_db(struct stream_gate *sg)
{
        sg->db = NULL;
}

void stream_gate_stop(struct stream_gate *sg)
{
        if (sg->check_init)
                uv_close((uv_handle_t *)&sg->check, NULL);
        sg->check_init = false;
        if (sg->gate) {
                /* Every session ends, each told to sg_closed; those still
                 * being decided are freed when their answer comes (or the
                 * database's cancellation). */
                for (struct stream_gate_ticket *gt = sg->tickets; gt; gt = gt->next)
                        if (gt->s && !gt->closing[0])
                                snprintf(gt->closing, sizeof(gt->closing), "the station is stopping");
                gate_stop(sg->gate);
        }
        sg->gate = NULL;
        sg_unbind_expired(sg, 0, true);
}

void *stream_gate_status(const struct stream_gate *sg)
{
        struct gate_stats st;
        json_t *o;

        if (!sg->gate)
                return NULL;
        gate_get_stats(sg->gate, &st);
        o = json_object();
        json_object_set_new(o, "public_url", json_string(sg->cfg->gate_public_url));
        json_object_set_new(o, "sessions", json_integer((json_int_t)st.sessions_live));
        json_object_set_new(o, "opened", json_integer((json_int_t)st.opened));
        json_object_set_new(o, "refused", json_integer((json_int_t)st.refused));
        json_object_set_new(o, "refused_token", json_integer((json_int_t)sg->refused_token));
        json_object_set_new(o, "refused_basis", json_integer((json_int_t)sg->refused_basis));
        json_object_set_new(o, "refused_in_use", json_integer((json_int_t)sg->refused_busy));
        json_object_set_new(o, "refused_unavailable", json_integer((json_int_t)sg->refused_unavailable));
        json_object_set_new(o, "closed_unchecked", json_integer((json_int_t)sg->closed_unchecked));
        json_object_set_new(o, "closed", json_integer((json_int_t)st.closed));
        json_object_set_new(o, "closed_expired", json_integer((json_int_t)sg->closed_expired));
        json_object_set_new(o, "closed_revoked", json_integer((json_int_t)sg->closed_basis));
        json_object_set_new(o, "protocol_errors", json_integer((json_int_t)st.protocol_errors));
        json_object_set_new(o, "upstream_errors", json_integer((json_int_t)st.upstream_errors));
        json_object_set_new(o, "bytes", json_integer((json_int_t)st.bytes));
        return o;
}

#include "features/view.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "base/log.h"
#include "base/nodeid.h"
#include "wire/decision.h"
#include "wire/ticket.h"
#include "wire/trust.h"
#include "base/vtime.h"

/* Where a request came from, while it is answered below. */
struct view_pending {
        struct view_pending *next;
        uint64_t id;                   /* this hop's request id */
        uint64_t deadline_ms;
        view_answer_fn answer;         /* the officer sits here (ANSWER, ARG), or */
        void *answer_arg;
        uint64_t parent_id;            /* the parent's request id to answer */
        char child[21];                /* the child it went to */
        char officer[33], camera[21], action[16], entry[21];    /* for the log, if it times out */
};

static uint64_t view_now_ms(const struct view *v)
{
        return uv_now(v->d->links.loop);
}

/* --- answering --- */

static void view_reply_parent(struct view *v, uint64_t parent_id, const struct view_answer *a)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__ViewReply r = VIGIL__VIEW_REPLY__INIT;

        r.has_request_id = 1;
        r.request_id = parent_id;
        r.has_granted = 1;
        r.granted = a->granted;
        r.url = (char *)a->url;
        r.ticket = (char *)a->ticket;
        r.has_expires_at_us = a->expires_at_us != 0;
        r.expires_at_us = a->expires_at_us;
        r.error = (char *)a->error;
        r.article = (char *)a->article;
        r.station = (char *)a->station;
        env.body_case = VIGIL__ENVELOPE__BODY_VIEW_REPLY;
        env.view_reply = &r;
        if (!v->d->has_parent || link_send_envelope(&v->d->uplink.link, &env) < 0)
                log_warn("view", "msg=\"cannot answer a view: the parent link is down\"");
}

/* --- refusals on the way, logged where refused --- */

static void view_on_logged(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct view *v = arg;

        (void)tx;
        if (err)
                log_warn("view", "msg=\"cannot log a refused view\" reason=\"%s\"", msg);
        else
                audit_forward(v->audit);
}

void view_log_refusal(struct view *v, const char *actor, const char *camera, const char *action,
                      const char *article, const char *message)
{
        struct db *db = v->d->links.db;
        const char *p[5] = { actor, action, article, camera, message };
        struct db_tx *tx;

        if (!db || !db_is_up(db)) {
                log_warn("view", "actor=%s camera=%s msg=\"refused view not logged: the database is down\"",
                         actor, camera);
                return;
        }
        tx = db_tx_new();
        db_tx_add(tx, "SELECT audit_append($1, $2, 'refused', $3, $4, NULL, NULL, NULL, NULL, $5)", 5, p, NULL,
                  NULL);
        db_submit(db, tx, view_on_logged, v);
}

/* Refused on the way down (the camera not under this node, the station's
 * link down, no answer in time): the officer is told and the refusal is
 * logged here, with the entry node it came from. */
static void view_refused_here(struct view *v, const char *officer, const char *camera, const char *action,
                              const char *entry, const char *why)
{
        char m[400];

        snprintf(m, sizeof(m), "%s (view from %s, refused at %s)", why, entry ? entry : "?",
                 v->d->cfg->node_id);
        view_log_refusal(v, officer ? officer : "?", camera ? camera : "?", action ? action : "view-live", NULL,
                         m);
}

/* --- deciding, at the owning station --- */

struct view_decision {
        struct view *v;
        view_answer_fn answer;         /* or */
        void *answer_arg;
        uint64_t parent_id;
        char camera[21], officer[33], key[41], action[16], unit[21];
        int64_t from_us, to_us;
};

/* Sign the ticket for decision D, granted by REQUEST (or under EMERGENCY)
 * until UNTIL_US: it lives [gate] ticket_seconds at most, and never past
 * its basis. It names the station's gate, never the camera's own address
 * (Art 5: that stays here; the ticket travels to wherever the officer is). */
static int view_ticket(struct view *v, const struct view_decision *d, const char *request, const char *emergency,
                       int64_t until_us, char **ret_token, int64_t *ret_expires)
{
        const struct config *cfg = v->d->cfg;
        int64_t life = (int64_t)cfg->ticket_seconds * 1000000;
        struct ticket t;

        memset(&t, 0, sizeof(t));
        ticket_new_id(&t);
        snprintf(t.station, sizeof(t.station), "%s", cfg->node_id);
        snprintf(t.officer, sizeof(t.officer), "%s", d->officer);
        snprintf(t.officer_key, sizeof(t.officer_key), "%s", d->key);
        snprintf(t.unit, sizeof(t.unit), "%s", d->unit);
        snprintf(t.camera, sizeof(t.camera), "%s", d->camera);
        snprintf(t.action, sizeof(t.action), "%s", d->action);
        /* The basis, exactly one (Art 29(2)): the grant, or the emergency. */
        snprintf(t.grant, sizeof(t.grant), "%s", request ? request : "");
        snprintf(t.emergency, sizeof(t.emergency), "%s", request ? "" : emergency ? emergency : "");
        snprintf(t.url, sizeof(t.url), "%s", cfg->gate_public_url);
        t.from_us = d->from_us;
        t.to_us = d->to_us;
        t.issued_us = vtime_now_us();
        if (life > TICKET_MAX_LIFE_US)
                life = TICKET_MAX_LIFE_US;
        t.expires_us = t.issued_us + life < until_us ? t.issued_us + life : until_us;
        *ret_expires = t.expires_us;
        return ticket_sign(&t, v->keys->sign_secret, ret_token);
}

static void view_on_decided(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct view_decision *d = arg;
        struct view *v = d->v;
        PGresult *res = db_tx_result(tx, 0);
        struct view_answer a = { .station = v->d->cfg->node_id };
        char m[300], *token = NULL, *url = NULL;

        if (err || !res || PQntuples(res) != 1) {
                snprintf(m, sizeof(m), "the station could not decide: %s", err ? msg : "no answer");
                a.error = m;
        } else {
                a.granted = PQgetvalue(res, 0, 0)[0] == 't';
                a.article = PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1);
                a.error = PQgetisnull(res, 0, 2) ? NULL : PQgetvalue(res, 0, 2);
                /* Column 3 is the camera's own address: it stays here.
                 * The officer gets the gate's URL with the ticket in it
                 * (features/stream_gate.h). */
                if (a.granted) {
                        int64_t until = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
                        a.expires_at_us = until;
                        if (view_ticket(v, d, PQgetisnull(res, 0, 4) ? NULL : PQgetvalue(res, 0, 4),
                                        PQgetisnull(res, 0, 6) ? NULL : PQgetvalue(res, 0, 6), until, &token,
                                        &a.expires_at_us) < 0 ||
                            asprintf(&url, "%s/t/%s", v->d->cfg->gate_public_url, token) < 0) {
                                url = NULL;
                                a.granted = false;
                                a.error = "the station could not sign a ticket";
                        }
                        a.ticket = token;
                        a.url = url;
                }
        }
        if (a.granted)
                v->granted++;
        else
                v->refused++;
        log_info("view", "officer=%s camera=%s action=%s granted=%s msg=\"view decided\"", d->officer, d->camera,
                 d->action, a.granted ? "yes" : "no");
        if (d->answer)
                d->answer(d->answer_arg, &a);
        else
                view_reply_parent(v, d->parent_id, &a);
        free(d);
        free(token);
        free(url);
        audit_forward(v->audit);
}

static void view_decide(struct view *v, struct view_decision *d, const Vigil__ViewRequest *r,
                        const char *entry)
{
        char from[32], to[32];
        const char *p[9];
        struct db_tx *tx = db_tx_new();

        snprintf(from, sizeof(from), "%.6f", (double)r->from_us / 1e6);
        snprintf(to, sizeof(to), "%.6f", (double)r->to_us / 1e6);
        p[0] = r->officer;
        p[1] = r->camera;
        p[2] = r->action;
        p[3] = r->has_from_us ? from : NULL;
        p[4] = r->has_to_us ? to : NULL;
        p[5] = entry;
        p[6] = r->officer_unit && *r->officer_unit ? r->officer_unit : NULL;
        p[7] = r->officer_key && *r->officer_key ? r->officer_key : NULL;
        p[8] = r->destination && *r->destination ? r->destination : NULL;   /* Art 20(4) */
        db_tx_add(tx, "SELECT granted, article, message, url, request_id, "
                      "(extract(epoch FROM valid_until) * 1000000)::bigint, emergency_id "
                      "FROM view_decide($1, $2, $3, to_timestamp($4::double precision), "
                      "to_timestamp($5::double precision), $6, $7, $8, $9)", 9, p, NULL, NULL);
        db_submit(v->d->links.db, tx, view_on_decided, d);
}

/* --- signed requests (Art 19) --- */

/* A hop gives each request its own ID: that field is not signed. */
static const char *const view_unsigned[] = { "request_id", NULL };

/* Remember signature SIG (signed at AT_US) as decided: 0, or -EALREADY if
 * it was decided before within the window, or -ENOSPC if every slot it may
 * go in holds a request still in the window (so many at once: refused, the
 * memory stays bounded). */
static int view_seen_add(struct view *v, const uint8_t *sig, int64_t at_us, int64_t now_us)
{
        uint32_t h = (uint32_t)sig[0] | (uint32_t)sig[1] << 8 | (uint32_t)sig[2] << 16 | (uint32_t)sig[3] << 24;
        struct view_seen *free_slot = NULL;
        int k;

        for (k = 0; k < VIEW_SEEN_PROBES; k++) {
                struct view_seen *s = &v->seen[(h + (uint32_t)k) & (VIEW_SEEN_SLOTS - 1)];
                bool live = s->signed_at_us != 0 && s->signed_at_us >= now_us - VIEW_REQUEST_MAX_AGE_US;
                if (live && memcmp(s->sig, sig, sizeof(s->sig)) == 0)
                        return -EALREADY;
                if (!live && !free_slot)
                        free_slot = s;
        }
        if (!free_slot)
                return -ENOSPC;
        memcpy(free_slot->sig, sig, sizeof(free_slot->sig));
        free_slot->signed_at_us = at_us;
        return 0;
}

/* Whether the station may decide R: signed by the entry node that
 * authenticated the officer (an ancestor, or this station), lately, and not
 * decided before. 0, or -EPERM with the reason in WHY. */
static int view_check(struct view *v, const Vigil__ViewRequest *r, char *why, size_t whylen)
{
        int64_t now = vtime_now_us();
        char e[300];
        int ret;

        if (trust_check(&v->d->trust, &r->base, r->entry_node ? r->entry_node : "(no entry node)", view_unsigned,
                        e, sizeof(e)) < 0) {
                snprintf(why, whylen, "Art 19: the view request is refused: %s", e);
                return -EPERM;
        }
        /* A node knows (and authenticates) only the officers of its own
         * subtree (officers replicate up): an entry node vouching for an
         * officer of a unit outside it (a district for a city investigator)
         * vouches for what it cannot know. */
        if (!r->officer_unit || !nodeid_is_wellformed(r->officer_unit) ||
            !nodeid_under(r->officer_unit, r->entry_node)) {
                snprintf(why, whylen, "Art 19: the view request is refused: %s signed it for an officer of %s, "
                         "outside its own subtree", r->entry_node, r->officer_unit ? r->officer_unit : "no unit");
                return -EPERM;
        }
        if (!r->has_signed_at_us || r->signed_at_us < now - VIEW_REQUEST_MAX_AGE_US ||
            r->signed_at_us > now + VIEW_REQUEST_MAX_AGE_US) {
                snprintf(why, whylen, "Art 19: the view request is refused: signed %+.1f s from now, outside the "
                         "%lld s a request is good for; make it again",
                         r->has_signed_at_us ? (double)(r->signed_at_us - now) / 1e6 : 0.0,
                         VIEW_REQUEST_MAX_AGE_US / 1000000);
                return -EPERM;
        }
        if (r->signed_at_us < v->started_us) {
                snprintf(why, whylen, "Art 19: the view request is refused: signed before this station started; "
                         "make it again");
                return -EPERM;
        }
        ret = view_seen_add(v, r->signature.data, r->signed_at_us, now);
        if (ret == -EALREADY) {
                snprintf(why, whylen, "Art 19: the view request is refused: this signed request was decided "
                         "already (a replay)");
                return -EPERM;
        }
        if (ret < 0) {
                snprintf(why, whylen, "the station is deciding too many view requests at once; try again");
                return -EPERM;
        }
        return 0;
}

static void view_on_refusal_logged(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct view *v = arg;

        (void)tx;
        if (err)
                log_warn("view", "msg=\"cannot log a refused view request\" reason=\"%s\"", msg);
        else
                audit_forward(v->audit);
}

/* Refuse R for WHY where it was refused: on record, in the log and count. */
static void view_refuse_unsigned(struct view *v, const Vigil__ViewRequest *r, const char *why)
{
        const char *p[3] = { r->officer, why, r->camera };
        struct db_tx *tx;

        v->refused++;
        v->refused_signature++;
        v->d->trust.refused++;
        log_warn("view", "officer=%s camera=%s entry=%s signer=%s msg=\"view request refused\" reason=\"%s\"",
                 r->officer, r->camera, r->entry_node ? r->entry_node : "?", r->signer ? r->signer : "(none)", why);
        if (!v->d->links.db)
                return;
        tx = db_tx_new();
        db_tx_add(tx, "SELECT access_refuse($1, 'view', 'Art 19', $2, NULL, $3)", 3, p, NULL, NULL);
        db_submit(v->d->links.db, tx, view_on_refusal_logged, v);
}

/* --- routing --- */

/* Route R: decide here, or send it to the child below which the camera is.
 * ANSWER (the officer here) or PARENT_ID (to answer the parent) gets the
 * answer. */
static void view_route(struct view *v, const Vigil__ViewRequest *r, view_answer_fn answer, void *answer_arg,
                       uint64_t parent_id)
{
        const struct config *cfg = v->d->cfg;
        struct view_answer a = { 0 };
        char m[200], prefix[12], why[512];
        struct child *c;

        v->requests++;
        nodeid_prefix(cfg->node_id, prefix);
        if (cfg->tier == TIER_STATION && strncmp(r->camera, prefix, strlen(prefix)) == 0) {
                struct view_decision *d;
                if (view_check(v, r, why, sizeof(why)) < 0) {
                        view_refuse_unsigned(v, r, why);
                        a.error = why;
                        a.article = strncmp(why, "Art 19", 6) == 0 ? "Art 19" : NULL;
                        a.station = cfg->node_id;
                        goto answer;
                }
                if (!cfg->gate_public_url[0]) {
                        /* No gate, no stream (Art 29(2)): the camera's own
                         * address is never the answer. */
                        snprintf(why, sizeof(why), "this station has no stream gate ([gate] listen in its "
                                 "vigild.conf): no stream of camera %s leaves it", r->camera);
                        view_log_refusal(v, r->officer, r->camera, r->action, NULL, why);
                        v->refused++;
                        a.error = why;
                        a.station = cfg->node_id;
                        goto answer;
                }
                d = calloc(1, sizeof(*d));
                vigil_require(d != NULL);
                d->v = v;
                d->answer = answer;
                d->answer_arg = answer_arg;
                d->parent_id = parent_id;
                snprintf(d->camera, sizeof(d->camera), "%s", r->camera);
                snprintf(d->officer, sizeof(d->officer), "%s", r->officer);
                snprintf(d->key, sizeof(d->key), "%s", r->officer_key ? r->officer_key : "");
                snprintf(d->action, sizeof(d->action), "%s", r->action);
                snprintf(d->unit, sizeof(d->unit), "%s", r->officer_unit ? r->officer_unit : "");
                d->from_us = r->has_from_us ? r->from_us : 0;
                d->to_us = r->has_to_us ? r->to_us : 0;
                view_decide(v, d, r, r->entry_node ? r->entry_node : cfg->node_id);
                return;
        }
        c = delivery_child_under(v->d, r->camera);
        if (!c || !link_in_session(&c->link)) {
                snprintf(m, sizeof(m), c ? "the station's link is down (%s is not connected); try again"
                                         : "camera %s is not under this node", c ? c->id : r->camera);
                a.error = m;
                view_refused_here(v, r->officer, r->camera, r->action, r->entry_node, m);
                goto answer;
        }
        {
                Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
                Vigil__ViewRequest fwd = *r;
                struct view_pending *pd = calloc(1, sizeof(*pd));
                vigil_require(pd != NULL);
                pd->id = v->next_id++;
                pd->deadline_ms = view_now_ms(v) + VIEW_TIMEOUT_MS;
                pd->answer = answer;
                pd->answer_arg = answer_arg;
                pd->parent_id = parent_id;
                snprintf(pd->child, sizeof(pd->child), "%s", c->id);
                snprintf(pd->officer, sizeof(pd->officer), "%s", r->officer ? r->officer : "?");
                snprintf(pd->camera, sizeof(pd->camera), "%s", r->camera ? r->camera : "?");
                snprintf(pd->action, sizeof(pd->action), "%s", r->action ? r->action : "view-live");
                snprintf(pd->entry, sizeof(pd->entry), "%s", r->entry_node ? r->entry_node : "?");
                fwd.request_id = pd->id;
                env.body_case = VIGIL__ENVELOPE__BODY_VIEW_REQUEST;
                env.view_request = &fwd;
                if (link_send_envelope(&c->link, &env) < 0) {
                        free(pd);
                        snprintf(m, sizeof(m), "cannot reach %s; try again", c->id);
                        a.error = m;
                        view_refused_here(v, r->officer, r->camera, r->action, r->entry_node, m);
                        goto answer;
                }
                pd->next = v->pending;
                v->pending = pd;
                return;
        }
answer:
        if (answer)
                answer(answer_arg, &a);
        else
                view_reply_parent(v, parent_id, &a);
}

void view_request(struct view *v, const Vigil__ViewRequest *r, view_answer_fn answer, void *arg)
{
        Vigil__ViewRequest s = *r;
        uint8_t sig[DECISION_SIG_LEN];

        /* Art 19: this node authenticated the officer (their key, their
         * unit); it signs the request so that the station takes the officer
         * from it and from no node in between. */
        s.entry_node = (char *)v->d->cfg->node_id;
        s.has_signed_at_us = 1;
        s.signed_at_us = vtime_now_us();
        if (decision_sign(&s.base, v->d->cfg->node_id, v->keys->sign_secret, sig, view_unsigned) < 0) {
                struct view_answer a = { .error = "this node could not sign the view request" };
                answer(arg, &a);
                return;
        }
        view_route(v, &s, answer, arg, 0);
}

/* A ViewRequest from the parent. */
static void view_on_request(void *arg, const char *peer, const Vigil__Envelope *env)
{
        struct view *v = arg;

        (void)peer;
        view_route(v, env->view_request, NULL, NULL, env->view_request->request_id);
}

/* A ViewReply from child CHILD. */
static void view_on_reply(void *arg, const char *child, const Vigil__Envelope *env)
{
        struct view *v = arg;
        const Vigil__ViewReply *r = env->view_reply;
        struct view_pending **pp, *pd;
        struct view_answer a;

        for (pp = &v->pending; *pp; pp = &(*pp)->next)
                if ((*pp)->id == r->request_id && strcmp((*pp)->child, child) == 0)
                        break;
        if (!*pp) {
                log_warn("view", "child=%s msg=\"answer to no request of ours dropped\"", child);
                return;
        }
        pd = *pp;
        *pp = pd->next;
        a.granted = r->has_granted && r->granted;
        a.url = r->url;
        a.ticket = r->ticket;
        a.error = r->error;
        a.article = r->article;
        a.station = r->station;
        a.expires_at_us = r->expires_at_us;
        if (pd->answer)
                pd->answer(pd->answer_arg, &a);
        else
                view_reply_parent(v, pd->parent_id, &a);
        free(pd);
}

static void view_on_timer(uv_timer_t *t)
{
        struct view *v = t->data;
        struct view_pending **pp = &v->pending, *pd;
        uint64_t now = view_now_ms(v);

        while ((pd = *pp)) {
                char m[160];
                struct view_answer a = { 0 };
                if (pd->deadline_ms > now) {
                        pp = &pd->next;
                        continue;
                }
                *pp = pd->next;
                v->timeouts++;
                snprintf(m, sizeof(m), "no answer from %s within %d ms", pd->child, VIEW_TIMEOUT_MS);
                a.error = m;
                view_refused_here(v, pd->officer, pd->camera, pd->action, pd->entry, m);
                if (pd->answer)
                        pd->answer(pd->answer_arg, &a);
                else
                        view_reply_parent(v, pd->parent_id, &a);
                free(pd);
        }
}

int view_init(struct view *v, struct delivery *d, const struct node_keys *keys, struct audit *audit)
{
        int r;

        memset(v, 0, sizeof(*v));
        v->d = d;
        v->keys = keys;
        v->started_us = vtime_now_us();
        if (d->cfg->tier == TIER_STATION) {
                v->seen = calloc(VIEW_SEEN_SLOTS, sizeof(*v->seen));
                if (!v->seen)
                        return UV_ENOMEM;
        }
        v->audit = audit;
        v->next_id = 1;
        link_set_handle(&d->links, VIGIL__ENVELOPE__BODY_VIEW_REQUEST, LINK_TO_PARENT, view_on_request, v);
        link_set_handle(&d->links, VIGIL__ENVELOPE__BODY_VIEW_REPLY, LINK_TO_CHILD, view_on_reply, v);
        r = uv_timer_init(d->links.loop, &v->timer);
        if (r < 0)
                return r;
        v->timer.data = v;
        v->timer_init = true;
        return uv_timer_start(&v->timer, view_on_timer, 500, 500);
}

void view_close(struct view *v)
{
        while (v->pending) {
                struct view_pending *pd = v->pending;
                v->pending = pd->next;
                if (pd->answer)
                        pd->answer(pd->answer_arg, NULL);   /* stopping: no answer */
                free(pd);
        }
        free(v->seen);
        v->seen = NULL;
        if (v->timer_init) {
                uv_timer_stop(&v->timer);
                uv_close((uv_handle_t *)&v->timer, NULL);
                v->timer_init = false;
        }
}


#include "control/control.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "base/vtime.h"
#include "db/db.h"
#include "wire/wire.h"

/* Requests of one identity (one CURVE key) being answered at once: the
 * first wave let one key queue as many database round trips as it could
 * send (issue 17, fault 5). vigilctl sends one at a time, an import up to
 * eight. */
#define CONTROL_INFLIGHT_MAX 32

static struct control_inflight *control_inflight_of(struct control *c, const char *key, bool make)
{
        struct control_inflight *f;

        for (f = c->inflight; f; f = f->next)
                if (strcmp(f->key, key) == 0)
                        return f;
        if (!make)
                return NULL;
        f = calloc(1, sizeof(*f));
        vigil_require(f != NULL);
        snprintf(f->key, sizeof(f->key), "%s", key);
        f->next = c->inflight;
        c->inflight = f;
        return f;
}

/* Q is answered: its identity has one request fewer in flight. */
static void control_inflight_done(struct control_req *q)
{
        struct control *c = q->c;
        struct control_inflight *f, **pp;

        if (!q->counted)
                return;
        q->counted = false;
        for (pp = &c->inflight; (f = *pp); pp = &f->next) {
                if (strcmp(f->key, q->key) != 0)
                        continue;
                if (--f->n <= 0) {
                        *pp = f->next;
                        free(f);
                }
                return;
        }
}

int control_reply_encode(Vigil__Envelope *env, uint8_t **ret_buf, size_t *ret_len)
{
        Vigil__ControlReply *r = env->control_reply;
        char e[300];
        size_t n;

        if (wire_encode_envelope(env, ret_buf, ret_len) == 0)
                return 0;
        /* Too large for one message: it would have been dropped, and the
         * operator left waiting for "no answer". Say so instead. */
        n = vigil__envelope__get_packed_size(env);
        snprintf(e, sizeof(e), "the answer (%zu KiB) is larger than the %d MiB one reply may carry: nothing was "
                 "lost, narrow the request (--under, --limit, --node)", n / 1024, WIRE_MAX_MESSAGE / (1024 * 1024));
        log_warn("control", "request_id=%" PRIu64 " msg=\"reply too large, refused instead\" bytes=%zu",
                 r->request_id, n);
        r->has_status = 1;
        r->status = CONTROL_REFUSED;
        r->json = NULL;
        r->next = NULL;
        r->error = e;
        r->article = NULL;
        r->rule = NULL;
        return wire_encode_envelope(env, ret_buf, ret_len);
}

static void control_send(struct control_req *q, uint32_t status, json_t *doc, const char *error,
                         const char *article, const char *rule, const char *next)
{
        struct control *c = q->c;
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__ControlReply r = VIGIL__CONTROL_REPLY__INIT;
        char *json = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        uint8_t *buf;
        size_t len;

        control_inflight_done(q);
        r.has_request_id = 1;
        r.request_id = q->request_id;
        r.has_status = 1;
        r.status = status;
        r.json = json;
        r.error = (char *)error;
        r.article = (char *)article;
        r.rule = (char *)rule;
        r.next = (char *)next;
        env.origin = (char *)c->node_id;
        env.body_case = VIGIL__ENVELOPE__BODY_CONTROL_REPLY;
        env.control_reply = &r;
        if (c->open && control_reply_encode(&env, &buf, &len) == 0) {
                const void *f[2] = { q->routing, buf };
                size_t l[2] = { q->routing_len, len };
                zsock_send(&c->zs, f, l, 2);
                free(buf);
        }
        free(json);
        json_decref(doc);
}

void control_reply(struct control_req *q, uint32_t status, json_t *doc, const char *error, const char *article)
{
        control_send(q, status, doc, error, article, NULL, NULL);
}

void control_reply_page(struct control_req *q, json_t *doc, const char *next)
{
        control_send(q, CONTROL_OK, doc, NULL, NULL, NULL, next);
}

void control_reply_rule(struct control_req *q, uint32_t status, const char *error, const char *article,
                        const char *rule)
{
        control_send(q, status, NULL, error, article, rule, NULL);
}

const char *control_arg(const struct control_req *q, const char *name)
{
        const Vigil__ControlRequest *m = q->msg;
        size_t i;

        for (i = 0; i < m->n_args; i++)
                if (m->args[i]->name && strcmp(m->args[i]->name, name) == 0)
                        return m->args[i]->value;
        return NULL;
}

const char *control_badge(const struct control_req *q)
{
        return strncmp(q->user, "officer:", 8) == 0 ? q->user + 8 : NULL;
}

bool control_is_admin(const struct control_req *q)
{
        return strncmp(q->user, "admin:", 6) == 0;
}

bool control_has_role(const struct control_req *q, unsigned roles)
{
        return (q->roles & roles) != 0;
}

bool control_allows(const struct control_req *q, const char *name)
{
        struct policy_caller who = { q->roles, q->unit };

        return policy_allows(name, q->c->node_id, &who);
}

const char *control_reach(const struct control_req *q)
{
        return policy_reach_name(q->reach);
}

const char *control_unit_prefix(const struct control_req *q, char *buf)
{
        if (!nodeid_is_wellformed(q->unit) || !nodeid_prefix(q->unit, buf))
                buf[0] = '\0';
        return buf;
}

void control_refuse(struct control_req *q, const char *error, const char *article)
{
        control_reply(q, CONTROL_REFUSED, NULL, error, article);
        free(q);
}

void control_on_json_row(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        PGresult *res = db_tx_result(tx, 0);
        json_t *doc;
        int next;

        if (err || !res || PQntuples(res) != 1) {
                control_refuse(q, err ? msg : "no answer", NULL);
                return;
        }
        if (PQgetisnull(res, 0, 0) && q->data) {
                control_refuse(q, q->data, NULL);
                return;
        }
        doc = json_loads(PQgetisnull(res, 0, 0) ? "[]" : PQgetvalue(res, 0, 0), 0, NULL);
        if (!doc) {
                control_refuse(q, "unreadable answer", NULL);
                return;
        }
        /* A listing's page names its cursor in a column `next`. */
        next = PQfnumber(res, "next");
        control_reply_page(q, doc, next >= 0 && !PQgetisnull(res, 0, next) ? PQgetvalue(res, 0, next) : NULL);
        free(q);
}

const char *control_answer_state(struct control_req *q, struct db_tx *tx, int err, const char *msg)
{
        PGresult *res = db_tx_result(tx, 0);

        if (err || !res || PQntuples(res) != 1) {
                control_refuse(q, err ? msg : "no answer", NULL);
                return NULL;
        }
        if (PQgetvalue(res, 0, 0)[0] != 't') {
                control_refuse(q, PQgetvalue(res, 0, 2), PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1));
                return NULL;
        }
        return PQgetvalue(res, 0, 3);
}

/* --- dispatch --- */

static int control_identify(struct control *c, const char *key, struct control_req *q)
{
        struct control_who who;

        memset(&who, 0, sizeof(who));
        if (c->identify(c->identify_arg, key, &who) < 0)
                return -EACCES;
        snprintf(q->user, sizeof(q->user), "%s", who.user);
        snprintf(q->unit, sizeof(q->unit), "%s", who.unit);
        q->roles = who.roles;
        return 0;
}

/* Say why, and that nothing was done: the operator may simply try again
 * (a request is never kept to run after the reconnect). */
static void control_refuse_db_down(struct control_req *q)
{
        char since[40], e[200];
        int64_t down = db_down_since_us(q->c->db);

        if (down > 0)
                vtime_format_ms(down, since, sizeof(since));
        snprintf(e, sizeof(e), "this node's database is unreachable%s%s (vigild reconnects by itself; "
                 "`vigilctl status` shows it): nothing was done, try again", down > 0 ? " since " : "",
                 down > 0 ? since : "");
        control_refuse(q, e, NULL);
}

/* --- the policy (policy.c): refused before any handler runs, and logged --- */

/* A refusal by the policy, kept until its record is in the access log. */
struct control_refusal {
        char error[512];
        char rule[400];
        const char *article;    /* static: the rule's */
};

static void control_on_refusal_logged(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct control_refusal *f = q->data;

        (void)tx;
        /* Refused either way; a refusal that could not be logged is said
         * in our own log at least. */
        if (err)
                log_error("control", "user=\"%s\" msg=\"refusal not written to the access log\" reason=\"%s\"",
                          q->user, msg ? msg : "");
        control_reply_rule(q, CONTROL_REFUSED, f->error, f->article, f->rule);
        free(f);
        free(q);
}

/* Write the refusal F of Q (by RULE) to this node's access log, then
 * answer it (control_on_refusal_logged): the command, and the camera,
 * request and emergency the request named (bounded: the record is not the
 * place for whatever a caller sends). Frees Q. */
static void control_log_refusal(struct control_req *q, struct control_refusal *f, const struct policy_rule *rule,
                                const char *detail)
{
        struct control *c = q->c;
        const char *camera = control_arg(q, "camera");
        const char *request = rule->request_arg ? control_arg(q, rule->request_arg) : NULL;
        const char *emergency = rule->emergency_arg ? control_arg(q, rule->emergency_arg) : NULL;
        char request_id[48], emergency_id[48];
        const char *p[7];
        struct db_tx *tx;

        q->data = f;
        if (!db_is_up(c->db)) {
                control_on_refusal_logged(q, NULL, -EIO, "the database is unreachable");
                return;
        }
        snprintf(request_id, sizeof(request_id), "%.40s", request ? request : "");
        snprintf(emergency_id, sizeof(emergency_id), "%.40s", emergency ? emergency : "");
        p[0] = control_badge(q) ? control_badge(q) : q->user;
        p[1] = rule->command;
        p[2] = f->article;
        p[3] = detail;
        p[4] = nodeid_is_wellformed(camera) ? camera : NULL;
        p[5] = request ? request_id : NULL;
        p[6] = emergency ? emergency_id : NULL;
        tx = db_tx_new();
        db_tx_add(tx, "SELECT audit_append($1, $2, 'refused', $3, $5, NULL, NULL, $6, $7, $4)", 7, p, NULL, NULL);
        db_submit(c->db, tx, control_on_refusal_logged, q);
}

/* Refuse Q by RULE: the answer names the rule and the article; the
 * attempt is a record of this node's access log (Art 23(5): an attempt is
 * never silent), written before the answer goes. Frees Q. */
static void control_refuse_by_rule(struct control_req *q, const struct policy_rule *rule)
{
        struct control *c = q->c;
        struct control_refusal *f = calloc(1, sizeof(*f));
        char words[64], roles[128], esc[160], detail[640];
        size_t i;

        vigil_require(f != NULL);
        snprintf(words, sizeof(words), "%s", rule->command);
        for (i = 0; words[i]; i++)
                if (words[i] == '.')
                        words[i] = ' ';
        policy_roles_format(q->roles, roles, sizeof(roles));
        f->article = rule->article;
        snprintf(f->rule, sizeof(f->rule), "%s: %s", rule->command, rule->says);
        snprintf(f->error, sizeof(f->error), "refused: %s%s%s is for %s (you: %s of %s)",
                 rule->article ? rule->article : "", rule->article ? ": " : "", words, rule->says, roles,
                 q->unit[0] ? q->unit : "no unit");
        c->refused++;
        log_warn("control", "user=\"%s\" command=%s roles=%s unit=%s msg=\"refused by the policy\" rule=\"%s\"",
                 q->user, rule->command, roles, q->unit, log_escape(esc, sizeof(esc), f->rule));
        /* The record: who, the command, refused, the article; the camera a
         * view was asked for; the rule and what the caller holds. */
        snprintf(detail, sizeof(detail), "rule %s; caller %s of %s", f->rule, roles, q->unit[0] ? q->unit : "-");
        control_log_refusal(q, f, rule, detail);
}

void control_refuse_logged(struct control_req *q, const char *error, const char *article)
{
        const struct policy_rule *rule = policy_rule_of(q->msg->command);
        struct control_refusal *f = calloc(1, sizeof(*f));

        vigil_require(f != NULL && rule != NULL);
        snprintf(f->error, sizeof(f->error), "%s", error);
        f->article = article;
        q->c->refused++;
        control_log_refusal(q, f, rule, f->error);
}

/* A refusal on its way to the access log (control_refuse_recorded). */
struct control_recorded {
        struct control_req *q;
        uint32_t status;
        char error[512], article[16];
};

static void control_on_recorded(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_recorded *r = arg;

        (void)tx;
        if (err)
                log_error("control", "user=\"%s\" msg=\"refusal not written to the access log\" reason=\"%s\"",
                          r->q->user, msg ? msg : "");
        control_reply(r->q, r->status, NULL, r->error, r->article[0] ? r->article : NULL);
        free(r->q);
        free(r);
}

void control_refuse_recorded(struct control_req *q, const char *action, uint32_t status, const char *error,
                             const char *article)
{
        struct control_recorded *r = calloc(1, sizeof(*r));
        const char *p[4];
        struct db_tx *tx;

        vigil_require(r != NULL);
        r->q = q;
        r->status = status;
        snprintf(r->error, sizeof(r->error), "%s", error);
        snprintf(r->article, sizeof(r->article), "%s", article ? article : "");
        p[0] = control_badge(q) ? control_badge(q) : q->user;
        p[1] = action;
        p[2] = article;
        p[3] = error;
        if (!db_is_up(q->c->db)) {
                control_on_recorded(r, NULL, -EIO, "the database is unreachable");
                return;
        }
        tx = db_tx_new();
        db_tx_add(tx, "SELECT access_refuse($1, $2, $3, $4, NULL)", 4, p, NULL, NULL);
        db_submit(q->c->db, tx, control_on_recorded, r);
}

void control_args(const struct control_req *q, const char *name, struct sqlarray *ret)
{
        size_t i;

        sqlarray_set_type(ret, SQLARRAY_TEXT);
        for (i = 0; i < q->msg->n_args; i++) {
                const Vigil__Arg *a = q->msg->args[i];
                char *copy, *save = NULL, *tok;
                if (!a->name || !a->value || strcmp(a->name, name) != 0)
                        continue;
                copy = strdup(a->value);
                vigil_require(copy != NULL);
                for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                        if (*tok)
                                sqlarray_add_text(ret, tok);
                free(copy);
        }
}

/* Decide Q's command by its rule; true if it may run (Q->reach set),
 * else Q was refused and freed. */
static bool control_decide(struct control_req *q, const char *command)
{
        const struct policy_rule *rule = policy_rule_of(command);
        struct policy_caller who = { q->roles, q->unit };

        /* control_add refused to start with a command without a rule. */
        vigil_require(rule != NULL);
        if (policy_decide(rule, q->c->node_id, &who, rule->node_arg ? control_arg(q, rule->node_arg) : NULL,
                          &q->reach) == 0)
                return true;
        control_refuse_by_rule(q, rule);
        return false;
}

static void control_on_recv(struct zsock *zs, zmq_msg_t *frames, int nframes)
{
        struct control *c = zs->data;
        Vigil__Envelope *env = NULL;
        struct control_req *q;
        const char *user, *peer;
        char err[256];
        size_t i;
        int r;

        if (nframes != 2 || zmq_msg_size(&frames[0]) > sizeof(q->routing)) {
                c->malformed++;
                log_warn("control", "msg=\"malformed request\" reason=\"%d frames\"", nframes);
                return;
        }
        user = zmq_msg_gets(&frames[1], "User-Id");
        peer = zmq_msg_gets(&frames[1], "Peer-Address");
        q = calloc(1, sizeof(*q));
        vigil_require(q != NULL);
        q->c = c;
        q->routing_len = zmq_msg_size(&frames[0]);
        memcpy(q->routing, zmq_msg_data(&frames[0]), q->routing_len);
        /* User-Id is the connection's key: who it is now, at this request
         * (an officer made inactive since the connection opened is not). */
        if (user)
                snprintf(q->key, sizeof(q->key), "%s", user);
        if (!user || control_identify(c, user, q) < 0) {
                c->withdrawn++;
                log_warn("control", "peer=%s key=\"%s\" msg=\"request from an identity no longer admitted "
                         "refused\"", peer ? peer : "?", user ? user : "");
                control_reply(q, CONTROL_REFUSED, NULL, "refused: this identity is no longer admitted here "
                              "(an officer made inactive?)", NULL);
                free(q);
                return;
        }
        r = wire_decode_envelope(zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]), &env, err, sizeof(err));
        if (r < 0) {
                if (r == -EMSGSIZE)
                        c->oversize++;
                else if (r == -ENOTSUP)
                        c->unknown_body++;
                else
                        c->malformed++;
                log_warn("control", "user=\"%s\" peer=%s msg=\"malformed request dropped\" reason=\"%s\"",
                         q->user, peer ? peer : "?", err);
                control_reply(q, CONTROL_USAGE, NULL, err, NULL);
                free(q);
                return;
        }
        if (env->body_case != VIGIL__ENVELOPE__BODY_CONTROL_REQUEST || !env->control_request->command) {
                c->malformed++;
                log_warn("control", "user=\"%s\" peer=%s body=%s msg=\"not a control request\"", q->user,
                         peer ? peer : "?", wire_body_name(env));
                control_reply(q, CONTROL_USAGE, NULL, "expected a control request", NULL);
                goto out;
        }
        /* Nodes never speak on the control socket: a frame that claims a
         * platform node as its origin is from the wrong origin. */
        if (env->origin && nodeid_is_wellformed(env->origin)) {
                c->wrong_origin++;
                log_warn("control", "user=\"%s\" peer=%s origin=%s msg=\"request from the wrong origin dropped\"",
                         q->user, peer ? peer : "?", env->origin);
                control_reply(q, CONTROL_REFUSED, NULL, "refused: a control request cannot come from a node", NULL);
                goto out;
        }
        q->request_id = env->control_request->request_id;
        q->msg = env->control_request;
        {
                struct control_inflight *f = control_inflight_of(c, q->key, true);
                if (f->n >= CONTROL_INFLIGHT_MAX) {
                        c->busy++;
                        /* Once per flood (until its answers drain): the
                         * count is in `status` (control_busy). */
                        if (!f->told)
                                log_warn("control", "user=\"%s\" peer=%s msg=\"too many requests in flight, "
                                         "refusing more until they are answered\" in_flight=%d", q->user,
                                         peer ? peer : "?", f->n);
                        f->told = true;
                        snprintf(err, sizeof(err), "refused: this identity already has %d requests being "
                                 "answered here; wait for their answers", CONTROL_INFLIGHT_MAX);
                        control_reply(q, CONTROL_REFUSED, NULL, err, NULL);
                        goto out;
                }
                f->n++;
                q->counted = true;
        }
        c->requests++;
        for (i = 0; i < (size_t)c->n_tables; i++) {
                const struct control_command *t;
                for (t = c->tables[i].commands; t->name; t++) {
                        if (strcmp(t->name, env->control_request->command) == 0) {
                                /* `status` answers from memory; every other
                                 * command needs the database. Queued, it
                                 * would run after the reconnect, when
                                 * vigilctl has long said "no answer". */
                                q->ctx = c->tables[i].ctx;
                                if (!c->tables[i].from_memory && !db_is_up(c->db)) {
                                        control_refuse_db_down(q);
                                        wire_envelope_free(env);
                                        return;
                                }
                                if (control_decide(q, t->name))
                                        t->run(q);
                                wire_envelope_free(env);
                                return;
                        }
                }
        }
        {
                char e[160], esc[64];
                snprintf(e, sizeof(e), "unknown command \"%s\"",
                         log_escape(esc, sizeof(esc), env->control_request->command));
                control_reply(q, CONTROL_USAGE, NULL, e, NULL);
        }
out:
        free(q);
        wire_envelope_free(env);
}

int control_init(struct control *c, uv_loop_t *loop, void *zctx, const struct node_keys *keys,
                 const char *endpoint, const char *node_id, struct db *db, control_identify_fn identify,
                 void *identify_arg)
{
        void *s;
        int one = 1, zero = 0, r;
        int64_t maxmsg = 2 * (int64_t)WIRE_MAX_MESSAGE;

        c->loop = loop;
        c->node_id = node_id;
        c->db = db;
        c->identify = identify;
        c->identify_arg = identify_arg;
        s = zmq_socket(zctx, ZMQ_ROUTER);
        if (!s)
                return -errno;
        zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one));
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->curve_secret, KEYS_Z85_LEN);
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "control", 7);
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
        zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
        if (zmq_bind(s, endpoint) < 0) {
                r = -errno;
                zmq_close(s);
                return r;
        }
        r = zsock_init(&c->zs, loop, s, control_on_recv, c);
        if (r < 0) {
                zmq_close(s);
                return r;
        }
        c->open = true;
        return 0;
}

static void control_add_table(struct control *c, const struct control_command *commands, void *ctx,
                              bool from_memory)
{
        const struct control_command *t;

        vigil_require(c->n_tables < CONTROL_MAX_TABLES);
        /* A command without a rule could never be run: a bug, found at
         * start (tests/unit/test_policy.c finds it before). */
        for (t = commands; t->name; t++)
                if (!policy_rule_of(t->name)) {
                        log_error("control", "command=%s msg=\"no rule in control/policy.c\"", t->name);
                        vigil_require(policy_rule_of(t->name) != NULL);
                }
        c->tables[c->n_tables].commands = commands;
        c->tables[c->n_tables].ctx = ctx;
        c->tables[c->n_tables].from_memory = from_memory;
        c->n_tables++;
}

void control_add(struct control *c, const struct control_command *commands, void *ctx)
{
        control_add_table(c, commands, ctx, false);
}

void control_add_from_memory(struct control *c, const struct control_command *commands, void *ctx)
{
        control_add_table(c, commands, ctx, true);
}

void control_close(struct control *c)
{
        struct control_inflight *f;

        if (c->open)
                zsock_close(&c->zs, NULL);
        c->open = false;
        while ((f = c->inflight)) {
                c->inflight = f->next;
                free(f);
        }
}

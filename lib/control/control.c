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

void control_reply(struct control_req *q, uint32_t status, json_t *doc,
                   const char *error, const char *article)
{
        struct control *c = q->c;
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__ControlReply r = VIGIL__CONTROL_REPLY__INIT;
        char *json = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        uint8_t *buf;
        size_t len;

        r.has_request_id = 1;
        r.request_id = q->request_id;
        r.has_status = 1;
        r.status = status;
        r.json = json;
        r.error = (char *)error;
        r.article = (char *)article;
        env.origin = (char *)c->node_id;
        env.body_case = VIGIL__ENVELOPE__BODY_CONTROL_REPLY;
        env.control_reply = &r;
        if (c->open && wire_encode_envelope(&env, &buf, &len) == 0) {
                const void *f[2] = { q->routing, buf };
                size_t l[2] = { q->routing_len, len };
                zsock_send(&c->zs, f, l, 2);
                free(buf);
        }
        free(json);
        json_decref(doc);
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
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
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
        if (!user || c->identify(c->identify_arg, user, q->user, sizeof(q->user)) < 0) {
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
        vigil_require(c->n_tables < CONTROL_MAX_TABLES);
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
        if (c->open)
                zsock_close(&c->zs, NULL);
        c->open = false;
}

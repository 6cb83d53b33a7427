#include "delivery/uplink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "base/log.h"
#include "base/sqlarray.h"
#include "db/db.h"
#include "wire/trust.h"
#include "wire/wire.h"
#include "base/vtime.h"

/* While the connection is not yet up, Hello is retried this often. */
#define UPLINK_HELLO_RETRY_MS 50

static void uplink_open(struct uplink *u);
static void uplink_send_hello(struct uplink *u);

static void uplink_on_hello_retry(uv_timer_t *t)
{
        struct uplink *u = t->data;

        if (u->state == UPLINK_HELLO && u->zs)
                uplink_send_hello(u);
}

static uint64_t uplink_now(struct uplink *u)
{
        return uv_now(u->set->loop);
}

static int uplink_send(struct uplink *u, Vigil__Envelope *env)
{
        uint8_t *buf;
        size_t len;
        int r;

        if (!u->zs)
                return -ENOTCONN;
        env->origin = (char *)u->set->cfg->node_id;
        r = wire_encode_envelope(env, &buf, &len);
        if (r < 0)
                return r;
        {
                const void *f[1] = { buf };
                r = zsock_send(u->zs, f, &len, 1);
        }
        free(buf);
        return r;
}

static int uplink_link_send(struct link *l, Vigil__Envelope *env)
{
        return uplink_send(l->owner, env);
}

static void uplink_on_loaded(struct link *l, int err, void *arg)
{
        struct uplink *u = arg;

        (void)l;
        if (u->state != UPLINK_LOADING)
                return;
        if (err) {
                /* Database down: the handshake restarts when it is back. */
                u->state = UPLINK_IDLE;
                return;
        }
        u->state = UPLINK_HELLO;
        uplink_send_hello(u);
}

static void uplink_begin_handshake(struct uplink *u)
{
        link_session_end(&u->link);
        u->state = UPLINK_LOADING;
        link_load(&u->link, uplink_on_loaded, u);
}

static void uplink_send_hello(struct uplink *u)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Hello h = VIGIL__HELLO__INIT;
        const struct config *cfg = u->set->cfg;
        const char *held;
        uint64_t applied = 0;

        h.node_id = (char *)cfg->node_id;
        h.has_tier = 1;
        h.tier = (Vigil__Tier)cfg->tier;
        h.name = (char *)cfg->name;
        h.software = "vigild " VIGIL_VERSION;
        h.epoch = u->set->epoch;
        h.has_last_applied_down = 1;
        held = link_peer_state(&u->link, &applied);
        h.last_applied_down = held ? applied : 0;
        h.parent_epoch = (char *)(held ? held : "");
        env.body_case = VIGIL__ENVELOPE__BODY_HELLO;
        env.hello = &h;
        u->hello_at_ms = uplink_now(u);
        /* -EAGAIN until the connection (and CURVE handshake) is complete:
         * try again soon, so a returning parent is found within moments. */
        if (uplink_send(u, &env) == -EAGAIN)
                uv_timer_start(&u->hello_retry, uplink_on_hello_retry, UPLINK_HELLO_RETRY_MS, 0);
}

static void uplink_on_closed(struct zsock *zs)
{
        free(zs);
}

static void uplink_drop_socket(struct uplink *u)
{
        if (u->zs) {
                zsock_close(u->zs, uplink_on_closed);
                u->zs = NULL;
        }
}

static void uplink_on_reconnect(uv_timer_t *t)
{
        struct uplink *u = t->data;

        uplink_open(u);
}

/* The parent is silent or refused us: drop the socket and try again later,
 * with backoff, so a restarted or returning parent is found again. */
static void uplink_down(struct uplink *u, const char *why)
{
        if (u->state == UPLINK_UP) {
                log_warn("uplink", "parent=%s msg=\"link down\" reason=\"%s\"", u->link.peer_id, why);
                u->since_ms = uplink_now(u);
        } else {
                log_info("uplink", "parent=%s msg=\"no answer, reconnecting\" reason=\"%s\" retry_ms=%d",
                         u->link.peer_id, why, u->backoff_ms);
        }
        link_session_end(&u->link);
        u->state = UPLINK_IDLE;
        uplink_drop_socket(u);
        uv_timer_start(&u->reconnect, uplink_on_reconnect, (uint64_t)u->backoff_ms, 0);
        u->backoff_ms *= 2;
        if (u->backoff_ms > u->set->cfg->reconnect_max_ms)
                u->backoff_ms = u->set->cfg->reconnect_max_ms;
}

static void uplink_on_chain_kept(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct uplink *u = arg;

        (void)tx;
        if (err)
                log_warn("uplink", "parent=%s msg=\"cannot keep the chain of signing keys\" reason=\"%s\"",
                         u->link.peer_id, msg);
}

/* Signed decisions (Art 19): the chain of signing keys the parent sent,
 * checked from the city's key in our config (lib/wire/trust.c), taken and
 * kept; one that does not check is refused, and the chain held stays. */
static void uplink_take_chain(struct uplink *u, const Vigil__Welcome *w)
{
        struct trust *t = u->set->trust;
        struct sqlarray nodes = { .type = SQLARRAY_TEXT }, signers = { .type = SQLARRAY_TEXT },
                        keys = { .type = SQLARRAY_BYTEA }, sigs = { .type = SQLARRAY_BYTEA };
        const char *p[5];
        int lens[5] = { 0 }, fmts[5] = { 0 };
        struct db_tx *tx;
        char err[300];
        size_t k;

        if (w->n_chain == 0) {
                if (!t->complete)
                        log_warn("uplink", "parent=%s msg=\"the parent sent no chain of signing keys: decisions "
                                 "from above are refused until it does\"", u->link.peer_id);
                return;
        }
        if (!trust_differs(t, w->chain, w->n_chain))
                return;
        if (trust_accept(t, w->chain, w->n_chain, err, sizeof(err)) < 0) {
                u->chain_refused++;
                log_error("uplink", "parent=%s msg=\"refused the chain of signing keys\" reason=\"%s\" "
                          "chain_refused=%lu", u->link.peer_id, err, u->chain_refused);
                return;
        }
        log_info("uplink", "parent=%s msg=\"chain of signing keys taken\" nodes=%zu", u->link.peer_id,
                 w->n_chain);
        if (u->set->chain_taken)
                u->set->chain_taken(u->set->chain_arg);
        if (!u->set->db)
                return;
        for (k = 0; k < w->n_chain; k++) {
                sqlarray_add_text(&nodes, w->chain[k]->node_id);
                sqlarray_add_bytea(&keys, w->chain[k]->sign_key.data, w->chain[k]->sign_key.len);
                sqlarray_add_text(&signers, w->chain[k]->signer);
                sqlarray_add_bytea(&sigs, w->chain[k]->signature.data, w->chain[k]->signature.len);
        }
        p[0] = u->link.peer_id;
        sqlarray_param(&nodes, &p[1], &lens[1], &fmts[1]);
        sqlarray_param(&keys, &p[2], &lens[2], &fmts[2]);
        sqlarray_param(&signers, &p[3], &lens[3], &fmts[3]);
        sqlarray_param(&sigs, &p[4], &lens[4], &fmts[4]);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT trust_chain_keep($1, $2::text[], $3::bytea[], $4::text[], $5::bytea[])", 5, p, lens,
                  fmts);
        sqlarray_deinit(&nodes);
        sqlarray_deinit(&keys);
        sqlarray_deinit(&signers);
        sqlarray_deinit(&sigs);
        db_submit(u->set->db, tx, uplink_on_chain_kept, u);
}

static void uplink_on_welcome(struct uplink *u, const Vigil__Welcome *w)
{
        /* While up, a Welcome only brings a new chain of signing keys (the
         * parent got one from its own parent). */
        if (u->state == UPLINK_UP && w->node_id && strcmp(w->node_id, u->link.peer_id) == 0 && w->n_chain > 0) {
                uplink_take_chain(u, w);
                return;
        }
        if (u->state != UPLINK_HELLO)
                return;
        if (!w->node_id || strcmp(w->node_id, u->link.peer_id) != 0) {
                log_error("uplink", "parent=%s msg=\"Welcome from another node\" claimed=%s",
                          u->link.peer_id, w->node_id ? w->node_id : "(none)");
                return;
        }
        u->state = UPLINK_UP;
        u->since_ms = uplink_now(u);
        u->backoff_ms = u->set->cfg->reconnect_min_ms;
        u->last_error[0] = '\0';
        log_info("uplink", "parent=%s msg=\"link up\"", u->link.peer_id);
        uplink_take_chain(u, w);
        link_session_start(&u->link, w->epoch ? w->epoch : "", w->has_has_up_state && w->has_up_state,
                           w->last_applied_up);
}

static void uplink_on_error(struct uplink *u, const Vigil__Error *e)
{
        const char *m = e->message ? e->message : "";

        if (e->code == LINK_ERROR_RESYNC) {
                if (u->state == UPLINK_UP || u->state == UPLINK_HELLO)
                        uplink_begin_handshake(u);
                return;
        }
        u->refused++;
        if (strcmp(u->last_error, m) != 0)
                log_error("uplink", "parent=%s code=%u msg=\"parent refused us\" reason=\"%s\"",
                          u->link.peer_id, e->code, m);
        snprintf(u->last_error, sizeof(u->last_error), "%s", m);
}

static void uplink_on_recv(struct zsock *zs, zmq_msg_t *frames, int nframes)
{
        struct uplink *u = zs->data;
        Vigil__Envelope *env = NULL;
        char err[256];

        if (nframes != 1 ||
            wire_decode_envelope(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), &env, err, sizeof(err)) < 0) {
                u->malformed++;
                log_warn("uplink", "parent=%s msg=\"malformed message\" frames=%d reason=\"%s\"",
                         u->link.peer_id, nframes, nframes == 1 ? err : "frame count");
                return;
        }
        if (!env->origin || strcmp(env->origin, u->link.peer_id) != 0) {
                u->malformed++;
                log_warn("uplink", "parent=%s msg=\"message from the wrong origin\"", u->link.peer_id);
                wire_envelope_free(env);
                return;
        }
        u->last_rx_ms = uplink_now(u);
        switch (env->body_case) {
        case VIGIL__ENVELOPE__BODY_WELCOME:
                uplink_on_welcome(u, env->welcome);
                break;
        case VIGIL__ENVELOPE__BODY_HEARTBEAT:
                break;
        case VIGIL__ENVELOPE__BODY_ERROR:
                uplink_on_error(u, env->error);
                break;
        case VIGIL__ENVELOPE__BODY_ACK:
        case VIGIL__ENVELOPE__BODY_DELTA:
        case VIGIL__ENVELOPE__BODY_RESEND_REQUEST:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_END:
                if (u->state == UPLINK_UP) {
                        link_receive(&u->link, env);
                        return;  /* the link owns it now */
                }
                break;
        default:
                /* Not delivery's (a view request): its handler's, once
                 * the link is up. */
                if (link_set_handles(u->set, LINK_TO_PARENT, (int)env->body_case)) {
                        if (u->state == UPLINK_UP)
                                link_set_dispatch(u->set, LINK_TO_PARENT, u->link.peer_id, env);
                        break;
                }
                u->malformed++;
                log_warn("uplink", "parent=%s msg=\"unexpected message\" body=%s", u->link.peer_id,
                         wire_body_name(env));
        }
        wire_envelope_free(env);
}

static int uplink_setopt_int(void *s, int opt, int v)
{
        return zmq_setsockopt(s, opt, &v, sizeof(v));
}

static void uplink_open(struct uplink *u)
{
        const struct config *cfg = u->set->cfg;
        void *s = zmq_socket(u->zctx, ZMQ_DEALER);
        int64_t maxmsg = 2 * (int64_t)WIRE_MAX_MESSAGE;

        if (!s) {
                log_error("uplink", "msg=\"cannot create socket\" reason=\"%s\"", zmq_strerror(errno));
                uplink_down(u, "socket");
                return;
        }
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, cfg->parent_public_key, KEYS_Z85_LEN);
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, u->keys->curve_public, KEYS_Z85_LEN);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, u->keys->curve_secret, KEYS_Z85_LEN);
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
        /* Queue only on a finished connection: nothing stale is sent to a
         * parent that restarted (the outbox resends what matters). */
        uplink_setopt_int(s, ZMQ_IMMEDIATE, 1);
        uplink_setopt_int(s, ZMQ_LINGER, 0);
        uplink_setopt_int(s, ZMQ_SNDHWM, 100000);
        uplink_setopt_int(s, ZMQ_RCVHWM, 100000);
        uplink_setopt_int(s, ZMQ_RECONNECT_IVL, cfg->reconnect_min_ms);
        uplink_setopt_int(s, ZMQ_RECONNECT_IVL_MAX, cfg->reconnect_max_ms);
        if (zmq_connect(s, cfg->parent_endpoint) < 0) {
                log_error("uplink", "endpoint=%s msg=\"cannot connect\" reason=\"%s\"",
                          cfg->parent_endpoint, zmq_strerror(errno));
                zmq_close(s);
                uplink_down(u, "connect");
                return;
        }
        u->zs = calloc(1, sizeof(*u->zs));
        vigil_require(u->zs != NULL);
        if (zsock_init(u->zs, u->set->loop, s, uplink_on_recv, u) < 0) {
                free(u->zs);
                u->zs = NULL;
                zmq_close(s);
                uplink_down(u, "poll");
                return;
        }
        u->connects++;
        u->last_rx_ms = uplink_now(u);
        uplink_begin_handshake(u);
}

static void uplink_on_tick(uv_timer_t *t)
{
        struct uplink *u = t->data;
        const struct config *cfg = u->set->cfg;
        uint64_t now = uplink_now(u);
        uint64_t dead = (uint64_t)cfg->heartbeat_ms * (uint64_t)cfg->heartbeat_misses;

        if (!u->zs)
                return;
        if (u->state == UPLINK_HELLO && now - u->hello_at_ms >= (uint64_t)cfg->heartbeat_ms)
                uplink_send_hello(u);
        if (u->state == UPLINK_UP && !link_in_session(&u->link)) {
                /* The session ended on our side (a transaction failed, a
                 * new epoch began): the link is up but nothing streams
                 * until both ends re-read what they hold. */
                uplink_begin_handshake(u);
                return;
        }
        if (u->state == UPLINK_UP) {
                Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
                Vigil__Heartbeat hb = VIGIL__HEARTBEAT__INIT;
                hb.has_sent_at_us = 1;
                hb.sent_at_us = (uint64_t)vtime_now_us();
                env.body_case = VIGIL__ENVELOPE__BODY_HEARTBEAT;
                env.heartbeat = &hb;
                uplink_send(u, &env);
                link_tick(&u->link);
        }
        if (u->state != UPLINK_IDLE && now - u->last_rx_ms > dead) {
                char why[64];
                snprintf(why, sizeof(why), "%d heartbeats missed", cfg->heartbeat_misses);
                uplink_down(u, why);
        }
}

int uplink_init(struct uplink *u, struct link_set *set, void *zctx, const struct node_keys *keys)
{
        memset(u, 0, sizeof(*u));
        u->set = set;
        u->zctx = zctx;
        u->keys = keys;
        link_init(&u->link, set, LINK_TO_PARENT, set->cfg->parent_id);
        set->parent = &u->link;
        u->link.send = uplink_link_send;
        u->link.owner = u;
        u->backoff_ms = set->cfg->reconnect_min_ms;
        uv_timer_init(set->loop, &u->tick);
        uv_timer_init(set->loop, &u->reconnect);
        uv_timer_init(set->loop, &u->hello_retry);
        u->tick.data = u->reconnect.data = u->hello_retry.data = u;
        return 0;
}

void uplink_start(struct uplink *u)
{
        uv_timer_start(&u->tick, uplink_on_tick, (uint64_t)u->set->cfg->heartbeat_ms,
                       (uint64_t)u->set->cfg->heartbeat_ms);
        uplink_open(u);
}

void uplink_close(struct uplink *u)
{
        link_deinit(&u->link);
        uplink_drop_socket(u);
        uv_close((uv_handle_t *)&u->tick, NULL);
        uv_close((uv_handle_t *)&u->reconnect, NULL);
        uv_close((uv_handle_t *)&u->hello_retry, NULL);
}

void uplink_resync(struct uplink *u)
{
        if (u->zs && u->state != UPLINK_LOADING)
                uplink_begin_handshake(u);
}

bool uplink_online(const struct uplink *u)
{
        return u->state == UPLINK_UP;
}

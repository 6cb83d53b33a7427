#include "delivery/downlink.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "db/db.h"
#include "base/log.h"
#include "delivery/tree.h"
#include "base/sqlarray.h"
#include "wire/trust.h"
#include "wire/wire.h"
#include "base/vtime.h"

struct child_hello {
        struct child *c;
        char epoch[64];
        char parent_epoch[64];
        uint64_t last_applied_down;
};

static uint64_t downlink_now(struct downlink *d)
{
        return uv_now(d->set->loop);
}

static int child_send(struct child *c, Vigil__Envelope *env)
{
        struct downlink *d = c->d;
        uint8_t *buf;
        size_t len;
        int r;

        if (!d->open || c->routing_len == 0)
                return -ENOTCONN;
        env->origin = (char *)d->set->cfg->node_id;
        r = wire_encode_envelope(env, &buf, &len);
        if (r < 0)
                return r;
        {
                const void *f[2] = { c->routing_id, buf };
                size_t l[2] = { c->routing_len, len };
                r = zsock_send(&d->zs, f, l, 2);
        }
        free(buf);
        return r;
}

static int child_link_send(struct link *l, Vigil__Envelope *env)
{
        return child_send(l->owner, env);
}

static void downlink_send_error(struct downlink *d, const zmq_msg_t *routing, uint32_t code,
                                const char *message)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Error e = VIGIL__ERROR__INIT;
        uint8_t *buf;
        size_t len;

        e.has_code = 1;
        e.code = code;
        e.message = (char *)message;
        env.origin = (char *)d->set->cfg->node_id;
        env.body_case = VIGIL__ENVELOPE__BODY_ERROR;
        env.error = &e;
        if (wire_encode_envelope(&env, &buf, &len) < 0)
                return;
        {
                const void *f[2] = { zmq_msg_data((zmq_msg_t *)routing), buf };
                size_t l[2] = { zmq_msg_size((zmq_msg_t *)routing), len };
                zsock_send(&d->zs, f, l, 2);
        }
        free(buf);
}

/* The child ID, also one removed. */
static struct child *downlink_find_any(struct downlink *d, const char *id)
{
        int i;

        for (i = 0; i < d->n_children; i++)
                if (strcmp(d->children[i]->id, id) == 0)
                        return d->children[i];
        return NULL;
}

struct child *downlink_find(struct downlink *d, const char *id)
{
        struct child *c = downlink_find_any(d, id);

        return c && !c->removed ? c : NULL;
}

void downlink_remove_child(struct downlink *d, const char *id)
{
        struct child *c = downlink_find(d, id);

        if (!c)
                return;
        c->removed = true;      /* downlink_find_key() no longer matches its key */
        if (c->connected) {
                c->connected = false;
                link_session_end(&c->link);
        }
        c->online_persisted = false;
        c->persist_unknown = false;
        log_info("downlink", "child=%s name=%s msg=\"child removed: its key is refused from now on\"", c->id, c->name);
}

struct child *downlink_find_key(struct downlink *d, const char *public_key)
{
        int i;

        for (i = 0; i < d->n_children; i++)
                if (!d->children[i]->removed && strcmp(d->children[i]->public_key, public_key) == 0)
                        return d->children[i];
        return NULL;
}

struct child *downlink_add_child(struct downlink *d, const char *id, const char *name,
                                 const char *public_key)
{
        struct child *c = downlink_find_any(d, id);

        if (c && c->removed) {
                c->removed = false;      /* enrolled again */
                c->connected = false;
        }
        if (!c) {
                struct child **nc = realloc(d->children, (d->n_children + 1) * sizeof(*nc));
                if (!nc)
                        return NULL;
                d->children = nc;
                c = calloc(1, sizeof(*c));
                if (!c)
                        return NULL;
                c->d = d;
                snprintf(c->id, sizeof(c->id), "%s", id);
                link_init(&c->link, d->set, LINK_TO_CHILD, id);
                link_set_add_child(d->set, &c->link);
                c->link.send = child_link_send;
                c->link.owner = c;
                d->children[d->n_children++] = c;
        }
        snprintf(c->name, sizeof(c->name), "%s", name);
        if (strcmp(c->public_key, public_key) != 0 && c->connected) {
                /* Key rotated: the old session is no longer authenticated. */
                c->connected = false;
                link_session_end(&c->link);
        }
        snprintf(c->public_key, sizeof(c->public_key), "%s", public_key);
        return c;
}

void downlink_set_sign_key(struct child *c, const uint8_t key[32])
{
        memcpy(c->sign_key, key, 32);
        c->has_sign_key = true;
}

/* --- online / offline: the child's state that travels up --- */

static void child_on_observed(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct child *c = arg;
        (void)tx;
        c->persisting = false;
        if (err) {
                log_warn("downlink", "child=%s msg=\"cannot record state\" reason=\"%s\"", c->id, msg);
                return;  /* retried on the next tick */
        }
        /* Whether or not it changed a row, what is stored now matches what
         * we wrote. */
        c->online_persisted = c->written_online;
        c->persist_unknown = false;
        link_set_kick_parent(c->d->set);
}

/* Write the child's online state if it differs from what is stored. */
static void child_persist(struct child *c)
{
        struct downlink *d = c->d;
        const struct config *cfg = d->set->cfg;
        struct db_tx *tx;
        uint8_t *change;
        size_t len;
        char last_seen[32], version[24];
        const char *p[6];
        int lens[6] = { 0 }, fmts[6] = { 0 };
        bool online = c->connected;

        if (c->persisting || (online == c->online_persisted && !c->persist_unknown))
                return;
        /* Just started: give children the time to reconnect before calling
         * them offline, so a restart of this node shows no false outage. */
        if (!online && uv_now(d->set->loop) - d->started_ms <
                       (uint64_t)cfg->heartbeat_ms * (uint64_t)cfg->heartbeat_misses)
                return;
        c->written_online = online;
        c->version = vtime_next_version(d->versions);
        if (tree_encode_node_state(c->id, cfg->node_id, (int)nodeid_tier(c->id), c->name, online,
                                   c->last_seen_us, c->version, &change, &len) < 0)
                return;
        snprintf(last_seen, sizeof(last_seen), "%.6f", (double)c->last_seen_us / 1e6);
        snprintf(version, sizeof(version), "%" PRId64, c->version);
        p[0] = c->id;
        p[1] = online ? "t" : "f";
        p[2] = c->last_seen_us > 0 ? last_seen : NULL;  /* never seen: keep what is stored */
        p[3] = version;
        p[4] = (const char *)change;
        lens[4] = (int)len;
        fmts[4] = 1;
        p[5] = link_set_parent_id(d->set);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT node_observe($1, $2, to_timestamp($3::double precision), $4, $5, $6)",
                  6, p, lens, fmts);
        free(change);
        c->persisting = true;
        db_submit(d->set->db, tx, child_on_observed, c);
}

static void child_offline(struct child *c, const char *why)
{
        if (!c->connected)
                return;
        c->connected = false;
        link_session_end(&c->link);
        log_warn("downlink", "child=%s name=%s msg=\"child offline\" reason=\"%s\"", c->id, c->name, why);
        child_persist(c);
}

/* --- Hello / Welcome --- */

/* Signed decisions (Art 19): into W, the chain of signing keys from the
 * city down to this node and the child's own certificate, signed now
 * (CERTS, CHAIN and SIG hold them). A node without a complete chain (a
 * district that has not yet heard from the city) sends none: the child
 * keeps the one it holds. */
static void child_welcome_chain(struct child *c, Vigil__Welcome *w, Vigil__NodeCert *certs, Vigil__NodeCert **chain,
                                uint8_t sig[64])
{
        const struct trust *t = c->d->set->trust;
        size_t n, k;

        if (!c->has_sign_key || !c->d->keys || !t->complete)
                return;
        n = trust_chain(t, certs);
        if (n >= TRUST_MAX || trust_certify(t, c->d->keys->sign_secret, c->id, c->sign_key, &certs[n], sig) < 0)
                return;
        n++;
        for (k = 0; k < n; k++)
                chain[k] = &certs[k];
        w->n_chain = n;
        w->chain = chain;
}

void downlink_send_chain(struct downlink *d)
{
        int i;

        for (i = 0; i < d->n_children; i++) {
                struct child *c = d->children[i];
                Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
                Vigil__Welcome w = VIGIL__WELCOME__INIT;
                Vigil__NodeCert certs[TRUST_MAX], *chain[TRUST_MAX];
                uint8_t sig[64];

                if (c->removed || !c->connected)
                        continue;
                w.node_id = (char *)d->set->cfg->node_id;
                child_welcome_chain(c, &w, certs, chain, sig);
                if (w.n_chain == 0)
                        continue;
                env.body_case = VIGIL__ENVELOPE__BODY_WELCOME;
                env.welcome = &w;
                child_send(c, &env);
        }
}

static void child_on_loaded(struct link *l, int err, void *arg)
{
        struct child_hello *h = arg;
        struct child *c = h->c;
        struct link_set *set = c->d->set;
        const struct config *cfg = set->cfg;
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Welcome w = VIGIL__WELCOME__INIT;
        Vigil__NodeCert certs[TRUST_MAX], *chain[TRUST_MAX];
        uint8_t cert_sig[64];
        uint64_t applied = 0;
        const char *held = link_peer_state(l, &applied);
        bool have_up = held && strcmp(held, h->epoch) == 0;

        c->hello_pending = false;
        if (err) {
                free(h);
                return;  /* the child retries its Hello */
        }
        w.node_id = (char *)cfg->node_id;
        w.has_tier = 1;
        w.tier = (Vigil__Tier)cfg->tier;
        w.name = (char *)cfg->name;
        w.has_last_applied_up = 1;
        w.last_applied_up = have_up ? applied : 0;
        w.has_has_up_state = 1;
        w.has_up_state = have_up;
        w.epoch = set->epoch;
        w.has_heartbeat_ms = 1;
        w.heartbeat_ms = (uint32_t)cfg->heartbeat_ms;
        child_welcome_chain(c, &w, certs, chain, cert_sig);
        env.body_case = VIGIL__ENVELOPE__BODY_WELCOME;
        env.welcome = &w;
        child_send(c, &env);
        if (!c->connected)
                log_info("downlink", "child=%s name=%s msg=\"child online\"", c->id, c->name);
        c->connected = true;
        c->last_seen_us = vtime_now_us();
        link_session_start(l, h->epoch, strcmp(h->parent_epoch, set->epoch) == 0, h->last_applied_down);
        child_persist(c);
        free(h);
}

static void downlink_on_hello(struct downlink *d, struct child *c, const zmq_msg_t *routing,
                              const Vigil__Hello *hello, const char *peer)
{
        const struct config *cfg = d->set->cfg;
        struct child_hello *h;
        char err[512], msg[768];

        /* The node must sit directly under us (Art 3, 12: the tiers) ... */
        if (nodeid_check_child(hello->node_id, cfg->node_id, err, sizeof(err)) < 0) {
                d->refused_hello++;
                log_error("downlink", "peer=%s claimed=%s msg=\"refused Hello: ID outside this node's prefix\" "
                          "reason=\"%s\"", peer, hello->node_id, err);
                snprintf(msg, sizeof(msg), "refused: %s", err);
                downlink_send_error(d, routing, LINK_ERROR_REFUSED, msg);
                return;
        }
        /* ... and the key it authenticated with must be the one enrolled for
         * the ID it claims: a station cannot speak for another station. */
        if (strcmp(hello->node_id, c->id) != 0) {
                d->refused_hello++;
                log_error("downlink", "peer=%s claimed=%s key_of=%s msg=\"refused Hello: key enrolled for "
                          "another node\"", peer, hello->node_id, c->id);
                snprintf(msg, sizeof(msg), "refused: node %s presented the key enrolled for node %s",
                         hello->node_id, c->id);
                downlink_send_error(d, routing, LINK_ERROR_REFUSED, msg);
                return;
        }
        if (c->hello_pending)
                return;
        if (c->connected)
                link_session_end(&c->link);
        h = calloc(1, sizeof(*h));
        if (!h)
                return;
        h->c = c;
        snprintf(h->epoch, sizeof(h->epoch), "%s", hello->epoch ? hello->epoch : "");
        snprintf(h->parent_epoch, sizeof(h->parent_epoch), "%s",
                 hello->parent_epoch ? hello->parent_epoch : "");
        h->last_applied_down = hello->last_applied_down;
        c->hello_pending = true;
        link_load(&c->link, child_on_loaded, h);
}

static void downlink_on_recv(struct zsock *zs, zmq_msg_t *frames, int nframes)
{
        struct downlink *d = zs->data;
        Vigil__Envelope *env = NULL;
        struct child *c;
        const char *user, *peer;
        char err[256];
        size_t size;
        int r;

        if (nframes != 2) {
                d->malformed++;
                log_warn("downlink", "msg=\"malformed message\" reason=\"%d frames\"", nframes);
                return;
        }
        user = zmq_msg_gets(&frames[1], "User-Id");
        peer = zmq_msg_gets(&frames[1], "Peer-Address");
        peer = peer ? peer : "?";
        /* User-Id is the connection's key: who it is now (node.c). */
        c = user ? downlink_find_key(d, user) : NULL;
        if (!c) {
                uint64_t now = downlink_now(d);
                d->unenrolled++;
                /* A node cut off keeps beating on its open connection: say
                 * so once in a while, not at every beat. */
                if (d->unenrolled_logged_ms == 0 || now - d->unenrolled_logged_ms >= 10000) {
                        log_warn("downlink", "peer=%s key=\"%s\" dropped=%lu msg=\"message from a key no longer "
                                 "enrolled (removed, or re-enrolled with another key) dropped\"",
                                 peer, user ? user : "", d->unenrolled);
                        d->unenrolled_logged_ms = now;
                }
                return;
        }
        size = zmq_msg_size(&frames[1]);
        r = wire_decode_envelope(zmq_msg_data(&frames[1]), size, &env, err, sizeof(err));
        if (r < 0) {
                if (r == -EMSGSIZE)
                        d->oversize++;
                else if (r == -ENOTSUP)
                        d->unknown_body++;
                else
                        d->malformed++;
                log_warn("downlink", "child=%s peer=%s size=%zu msg=\"malformed message dropped\" reason=\"%s\"",
                         c->id, peer, size, err);
                downlink_send_error(d, &frames[0], LINK_ERROR_MALFORMED, err);
                return;
        }
        if (!env->origin || strcmp(env->origin, c->id) != 0) {
                char esc[64];
                d->wrong_origin++;
                log_warn("downlink", "child=%s peer=%s origin=\"%s\" msg=\"message from the wrong origin dropped\"",
                         c->id, peer, log_escape(esc, sizeof(esc), env->origin ? env->origin : ""));
                wire_envelope_free(env);
                return;
        }
        /* Never trust routing ids: map the authenticated node to the routing
         * id its messages arrive with (NOTES.md). */
        if (zmq_msg_size(&frames[0]) <= sizeof(c->routing_id)) {
                c->routing_len = zmq_msg_size(&frames[0]);
                memcpy(c->routing_id, zmq_msg_data(&frames[0]), c->routing_len);
        }
        c->last_rx_ms = downlink_now(d);
        if (c->connected)
                c->last_seen_us = vtime_now_us();
        switch (env->body_case) {
        case VIGIL__ENVELOPE__BODY_HELLO:
                downlink_on_hello(d, c, &frames[0], env->hello, peer);
                break;
        case VIGIL__ENVELOPE__BODY_HEARTBEAT:
                if (!link_in_session(&c->link) && !c->hello_pending)
                        downlink_send_error(d, &frames[0], LINK_ERROR_RESYNC, "say Hello first");
                break;
        case VIGIL__ENVELOPE__BODY_ACK:
        case VIGIL__ENVELOPE__BODY_DELTA:
        case VIGIL__ENVELOPE__BODY_RESEND_REQUEST:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK:
        case VIGIL__ENVELOPE__BODY_SNAPSHOT_END:
                if (c->connected && link_in_session(&c->link)) {
                        link_receive(&c->link, env);
                        return;
                }
                if (!c->hello_pending)
                        downlink_send_error(d, &frames[0], LINK_ERROR_RESYNC, "say Hello first");
                break;
        case VIGIL__ENVELOPE__BODY_ERROR:
                log_warn("downlink", "child=%s code=%u msg=\"child reports an error\" reason=\"%s\"", c->id,
                         env->error->code, env->error->message ? env->error->message : "");
                /* The child resynchronises: its Hello follows; nothing of
                 * this session is sent meanwhile. */
                if (env->error->has_code && env->error->code == LINK_ERROR_RESYNC)
                        link_session_end(&c->link);
                break;
        default:
                /* Not delivery's (the answer to a view): its handler's,
                 * from a child online. */
                if (link_set_handles(d->set, LINK_TO_CHILD, (int)env->body_case)) {
                        if (c->connected)
                                link_set_dispatch(d->set, LINK_TO_CHILD, c->id, env);
                        break;
                }
                d->unknown_body++;
                log_warn("downlink", "child=%s peer=%s body=%s msg=\"unexpected message dropped\"", c->id, peer,
                         wire_body_name(env));
        }
        wire_envelope_free(env);
}

/* The children online now are written as seen now every this many
 * heartbeats (10 s by default). */
#define DOWNLINK_SEEN_EVERY_BEATS 10

static void downlink_on_seen_written(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct downlink *d = arg;

        (void)tx;
        d->seen_writing = false;
        if (err && err != -ECANCELED)
                log_warn("downlink", "msg=\"cannot note the children seen\" reason=\"%s\"", msg);
}

/* A child's row says when it came online; were this node to stop or crash
 * now, a child that does not come back would be shown offline since then,
 * hours too early. So the children online are noted as seen every
 * DOWNLINK_SEEN_EVERY_BEATS heartbeats: after a restart one that stays away
 * was last seen at most that long before this node went down. Only here:
 * what travels up is the observation (child_persist), with the exact time. */
static void downlink_write_seen(struct downlink *d, uint64_t now)
{
        const struct config *cfg = d->set->cfg;
        struct sqlarray ids = { 0 };
        struct db_tx *tx;
        const char *p[1];
        int lens[1], fmts[1], i;

        if (d->seen_writing || !db_is_up(d->set->db) ||
            now - d->seen_written_ms < (uint64_t)cfg->heartbeat_ms * DOWNLINK_SEEN_EVERY_BEATS)
                return;
        d->seen_written_ms = now;
        sqlarray_set_type(&ids, SQLARRAY_TEXT);
        for (i = 0; i < d->n_children; i++)
                if (d->children[i]->connected && d->children[i]->online_persisted)
                        sqlarray_add_text(&ids, d->children[i]->id);
        if (ids.n > 0) {
                sqlarray_param(&ids, &p[0], &lens[0], &fmts[0]);
                tx = db_tx_new();
                db_tx_add(tx, "UPDATE nodes SET last_seen = now() WHERE id = ANY($1::text[]) AND online",
                          1, p, lens, fmts);
                d->seen_writing = true;
                db_submit(d->set->db, tx, downlink_on_seen_written, d);
        }
        sqlarray_deinit(&ids);
}

static void downlink_on_tick(uv_timer_t *t)
{
        struct downlink *d = t->data;
        const struct config *cfg = d->set->cfg;
        uint64_t now = downlink_now(d);
        uint64_t dead = (uint64_t)cfg->heartbeat_ms * (uint64_t)cfg->heartbeat_misses;
        int i;

        for (i = 0; i < d->n_children; i++) {
                struct child *c = d->children[i];
                if (c->removed)
                        continue;
                if (c->connected && now - c->last_rx_ms > dead) {
                        char why[64];
                        snprintf(why, sizeof(why), "%d heartbeats missed", cfg->heartbeat_misses);
                        child_offline(c, why);
                }
                if (c->connected) {
                        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
                        Vigil__Heartbeat hb = VIGIL__HEARTBEAT__INIT;
                        hb.has_sent_at_us = 1;
                        hb.sent_at_us = (uint64_t)vtime_now_us();
                        env.body_case = VIGIL__ENVELOPE__BODY_HEARTBEAT;
                        env.heartbeat = &hb;
                        child_send(c, &env);
                        link_tick(&c->link);
                }
                child_persist(c);  /* retries a write that failed */
        }
        downlink_write_seen(d, now);
}

static int downlink_setopt_int(void *s, int opt, int v)
{
        return zmq_setsockopt(s, opt, &v, sizeof(v));
}

void downlink_init(struct downlink *d, struct link_set *set, struct vtime_versions *versions)
{
        memset(d, 0, sizeof(*d));
        d->set = set;
        d->versions = versions;
}

int downlink_start(struct downlink *d, void *zctx, const struct node_keys *keys)
{
        const struct config *cfg = d->set->cfg;
        void *s;
        int64_t maxmsg = 2 * (int64_t)WIRE_MAX_MESSAGE;
        int r;

        d->started_ms = uv_now(d->set->loop);
        d->keys = keys;
        uv_timer_init(d->set->loop, &d->tick);
        d->tick.data = d;
        d->tick_init = true;
        s = zmq_socket(zctx, ZMQ_ROUTER);
        if (!s)
                return -errno;
        downlink_setopt_int(s, ZMQ_CURVE_SERVER, 1);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->curve_secret, KEYS_Z85_LEN);
        zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "downlink", 8);
        downlink_setopt_int(s, ZMQ_ROUTER_MANDATORY, 1);
        /* Past WIRE_MAX_MESSAGE we count and drop; past twice that libzmq
         * disconnects the (hostile) peer. */
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
        downlink_setopt_int(s, ZMQ_LINGER, 0);
        downlink_setopt_int(s, ZMQ_SNDHWM, 100000);
        downlink_setopt_int(s, ZMQ_RCVHWM, 100000);
        if (zmq_bind(s, cfg->downlink_endpoint) < 0) {
                r = -errno;
                zmq_close(s);
                return r;
        }
        r = zsock_init(&d->zs, d->set->loop, s, downlink_on_recv, d);
        if (r < 0) {
                zmq_close(s);
                return r;
        }
        d->open = true;
        uv_timer_start(&d->tick, downlink_on_tick, (uint64_t)cfg->heartbeat_ms,
                       (uint64_t)cfg->heartbeat_ms);
        return 0;
}

void downlink_close(struct downlink *d)
{
        int i;

        if (d->open)
                zsock_close(&d->zs, NULL);
        d->open = false;
        if (d->tick_init)
                uv_close((uv_handle_t *)&d->tick, NULL);
        d->tick_init = false;
        for (i = 0; i < d->n_children; i++) {
                link_deinit(&d->children[i]->link);
                free(d->children[i]);
        }
        free(d->children);
        d->children = NULL;
        d->n_children = 0;
}

void downlink_resync(struct downlink *d)
{
        int i;

        /* After a database reconnect nobody knows which transactions
         * committed: end every streaming session; each child's next message
         * gets "say Hello first", and both sides re-read what is stored. The
         * children stay online: the link itself never dropped. */
        for (i = 0; i < d->n_children; i++) {
                struct child *c = d->children[i];
                link_session_end(&c->link);
                c->hello_pending = false;
                c->persist_unknown = true;
        }
}

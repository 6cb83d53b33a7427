#include "control/nodectl.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "base/sqlarray.h"
#include "base/vtime.h"
#include "db/db.h"

/* --- status --- */

/* A link's counters and what waits for its peer (issue 17): gaps,
 * deltas dropped past the inbox bound, stalls; the store-and-forward
 * backlog as the last sweep counted it. */
static json_t *nodectl_link_counters(const struct link *l)
{
        return json_pack("{s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:b}}", "received", (json_int_t)l->received,
                         "duplicates", (json_int_t)l->duplicates, "gaps", (json_int_t)l->gaps, "beyond_window",
                         (json_int_t)l->beyond_window, "stalls", (json_int_t)l->stalls, "backlog", "waiting",
                         (json_int_t)l->backlog.waiting, "oldest_seconds", (json_int_t)(l->backlog.oldest_ms / 1000),
                         "alarm", l->backlog.alarm);
}

static void nodectl_status(struct control_req *q)
{
        struct nodectl *n = q->ctx;
        json_t *doc = json_object(), *children = json_array(), *counters = json_object();
        unsigned long reconnects, committed, failed;
        int i;

        json_object_set_new(doc, "id", json_string(n->d->cfg->node_id));
        json_object_set_new(doc, "tier", json_string(tier_name(n->d->cfg->tier)));
        json_object_set_new(doc, "name", json_string(n->d->cfg->name));
        json_object_set_new(doc, "version", json_string(VIGIL_VERSION));
        if (n->d->has_parent) {
                json_t *p = json_object();
                json_object_set_new(p, "id", json_string(n->d->cfg->parent_id));
                json_object_set_new(p, "online", json_boolean(uplink_online(&n->d->uplink)));
                json_object_set_new(p, "endpoint", json_string(n->d->cfg->parent_endpoint));
                if (n->d->uplink.last_error[0])
                        json_object_set_new(p, "refused", json_string(n->d->uplink.last_error));
                json_object_set_new(p, "dead_letters",
                                    json_integer((json_int_t)deadletter_watch_held(n->dead, n->d->cfg->parent_id)));
                json_object_set_new(p, "link", nodectl_link_counters(&n->d->uplink.link));
                json_object_set_new(doc, "parent", p);
        } else {
                json_object_set_new(doc, "parent", json_null());
        }
        for (i = 0; i < n->d->downlink.n_children; i++) {
                struct child *ch = n->d->downlink.children[i];
                json_t *o;
                if (ch->removed)
                        continue;
                o = json_object();
                json_object_set_new(o, "id", json_string(ch->id));
                json_object_set_new(o, "name", json_string(ch->name));
                json_object_set_new(o, "online", json_boolean(ch->connected));
                json_object_set_new(o, "applied_seq", json_integer((json_int_t)link_applied(&ch->link)));
                /* Issue 17: changes of this child held here, not applied. */
                json_object_set_new(o, "dead_letters", json_integer((json_int_t)deadletter_watch_held(n->dead, ch->id)));
                json_object_set_new(o, "link", nodectl_link_counters(&ch->link));
                json_array_append_new(children, o);
        }
        json_object_set_new(doc, "children", children);
        /* Issue 17: every dead letter held here (as last counted, at most a
         * sweep ago; `known` false before the first count). */
        json_object_set_new(doc, "dead_letters", json_pack("{s:I,s:b}", "held", (json_int_t)n->dead->held, "known",
                                                            n->dead->loaded));
        {
                /* Art 23(5): forks in children's access logs are alarms. */
                json_t *a = json_object();
                json_object_set_new(a, "alarms", json_integer((json_int_t)n->audit->alarms));
                json_object_set_new(a, "views_granted", json_integer((json_int_t)n->view->granted));
                json_object_set_new(a, "views_refused", json_integer((json_int_t)n->view->refused));
                json_object_set_new(doc, "access_log", a);
        }
        db_stats(n->d->links.db, &reconnects, &committed, &failed);
        {
                json_t *d = json_object();
                int64_t down = db_down_since_us(n->d->links.db);
                json_object_set_new(d, "connected", json_boolean(db_is_up(n->d->links.db)));
                if (down > 0) {
                        char since[40];
                        vtime_format_ms(down, since, sizeof(since));
                        json_object_set_new(d, "down_since", json_string(since));
                }
                json_object_set_new(d, "reconnects", json_integer((json_int_t)reconnects));
                json_object_set_new(d, "transactions", json_integer((json_int_t)committed));
                json_object_set_new(d, "failed", json_integer((json_int_t)failed));
                json_object_set_new(doc, "database", d);
        }
        json_object_set_new(counters, "zap_refused_downlink", json_integer((json_int_t)n->zap->refused_downlink));
        json_object_set_new(counters, "zap_refused_control", json_integer((json_int_t)n->zap->refused_control));
        json_object_set_new(counters, "downlink_malformed", json_integer((json_int_t)n->d->downlink.malformed));
        json_object_set_new(counters, "downlink_oversize", json_integer((json_int_t)n->d->downlink.oversize));
        json_object_set_new(counters, "downlink_wrong_origin", json_integer((json_int_t)n->d->downlink.wrong_origin));
        json_object_set_new(counters, "downlink_unknown_body", json_integer((json_int_t)n->d->downlink.unknown_body));
        json_object_set_new(counters, "downlink_refused_hello", json_integer((json_int_t)n->d->downlink.refused_hello));
        json_object_set_new(counters, "control_malformed", json_integer((json_int_t)q->c->malformed));
        json_object_set_new(counters, "control_oversize", json_integer((json_int_t)q->c->oversize));
        json_object_set_new(counters, "control_unknown_body", json_integer((json_int_t)q->c->unknown_body));
        json_object_set_new(counters, "control_wrong_origin", json_integer((json_int_t)q->c->wrong_origin));
        json_object_set_new(counters, "control_requests", json_integer((json_int_t)q->c->requests));
        json_object_set_new(counters, "control_withdrawn", json_integer((json_int_t)q->c->withdrawn));
        json_object_set_new(counters, "control_busy", json_integer((json_int_t)q->c->busy));
        json_object_set_new(counters, "control_refused", json_integer((json_int_t)q->c->refused));
        json_object_set_new(counters, "downlink_unenrolled", json_integer((json_int_t)n->d->downlink.unenrolled));
        json_object_set_new(counters, "uplink_malformed", json_integer((json_int_t)n->d->uplink.malformed));
        /* Signed decisions (Art 19): refused for their signature, chains refused. */
        json_object_set_new(counters, "signature_refused", json_integer((json_int_t)n->d->trust.refused));
        json_object_set_new(counters, "chain_refused", json_integer((json_int_t)n->d->uplink.chain_refused));
        json_object_set_new(doc, "counters", counters);
        {
                json_t *keys = json_array();
                for (int k = 0; k < n->d->trust.n; k++)
                        json_array_append_new(keys, json_string(n->d->trust.nodes[k].id));
                json_object_set_new(doc, "signing_keys", json_pack("{s:b,s:o}", "complete", n->d->trust.complete,
                                                                    "nodes", keys));
        }
        {
                json_t *g = stream_gate_status(n->gate);
                json_object_set_new(doc, "gate", g ? g : json_null());
        }
        json_object_set_new(doc, "uptime_s", json_integer((json_int_t)((uv_now(n->d->links.loop) - n->started_ms) / 1000)));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

/* --- tree --- */

struct tree_row {
        const char *id, *parent, *tier, *name, *last_seen;
        bool online;
};

static struct tree_row *tree_find(struct tree_row *rows, int n, const char *id)
{
        int i;

        for (i = 0; id && i < n; i++)
                if (strcmp(rows[i].id, id) == 0)
                        return &rows[i];
        return NULL;
}

/* Cameras in NODE's subtree, from per-station counts (station_id, count). */
static json_int_t nodectl_subtree_cameras(const PGresult *cams, const char *node)
{
        json_int_t sum = 0;
        int i;

        for (i = 0; cams && i < PQntuples(cams); i++)
                if (nodeid_under(PQgetvalue(cams, i, 0), node))
                        sum += strtoll(PQgetvalue(cams, i, 1), NULL, 10);
        return sum;
}

/* What `tree` says of a node (DESIGN.md "Liveness", lib/README.md). */
struct tree_liveness {
        bool online, stale;
        const char *last_seen;          /* borrowed: the row's, NOW or SEEN */
        char seen[40];
};

/* The liveness of row R: this node is online now; its own children are
 * what it observes right now; deeper nodes are last known, stale if a node
 * between them and this one is offline now (then last seen no later than
 * it was), else seen now: their parent would have said within a few beats
 * if they were gone. */
static void nodectl_liveness(struct nodectl *n, struct tree_row *rows, int nr, const struct tree_row *r,
                             const char *now, struct tree_liveness *lv)
{
        struct child *ch = downlink_find(&n->d->downlink, r->id);
        struct tree_row *a;
        int depth = 0;

        lv->online = r->online;
        lv->stale = false;
        lv->last_seen = r->last_seen;
        if (strcmp(r->id, n->d->cfg->node_id) == 0) {
                lv->online = true;
                lv->last_seen = now;
                return;
        }
        if (ch) {
                lv->online = ch->connected;
                if (ch->last_seen_us > 0) {
                        vtime_format_ms(ch->last_seen_us, lv->seen, sizeof(lv->seen));
                        lv->last_seen = lv->online ? now : lv->seen;
                }
                return;
        }
        for (a = tree_find(rows, nr, r->parent); a && depth < 8; a = tree_find(rows, nr, a->parent), depth++) {
                struct child *ac;
                if (strcmp(a->id, n->d->cfg->node_id) == 0)
                        break;
                ac = downlink_find(&n->d->downlink, a->id);
                if (ac ? ac->connected : a->online)
                        continue;
                lv->stale = true;
                if (lv->online && ac && ac->last_seen_us > 0) {
                        vtime_format_ms(ac->last_seen_us, lv->seen, sizeof(lv->seen));
                        lv->last_seen = lv->seen;
                } else if (lv->online) {
                        lv->last_seen = a->last_seen;
                }
                return;
        }
        if (lv->online)
                lv->last_seen = now;
}

static void nodectl_on_tree(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct nodectl *n = q->ctx;
        PGresult *res = db_tx_result(tx, 0), *cams = db_tx_result(tx, 1);
        struct tree_row *rows;
        json_t *doc;
        int i, nr;
        const char *under = q->arg_id[0] ? q->arg_id : NULL;
        char now[40];

        if (err) {
                control_reply(q, CONTROL_REFUSED, NULL, msg, NULL);
                free(q);
                return;
        }
        nr = PQntuples(res);
        rows = calloc(nr ? nr : 1, sizeof(*rows));
        vigil_require(rows != NULL);
        for (i = 0; i < nr; i++) {
                rows[i].id = PQgetvalue(res, i, 0);
                rows[i].parent = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
                rows[i].tier = PQgetvalue(res, i, 2);
                rows[i].name = PQgetvalue(res, i, 3);
                rows[i].online = PQgetvalue(res, i, 4)[0] == 't';
                rows[i].last_seen = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
        }
        vtime_format_ms(vtime_now_us(), now, sizeof(now));
        doc = json_array();
        for (i = 0; i < nr; i++) {
                struct tree_row *r = &rows[i];
                struct tree_liveness lv;
                json_t *o;

                if (under && !nodeid_under(r->id, under))
                        continue;
                nodectl_liveness(n, rows, nr, r, now, &lv);
                o = json_object();
                json_object_set_new(o, "id", json_string(r->id));
                json_object_set_new(o, "tier", json_string(r->tier));
                json_object_set_new(o, "name", json_string(r->name));
                json_object_set_new(o, "parent", r->parent ? json_string(r->parent) : json_null());
                json_object_set_new(o, "online", json_boolean(lv.online));
                json_object_set_new(o, "stale", json_boolean(lv.stale));
                json_object_set_new(o, "last_seen", lv.last_seen ? json_string(lv.last_seen) : json_null());
                json_object_set_new(o, "cameras", json_integer(nodectl_subtree_cameras(cams, r->id)));
                json_array_append_new(doc, o);
        }
        free(rows);
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

static void nodectl_tree(struct control_req *q)
{
        struct nodectl *n = q->ctx;
        const char *under = control_arg(q, "under");
        struct db_tx *tx;

        if (under && *under) {
                if (!nodeid_is_wellformed(under) || nodeid_tier(under) == TIER_NONE) {
                        char e[128];
                        snprintf(e, sizeof(e), "--under %s: not a node ID (20 digits, a city, district or "
                                 "station centre code)", under);
                        control_reply(q, CONTROL_USAGE, NULL, e, NULL);
                        free(q);
                        return;
                }
                snprintf(q->arg_id, sizeof(q->arg_id), "%s", under);
        }
        tx = db_tx_new();
        db_tx_add(tx, "SELECT id, parent_id, tier, name, online, "
                      "to_char(last_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') "
                      "FROM nodes ORDER BY id", 0, NULL, NULL, NULL);
        db_tx_add(tx, "SELECT station_id, count(*) FROM cameras GROUP BY station_id", 0, NULL, NULL, NULL);
        db_submit(n->d->links.db, tx, nodectl_on_tree, q);
}

/* --- node enroll --- */

static void nodectl_on_enrolled(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct nodectl *n = q->ctx;
        json_t *doc;

        (void)tx;
        if (err) {
                char e[512];
                const char *twin = strstr(msg, "centre code ");
                if (strstr(msg, "nodes_public_key_key"))
                        snprintf(e, sizeof(e), "refused: this public key is already enrolled for another node");
                else if (twin && strstr(twin, "one node per centre code"))
                        snprintf(e, sizeof(e), "refused: %.*s", (int)strcspn(twin, "\n"), twin);
                else if (strstr(msg, "nodes_one_per_centre_code"))
                        /* Another enrolment of the code committed meanwhile
                         * (schema/016's unique index; issue 17, fault 6). */
                        snprintf(e, sizeof(e), "refused: another node of centre code %.8s was enrolled meanwhile: "
                                 "one node per centre code", q->arg_id);
                else
                        snprintf(e, sizeof(e), "enrolment failed: %s", msg);
                /* Logged where refused (Art 23(5)), like every refusal. */
                free(q->data);
                control_refuse_recorded(q, "node.enroll", CONTROL_REFUSED, e, NULL);
                return;
        }
        {
                struct child *c = downlink_add_child(&n->d->downlink, q->arg_id, q->arg_name, q->arg_key);
                uint8_t sign[32];
                if (c && keys_sign_public_parse(q->data, sign) == 0)
                        downlink_set_sign_key(c, sign);
        }
        link_set_kick_parent(&n->d->links);
        log_info("control", "user=\"%s\" child=%s name=\"%s\" msg=\"child enrolled\"", q->user, q->arg_id, q->arg_name);
        doc = json_object();
        json_object_set_new(doc, "id", json_string(q->arg_id));
        json_object_set_new(doc, "name", json_string(q->arg_name));
        json_object_set_new(doc, "public_key", json_string(q->arg_key));
        json_object_set_new(doc, "sign_key", json_string(q->data));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q->data);
        free(q);
}

static void nodectl_enroll(struct control_req *q)
{
        struct nodectl *n = q->ctx;
        const char *id = control_arg(q, "id");
        const char *key = control_arg(q, "public_key");
        const char *name = control_arg(q, "name");
        const char *sign = control_arg(q, "sign_key");
        char err[512], e[600], version[24], own_sign[65];
        uint8_t sign_key[32];
        enum tier child_tier = n->d->cfg->tier + 1;
        struct child *existing;
        struct db_tx *tx;
        uint8_t *change, *removed;
        size_t len, removed_len;
        int64_t v;

        if (strncmp(q->user, "admin:", 6) != 0) {
                control_refuse_logged(q, "refused: only an admin of this node enrols nodes", NULL);
                return;
        }
        if (!id || !key || !sign || !name || !*name) {
                control_reply(q, CONTROL_USAGE, NULL, "node enroll needs ID, --public-key, --sign-key and --name",
                              NULL);
                goto out;
        }
        if (n->d->cfg->tier == TIER_STATION) {
                control_refuse_logged(q, "refused: a station has no child platforms", NULL);
                return;
        }
        if (nodeid_check_node(id, child_tier, err, sizeof(err)) < 0 ||
            nodeid_check_child(id, n->d->cfg->node_id, err, sizeof(err)) < 0) {
                snprintf(e, sizeof(e), "refused: %s", err);
                control_refuse_logged(q, e, NULL);
                return;
        }
        if (!keys_z85_valid(key)) {
                control_refuse_logged(q,
                              "refused: --public-key must be a 40-character Z85 CURVE public key "
                              "(curve.pub from `vigild keygen`)", NULL);
                return;
        }
        if (strcmp(key, n->keys->curve_public) == 0) {
                control_refuse_logged(q, "refused: that is this node's own key", NULL);
                return;
        }
        /* Signed decisions (Art 19): the child's signing key, which this
         * node certifies to the child's own descendants (lib/wire/trust.h). */
        if (keys_sign_public_parse(sign, sign_key) < 0) {
                control_refuse_logged(q,
                              "refused: --sign-key must be a 64-digit hex Ed25519 public key "
                              "(sign.pub, the second line `vigild keygen` prints)", NULL);
                return;
        }
        keys_sign_public_hex(n->keys->sign_public, own_sign);
        if (strcasecmp(sign, own_sign) == 0) {
                control_refuse_logged(q, "refused: that is this node's own signing key", NULL);
                return;
        }
        if (strlen(name) >= sizeof(q->arg_name)) {
                control_refuse_logged(q, "refused: --name is longer than 63 bytes", NULL);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        snprintf(q->arg_name, sizeof(q->arg_name), "%s", name);
        snprintf(q->arg_key, sizeof(q->arg_key), "%s", key);
        q->data = malloc(65);
        vigil_require(q->data != NULL);
        keys_sign_public_hex(sign_key, q->data);
        existing = downlink_find(&n->d->downlink, id);
        v = delivery_next_version(n->d);
        if (tree_encode_node_state(id, n->d->cfg->node_id, (int)child_tier, name,
                                      existing && existing->connected,
                                      existing ? existing->last_seen_us : 0, v, &change, &len) < 0) {
                control_reply(q, CONTROL_REFUSED, NULL, "out of memory", NULL);
                goto out;
        }
        snprintf(version, sizeof(version), "%" PRId64, v);
        /* A re-key (another key for an enrolled child) purges what came
         * through it, here and, by this NodeRemoved sent up first, above
         * (node_enroll). */
        vigil_require(tree_encode_node_removed(id, delivery_next_version(n->d), &removed, &removed_len) == 0);
        {
                const char *p[11] = { id, n->d->cfg->node_id, tier_name(child_tier), name, key, q->data, version,
                                      (const char *)change, delivery_parent_id(n->d), (const char *)removed,
                                      q->user };
                int lens[11] = { 0, 0, 0, 0, 0, 0, 0, (int)len, 0, (int)removed_len, 0 };
                int fmts[11] = { 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0 };
                tx = db_tx_new();
                db_tx_add(tx, "SELECT node_enroll($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)", 11, p, lens, fmts);
        }
        free(change);
        free(removed);
        db_submit(n->d->links.db, tx, nodectl_on_enrolled, q);
        return;
out:
        free(q->data);
        free(q);
}

/* --- node remove --- */

static void nodectl_on_removed(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct nodectl *n = q->ctx;
        const char *state = control_answer_state(q, tx, err, msg);
        json_t *doc;

        if (!state)
                return;         /* refused (and logged), Q freed */
        downlink_remove_child(&n->d->downlink, q->arg_id);
        link_set_kick_parent(&n->d->links);
        log_info("control", "user=\"%s\" child=%s msg=\"child removed\"", q->user, q->arg_id);
        doc = json_object();
        json_object_set_new(doc, "id", json_string(q->arg_id));
        json_object_set_new(doc, "state", json_string(state));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

/* node remove ID --reason TEXT: an admin of the parent (node_decommission). */
static void nodectl_remove(struct control_req *q)
{
        struct nodectl *n = q->ctx;
        const char *id = control_arg(q, "id"), *reason = control_arg(q, "reason");
        uint8_t *change;
        size_t len;
        struct db_tx *tx;

        if (strncmp(q->user, "admin:", 6) != 0) {
                control_refuse_logged(q, "refused: only an admin of this node removes its child platforms", NULL);
                return;
        }
        if (!id || !nodeid_is_wellformed(id)) {
                control_reply(q, CONTROL_USAGE, NULL, "node remove needs the child's 20-digit ID", NULL);
                free(q);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        vigil_require(tree_encode_node_removed(id, delivery_next_version(n->d), &change, &len) == 0);
        {
                const char *p[5] = { q->user, id, reason, (const char *)change, delivery_parent_id(n->d) };
                int lens[5] = { 0, 0, 0, (int)len, 0 }, fmts[5] = { 0, 0, 0, 1, 0 };
                tx = db_tx_new();
                db_tx_add(tx, "SELECT * FROM node_decommission($1, $2, $3, $4, $5)", 5, p, lens, fmts);
        }
        free(change);
        db_submit(n->d->links.db, tx, nodectl_on_removed, q);
}

/* --- link probe --- */

/* How long `link probe` waits for the parent's acks before giving up. */
#define NODECTL_PROBE_TIMEOUT_MS 300000
#define NODECTL_PROBE_MAX 10000000
#define NODECTL_PROBE_CHUNK 1000   /* probes per statement */
#define NODECTL_PROBE_TX 5000      /* probes per transaction */
#define NODECTL_PROBE_INFLIGHT 4   /* transactions written at once */

struct nodectl_probe {
        struct control_req *q;
        uv_timer_t timer;
        uint64_t last_seq;
        uint64_t started_ms, committed_ms;
        int64_t started_us;
        long count;
        long size;
        int pending_txs;
        long next_from;             /* first probe not yet written */
        uint64_t probe_id;
        bool failed;
};

static void nodectl_probe_submit(struct nodectl_probe *p);

static void nodectl_probe_closed(uv_handle_t *h)
{
        struct nodectl_probe *p = h->data;

        free(p->q);
        free(p);
}

static void nodectl_probe_poll(uv_timer_t *t)
{
        struct nodectl_probe *p = t->data;
        struct nodectl *n = p->q->ctx;
        uint64_t now = uv_now(n->d->links.loop);
        json_t *doc;
        double secs;

        if (link_acked(&n->d->uplink.link) < p->last_seq) {
                if (now - p->started_ms < NODECTL_PROBE_TIMEOUT_MS && !n->stopping)
                        return;
                control_reply(p->q, CONTROL_REFUSED, NULL, "the parent did not acknowledge the probes in time",
                              NULL);
                uv_close((uv_handle_t *)&p->timer, nodectl_probe_closed);
                return;
        }
        secs = (double)(vtime_now_us() - p->started_us) / 1e6;
        doc = json_object();
        json_object_set_new(doc, "parent", json_string(n->d->cfg->parent_id));
        json_object_set_new(doc, "count", json_integer(p->count));
        json_object_set_new(doc, "size", json_integer(p->size));
        json_object_set_new(doc, "seconds", json_real(secs));
        json_object_set_new(doc, "per_second", json_real(secs > 0 ? (double)p->count / secs : 0));
        json_object_set_new(doc, "outbox_seconds",
                            json_real((double)(p->committed_ms - p->started_ms) / 1e3));
        json_object_set_new(doc, "last_seq", json_integer((json_int_t)p->last_seq));
        control_reply(p->q, CONTROL_OK, doc, NULL, NULL);
        uv_close((uv_handle_t *)&p->timer, nodectl_probe_closed);
}

static void nodectl_on_probe_written(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct nodectl_probe *p = arg;
        struct nodectl *n = p->q->ctx;
        PGresult *last = db_tx_result(tx, db_tx_count(tx) - 1);

        p->pending_txs--;
        if (!err && !p->failed)
                nodectl_probe_submit(p);  /* keep NODECTL_PROBE_INFLIGHT going */
        if (err && !p->failed) {
                char e[600];
                snprintf(e, sizeof(e), "cannot write the probes: %s", msg);
                control_reply(p->q, CONTROL_REFUSED, NULL, e, NULL);
                p->failed = true;
        }
        if (!err) {
                uint64_t seq = strtoull(PQgetvalue(last, 0, 0), NULL, 10);
                if (seq > p->last_seq)
                        p->last_seq = seq;
                /* Stream what is committed while the rest is still written. */
                link_set_kick_parent(&n->d->links);
        }
        if (p->pending_txs > 0)
                return;
        if (p->failed) {
                free(p->q);
                free(p);
                return;
        }
        p->committed_ms = uv_now(n->d->links.loop);
        /* The statements of a big probe were large: give the memory back. */
        malloc_trim(0);
        uv_timer_init(n->d->links.loop, &p->timer);
        p->timer.data = p;
        uv_timer_start(&p->timer, nodectl_probe_poll, 1, 1);
}

/* Append one chunk of probes as a text-format bytea[] literal. */
static void nodectl_probe_chunk(struct db_tx *tx, struct nodectl *n, uint64_t probe_id, long from, long to,
                                long size, int64_t now_us)
{
        struct sqlarray arr = { .type = SQLARRAY_BYTEA };
        const char *p[2] = { n->d->cfg->parent_id };
        int lens[2] = { 0 }, fmts[2] = { 0 };
        long i;

        for (i = from; i <= to; i++) {
                uint8_t *buf;
                size_t blen;
                vigil_require(tree_encode_link_probe(n->d->cfg->node_id, probe_id, (uint64_t)i, now_us,
                                                        (size_t)size, &buf, &blen) == 0);
                sqlarray_add_bytea(&arr, buf, blen);
                free(buf);
        }
        sqlarray_param(&arr, &p[1], &lens[1], &fmts[1]);
        db_tx_add(tx, "SELECT outbox_append($1, $2::bytea[])", 2, p, lens, fmts);
        sqlarray_deinit(&arr);
}

static void nodectl_probe_submit(struct nodectl_probe *p)
{
        struct nodectl *n = p->q->ctx;
        struct db_tx *tx;
        long from, end;

        if (p->next_from > p->count)
                return;
        end = p->next_from + NODECTL_PROBE_TX - 1 < p->count ? p->next_from + NODECTL_PROBE_TX - 1 : p->count;
        tx = db_tx_new();
        for (from = p->next_from; from <= end; from += NODECTL_PROBE_CHUNK) {
                long to = from + NODECTL_PROBE_CHUNK - 1 < end ? from + NODECTL_PROBE_CHUNK - 1 : end;
                nodectl_probe_chunk(tx, n, p->probe_id, from, to, p->size, p->started_us);
        }
        p->next_from = end + 1;
        p->pending_txs++;
        db_submit(n->d->links.db, tx, nodectl_on_probe_written, p);
}

static void nodectl_link_probe(struct control_req *q)
{
        struct nodectl *n = q->ctx;
        const char *count = control_arg(q, "count"), *size = control_arg(q, "size");
        struct nodectl_probe *p;
        char *end;
        int i;

        if (strncmp(q->user, "admin:", 6) != 0) {
                control_refuse_logged(q, "refused: only an admin of this node probes its link", NULL);
                return;
        }
        if (!n->d->has_parent) {
                control_reply(q, CONTROL_REFUSED, NULL, "the city has no parent link to probe", NULL);
                free(q);
                return;
        }
        p = calloc(1, sizeof(*p));
        vigil_require(p != NULL);
        p->q = q;
        p->count = count ? strtol(count, &end, 10) : 1000;
        if (count && (*end || p->count < 1 || p->count > NODECTL_PROBE_MAX)) {
                control_reply(q, CONTROL_USAGE, NULL, "--count must be a number from 1 to 10000000", NULL);
                goto fail;
        }
        p->size = size ? strtol(size, &end, 10) : 0;
        if (size && (*end || p->size < 0 || p->size > 65536)) {
                control_reply(q, CONTROL_USAGE, NULL, "--size must be a number of bytes from 0 to 65536", NULL);
                goto fail;
        }
        p->started_ms = uv_now(n->d->links.loop);
        p->started_us = vtime_now_us();
        p->probe_id = (uint64_t)p->started_us;
        p->next_from = 1;
        /* Several transactions, a few in flight: like changes made over
         * time, the first are streamed while later ones are being written,
         * and memory stays bounded whatever the count. */
        for (i = 0; i < NODECTL_PROBE_INFLIGHT; i++)
                nodectl_probe_submit(p);
        return;
fail:
        free(p);
        free(q);
}


const struct control_command nodectl_memory_commands[] = {
        { "status", nodectl_status },
        { NULL, NULL },
};

const struct control_command nodectl_commands[] = {
        { "tree", nodectl_tree },
        { "node.enroll", nodectl_enroll },
        { "node.remove", nodectl_remove },
        { "link.probe", nodectl_link_probe },
        { NULL, NULL },
};

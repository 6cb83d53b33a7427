#include "node.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <zmq.h>

#include "base/log.h"
#include "base/vtime.h"
#include "control/auditctl.h"
#include "control/catalogctl.h"
#include "control/emergencyctl.h"
#include "db/db.h"
#include "delivery/backlog.h"
#include "db/migrate.h"
#include "features/catalog.h"

/* How long start-up waits for PostgreSQL before giving up. */
#define NODE_DB_WAIT_S 30

/* The sweep's period once the officers loaded once (before: 100 ms). */
#define NODE_SWEEP_MS 2000

/* Who KEY is now on DOMAIN's socket: a child's node ID, "admin:…" or
 * "officer:BADGE". Children by their enrolled key, admins by the keys in
 * the config, officers registered here or below (they replicate up). */
static int node_identity(struct node *node, const char *domain, const char *key, char *ret_user, size_t n)
{
        int i;

        if (strcmp(domain, "downlink") == 0) {
                struct child *c = downlink_find_key(&node->delivery.downlink, key);
                if (!c)
                        return -EACCES;
                snprintf(ret_user, n, "%s", c->id);
                return 0;
        }
        if (strcmp(domain, "control") == 0) {
                char badge[40];
                for (i = 0; i < node->cfg.n_admin_keys; i++) {
                        if (strcmp(node->cfg.admin_keys[i], key) == 0) {
                                snprintf(ret_user, n, "admin:%.8s", key);
                                return 0;
                        }
                }
                if (officer_lookup(&node->officers, key, badge, sizeof(badge)) == 0) {
                        snprintf(ret_user, n, "officer:%s", badge);
                        return 0;
                }
        }
        return -EACCES;
}

/* ZAP: who may connect. The connection's User-Id is the key itself, not
 * who it belonged to then: each message is attributed by node_identity()
 * as it arrives, so a key re-enrolled, a node removed or an officer made
 * inactive is refused on a connection already open, not only on the next. */
static int node_zap_lookup(void *arg, const char *domain, const char *key, char *ret_user, size_t n)
{
        char who[128];
        int r = node_identity(arg, domain, key, who, sizeof(who));

        if (r == 0)
                snprintf(ret_user, n, "%s", key);
        return r;
}

/* The control socket's: who a request's key is now, with the roles and
 * unit the policy decides by (control/policy.c). An admin's unit is this
 * node; an officer's roles are officer_roles_of's. */
static int node_control_identify(void *arg, const char *key, struct control_who *ret)
{
        struct node *node = arg;

        if (node_identity(node, "control", key, ret->user, sizeof(ret->user)) < 0)
                return -EACCES;
        if (strncmp(ret->user, "officer:", 8) == 0) {
                const char *unit = officer_unit_of(&node->officers, ret->user + 8);
                ret->roles = officer_roles_of(&node->officers, ret->user + 8);
                snprintf(ret->unit, sizeof(ret->unit), "%s", unit ? unit : "");
        } else {
                ret->roles = POLICY_ADMIN;
                snprintf(ret->unit, sizeof(ret->unit), "%s", node->cfg.node_id);
        }
        return 0;
}

/* PostgreSQL notices ("relation exists, skipping") go to our log, in logfmt. */
static void node_pg_notice(void *arg, const char *message)
{
        (void)arg;
        log_debug("db", "msg=\"PostgreSQL notice\" notice=\"%.*s\"", (int)strcspn(message, "\n"), message);
}

/* Connect to CONNINFO, waiting for PostgreSQL; an error names it as SHOWN
 * (the owner's conninfo may hold a password: it is not printed). */
static PGconn *node_connect_blocking(const char *conninfo, const char *shown, char *err, size_t errlen)
{
        PGconn *c = NULL;
        int i;

        for (i = 0; i < NODE_DB_WAIT_S * 2; i++) {
                c = PQconnectdb(conninfo);
                if (PQstatus(c) == CONNECTION_OK) {
                        PQsetNoticeProcessor(c, node_pg_notice, NULL);
                        return c;
                }
                if (i == 0)
                        log_warn("db", "msg=\"waiting for PostgreSQL\" reason=\"%.*s\"",
                                 (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
                if (i + 1 < NODE_DB_WAIT_S * 2) {
                        PQfinish(c);
                        usleep(500 * 1000);
                }
        }
        snprintf(err, errlen, "cannot connect to PostgreSQL (%s): %.*s", shown,
                 (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
        PQfinish(c);
        return NULL;
}

static int node_exec(PGconn *c, PGresult **ret, char *err, size_t errlen, const char *sql,
                     int nparams, const char *const *params)
{
        PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);

        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
                snprintf(err, errlen, "%.*s", (int)strcspn(PQresultErrorMessage(r), "\n"),
                         PQresultErrorMessage(r));
                PQclear(r);
                return -EIO;
        }
        if (ret)
                *ret = r;
        else
                PQclear(r);
        return 0;
}

/* The chain of signing keys kept when the parent last sent it, checked
 * again from [parent] root_sign_key (which may have changed since): a
 * node restarted while its parent is away knows whose decisions to take. */
static int node_load_chain(struct node *n, PGconn *c, char *err, size_t errlen)
{
        Vigil__NodeCert certs[TRUST_MAX], *chain[TRUST_MAX];
        uint8_t keys[TRUST_MAX][32], sigs[TRUST_MAX][64];
        char e[512];
        PGresult *r;
        size_t bin;
        int i, nr, ret;

        if (n->cfg.tier == TIER_CITY)
                return 0;
        ret = node_exec(c, &r, e, sizeof(e),
                        "SELECT node_id, encode(sign_key, 'hex'), signer, encode(signature, 'hex') "
                        "FROM trust_chain ORDER BY position", 0, NULL);
        if (ret < 0) {
                snprintf(err, errlen, "cannot read the chain of signing keys: %s", e);
                return ret;
        }
        nr = PQntuples(r);
        for (i = 0; i < nr && i < TRUST_MAX; i++) {
                vigil__node_cert__init(&certs[i]);
                certs[i].node_id = PQgetvalue(r, i, 0);
                certs[i].signer = PQgetvalue(r, i, 2);
                if (sodium_hex2bin(keys[i], 32, PQgetvalue(r, i, 1), strlen(PQgetvalue(r, i, 1)), NULL, &bin,
                                   NULL) != 0 || bin != 32 ||
                    sodium_hex2bin(sigs[i], 64, PQgetvalue(r, i, 3), strlen(PQgetvalue(r, i, 3)), NULL, &bin,
                                   NULL) != 0 || bin != 64)
                        break;
                certs[i].has_sign_key = certs[i].has_signature = 1;
                certs[i].sign_key = (ProtobufCBinaryData){ 32, keys[i] };
                certs[i].signature = (ProtobufCBinaryData){ 64, sigs[i] };
                chain[i] = &certs[i];
        }
        if (nr > 0 && trust_accept(&n->delivery.trust, chain, (size_t)i, e, sizeof(e)) < 0)
                log_warn("node", "msg=\"the chain of signing keys kept does not check; waiting for the parent's\" "
                         "reason=\"%s\"", e);
        else if (nr > 0)
                log_info("node", "msg=\"chain of signing keys loaded\" nodes=%d", nr);
        else
                log_info("node", "msg=\"no chain of signing keys yet: decisions from above are refused until the parent sends one\"");
        PQclear(r);
        return 0;
}

/* Start-up, blocking: schema, this node's own row, its epoch and children. */

/* Versions at start (issue 17, faults 3 and 4): above what the database
 * and the versions file beside the keys say was issued, the mark reserved
 * in the database before anything stamps one in SQL. A database behind
 * the file was restored from a backup: this node begins a new epoch here,
 * before any link (every peer gets a snapshot, and none trusts sequence
 * numbers used again), its own rows restamped above the lost changes. */
static int node_start_versions(struct node *n, PGconn *c, int64_t stored, char *err, size_t errlen)
{
        bool restored;
        int64_t mark = delivery_versions_start(&n->delivery, stored, &restored);
        char v[24], e[256];
        const char *p[1] = { v };
        PGresult *r;
        int ret;

        snprintf(v, sizeof(v), "%" PRId64, mark);
        ret = node_exec(c, &r, e, sizeof(e), "SELECT version_reserve($1)", 1, p);
        if (ret < 0) {
                snprintf(err, errlen, "cannot move the version clock up: %s", e);
                return ret;
        }
        PQclear(r);
        if (!restored)
                return 0;
        ret = node_exec(c, &r, e, sizeof(e), "UPDATE node_settings SET value = gen_random_uuid()::text "
                        "WHERE key = 'epoch' RETURNING value, catalog_restamp_own()", 0, NULL);
        if (ret < 0 || PQntuples(r) != 1) {
                snprintf(err, errlen, "cannot begin a new epoch after a restore: %s", ret < 0 ? e : "no epoch");
                if (ret == 0)
                        PQclear(r);
                return -EIO;
        }
        snprintf(n->epoch, sizeof(n->epoch), "%s", PQgetvalue(r, 0, 0));
        vtime_versions_seed(&n->delivery.versions, strtoll(PQgetvalue(r, 0, 1), NULL, 10));
        log_warn("node", "epoch=%s msg=\"new epoch after a restore: every peer gets a snapshot\"", n->epoch);
        PQclear(r);
        return 0;
}

static int node_load(struct node *n, char *err, size_t errlen)
{
        char e[512];
        PGconn *c = node_connect_blocking(n->cfg.conninfo, n->cfg.conninfo, err, errlen);
        PGresult *r;
        uint8_t sign[32];
        int i, ret;

        if (!c)
                return -EIO;
        /* The daemon never migrates: it could not (it is not the owner),
         * and a schema older or newer than this binary is refused here
         * rather than half-working (Art 23(5): its log's guards are in it). */
        ret = migrate_check(c, e, sizeof(e));
        if (ret < 0) {
                snprintf(err, errlen, "%s", e);
                goto out;
        }
        {
                const char *p[4] = { n->cfg.node_id, delivery_parent_id(&n->delivery),
                                     tier_name(n->cfg.tier), n->cfg.name };
                ret = node_exec(c, NULL, e, sizeof(e),
                                "INSERT INTO nodes (id, parent_id, tier, name, online, last_seen) "
                                "VALUES ($1, $2, $3, $4, true, now()) ON CONFLICT (id) DO UPDATE SET "
                                "parent_id = $2, tier = $3, name = $4, online = true, last_seen = now(), via = NULL",
                                4, p);
                if (ret < 0) {
                        snprintf(err, errlen, "cannot record this node: %s", e);
                        goto out;
                }
        }
        /* A database belongs to one node: refuse to run another on it. */
        {
                const char *p[1] = { n->cfg.node_id };
                ret = node_exec(c, &r, e, sizeof(e),
                                "INSERT INTO node_settings (key, value) VALUES ('node_id', $1) "
                                "ON CONFLICT (key) DO UPDATE SET value = node_settings.value RETURNING value",
                                1, p);
                if (ret < 0) {
                        snprintf(err, errlen, "cannot record this node's ID: %s", e);
                        goto out;
                }
                if (strcmp(PQgetvalue(r, 0, 0), n->cfg.node_id) != 0) {
                        snprintf(err, errlen, "[database] conninfo: this database belongs to node %s, not %s",
                                 PQgetvalue(r, 0, 0), n->cfg.node_id);
                        PQclear(r);
                        ret = -EINVAL;
                        goto out;
                }
                PQclear(r);
        }
        ret = node_exec(c, &r, e, sizeof(e), "SELECT value FROM node_settings WHERE key = 'epoch'", 0, NULL);
        if (ret < 0 || PQntuples(r) != 1) {
                snprintf(err, errlen, "cannot read the outbox epoch: %s", ret < 0 ? e : "missing");
                if (ret == 0)
                        PQclear(r);
                ret = -EIO;
                goto out;
        }
        snprintf(n->epoch, sizeof(n->epoch), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        /* Versions go on above what this node issued before it stopped,
         * whatever the clock says now (issue 17, fault 4). */
        ret = node_exec(c, &r, e, sizeof(e), "SELECT coalesce((SELECT last FROM version_clock), 0)", 0, NULL);
        if (ret < 0) {
                snprintf(err, errlen, "cannot read the version clock: %s", e);
                goto out;
        }
        ret = node_start_versions(n, c, strtoll(PQgetvalue(r, 0, 0), NULL, 10), err, errlen);
        PQclear(r);
        if (ret < 0)
                goto out;
        {
                const char *p[1] = { n->cfg.node_id };
                ret = node_exec(c, &r, e, sizeof(e),
                                "SELECT id, name, public_key, online, "
                                "coalesce((extract(epoch FROM last_seen) * 1000000)::bigint, 0), sign_key FROM nodes "
                                "WHERE parent_id = $1 AND public_key IS NOT NULL ORDER BY id", 1, p);
        }
        if (ret < 0) {
                snprintf(err, errlen, "cannot read enrolled children: %s", e);
                goto out;
        }
        for (i = 0; i < PQntuples(r); i++) {
                struct child *ch = downlink_add_child(&n->delivery.downlink, PQgetvalue(r, i, 0),
                                                      PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
                if (ch) {
                        ch->online_persisted = PQgetvalue(r, i, 3)[0] == 't';
                        /* Last seen before this start: kept if it does not return. */
                        ch->last_seen_us = strtoll(PQgetvalue(r, i, 4), NULL, 10);
                        if (!PQgetisnull(r, i, 5) && keys_sign_public_parse(PQgetvalue(r, i, 5), sign) == 0)
                                downlink_set_sign_key(ch, sign);
                }
        }
        log_info("node", "msg=\"loaded\" children=%d epoch=%s", PQntuples(r), n->epoch);
        PQclear(r);
        ret = node_load_chain(n, c, err, errlen);
        if (ret < 0)
                goto out;
        ret = 0;
out:
        PQfinish(c);
        return ret;
}

/* Append KEY='VALUE' to BUF (a conninfo string), quoted as libpq reads it. */
static void node_conninfo_add(char *buf, size_t len, const char *key, const char *value)
{
        size_t at = strlen(buf);
        const char *v;

        at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s='", at ? " " : "", key);
        for (v = value; *v && at + 2 < len; v++) {
                if (*v == '\'' || *v == '\\')
                        buf[at++] = '\\';
                buf[at++] = *v;
        }
        if (at + 1 < len) {
                buf[at++] = '\'';
                buf[at] = '\0';
        }
}

/* The owner's conninfo: where [database] conninfo points (host, port,
 * dbname, ...), as whom OWNER says. The daemon's own credentials are never
 * the owner's. */
static int node_owner_conninfo(const char *daemon, const char *owner, char *buf, size_t len, char *ret_user,
                               size_t userlen, char *err, size_t errlen)
{
        PQconninfoOption *d = NULL, *o = NULL, *x, *y;
        char *msg = NULL;
        int ret = -EINVAL;

        buf[0] = ret_user[0] = '\0';
        d = PQconninfoParse(daemon, &msg);
        if (!d) {
                snprintf(err, errlen, "[database] conninfo: %s", msg ? msg : "cannot be parsed");
                goto out;
        }
        o = PQconninfoParse(owner, &msg);
        if (!o) {
                snprintf(err, errlen, "the owner's conninfo: %s", msg ? msg : "cannot be parsed");
                goto out;
        }
        for (x = d; x->keyword; x++) {
                if (strcmp(x->keyword, "user") == 0 && x->val)
                        snprintf(ret_user, userlen, "%s", x->val);
                if (!x->val || strcmp(x->keyword, "user") == 0 || strcmp(x->keyword, "password") == 0 ||
                    strcmp(x->keyword, "passfile") == 0)
                        continue;
                for (y = o; y->keyword && strcmp(y->keyword, x->keyword) != 0; y++)
                        ;
                if (!y->keyword || !y->val)
                        node_conninfo_add(buf, len, x->keyword, x->val);
        }
        for (y = o; y->keyword; y++)
                if (y->val)
                        node_conninfo_add(buf, len, y->keyword, y->val);
        if (!ret_user[0]) {
                snprintf(err, errlen, "[database] conninfo names no user: name the daemon's own role "
                                      "(user=...), which vigild migrate creates");
                goto out;
        }
        ret = 0;
out:
        PQfreemem(msg);
        PQconninfoFree(d);
        PQconninfoFree(o);
        return ret;
}

int node_migrate(const struct config *cfg, const char *owner_conninfo, int *ret_applied, char *err, size_t errlen)
{
        char ci[2048], role[128], e[768];
        PGconn *c;
        int r;

        if (node_owner_conninfo(cfg->conninfo, owner_conninfo, ci, sizeof(ci), role, sizeof(role), err, errlen) < 0)
                return -EINVAL;
        c = node_connect_blocking(ci, "the owner's conninfo", e, sizeof(e));
        if (!c) {
                snprintf(err, errlen, "as the owner: %s", e);
                return -EIO;
        }
        r = migrate_apply(c, ret_applied, e, sizeof(e));
        if (r < 0) {
                snprintf(err, errlen, "schema migration failed: %s", e);
                PQfinish(c);
                return r;
        }
        r = migrate_daemon_role(c, role, e, sizeof(e));
        PQfinish(c);
        if (r < 0) {
                snprintf(err, errlen, "%s", e);
                return r;
        }
        /* What the daemon will find: it can log in, and is fit. */
        c = PQconnectdb(cfg->conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
                /* Not necessarily wrong: migrate may run as another user
                 * than the daemon (systemd's ExecStartPre=+), without the
                 * daemon's password. The daemon checks at its start. */
                log_warn("db", "role=%s msg=\"migrated; could not log in as the daemon's role to check it "
                               "(vigild checks at start)\" reason=\"%.*s\"",
                         role, (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
                PQfinish(c);
                return 0;
        }
        r = migrate_check(c, e, sizeof(e));
        PQfinish(c);
        if (r < 0)
                snprintf(err, errlen, "migrated, but: %s", e);
        return r;
}

int node_check(const struct config *cfg, char *err, size_t errlen)
{
        struct node_keys keys;
        PGconn *c;

        if (sodium_init() < 0) {
                snprintf(err, errlen, "libsodium failed to initialise");
                return -EIO;
        }
        if (keys_load(cfg->key_dir, &keys, err, errlen) < 0)
                return -EINVAL;
        sodium_memzero(&keys, sizeof(keys));
        c = PQconnectdb(cfg->conninfo);
        if (PQstatus(c) != CONNECTION_OK) {
                snprintf(err, errlen, "[database] conninfo: cannot connect to PostgreSQL: %.*s",
                         (int)strcspn(PQerrorMessage(c), "\n"), PQerrorMessage(c));
                PQfinish(c);
                return -EIO;
        }
        PQfinish(c);
        return 0;
}

/* The sweep: what a crash or a lost connection left undone is retried
 * (decisions and orders not yet sent, the access log not yet forwarded, a
 * checkpoint due, alarms to log, orders to act on), and the officers this
 * node admits reloaded (they also arrive from children). */
static void node_on_sweep(uv_timer_t *t)
{
        struct node *n = t->data;

        officer_reload(&n->officers);
        grant_dispatch(&n->grant);
        conferral_dispatch(&n->conferral);
        audit_forward(&n->audit);
        backlog_sweep(&n->delivery);
        audit_checkpoint(&n->audit);
        audit_check_alarms(&n->audit);
        emergency_dispatch(&n->emergency);
        emergency_act(&n->emergency);
        deadletter_watch_poll(&n->dead);
}

/* Officers are about to change (a transaction is being submitted): sweep,
 * and so reload them, on the next turn of the loop, after the caller has
 * submitted the transaction that changes them (the reload is queued
 * behind it on the one connection). */
static void node_on_officers_changed(void *arg)
{
        struct node *n = arg;

        if (n->sweep_init && !n->stopping)
                uv_timer_start(&n->sweep, node_on_sweep, 0, NODE_SWEEP_MS);
}

/* Loaded: from now on a slower sweep is enough. */
static void node_on_officers_loaded(void *arg)
{
        struct node *n = arg;

        if (n->sweep_init)
                uv_timer_set_repeat(&n->sweep, NODE_SWEEP_MS);
}

int node_init(struct node *n, uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen)
{
        memset(n, 0, sizeof(*n));
        n->cfg = *cfg;
        n->loop = loop;
        if (sodium_init() < 0) {
                snprintf(err, errlen, "libsodium failed to initialise");
                return -EIO;
        }
        if (keys_load(cfg->key_dir, &n->keys, err, errlen) < 0)
                return -EINVAL;
        /* Delivery first (it registers the tree's own kinds), then the
         * features in the order their snapshot sections go out: the
         * catalog, the officers, the grants, the orders. */
        delivery_init(&n->delivery, loop, &n->cfg);
        {
                /* Signed decisions: the city's key is the root (its own at the city). */
                uint8_t root[32];
                bool has_root = cfg->tier != TIER_CITY && keys_sign_public_parse(cfg->root_sign_key, root) == 0;
                if (cfg->tier != TIER_CITY && !has_root) {
                        snprintf(err, errlen, "[parent] root_sign_key: not a 64-digit hex Ed25519 public key");
                        return -EINVAL;
                }
                trust_init(&n->delivery.trust, cfg->node_id, n->keys.sign_public, has_root ? root : NULL);
        }
        node_register(n);
        return node_load(n, err, errlen);
}

void node_register(struct node *n)
{
        struct officer_hooks hooks = { node_on_officers_changed, node_on_officers_loaded, n };

        catalog_register(&n->delivery);
        officer_init(&n->officers, &n->delivery, &hooks);
        grant_init(&n->grant, &n->delivery, &n->keys);
        conferral_init(&n->conferral, &n->delivery, &n->keys, node_on_officers_changed, n);
        audit_init(&n->audit, &n->delivery, &n->keys);
        emergency_init(&n->emergency, &n->delivery, &n->audit, &n->keys);
}

static void node_db_up(void *arg)
{
        struct node *n = arg;

        /* Whatever was in flight when the connection died may or may not have
         * committed: every link re-reads its position (DESIGN.md "Delivery"). */
        delivery_db_up(&n->delivery);
}
static void node_on_signal(uv_signal_t *h, int signum)
{
        struct node *n = h->data;

        if (signum == SIGHUP) {
                log_reopen();
                log_info("node", "msg=\"log reopened\"");
                return;
        }
        log_info("node", "msg=\"stopping\" signal=%d", signum);
        node_stop(n);
}

int node_start(struct node *n, char *err, size_t errlen)
{
        struct db_events ev = { .up = node_db_up, .down = NULL, .arg = n };
        int r;

        n->started_ms = uv_now(n->loop);
        uv_signal_init(n->loop, &n->sigterm);
        uv_signal_init(n->loop, &n->sigint);
        uv_signal_init(n->loop, &n->sighup);
        n->sigterm.data = n->sigint.data = n->sighup.data = n;
        n->signals_init = true;
        n->zctx = zmq_ctx_new();
        if (!n->zctx) {
                snprintf(err, errlen, "cannot create a ZeroMQ context");
                return -EIO;
        }
        /* The ZAP handler must exist before any CURVE server socket, or
         * libzmq admits every key (NOTES.md). */
        r = zap_init(&n->zap, n->zctx, n->loop, node_zap_lookup, n);
        if (r < 0) {
                snprintf(err, errlen, "cannot start the ZAP handler: %s", zmq_strerror(-r));
                return r;
        }
        n->zap_init = true;
        /* The daemon's login role is a member of vigil_writer and of
         * nothing else (schema/README.md "Roles"; node_load checked it):
         * no SET ROLE here, which RESET ROLE would undo. */
        {
                struct db_events quiet = { 0 };
                const char *ci = n->cfg.conninfo;
                n->db = db_new(n->loop, ci, &ev);
                /* A second connection reads and trims the outboxes, so that
                 * sending runs beside applying instead of queueing behind it
                 * (a district forwarding a million cameras while applying
                 * them). It only sees committed rows, as the links need. */
                n->db_read = db_new(n->loop, ci, &quiet);
        }
        if (!n->db) {
                snprintf(err, errlen, "out of memory");
                return -ENOMEM;
        }
        db_start(n->db);
        if (n->db_read)
                db_start(n->db_read);
        delivery_set_db(&n->delivery, n->db, n->db_read, n->epoch);
        deadletter_watch_init(&n->dead, n->db);
        /* Every 100 ms until the database has answered once. */
        uv_timer_init(n->loop, &n->sweep);
        n->sweep.data = n;
        n->sweep_init = true;
        uv_timer_start(&n->sweep, node_on_sweep, 0, 100);
        r = view_init(&n->view, &n->delivery, &n->keys, &n->audit);
        if (r < 0) {
                snprintf(err, errlen, "cannot start the view timer: %s", uv_strerror(r));
                return r;
        }
        r = stream_gate_start(&n->gate, n->loop, &n->cfg, &n->keys, &n->audit, n->db, err, errlen);
        if (r < 0)
                return r;
        r = control_init(&n->control, n->loop, n->zctx, &n->keys, n->cfg.control_endpoint, n->cfg.node_id, n->db,
                         node_control_identify, n);
        if (r < 0) {
                snprintf(err, errlen, "cannot bind the control socket on %s: %s", n->cfg.control_endpoint,
                         zmq_strerror(-r));
                return r;
        }
        n->nodectl = (struct nodectl){ .d = &n->delivery, .keys = &n->keys, .zap = &n->zap, .control = &n->control,
                                       .audit = &n->audit, .view = &n->view, .gate = &n->gate,
                                       .dead = &n->dead, .started_ms = n->started_ms };
        n->deadletterctl = (struct deadletterctl){ .d = &n->delivery, .watch = &n->dead };
        n->accessctl = (struct accessctl){ .d = &n->delivery, .officers = &n->officers, .grant = &n->grant,
                                           .conferral = &n->conferral, .audit = &n->audit };
        n->viewctl = (struct viewctl){ .view = &n->view, .officers = &n->officers };
        control_add_from_memory(&n->control, nodectl_memory_commands, &n->nodectl);
        control_add(&n->control, nodectl_commands, &n->nodectl);
        control_add(&n->control, catalogctl_commands, &n->delivery);
        control_add(&n->control, accessctl_commands, &n->accessctl);
        control_add(&n->control, auditctl_commands, &n->delivery);
        control_add(&n->control, viewctl_commands, &n->viewctl);
        control_add(&n->control, emergencyctl_commands, &n->emergency);
        control_add(&n->control, deadletterctl_commands, &n->deadletterctl);
        /* Bind the downlink, connect the uplink. */
        r = delivery_start(&n->delivery, n->zctx, &n->keys, err, errlen);
        if (r < 0)
                return r;
        uv_signal_start(&n->sigterm, node_on_signal, SIGTERM);
        uv_signal_start(&n->sigint, node_on_signal, SIGINT);
        uv_signal_start(&n->sighup, node_on_signal, SIGHUP);
        log_info("node", "id=%s tier=%s name=%s control=%s downlink=%s parent=%s msg=\"started\"",
                 n->cfg.node_id, tier_name(n->cfg.tier), n->cfg.name, n->cfg.control_endpoint,
                 n->delivery.has_children ? n->cfg.downlink_endpoint : "-",
                 n->delivery.has_parent ? n->cfg.parent_endpoint : "-");
        return 0;
}

void node_stop(struct node *n)
{
        if (n->stopping)
                return;
        n->stopping = true;
        n->nodectl.stopping = true;
        /* Probes in flight end first (cancelled): they report nothing. */
        emergency_close(&n->emergency);
        /* The gate's sessions end, their records submitted (and
         * cancelled with the database, below, if it cannot take them in
         * time: the open record stands; README "The stream gate"). */
        stream_gate_stop(&n->gate);
        stream_gate_forget_db(&n->gate);
        /* The databases first: their transactions in flight end now (with
         * -ECANCELED), while the links, requests and sockets their
         * callbacks point at still exist. Both pointers stay until both
         * are closed, so a callback of one may still look at the other. */
        db_free(n->db);
        db_free(n->db_read);
        /* Close only what node_start got to: a failed bind stops half-way. */
        delivery_close(&n->delivery);
        control_close(&n->control);
        if (n->sweep_init)
                uv_close((uv_handle_t *)&n->sweep, NULL);
        n->sweep_init = false;
        officer_close(&n->officers);
        view_close(&n->view);
        if (n->zap_init)
                zap_close(&n->zap);
        n->db = NULL;
        n->db_read = NULL;
        if (n->signals_init) {
                uv_close((uv_handle_t *)&n->sigterm, NULL);
                uv_close((uv_handle_t *)&n->sigint, NULL);
                uv_close((uv_handle_t *)&n->sighup, NULL);
        }
}

void node_deinit(struct node *n)
{
        if (n->zctx)
                zmq_ctx_term(n->zctx);
        n->zctx = NULL;
}

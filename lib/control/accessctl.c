#include "control/accessctl.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/ids.h"
#include "base/keys.h"
#include "base/log.h"
#include "base/nodeid.h"
#include "base/sqlarray.h"
#include "base/vtime.h"
#include "db/db.h"

/* --- helpers --- */

/* The actor written to the access log: the badge, or the admin key. */
static const char *accessctl_actor(const struct control_req *q)
{
        const char *b = control_badge(q);

        return b ? b : q->user;
}

static void accessctl_on_refusal_logged(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct accessctl *a = arg;

        (void)tx;
        if (err)
                log_warn("access", "msg=\"cannot log a refusal\" reason=\"%s\"", msg);
        else
                audit_forward(a->audit);
}

/* Refuse Q with MESSAGE (citing ARTICLE, may be NULL) and log the refusal
 * of ACTION here (Art 23(5): an attempt refused before it reached the
 * schema is a record too), then free Q. REQUEST names the request, if any. */
static void accessctl_refuse(struct control_req *q, const char *action, const char *article, const char *message,
                             const char *request)
{
        struct accessctl *a = q->ctx;
        const char *p[5] = { accessctl_actor(q), action, article, message, request };
        struct db_tx *tx = db_tx_new();
        char m[400];

        db_tx_add(tx, "SELECT access_refuse($1, $2, $3, $4, $5)", 5, p, NULL, NULL);
        db_submit(a->d->links.db, tx, accessctl_on_refusal_logged, a);
        snprintf(m, sizeof(m), "refused: %s", message);
        control_refuse(q, m, article);
}

int accessctl_parse_time(const char *option, const char *s, int64_t now_us, int64_t *ret, char *err,
                         size_t errlen)
{
        char v[64];
        int r = vtime_parse(s, now_us, ret);

        if (r == 0)
                return 0;
        /* The value is the operator's: shown cut short and escaped. */
        log_escape(v, sizeof(v), s ? s : "");
        if (r == -ERANGE)
                snprintf(err, errlen, "%s %s: out of range (a time lies between 1970-01-01 and 9999-12-31)",
                         option, v);
        else
                snprintf(err, errlen, "%s %s: not a time (YYYY-MM-DDTHH:MM:SSZ, or 30m, 8h, 7d from now)",
                         option, v);
        return r;
}

/* Reply {"id","state"} to an access_answer (statement 0 of TX). */
static void accessctl_answer(struct control_req *q, struct db_tx *tx, int err, const char *msg)
{
        const char *state = control_answer_state(q, tx, err, msg);
        json_t *doc;

        if (!state)
                return;
        doc = json_object();
        json_object_set_new(doc, "id", json_string(q->arg_id));
        json_object_set_new(doc, "state", json_string(state));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

static void accessctl_on_answer(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct accessctl *a = q->ctx;

        accessctl_answer(q, tx, err, msg);
        /* An approval or a revocation goes down to the cameras' stations;
         * the log of it, up. */
        grant_dispatch(a->grant);
        audit_forward(a->audit);
}

/* --- officers and delegations --- */

static void accessctl_on_registered(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct accessctl *a = q->ctx;

        if (!err)
                link_set_kick_parent(&a->d->links);
        officer_reload(a->officers);  /* the new officer may log in at once */
        accessctl_answer(q, tx, err, msg);
}

static void accessctl_officer_add(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        const char *badge = control_arg(q, "badge"), *name = control_arg(q, "name");
        const char *cred = control_arg(q, "credential"), *roles = control_arg(q, "roles");
        const char *key = control_arg(q, "public_key");
        struct sqlarray ra = { 0 };
        const char *p[9];
        int lens[9] = { 0 }, fmts[9] = { 0 };
        char version[24];
        uint8_t *buf;
        size_t len;
        int64_t v;
        struct db_tx *tx;

        if (!control_is_admin(q)) {
                accessctl_refuse(q, "officer.add", NULL, "only an admin of this node registers its officers", NULL);
                return;
        }
        if (!badge || !name || !roles || !key) {
                control_reply(q, CONTROL_USAGE, NULL, "officer add needs --badge, --name, --credential, --roles and "
                              "--public-key (or --identity FILE)", NULL);
                free(q);
                return;
        }
        if (!keys_z85_valid(key)) {
                control_refuse(q, "the public key is not a 40-character Z85 CURVE key", NULL);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", badge);
        v = delivery_next_version(a->d);
        snprintf(version, sizeof(version), "%" PRId64, v);
        vigil_require(officer_encode(badge, name, a->d->cfg->node_id, cred ? cred : "", roles, key, true, v, false,
                                     &buf, &len) == 0);
        control_args(q, "roles", &ra);
        p[0] = accessctl_actor(q);
        p[1] = badge;
        p[2] = name;
        p[3] = cred;
        sqlarray_param(&ra, &p[4], &lens[4], &fmts[4]);
        p[5] = key;
        p[6] = version;
        p[7] = (const char *)buf;
        lens[7] = (int)len;
        fmts[7] = 1;
        p[8] = delivery_parent_id(a->d);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT * FROM officer_register($1, $2, $3, $4, $5::text[], $6, $7, $8, $9)", 9, p, lens,
                  fmts);
        sqlarray_deinit(&ra);
        free(buf);
        db_submit(a->d->links.db, tx, accessctl_on_registered, q);
}

/* A listing's three parameters, what the policy let the caller see
 * (control/policy.c): the reach ('all', 'unit', 'own'), the caller's badge
 * (NULL: an admin), and their unit's prefix. Filtered here, in the SQL:
 * what a caller may not see never leaves the database. */
static void accessctl_reach(const struct control_req *q, const char **p, char *prefix)
{
        p[0] = control_reach(q);
        p[1] = control_badge(q);
        p[2] = control_unit_prefix(q, prefix);
}

/* officer.list: all (auditors, principals of here or above), or for an
 * admin the officers registered here (via NULL), those it manages. */
static void accessctl_officer_list(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        struct db_tx *tx = db_tx_new();
        const char *p[3];
        char prefix[16];

        accessctl_reach(q, p, prefix);
        db_tx_add(tx, "SELECT json_agg(json_build_object('badge', badge, 'name', name, 'unit', unit, "
                      "'credential', credential, 'roles', roles, 'active', active, 'public_key', public_key) "
                      "ORDER BY unit, badge)::text FROM officers WHERE $1 = 'all' "
                      "OR ($1 = 'unit' AND unit LIKE $3 || '%') "
                      "OR ($1 = 'own' AND (badge = $2 OR ($2 IS NULL AND via IS NULL)))", 3, p, NULL, NULL);
        db_submit(a->d->links.db, tx, control_on_json_row, q);
}

static void accessctl_delegation_add(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        const char *badge = control_badge(q), *deputy = control_arg(q, "deputy");
        int64_t now = vtime_now_us(), from = now, until;
        char id[32], version[24], fs[32], us[32], max[32], m[200];
        const char *p[9];
        int lens[9] = { 0 }, fmts[9] = { 0 };
        uint8_t *buf;
        size_t len;
        int64_t v;
        struct db_tx *tx;

        if (!badge) {
                accessctl_refuse(q, "delegate", "Art 19", "Art 19: a principal delegates, as themselves (--as)",
                                 NULL);
                return;
        }
        if (!deputy || !control_arg(q, "until")) {
                accessctl_refuse(q, "delegate", NULL, "delegation add needs --deputy BADGE and --until "
                                 "(YYYY-MM-DDTHH:MM:SSZ, or 8h, 7d), optionally --from", NULL);
                return;
        }
        if (accessctl_parse_time("--until", control_arg(q, "until"), now, &until, m, sizeof(m)) < 0 ||
            (control_arg(q, "from") && accessctl_parse_time("--from", control_arg(q, "from"), now, &from, m,
                                                            sizeof(m)) < 0)) {
                accessctl_refuse(q, "delegate", NULL, m, NULL);
                return;
        }
        ids_new("dlg", id, sizeof(id));
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        v = delivery_next_version(a->d);
        snprintf(version, sizeof(version), "%" PRId64, v);
        snprintf(fs, sizeof(fs), "%.6f", (double)from / 1e6);
        snprintf(us, sizeof(us), "%.6f", (double)until / 1e6);
        vigil_require(officer_delegation_encode(id, a->d->cfg->node_id, badge, deputy, from, until, false, v, &buf, &len) == 0);
        p[0] = id;
        p[1] = badge;
        p[2] = deputy;
        p[3] = fs;
        p[4] = us;
        p[5] = version;
        p[6] = (const char *)buf;
        lens[6] = (int)len;
        fmts[6] = 1;
        p[7] = delivery_parent_id(a->d);
        /* Art 19: bounded ([access] max_delegation_days), in the schema. */
        snprintf(max, sizeof(max), "%d days", a->d->cfg->max_delegation_days);
        p[8] = max;
        tx = db_tx_new();
        db_tx_add(tx, "SELECT * FROM delegation_grant($1, $2, $3, to_timestamp($4::double precision), "
                      "to_timestamp($5::double precision), $6, $7, $8, $9::interval)", 9, p, lens, fmts);
        free(buf);
        db_submit(a->d->links.db, tx, accessctl_on_registered, q);
}

/* An officer made inactive or active again, a delegation withdrawn: the
 * row is read first, to encode the change that travels up; the schema
 * decides (schema/functions/access.sql), against the version read here. Q->data
 * holds what was asked until then. */
struct accessctl_end {
        char key[72];           /* the badge or the delegation's ID, as given */
        char reason[];
};

static void accessctl_on_end_read(void *arg, struct db_tx *rtx, int err, const char *msg);

/* Keep what was asked (KIND: 'a' officer active, 'd' inactive, 'r'
 * delegation revoked; KEY, REASON), then read the row: COLUMNS FROM
 * FROM_WHERE = KEY. */
static void accessctl_end_start(struct control_req *q, char kind, const char *key, const char *reason,
                                const char *columns, const char *from_where)
{
        struct accessctl *a = q->ctx;
        struct accessctl_end *e;
        struct db_tx *tx;
        char sql[320];
        const char *p[1] = { key };

        reason = reason ? reason : "";
        e = malloc(sizeof(*e) + strlen(reason) + 1);
        vigil_require(e != NULL);
        snprintf(e->key, sizeof(e->key), "%s", key);
        strcpy(e->reason, reason);
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", key);
        q->data = e;
        q->arg_name[0] = kind;
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s = $1", columns, from_where);
        tx = db_tx_new();
        db_tx_add(tx, sql, 1, p, NULL, NULL);
        db_submit(a->d->links.db, tx, accessctl_on_end_read, q);
}

static void accessctl_on_ended(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct accessctl *a = q->ctx;

        free(q->data);
        q->data = NULL;
        accessctl_on_registered(q, tx, err, msg);
        audit_forward(a->audit);
}

/* The row is read: encode its new state and let the schema decide. Q->arg_name[0]
 * says what was asked: 'a' (officer active), 'd' (officer inactive), 'r'
 * (delegation revoked). */
static void accessctl_on_end_read(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct accessctl_end *e = q->data;
        struct accessctl *a = q->ctx;
        bool revoke = q->arg_name[0] == 'r', active = q->arg_name[0] == 'a';
        PGresult *res;
        const char *p[8];
        int lens[8] = { 0 }, fmts[8] = { 0 }, np;
        char version[24];
        int64_t v = delivery_next_version(a->d);
        uint8_t *buf = NULL;
        size_t len = 0;
        struct db_tx *tx;

        res = db_tx_result(rtx, 0);
        if (err || !res) {
                free(q->data);
                q->data = NULL;
                control_refuse(q, err ? msg : "no answer", NULL);
                return;
        }
        snprintf(version, sizeof(version), "%" PRId64, v);
        if (PQntuples(res) == 1 && revoke)
                vigil_require(officer_delegation_encode(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                                                PQgetvalue(res, 0, 3), strtoll(PQgetvalue(res, 0, 4), NULL, 10),
                                                strtoll(PQgetvalue(res, 0, 5), NULL, 10), true, v, &buf,
                                                &len) == 0);
        else if (PQntuples(res) == 1)
                vigil_require(officer_encode(PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                                             PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
                                             active, v, false, &buf, &len) == 0);
        /* Who asked, what, why; then the version read and the change. */
        np = 0;
        if (!revoke)
                p[np++] = accessctl_actor(q);
        p[np++] = e->key;
        p[np++] = revoke ? control_badge(q) : active ? "t" : "f";
        p[np++] = e->reason;
        p[np++] = PQntuples(res) == 1 ? PQgetvalue(res, 0, 7) : "0";
        p[np++] = version;
        lens[np] = (int)len;
        fmts[np] = 1;
        p[np++] = (const char *)buf;
        p[np++] = delivery_parent_id(a->d);
        tx = db_tx_new();
        db_tx_add(tx, revoke ? "SELECT * FROM delegation_revoke($1, $2, $3, $4, $5, $6, $7)"
                             : "SELECT * FROM officer_set_active($1, $2, $3, $4, $5, $6, $7, $8)",
                  np, p, lens, fmts);
        free(buf);
        db_submit(a->d->links.db, tx, accessctl_on_ended, q);
}

/* officer deactivate BADGE --reason TEXT, officer reactivate BADGE: an
 * admin of the node where the officer is registered. */
static void accessctl_officer_set_active(struct control_req *q, bool active)
{
        const char *badge = control_arg(q, "badge"), *reason = control_arg(q, "reason");

        if (!control_is_admin(q)) {
                accessctl_refuse(q, active ? "officer.reactivate" : "officer.deactivate", NULL,
                                 "only an admin of this node changes its officers", NULL);
                return;
        }
        if (!badge) {
                control_reply(q, CONTROL_USAGE, NULL, "needs the officer's badge", NULL);
                free(q);
                return;
        }
        accessctl_end_start(q, active ? 'a' : 'd', badge, reason, officer_columns, "officers WHERE badge");
}

static void accessctl_officer_deactivate(struct control_req *q)
{
        accessctl_officer_set_active(q, false);
}

static void accessctl_officer_reactivate(struct control_req *q)
{
        accessctl_officer_set_active(q, true);
}

/* delegation revoke ID [--reason TEXT]: the principal, as themselves. */
static void accessctl_delegation_revoke(struct control_req *q)
{
        const char *id = control_arg(q, "id"), *reason = control_arg(q, "reason");

        if (!control_badge(q)) {
                accessctl_refuse(q, "delegation.revoke", "Art 19",
                                 "Art 19: a principal withdraws a delegation, as themselves (--as)", NULL);
                return;
        }
        if (!id) {
                control_reply(q, CONTROL_USAGE, NULL, "needs the delegation's ID", NULL);
                free(q);
                return;
        }
        accessctl_end_start(q, 'r', id, reason, officer_delegation_columns, "delegations WHERE id");
}

/* delegation.list: all, or those naming the caller (an admin: those
 * registered here). */
static void accessctl_delegation_list(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        struct db_tx *tx = db_tx_new();
        const char *p[3];
        char prefix[16];

        accessctl_reach(q, p, prefix);
        db_tx_add(tx, "SELECT json_agg(json_build_object('id', id, 'unit', unit, 'principal', principal, "
                      "'deputy', deputy, 'valid_from', valid_from, 'valid_until', valid_until, "
                      "'revoked', revoked, 'live', NOT revoked AND now() >= valid_from AND now() < valid_until) "
                      "ORDER BY valid_from)::text FROM delegations WHERE $1 = 'all' "
                      "OR ($1 = 'unit' AND unit LIKE $3 || '%') "
                      "OR ($1 = 'own' AND (principal = $2 OR deputy = $2 OR ($2 IS NULL AND via IS NULL)))",
                  3, p, NULL, NULL);
        db_submit(a->d->links.db, tx, control_on_json_row, q);
}

/* --- powers conferred from above (Art 19) --- */

/* Reply {"id": the conferral, "state"} (its ID is the answer's message). */
static void accessctl_on_conferred(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct accessctl *a = q->ctx;
        PGresult *res = db_tx_result(tx, 0);
        const char *state;
        json_t *doc;

        if (!err && res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 2))
                snprintf(q->arg_id, sizeof(q->arg_id), "%s", PQgetvalue(res, 0, 2));
        state = control_answer_state(q, tx, err, msg);
        audit_forward(a->audit);
        if (!state)
                return;
        officer_reload(a->officers);  /* a city principal or commander acts at once */
        conferral_dispatch(a->conferral);
        doc = json_object();
        json_object_set_new(doc, "id", json_string(q->arg_id));
        json_object_set_new(doc, "state", json_string(state));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

/* officer confer BADGE --role R [--until T]: an admin of the node directly
 * above the officer's unit (the schema checks which, conferral_confer). */
static void accessctl_officer_confer(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        const char *badge = control_arg(q, "badge"), *role = control_arg(q, "role");
        const char *until_s = control_arg(q, "until");
        int64_t now = vtime_now_us(), until = 0;
        char id[32], version[24], us[32], m[200];
        const char *p[8];
        struct db_tx *tx;

        if (!control_is_admin(q)) {
                accessctl_refuse(q, "officer.confer", "Art 19",
                                 "Art 19: powers are conferred by an admin of the tier above, as admin", NULL);
                return;
        }
        if (!badge || !role) {
                accessctl_refuse(q, "officer.confer", NULL, "officer confer needs BADGE and --role principal|commander|auditor, "
                                 "optionally --until (YYYY-MM-DDTHH:MM:SSZ, or 30d)", NULL);
                return;
        }
        if (until_s && accessctl_parse_time("--until", until_s, now, &until, m, sizeof(m)) < 0) {
                accessctl_refuse(q, "officer.confer", NULL, m, NULL);
                return;
        }
        ids_new("cnf", id, sizeof(id));
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        snprintf(version, sizeof(version), "%" PRId64, delivery_next_version(a->d));
        snprintf(us, sizeof(us), "%.6f", (double)until / 1e6);
        /* Who: the admin's whole key (two distinct admins at the city). */
        p[0] = q->key;
        p[1] = q->user;
        p[2] = id;
        p[3] = badge;
        p[4] = role;
        p[5] = until_s ? us : NULL;
        p[6] = version;
        p[7] = delivery_parent_id(a->d);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT * FROM conferral_confer($1, $2, $3, $4, $5, to_timestamp($6::double precision), "
                      "$7, $8)", 8, p, NULL, NULL);
        db_submit(a->d->links.db, tx, accessctl_on_conferred, q);
}

/* officer unconfer BADGE --role R [--reason TEXT]: an admin where it was
 * conferred. */
static void accessctl_officer_unconfer(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        const char *badge = control_arg(q, "badge"), *role = control_arg(q, "role");
        char version[24];
        const char *p[5];
        struct db_tx *tx;

        if (!control_is_admin(q)) {
                accessctl_refuse(q, "officer.unconfer", "Art 19",
                                 "Art 19: a power is ended by an admin of the node that conferred it", NULL);
                return;
        }
        if (!badge || !role) {
                accessctl_refuse(q, "officer.unconfer", NULL, "officer unconfer needs BADGE and --role", NULL);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", badge);
        snprintf(version, sizeof(version), "%" PRId64, delivery_next_version(a->d));
        p[0] = q->user;
        p[1] = badge;
        p[2] = role;
        p[3] = control_arg(q, "reason");
        p[4] = version;
        tx = db_tx_new();
        db_tx_add(tx, "SELECT * FROM conferral_unconfer($1, $2, $3, $4, $5)", 5, p, NULL, NULL);
        db_submit(a->d->links.db, tx, accessctl_on_conferred, q);
}

static void accessctl_officer_conferrals(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        struct db_tx *tx = db_tx_new();

        db_tx_add(tx, "SELECT json_agg(json_build_object('id', c.id, 'badge', c.badge, 'unit', c.unit, "
                      "'role', c.role, 'state', c.state, 'conferred_at', c.conferred_at, "
                      "'conferred_by', c.conferred_by, 'public_key', c.public_key, 'valid_until', c.valid_until, "
                      "'live', officer_has_power(c.badge, c.role) AND c.state = 'live') "
                      "ORDER BY c.unit, c.badge, c.role, c.updated_at)::text FROM conferrals c", 0, NULL, NULL, NULL);
        db_submit(a->d->links.db, tx, control_on_json_row, q);
}

/* --- requests (Art 20) and decisions (Art 19) --- */

/* Only officers act on requests: every step is theirs, by name. ACTION
 * names the step in the access log, where an admin's attempt is recorded. */
static const char *accessctl_officer_only(struct control_req *q, const char *what, const char *action)
{
        const char *b = control_badge(q);
        char m[160];

        if (!b) {
                snprintf(m, sizeof(m), "Art 20(1): officers %s, each with their own identity (--as)", what);
                accessctl_refuse(q, action, "Art 20(1)", m, control_arg(q, "id"));
        }
        return b;
}

static void accessctl_request(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        const char *badge;
        struct sqlarray officers = { 0 }, cameras = { 0 }, actions = { 0 };
        int64_t now = vtime_now_us(), from = 0, to = 0;
        char id[32], fs[32] = "", ts[32] = "", tm[220];
        const char *p[12];
        int lens[12] = { 0 }, fmts[12] = { 0 };
        struct db_tx *tx;

        badge = accessctl_officer_only(q, "file requests", "request");
        if (!badge)
                return;
        if ((control_arg(q, "from") &&
             accessctl_parse_time("--from", control_arg(q, "from"), now, &from, tm + 11, sizeof(tm) - 11) < 0) ||
            (control_arg(q, "to") &&
             accessctl_parse_time("--to", control_arg(q, "to"), now, &to, tm + 11, sizeof(tm) - 11) < 0)) {
                memcpy(tm, "Art 20(4): ", 11);
                accessctl_refuse(q, "request", "Art 20(4)", tm, NULL);
                return;
        }
        /* --under names a node, and only a node: no pattern reaches SQL
         * (a "%" would have asked for every camera the node holds). */
        if (control_arg(q, "under") &&
            (!nodeid_is_wellformed(control_arg(q, "under")) || nodeid_tier(control_arg(q, "under")) == TIER_NONE)) {
                control_reply(q, CONTROL_USAGE, NULL, "--under must be a node ID (20 digits)", NULL);
                free(q);
                return;
        }
        if (control_arg(q, "from"))
                snprintf(fs, sizeof(fs), "%.6f", (double)from / 1e6);
        if (control_arg(q, "to"))
                snprintf(ts, sizeof(ts), "%.6f", (double)to / 1e6);
        ids_new("req", id, sizeof(id));
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        control_args(q, "officer", &officers);
        control_args(q, "camera", &cameras);
        control_args(q, "actions", &actions);
        p[0] = id;
        p[1] = badge;
        sqlarray_param(&officers, &p[2], &lens[2], &fmts[2]);
        p[3] = control_arg(q, "case");
        p[4] = control_arg(q, "purpose");
        sqlarray_param(&cameras, &p[5], &lens[5], &fmts[5]);
        sqlarray_param(&actions, &p[6], &lens[6], &fmts[6]);
        p[7] = fs[0] ? fs : NULL;
        p[8] = ts[0] ? ts : NULL;
        p[9] = control_arg(q, "destination");
        p[10] = control_arg(q, "approval_doc");
        tx = db_tx_new();
        /* --under ID: the cameras below a node, resolved to IDs now. */
        p[11] = control_arg(q, "under");
        db_tx_add(tx, "SELECT * FROM access_request_file($1, $2, $3::text[], $4, $5, "
                      "$6::text[] || coalesce((SELECT array_agg(id ORDER BY id) FROM cameras "
                      "WHERE $12::text IS NOT NULL AND left(id, length(vigil_prefix($12::text))) = "
                      "vigil_prefix($12::text)), '{}'), $7::text[], "
                      "to_timestamp($8::double precision), to_timestamp($9::double precision), $10, $11)",
                  12, p, lens, fmts);
        sqlarray_deinit(&officers);
        sqlarray_deinit(&cameras);
        sqlarray_deinit(&actions);
        db_submit(a->d->links.db, tx, accessctl_on_answer, q);
}

/* countersign / approve / deny / revoke: one SQL function each ($5: the
 * longest approval, [access] max_approval_hours). */
static void accessctl_step(struct control_req *q, const char *what, const char *action, const char *sql,
                           int nparams)
{
        struct accessctl *a = q->ctx;
        const char *badge = accessctl_officer_only(q, what, action);
        const char *id, *p[5];
        char max[32];
        struct db_tx *tx;

        if (!badge)
                return;
        id = control_arg(q, "id");
        if (!id) {
                accessctl_refuse(q, action, NULL, "which request? (its ID)", NULL);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        snprintf(max, sizeof(max), "%d hours", a->d->cfg->max_approval_hours);
        p[0] = id;
        p[1] = badge;
        p[2] = control_arg(q, "reason");
        p[3] = control_arg(q, "valid_for");
        p[4] = max;
        tx = db_tx_new();
        db_tx_add(tx, sql, nparams, p, NULL, NULL);
        db_submit(a->d->links.db, tx, accessctl_on_answer, q);
}

static void accessctl_countersign(struct control_req *q)
{
        accessctl_step(q, "countersign", "countersign", "SELECT * FROM access_countersign($1, $2)", 2);
}

static void accessctl_approve(struct control_req *q)
{
        accessctl_step(q, "approve", "approve",
                       "SELECT * FROM access_decide($1, $2, true, $3, $4::interval, $5::interval)", 5);
}

static void accessctl_deny(struct control_req *q)
{
        if (!control_arg(q, "reason")) {
                accessctl_refuse(q, "deny", NULL, "a denial needs --reason", control_arg(q, "id"));
                return;
        }
        accessctl_step(q, "deny", "deny", "SELECT * FROM access_decide($1, $2, false, $3, NULL, NULL)", 3);
}

static void accessctl_revoke(struct control_req *q)
{
        accessctl_step(q, "revoke", "revoke", "SELECT * FROM access_revoke($1, $2, $3)", 3);
}

/* access.list: all (auditors, principals of here or above); for a
 * principal of a unit below, or a deputy while authorised (a live
 * delegation from a principal who still holds the power:
 * delegation_live), the requests whose every camera is under their unit (those they
 * may decide, Art 19); for an investigator, the requests naming them or
 * filed by them. */
static void accessctl_list(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        struct db_tx *tx = db_tx_new();
        const char *p[4];
        char prefix[16];

        accessctl_reach(q, p, prefix);
        p[3] = control_has_role(q, OFFICER_ROLE_PRINCIPAL) ? "t" : "f";
        db_tx_add(tx, "SELECT json_agg(json_build_object('id', id, 'state', state, 'filed_by', filed_by, "
                      "'filed_at', filed_at, 'officers', officers, 'credentials', credentials, 'case', case_no, "
                      "'purpose', purpose, 'cameras', cameras, 'actions', actions, 'from', rec_from, "
                      "'to', rec_to, 'destination', destination, 'approval_doc', approval_doc, "
                      "'countersigned_by', countersigned_by, 'decided_by', decided_by, 'decided_at', decided_at, "
                      "'reason', reason, 'expires_at', expires_at) ORDER BY filed_at)::text FROM access_requests "
                      "WHERE $1 = 'all' OR ($1 = 'unit' AND $3 <> '' AND NOT EXISTS (SELECT 1 FROM unnest(cameras) c "
                      "WHERE c NOT LIKE $3 || '%') AND ($4::boolean OR delegation_live($2))) "
                      "OR ($1 = 'own' AND ($2 = ANY (officers) OR filed_by = $2))",
                  4, p, NULL, NULL);
        db_submit(a->d->links.db, tx, control_on_json_row, q);
}

/* --- the access log --- */

/* audit.list [--node ID] [--limit N]: the latest N records in order, a page
 * (CONTROL_PAGE_ROWS) at a time: the first page starts N records before
 * the end; the next ones after the cursor (the last record's seq) the
 * first page gave. */
static void accessctl_audit_list(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        const char *limit = control_arg(q, "limit"), *node = control_arg(q, "node"),
                   *page = control_arg(q, "page");
        char rows[16], sql[1400];
        const char *p[4] = { limit ? limit : "100", node, page, rows };
        bool copies = node && strcmp(node, a->d->cfg->node_id) != 0;
        const char *from = copies ? "audit_copies WHERE node_id = $2 AND" : "audit_log WHERE $2::text IS NULL AND";
        struct db_tx *tx;

        /* A reply must fit in one message (security review M5). */
        if (strspn(p[0], "0123456789") != strlen(p[0]) || strlen(p[0]) > 5 || atoi(p[0]) < 1 ||
            atoi(p[0]) > 10000) {
                control_reply(q, CONTROL_USAGE, NULL, "audit list: --limit is a number from 1 to 10000", NULL);
                free(q);
                return;
        }
        if (page && (strspn(page, "0123456789") != strlen(page) || strlen(page) < 1 || strlen(page) > 19)) {
                control_reply(q, CONTROL_USAGE, NULL, "audit list: page is not a cursor this node gave", NULL);
                free(q);
                return;
        }
        if (!copies)
                p[1] = NULL;
        snprintf(rows, sizeof(rows), "%d", atoi(p[0]) < CONTROL_PAGE_ROWS ? atoi(p[0]) : CONTROL_PAGE_ROWS);
        /* One row more than the page, to know whether more follow. */
        snprintf(sql, sizeof(sql),
                 "WITH x AS (SELECT seq, at, node_id, actor, action, outcome, article, camera, purpose, destination, "
                 "request_id, emergency_id, detail, encode(hash, 'hex') AS hash FROM %s seq %s "
                 "ORDER BY seq LIMIT $4::int + 1), "
                 "y AS (SELECT * FROM x ORDER BY seq LIMIT $4::int) "
                 "SELECT (SELECT json_agg(y ORDER BY y.seq) FROM y)::text, "
                 "CASE WHEN (SELECT count(*) FROM x) > $4::int THEN (SELECT max(seq) FROM y)::text END AS next "
                 "WHERE $1::int > 0",
                 from,
                 page ? "> $3::bigint" :
                 copies ? ">= coalesce((SELECT seq FROM audit_copies WHERE node_id = $2 ORDER BY seq DESC "
                          "OFFSET $1::int - 1 LIMIT 1), 0) AND $3::text IS NULL"
                        : ">= coalesce((SELECT seq FROM audit_log ORDER BY seq DESC OFFSET $1::int - 1 LIMIT 1), 0) "
                          "AND $3::text IS NULL");
        tx = db_tx_new();
        db_tx_add(tx, sql, 4, p, NULL, NULL);
        db_submit(a->d->links.db, tx, control_on_json_row, q);
}

static void accessctl_on_verified(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        PGresult *res = db_tx_result(tx, 0);
        json_t *doc;

        if (err || !res || PQntuples(res) != 1) {
                control_refuse(q, err ? msg : "no answer", NULL);
                return;
        }
        doc = json_object();
        json_object_set_new(doc, "node", json_string(q->arg_id));
        json_object_set_new(doc, "records", json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
        json_object_set_new(doc, "alarms", json_integer(strtoll(PQgetvalue(res, 0, 2), NULL, 10)));
        json_object_set_new(doc, "ok", json_boolean(PQgetisnull(res, 0, 1) && PQgetvalue(res, 0, 2)[0] == '0'));
        json_object_set_new(doc, "first_bad_seq", PQgetisnull(res, 0, 1) ? json_null()
                                                  : json_integer(strtoll(PQgetvalue(res, 0, 1), NULL, 10)));
        if (!PQgetisnull(res, 0, 1))
                log_error("access", "seq=%s msg=\"access log does not verify: a record was changed\"",
                          PQgetvalue(res, 0, 1));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

static void accessctl_audit_verify(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        const char *node = control_arg(q, "node");
        struct db_tx *tx;

        tx = db_tx_new();
        if (node && strcmp(node, a->d->cfg->node_id) != 0) {
                /* The copies held here of a node below. */
                const char *p[1] = { node };
                snprintf(q->arg_id, sizeof(q->arg_id), "%s", node);
                db_tx_add(tx, "SELECT records, first_bad_seq, (SELECT count(*) FROM audit_alarms WHERE node_id = $1) "
                              "FROM audit_verify_copy($1)", 1, p, NULL, NULL);
        } else {
                snprintf(q->arg_id, sizeof(q->arg_id), "%s", a->d->cfg->node_id);
                db_tx_add(tx, "SELECT records, first_bad_seq, 0 FROM audit_verify()", 0, NULL, NULL, NULL);
        }
        db_submit(a->d->links.db, tx, accessctl_on_verified, q);
}

/* audit.checkpoints [--node ID] [--limit N]: the latest signed checkpoints
 * of this node's log or of a copy held here, each with the hash held here
 * at that record; vigilctl checks the signatures with the node's key. */
static void accessctl_audit_checkpoints(struct control_req *q)
{
        struct accessctl *a = q->ctx;
        const char *node = control_arg(q, "node"), *limit = control_arg(q, "limit");
        const char *p[3];
        struct db_tx *tx;

        p[0] = node ? node : a->d->cfg->node_id;
        p[1] = limit ? limit : "10";
        if (!nodeid_is_wellformed(p[0]) || strspn(p[1], "0123456789") != strlen(p[1]) || !*p[1]) {
                control_reply(q, CONTROL_USAGE, NULL, "audit checkpoints: --node is a node ID, --limit a number",
                              NULL);
                free(q);
                return;
        }
        tx = db_tx_new();
        db_tx_add(tx, "SELECT json_build_object('node', $1::text, 'checkpoints', "
                      "audit_checkpoints_json($1, $2::int))::text", 2, p, NULL, NULL);
        db_submit(a->d->links.db, tx, control_on_json_row, q);
}

const struct control_command accessctl_commands[] = {
        { "audit.checkpoints", accessctl_audit_checkpoints },
        { "officer.add", accessctl_officer_add },
        { "officer.list", accessctl_officer_list },
        { "officer.deactivate", accessctl_officer_deactivate },
        { "officer.confer", accessctl_officer_confer },
        { "officer.unconfer", accessctl_officer_unconfer },
        { "officer.conferrals", accessctl_officer_conferrals },
        { "officer.reactivate", accessctl_officer_reactivate },
        { "delegation.add", accessctl_delegation_add },
        { "delegation.revoke", accessctl_delegation_revoke },
        { "delegation.list", accessctl_delegation_list },
        { "access.request", accessctl_request },
        { "access.countersign", accessctl_countersign },
        { "access.approve", accessctl_approve },
        { "access.deny", accessctl_deny },
        { "access.revoke", accessctl_revoke },
        { "access.list", accessctl_list },
        { "audit.list", accessctl_audit_list },
        { "audit.verify", accessctl_audit_verify },
        { NULL, NULL },
};

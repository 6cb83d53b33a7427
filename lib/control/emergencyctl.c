#include "control/emergencyctl.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "base/log.h"
#include "base/nodeid.h"
#include "base/sqlarray.h"
#include "db/db.h"

/* Art 23(5), 29(2): every declare and end attempt is a record in this
 * node's access log, refused here in C too (a usage error, an admin
 * declaring): control_refuse_recorded answers once it is on record. */

bool emergencyctl_duration(const char *v, char *out, size_t n)
{
        char *end;
        long d;

        if (!v)
                return false;
        d = strtol(v, &end, 10);
        if (end == v || d < 0 || d > 100000)
                return false;
        if (d == 0 && *end == '\0') {
                snprintf(out, n, "0 seconds");
                return true;
        }
        if (!(end[0] == 's' || end[0] == 'm' || end[0] == 'h' || end[0] == 'd') || end[1])
                return false;
        snprintf(out, n, "%ld %s", d,
                 end[0] == 's' ? "seconds" : end[0] == 'm' ? "minutes" : end[0] == 'h' ? "hours" : "days");
        return true;
}

bool emergencyctl_area(const char *near, const char *radius, double *lat, double *lon)
{
        char *end;
        double r;
        int used = 0;

        if (!near && !radius)
                return true;
        if (!near || !radius || sscanf(near, "%lf,%lf%n", lat, lon, &used) != 2 || near[used])
                return false;
        r = strtod(radius, &end);
        /* "nan" and "inf" parse, and radius "5m" parsed as 5 while the
         * database was given "5m": a point on the earth and a distance in
         * metres, or a usage error (found by tests/fuzz/fuzz_args.c). */
        return end != radius && !*end && isfinite(r) && r > 0 && isfinite(*lat) && isfinite(*lon) &&
               fabs(*lat) <= 90 && fabs(*lon) <= 180;
}

/* Declared or ended: the answer is the status (CONTRACT.md: id, state,
 * stations), built by the database. */
static void emergencyctl_reply_status(struct control_req *q)
{
        struct emergency *e = q->ctx;
        const char *p[1] = { q->arg_id };
        struct db_tx *tx = db_tx_new();

        q->data = "no such emergency known here";
        db_tx_add(tx, "SELECT emergency_status_json($1)::text", 1, p, NULL, NULL);
        /* On the second connection: a command watching the status live
         * must not hold up the applying of the very acks it waits for. */
        db_submit(link_set_read_db(&e->d->links), tx, control_on_json_row, q);
}

static void emergencyctl_on_declared(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct emergency *e = q->ctx;

        if (!control_answer_state(q, tx, err, msg))
                return;
        emergencyctl_reply_status(q);
        emergency_dispatch(e);
}

static void emergencyctl_declare(struct control_req *q)
{
        struct emergency *e = q->ctx;
        const char *badge = control_badge(q);
        const char *near = control_arg(q, "near"), *radius = control_arg(q, "radius");
        const char *duration = control_arg(q, "duration"), *look_back = control_arg(q, "look_back");
        char id[32], lat[32] = "", lon[32] = "", interval[32], back[32] = "0 seconds";
        const char *p[12];
        int lens[12] = { 0 }, fmts[12] = { 0 };
        struct sqlarray officers = { 0 }, roles = { 0 };
        struct db_tx *tx;
        double la, lo;

        if (!badge) {
                control_refuse_recorded(q, "emergency.declare", CONTROL_REFUSED,
                                    "refused: Art 19: a commander declares, as themselves (--as)", "Art 19");
                return;
        }
        if (!emergencyctl_area(near, radius, &la, &lo)) {
                control_refuse_recorded(q, "emergency.declare", CONTROL_USAGE,
                                    "--near LAT,LON and --radius METRES go together (a point on the earth, "
                                    "metres over 0)", NULL);
                return;
        }
        if (!emergencyctl_duration(duration, interval, sizeof(interval)) || strncmp(interval, "0 ", 2) == 0) {
                control_refuse_recorded(q, "emergency.declare", CONTROL_USAGE, "--duration is 90s, 30m, 2h or 1d",
                                    NULL);
                return;
        }
        /* Art 19: recorded footage from how long before its start (0: from
         * its start only; at most 24 hours, which the database checks). */
        if (look_back && !emergencyctl_duration(look_back, back, sizeof(back))) {
                control_refuse_recorded(q, "emergency.declare", CONTROL_USAGE, "--look-back is 0, 90s, 30m, 2h or 1d",
                                    NULL);
                return;
        }
        if (near) {
                snprintf(lat, sizeof(lat), "%.9f", la);
                snprintf(lon, sizeof(lon), "%.9f", lo);
        }
        ids_new("em", id, sizeof(id));
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        p[0] = id;
        p[1] = badge;
        p[2] = control_arg(q, "scope");
        p[3] = near ? lat : NULL;
        p[4] = near ? lon : NULL;
        p[5] = radius;
        p[6] = interval;
        p[7] = control_arg(q, "incident");
        p[8] = control_arg(q, "authority");
        if (!p[2] || !nodeid_is_wellformed(p[2])) {
                control_refuse_recorded(q, "emergency.declare", CONTROL_USAGE, "--scope is a node ID (its subtree)",
                                    NULL);
                return;
        }
        /* Who may act under it (Art 19): the database resolves them into
         * identities and refuses an emergency that names nobody. */
        control_args(q, "officer", &officers);
        control_args(q, "role", &roles);
        sqlarray_param(&officers, &p[9], &lens[9], &fmts[9]);
        sqlarray_param(&roles, &p[10], &lens[10], &fmts[10]);
        p[11] = back;
        tx = db_tx_new();
        db_tx_add(tx, "SELECT * FROM emergency_declare($1, $2, $3, $4::float8, $5::float8, $6::float8, $7::interval, "
                      "$8, $9, $10::text[], $11::text[], $12::interval)", 12, p, lens, fmts);
        sqlarray_deinit(&officers);
        sqlarray_deinit(&roles);
        db_submit(e->d->links.db, tx, emergencyctl_on_declared, q);
}

static void emergencyctl_status(struct control_req *q)
{
        const char *p[1] = { control_arg(q, "id") };

        if (!p[0]) {
                control_reply(q, CONTROL_USAGE, NULL, "which emergency? (its ID)", NULL);
                free(q);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", p[0]);
        /* Every station in scope, answered or not (emergency_status_json). */
        emergencyctl_reply_status(q);
}

static void emergencyctl_on_credentials(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        json_t *doc;

        if (err) {
                control_refuse(q, msg, NULL);
                return;
        }
        if (!db_tx_result(tx, 0) || PQntuples(db_tx_result(tx, 0)) != 1) {
                char m[160];
                snprintf(m, sizeof(m), "no system %s is registered at this station", q->arg_id);
                control_refuse(q, m, NULL);
                return;
        }
        doc = json_object();
        json_object_set_new(doc, "id", json_string(q->arg_id));
        json_object_set_new(doc, "state", json_string("credentials held"));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

/* An admin of the station records the credentials of a reserved interface:
 * kept here only, never replicated (the URL that travels up has none),
 * sealed here with the node's credentials.key before they reach the
 * database (Art 5, 24(1): a copy of the database holds no password). */
static void emergencyctl_credentials(struct control_req *q)
{
        struct emergency *e = q->ctx;
        const char *p[3] = { control_arg(q, "system"), control_arg(q, "user"), control_arg(q, "password") };
        char *nonce = NULL, *sealed = NULL;
        const char *sp[4];
        struct db_tx *tx;

        if (!control_is_admin(q) || e->d->cfg->tier != TIER_STATION) {
                control_refuse_logged(q, "refused: an admin of the station holds the credentials of its reserved "
                                      "interfaces", NULL);
                return;
        }
        if (!p[0] || !p[1] || !p[2]) {
                control_reply(q, CONTROL_USAGE, NULL,
                              "system credentials CODE --user U --password-file FILE (or --password P)", NULL);
                free(q);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", p[0]);
        if (credentials_seal(&e->creds, p[0], p[1], p[2], &nonce, &sealed) < 0) {
                control_reply(q, CONTROL_USAGE, NULL, "a user or a password is at most 256 bytes", NULL);
                free(q);
                return;
        }
        sp[0] = p[0];
        sp[1] = nonce;
        sp[2] = sealed;
        sp[3] = q->user;
        tx = db_tx_new();
        /* Who set them, for which system, is on record (never what). */
        db_tx_add(tx, "WITH held AS (INSERT INTO interface_credentials (system_code, nonce, sealed) "
                      "SELECT code, decode($2, 'hex'), decode($3, 'hex') FROM systems WHERE code = $1 AND via IS NULL "
                      "ON CONFLICT (system_code) DO UPDATE SET nonce = EXCLUDED.nonce, sealed = EXCLUDED.sealed, "
                      "username = NULL, password = NULL RETURNING system_code) "
                      "SELECT system_code, audit_append($4, 'system.credentials', 'ok', NULL, NULL, NULL, NULL, NULL, "
                      "NULL, 'system ' || system_code || ': credentials held, sealed') FROM held", 4, sp, NULL, NULL);
        free(nonce);
        free(sealed);
        db_submit(e->d->links.db, tx, emergencyctl_on_credentials, q);
}

static void emergencyctl_end(struct control_req *q)
{
        struct emergency *e = q->ctx;
        const char *badge = control_badge(q);
        const char *p[2] = { control_arg(q, "id"), badge };
        struct db_tx *tx;

        if (!badge) {
                control_refuse_recorded(q, "emergency.end", CONTROL_REFUSED,
                                    "refused: Art 19: a commander ends it, as themselves (--as)", "Art 19");
                return;
        }
        if (!p[0]) {
                control_refuse_recorded(q, "emergency.end", CONTROL_USAGE, "which emergency? (its ID)", NULL);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", p[0]);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT * FROM emergency_end($1, $2)", 2, p, NULL, NULL);
        db_submit(e->d->links.db, tx, emergencyctl_on_declared, q);
}

/* After action (Art 13, 23(5)): what was linked and what failed, the
 * owners' notifications, who accessed what under it (the command's own
 * log and its copies of the stations'), and when it ended. */
static void emergencyctl_report(struct control_req *q)
{
        struct emergency *e = q->ctx;
        const char *p[1] = { control_arg(q, "id") };
        struct db_tx *tx;

        if (!p[0]) {
                control_reply(q, CONTROL_USAGE, NULL, "which emergency? (its ID)", NULL);
                free(q);
                return;
        }
        tx = db_tx_new();
        q->data = "no such emergency known here";
        db_tx_add(tx, "SELECT emergency_report_json($1)::text", 1, p, NULL, NULL);
        db_submit(e->d->links.db, tx, control_on_json_row, q);
}

const struct control_command emergencyctl_commands[] = {
        { "emergency.report", emergencyctl_report },
        { "emergency.end", emergencyctl_end },
        { "system.credentials", emergencyctl_credentials },
        { "emergency.declare", emergencyctl_declare },
        { "emergency.status", emergencyctl_status },
        { NULL, NULL },
};

#include "control/emergencyctl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ids.h"
#include "base/nodeid.h"
#include "db/db.h"

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
        const char *duration = control_arg(q, "duration");
        char id[32], lat[32] = "", lon[32] = "", interval[32];
        const char *p[9];
        struct db_tx *tx;
        double la, lo;
        long d;
        char *end;

        if (!badge) {
                control_refuse(q, "refused: Art 19: a commander declares, as themselves (--as)", "Art 19");
                return;
        }
        if ((near == NULL) != (radius == NULL) ||
            (near && (sscanf(near, "%lf,%lf", &la, &lo) != 2 || strtod(radius, NULL) <= 0))) {
                control_reply(q, CONTROL_USAGE, NULL, "--near LAT,LON and --radius METRES go together", NULL);
                free(q);
                return;
        }
        d = duration ? strtol(duration, &end, 10) : 0;
        if (!duration || d <= 0 || !(end[0] == 's' || end[0] == 'm' || end[0] == 'h' || end[0] == 'd') || end[1]) {
                control_reply(q, CONTROL_USAGE, NULL, "--duration is 90s, 30m, 2h or 1d", NULL);
                free(q);
                return;
        }
        snprintf(interval, sizeof(interval), "%ld %s", d,
                 end[0] == 's' ? "seconds" : end[0] == 'm' ? "minutes" : end[0] == 'h' ? "hours" : "days");
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
                control_reply(q, CONTROL_USAGE, NULL, "--scope is a node ID (its subtree)", NULL);
                free(q);
                return;
        }
        tx = db_tx_new();
        db_tx_add(tx, "SELECT * FROM emergency_declare($1, $2, $3, $4::float8, $5::float8, $6::float8, $7::interval, "
                      "$8, $9)", 9, p, NULL, NULL);
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

        (void)tx;
        if (err) {
                control_refuse(q, msg, NULL);
                return;
        }
        doc = json_object();
        json_object_set_new(doc, "id", json_string(q->arg_id));
        json_object_set_new(doc, "state", json_string("credentials held"));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

/* An admin of the station records the credentials of a reserved interface:
 * kept here only, never replicated (the URL that travels up has none). */
static void emergencyctl_credentials(struct control_req *q)
{
        struct emergency *e = q->ctx;
        const char *p[3] = { control_arg(q, "system"), control_arg(q, "user"), control_arg(q, "password") };
        struct db_tx *tx;

        if (!control_is_admin(q) || e->d->cfg->tier != TIER_STATION) {
                control_refuse_logged(q, "refused: an admin of the station holds the credentials of its reserved "
                                      "interfaces", NULL);
                return;
        }
        if (!p[0] || !p[1] || !p[2]) {
                control_reply(q, CONTROL_USAGE, NULL, "system credentials CODE --user U --password P", NULL);
                free(q);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", p[0]);
        tx = db_tx_new();
        db_tx_add(tx, "INSERT INTO interface_credentials (system_code, username, password) "
                      "SELECT code, $2, $3 FROM systems WHERE code = $1 AND via IS NULL "
                      "ON CONFLICT (system_code) DO UPDATE SET username = EXCLUDED.username, "
                      "password = EXCLUDED.password", 3, p, NULL, NULL);
        db_submit(e->d->links.db, tx, emergencyctl_on_credentials, q);
}

static void emergencyctl_end(struct control_req *q)
{
        struct emergency *e = q->ctx;
        const char *badge = control_badge(q);
        const char *p[2] = { control_arg(q, "id"), badge };
        struct db_tx *tx;

        if (!badge) {
                control_refuse(q, "refused: Art 19: a commander ends it, as themselves (--as)", "Art 19");
                return;
        }
        if (!p[0]) {
                control_reply(q, CONTROL_USAGE, NULL, "which emergency? (its ID)", NULL);
                free(q);
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

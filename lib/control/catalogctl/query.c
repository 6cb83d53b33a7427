/* show, list, count and location-types: read from this node's own database
 * at any tier (a district answers for its stations, the city for all),
 * each row as a JSON object named by its columns. */
#include "control/catalogctl/impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "db/db.h"
#include "delivery/delivery.h"

static json_t *json_value(const PGresult *res, int i, int c)
{
        Oid t = PQftype(res, c);
        const char *v;

        if (PQgetisnull(res, i, c))
                return json_null();
        v = PQgetvalue(res, i, c);
        switch (t) {
        case 16: return json_boolean(v[0] == 't');                    /* bool */
        case 20: case 21: case 23: return json_integer(strtoll(v, NULL, 10));
        case 700: case 701: return json_real(strtod(v, NULL));
        default: return json_string(v);
        }
}

/* A camera's or system's source address: for an admin or registrar of the
 * owning station only (Art 5; policy.c "catalog.addresses"); to anyone
 * else it is null. Above the station it is not even held (Art 19, 29(2):
 * schema/013_addresses_stay.sql): has_stream and has_reserved_interface,
 * shown to all, say whether there is one. */
static bool catalogctl_is_address(const char *column)
{
        return strcmp(column, "stream_url") == 0 || strcmp(column, "reserved_interface") == 0;
}

static json_t *row_object(const PGresult *res, int i, bool addresses)
{
        json_t *o = json_object();

        for (int c = 0; c < PQnfields(res); c++)
                json_object_set_new(o, PQfname(res, c),
                                    !addresses && catalogctl_is_address(PQfname(res, c)) ? json_null()
                                                                                        : json_value(res, i, c));
        return o;
}

static bool catalogctl_addresses(const struct control_req *q)
{
        return catalogctl_delivery(q)->cfg->tier == TIER_STATION && control_allows(q, "catalog.addresses");
}

/* Listings come a page at a time (issue 17, fault 5: a reply is built
 * whole, and one over 4 MiB could not be sent). The cursor of the next
 * page is the key of a page's last row: a camera's ID, or a site's or
 * system's station ID (20 digits) followed by its code. */
static void catalogctl_page_next(const PGresult *res, int i, char *next, size_t n)
{
        int id = PQfnumber(res, "id"), station = PQfnumber(res, "station_id"), code = PQfnumber(res, "code");

        if (id >= 0)
                snprintf(next, n, "%s", PQgetvalue(res, i, id));
        else if (station >= 0 && code >= 0 && strlen(PQgetvalue(res, i, station)) == 20)
                snprintf(next, n, "%s%s", PQgetvalue(res, i, station), PQgetvalue(res, i, code));
}

/* Q's page size from its --limit (LIM rows wanted in all; the client asks
 * again for the rest): at most CONTROL_PAGE_ROWS. */
static void catalogctl_page_rows(struct control_req *q, long lim)
{
        q->page_rows = lim < CONTROL_PAGE_ROWS ? (int)lim : CONTROL_PAGE_ROWS;
}

static void catalogctl_on_rows(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        PGresult *res = db_tx_result(tx, 0);
        json_t *doc;

        if (err) {
                control_reply(q, CONTROL_REFUSED, NULL, msg, NULL);
                free(q);
                return;
        }
        if (q->arg_name[0] == 's') {           /* show: one object */
                if (PQntuples(res) != 1) {
                        char m[200];
                        snprintf(m, sizeof(m), "no %s \"%s\" known here", q->arg_key, q->arg_id);
                        control_reply(q, CONTROL_REFUSED, NULL, m, NULL);
                        free(q);
                        return;
                }
                doc = row_object(res, 0, catalogctl_addresses(q));
        } else if (q->arg_name[0] == 'c') {    /* count */
                doc = json_object();
                json_object_set_new(doc, "count", json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
        } else {
                /* A page: one row more than it holds was asked for, to know
                 * whether more follow (catalogctl_page_sql). */
                bool addresses = catalogctl_addresses(q);
                int n = PQntuples(res), rows = n > q->page_rows ? q->page_rows : n;
                char next[160] = "";

                doc = json_array();
                for (int i = 0; i < rows; i++)
                        json_array_append_new(doc, row_object(res, i, addresses));
                if (n > rows && rows > 0)
                        catalogctl_page_next(res, rows - 1, next, sizeof(next));
                control_reply_page(q, doc, next[0] ? next : NULL);
                free(q);
                return;
        }
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

/* What `camera show` and `camera list` answer: first what `camera list`
 * prints (with the category of the camera's site), then every other column
 * of the table in its order, named by its option where it has one
 * ("system" for system_code), then when the row last changed. */
static const struct {
        const char *column;            /* NULL: not the camera's own */
        const char *expr;
} camera_lead[] = {
        { "id", "c.id" },
        { "name", "c.name" },
        { "station_id", "c.station_id AS station" },
        { NULL, "s.category" },
        { "status", "c.status" },
        { "stream_url", "c.stream_url" },
};

#define N_LEAD ((int)(sizeof(camera_lead) / sizeof(camera_lead[0])))

static bool camera_in_lead(const char *column)
{
        for (int k = 0; k < N_LEAD; k++)
                if (camera_lead[k].column && strcmp(camera_lead[k].column, column) == 0)
                        return true;
        return false;
}

/* "SELECT c.id, … FROM cameras c LEFT JOIN sites s …" into SQL (size N). */
static void camera_select(char *sql, size_t n)
{
        const struct catalog_entity *e = catalog_entity(CATALOG_CAMERA);
        size_t len = (size_t)snprintf(sql, n, "SELECT");
        int k;

        for (k = 0; k < N_LEAD && len < n; k++)
                len += (size_t)snprintf(sql + len, n - len, "%s %s", k ? "," : "", camera_lead[k].expr);
        for (k = 0; k < e->ncolumns && len < n; k++) {
                const struct catalog_column *c = &e->columns[k];
                if (camera_in_lead(c->sql))
                        continue;
                len += (size_t)snprintf(sql + len, n - len, ", c.%s", c->sql);
                if (c->option && strcmp(c->option, c->sql) != 0 && len < n)
                        len += (size_t)snprintf(sql + len, n - len, " AS %s", c->option);
        }
        if (len < n)
                snprintf(sql + len, n - len, ", to_char(c.updated_at AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at "
                         "FROM cameras c LEFT JOIN sites s ON s.station_id = c.station_id AND s.code = c.site_code");
}

/* Build the WHERE clause shared by list and count; fills PARAMS. */
static int camera_filters(struct control_req *q, char *where, size_t n, const char **params, int *np)
{
        const char *under = control_arg(q, "under"), *cat = control_arg(q, "category");
        const char *status = control_arg(q, "status");
        static char prefix[4][16];
        size_t len = 0;

        where[0] = '\0';
        if (under) {
                if (!nodeid_is_wellformed(under) || nodeid_tier(under) == TIER_NONE)
                        return -EINVAL;
                nodeid_prefix(under, prefix[*np]);
                params[*np] = prefix[*np];
                (*np)++;
                /* A prefix range on the primary key's pattern index. */
                len += (size_t)snprintf(where + len, n - len, " AND c.id LIKE $%d || '%%'", *np);
        }
        if (cat) {
                params[(*np)++] = cat;
                len += (size_t)snprintf(where + len, n - len, " AND s.category = $%d", *np);
        }
        if (status) {
                params[(*np)++] = status;
                snprintf(where + len, n - len, " AND c.status = $%d", *np);
        }
        return 0;
}

static void catalogctl_camera_query(struct control_req *q, char kind)
{
        const char *params[5];
        char where[300], select[2048], sql[2600];
        const char *limit = control_arg(q, "limit"), *page = control_arg(q, "page");
        int np = 0;
        char *end = NULL;
        long lim = limit ? strtol(limit, &end, 10) : 1000;
        struct db_tx *tx;

        if (camera_filters(q, where, sizeof(where), params, &np) < 0) {
                control_reply(q, CONTROL_USAGE, NULL, "--under must be a node ID (20 digits)", NULL);
                free(q);
                return;
        }
        if (lim < 1 || lim > 1000000 || (end && *end)) {
                control_reply(q, CONTROL_USAGE, NULL, "--limit must be from 1 to 1000000", NULL);
                free(q);
                return;
        }
        if (page && kind == 'l') {
                if (strlen(page) > 64) {
                        control_reply(q, CONTROL_USAGE, NULL, "page: not a cursor this node gave", NULL);
                        free(q);
                        return;
                }
                params[np++] = page;
                snprintf(where + strlen(where), sizeof(where) - strlen(where), " AND c.id > $%d", np);
        }
        catalogctl_page_rows(q, lim);
        q->arg_name[0] = kind;
        /* Counting joins the sites only to filter by category: a million
         * cameras under a prefix are then an index-only range count. */
        if (kind == 'c' && control_arg(q, "category")) {
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM cameras c LEFT JOIN sites s ON "
                         "s.station_id = c.station_id AND s.code = c.site_code WHERE true%s", where);
        } else if (kind == 'c') {
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM cameras c WHERE true%s", where);
        } else {
                camera_select(select, sizeof(select));
                snprintf(sql, sizeof(sql), "%s WHERE true%s ORDER BY c.id LIMIT %d", select, where, q->page_rows + 1);
        }
        tx = db_tx_new();
        db_tx_add(tx, sql, np, params, NULL, NULL);
        db_submit(catalogctl_delivery(q)->links.db, tx, catalogctl_on_rows, q);
}

void catalogctl_list(struct control_req *q)
{
        struct catalogctl_entity e;
        char sql[2400];
        const char *under = control_arg(q, "under"), *page = control_arg(q, "page");
        char prefix[16] = "", station[21] = "";
        const char *p[3] = { prefix, station, page && strlen(page) > 20 ? page + 20 : "" };
        struct db_tx *tx;

        vigil_require(catalogctl_entity_of(q->msg->command, &e));
        if (e.kind == CATALOG_CAMERA) {
                catalogctl_camera_query(q, 'l');
                return;
        }
        if (under) {
                if (!nodeid_is_wellformed(under) || nodeid_tier(under) == TIER_NONE) {
                        control_reply(q, CONTROL_USAGE, NULL, "--under must be a node ID (20 digits)", NULL);
                        free(q);
                        return;
                }
                nodeid_prefix(under, prefix);
        }
        if (page && (strlen(page) <= 20 || strlen(page) > 100 || strspn(page, "0123456789") < 20)) {
                control_reply(q, CONTROL_USAGE, NULL, "page: not a cursor this node gave", NULL);
                free(q);
                return;
        }
        if (page)
                memcpy(station, page, 20);
        q->arg_name[0] = 'l';
        catalogctl_page_rows(q, CONTROL_PAGE_ROWS);
        /* The page after the cursor: a range of the primary key's index. */
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE station_id LIKE $1 || '%%'%s ORDER BY %s "
                 "LIMIT %d", catalog_columns(e.kind), e.e->table,
                 page ? " AND (station_id, code) > ($2, $3)" : "", e.e->primary_key, q->page_rows + 1);
        tx = db_tx_new();
        db_tx_add(tx, sql, page ? 3 : 1, p, NULL, NULL);
        db_submit(catalogctl_delivery(q)->links.db, tx, catalogctl_on_rows, q);
}

void catalogctl_count(struct control_req *q)
{
        catalogctl_camera_query(q, 'c');
}

void catalogctl_show(struct control_req *q)
{
        struct catalogctl_entity e;
        const char *key, *station = control_arg(q, "station");
        char sql[2600];
        struct db_tx *tx;

        vigil_require(catalogctl_entity_of(q->msg->command, &e));
        key = control_arg(q, e.key->option);
        if (!key) {
                control_reply(q, CONTROL_USAGE, NULL, "which one? give its ID or code", NULL);
                free(q);
                return;
        }
        q->arg_name[0] = 's';
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", key);
        snprintf(q->arg_key, sizeof(q->arg_key), "%s", e.e->name);
        tx = db_tx_new();
        if (e.kind == CATALOG_CAMERA) {
                const char *p[1] = { key };
                char select[2048];
                camera_select(select, sizeof(select));
                snprintf(sql, sizeof(sql), "%s WHERE c.id = $1", select);
                db_tx_add(tx, sql, 1, p, NULL, NULL);
        } else {
                /* Codes are per station: at a station its own; elsewhere
                 * --station names which one. */
                const char *p[2] = { key, station ? station : catalogctl_delivery(q)->cfg->node_id };
                snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s = $1 AND %s = $2", catalog_columns(e.kind),
                         e.e->table, e.e->columns[e.key_col].sql, e.e->columns[e.station_col].sql);
                db_tx_add(tx, sql, 2, p, NULL, NULL);
        }
        db_submit(catalogctl_delivery(q)->links.db, tx, catalogctl_on_rows, q);
}

void catalogctl_location_types(struct control_req *q)
{
        struct db_tx *tx = db_tx_new();

        q->arg_name[0] = 'l';
        db_tx_add(tx, "SELECT code, description, forbidden AS article FROM location_types ORDER BY forbidden "
                      "NULLS FIRST, code", 0, NULL, NULL, NULL);
        db_submit(catalogctl_delivery(q)->links.db, tx, catalogctl_on_rows, q);
}

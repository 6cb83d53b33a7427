/* Writing the catalog at its station: a batch of rows is checked (here,
 * then against the database), then each good row is written with its
 * change in the outbox, through the entity's *_apply() function, as a
 * replica above would write it. add, update and remove are batches of
 * one; a camera's status alone travels as a small delta. */
#include "control/catalogctl/impl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "db/db.h"
#include "delivery/delivery.h"

/* --- a batch of rows: checked in the database, then applied --- */

struct catalogctl_batch *catalogctl_batch_new(struct control_req *q, const struct catalogctl_entity *e, int cap)
{
        struct catalogctl_batch *b = calloc(1, sizeof(*b));

        vigil_require(b != NULL);
        b->q = q;
        b->e = *e;
        b->rows = calloc(cap ? (size_t)cap : 1, sizeof(*b->rows));
        vigil_require(b->rows != NULL);
        b->rj.list = json_array();
        b->warnings = json_array();
        return b;
}

void catalogctl_batch_free(struct catalogctl_batch *b)
{
        if (!b)
                return;
        for (int i = 0; i < b->n; i++)
                catalogctl_row_clear(&b->rows[i]);
        free(b->rows);
        json_decref(b->rj.list);
        json_decref(b->warnings);
        free(b);
}

static void batch_on_applied(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct catalogctl_batch *b = arg;

        (void)tx;
        if (!err)
                link_set_kick_parent(&catalogctl_delivery(b->q)->links);
        b->done(b, err, msg);
}

static void cols_deinit(struct sqlarray *cols)
{
        for (int k = 0; k < CATALOG_MAX_COLUMNS; k++)
                sqlarray_deinit(&cols[k]);
}

static void batch_apply(struct catalogctl_batch *b)
{
        struct delivery *n = catalogctl_delivery(b->q);
        struct sqlarray cols[CATALOG_MAX_COLUMNS];
        struct db_tx *tx = db_tx_new();
        const char *up = delivery_parent_id(n);
        int ncols = b->e.e->ncolumns;

        memset(cols, 0, sizeof(cols));
        for (int i = 0; i < b->n; i++) {
                const char *const *v = (const char *const *)b->rows[i].v;
                uint8_t *buf;
                size_t len;
                int64_t ver;
                if (b->rows[i].bad)
                        continue;
                ver = delivery_next_version(n);
                vigil_require(catalog_encode_values(b->e.kind, v, ncols, ver, false, &buf, &len) == 0);
                vigil_require(catalog_cols_add(cols, b->e.kind, v, ncols, ver, false, buf, len) == 0);
                free(buf);
                if (cols[0].n == CATALOGCTL_BATCH)
                        catalog_replica_flush(tx, b->e.kind, cols, NULL, up, false);
        }
        catalog_replica_flush(tx, b->e.kind, cols, NULL, up, false);
        cols_deinit(cols);
        if (db_tx_count(tx) == 0)
                db_tx_add(tx, "SELECT 1", 0, NULL, NULL, NULL);
        db_submit(n->links.db, tx, batch_on_applied, b);
}

static void batch_on_checked(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct catalogctl_batch *b = arg;
        PGresult *res;

        if (err) {
                b->done(b, err, msg);
                return;
        }
        res = db_tx_result(tx, 0);
        for (int i = 0; i < PQntuples(res); i++) {
                int ord = atoi(PQgetvalue(res, i, 0)) - 1;
                if (ord < 0 || ord >= b->n || b->rows[ord].bad)
                        continue;
                catalogctl_reject(&b->rj, &b->rows[ord], PQgetvalue(res, i, 1),
                                  PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2), "%s", PQgetvalue(res, i, 3));
        }
        if (!b->apply || (b->rj.n > 0 && !b->skip_bad)) {
                b->done(b, 0, NULL);
                return;
        }
        batch_apply(b);
}

/* Checks that need the database, per entity: is the location type known;
 * are the site and system registered here, is the site a place where Art 8
 * forbids cameras. One statement for the whole batch over the values of
 * the named columns (NULL for rows already bad), after this station's ID
 * if `station`; it answers (row, field, article, error). */
static const struct batch_db_check {
        enum catalog_kind kind;
        bool station;
        const char *columns[2];
        const char *sql;
} batch_db_checks[] = {
        { CATALOG_SITE, false, { "location_type" },
          "SELECT u.ord, 'location_type', NULL, "
          "format('unknown location type \"%s\" (vigilctl location-types lists them)', u.lt) "
          "FROM unnest($1::text[]) WITH ORDINALITY AS u(lt, ord) "
          "LEFT JOIN location_types t ON t.code = u.lt "
          "WHERE u.lt IS NOT NULL AND t.code IS NULL" },
        /* Each distinct site and system is looked up once (a chunk of
         * thousands of cameras names a handful); only the rows naming a bad
         * one are joined back. */
        { CATALOG_CAMERA, true, { "site_code", "system_code" },
          "WITH u AS MATERIALIZED (SELECT site, sys, ord "
          "FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS u(site, sys, ord)), "
          "bad_site AS (SELECT d.site, t.forbidden, t.code AS lt, s.code IS NULL AS missing "
          "FROM (SELECT DISTINCT site FROM u WHERE site IS NOT NULL) d "
          "LEFT JOIN sites s ON s.station_id = $1 AND s.code = d.site "
          "LEFT JOIN location_types t ON t.code = s.location_type "
          "WHERE s.code IS NULL OR t.forbidden IS NOT NULL), "
          "bad_sys AS (SELECT d.sys FROM (SELECT DISTINCT sys FROM u WHERE sys IS NOT NULL) d "
          "LEFT JOIN systems y ON y.station_id = $1 AND y.code = d.sys WHERE y.code IS NULL) "
          "SELECT u.ord, 'site', b.forbidden, CASE WHEN b.missing "
          "THEN format('site \"%s\" is not registered at this station', u.site) "
          "ELSE format('%s: no camera may be installed at a %s (site \"%s\")', "
          "b.forbidden, b.lt, u.site) END "
          "FROM u JOIN bad_site b ON b.site = u.site "
          "UNION ALL "
          "SELECT u.ord, 'system', NULL, "
          "format('system \"%s\" is not registered at this station', u.sys) "
          "FROM u JOIN bad_sys b ON b.sys = u.sys ORDER BY 1" },
};

static void batch_check(struct catalogctl_batch *b)
{
        struct delivery *n = catalogctl_delivery(b->q);
        const struct batch_db_check *dc = NULL;
        struct sqlarray a[2] = { { .type = SQLARRAY_TEXT }, { .type = SQLARRAY_TEXT } };
        struct db_tx *tx = db_tx_new();
        const char *p[3];
        int lens[3] = { 0 }, fmts[3] = { 0 }, np = 0, k, col;

        for (k = 0; k < (int)(sizeof(batch_db_checks) / sizeof(batch_db_checks[0])); k++)
                if (batch_db_checks[k].kind == b->e.kind)
                        dc = &batch_db_checks[k];
        if (!dc) {
                db_tx_add(tx, "SELECT 1, '', NULL, '' WHERE false", 0, NULL, NULL, NULL);
                db_submit(n->links.db, tx, batch_on_checked, b);
                return;
        }
        if (dc->station)
                p[np++] = n->cfg->node_id;
        for (k = 0; k < 2 && dc->columns[k]; k++, np++) {
                col = catalog_column_index(b->e.kind, dc->columns[k]);
                vigil_require(col >= 0);
                for (int i = 0; i < b->n; i++)
                        sqlarray_add_text(&a[k], b->rows[i].bad ? NULL : b->rows[i].v[col]);
                sqlarray_param(&a[k], &p[np], &lens[np], &fmts[np]);
        }
        db_tx_add(tx, dc->sql, np, p, lens, fmts);
        sqlarray_deinit(&a[0]);
        sqlarray_deinit(&a[1]);
        db_submit(n->links.db, tx, batch_on_checked, b);
}

/* Art 13: a private system without a reserved interface is accepted but
 * flagged; the reply says so. */
static void batch_flag(struct catalogctl_batch *b)
{
        int builder = catalog_column_index(b->e.kind, "builder_class");
        int interface = catalog_column_index(b->e.kind, "reserved_interface");

        if (b->e.kind != CATALOG_SYSTEM)
                return;
        vigil_require(builder >= 0 && interface >= 0);
        for (int i = 0; i < b->n; i++) {
                struct catalogctl_row *r = &b->rows[i];
                if (!r->bad && r->v[builder] && strcmp(r->v[builder], "private") == 0 && !r->v[interface]) {
                        json_t *o = json_object();
                        json_object_set_new(o, "line", r->line > 0 ? json_integer(r->line) : json_null());
                        json_object_set_new(o, "code", json_string(r->v[b->e.key_col]));
                        json_object_set_new(o, "article", json_string("Art 13"));
                        json_object_set_new(o, "warning", json_string(
                                "private system without a reserved interface: accepted, flagged"));
                        json_array_append_new(b->warnings, o);
                }
        }
}

struct key_ref {
        const char *key;
        int row;
};

static int key_ref_cmp(const void *a, const void *b)
{
        const struct key_ref *x = a, *y = b;
        int c = strcmp(x->key, y->key);

        return c ? c : x->row - y->row;
}

/* The same key twice in one batch would register one row and count two:
 * every later occurrence is refused, naming the line of the first. */
static void batch_duplicates(struct catalogctl_batch *b)
{
        const char *name = b->e.key->option;
        struct key_ref *refs = calloc(b->n ? (size_t)b->n : 1, sizeof(*refs));
        int i, n = 0, first = 0;

        vigil_require(refs != NULL);
        for (i = 0; i < b->n; i++) {
                if (b->rows[i].bad || !b->rows[i].v[b->e.key_col])
                        continue;
                refs[n].key = b->rows[i].v[b->e.key_col];
                refs[n++].row = i;
        }
        qsort(refs, (size_t)n, sizeof(*refs), key_ref_cmp);
        for (i = 1; i < n; i++) {
                if (strcmp(refs[i].key, refs[first].key) != 0) {
                        first = i;
                        continue;
                }
                catalogctl_reject(&b->rj, &b->rows[refs[i].row], name, NULL, "%s %s appears twice: already on line %ld",
                                  name, refs[i].key, b->rows[refs[first].row].line);
        }
        free(refs);
}

void catalogctl_batch_run(struct catalogctl_batch *b)
{
        const char *station = catalogctl_delivery(b->q)->cfg->node_id;

        for (int i = 0; i < b->n; i++)
                if (!b->rows[i].bad)
                        catalogctl_row_check(station, &b->e, &b->rows[i], &b->rj);
        batch_duplicates(b);
        batch_flag(b);
        /* The apply pass of an import that is not to skip bad rows: the
         * check pass already listed every bad row with its line, and the
         * schema's triggers enforce the same rules inside the applying
         * transaction (a row gone bad since then refuses the whole chunk,
         * citing the article), so the per-row query would only repeat
         * the check pass on the station's busy connection. */
        if (b->trust_triggers && b->apply && !b->skip_bad) {
                if (b->rj.n > 0)
                        b->done(b, 0, NULL);
                else
                        batch_apply(b);
                return;
        }
        batch_check(b);
}

/* --- add / update / remove --- */

static const char *key_name(const struct catalogctl_entity *e)
{
        return e->key->option;
}

static void catalogctl_on_written(struct catalogctl_batch *b, int err, const char *msg)
{
        struct control_req *q = b->q;
        char art[24], e[600];

        if (err) {
                catalogctl_article(msg, art, sizeof(art));
                snprintf(e, sizeof(e), "%s%s", art[0] ? "refused: " : "", msg);
                control_reply(q, CONTROL_REFUSED, NULL, e, art[0] ? art : NULL);
        } else if (b->rj.n > 0) {
                json_t *first = json_array_get(b->rj.list, 0);
                const char *a = json_string_value(json_object_get(first, "article"));
                const char *error = json_string_value(json_object_get(first, "error"));
                /* The message already begins with the article for Art 23(6). */
                if (a && strncmp(error, a, strlen(a)) == 0)
                        snprintf(e, sizeof(e), "refused: %s", error);
                else
                        snprintf(e, sizeof(e), "refused: %s%s%s", a ? a : "", a ? ": " : "", error);
                control_reply(q, CONTROL_REFUSED, NULL, e, a);
        } else {
                json_t *doc = json_object();
                json_object_set_new(doc, "imported", json_integer(b->n));
                json_object_set_new(doc, "rejected", json_array());
                json_object_set_new(doc, "warnings", json_incref(b->warnings));
                json_object_set_new(doc, key_name(&b->e), json_string(b->rows[0].v[b->e.key_col]));
                control_reply(q, CONTROL_OK, doc, NULL, NULL);
        }
        free(q);
        catalogctl_batch_free(b);
}

void catalogctl_add(struct control_req *q)
{
        struct catalogctl_entity e;
        struct catalogctl_batch *b;

        vigil_require(catalogctl_entity_of(q->msg->command, &e));
        if (!catalogctl_station_only(q, "register"))
                return;
        b = catalogctl_batch_new(q, &e, 1);
        b->n = 1;
        b->apply = true;
        catalogctl_row_set(&b->rows[0], e.station_col, catalogctl_delivery(q)->cfg->node_id);
        catalogctl_row_from_args(&e, q, &b->rows[0]);
        b->done = catalogctl_on_written;
        catalogctl_batch_run(b);
}

/* update and remove read the current row first. */
struct pending {
        struct control_req *q;
        struct catalogctl_entity e;
        struct catalogctl_row args;    /* the options given */
        bool remove;
};

static void pending_free(struct pending *p)
{
        catalogctl_row_clear(&p->args);
        free(p->q);
        free(p);
}

static void catalogctl_on_removed(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct pending *p = arg;
        char art[24], e[600];

        (void)tx;
        if (err) {
                catalogctl_article(msg, art, sizeof(art));
                snprintf(e, sizeof(e), "refused: %s", msg);
                control_reply(p->q, CONTROL_REFUSED, NULL, e, art[0] ? art : NULL);
        } else {
                json_t *doc = json_object();
                json_object_set_new(doc, key_name(&p->e), json_string(p->args.v[p->e.key_col]));
                json_object_set_new(doc, "removed", json_true());
                link_set_kick_parent(&catalogctl_delivery(p->q)->links);
                control_reply(p->q, CONTROL_OK, doc, NULL, NULL);
        }
        pending_free(p);
}

/* A tombstone of the current row RES, newer than it, through *_apply(). */
static void catalogctl_remove_current(struct pending *p, PGresult *res)
{
        struct delivery *n = catalogctl_delivery(p->q);
        struct sqlarray cols[CATALOG_MAX_COLUMNS];
        struct db_tx *w = db_tx_new();
        int64_t ver = delivery_next_version(n);
        uint8_t *buf;
        size_t len;

        memset(cols, 0, sizeof(cols));
        vigil_require(catalog_encode_row(p->e.kind, res, 0, ver, true, &buf, &len) == 0);
        {
                const char *v[CATALOG_MAX_COLUMNS];
                int nc = PQnfields(res);
                for (int c = 0; c < nc && c < CATALOG_MAX_COLUMNS; c++)
                        v[c] = PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);
                vigil_require(catalog_cols_add(cols, p->e.kind, v, nc, ver, true, buf, len) == 0);
        }
        free(buf);
        catalog_replica_flush(w, p->e.kind, cols, NULL, delivery_parent_id(n), false);
        cols_deinit(cols);
        db_submit(n->links.db, w, catalogctl_on_removed, p);
}

static void catalogctl_on_current(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct pending *p = arg;
        const struct catalogctl_entity *e = &p->e;
        PGresult *res = db_tx_result(tx, 0);
        struct catalogctl_batch *b;

        if (err || PQntuples(res) != 1) {
                char m[300];
                if (err)
                        snprintf(m, sizeof(m), "%s", msg);
                else
                        snprintf(m, sizeof(m), "no %s \"%s\" at this station", e->e->name, p->args.v[e->key_col]);
                control_reply(p->q, CONTROL_REFUSED, NULL, m, NULL);
                pending_free(p);
                return;
        }
        if (p->remove) {
                catalogctl_remove_current(p, res);
                return;
        }
        /* The row as it is, with the options given over it (an empty one
         * clears); the key and the station stay. */
        b = catalogctl_batch_new(p->q, e, 1);
        b->n = 1;
        b->apply = true;
        b->done = catalogctl_on_written;
        for (int c = 0; c < e->e->ncolumns; c++) {
                const char *given = p->args.v[c];
                /* A presence (has_stream) is worked out again from the
                 * address as it will be. */
                if (c == e->version_col || catalog_column_derived(e->kind, c))
                        continue;
                catalogctl_row_set(&b->rows[0], c, PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c));
                if (given && c != e->key_col && c != e->station_col)
                        catalogctl_row_set(&b->rows[0], c, *given ? given : NULL);
        }
        catalogctl_row_clear(&p->args);
        free(p);
        catalogctl_batch_run(b);
}

static void catalogctl_change(struct control_req *q, bool remove)
{
        struct catalogctl_entity e;
        struct delivery *n = catalogctl_delivery(q);
        const char *key, *params[2];
        struct pending *p;
        struct db_tx *tx;
        char sql[1200];

        vigil_require(catalogctl_entity_of(q->msg->command, &e));
        key = control_arg(q, key_name(&e));
        if (!catalogctl_station_only(q, remove ? "remove" : "change"))
                return;
        if (!key) {
                control_reply(q, CONTROL_USAGE, NULL, e.key->check == CATALOG_CHECK_CAMERA_ID
                              ? "which camera? give its ID" : "which one? give its code", NULL);
                free(q);
                return;
        }
        p = calloc(1, sizeof(*p));
        vigil_require(p != NULL);
        p->q = q;
        p->e = e;
        p->remove = remove;
        catalogctl_row_from_args(&e, q, &p->args);
        catalogctl_row_set(&p->args, e.key_col, key);
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s = $1 AND %s = $2", catalog_columns(e.kind),
                 e.e->table, e.e->columns[e.key_col].sql, e.e->columns[e.station_col].sql);
        params[0] = key;
        params[1] = n->cfg->node_id;
        tx = db_tx_new();
        db_tx_add(tx, sql, 2, params, NULL, NULL);
        db_submit(n->links.db, tx, catalogctl_on_current, p);
}

static void catalogctl_on_status(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        PGresult *res = db_tx_result(tx, 0);
        json_t *doc;

        if (err || !res || strtol(PQgetvalue(res, 0, 0), NULL, 10) != 1) {
                char m[300];
                if (err)
                        snprintf(m, sizeof(m), "%s", msg);
                else
                        snprintf(m, sizeof(m), "no camera %s at this station", q->arg_id);
                control_reply(q, CONTROL_REFUSED, NULL, m, NULL);
                free(q);
                return;
        }
        link_set_kick_parent(&catalogctl_delivery(q)->links);
        doc = json_object();
        json_object_set_new(doc, "id", json_string(q->arg_id));
        json_object_set_new(doc, "status", json_string(q->arg_name));
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

/* A camera's status alone changed: a small CameraStatus delta travels up,
 * not the whole row (issue "federated catalog": status as small deltas). */
static bool catalogctl_status_only(struct control_req *q)
{
        const struct catalog_entity *cam = catalog_entity(CATALOG_CAMERA);
        const char *const *statuses = cam->columns[catalog_column_index(CATALOG_CAMERA, "status")].choices;
        struct delivery *n = catalogctl_delivery(q);
        const char *id = control_arg(q, "id"), *status = control_arg(q, "status");
        struct sqlarray cols[CATALOG_MAX_COLUMNS];
        const char *p[6];
        int lens[6] = { 0 }, fmts[6] = { 0 }, k;
        struct db_tx *tx;
        uint8_t *buf;
        size_t len, i;
        int64_t v;

        if (!id || !status || strcmp(q->msg->command, "camera.update") != 0)
                return false;
        for (i = 0; i < q->msg->n_args; i++)
                if (strcmp(q->msg->args[i]->name, "id") != 0 && strcmp(q->msg->args[i]->name, "status") != 0)
                        return false;
        for (i = 0; statuses[i] && strcmp(statuses[i], status) != 0; i++)
                ;
        if (!statuses[i]) {
                char m[200], words[120];
                catalogctl_choices(statuses, words, sizeof(words));
                snprintf(m, sizeof(m), "status must be %s", words);
                control_reply(q, CONTROL_USAGE, NULL, m, NULL);
                free(q);
                return true;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        snprintf(q->arg_name, sizeof(q->arg_name), "%s", status);
        v = delivery_next_version(n);
        vigil_require(catalog_encode_camera_status(id, status, v, &buf, &len) == 0);
        memset(cols, 0, sizeof(cols));
        catalog_cols_init(cols, CATALOG_CAMERA_STATUS);
        sqlarray_add_text(&cols[0], id);
        sqlarray_add_text(&cols[1], status);
        sqlarray_add_int64(&cols[2], v);
        sqlarray_add_bytea(&cols[3], buf, len);
        p[0] = delivery_parent_id(n);
        for (k = 0; k < 4; k++)
                sqlarray_param(&cols[k], &p[1 + k], &lens[1 + k], &fmts[1 + k]);
        p[5] = n->cfg->node_id;
        tx = db_tx_new();
        /* Only this station's own camera (and so the whole row never
         * travels for a status change). */
        db_tx_add(tx, "SELECT CASE WHEN EXISTS (SELECT 1 FROM cameras WHERE id = ($2::text[])[1] "
                      "AND station_id = $6) THEN camera_status_apply($1, $2, $3, $4, $5) ELSE 0 END",
                  6, p, lens, fmts);
        cols_deinit(cols);
        free(buf);
        db_submit(n->links.db, tx, catalogctl_on_status, q);
        return true;
}

void catalogctl_update(struct control_req *q)
{
        if (catalogctl_delivery(q)->cfg->tier == TIER_STATION &&
            control_has_role(q, POLICY_ADMIN | OFFICER_ROLE_REGISTRAR) &&
            catalogctl_status_only(q))
                return;
        catalogctl_change(q, false);
}

void catalogctl_remove(struct control_req *q)
{
        catalogctl_change(q, true);
}

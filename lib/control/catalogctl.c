#include "control/catalogctl.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/catalog.h"
#include "base/csv.h"
#include "db/db.h"
#include "base/log.h"
#include "node.h"
#include "base/nodeid.h"

/* Rows per applying statement, and most rows per import chunk. */
#define CATALOGCTL_BATCH 1000
#define CATALOGCTL_MAX_CHUNK 20000
/* Most columns an import's header may have. */
#define CATALOGCTL_MAX_HEADER 64

enum field_type { F_TEXT, F_CODE, F_CAMERA_ID, F_DOUBLE, F_BOOL, F_INT, F_DATE, F_ENUM, F_URL };

struct field {
        const char *name;              /* option and CSV column */
        int col;                       /* index in the column list */
        enum field_type type;
        bool required;
        double min, max;               /* F_DOUBLE, F_INT */
        const char *const *choices;    /* F_ENUM */
        const char *article;           /* cited when refused */
};

struct entity {
        const char *name;              /* "camera" */
        const char *table;
        int ncols;                     /* with the final version */
        int station_col;
        int key_col;                   /* camera: id; others: code */
        enum catalog_kind kind;
        const struct field *fields;
        int nfields;
        int (*encode)(const char *const *v, int64_t version, bool removed, uint8_t **ret, size_t *len);
        const char *apply_sql;         /* *_apply(NULL, uplink, false, …) */
};

static const char *const builder_classes[] = { "government", "private", NULL };
static const char *const statuses[] = { "online", "offline", "fault", "unknown", NULL };

static const struct field site_fields[] = {
        { "code", 1, F_CODE, true, 0, 0, NULL, NULL },
        { "name", 2, F_TEXT, true, 0, 0, NULL, NULL },
        { "address", 3, F_TEXT, false, 0, 0, NULL, NULL },
        { "latitude", 4, F_DOUBLE, false, -90, 90, NULL, NULL },
        { "longitude", 5, F_DOUBLE, false, -180, 180, NULL, NULL },
        { "category", 6, F_TEXT, false, 0, 0, NULL, "Art 7" },
        { "location_type", 7, F_CODE, true, 0, 0, NULL, NULL },
        { "signage", 8, F_BOOL, false, 0, 0, NULL, "Art 10" },
        { "owner", 9, F_TEXT, false, 0, 0, NULL, NULL },
};

static const struct field system_fields[] = {
        { "code", 1, F_CODE, true, 0, 0, NULL, NULL },
        { "name", 2, F_TEXT, true, 0, 0, NULL, NULL },
        { "builder_class", 3, F_ENUM, true, 0, 0, builder_classes, "Art 9" },
        { "responsible_entity", 4, F_TEXT, true, 0, 0, NULL, "Art 9" },
        { "maintainer", 5, F_TEXT, false, 0, 0, NULL, "Art 21" },
        { "maintenance_agreement", 6, F_TEXT, false, 0, 0, NULL, "Art 21" },
        { "installer", 7, F_TEXT, false, 0, 0, NULL, "Art 14" },
        { "installer_licence", 8, F_TEXT, false, 0, 0, NULL, "Art 14" },
        { "commissioned_on", 9, F_DATE, false, 0, 0, NULL, "Art 11" },
        { "accepted_on", 10, F_DATE, false, 0, 0, NULL, "Art 16" },
        { "reserved_interface", 11, F_URL, false, 0, 0, NULL, "Art 13" },
        { "retention_days", 12, F_INT, true, 15, 36500, NULL, "Art 23(6)" },
};

static const struct field camera_fields[] = {
        { "id", 0, F_CAMERA_ID, true, 0, 0, NULL, NULL },
        { "name", 2, F_TEXT, true, 0, 0, NULL, NULL },
        { "system", 3, F_CODE, true, 0, 0, NULL, NULL },
        { "site", 4, F_CODE, true, 0, 0, NULL, NULL },
        { "stream_url", 5, F_URL, false, 0, 0, NULL, NULL },
        { "codec", 6, F_TEXT, false, 0, 0, NULL, NULL },
        { "resolution", 7, F_TEXT, false, 0, 0, NULL, NULL },
        { "latitude", 8, F_DOUBLE, false, -90, 90, NULL, NULL },
        { "longitude", 9, F_DOUBLE, false, -180, 180, NULL, NULL },
        { "bearing", 10, F_DOUBLE, false, 0, 359.999999, NULL, NULL },
        { "field_of_view", 11, F_DOUBLE, false, 0.000001, 360, NULL, NULL },
        { "ptz", 12, F_BOOL, false, 0, 0, NULL, NULL },
        { "status", 13, F_ENUM, false, 0, 0, statuses, NULL },
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct entity entities[] = {
        { "site", "sites", 11, 0, 1, CATALOG_SITE, site_fields, N(site_fields),
          catalog_encode_site,
          "SELECT site_apply(NULL, $1, false, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)" },
        { "system", "systems", 14, 0, 1, CATALOG_SYSTEM, system_fields,
          N(system_fields), catalog_encode_system,
          "SELECT system_apply(NULL, $1, false, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
          "$15, $16, $17)" },
        { "camera", "cameras", 15, 1, 0, CATALOG_CAMERA, camera_fields,
          N(camera_fields), catalog_encode_camera,
          "SELECT camera_apply(NULL, $1, false, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
          "$15, $16, $17, $18)" },
};

/* --- one row --- */

/* A row being registered: values in column-list order, owned. */
struct row {
        char *v[CATALOG_MAX_COLUMNS];
        long line;                     /* CSV line, 0 for add/update */
        bool bad;
};

static void row_clear(struct row *r)
{
        int c;

        for (c = 0; c < CATALOG_MAX_COLUMNS; c++) {
                free(r->v[c]);
                r->v[c] = NULL;
        }
}

static void row_set(struct row *r, int col, const char *value)
{
        free(r->v[col]);
        r->v[col] = value ? strdup(value) : NULL;
        vigil_require(!value || r->v[col]);
}

/* A refusal of one row: what JSON "rejected" lists. */
struct rejection {
        long line;
        char field[40];
        char error[400];
        char article[16];
};

struct rejections {
        json_t *list;                  /* [{line, field, error, article}] */
        size_t n;
};

static void reject(struct rejections *rj, struct row *r, const char *field, const char *article,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void reject(struct rejections *rj, struct row *r, const char *field, const char *article,
                   const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        json_t *o;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        r->bad = true;
        rj->n++;
        /* A file full of errors should not make a reply of unbounded size. */
        if (json_array_size(rj->list) >= 1000)
                return;
        o = json_object();
        json_object_set_new(o, "line", r->line > 0 ? json_integer(r->line) : json_null());
        json_object_set_new(o, "field", field ? json_string(field) : json_null());
        json_object_set_new(o, "error", json_string(msg));
        json_object_set_new(o, "article", article ? json_string(article) : json_null());
        json_array_append_new(rj->list, o);
}

/* The value checks, written out: an import checks millions of values, and
 * a regular expression per value was a good part of a station's work. */

/* Art 7: "7.1" to "7.12". */
static bool is_art7_category(const char *s)
{
        if (strncmp(s, "7.", 2) != 0)
                return false;
        s += 2;
        if (s[0] >= '1' && s[0] <= '9' && s[1] == '\0')
                return true;
        return s[0] == '1' && s[1] >= '0' && s[1] <= '2' && s[2] == '\0';
}

/* 1 to 64 of letters, digits, '.', '_', '-'. */
static bool is_code(const char *s)
{
        size_t n = 0;

        for (; s[n]; n++)
                if (!(isascii((unsigned char)s[n]) && isalnum((unsigned char)s[n])) &&
                    s[n] != '.' && s[n] != '_' && s[n] != '-')
                        return false;
        return n >= 1 && n <= 64;
}

static bool is_one_of(const char *s, const char *const *words)
{
        for (; *words; words++)
                if (strcmp(s, *words) == 0)
                        return true;
        return false;
}

/* YYYY-MM-DD, digits where digits go (the database checks the calendar). */
static bool is_date(const char *s)
{
        for (int i = 0; i < 10; i++)
                if (i == 4 || i == 7 ? s[i] != '-' : !(s[i] >= '0' && s[i] <= '9'))
                        return false;
        return s[10] == '\0';
}

/* rtsp://, rtsps://, http:// or https:// and something, no white space. */
static bool is_url(const char *s)
{
        static const char *const schemes[] = { "rtsp://", "rtsps://", "http://", "https://", NULL };
        const char *const *sc;

        for (sc = schemes; *sc; sc++)
                if (strncmp(s, *sc, strlen(*sc)) == 0)
                        break;
        if (!*sc)
                return false;
        s += strlen(*sc);
        if (!*s)
                return false;
        for (; *s; s++)
                if (isspace((unsigned char)*s))
                        return false;
        return true;
}

static const char *const yes_words[] = { "1", "t", "true", "y", "yes", NULL };
static const char *const no_words[] = { "0", "f", "false", "n", "no", NULL };

/* Normalise and check one value; false (with a rejection) if refused. */
static bool field_check(const struct node *n, const struct field *f, struct row *r, struct rejections *rj)
{
        char *v = r->v[f->col], *end;
        double d;
        long l;

        if (!v || !*v) {
                row_set(r, f->col, NULL);
                if (f->required) {
                        reject(rj, r, f->name, f->article, "%s is required", f->name);
                        return false;
                }
                return true;
        }
        switch (f->type) {
        case F_TEXT:
                if (strlen(v) > 200) {
                        reject(rj, r, f->name, NULL, "%s is longer than 200 characters", f->name);
                        return false;
                }
                if (f->article && strcmp(f->name, "category") == 0 && !is_art7_category(v)) {
                        reject(rj, r, f->name, "Art 7", "category \"%s\" is not an Art 7 category (7.1 to 7.12)", v);
                        return false;
                }
                return true;
        case F_CODE:
                if (!is_code(v)) {
                        reject(rj, r, f->name, NULL, "%s \"%s\": use 1 to 64 letters, digits, '.', '_' or '-'",
                               f->name, v);
                        return false;
                }
                return true;
        case F_CAMERA_ID: {
                int type;
                if (!nodeid_is_wellformed(v)) {
                        reject(rj, r, f->name, "Art 15", "camera ID \"%s\" is not 20 digits (GB/T 28181)", v);
                        return false;
                }
                type = nodeid_type(v);
                if (type != 131 && type != 132) {
                        reject(rj, r, f->name, "Art 15", "camera ID %s has type %03d; a camera is 131 or 132", v, type);
                        return false;
                }
                if (strncmp(v, n->cfg.node_id, 8) != 0) {
                        reject(rj, r, f->name, "Art 15", "camera ID %s is outside this station: its centre code "
                               "must be %.8s", v, n->cfg.node_id);
                        return false;
                }
                return true;
        }
        case F_DOUBLE:
                d = strtod(v, &end);
                if (*end || end == v || !isfinite(d) || d < f->min || d > f->max) {
                        reject(rj, r, f->name, NULL, "%s \"%s\" is not a number from %g to %g", f->name, v,
                               f->min, f->max);
                        return false;
                }
                return true;
        case F_INT:
                l = strtol(v, &end, 10);
                if (*end || end == v) {
                        reject(rj, r, f->name, f->article, "%s \"%s\" is not a whole number", f->name, v);
                        return false;
                }
                if (l < (long)f->min) {
                        /* Art 23(6): footage is kept at least 15 days. */
                        reject(rj, r, f->name, f->article, "%s: %s is %ld, at least %ld is required", f->article,
                               f->name, l, (long)f->min);
                        return false;
                }
                if (l > (long)f->max) {
                        reject(rj, r, f->name, NULL, "%s %ld is more than %ld", f->name, l, (long)f->max);
                        return false;
                }
                return true;
        case F_BOOL:
                if (is_one_of(v, yes_words)) {
                        row_set(r, f->col, "t");
                } else if (is_one_of(v, no_words)) {
                        row_set(r, f->col, "f");
                } else {
                        reject(rj, r, f->name, NULL, "%s \"%s\": use yes or no", f->name, v);
                        return false;
                }
                return true;
        case F_DATE:
                if (!is_date(v)) {
                        reject(rj, r, f->name, NULL, "%s \"%s\" is not a date (YYYY-MM-DD)", f->name, v);
                        return false;
                }
                return true;
        case F_ENUM: {
                const char *const *c;
                for (c = f->choices; *c; c++)
                        if (strcmp(*c, v) == 0)
                                return true;
                reject(rj, r, f->name, f->article, "%s \"%s\" is not one of the allowed values", f->name, v);
                return false;
        }
        case F_URL:
                if (!is_url(v)) {
                        reject(rj, r, f->name, f->article, "%s \"%s\" is not an rtsp:// or http:// URL", f->name, v);
                        return false;
                }
                return true;
        }
        return true;
}

static bool row_check(const struct node *n, const struct entity *e, struct row *r, struct rejections *rj)
{
        int i;

        for (i = 0; i < e->nfields; i++)
                if (!field_check(n, &e->fields[i], r, rj))
                        return false;
        return true;
}

/* --- a batch of rows: checked in the database, then applied --- */

struct batch {
        struct control_req *q;
        const struct entity *e;
        struct row *rows;
        int n;
        bool apply;                    /* false: check only */
        bool skip_bad;
        bool trust_triggers;           /* no per-row database check: see batch_run */
        struct rejections rj;
        long warnings_art13;
        json_t *warnings;
        void (*done)(struct batch *b, int err, const char *msg);
};

static void batch_free(struct batch *b)
{
        int i;

        for (i = 0; i < b->n; i++)
                row_clear(&b->rows[i]);
        free(b->rows);
        json_decref(b->rj.list);
        json_decref(b->warnings);
        free(b);
}

/* Map a refusal raised by the schema (SQLSTATE VG…, message beginning with
 * the article) to an article for the reply. */
static void batch_article(const char *msg, char *art, size_t n)
{
        const char *p = strstr(msg, "Art ");
        size_t k = 0;

        art[0] = '\0';
        if (!p)
                return;
        while (p[k] && p[k] != ':' && k + 1 < n)
                k++;
        snprintf(art, n, "%.*s", (int)k, p);
}

static void batch_on_applied(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct batch *b = arg;

        (void)tx;
        if (!err)
                node_kick_uplink(b->q->c->node);
        b->done(b, err, msg);
}

/* Add the entity's *_apply() statement for the rows collected in COLS (if
 * any), and empty them. */
static void entity_apply_add(struct db_tx *tx, const struct entity *e, const char *uplink,
                             struct sqlarray *cols)
{
        const char *p[1 + CATALOG_MAX_COLUMNS];
        int lens[1 + CATALOG_MAX_COLUMNS], fmts[1 + CATALOG_MAX_COLUMNS];
        int k, ncols = e->ncols + 2;

        if (cols[0].n == 0)
                return;
        p[0] = uplink;
        lens[0] = fmts[0] = 0;
        for (k = 0; k < ncols; k++)
                sqlarray_param(&cols[k], &p[1 + k], &lens[1 + k], &fmts[1 + k]);
        db_tx_add(tx, e->apply_sql, 1 + ncols, p, lens, fmts);
        for (k = 0; k < ncols; k++)
                sqlarray_reset(&cols[k]);
}

static void batch_apply(struct batch *b)
{
        struct node *n = b->q->c->node;
        const struct entity *e = b->e;
        struct sqlarray cols[CATALOG_MAX_COLUMNS];
        struct db_tx *tx = db_tx_new();
        const char *up = node_uplink_peer(n);
        int i, k;

        memset(cols, 0, sizeof(cols));
        for (i = 0; i < b->n; i++) {
                struct row *r = &b->rows[i];
                uint8_t *buf;
                size_t len;
                int64_t v;
                if (r->bad)
                        continue;
                v = node_next_version(n);
                vigil_require(e->encode((const char *const *)r->v, v, false, &buf, &len) == 0);
                vigil_require(catalog_cols_add(cols, e->kind, (const char *const *)r->v, e->ncols, v, false,
                                               buf, len) == 0);
                free(buf);
                if (cols[0].n == CATALOGCTL_BATCH)
                        entity_apply_add(tx, e, up, cols);
        }
        entity_apply_add(tx, e, up, cols);
        for (k = 0; k < CATALOG_MAX_COLUMNS; k++)
                sqlarray_deinit(&cols[k]);
        if (db_tx_count(tx) == 0)
                db_tx_add(tx, "SELECT 1", 0, NULL, NULL, NULL);
        db_submit(n->db, tx, batch_on_applied, b);
}

static void batch_on_checked(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct batch *b = arg;
        PGresult *res;
        int i;

        if (err) {
                b->done(b, err, msg);
                return;
        }
        res = db_tx_result(tx, 0);
        for (i = 0; i < PQntuples(res); i++) {
                int ord = atoi(PQgetvalue(res, i, 0)) - 1;
                if (ord < 0 || ord >= b->n || b->rows[ord].bad)
                        continue;
                reject(&b->rj, &b->rows[ord], PQgetvalue(res, i, 1),
                       PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2), "%s", PQgetvalue(res, i, 3));
        }
        if (!b->apply || (b->rj.n > 0 && !b->skip_bad)) {
                b->done(b, 0, NULL);
                return;
        }
        batch_apply(b);
}

/* Checks that need the database: is the location type known, the site and
 * system registered here, is the site a place where Art 8 forbids cameras.
 * One statement for the whole batch; answers (row, field, article, error). */
static void batch_check(struct batch *b)
{
        struct node *n = b->q->c->node;
        struct sqlarray a1 = { .type = SQLARRAY_TEXT }, a2 = { .type = SQLARRAY_TEXT };
        struct db_tx *tx = db_tx_new();
        int i, lens[3] = { 0 }, fmts[3] = { 0 };

        for (i = 0; i < b->n; i++) {
                struct row *r = &b->rows[i];
                if (b->e->kind == CATALOG_SITE) {
                        sqlarray_add_text(&a1, r->bad ? NULL : r->v[7]);
                } else if (b->e->kind == CATALOG_CAMERA) {
                        sqlarray_add_text(&a1, r->bad ? NULL : r->v[4]);
                        sqlarray_add_text(&a2, r->bad ? NULL : r->v[3]);
                }
        }
        if (b->e->kind == CATALOG_SITE) {
                const char *p[1];
                sqlarray_param(&a1, &p[0], &lens[0], &fmts[0]);
                db_tx_add(tx, "SELECT u.ord, 'location_type', NULL, "
                              "format('unknown location type \"%s\" (vigilctl location-types lists them)', u.lt) "
                              "FROM unnest($1::text[]) WITH ORDINALITY AS u(lt, ord) "
                              "LEFT JOIN location_types t ON t.code = u.lt "
                              "WHERE u.lt IS NOT NULL AND t.code IS NULL", 1, p, lens, fmts);
        } else if (b->e->kind == CATALOG_CAMERA) {
                const char *p[3] = { n->cfg.node_id, NULL, NULL };
                sqlarray_param(&a1, &p[1], &lens[1], &fmts[1]);
                sqlarray_param(&a2, &p[2], &lens[2], &fmts[2]);
                /* Each distinct site and system is looked up once (a chunk
                 * of thousands of cameras names a handful); only the rows
                 * naming a bad one are joined back. */
                db_tx_add(tx, "WITH u AS MATERIALIZED (SELECT site, sys, ord "
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
                              "FROM u JOIN bad_sys b ON b.sys = u.sys ORDER BY 1", 3, p, lens, fmts);
        } else {
                db_tx_add(tx, "SELECT 1, '', NULL, '' WHERE false", 0, NULL, NULL, NULL);
        }
        sqlarray_deinit(&a1);
        sqlarray_deinit(&a2);
        db_submit(n->db, tx, batch_on_checked, b);
}

/* Art 13: a private system without a reserved interface is accepted but
 * flagged; the reply says so. */
static void batch_flag(struct batch *b)
{
        int i;

        if (b->e->kind != CATALOG_SYSTEM)
                return;
        for (i = 0; i < b->n; i++) {
                struct row *r = &b->rows[i];
                if (!r->bad && r->v[3] && strcmp(r->v[3], "private") == 0 && !r->v[11]) {
                        json_t *o = json_object();
                        json_object_set_new(o, "line", r->line > 0 ? json_integer(r->line) : json_null());
                        json_object_set_new(o, "code", json_string(r->v[1]));
                        json_object_set_new(o, "article", json_string("Art 13"));
                        json_object_set_new(o, "warning", json_string(
                                "private system without a reserved interface: accepted, flagged"));
                        json_array_append_new(b->warnings, o);
                }
        }
}

static struct batch *batch_new(struct control_req *q, const struct entity *e, int cap)
{
        struct batch *b = calloc(1, sizeof(*b));

        vigil_require(b != NULL);
        b->q = q;
        b->e = e;
        b->rows = calloc(cap ? cap : 1, sizeof(*b->rows));
        vigil_require(b->rows != NULL);
        b->rj.list = json_array();
        b->warnings = json_array();
        return b;
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
static void batch_duplicates(struct batch *b)
{
        const struct field *kf = &b->e->fields[0];  /* the key: id or code */
        struct key_ref *refs = calloc(b->n ? b->n : 1, sizeof(*refs));
        int i, n = 0, first = 0;

        vigil_require(refs != NULL);
        for (i = 0; i < b->n; i++) {
                if (b->rows[i].bad || !b->rows[i].v[b->e->key_col])
                        continue;
                refs[n].key = b->rows[i].v[b->e->key_col];
                refs[n++].row = i;
        }
        qsort(refs, (size_t)n, sizeof(*refs), key_ref_cmp);
        for (i = 1; i < n; i++) {
                if (strcmp(refs[i].key, refs[first].key) != 0) {
                        first = i;
                        continue;
                }
                reject(&b->rj, &b->rows[refs[i].row], kf->name, NULL,
                       "%s %s appears twice: already on line %ld", kf->name, refs[i].key,
                       b->rows[refs[first].row].line);
        }
        free(refs);
}

static void batch_run(struct batch *b)
{
        int i;

        for (i = 0; i < b->n; i++)
                if (!b->rows[i].bad)
                        row_check(b->q->c->node, b->e, &b->rows[i], &b->rj);
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

static const struct entity *entity_of(const char *command)
{
        int i;

        for (i = 0; i < N(entities); i++) {
                size_t l = strlen(entities[i].name);
                if (strncmp(command, entities[i].name, l) == 0 && command[l] == '.')
                        return &entities[i];
        }
        return NULL;
}

static bool catalogctl_station_only(struct control_req *q, const char *what)
{
        struct node *n = q->c->node;
        char e[200];

        if (n->cfg.tier == TIER_STATION && strncmp(q->user, "admin:", 6) == 0)
                return true;
        if (n->cfg.tier != TIER_STATION)
                snprintf(e, sizeof(e), "refused: only the owning station %ss the catalog; this node is a %s "
                         "(Art 4: no node re-registers what another owns)", what, tier_name(n->cfg.tier));
        else
                snprintf(e, sizeof(e), "refused: only an admin or registrar of this station %ss the catalog", what);
        control_reply(q, CONTROL_REFUSED, NULL, e, NULL);
        free(q);
        return false;
}

static void catalogctl_on_written(struct batch *b, int err, const char *msg)
{
        struct control_req *q = b->q;
        char art[24];

        if (err) {
                char e[600];
                batch_article(msg, art, sizeof(art));
                snprintf(e, sizeof(e), "%s%s", art[0] ? "refused: " : "", msg);
                control_reply(q, CONTROL_REFUSED, NULL, e, art[0] ? art : NULL);
        } else if (b->rj.n > 0) {
                json_t *first = json_array_get(b->rj.list, 0);
                char e[600];
                const char *a = json_string_value(json_object_get(first, "article"));
                snprintf(e, sizeof(e), "refused: %s%s%s", a ? a : "", a ? ": " : "",
                         json_string_value(json_object_get(first, "error")));
                /* The message already begins with the article for Art 23(6). */
                if (a && strncmp(json_string_value(json_object_get(first, "error")), a, strlen(a)) == 0)
                        snprintf(e, sizeof(e), "refused: %s", json_string_value(json_object_get(first, "error")));
                control_reply(q, CONTROL_REFUSED, NULL, e, a);
        } else {
                json_t *doc = json_object();
                json_object_set_new(doc, "imported", json_integer(b->n));
                json_object_set_new(doc, "rejected", json_array());
                json_object_set_new(doc, "warnings", json_incref(b->warnings));
                json_object_set_new(doc, b->e->key_col == 0 ? "id" : "code",
                                    json_string(b->rows[0].v[b->e->key_col]));
                control_reply(q, CONTROL_OK, doc, NULL, NULL);
        }
        free(q);
        batch_free(b);
}

static void row_from_args(const struct entity *e, struct control_req *q, struct row *r)
{
        int i;

        for (i = 0; i < e->nfields; i++) {
                const char *v = control_arg(q, e->fields[i].name);
                if (v)
                        row_set(r, e->fields[i].col, v);
        }
}

static void catalogctl_add(struct control_req *q)
{
        const struct entity *e = entity_of(q->msg->command);
        struct node *n = q->c->node;
        struct batch *b;

        if (!catalogctl_station_only(q, "register"))
                return;
        b = batch_new(q, e, 1);
        b->n = 1;
        b->apply = true;
        row_set(&b->rows[0], e->station_col, n->cfg.node_id);
        row_from_args(e, q, &b->rows[0]);
        b->done = catalogctl_on_written;
        batch_run(b);
}

/* update and remove read the current row first. */
struct pending {
        struct control_req *q;
        const struct entity *e;
        struct row args;               /* the options given */
        bool remove;
};

static void catalogctl_on_removed(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct pending *p = arg;
        char art[24];

        (void)tx;
        if (err) {
                char e[600];
                batch_article(msg, art, sizeof(art));
                snprintf(e, sizeof(e), "refused: %s", msg);
                control_reply(p->q, CONTROL_REFUSED, NULL, e, art[0] ? art : NULL);
        } else {
                json_t *doc = json_object();
                json_object_set_new(doc, p->e->key_col == 0 ? "id" : "code",
                                    json_string(p->args.v[p->e->key_col]));
                json_object_set_new(doc, "removed", json_true());
                node_kick_uplink(p->q->c->node);
                control_reply(p->q, CONTROL_OK, doc, NULL, NULL);
        }
        row_clear(&p->args);
        free(p->q);
        free(p);
}

static void catalogctl_on_current(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct pending *p = arg;
        struct node *n = p->q->c->node;
        const struct entity *e = p->e;
        PGresult *res = db_tx_result(tx, 0);
        int c;

        if (err || PQntuples(res) != 1) {
                char m[300];
                snprintf(m, sizeof(m), err ? "%s" : "no %s \"%s\" at this station", err ? msg : e->name,
                         p->args.v[e->key_col]);
                control_reply(p->q, CONTROL_REFUSED, NULL, m, NULL);
                row_clear(&p->args);
                free(p->q);
                free(p);
                return;
        }
        if (p->remove) {
                struct sqlarray cols[CATALOG_MAX_COLUMNS];
                const char *v[CATALOG_MAX_COLUMNS] = { 0 };
                struct db_tx *w = db_tx_new();
                uint8_t *buf;
                size_t len;
                int64_t ver = node_next_version(n);
                memset(cols, 0, sizeof(cols));
                for (c = 0; c < e->ncols; c++)
                        v[c] = PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c);
                vigil_require(e->encode(v, ver, true, &buf, &len) == 0);
                vigil_require(catalog_cols_add(cols, e->kind, v, e->ncols, ver, true, buf, len) == 0);
                free(buf);
                entity_apply_add(w, e, node_uplink_peer(n), cols);
                for (c = 0; c < CATALOG_MAX_COLUMNS; c++)
                        sqlarray_deinit(&cols[c]);
                db_submit(n->db, w, catalogctl_on_removed, p);
                return;
        }
        {
                struct batch *b = batch_new(p->q, e, 1);
                b->n = 1;
                b->apply = true;
                b->done = catalogctl_on_written;
                for (c = 0; c < e->ncols - 1; c++)
                        row_set(&b->rows[0], c, PQgetisnull(res, 0, c) ? NULL : PQgetvalue(res, 0, c));
                for (c = 0; c < e->ncols - 1; c++)
                        if (p->args.v[c] && c != e->key_col && c != e->station_col)
                                row_set(&b->rows[0], c, *p->args.v[c] ? p->args.v[c] : NULL);
                row_clear(&p->args);
                free(p);
                batch_run(b);
        }
}

static void catalogctl_change(struct control_req *q, bool remove)
{
        const struct entity *e = entity_of(q->msg->command);
        struct node *n = q->c->node;
        const char *key = control_arg(q, e->key_col == 0 ? "id" : "code");
        struct pending *p;
        struct db_tx *tx;
        char sql[600];

        if (!catalogctl_station_only(q, remove ? "remove" : "change"))
                return;
        if (!key) {
                control_reply(q, CONTROL_USAGE, NULL, e->key_col == 0 ? "which camera? give its ID"
                                                                       : "which one? give its code", NULL);
                free(q);
                return;
        }
        p = calloc(1, sizeof(*p));
        vigil_require(p != NULL);
        p->q = q;
        p->e = e;
        p->remove = remove;
        row_from_args(e, q, &p->args);
        row_set(&p->args, e->key_col, key);
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE %s = $1 AND station_id = $2", catalog_columns(e->kind),
                 e->table, e->key_col == 0 ? "id" : "code");
        {
                const char *params[2] = { key, n->cfg.node_id };
                tx = db_tx_new();
                db_tx_add(tx, sql, 2, params, NULL, NULL);
        }
        db_submit(n->db, tx, catalogctl_on_current, p);
}

static void catalogctl_on_status(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        PGresult *res = db_tx_result(tx, 0);
        json_t *doc;

        if (err || !res || strtol(PQgetvalue(res, 0, 0), NULL, 10) != 1) {
                char m[300];
                snprintf(m, sizeof(m), err ? "%s" : "no camera %s at this station", err ? msg : q->arg_id);
                control_reply(q, CONTROL_REFUSED, NULL, m, NULL);
                free(q);
                return;
        }
        node_kick_uplink(q->c->node);
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
        struct node *n = q->c->node;
        const char *id = control_arg(q, "id"), *status = control_arg(q, "status");
        const char *const *s;
        char version[24];
        struct db_tx *tx;
        uint8_t *buf;
        size_t len, i;
        int64_t v;

        if (!id || !status || strcmp(q->msg->command, "camera.update") != 0)
                return false;
        for (i = 0; i < q->msg->n_args; i++)
                if (strcmp(q->msg->args[i]->name, "id") != 0 && strcmp(q->msg->args[i]->name, "status") != 0)
                        return false;
        for (s = statuses; *s; s++)
                if (strcmp(*s, status) == 0)
                        break;
        if (!*s) {
                control_reply(q, CONTROL_USAGE, NULL, "status must be online, offline, fault or unknown", NULL);
                free(q);
                return true;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        snprintf(q->arg_name, sizeof(q->arg_name), "%s", status);
        v = node_next_version(n);
        vigil_require(catalog_encode_camera_status(id, status, v, &buf, &len) == 0);
        snprintf(version, sizeof(version), "%" PRId64, v);
        {
                struct sqlarray cols[CATALOG_MAX_COLUMNS];
                const char *p[6];
                int lens[6] = { 0 }, fmts[6] = { 0 }, k;
                memset(cols, 0, sizeof(cols));
                catalog_cols_init(cols, CATALOG_CAMERA_STATUS);
                sqlarray_add_text(&cols[0], id);
                sqlarray_add_text(&cols[1], status);
                sqlarray_add_int64(&cols[2], v);
                sqlarray_add_bytea(&cols[3], buf, len);
                p[0] = node_uplink_peer(n);
                for (k = 0; k < 4; k++)
                        sqlarray_param(&cols[k], &p[1 + k], &lens[1 + k], &fmts[1 + k]);
                p[5] = n->cfg.node_id;
                tx = db_tx_new();
                /* Only this station's own camera (and so the whole row never
                 * travels for a status change). */
                db_tx_add(tx, "SELECT CASE WHEN EXISTS (SELECT 1 FROM cameras WHERE id = ($2::text[])[1] "
                              "AND station_id = $6) THEN camera_status_apply($1, $2, $3, $4, $5) ELSE 0 END",
                          6, p, lens, fmts);
                for (k = 0; k < 4; k++)
                        sqlarray_deinit(&cols[k]);
        }
        free(buf);
        db_submit(n->db, tx, catalogctl_on_status, q);
        return true;
}

static void catalogctl_update(struct control_req *q)
{
        if (q->c->node->cfg.tier == TIER_STATION && strncmp(q->user, "admin:", 6) == 0 &&
            catalogctl_status_only(q))
                return;
        catalogctl_change(q, false);
}

static void catalogctl_remove(struct control_req *q)
{
        catalogctl_change(q, true);
}

/* --- import: a chunk of CSV lines, checked or applied --- */

static void catalogctl_on_imported(struct batch *b, int err, const char *msg)
{
        struct control_req *q = b->q;
        json_t *doc;
        int i, good = 0;

        if (err) {
                char e[600], art[24];
                batch_article(msg, art, sizeof(art));
                snprintf(e, sizeof(e), "import failed: %s", msg);
                control_reply(q, CONTROL_REFUSED, NULL, e, art[0] ? art : NULL);
        } else {
                for (i = 0; i < b->n; i++)
                        good += !b->rows[i].bad;
                doc = json_object();
                json_object_set_new(doc, "checked", json_integer(b->n));
                json_object_set_new(doc, "imported",
                                    json_integer(b->apply && (b->rj.n == 0 || b->skip_bad) ? good : 0));
                json_object_set_new(doc, "rejected_count", json_integer((json_int_t)b->rj.n));
                json_object_set_new(doc, "rejected", json_incref(b->rj.list));
                json_object_set_new(doc, "warnings", json_incref(b->warnings));
                control_reply(q, CONTROL_OK, doc, NULL, NULL);
        }
        free(q);
        batch_free(b);
}

static void catalogctl_import(struct control_req *q)
{
        const struct entity *e = entity_of(q->msg->command);
        struct node *n = q->c->node;
        const char *header = control_arg(q, "header"), *rows = control_arg(q, "rows");
        const char *first = control_arg(q, "first_line"), *mode = control_arg(q, "mode");
        const char *skip = control_arg(q, "skip_bad");
        /* One entry per header column: a header has at most
         * CATALOGCTL_MAX_HEADER columns (csv_split_line refuses more). */
        int map[CATALOGCTL_MAX_HEADER];
        char *fields[CATALOGCTL_MAX_HEADER];
        int nf, nh, i, k;
        struct batch *b;
        struct csv_reader rd;
        long line;

        if (!catalogctl_station_only(q, "register"))
                return;
        if (!header || !rows) {
                control_reply(q, CONTROL_USAGE, NULL, "import needs a header and rows", NULL);
                free(q);
                return;
        }
        /* Map the header's columns to fields; unknown columns are refused so
         * that a typo does not silently drop data. */
        nh = csv_split_line(header, fields, CATALOGCTL_MAX_HEADER);
        if (nh <= 0) {
                control_reply(q, CONTROL_REFUSED, NULL, "line 1: the header is not valid CSV (or has more than "
                              "64 columns)", NULL);
                free(q);
                return;
        }
        for (i = 0; i < nh; i++) {
                char m[300];
                int dup = -1;
                map[i] = -1;
                for (k = 0; k < e->nfields; k++)
                        if (strcmp(fields[i], e->fields[k].name) == 0)
                                map[i] = e->fields[k].col;
                /* A column named twice would fill one value from two
                 * places: which one wins is no answer to give a user. */
                for (k = 0; k < i && map[i] >= 0; k++)
                        if (map[k] == map[i])
                                dup = k;
                if (map[i] < 0)
                        snprintf(m, sizeof(m), "line 1, column %d: unknown column \"%s\" for a %s file", i + 1,
                                 fields[i], e->name);
                else if (dup >= 0)
                        snprintf(m, sizeof(m), "line 1, column %d: column \"%s\" appears twice (also column %d)",
                                 i + 1, fields[i], dup + 1);
                if (map[i] < 0 || dup >= 0) {
                        csv_free_fields(fields, nh);
                        control_reply(q, CONTROL_REFUSED, NULL, m, NULL);
                        free(q);
                        return;
                }
        }
        csv_free_fields(fields, nh);
        b = batch_new(q, e, CATALOGCTL_MAX_CHUNK);
        b->apply = mode && strcmp(mode, "apply") == 0;
        b->skip_bad = skip && strcmp(skip, "true") == 0;
        b->trust_triggers = true;
        b->done = catalogctl_on_imported;
        line = first ? strtol(first, NULL, 10) : 2;
        csv_reader_init(&rd, rows, strlen(rows));
        while (b->n < CATALOGCTL_MAX_CHUNK) {
                struct row *r = &b->rows[b->n];
                long at = line + rd.line - 1;
                nf = csv_next(&rd, fields, CATALOGCTL_MAX_HEADER);
                if (nf == 0)
                        break;
                r->line = at;
                row_set(r, e->station_col, n->cfg.node_id);
                if (nf < 0) {
                        reject(&b->rj, r, NULL, NULL, "not valid CSV (an unterminated quote?)");
                        b->n++;
                        break;
                }
                if (nf != nh) {
                        reject(&b->rj, r, NULL, NULL, "has %d fields, the header has %d", nf, nh);
                } else {
                        for (i = 0; i < nh; i++)
                                row_set(r, map[i], fields[i]);
                }
                csv_free_fields(fields, nf);
                b->n++;
        }
        batch_run(b);
}

/* --- show / list / count (any tier) --- */

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

static json_t *row_object(const PGresult *res, int i)
{
        json_t *o = json_object();
        int c;

        for (c = 0; c < PQnfields(res); c++)
                json_object_set_new(o, PQfname(res, c), json_value(res, i, c));
        return o;
}

static void catalogctl_on_rows(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        PGresult *res = db_tx_result(tx, 0);
        json_t *doc;
        int i;

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
                doc = row_object(res, 0);
        } else if (q->arg_name[0] == 'c') {    /* count */
                doc = json_object();
                json_object_set_new(doc, "count", json_integer(strtoll(PQgetvalue(res, 0, 0), NULL, 10)));
        } else {
                doc = json_array();
                for (i = 0; i < PQntuples(res); i++)
                        json_array_append_new(doc, row_object(res, i));
        }
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

static const char *const camera_select =
        "SELECT c.id, c.name, c.station_id AS station, s.category, c.status, c.stream_url, "
        "c.system_code AS system, c.site_code AS site, c.codec, c.resolution, c.latitude, c.longitude, "
        "c.bearing, c.field_of_view, c.ptz, c.version, "
        "to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS updated_at "
        "FROM cameras c LEFT JOIN sites s ON s.station_id = c.station_id AND s.code = c.site_code";

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
        const char *params[4];
        char where[300], sql[1600];
        const char *limit = control_arg(q, "limit");
        int np = 0;
        long lim = limit ? strtol(limit, NULL, 10) : 1000;
        struct db_tx *tx;

        if (camera_filters(q, where, sizeof(where), params, &np) < 0) {
                control_reply(q, CONTROL_USAGE, NULL, "--under must be a node ID (20 digits)", NULL);
                free(q);
                return;
        }
        if (lim < 1 || lim > 1000000) {
                control_reply(q, CONTROL_USAGE, NULL, "--limit must be from 1 to 1000000", NULL);
                free(q);
                return;
        }
        q->arg_name[0] = kind;
        /* Counting joins the sites only to filter by category: a million
         * cameras under a prefix are then an index-only range count. */
        if (kind == 'c' && control_arg(q, "category"))
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM cameras c LEFT JOIN sites s ON "
                         "s.station_id = c.station_id AND s.code = c.site_code WHERE true%s", where);
        else if (kind == 'c')
                snprintf(sql, sizeof(sql), "SELECT count(*) FROM cameras c WHERE true%s", where);
        else
                snprintf(sql, sizeof(sql), "%s WHERE true%s ORDER BY c.id LIMIT %ld", camera_select, where, lim);
        tx = db_tx_new();
        db_tx_add(tx, sql, np, params, NULL, NULL);
        db_submit(q->c->node->db, tx, catalogctl_on_rows, q);
}

static void catalogctl_list(struct control_req *q)
{
        const struct entity *e = entity_of(q->msg->command);
        char sql[1200];
        const char *under = control_arg(q, "under");
        char prefix[16] = "";
        const char *p[1] = { prefix };
        struct db_tx *tx;

        if (e->kind == CATALOG_CAMERA) {
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
        q->arg_name[0] = 'l';
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE station_id LIKE $1 || '%%' ORDER BY station_id, code "
                 "LIMIT 100000", catalog_columns(e->kind), e->table);
        tx = db_tx_new();
        db_tx_add(tx, sql, 1, p, NULL, NULL);
        db_submit(q->c->node->db, tx, catalogctl_on_rows, q);
}

static void catalogctl_count(struct control_req *q)
{
        catalogctl_camera_query(q, 'c');
}

static void catalogctl_show(struct control_req *q)
{
        const struct entity *e = entity_of(q->msg->command);
        const char *key = control_arg(q, e->key_col == 0 ? "id" : "code");
        const char *station = control_arg(q, "station");
        char sql[1400];
        struct db_tx *tx;

        if (!key) {
                control_reply(q, CONTROL_USAGE, NULL, "which one? give its ID or code", NULL);
                free(q);
                return;
        }
        q->arg_name[0] = 's';
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", key);
        snprintf(q->arg_key, sizeof(q->arg_key), "%s", e->name);
        tx = db_tx_new();
        if (e->kind == CATALOG_CAMERA) {
                const char *p[1] = { key };
                snprintf(sql, sizeof(sql), "%s WHERE c.id = $1", camera_select);
                db_tx_add(tx, sql, 1, p, NULL, NULL);
        } else {
                /* Codes are per station: at a station its own; elsewhere
                 * --station names which one. */
                const char *p[2] = { key, station ? station : q->c->node->cfg.node_id };
                snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE code = $1 AND station_id = $2",
                         catalog_columns(e->kind), e->table);
                db_tx_add(tx, sql, 2, p, NULL, NULL);
        }
        db_submit(q->c->node->db, tx, catalogctl_on_rows, q);
}

static void catalogctl_location_types(struct control_req *q)
{
        struct db_tx *tx = db_tx_new();

        q->arg_name[0] = 'l';
        db_tx_add(tx, "SELECT code, description, forbidden AS article FROM location_types ORDER BY forbidden "
                      "NULLS FIRST, code", 0, NULL, NULL, NULL);
        db_submit(q->c->node->db, tx, catalogctl_on_rows, q);
}

const struct control_command catalogctl_commands[] = {
        { "site.add", catalogctl_add },
        { "site.update", catalogctl_update },
        { "site.remove", catalogctl_remove },
        { "site.show", catalogctl_show },
        { "site.list", catalogctl_list },
        { "site.import", catalogctl_import },
        { "system.add", catalogctl_add },
        { "system.update", catalogctl_update },
        { "system.remove", catalogctl_remove },
        { "system.show", catalogctl_show },
        { "system.list", catalogctl_list },
        { "system.import", catalogctl_import },
        { "camera.add", catalogctl_add },
        { "camera.update", catalogctl_update },
        { "camera.remove", catalogctl_remove },
        { "camera.show", catalogctl_show },
        { "camera.list", catalogctl_list },
        { "camera.count", catalogctl_count },
        { "camera.import", catalogctl_import },
        { "location-types", catalogctl_location_types },
        { NULL, NULL },
};

#include "features/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "db/db.h"
#include "base/log.h"
#include "base/nodeid.h"
#include "wire/wire.h"

const char catalog_site_columns[] =
        "station_id, code, name, address, latitude, longitude, category, location_type, signage, "
        "owner, version";
const char catalog_system_columns[] =
        "station_id, code, name, builder_class, responsible_entity, maintainer, maintenance_agreement, "
        "installer, installer_licence, commissioned_on, accepted_on, reserved_interface, "
        "retention_days, version";
const char catalog_camera_columns[] =
        "id, station_id, name, system_code, site_code, stream_url, codec, resolution, latitude, "
        "longitude, bearing, field_of_view, ptz, status, version";

enum catalog_kind catalog_kind_of(const Vigil__Change *c)
{
        switch (c->kind_case) {
        case VIGIL__CHANGE__KIND_SITE: return CATALOG_SITE;
        case VIGIL__CHANGE__KIND_SYSTEM: return CATALOG_SYSTEM;
        case VIGIL__CHANGE__KIND_CAMERA: return CATALOG_CAMERA;
        case VIGIL__CHANGE__KIND_CAMERA_STATUS: return CATALOG_CAMERA_STATUS;
        default: return CATALOG_NONE;
        }
}

/* A child speaks only for stations in its own subtree (or itself, if it is
 * a station): nothing it sends may name a station elsewhere. */
static int catalog_check_station(const char *station, const char *via, char *err, size_t errlen)
{
        if (!station || !nodeid_is_wellformed(station) || nodeid_tier(station) != TIER_STATION ||
            !nodeid_under(station, via)) {
                snprintf(err, errlen, "station %s is not in the subtree of %s", station ? station : "(none)", via);
                return -EBADMSG;
        }
        return 0;
}

static int catalog_check_camera_id(const char *id, const char *station, char *err, size_t errlen)
{
        if (!id || !nodeid_is_wellformed(id) || strncmp(id, station, 8) != 0) {
                snprintf(err, errlen, "camera %s does not belong to station %s", id ? id : "(none)", station);
                return -EBADMSG;
        }
        return 0;
}

int catalog_replica_row(struct sqlarray *cols, const Vigil__Change *c, const char *via,
                        const uint8_t *change, size_t len, char *err, size_t errlen)
{
        int k = 0;

        if (cols[0].n == 0)
                catalog_cols_init(cols, catalog_kind_of(c));
        switch (c->kind_case) {
        case VIGIL__CHANGE__KIND_SITE: {
                const Vigil__Site *s = c->site;
                if (catalog_check_station(s->station_id, via, err, errlen) < 0)
                        return -EBADMSG;
                if (!s->code || !s->has_version || (!s->removed && (!s->name || !s->location_type))) {
                        snprintf(err, errlen, "site without code, version, name or location type");
                        return -EBADMSG;
                }
                sqlarray_add_text(&cols[k++], s->station_id);
                sqlarray_add_text(&cols[k++], s->code);
                sqlarray_add_int64(&cols[k++], s->version);
                sqlarray_add_bool(&cols[k++], true, s->removed);
                sqlarray_add_text(&cols[k++], s->name);
                sqlarray_add_text(&cols[k++], s->address);
                sqlarray_add_double(&cols[k++], s->has_latitude, s->latitude);
                sqlarray_add_double(&cols[k++], s->has_longitude, s->longitude);
                sqlarray_add_text(&cols[k++], s->category);
                sqlarray_add_text(&cols[k++], s->location_type);
                sqlarray_add_bool(&cols[k++], s->has_signage, s->signage);
                sqlarray_add_text(&cols[k++], s->owner);
                break;
        }
        case VIGIL__CHANGE__KIND_SYSTEM: {
                const Vigil__System *s = c->system;
                if (catalog_check_station(s->station_id, via, err, errlen) < 0)
                        return -EBADMSG;
                if (!s->code || !s->has_version ||
                    (!s->removed && (!s->name || !s->builder_class || !s->responsible_entity ||
                                     !s->has_retention_days))) {
                        snprintf(err, errlen, "system without code, version, name, builder class, "
                                 "responsible entity or retention");
                        return -EBADMSG;
                }
                sqlarray_add_text(&cols[k++], s->station_id);
                sqlarray_add_text(&cols[k++], s->code);
                sqlarray_add_int64(&cols[k++], s->version);
                sqlarray_add_bool(&cols[k++], true, s->removed);
                sqlarray_add_text(&cols[k++], s->name);
                sqlarray_add_text(&cols[k++], s->builder_class);
                sqlarray_add_text(&cols[k++], s->responsible_entity);
                sqlarray_add_text(&cols[k++], s->maintainer);
                sqlarray_add_text(&cols[k++], s->maintenance_agreement);
                sqlarray_add_text(&cols[k++], s->installer);
                sqlarray_add_text(&cols[k++], s->installer_licence);
                sqlarray_add_text(&cols[k++], s->commissioned_on);
                sqlarray_add_text(&cols[k++], s->accepted_on);
                sqlarray_add_text(&cols[k++], s->reserved_interface);
                if (s->has_retention_days)
                        sqlarray_add_int64(&cols[k++], s->retention_days);
                else
                        sqlarray_add_null(&cols[k++]);
                break;
        }
        case VIGIL__CHANGE__KIND_CAMERA: {
                const Vigil__Camera *m = c->camera;
                if (catalog_check_station(m->station_id, via, err, errlen) < 0 ||
                    catalog_check_camera_id(m->id, m->station_id, err, errlen) < 0)
                        return -EBADMSG;
                if (!m->has_version || (!m->removed && (!m->name || !m->system_code || !m->site_code))) {
                        snprintf(err, errlen, "camera %s without version, name, system or site", m->id);
                        return -EBADMSG;
                }
                sqlarray_add_text(&cols[k++], m->id);
                sqlarray_add_text(&cols[k++], m->station_id);
                sqlarray_add_int64(&cols[k++], m->version);
                sqlarray_add_bool(&cols[k++], true, m->removed);
                sqlarray_add_text(&cols[k++], m->name);
                sqlarray_add_text(&cols[k++], m->system_code);
                sqlarray_add_text(&cols[k++], m->site_code);
                sqlarray_add_text(&cols[k++], m->stream_url);
                sqlarray_add_text(&cols[k++], m->codec);
                sqlarray_add_text(&cols[k++], m->resolution);
                sqlarray_add_double(&cols[k++], m->has_latitude, m->latitude);
                sqlarray_add_double(&cols[k++], m->has_longitude, m->longitude);
                sqlarray_add_double(&cols[k++], m->has_bearing, m->bearing);
                sqlarray_add_double(&cols[k++], m->has_field_of_view, m->field_of_view);
                sqlarray_add_bool(&cols[k++], m->has_ptz, m->ptz);
                sqlarray_add_text(&cols[k++], m->status);
                break;
        }
        case VIGIL__CHANGE__KIND_CAMERA_STATUS: {
                const Vigil__CameraStatus *st = c->camera_status;
                if (!st->id || !nodeid_is_wellformed(st->id) || !nodeid_under(st->id, via) ||
                    !st->status || !st->has_version) {
                        snprintf(err, errlen, "camera status of %s is not from %s's subtree or incomplete",
                                 st->id ? st->id : "(none)", via);
                        return -EBADMSG;
                }
                sqlarray_add_text(&cols[k++], st->id);
                sqlarray_add_text(&cols[k++], st->status);
                sqlarray_add_int64(&cols[k++], st->version);
                break;
        }
        default:
                snprintf(err, errlen, "not a catalog change");
                return -EBADMSG;
        }
        sqlarray_add_bytea(&cols[k], change, len);
        return 0;
}

void catalog_replica_flush(struct db_tx *tx, enum catalog_kind kind, struct sqlarray *cols,
                           const char *via, const char *uplink, bool snapshot)
{
        const char *p[3 + CATALOG_MAX_COLUMNS];
        int lens[3 + CATALOG_MAX_COLUMNS], fmts[3 + CATALOG_MAX_COLUMNS];
        const char *sql;
        int ncols, np = 0, i;

        if (cols[0].n == 0)
                return;
        switch (kind) {
        case CATALOG_SITE:
                ncols = 13;
                sql = "SELECT site_apply($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                      "$15, $16)";
                break;
        case CATALOG_SYSTEM:
                ncols = 16;
                sql = "SELECT system_apply($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                      "$15, $16, $17, $18, $19)";
                break;
        case CATALOG_CAMERA:
                ncols = 17;
                sql = "SELECT camera_apply($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
                      "$15, $16, $17, $18, $19, $20)";
                break;
        case CATALOG_CAMERA_STATUS:
                ncols = 4;
                sql = "SELECT camera_status_apply($1, $2, $3, $4, $5)";
                break;
        default:
                return;
        }
        if (kind != CATALOG_CAMERA_STATUS) {
                p[np++] = via;
                p[np++] = uplink;
                p[np++] = snapshot ? "t" : "f";
        } else {
                p[np++] = uplink;
        }
        for (i = 0; i < np; i++)
                lens[i] = fmts[i] = 0;
        for (i = 0; i < ncols; i++, np++)
                sqlarray_param(&cols[i], &p[np], &lens[np], &fmts[np]);
        db_tx_add(tx, sql, np, p, lens, fmts);
        for (i = 0; i < ncols; i++)
                sqlarray_reset(&cols[i]);
}

/* --- encoding rows --- */

/* A row is an array of strings in the order of the entity's column list
 * (catalog_*_columns); NULL is SQL NULL. */

static bool has(const char *const *v, int c)
{
        return v[c] != NULL;
}

static double dbl(const char *const *v, int c)
{
        return v[c] ? strtod(v[c], NULL) : 0;
}

static bool truth(const char *s)
{
        return s && (s[0] == 't' || s[0] == 'T' || s[0] == '1' || s[0] == 'y' || s[0] == 'Y');
}

static int64_t version_of(const char *const *v, int c, int64_t version)
{
        return version >= 0 ? version : (v[c] ? strtoll(v[c], NULL, 10) : 0);
}

int catalog_encode_site(const char *const *v, int64_t version, bool removed, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__Site s = VIGIL__SITE__INIT;

        s.station_id = (char *)v[0];
        s.code = (char *)v[1];
        s.has_version = 1;
        s.version = version_of(v, 10, version);
        s.has_removed = removed;
        s.removed = removed;
        if (!removed) {
                s.name = (char *)v[2];
                s.address = (char *)v[3];
                s.has_latitude = has(v, 4);
                s.latitude = dbl(v, 4);
                s.has_longitude = has(v, 5);
                s.longitude = dbl(v, 5);
                s.category = (char *)v[6];
                s.location_type = (char *)v[7];
                s.has_signage = 1;
                s.signage = truth(v[8]);
                s.owner = (char *)v[9];
        }
        c.kind_case = VIGIL__CHANGE__KIND_SITE;
        c.site = &s;
        return wire_encode_change(&c, ret, ret_len);
}

int catalog_encode_system(const char *const *v, int64_t version, bool removed, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__System s = VIGIL__SYSTEM__INIT;

        s.station_id = (char *)v[0];
        s.code = (char *)v[1];
        s.has_version = 1;
        s.version = version_of(v, 13, version);
        s.has_removed = removed;
        s.removed = removed;
        if (!removed) {
                s.name = (char *)v[2];
                s.builder_class = (char *)v[3];
                s.responsible_entity = (char *)v[4];
                s.maintainer = (char *)v[5];
                s.maintenance_agreement = (char *)v[6];
                s.installer = (char *)v[7];
                s.installer_licence = (char *)v[8];
                s.commissioned_on = (char *)v[9];
                s.accepted_on = (char *)v[10];
                s.reserved_interface = (char *)v[11];
                s.has_retention_days = has(v, 12);
                s.retention_days = v[12] ? (int32_t)strtol(v[12], NULL, 10) : 0;
        }
        c.kind_case = VIGIL__CHANGE__KIND_SYSTEM;
        c.system = &s;
        return wire_encode_change(&c, ret, ret_len);
}

int catalog_encode_camera(const char *const *v, int64_t version, bool removed, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__Camera m = VIGIL__CAMERA__INIT;

        m.id = (char *)v[0];
        m.station_id = (char *)v[1];
        m.has_version = 1;
        m.version = version_of(v, 14, version);
        m.has_removed = removed;
        m.removed = removed;
        if (!removed) {
                m.name = (char *)v[2];
                m.system_code = (char *)v[3];
                m.site_code = (char *)v[4];
                m.stream_url = (char *)v[5];
                m.codec = (char *)v[6];
                m.resolution = (char *)v[7];
                m.has_latitude = has(v, 8);
                m.latitude = dbl(v, 8);
                m.has_longitude = has(v, 9);
                m.longitude = dbl(v, 9);
                m.has_bearing = has(v, 10);
                m.bearing = dbl(v, 10);
                m.has_field_of_view = has(v, 11);
                m.field_of_view = dbl(v, 11);
                m.has_ptz = 1;
                m.ptz = truth(v[12]);
                m.status = (char *)v[13];
        }
        c.kind_case = VIGIL__CHANGE__KIND_CAMERA;
        c.camera = &m;
        return wire_encode_change(&c, ret, ret_len);
}

int catalog_encode_camera_status(const char *id, const char *status, int64_t version, uint8_t **ret,
                                 size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__CameraStatus st = VIGIL__CAMERA_STATUS__INIT;

        st.id = (char *)id;
        st.status = (char *)status;
        st.has_version = 1;
        st.version = version;
        c.kind_case = VIGIL__CHANGE__KIND_CAMERA_STATUS;
        c.camera_status = &st;
        return wire_encode_change(&c, ret, ret_len);
}

/* Row I of RES as a vals array (pointers into RES). */
static void catalog_row_vals(const PGresult *res, int i, const char **v, int n)
{
        int c;

        for (c = 0; c < n && c < PQnfields(res); c++)
                v[c] = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
}

int catalog_encode_site_row(const PGresult *res, int i, int64_t version, bool removed,
                            uint8_t **ret, size_t *ret_len)
{
        const char *v[CATALOG_MAX_COLUMNS] = { 0 };

        catalog_row_vals(res, i, v, CATALOG_MAX_COLUMNS);
        return catalog_encode_site(v, version, removed, ret, ret_len);
}

int catalog_encode_system_row(const PGresult *res, int i, int64_t version, bool removed,
                              uint8_t **ret, size_t *ret_len)
{
        const char *v[CATALOG_MAX_COLUMNS] = { 0 };

        catalog_row_vals(res, i, v, CATALOG_MAX_COLUMNS);
        return catalog_encode_system(v, version, removed, ret, ret_len);
}

int catalog_encode_camera_row(const PGresult *res, int i, int64_t version, bool removed,
                              uint8_t **ret, size_t *ret_len)
{
        const char *v[CATALOG_MAX_COLUMNS] = { 0 };

        catalog_row_vals(res, i, v, CATALOG_MAX_COLUMNS);
        return catalog_encode_camera(v, version, removed, ret, ret_len);
}

/* Cameras, their status deltas and the probes are what a link carries by
 * the hundred thousand: their arguments travel in PostgreSQL's binary
 * array form. Sites and systems (few, with dates) keep array literals. */
static const enum sqlarray_type camera_types[] = {
        SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_INT8, SQLARRAY_BOOL,        /* id, station, version, removed */
        SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_TEXT,        /* name, system, site, stream */
        SQLARRAY_TEXT, SQLARRAY_TEXT,                                      /* codec, resolution */
        SQLARRAY_FLOAT8, SQLARRAY_FLOAT8, SQLARRAY_FLOAT8, SQLARRAY_FLOAT8, /* lat, lon, bearing, fov */
        SQLARRAY_BOOL, SQLARRAY_TEXT, SQLARRAY_BYTEA,                      /* ptz, status, change */
};
static const enum sqlarray_type camera_status_types[] = {
        SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_INT8, SQLARRAY_BYTEA,
};

void catalog_cols_init(struct sqlarray *cols, enum catalog_kind kind)
{
        const enum sqlarray_type *t = NULL;
        int i, n = 0;

        if (kind == CATALOG_CAMERA) {
                t = camera_types;
                n = (int)(sizeof(camera_types) / sizeof(camera_types[0]));
        } else if (kind == CATALOG_CAMERA_STATUS) {
                t = camera_status_types;
                n = (int)(sizeof(camera_status_types) / sizeof(camera_status_types[0]));
        }
        for (i = 0; i < CATALOG_MAX_COLUMNS; i++) {
                sqlarray_reset(&cols[i]);
                sqlarray_set_type(&cols[i], i < n ? t[i] : SQLARRAY_LITERAL);
        }
}

/* Would sqlarray_add_parsed() take S for an array of type T? */
static bool catalog_parses(enum sqlarray_type t, const char *s)
{
        struct sqlarray probe = { 0 };
        int r;

        if (!s || t == SQLARRAY_LITERAL || t == SQLARRAY_TEXT || t == SQLARRAY_BYTEA)
                return true;
        sqlarray_set_type(&probe, t);
        r = sqlarray_add_parsed(&probe, s);
        sqlarray_deinit(&probe);
        return r == 0;
}

int catalog_cols_add(struct sqlarray *cols, enum catalog_kind kind, const char *const *v, int ncols,
                     int64_t version, bool removed, const uint8_t *change, size_t len)
{
        int k = 0, c;

        if (cols[0].n == 0)
                catalog_cols_init(cols, kind);
        /* Check every value first, so that a refusal leaves COLS whole. */
        for (c = 2; c < ncols - 1 && !removed; c++)
                if (!catalog_parses(cols[c + 2].type, v[c]))
                        return -EINVAL;
        /* The *_apply() functions take: two key columns, version, removed,
         * then the rest of the select list without its final version. */
        sqlarray_add_text(&cols[k++], v[0]);
        sqlarray_add_text(&cols[k++], v[1]);
        sqlarray_add_int64(&cols[k++], version);
        sqlarray_add_bool(&cols[k++], true, removed);
        for (c = 2; c < ncols - 1; c++)
                vigil_require(sqlarray_add_parsed(&cols[k++], removed ? NULL : v[c]) == 0);
        sqlarray_add_bytea(&cols[k], change, len);
        return 0;
}

/* --- snapshots --- */

void catalog_add_reads(struct db_tx *tx, const char *where, const char *camera_where, const char *param)
{
        const char *p[1] = { param };
        char sql[512];

        /* Sites and systems before cameras: a replica then never holds a
         * camera whose site it has not seen. */
        snprintf(sql, sizeof(sql), "SELECT %s FROM sites WHERE %s ORDER BY 1, 2", catalog_site_columns, where);
        db_tx_add(tx, sql, 1, p, NULL, NULL);
        snprintf(sql, sizeof(sql), "SELECT %s FROM systems WHERE %s ORDER BY 1, 2", catalog_system_columns, where);
        db_tx_add(tx, sql, 1, p, NULL, NULL);
        snprintf(sql, sizeof(sql), "SELECT %s FROM cameras WHERE %s ORDER BY id", catalog_camera_columns,
                 camera_where);
        db_tx_add(tx, sql, 1, p, NULL, NULL);
}


/* Rows into Change messages and Change messages into the argument arrays
 * of the *_apply() functions, column by column through the proto field
 * descriptors that catalog.c resolved: no entity is written out here. A
 * station sending a million cameras, and each tier above it, runs every
 * one of them through these loops, so nothing is looked up per row. */
#include "features/catalog/impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "wire/wire.h"

/* --- the column types --- */

/* How PostgreSQL prints a boolean, and what vigilctl normalises to. */
static bool catalog_truth(const char *s)
{
        return s && (s[0] == 't' || s[0] == 'T' || s[0] == '1' || s[0] == 'y' || s[0] == 'Y');
}

static protobuf_c_boolean *catalog_has(char *base, const ProtobufCFieldDescriptor *fd)
{
        return (protobuf_c_boolean *)(base + fd->quantifier_offset);
}

static void put_string(char *base, const ProtobufCFieldDescriptor *fd, const char *v, bool null_false)
{
        /* Borrowed: the message lives only until it is packed. */
        *(const char **)(base + fd->offset) = v;
}

static void put_int64(char *base, const ProtobufCFieldDescriptor *fd, const char *v, bool null_false)
{
        *catalog_has(base, fd) = v != NULL;
        *(int64_t *)(base + fd->offset) = v ? strtoll(v, NULL, 10) : 0;
}

static void put_int32(char *base, const ProtobufCFieldDescriptor *fd, const char *v, bool null_false)
{
        *catalog_has(base, fd) = v != NULL;
        *(int32_t *)(base + fd->offset) = v ? (int32_t)strtol(v, NULL, 10) : 0;
}

static void put_double(char *base, const ProtobufCFieldDescriptor *fd, const char *v, bool null_false)
{
        *catalog_has(base, fd) = v != NULL;
        *(double *)(base + fd->offset) = v ? strtod(v, NULL) : 0;
}

static void put_bool(char *base, const ProtobufCFieldDescriptor *fd, const char *v, bool null_false)
{
        *catalog_has(base, fd) = v != NULL || null_false;
        *(protobuf_c_boolean *)(base + fd->offset) = catalog_truth(v);
}

static void add_string(struct sqlarray *a, const char *base, const ProtobufCFieldDescriptor *fd)
{
        sqlarray_add_text(a, catalog_field_string(base, fd));
}

static void add_int64(struct sqlarray *a, const char *base, const ProtobufCFieldDescriptor *fd)
{
        if (catalog_field_present(base, fd))
                sqlarray_add_int64(a, *(const int64_t *)(base + fd->offset));
        else
                sqlarray_add_null(a);
}

static void add_int32(struct sqlarray *a, const char *base, const ProtobufCFieldDescriptor *fd)
{
        if (catalog_field_present(base, fd))
                sqlarray_add_int64(a, *(const int32_t *)(base + fd->offset));
        else
                sqlarray_add_null(a);
}

static void add_double(struct sqlarray *a, const char *base, const ProtobufCFieldDescriptor *fd)
{
        sqlarray_add_double(a, catalog_field_present(base, fd), *(const double *)(base + fd->offset));
}

static void add_bool(struct sqlarray *a, const char *base, const ProtobufCFieldDescriptor *fd)
{
        sqlarray_add_bool(a, catalog_field_present(base, fd), *(const protobuf_c_boolean *)(base + fd->offset));
}

/* Indexed by enum catalog_type. INT4 and DATE have no binary form in
 * sqlarray: entities with binary arguments cannot have them (checked when
 * the tables are resolved). */
const struct catalog_type_ops catalog_type_ops[] = {
        [CATALOG_TEXT] = { "text", PROTOBUF_C_TYPE_STRING, SQLARRAY_TEXT, put_string, add_string },
        [CATALOG_INT8] = { "bigint", PROTOBUF_C_TYPE_INT64, SQLARRAY_INT8, put_int64, add_int64 },
        [CATALOG_INT4] = { "integer", PROTOBUF_C_TYPE_INT32, SQLARRAY_LITERAL, put_int32, add_int32 },
        [CATALOG_FLOAT8] = { "double precision", PROTOBUF_C_TYPE_DOUBLE, SQLARRAY_FLOAT8, put_double, add_double },
        [CATALOG_BOOL] = { "boolean", PROTOBUF_C_TYPE_BOOL, SQLARRAY_BOOL, put_bool, add_bool },
        [CATALOG_DATE] = { "date", PROTOBUF_C_TYPE_STRING, SQLARRAY_LITERAL, put_string, add_string },
};

_Static_assert(sizeof(catalog_type_ops) / sizeof(catalog_type_ops[0]) == CATALOG_DATE + 1,
               "a type of enum catalog_type without its operations");

/* --- rows into changes --- */

/* Room for any entity's message; its descriptor says how much it uses. */
union catalog_message {
        ProtobufCMessage base;
        Vigil__Site site;
        Vigil__System system;
        Vigil__Camera camera;
};

/* Row V's value of column I as it travels and is stored: a presence
 * column says whether its station-only column holds an address (where it
 * is held: the station), else what the row says (a replica's, from
 * below). */
static const char *catalog_value(const struct catalog_schema *s, const char *const *v, int nvals, int i)
{
        int src = s->fields[i].source;

        if (src >= 0 && src < nvals && v[src])
                return "t";
        return i < nvals ? v[i] : NULL;
}

int catalog_encode_values(enum catalog_kind kind, const char *const *v, int nvals, int64_t version,
                          bool removed, uint8_t **ret, size_t *ret_len)
{
        const struct catalog_schema *s = catalog_schema(kind);
        Vigil__Change c = VIGIL__CHANGE__INIT;
        union catalog_message m;
        char *base = (char *)&m;
        int i;

        if (!s)
                return -EINVAL;
        vigil_require(s->message->sizeof_message <= sizeof(m));
        s->message->message_init(&m.base);
        for (i = 0; i < s->n; i++) {
                const struct catalog_field *f = &s->fields[i];
                const char *value = catalog_value(s, v, nvals, i);
                if (f->col->station_only) {
                        /* Art 19, 29(2): the address stays here; its
                         * presence column says that there is one. */
                        continue;
                } else if (i == s->version) {
                        /* Always sent: a row without one could not be ordered. */
                        *catalog_has(base, f->fd) = 1;
                        *(int64_t *)(base + f->fd->offset) =
                                version >= 0 ? version : value ? strtoll(value, NULL, 10) : 0;
                } else if (f->col->role != CATALOG_DATA || !removed) {
                        /* A tombstone names its row and nothing else. */
                        f->ops->put(base, f->fd, value, f->col->null_false);
                }
        }
        *catalog_has(base, s->removed) = removed;
        *(protobuf_c_boolean *)(base + s->removed->offset) = removed;
        c.kind_case = (Vigil__Change__KindCase)s->change->id;
        *(ProtobufCMessage **)((char *)&c + s->change->offset) = &m.base;
        return wire_encode_change(&c, ret, ret_len);
}

int catalog_encode_row(enum catalog_kind kind, const PGresult *res, int i, int64_t version, bool removed,
                       uint8_t **ret, size_t *ret_len)
{
        const char *v[CATALOG_MAX_COLUMNS];
        int n = PQnfields(res), c;

        if (n > CATALOG_MAX_COLUMNS)
                n = CATALOG_MAX_COLUMNS;
        for (c = 0; c < n; c++)
                v[c] = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
        return catalog_encode_values(kind, v, n, version, removed, ret, ret_len);
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

/* --- changes into argument arrays --- */

static const enum sqlarray_type catalog_status_types[] = {
        SQLARRAY_TEXT, SQLARRAY_TEXT, SQLARRAY_INT8, SQLARRAY_BYTEA,    /* id, status, version, change */
};

void catalog_cols_init(struct sqlarray *cols, enum catalog_kind kind)
{
        const struct catalog_schema *s = catalog_schema(kind);
        const enum sqlarray_type *t = s ? s->arg_types : kind == CATALOG_CAMERA_STATUS ? catalog_status_types : NULL;
        int n = s ? s->nargs : t ? (int)(sizeof(catalog_status_types) / sizeof(catalog_status_types[0])) : 0;

        for (int i = 0; i < CATALOG_MAX_COLUMNS; i++) {
                sqlarray_reset(&cols[i]);
                sqlarray_set_type(&cols[i], i < n ? t[i] : SQLARRAY_LITERAL);
        }
}

/* A child speaks only for stations in its own subtree (or itself, if it is
 * a station): nothing it sends may name a station elsewhere. */
static int catalog_check_station(const char *station, const char *via, char *err, size_t errlen)
{
        if (!station || !nodeid_is_wellformed(station) || nodeid_tier(station) != TIER_STATION ||
            !nodeid_at_or_below(station, via)) {
                snprintf(err, errlen, "station %s is not in the subtree of %s", station ? station : "(none)", via);
                return -EBADMSG;
        }
        return 0;
}

/* Art 15: a camera's ID carries its station's centre code. */
static int catalog_check_camera_id(const char *id, const char *station, char *err, size_t errlen)
{
        if (!id || !nodeid_is_wellformed(id) || strncmp(id, station, 8) != 0) {
                snprintf(err, errlen, "camera %s does not belong to station %s", id ? id : "(none)", station);
                return -EBADMSG;
        }
        return 0;
}

/* Is everything there that the row needs: the key, the version and,
 * unless it is a tombstone, every required column? */
static bool catalog_complete(const struct catalog_schema *s, const char *base, bool removed)
{
        for (int i = 0; i < s->n; i++) {
                const struct catalog_field *f = &s->fields[i];
                bool needed = i == s->key || i == s->version || (f->col->required && !removed);
                if (needed && !catalog_field_present(base, f->fd))
                        return false;
        }
        return true;
}

static int catalog_status_row(struct sqlarray *cols, const Vigil__CameraStatus *st, const char *via,
                              char *err, size_t errlen)
{
        if (!st->id || !nodeid_is_wellformed(st->id) || !nodeid_under(st->id, via) || !st->status ||
            !st->has_version) {
                snprintf(err, errlen, "camera status of %s is not from %s's subtree or incomplete",
                         st->id ? st->id : "(none)", via);
                return -EBADMSG;
        }
        sqlarray_add_text(&cols[0], st->id);
        sqlarray_add_text(&cols[1], st->status);
        sqlarray_add_int64(&cols[2], st->version);
        return 3;
}

/* Does the message at BASE carry an address (a station-only field)? */
static bool catalog_carries_address(const struct catalog_schema *s, const char *base)
{
        for (int i = 0; s->station_only && i < s->n; i++)
                if (s->fields[i].col->station_only && catalog_field_present(base, s->fields[i].fd))
                        return true;
        return false;
}

/* Change C (its entity's message at BASE) again without its addresses,
 * each replaced by its presence (Art 19, 29(2)): what a parent stores and
 * forwards when a child sent one (an old station's, or a hostile one's).
 * The rest, unknown fields included, as it came. Caller owns *RET. */
static int catalog_strip_addresses(const struct catalog_schema *s, const Vigil__Change *c, const char *base,
                                   uint8_t **ret, size_t *ret_len)
{
        union catalog_message m;
        Vigil__Change copy = *c;
        char *mb = (char *)&m;

        vigil_require(s->message->sizeof_message <= sizeof(m));
        memcpy(&m, base, s->message->sizeof_message);
        for (int i = 0; i < s->n; i++) {
                const struct catalog_field *f = &s->fields[i];
                if (f->source >= 0 && catalog_field_present(base, s->fields[f->source].fd)) {
                        *catalog_has(mb, f->fd) = 1;
                        *(protobuf_c_boolean *)(mb + f->fd->offset) = 1;
                }
        }
        for (int i = 0; i < s->n; i++)
                if (s->fields[i].col->station_only)
                        *(char **)(mb + s->fields[i].fd->offset) = NULL;
        *(ProtobufCMessage **)((char *)&copy + s->change->offset) = &m.base;
        return wire_encode_change(&copy, ret, ret_len);
}

/* Field F of the message at BASE onto its argument array, as a parent
 * keeps it: never an address (its presence, should the child have sent
 * one, says that the station holds it). */
static void catalog_add_replica_field(const struct catalog_schema *s, struct sqlarray *cols, const char *base,
                                      const struct catalog_field *f)
{
        if (f->col->station_only)
                sqlarray_add_null(&cols[f->arg]);
        else if (f->source >= 0 && catalog_field_present(base, s->fields[f->source].fd))
                sqlarray_add_bool(&cols[f->arg], true, true);
        else
                f->ops->add(&cols[f->arg], base, f->fd);
}

int catalog_replica_row(struct sqlarray *cols, const Vigil__Change *c, const char *via,
                        const uint8_t *change, size_t len, char *err, size_t errlen)
{
        const struct catalog_schema *s = catalog_schema_of(c);
        const char *base, *station, *id;
        uint8_t *stripped = NULL;
        bool removed;
        int i, r;

        if (!s && c->kind_case != VIGIL__CHANGE__KIND_CAMERA_STATUS) {
                snprintf(err, errlen, "not a catalog change");
                return -EBADMSG;
        }
        if (cols[0].n == 0)
                catalog_cols_init(cols, catalog_kind_of(c));
        if (!s) {
                if ((r = catalog_status_row(cols, c->camera_status, via, err, errlen)) < 0)
                        return r;
                sqlarray_add_bytea(&cols[r], change, len);
                return 0;
        }
        base = *(const char *const *)((const char *)c + s->change->offset);
        station = catalog_field_string(base, s->fields[s->station].fd);
        if (catalog_check_station(station, via, err, errlen) < 0)
                return -EBADMSG;
        id = catalog_field_string(base, s->fields[s->key].fd);
        if (s->e->columns[s->key].check == CATALOG_CHECK_CAMERA_ID &&
            catalog_check_camera_id(id, station, err, errlen) < 0)
                return -EBADMSG;
        removed = *(const protobuf_c_boolean *)(base + s->removed->offset);
        if (!catalog_complete(s, base, removed)) {
                if (s->e->columns[s->key].check == CATALOG_CHECK_CAMERA_ID)
                        snprintf(err, errlen, "%s %s without %s", s->e->name, id, s->incomplete);
                else
                        snprintf(err, errlen, "%s without %s", s->e->name, s->incomplete);
                return -EBADMSG;
        }
        /* Re-encoded before anything is appended: a failure leaves COLS
         * as they were. */
        if (catalog_carries_address(s, base) && (r = catalog_strip_addresses(s, c, base, &stripped, &len)) < 0) {
                snprintf(err, errlen, "%s: cannot re-encode it without its address", s->e->name);
                return r;
        }
        for (i = 0; i < s->n; i++)
                catalog_add_replica_field(s, cols, base, &s->fields[i]);
        sqlarray_add_bool(&cols[3], true, removed);
        sqlarray_add_bytea(&cols[s->nargs - 1], stripped ? stripped : change, len);
        free(stripped);
        return 0;
}

/* Would sqlarray_add_parsed() take V for an array of type T? */
static bool catalog_parses(enum sqlarray_type t, const char *v)
{
        struct sqlarray probe = { 0 };
        int r;

        if (!v || t == SQLARRAY_LITERAL || t == SQLARRAY_TEXT || t == SQLARRAY_BYTEA)
                return true;
        sqlarray_set_type(&probe, t);
        r = sqlarray_add_parsed(&probe, v);
        sqlarray_deinit(&probe);
        return r == 0;
}

int catalog_cols_add(struct sqlarray *cols, enum catalog_kind kind, const char *const *v, int ncols,
                     int64_t version, bool removed, const uint8_t *change, size_t len)
{
        const struct catalog_schema *s = catalog_schema(kind);
        int i;

        if (!s)
                return -EINVAL;
        if (cols[0].n == 0)
                catalog_cols_init(cols, kind);
        /* Check every value first, so that a refusal leaves COLS whole. */
        for (i = 0; i < s->n && i < ncols && !removed; i++)
                if (s->e->columns[i].role == CATALOG_DATA && !catalog_parses(s->arg_types[s->fields[i].arg], v[i]))
                        return -EINVAL;
        for (i = 0; i < s->n; i++) {
                const struct catalog_column *c = &s->e->columns[i];
                const char *value = catalog_value(s, v, ncols, i);
                int a = s->fields[i].arg;
                if (c->role == CATALOG_VERSION)
                        sqlarray_add_int64(&cols[a], version);
                else if (c->role != CATALOG_DATA)
                        sqlarray_add_text(&cols[a], value);
                else
                        vigil_require(sqlarray_add_parsed(&cols[a], removed ? NULL : value) == 0);
        }
        sqlarray_add_bool(&cols[3], true, removed);
        sqlarray_add_bytea(&cols[s->nargs - 1], change, len);
        return 0;
}

/* --- kept for the callers that will move (catalog.h) --- */


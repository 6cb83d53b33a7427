/* Unit tests of lib/features/catalog/: each entity's column table drives its
 * codec. A row given as strings (by column name, never by position) is
 * encoded, decoded by the checked decoder every receiver uses
 * (wire_decode_change) into the same fields, and turned into the same
 * argument arrays whether it comes from the decoded change (a replica's
 * path) or from the strings (the station's); tombstones carry the version
 * they are given (the sweep's version + 1) and `removed`; changes a child
 * may not send are refused with a reason and leave the arrays as they were.
 * Without a database: test_catalog_schema.c holds the tables against the
 * SQL ones. */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <protobuf-c/protobuf-c.h>

#include "features/catalog.h"
#include "unit.h"
#include "wire/wire.h"

#define STATION "43010401002000000001"
#define OTHER_STATION "43010402002000000001"
#define DISTRICT "43010400002000000001"
#define OTHER_DISTRICT "43010500002000000001"
#define CITY "43010000002000000001"
#define CAMERA "43010401001310000001"

/* A row of KIND as strings in the order of catalog_columns(KIND), set by
 * column name. */
struct row {
        enum catalog_kind kind;
        const char *v[CATALOG_MAX_COLUMNS];
};

static void set(struct row *r, const char *column, const char *value)
{
        int i = catalog_column_index(r->kind, column);

        if (i < 0) {
                fprintf(stderr, "no column %s in %s\n", column, catalog_table(r->kind));
                exit(1);
        }
        r->v[i] = value;
}

static struct row site_row(void)
{
        struct row r = { CATALOG_SITE, { 0 } };

        set(&r, "station_id", STATION);
        set(&r, "code", "s1");
        set(&r, "name", "Yuelu \"junction\"");
        set(&r, "address", "addr, 1");
        set(&r, "latitude", "28.2");
        set(&r, "longitude", "112.9");
        set(&r, "category", "7.1");
        set(&r, "location_type", "junction");
        set(&r, "signage", "t");
        set(&r, "owner", "owner\\x");
        set(&r, "version", "5");
        return r;
}

static struct row system_row(void)
{
        struct row r = { CATALOG_SYSTEM, { 0 } };

        set(&r, "station_id", STATION);
        set(&r, "code", "gov1");
        set(&r, "name", "sys");
        set(&r, "builder_class", "government");
        set(&r, "responsible_entity", "police");
        set(&r, "maintainer", "m");
        set(&r, "maintenance_agreement", "ma");
        set(&r, "installer", "i");
        set(&r, "installer_licence", "il");
        set(&r, "commissioned_on", "2024-01-02");
        set(&r, "accepted_on", "2024-02-03");
        set(&r, "reserved_interface", "rtsp://x/y");
        set(&r, "retention_days", "30");
        set(&r, "version", "9");
        return r;
}

static struct row camera_row(void)
{
        struct row r = { CATALOG_CAMERA, { 0 } };

        set(&r, "id", CAMERA);
        set(&r, "station_id", STATION);
        set(&r, "name", "Yuelu Rd 北");
        set(&r, "system_code", "gov1");
        set(&r, "site_code", "s1");
        set(&r, "stream_url", "rtsp://10.0.0.1/c1");
        set(&r, "codec", "H264");
        set(&r, "resolution", "1920x1080");
        set(&r, "latitude", "28.2");
        set(&r, "longitude", "112.9");
        set(&r, "bearing", "90");
        set(&r, "field_of_view", "60");
        set(&r, "ptz", "t");
        set(&r, "status", "online");
        set(&r, "version", "7");
        return r;
}

static uint8_t *encode(const struct row *r, int64_t version, bool removed, size_t *len)
{
        uint8_t *buf = NULL;

        CHECK(catalog_encode_values(r->kind, r->v, CATALOG_MAX_COLUMNS, version, removed, &buf, len) == 0);
        CHECK(buf && *len > 0);
        return buf;
}

static Vigil__Change *decode(const uint8_t *buf, size_t len)
{
        Vigil__Change *c = NULL;
        char err[256] = "";

        if (wire_decode_change(buf, len, &c, err, sizeof(err)) != 0) {
                fprintf(stderr, "wire_decode_change: %s\n", err);
                exit(1);
        }
        return c;
}

/* The entity's message inside C, found through the descriptors as a reader
 * of vigil.proto would (not through the module's own). */
static const ProtobufCMessage *entity_message(const Vigil__Change *c, enum catalog_kind kind)
{
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(
                &vigil__change__descriptor, catalog_entity(kind)->change_field);

        CHECK(f && (uint32_t)c->kind_case == f->id);
        return *(const ProtobufCMessage *const *)((const char *)c + f->offset);
}

/* Does field NAME of M hold WANT (NULL: absent)? Compared by the field's
 * type: the string given parsed as the row's value would be. */
static bool field_holds(const ProtobufCMessage *m, const char *name, const char *want)
{
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
        const char *base = (const char *)m;
        bool has;

        CHECK(f != NULL);
        if (f->type == PROTOBUF_C_TYPE_STRING) {
                const char *s = *(char *const *)(base + f->offset);
                return want ? s && strcmp(s, want) == 0 : s == NULL;
        }
        has = *(const protobuf_c_boolean *)(base + f->quantifier_offset);
        if (!want)
                return !has;
        if (!has)
                return false;
        switch (f->type) {
        case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)(base + f->offset) == strtod(want, NULL);
        case PROTOBUF_C_TYPE_INT64: return *(const int64_t *)(base + f->offset) == strtoll(want, NULL, 10);
        case PROTOBUF_C_TYPE_INT32: return *(const int32_t *)(base + f->offset) == strtol(want, NULL, 10);
        case PROTOBUF_C_TYPE_BOOL: return *(const protobuf_c_boolean *)(base + f->offset) == (want[0] == 't');
        default: return false;
        }
}

static void cols_free(struct sqlarray *cols)
{
        for (int i = 0; i < CATALOG_MAX_COLUMNS; i++)
                sqlarray_deinit(&cols[i]);
        memset(cols, 0, sizeof(struct sqlarray) * CATALOG_MAX_COLUMNS);
}

/* Element I of array literal LIT ("{a,\"b c\",NULL}"), unquoted, into
 * BUF; NULL for SQL NULL. */
static const char *literal_element(const char *lit, int i, char *buf, size_t n)
{
        const char *p = lit + 1;
        size_t k = 0;
        bool quoted;

        for (; i > 0; i--) {
                for (quoted = false; *p && (quoted || (*p != ',' && *p != '}')); p++) {
                        if (*p == '\\')
                                p++;
                        else if (*p == '"')
                                quoted = !quoted;
                }
                CHECK(*p == ',');
                p++;
        }
        if (strncmp(p, "NULL", 4) == 0 && (p[4] == ',' || p[4] == '}'))
                return NULL;
        for (quoted = false; *p && (quoted || (*p != ',' && *p != '}')) && k + 1 < n; p++) {
                if (*p == '\\')
                        buf[k++] = *++p;
                else if (*p == '"')
                        quoted = !quoted;
                else
                        buf[k++] = *p;
        }
        buf[k] = '\0';
        return buf;
}

/* The same argument arrays: in the binary form byte for byte; as
 * literals element by element, a number as the same number (the station
 * sends the operator's "28.2", a replica the double it decoded). Those in
 * SKIP (NULL: none) are not compared. */
static void check_same_args(struct sqlarray *a, struct sqlarray *b, int nargs, const bool *skip)
{
        for (int i = 0; i < nargs; i++) {
                const char *va, *vb;
                int la, lb, fa, fb;
                if (skip && skip[i])
                        continue;
                sqlarray_param(&a[i], &va, &la, &fa);
                sqlarray_param(&b[i], &vb, &lb, &fb);
                CHECK(fa == fb && a[i].n == b[i].n);
                if (fa) {
                        CHECK(la == lb && memcmp(va, vb, (size_t)la) == 0);
                        continue;
                }
                for (int k = 0; k < (int)a[i].n; k++) {
                        char ba[512], bb[512], *ea, *eb;
                        const char *xa = literal_element(va, k, ba, sizeof(ba));
                        const char *xb = literal_element(vb, k, bb, sizeof(bb));
                        if (!xa || !xb) {
                                CHECK(!xa && !xb);
                                continue;
                        }
                        if (strcmp(xa, xb) != 0 && !(strtod(xa, &ea) == strtod(xb, &eb) && !*ea && !*eb)) {
                                fprintf(stderr, "argument %d: %s != %s\n", i + 1, va, vb);
                                exit(1);
                        }
                }
        }
}

/* Apply arguments of KIND: the columns, removed and the change. */
static int nargs_of(enum catalog_kind kind)
{
        return catalog_ncolumns(kind) + 2;
}

/* Which argument of KIND's *_apply() function COLUMN is, as the SQL
 * functions take them: the two leading columns, the version, removed, the
 * other columns in table order, the change. */
static int arg_of(enum catalog_kind kind, const char *column)
{
        const struct catalog_entity *e = catalog_entity(kind);
        int i = catalog_column_index(kind, column), k = 4;

        CHECK(i >= 0);
        if (i < 2)
                return i;
        if (e->columns[i].role == CATALOG_VERSION)
                return 2;
        for (int j = 2; j < i; j++)
                k += e->columns[j].role == CATALOG_DATA;
        return k;
}

/* Is element 0 of argument array A SQL NULL? */
static bool arg_is_null(struct sqlarray *a)
{
        struct sqlarray_reader rd;
        const uint8_t *el;
        const char *v;
        size_t ellen;
        int l, f;

        sqlarray_param(a, &v, &l, &f);
        if (!f)
                return strcmp(v, "{NULL}") == 0;
        CHECK(sqlarray_reader_init(&rd, v, (size_t)l) == 1);
        return sqlarray_reader_next(&rd, &el, &ellen) == 1 && el == NULL;
}

/* What field COL of R travels as: a station-only column (an address)
 * not at all (Art 19, 29(2)), its presence column as whether R has one. */
static const char *travels_as(const struct row *r, int i)
{
        const struct catalog_entity *e = catalog_entity(r->kind);
        const struct catalog_column *col = &e->columns[i];

        if (col->station_only)
                return NULL;
        for (int k = 0; k < e->ncolumns; k++)
                if (e->columns[k].station_only && strcmp(e->columns[k].presence, col->sql) == 0 && r->v[k])
                        return "t";
        return r->v[i] ? r->v[i] : col->null_false ? "f" : NULL;
}

/* Encode R, decode it, compare every column; then (if ARGS) the arrays
 * from the decoded change (a replica) and from the strings (the station)
 * agree, but for the addresses: the station keeps its own, a replica
 * none. */
static void round_trip_fields(const struct row *r, bool args)
{
        const struct catalog_entity *e = catalog_entity(r->kind);
        struct sqlarray from_change[CATALOG_MAX_COLUMNS] = { 0 }, from_row[CATALOG_MAX_COLUMNS] = { 0 };
        size_t len;
        uint8_t *buf = encode(r, 42, false, &len);
        Vigil__Change *c = decode(buf, len);
        const ProtobufCMessage *m = entity_message(c, r->kind);
        char err[256] = "";

        CHECK(catalog_kind_of(c) == r->kind);
        for (int i = 0; i < e->ncolumns; i++) {
                const struct catalog_column *col = &e->columns[i];
                const char *want = col->role == CATALOG_VERSION ? "42" : travels_as(r, i);
                if (!field_holds(m, col->field ? col->field : col->sql, want)) {
                        fprintf(stderr, "%s.%s does not hold %s\n", e->name, col->sql, want ? want : "(none)");
                        exit(1);
                }
        }
        CHECK(field_holds(m, "removed", NULL));
        CHECK(catalog_replica_row(from_change, c, DISTRICT, buf, len, err, sizeof(err)) == 0);
        CHECK(catalog_cols_add(from_row, r->kind, r->v, CATALOG_MAX_COLUMNS, 42, false, buf, len) == 0);
        CHECK(from_change[0].n == 1 && from_row[0].n == 1);
        bool skip[CATALOG_MAX_COLUMNS] = { false };
        for (int i = 0; i < e->ncolumns; i++) {
                int a = arg_of(r->kind, e->columns[i].sql);
                if (!e->columns[i].station_only)
                        continue;
                skip[a] = true;
                CHECK(arg_is_null(&from_change[a]));
                CHECK(arg_is_null(&from_row[a]) == (r->v[i] == NULL));
        }
        if (args)
                check_same_args(from_change, from_row, nargs_of(r->kind), skip);
        /* Nothing past the change. */
        CHECK(from_change[nargs_of(r->kind)].n == 0);
        cols_free(from_change);
        cols_free(from_row);
        wire_change_free(c);
        free(buf);
}

static void round_trip(const struct row *r)
{
        round_trip_fields(r, true);
}

static void test_site_round_trip(void)
{
        struct row r = site_row();
        size_t len;
        uint8_t *buf;
        Vigil__Change *c;

        round_trip(&r);
        /* Read back as the generated struct, not through descriptors. */
        buf = encode(&r, -1, false, &len);
        c = decode(buf, len);
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_SITE);
        CHECK_STREQ(c->site->station_id, STATION);
        CHECK_STREQ(c->site->code, "s1");
        CHECK_STREQ(c->site->name, "Yuelu \"junction\"");
        CHECK(c->site->has_latitude && c->site->latitude == 28.2);
        CHECK_STREQ(c->site->location_type, "junction");
        CHECK(c->site->has_signage && c->site->signage);
        CHECK(c->site->has_version && c->site->version == 5);   /* the row's own */
        wire_change_free(c);
        free(buf);
}

static void test_system_round_trip(void)
{
        struct row r = system_row();
        size_t len;
        uint8_t *buf;
        Vigil__Change *c;

        round_trip(&r);
        buf = encode(&r, 100, false, &len);
        c = decode(buf, len);
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_SYSTEM);
        CHECK_STREQ(c->system->builder_class, "government");
        CHECK_STREQ(c->system->commissioned_on, "2024-01-02");
        /* Art 19, 29(2): held at the station; that it has one goes up. */
        CHECK(c->system->reserved_interface == NULL);
        CHECK(c->system->has_has_reserved_interface && c->system->has_reserved_interface);
        CHECK(c->system->has_retention_days && c->system->retention_days == 30);
        CHECK(c->system->version == 100);
        wire_change_free(c);
        free(buf);
}

static void test_camera_round_trip(void)
{
        struct row r = camera_row();
        size_t len;
        uint8_t *buf;
        Vigil__Change *c;

        round_trip(&r);
        buf = encode(&r, 42, false, &len);
        c = decode(buf, len);
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_CAMERA);
        CHECK_STREQ(c->camera->id, CAMERA);
        CHECK_STREQ(c->camera->station_id, STATION);
        CHECK_STREQ(c->camera->system_code, "gov1");
        CHECK_STREQ(c->camera->site_code, "s1");
        CHECK(c->camera->has_bearing && c->camera->bearing == 90);
        CHECK(c->camera->has_field_of_view && c->camera->field_of_view == 60);
        CHECK(c->camera->has_ptz && c->camera->ptz);
        CHECK_STREQ(c->camera->status, "online");
        CHECK(c->camera->stream_url == NULL && c->camera->has_has_stream && c->camera->has_stream);
        wire_change_free(c);
        free(buf);
}

/* Absent values stay absent, except the booleans that are never NULL in
 * the table: they travel as false. */
static void test_sparse_row(void)
{
        struct row r = { CATALOG_CAMERA, { 0 } };
        size_t len;
        uint8_t *buf;
        Vigil__Change *c;

        set(&r, "id", CAMERA);
        set(&r, "station_id", STATION);
        set(&r, "name", "c");
        set(&r, "system_code", "gov1");
        set(&r, "site_code", "s1");
        /* The arrays differ here: the station sends ptz NULL (camera_apply
         * makes it false), a replica the false it received. */
        round_trip_fields(&r, false);
        buf = encode(&r, 3, false, &len);
        c = decode(buf, len);
        CHECK(!c->camera->has_latitude && !c->camera->has_bearing && !c->camera->stream_url);
        CHECK(c->camera->has_ptz && !c->camera->ptz);
        CHECK(c->camera->has_has_stream && !c->camera->has_stream);
        CHECK(c->camera->status == NULL);
        wire_change_free(c);
        free(buf);
}

/* The argument arrays as the apply functions take them: cameras in the
 * binary form (an 8-byte float for the bearing), sites as literals. */
static void test_argument_forms(void)
{
        struct row cam = camera_row(), site = site_row();
        struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 }, *a;
        struct sqlarray_reader rd;
        const uint8_t *el;
        size_t ellen, len;
        uint8_t *buf = encode(&cam, 42, false, &len);
        const char *v;
        int l, f;
        uint64_t bits;
        double bearing;

        CHECK(catalog_cols_add(cols, CATALOG_CAMERA, cam.v, CATALOG_MAX_COLUMNS, 42, false, buf, len) == 0);
        CHECK(arg_of(CATALOG_CAMERA, "bearing") == 12);   /* camera_apply()'s p_bearing is $13 of its arrays */
        a = &cols[arg_of(CATALOG_CAMERA, "bearing")];
        CHECK(a->type == SQLARRAY_FLOAT8);
        sqlarray_param(a, &v, &l, &f);
        CHECK(f == 1);
        CHECK(sqlarray_reader_init(&rd, v, (size_t)l) == 1);
        CHECK(sqlarray_reader_next(&rd, &el, &ellen) == 1 && ellen == 8);
        memcpy(&bits, el, 8);
        bits = be64toh(bits);
        memcpy(&bearing, &bits, 8);
        CHECK(bearing == 90);
        CHECK(cols[arg_of(CATALOG_CAMERA, "name")].type == SQLARRAY_TEXT);
        CHECK(cols[arg_of(CATALOG_CAMERA, "ptz")].type == SQLARRAY_BOOL);
        CHECK(cols[2].type == SQLARRAY_INT8 && cols[3].type == SQLARRAY_BOOL);
        CHECK(cols[nargs_of(CATALOG_CAMERA) - 1].type == SQLARRAY_BYTEA);
        cols_free(cols);
        free(buf);

        buf = encode(&site, 42, false, &len);
        CHECK(catalog_cols_add(cols, CATALOG_SITE, site.v, CATALOG_MAX_COLUMNS, 42, false, buf, len) == 0);
        sqlarray_param(&cols[arg_of(CATALOG_SITE, "name")], &v, &l, &f);
        CHECK(f == 0);
        CHECK_STREQ(v, "{\"Yuelu \\\"junction\\\"\"}");
        sqlarray_param(&cols[arg_of(CATALOG_SITE, "signage")], &v, &l, &f);
        CHECK_STREQ(v, "{\"t\"}");
        sqlarray_param(&cols[2], &v, &l, &f);
        CHECK_STREQ(v, "{42}");
        sqlarray_param(&cols[3], &v, &l, &f);
        CHECK_STREQ(v, "{f}");
        cols_free(cols);
        free(buf);
}

/* The bytes on the wire as b59560d produced them for these rows (the
 * camera's as 013_addresses_stay changed them): a refactoring of the
 * codec must not change what travels. */
static void check_hex(const uint8_t *buf, size_t len, const char *want)
{
        char got[1024];

        CHECK(len * 2 < sizeof(got));
        for (size_t i = 0; i < len; i++)
                snprintf(got + 2 * i, 3, "%02x", buf[i]);
        got[2 * len] = '\0';
        CHECK_STREQ(got, want);
}

static void test_wire_bytes_unchanged(void)
{
        struct row cam = camera_row(), site = site_row();
        size_t len;
        uint8_t *buf;

        /* Changed on purpose when the addresses stayed at the station
         * (Art 19, 29(2)): the stream URL (field 8, "4212 rtsp://…") no
         * longer travels, has_stream (field 17, "880101") does. */
        buf = encode(&cam, -1, false, &len);
        check_hex(buf, len, "3289010a1434333031303430313030313331303030303030311214343330313034303130303230303030"
                            "303030303118072a0c5975656c7520526420e58c973204676f76313a0273314a04483236345209313932"
                            "307831303830593333333333333c40619a99999999395c40690000000000805640710000000000004e40"
                            "78018201066f6e6c696e65880101");
        free(buf);
        buf = encode(&cam, 77, true, &len);
        check_hex(buf, len, "32300a143433303130343031303031333130303030303031121434333031303430313030323030303030"
                            "30303031184d2001");
        free(buf);
        buf = encode(&site, -1, false, &len);
        check_hex(buf, len, "22630a1434333031303430313030323030303030303030311202733118052a105975656c7520226a756e"
                            "6374696f6e223207616464722c2031393333333333333c40419a99999999395c404a03372e3152086a75"
                            "6e6374696f6e580162076f776e65725c78");
        free(buf);
}

/* A result as replica.c's sweep reads it: the row, and a tombstone of it
 * with its version + 1. */
static PGresult *result_of(const struct row *r)
{
        const struct catalog_entity *e = catalog_entity(r->kind);
        PGresAttDesc att[CATALOG_MAX_COLUMNS];
        PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);

        memset(att, 0, sizeof(att));
        for (int i = 0; i < e->ncolumns; i++) {
                att[i].name = (char *)e->columns[i].sql;
                att[i].typlen = -1;
        }
        CHECK(PQsetResultAttrs(res, e->ncolumns, att));
        for (int i = 0; i < e->ncolumns; i++)
                CHECK(PQsetvalue(res, 0, i, (char *)r->v[i], r->v[i] ? (int)strlen(r->v[i]) : -1));
        return res;
}

static void test_tombstones(void)
{
        struct row rows[3] = { site_row(), system_row(), camera_row() };

        for (int k = 0; k < 3; k++) {
                const struct row *r = &rows[k];
                const struct catalog_entity *e = catalog_entity(r->kind);
                PGresult *res = result_of(r);
                int vcol = catalog_version_column(r->kind);
                int64_t v = strtoll(PQgetvalue(res, 0, vcol), NULL, 10) + 1;
                struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 };
                const ProtobufCMessage *m;
                Vigil__Change *c;
                uint8_t *buf, *same;
                size_t len, same_len;
                char err[256] = "";
                const char *lit;
                int l, f;

                CHECK(catalog_encode_row(r->kind, res, 0, v, true, &buf, &len) == 0);
                c = decode(buf, len);
                m = entity_message(c, r->kind);
                CHECK(field_holds(m, "removed", "t"));
                for (int i = 0; i < e->ncolumns; i++) {
                        const struct catalog_column *col = &e->columns[i];
                        char want[24];
                        snprintf(want, sizeof(want), "%lld", (long long)v);
                        /* The key and the station name the row; nothing else travels. */
                        CHECK(field_holds(m, col->field ? col->field : col->sql, col->role == CATALOG_VERSION ? want
                                                       : col->role == CATALOG_DATA ? NULL : r->v[i]));
                }
                /* Without the required columns a tombstone is still taken. */
                CHECK(catalog_replica_row(cols, c, DISTRICT, buf, len, err, sizeof(err)) == 0);
                sqlarray_param(&cols[3], &lit, &l, &f);
                CHECK(f ? ((const uint8_t *)lit)[l - 1] == 1 : strcmp(lit, "{t}") == 0);
                /* The row's own version when none is given. */
                CHECK(catalog_encode_row(r->kind, res, 0, -1, false, &same, &same_len) == 0);
                wire_change_free(c);
                c = decode(same, same_len);
                CHECK(field_holds(entity_message(c, r->kind), "version", r->v[vcol]));
                wire_change_free(c);
                cols_free(cols);
                free(buf);
                free(same);
                PQclear(res);
        }
}

/* A change refused: the reason, and the arrays as they were. */
static void check_refused(const struct row *r, bool removed, const char *via, const char *reason)
{
        struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 };
        struct row ok = r->kind == CATALOG_CAMERA ? camera_row() : r->kind == CATALOG_SITE ? site_row() : system_row();
        size_t len, ok_len;
        uint8_t *buf = encode(r, 50, removed, &len), *ok_buf = encode(&ok, 49, false, &ok_len);
        Vigil__Change *c = decode(buf, len), *okc = decode(ok_buf, ok_len);
        char err[256] = "";

        CHECK(catalog_replica_row(cols, okc, DISTRICT, ok_buf, ok_len, err, sizeof(err)) == 0);
        CHECK(catalog_replica_row(cols, c, via, buf, len, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, reason);
        for (int i = 0; i < nargs_of(r->kind); i++)
                CHECK(cols[i].n == 1);
        cols_free(cols);
        wire_change_free(c);
        wire_change_free(okc);
        free(buf);
        free(ok_buf);
}

static void test_refused(void)
{
        struct row r;

        /* A station outside the child's subtree (the district speaks for
         * its own stations only). */
        r = camera_row();
        check_refused(&r, false, OTHER_DISTRICT, "station " STATION " is not in the subtree of " OTHER_DISTRICT);
        r = site_row();
        check_refused(&r, true, OTHER_DISTRICT, "is not in the subtree");
        /* A station's ID that is not a station's. */
        r = system_row();
        set(&r, "station_id", DISTRICT);
        check_refused(&r, false, DISTRICT, "is not in the subtree");
        /* A camera ID of another station (Art 15), even as a tombstone. */
        r = camera_row();
        set(&r, "station_id", OTHER_STATION);
        check_refused(&r, false, DISTRICT, "camera " CAMERA " does not belong to station " OTHER_STATION);
        r = camera_row();
        set(&r, "id", "43010402001310000001");
        check_refused(&r, true, DISTRICT, "camera 43010402001310000001 does not belong to station " STATION);
        /* A required column missing, unless removed. */
        r = camera_row();
        set(&r, "name", NULL);
        check_refused(&r, false, DISTRICT, "camera " CAMERA " without version, name, system or site");
        r = site_row();
        set(&r, "location_type", NULL);
        check_refused(&r, false, DISTRICT, "site without code, version, name or location type");
        r = system_row();
        set(&r, "retention_days", NULL);
        check_refused(&r, false, DISTRICT, "system without code");
        r = site_row();
        set(&r, "code", NULL);
        check_refused(&r, true, DISTRICT, "site without code");
}

/* The change forwarded up: the bytea element of the last argument of COLS
 * (binary arrays), decoded. */
static Vigil__Change *forwarded(struct sqlarray *cols, enum catalog_kind kind)
{
        struct sqlarray_reader rd;
        const uint8_t *el;
        const char *v;
        size_t ellen;
        int l, f;

        sqlarray_param(&cols[nargs_of(kind) - 1], &v, &l, &f);
        CHECK(f == 1 && sqlarray_reader_init(&rd, v, (size_t)l) == 1);
        CHECK(sqlarray_reader_next(&rd, &el, &ellen) == 1 && el != NULL);
        return decode(el, ellen);
}

/* Art 19, 29(2): a station that sends an address up anyway (one built
 * before the addresses stayed, or a hostile one) gets it neither stored
 * nor forwarded by its parent: the row's argument is NULL, its presence
 * true, and the change forwarded is the same change without it. One
 * without an address is forwarded as it came, byte for byte. */
static void test_child_sends_address(void)
{
        struct row r = camera_row();
        Vigil__Change c = VIGIL__CHANGE__INIT, *got, *fwd;
        Vigil__Camera cam = VIGIL__CAMERA__INIT;
        Vigil__System sys = VIGIL__SYSTEM__INIT;
        struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 };
        uint8_t *buf, *clean;
        size_t len, clean_len;
        char err[256] = "";
        const char *v;
        int l, f;

        cam.id = (char *)CAMERA;
        cam.station_id = (char *)STATION;
        cam.has_version = 1;
        cam.version = 9;
        cam.name = (char *)"n";
        cam.system_code = (char *)"gov1";
        cam.site_code = (char *)"s1";
        cam.stream_url = (char *)"rtsp://admin:secret@10.0.0.1/c1";
        cam.codec = (char *)"H264";
        c.kind_case = VIGIL__CHANGE__KIND_CAMERA;
        c.camera = &cam;
        CHECK(wire_encode_change(&c, &buf, &len) == 0);
        got = decode(buf, len);
        CHECK_STREQ(got->camera->stream_url, "rtsp://admin:secret@10.0.0.1/c1");
        CHECK(catalog_replica_row(cols, got, DISTRICT, buf, len, err, sizeof(err)) == 0);
        CHECK(arg_is_null(&cols[arg_of(CATALOG_CAMERA, "stream_url")]));
        CHECK(!arg_is_null(&cols[arg_of(CATALOG_CAMERA, "has_stream")]));
        fwd = forwarded(cols, CATALOG_CAMERA);
        CHECK(fwd->camera->stream_url == NULL && fwd->camera->has_has_stream && fwd->camera->has_stream);
        CHECK_STREQ(fwd->camera->codec, "H264");
        CHECK_STREQ(fwd->camera->name, "n");
        CHECK(fwd->camera->version == 9);
        wire_change_free(fwd);
        wire_change_free(got);
        cols_free(cols);
        free(buf);

        /* What a station sends now: forwarded untouched. */
        buf = encode(&r, 10, false, &len);
        got = decode(buf, len);
        CHECK(catalog_replica_row(cols, got, DISTRICT, buf, len, err, sizeof(err)) == 0);
        sqlarray_param(&cols[nargs_of(CATALOG_CAMERA) - 1], &v, &l, &f);
        CHECK(f == 1 && l > (int)len && memmem(v, (size_t)l, buf, len) != NULL);
        wire_change_free(got);
        cols_free(cols);
        free(buf);

        /* A system's reserved interface, the same (sent as literals). */
        sys.station_id = (char *)STATION;
        sys.code = (char *)"priv1";
        sys.has_version = 1;
        sys.version = 3;
        sys.name = (char *)"mall";
        sys.builder_class = (char *)"private";
        sys.responsible_entity = (char *)"owner";
        sys.reserved_interface = (char *)"rtsp://linkage:pw@192.168.7.7/live";
        sys.has_retention_days = 1;
        sys.retention_days = 30;
        c.kind_case = VIGIL__CHANGE__KIND_SYSTEM;
        c.system = &sys;
        CHECK(wire_encode_change(&c, &buf, &len) == 0);
        got = decode(buf, len);
        CHECK(catalog_replica_row(cols, got, DISTRICT, buf, len, err, sizeof(err)) == 0);
        CHECK(arg_is_null(&cols[arg_of(CATALOG_SYSTEM, "reserved_interface")]));
        sqlarray_param(&cols[arg_of(CATALOG_SYSTEM, "has_reserved_interface")], &v, &l, &f);
        CHECK_STREQ(v, "{t}");
        sqlarray_param(&cols[nargs_of(CATALOG_SYSTEM) - 1], &v, &l, &f);
        CHECK(strstr(v, "192.168.7.7") == NULL);
        /* The same message, re-encoded without the address, is what goes. */
        sys.reserved_interface = NULL;
        sys.has_has_reserved_interface = sys.has_reserved_interface = 1;
        CHECK(wire_encode_change(&c, &clean, &clean_len) == 0);
        {
                char hex[1024];
                size_t k = 0;
                CHECK(clean_len * 2 + 1 < sizeof(hex));
                for (size_t i = 0; i < clean_len; i++)
                        k += (size_t)snprintf(hex + k, sizeof(hex) - k, "%02x", clean[i]);
                CHECK_CONTAINS(v, hex);
        }
        free(clean);
        wire_change_free(got);
        cols_free(cols);
        free(buf);
}

/* A camera's status alone: its own arrays and statement. */
static void test_camera_status(void)
{
        struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 };
        const char *p[CATALOG_MAX_PARAMS], *sql = NULL;
        int lens[CATALOG_MAX_PARAMS], fmts[CATALOG_MAX_PARAMS];
        uint8_t *buf;
        size_t len;
        Vigil__Change *c;
        char err[256] = "";

        CHECK(catalog_encode_camera_status(CAMERA, "fault", 43, &buf, &len) == 0);
        c = decode(buf, len);
        CHECK(catalog_kind_of(c) == CATALOG_CAMERA_STATUS);
        CHECK(catalog_replica_row(cols, c, DISTRICT, buf, len, err, sizeof(err)) == 0);
        CHECK(catalog_apply_statement(CATALOG_CAMERA_STATUS, cols, DISTRICT, CITY, false, &sql, p, lens, fmts) == 5);
        CHECK_STREQ(sql, "SELECT camera_status_apply($1, $2, $3, $4, $5)");
        CHECK_STREQ(p[0], CITY);
        CHECK(catalog_replica_row(cols, c, OTHER_DISTRICT, buf, len, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "is not from " OTHER_DISTRICT "'s subtree");
        CHECK(cols[0].n == 1);
        cols_free(cols);
        wire_change_free(c);
        free(buf);
}

/* The statements: every argument array is a parameter, after the origin,
 * the uplink and the snapshot flag. */
static void test_apply_statement(void)
{
        struct row rows[3] = { site_row(), system_row(), camera_row() };

        for (int k = 0; k < 3; k++) {
                struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 };
                const char *p[CATALOG_MAX_PARAMS], *sql = NULL, *s;
                int lens[CATALOG_MAX_PARAMS], fmts[CATALOG_MAX_PARAMS], np, dollars = 0;
                char head[64], last[16];
                size_t len;
                uint8_t *buf = encode(&rows[k], 1, false, &len);

                CHECK(catalog_apply_statement(rows[k].kind, cols, DISTRICT, CITY, true, &sql, p, lens, fmts) == 0);
                CHECK(catalog_cols_add(cols, rows[k].kind, rows[k].v, CATALOG_MAX_COLUMNS, 1, false, buf, len) == 0);
                np = catalog_apply_statement(rows[k].kind, cols, DISTRICT, CITY, true, &sql, p, lens, fmts);
                CHECK(np == 3 + nargs_of(rows[k].kind));
                snprintf(head, sizeof(head), "SELECT %s($1, $2, $3, $4", catalog_entity(rows[k].kind)->apply);
                CHECK(strncmp(sql, head, strlen(head)) == 0);
                snprintf(last, sizeof(last), ", $%d)", np);
                CHECK(strlen(sql) > strlen(last) && strcmp(sql + strlen(sql) - strlen(last), last) == 0);
                for (s = sql; (s = strchr(s, '$')); s++)
                        dollars++;
                CHECK(dollars == np);
                CHECK_STREQ(p[0], DISTRICT);
                CHECK_STREQ(p[1], CITY);
                CHECK_STREQ(p[2], "t");
                cols_free(cols);
                free(buf);
        }
}

/* The tables themselves. The version sits at 10, 13 and 14 (new
 * columns come after it, where ALTER TABLE puts them). */
static void test_tables(void)
{
        CHECK(catalog_version_column(CATALOG_SITE) == 10);
        CHECK(catalog_version_column(CATALOG_SYSTEM) == 13);
        CHECK(catalog_version_column(CATALOG_CAMERA) == 14);
        CHECK(catalog_version_column(CATALOG_CAMERA_STATUS) == -1);
        CHECK(strncmp(catalog_columns(CATALOG_SITE), "station_id, code, name, ", 24) == 0);
        CHECK(strncmp(catalog_columns(CATALOG_CAMERA), "id, station_id, name, ", 22) == 0);
        CHECK_STREQ(catalog_kind_name(CATALOG_CAMERA), "camera");
        CHECK_STREQ(catalog_kind_name(CATALOG_CAMERA_STATUS), "camera_status");
        CHECK_STREQ(catalog_table(CATALOG_SYSTEM), "systems");
        CHECK(catalog_entity(CATALOG_NONE) == NULL && catalog_columns(CATALOG_CAMERA_STATUS) == NULL);
        for (int k = CATALOG_SITE; k <= CATALOG_ENTITY_LAST; k++) {
                const struct catalog_entity *e = catalog_entity((enum catalog_kind)k);
                CHECK(e && e->kind == (enum catalog_kind)k && e->ncolumns + 2 <= CATALOG_MAX_COLUMNS);
                /* Every operator-facing column names a check, and back. */
                for (int i = 0; i < e->ncolumns; i++)
                        CHECK((e->columns[i].option != NULL) == (e->columns[i].check != CATALOG_CHECK_NONE));
        }
}

/* A status alone travels as a small delta, not the whole row. */
static void test_camera_row_and_status(void)
{
        const char *v[15] = { "43010401001310000001", STATION, "Yuelu Rd north", "gov1", "s1",
                              "rtsp://10.0.0.1/c1", "H264", "1920x1080", "28.2", "112.9", "90", "60",
                              "f", "online", "7" };
        uint8_t *row, *st;
        size_t row_len, st_len;
        Vigil__Change *c = NULL;
        char err[256];

        CHECK(catalog_encode_values(CATALOG_CAMERA, v, 15, 42, false, &row, &row_len) == 0);
        CHECK(catalog_encode_camera_status(v[0], "fault", 43, &st, &st_len) == 0);
        CHECK(st_len * 3 < row_len);
        CHECK(wire_decode_change(row, row_len, &c, err, sizeof(err)) == 0);
        free(row);
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_CAMERA);
        CHECK_STREQ(c->camera->name, "Yuelu Rd north");
        CHECK(c->camera->version == 42 && c->camera->has_bearing && c->camera->bearing == 90);
        wire_change_free(c);
        CHECK(wire_decode_change(st, st_len, &c, err, sizeof(err)) == 0);
        free(st);
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_CAMERA_STATUS);
        CHECK_STREQ(c->camera_status->status, "fault");
        CHECK(c->camera_status->version == 43);
        wire_change_free(c);
}

int main(void)
{
        RUN(test_tables);
        RUN(test_site_round_trip);
        RUN(test_system_round_trip);
        RUN(test_camera_round_trip);
        RUN(test_sparse_row);
        RUN(test_argument_forms);
        RUN(test_wire_bytes_unchanged);
        RUN(test_tombstones);
        RUN(test_refused);
        RUN(test_child_sends_address);
        RUN(test_camera_status);
        RUN(test_camera_row_and_status);
        RUN(test_apply_statement);
        return 0;
}

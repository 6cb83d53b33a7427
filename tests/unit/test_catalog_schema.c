/* The catalog's column tables (lib/features/catalog/columns.c) against the
 * database the migrations build: the same columns, in the same order, of
 * the same types, as the SQL tables (besides the node's own bookkeeping);
 * the same primary keys; *_apply() functions whose arguments are the
 * tables' arrays in the order the C side sends them; and a row of each
 * entity that goes through the real apply function and comes back out of
 * its table as it went in. A column added to one side and not the other
 * fails here. Runs the real migrations on the test cluster (unit_pg.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/catalog.h"
#include "unit.h"
#include "unit_pg.h"
#include "wire/wire.h"

static struct unit_pg pg;

#define RUN_PG(test) \
        do { \
                test(c); \
                printf("ok %s\n", #test); \
        } while (0)

#define STATION "43010401002000000001"
#define DISTRICT "43010400002000000001"
#define CITY "43010000002000000001"

/* Columns every catalog table has that never travel: the node's own. */
static const char *const local_columns[] = { "updated_at", "via", "snapshot_mark", NULL };

static bool is_local(const char *name)
{
        for (const char *const *l = local_columns; *l; l++)
                if (strcmp(*l, name) == 0)
                        return true;
        return false;
}

static PGresult *query(PGconn *c, const char *sql, const char *param)
{
        const char *p[1] = { param };
        PGresult *r = PQexecParams(c, sql, param ? 1 : 0, NULL, p, NULL, NULL, 0);

        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
                exit(1);
        }
        return r;
}

/* The table's columns, in order, name and format_type(), NOT NULL and
 * default, the local ones left out. */
static void test_columns_match(PGconn *c)
{
        for (int k = CATALOG_SITE; k <= CATALOG_ENTITY_LAST; k++) {
                const struct catalog_entity *e = catalog_entity((enum catalog_kind)k);
                PGresult *r = query(c, "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
                                       "pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a "
                                       "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                                       "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
                                       "ORDER BY a.attnum", e->table);
                int n = 0;
                for (int i = 0; i < PQntuples(r); i++) {
                        const char *name = PQgetvalue(r, i, 0), *type = PQgetvalue(r, i, 1);
                        const struct catalog_column *col;
                        if (is_local(name))
                                continue;
                        if (n >= e->ncolumns) {
                                fprintf(stderr, "%s.%s (%s) is not in the column table (columns.c)\n", e->table,
                                        name, type);
                                exit(1);
                        }
                        col = &e->columns[n++];
                        if (strcmp(col->sql, name) != 0) {
                                fprintf(stderr, "%s: column %d is %s in the database, %s in columns.c\n", e->table, n,
                                        name, col->sql);
                                exit(1);
                        }
                        if (strcmp(catalog_type_sql(col->type), type) != 0) {
                                fprintf(stderr, "%s.%s: %s in the database, %s in columns.c\n", e->table, name, type,
                                        catalog_type_sql(col->type));
                                exit(1);
                        }
                        /* A NULL boolean travels as false only where the
                         * table could not hold a NULL anyway. */
                        if (col->null_false)
                                CHECK(PQgetvalue(r, i, 2)[0] == 't' && strcmp(PQgetvalue(r, i, 3), "false") == 0);
                }
                if (n != e->ncolumns) {
                        fprintf(stderr, "%s.%s (columns.c) is not in the database\n", e->table, e->columns[n].sql);
                        exit(1);
                }
                PQclear(r);
        }
}

static void test_primary_keys(PGconn *c)
{
        for (int k = CATALOG_SITE; k <= CATALOG_ENTITY_LAST; k++) {
                const struct catalog_entity *e = catalog_entity((enum catalog_kind)k);
                PGresult *r = query(c, "SELECT string_agg(a.attname, ', ' ORDER BY k.i) FROM pg_index x "
                                       "CROSS JOIN unnest(x.indkey) WITH ORDINALITY AS k(attnum, i) "
                                       "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
                                       "WHERE x.indrelid = $1::regclass AND x.indisprimary", e->table);
                CHECK(PQntuples(r) == 1);
                CHECK_STREQ(PQgetvalue(r, 0, 0), e->primary_key);
                PQclear(r);
        }
}

/* What the C side sends as argument I (0 based, after via, uplink and
 * snapshot) of KIND's apply function, as format_type() names its type. */
static void arg_type(const struct catalog_entity *e, int i, char *buf, size_t n)
{
        int data = 4, nargs = e->ncolumns + 2;

        if (i == 3) {
                snprintf(buf, n, "boolean[]");           /* removed */
                return;
        }
        if (i == nargs - 1) {
                snprintf(buf, n, "bytea[]");             /* the change */
                return;
        }
        for (int c = 0; c < e->ncolumns; c++) {
                int at = c < 2 ? c : e->columns[c].role == CATALOG_VERSION ? 2 : data++;
                if (at == i) {
                        snprintf(buf, n, "%s[]", catalog_type_sql(e->columns[c].type));
                        return;
                }
        }
        snprintf(buf, n, "(none)");
}

static void test_apply_signatures(PGconn *c)
{
        for (int k = CATALOG_SITE; k <= CATALOG_ENTITY_LAST; k++) {
                const struct catalog_entity *e = catalog_entity((enum catalog_kind)k);
                PGresult *r = query(c, "SELECT format_type(t, NULL) FROM pg_proc p "
                                       "CROSS JOIN unnest(p.proargtypes) WITH ORDINALITY AS a(t, i) "
                                       "WHERE p.proname = $1 ORDER BY a.i", e->apply);
                char want[64];
                if (PQntuples(r) != 3 + e->ncolumns + 2) {
                        fprintf(stderr, "%s takes %d arguments, the C side sends %d\n", e->apply, PQntuples(r),
                                3 + e->ncolumns + 2);
                        exit(1);
                }
                CHECK_STREQ(PQgetvalue(r, 0, 0), "text");      /* p_via */
                CHECK_STREQ(PQgetvalue(r, 1, 0), "text");      /* p_uplink */
                CHECK_STREQ(PQgetvalue(r, 2, 0), "boolean");   /* p_snapshot */
                for (int i = 0; i < e->ncolumns + 2; i++) {
                        arg_type(e, i, want, sizeof(want));
                        if (strcmp(PQgetvalue(r, 3 + i, 0), want) != 0) {
                                fprintf(stderr, "%s: argument %d is %s, the C side sends %s\n", e->apply, 4 + i,
                                        PQgetvalue(r, 3 + i, 0), want);
                                exit(1);
                        }
                }
                PQclear(r);
        }
}

/* A row at each entity, every column set: through catalog_replica_row and
 * the real apply function (as received from DISTRICT at the city), then
 * out of the table again; then its tombstone (version + 1) removes it. */
struct sample {
        enum catalog_kind kind;
        const char *values[CATALOG_MAX_COLUMNS * 2];   /* column, value, …, NULL */
};

static const struct sample samples[] = {
        { CATALOG_SITE, { "station_id", STATION, "code", "s1", "name", "Yuelu \"junction\" 岳麓",
                          "address", "addr, {1}", "latitude", "28.2", "longitude", "112.9", "category", "7.1",
                          "location_type", "junction", "signage", "t", "owner", "owner\\x", "version", "5", NULL } },
        { CATALOG_SYSTEM, { "station_id", STATION, "code", "gov1", "name", "sys", "builder_class", "government",
                            "responsible_entity", "police", "maintainer", "m", "maintenance_agreement", "ma",
                            "installer", "i", "installer_licence", "il", "commissioned_on", "2024-01-02",
                            "accepted_on", "2024-02-03", "reserved_interface", "rtsp://x/y",
                            "retention_days", "30", "version", "9", NULL } },
        { CATALOG_CAMERA, { "id", "43010401001310000001", "station_id", STATION, "name", "Yuelu Rd 北",
                            "system_code", "gov1", "site_code", "s1", "stream_url", "rtsp://10.0.0.1/c1",
                            "codec", "H264", "resolution", "1920x1080", "latitude", "28.2", "longitude", "112.9",
                            "bearing", "90.5", "field_of_view", "60", "ptz", "t", "status", "online",
                            "version", "7", NULL } },
};

/* Apply the rows in COLS (one) as the city would, from DISTRICT. */
static long apply(PGconn *c, enum catalog_kind kind, struct sqlarray *cols)
{
        const char *p[CATALOG_MAX_PARAMS], *sql = NULL;
        int lens[CATALOG_MAX_PARAMS], fmts[CATALOG_MAX_PARAMS];
        int np = catalog_apply_statement(kind, cols, DISTRICT, NULL, false, &sql, p, lens, fmts);
        PGresult *r;
        long n;

        CHECK(np > 0);
        r = PQexecParams(c, sql, np, NULL, p, lens, fmts, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
                exit(1);
        }
        n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        for (int i = 0; i < CATALOG_MAX_COLUMNS; i++)
                sqlarray_reset(&cols[i]);
        return n;
}

/* Decode BUF as a receiver does and add it to COLS. */
static void receive(struct sqlarray *cols, const uint8_t *buf, size_t len)
{
        Vigil__Change *ch = NULL;
        char err[256] = "";

        CHECK(wire_decode_change(buf, len, &ch, err, sizeof(err)) == 0);
        if (catalog_replica_row(cols, ch, DISTRICT, buf, len, err, sizeof(err)) != 0) {
                fprintf(stderr, "refused: %s\n", err);
                exit(1);
        }
        wire_change_free(ch);
}

/* What a replica above the station holds of column I of row V: no
 * address (Art 19, 29(2)), and that there is one in its presence column. */
static const char *stored_above(enum catalog_kind kind, const char *const *v, int i)
{
        const struct catalog_entity *e = catalog_entity(kind);

        if (e->columns[i].station_only)
                return NULL;
        if (catalog_column_derived(kind, i)) {
                for (int k = 0; k < e->ncolumns; k++)
                        if (e->columns[k].station_only && strcmp(e->columns[k].presence, e->columns[i].sql) == 0)
                                return v[k] ? "t" : "f";
        }
        return v[i];
}

static void test_rows_through_apply(PGconn *c)
{
        for (size_t s = 0; s < sizeof(samples) / sizeof(samples[0]); s++) {
                enum catalog_kind kind = samples[s].kind;
                const struct catalog_entity *e = catalog_entity(kind);
                const char *v[CATALOG_MAX_COLUMNS] = { 0 };
                struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 };
                char sql[2048], count[256];
                uint8_t *buf;
                size_t len;
                PGresult *r;
                int vcol = catalog_version_column(kind);

                for (const char *const *cv = samples[s].values; *cv; cv += 2) {
                        int i = catalog_column_index(kind, cv[0]);
                        CHECK(i >= 0);
                        v[i] = cv[1];
                }
                CHECK(catalog_encode_values(kind, v, CATALOG_MAX_COLUMNS, -1, false, &buf, &len) == 0);
                receive(cols, buf, len);
                free(buf);
                CHECK(apply(c, kind, cols) == 1);
                snprintf(sql, sizeof(sql), "SELECT %s, via FROM %s", catalog_columns(kind), e->table);
                r = query(c, sql, NULL);
                CHECK(PQntuples(r) == 1);
                for (int i = 0; i < e->ncolumns; i++) {
                        const char *got = PQgetisnull(r, 0, i) ? NULL : PQgetvalue(r, 0, i);
                        const char *want = stored_above(kind, v, i);
                        if (!want != !got || (got && strcmp(want, got) != 0)) {
                                fprintf(stderr, "%s.%s: sent %s, stored %s\n", e->table, e->columns[i].sql,
                                        want ? want : "NULL", got ? got : "NULL");
                                exit(1);
                        }
                }
                CHECK_STREQ(PQgetvalue(r, 0, e->ncolumns), DISTRICT);
                /* The sweep's tombstone: the row's version + 1. */
                CHECK(catalog_encode_row(kind, r, 0, strtoll(PQgetvalue(r, 0, vcol), NULL, 10) + 1, true, &buf,
                                         &len) == 0);
                PQclear(r);
                receive(cols, buf, len);
                free(buf);
                CHECK(apply(c, kind, cols) == 1);
                snprintf(count, sizeof(count), "SELECT count(*) FROM %s", e->table);
                CHECK(unit_pg_long(c, count) == 0);
                for (int i = 0; i < CATALOG_MAX_COLUMNS; i++)
                        sqlarray_deinit(&cols[i]);
        }
}

/* The status delta's own function: four arrays after the uplink. */
static void test_camera_status_apply(PGconn *c)
{
        const struct sample *cam = &samples[2];
        const char *v[CATALOG_MAX_COLUMNS] = { 0 };
        struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 };
        uint8_t *buf;
        size_t len;

        for (const char *const *cv = cam->values; *cv; cv += 2)
                v[catalog_column_index(CATALOG_CAMERA, cv[0])] = cv[1];
        CHECK(catalog_encode_values(CATALOG_CAMERA, v, CATALOG_MAX_COLUMNS, 10, false, &buf, &len) == 0);
        receive(cols, buf, len);
        free(buf);
        CHECK(apply(c, CATALOG_CAMERA, cols) == 1);
        CHECK(catalog_encode_camera_status(v[0], "fault", 11, &buf, &len) == 0);
        receive(cols, buf, len);
        free(buf);
        CHECK(apply(c, CATALOG_CAMERA_STATUS, cols) == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM cameras WHERE status = 'fault' AND version = 11 "
                              "AND name = 'Yuelu Rd 北'") == 1);
        for (int i = 0; i < CATALOG_MAX_COLUMNS; i++)
                sqlarray_deinit(&cols[i]);
}

static void run(PGconn *c, const char *sql)
{
        PGresult *r = PQexec(c, sql);

        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
                exit(1);
        }
        PQclear(r);
}

/* Apply the rows in COLS (one) as this station's own (via NULL). */
static void apply_own(PGconn *c, enum catalog_kind kind, struct sqlarray *cols)
{
        const char *p[CATALOG_MAX_PARAMS], *sql = NULL;
        int lens[CATALOG_MAX_PARAMS], fmts[CATALOG_MAX_PARAMS];
        int np = catalog_apply_statement(kind, cols, NULL, NULL, false, &sql, p, lens, fmts);
        PGresult *r = PQexecParams(c, sql, np, NULL, p, lens, fmts, 0);

        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
                exit(1);
        }
        PQclear(r);
        for (int i = 0; i < CATALOG_MAX_COLUMNS; i++)
                sqlarray_deinit(&cols[i]);
}

/* Art 19, 29(2), where the data lives (functions/catalog.sql,
 * cameras_address_stays, systems_address_stays): at the city an address
 * that got past vigild (the arrays a station writes its own rows with,
 * an UPDATE) is not stored, only that it exists; at a station its own are
 * kept, and their presence follows them. */
static void test_addresses_stay(PGconn *c)
{
        const struct sample *sys = &samples[1];
        const char *v[CATALOG_MAX_COLUMNS] = { 0 };
        struct sqlarray cols[CATALOG_MAX_COLUMNS] = { 0 };
        uint8_t *buf;
        size_t len;

        for (const char *const *cv = sys->values; *cv; cv += 2)
                v[catalog_column_index(CATALOG_SYSTEM, cv[0])] = cv[1];
        CHECK(catalog_encode_values(CATALOG_SYSTEM, v, CATALOG_MAX_COLUMNS, 20, false, &buf, &len) == 0);
        CHECK(catalog_cols_add(cols, CATALOG_SYSTEM, v, CATALOG_MAX_COLUMNS, 20, false, buf, len) == 0);
        free(buf);
        CHECK(apply(c, CATALOG_SYSTEM, cols) == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM systems WHERE reserved_interface IS NULL "
                              "AND has_reserved_interface") == 1);
        run(c, "UPDATE systems SET reserved_interface = 'rtsp://10.9.9.9/x'");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM systems WHERE reserved_interface IS NOT NULL") == 0);
        run(c, "INSERT INTO cameras (id, station_id, name, system_code, site_code, stream_url, version, via) "
                     "VALUES ('43010401001310000009', '" STATION "', 'c', 'gov1', 's1', 'rtsp://u:p@10.1.1.1/c', 1, "
                     "'" DISTRICT "')");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM cameras WHERE id = '43010401001310000009' "
                              "AND stream_url IS NULL AND has_stream") == 1);
        run(c, "DELETE FROM cameras");
        run(c, "DELETE FROM systems");
        /* The city's own row with an address: not kept (the row trigger)
         * or, said to be there already, refused (once per statement). */
        run(c, "INSERT INTO systems (station_id, code, name, builder_class, responsible_entity, reserved_interface, "
               "retention_days, version) VALUES ('" STATION "', 'own', 'own', 'private', 'o', 'rtsp://10.9.9.9/o', "
               "30, 1)");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM systems WHERE reserved_interface IS NULL "
                              "AND has_reserved_interface") == 1);
        run(c, "DELETE FROM systems");
        {
                PGresult *r = PQexec(c, "INSERT INTO systems (station_id, code, name, builder_class, "
                                        "responsible_entity, reserved_interface, has_reserved_interface, "
                                        "retention_days, version) VALUES "
                                        "('" STATION "', 'own', 'own', 'private', 'o', 'rtsp://10.9.9.9/o', true, 30, "
                                        "1)");
                CHECK(PQresultStatus(r) == PGRES_FATAL_ERROR);
                CHECK_CONTAINS(PQresultErrorMessage(r), "Art 19: a reserved interface is held at its station only");
                PQclear(r);
        }

        /* The same database as the station's. */
        run(c, "UPDATE node_settings SET value = '" STATION "' WHERE key = 'node_id'");
        CHECK(catalog_encode_values(CATALOG_SYSTEM, v, CATALOG_MAX_COLUMNS, 21, false, &buf, &len) == 0);
        CHECK(catalog_cols_add(cols, CATALOG_SYSTEM, v, CATALOG_MAX_COLUMNS, 21, false, buf, len) == 0);
        free(buf);
        apply_own(c, CATALOG_SYSTEM, cols);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM systems WHERE reserved_interface = 'rtsp://x/y' "
                              "AND has_reserved_interface AND via IS NULL") == 1);
        run(c, "UPDATE systems SET reserved_interface = NULL");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM systems WHERE NOT has_reserved_interface") == 1);
        run(c, "UPDATE systems SET reserved_interface = 'rtsp://10.9.9.9/x', has_reserved_interface = false");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM systems WHERE reserved_interface = 'rtsp://10.9.9.9/x' "
                              "AND has_reserved_interface") == 1);
        /* A replica's row even here (a station has no child): none kept. */
        run(c, "UPDATE systems SET via = '" DISTRICT "'");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM systems WHERE reserved_interface IS NULL") == 1);
        run(c, "DELETE FROM systems");
        run(c, "UPDATE node_settings SET value = '" CITY "' WHERE key = 'node_id'");
}

int main(void)
{
        PGconn *c;

        unit_pg_setup(&pg, "test_catalog_schema");
        c = unit_pg_node_db(&pg, CITY);
        RUN_PG(test_columns_match);
        RUN_PG(test_primary_keys);
        RUN_PG(test_apply_signatures);
        RUN_PG(test_rows_through_apply);
        RUN_PG(test_camera_status_apply);
        RUN_PG(test_addresses_stay);
        PQfinish(c);
        unit_pg_teardown(&pg);
        return 0;
}

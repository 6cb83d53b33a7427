/* The catalog's replica apply functions, which catalog_define_apply
 * (schema/functions/catalog.sql) writes from the tables' columns: the
 * arguments in the order and of the types vigild passes them
 * (positionally, from its catalog column tables);
 * what camera_apply does with a batch; and a column added to cameras by a
 * numbered migration reaching camera_apply, just before p_change, with no
 * function file touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "unit_pg.h"
#include "unit_schema.h"
#include "db/migrate.h"

static struct unit_pg pg;

#define DISTRICT "43010400002000000001"
#define CHILD "43010401002000000001"   /* the station the replicas come through */
#define CITY "43010000002000000001"

static char *one_value(PGconn *c, const char *sql)
{
        PGresult *r = unit_pg_exec(c, sql);
        char *v;

        CHECK(PQntuples(r) == 1);
        v = strdup(PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
        PQclear(r);
        return v;
}

static void check_value(PGconn *c, const char *sql, const char *want)
{
        char *v = one_value(c, sql);

        if (strcmp(v, want) != 0) {
                fprintf(stderr, "%s\n  gives: %s\n  not:   %s\n", sql, v, want);
                exit(1);
        }
        free(v);
}

#define SIGNATURE(fn) \
        "SELECT oidvectortypes(proargtypes) || ' -> ' || prorettype::regtype FROM pg_proc WHERE proname = '" fn "'"

/* As the migrations before the baseline had them, and vigild calls them:
 * p_via, p_uplink, p_snapshot, the two leading columns, p_version,
 * p_removed, the other data columns in table order, p_change. */
static void test_arguments_as_vigild_passes_them(void)
{
        PGconn *c = unit_pg_node_db(&pg, DISTRICT);

        check_value(c, SIGNATURE("site_apply"),
                    "text, text, boolean, text[], text[], bigint[], boolean[], text[], text[], "
                    "double precision[], double precision[], text[], text[], boolean[], text[], bytea[] -> integer");
        check_value(c, SIGNATURE("system_apply"),
                    "text, text, boolean, text[], text[], bigint[], boolean[], text[], text[], text[], text[], "
                    "text[], text[], text[], date[], date[], text[], integer[], boolean[], bytea[] -> integer");
        check_value(c, SIGNATURE("camera_apply"),
                    "text, text, boolean, text[], text[], bigint[], boolean[], text[], text[], text[], text[], "
                    "text[], text[], double precision[], double precision[], double precision[], "
                    "double precision[], boolean[], text[], boolean[], bytea[] -> integer");
        PQfinish(c);
}

#define NULLS6 "ARRAY[NULL, NULL, NULL, NULL, NULL, NULL]"

/* A batch in a snapshot from CHILD: the newest version of a key wins
 * within the batch and only over an older stored one; a removal deletes;
 * what changed goes up in the order received, in one outbox row; rows the
 * snapshot names are unmarked, changed or not; a column left out gets its
 * default. Returns how many went up. */
static void test_camera_apply_batch(void)
{
        PGconn *c = unit_pg_node_db(&pg, DISTRICT);

        PQclear(unit_pg_exec(c, "INSERT INTO cameras (id, station_id, name, system_code, site_code, version, via, "
                                "snapshot_mark) VALUES "
                                "('43010401001310000002', '" CHILD "', 'two', 'y', 's', 5, '" CHILD "', true), "
                                "('43010401001310000003', '" CHILD "', 'three', 'y', 's', 5, '" CHILD "', true)"));
        check_value(c, "SELECT camera_apply('" CHILD "', '" CITY "', true, "
                       "ARRAY['43010401001310000001', '43010401001310000001', '43010401001310000001', "
                       "      '43010401001310000002', '43010401001310000003', '43010401001310000004'], "
                       "ARRAY['" CHILD "', '" CHILD "', '" CHILD "', '" CHILD "', '" CHILD "', '" CHILD "'], "
                       "ARRAY[1, 3, 2, 4, 6, 1]::bigint[], ARRAY[false, false, false, false, true, false], "
                       "ARRAY['a', 'c', 'b', 'old', NULL, 'four'], "
                       "ARRAY['y', 'y', 'y', 'y', NULL, 'y'], ARRAY['s', 's', 's', 's', NULL, 's'], "
                       NULLS6 "::text[], " NULLS6 "::text[], " NULLS6 "::text[], "
                       NULLS6 "::float8[], " NULLS6 "::float8[], " NULLS6 "::float8[], " NULLS6 "::float8[], "
                       "ARRAY[true, true, true, true, NULL, NULL]::boolean[], "
                       "ARRAY['online', 'online', 'online', 'online', NULL, NULL]::text[], " NULLS6 "::boolean[], "
                       "ARRAY['\\x01', '\\x02', '\\x03', '\\x04', '\\x05', '\\x06']::bytea[])",
                    "3");
        check_value(c, "SELECT string_agg(format('%s %s %s %s %s %s', id, name, version, ptz, status, snapshot_mark), "
                       "'; ' ORDER BY id) FROM cameras",
                    "43010401001310000001 c 3 t online f; 43010401001310000002 two 5 f unknown f; "
                    "43010401001310000004 four 1 f unknown f");
        check_value(c, "SELECT string_agg(format('%s %s..%s %s', peer_id, seq, last_seq, changes), '; ') FROM outbox",
                    CITY " 1..3 {\"\\\\x02\",\"\\\\x05\",\"\\\\x06\"}");

        /* The same again: nothing is newer, nothing goes up. */
        check_value(c, "SELECT camera_apply('" CHILD "', '" CITY "', false, ARRAY['43010401001310000001'], "
                       "ARRAY['" CHILD "'], ARRAY[3]::bigint[], ARRAY[false], ARRAY['c'], ARRAY['y'], ARRAY['s'], "
                       "ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::float8[], "
                       "ARRAY[NULL]::float8[], ARRAY[NULL]::float8[], ARRAY[NULL]::float8[], ARRAY[true], "
                       "ARRAY['online'], ARRAY[NULL]::boolean[], ARRAY['\\x07']::bytea[])",
                    "0");
        check_value(c, "SELECT count(*) FROM outbox", "1");
        PQfinish(c);
}

/* A numbered migration adds a column to cameras: the migration that
 * applies it writes camera_apply again (catalog.sql, applied after every
 * numbered migration) with one more argument, p_test_col text[], after the
 * last data column and before p_change, and camera_apply stores it. The
 * other two are as they were. */
static void test_new_column_reaches_camera_apply(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        char err[512] = "", *site_before = one_value(c, SIGNATURE("site_apply"));
        int n, applied = -1;
        struct migration *files = unit_schema_files(&n);

        unit_schema_add_numbered(files, &n, "999_test_column.sql", "ALTER TABLE cameras ADD COLUMN test_col text;");
        CHECK(migrate_apply_files(c, files, n, &applied, err, sizeof(err)) == 0);
        CHECK(applied > 1);
        check_value(c, "SELECT pronargs || ' ' || proargnames[21] || ' ' || (proargtypes::regtype[])[20] || ' ' || "
                       "proargnames[22] FROM pg_proc WHERE proname = 'camera_apply'",
                    "22 p_test_col text[] p_change");
        check_value(c, "SELECT count(*) FROM pg_proc WHERE proname = 'camera_apply'", "1");
        check_value(c, SIGNATURE("site_apply"), site_before);
        check_value(c, "SELECT camera_apply('" CHILD "', NULL, false, ARRAY['43010401001310000009'], "
                       "ARRAY['" CHILD "'], ARRAY[1]::bigint[], ARRAY[false], ARRAY['nine'], ARRAY['y'], ARRAY['s'], "
                       "ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::text[], ARRAY[NULL]::float8[], "
                       "ARRAY[NULL]::float8[], ARRAY[NULL]::float8[], ARRAY[NULL]::float8[], ARRAY[NULL]::boolean[], "
                       "ARRAY[NULL]::text[], ARRAY[NULL]::boolean[], ARRAY['stored'], ARRAY['\\x09']::bytea[])",
                    "1");
        check_value(c, "SELECT test_col FROM cameras WHERE id = '43010401001310000009'", "stored");
        free(site_before);
        free(files);
        PQfinish(c);
}

int main(void)
{
        unit_pg_setup(&pg, "vigil_unit_catalog_apply");
        RUN(test_arguments_as_vigild_passes_them);
        RUN(test_camera_apply_batch);
        RUN(test_new_column_reaches_camera_apply);
        unit_pg_teardown(&pg);
        return 0;
}

/* Rules enforced by the database itself. The registration rules of
 * schema/003 and 006: rows written straight into a station's tables (not
 * through vigild's checks) are refused with the article, and a district's
 * replicas are not re-judged. A station's receipt of an emergency order
 * (schema/018): which versions it keeps, logs and acks. Runs the real
 * migrations on the test cluster (unit_pg.h). */
#include <errno.h>
#include <stdbool.h>

#include "unit.h"
#include "unit_pg.h"

static struct unit_pg pg;

#define STATION "43010401002000000001"
#define PARENT "43010400002000000001"   /* its district */

/* Run SQL on C; return NULL if it worked, else PostgreSQL's message
 * (static buffer). */
static const char *try_sql(PGconn *c, const char *sql)
{
        static char msg[1024];
        PGresult *r = PQexec(c, sql);
        ExecStatusType st = PQresultStatus(r);

        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
                PQclear(r);
                return NULL;
        }
        snprintf(msg, sizeof(msg), "%s", PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
        PQclear(r);
        return msg;
}

static PGconn *station_db(void)
{
        PGconn *c = unit_pg_node_db(&pg, STATION);

        PQclear(unit_pg_exec(c, "INSERT INTO sites (station_id, code, name, location_type, version) VALUES "
                                "('" STATION "', 'street1', 'Street', 'street', 1), "
                                "('" STATION "', 'hotel', 'Hotel room 301', 'hotel-guest-room', 1)"));
        PQclear(unit_pg_exec(c, "INSERT INTO systems (station_id, code, name, builder_class, responsible_entity, "
                                "retention_days, version) VALUES "
                                "('" STATION "', 'gov1', 'G', 'government', 'Yuelu police', 30, 1)"));
        return c;
}

#define CAMERA(id, site, system, via) \
        "INSERT INTO cameras (id, station_id, name, system_code, site_code, version, via) VALUES ('" id "', '" \
        STATION "', 'cam', '" system "', '" site "', 1, " via ")"

static void test_station_rows_are_judged(void)
{
        PGconn *c = station_db();
        const char *m;

        /* A good camera goes in. */
        CHECK(try_sql(c, CAMERA("43010401001310000001", "street1", "gov1", "NULL")) == NULL);
        /* Art 8(2): a hotel guest room. */
        m = try_sql(c, CAMERA("43010401001310000002", "hotel", "gov1", "NULL"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "Art 8(2)");
        CHECK_CONTAINS(m, "43010401001310000002");
        /* Unknown site and system, named with the camera. */
        m = try_sql(c, CAMERA("43010401001310000003", "nowhere", "gov1", "NULL"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "site \"nowhere\" of camera 43010401001310000003");
        m = try_sql(c, CAMERA("43010401001310000004", "street1", "nosys", "NULL"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "system \"nosys\" of camera 43010401001310000004");
        /* Art 15: not a camera type; outside this station. */
        m = try_sql(c, CAMERA("43010401001180000005", "street1", "gov1", "NULL"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "Art 15");
        /* Not twenty digits: the table's own CHECK. */
        m = try_sql(c, CAMERA("4301040100131000000x", "street1", "gov1", "NULL"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "cameras_id_check");
        /* One bad row among many refuses the whole statement. */
        m = try_sql(c, "INSERT INTO cameras (id, station_id, name, system_code, site_code, version) "
                       "SELECT '43010401001310' || lpad(i::text, 6, '0'), '" STATION "', 'c', 'gov1', "
                       "CASE WHEN i = 500 THEN 'hotel' ELSE 'street1' END, 1 FROM generate_series(100, 999) i");
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "Art 8(2)");
        CHECK_CONTAINS(m, "43010401001310000500");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM cameras") == 1);
        /* A site with cameras cannot become a hotel room. */
        m = try_sql(c, "UPDATE sites SET location_type = 'hotel-guest-room' WHERE code = 'street1'");
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "Art 8(2)");
        /* Art 23(6). */
        m = try_sql(c, "UPDATE systems SET retention_days = 14");
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "Art 23(6)");
        PQfinish(c);
}

/* A replica row (via set) was judged by its owning station: stored as is. */
static void test_replicas_are_not_rejudged(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);

        CHECK(try_sql(c, CAMERA("43010402001310000001", "elsewhere", "theirs", "'43010402002000000001'")) == NULL);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM cameras WHERE via IS NOT NULL") == 1);
        PQfinish(c);
}

/* Order ID version VERSION over SCOPE, ending ENDS (SQL), ended or not,
 * as station STATION's parent sends it: whether the station acked it. */
static bool receive(PGconn *c, const char *id, int version, const char *scope, const char *ends, bool ended)
{
        char sql[1024];
        PGresult *r;
        bool acked;

        snprintf(sql, sizeof(sql),
                 "SELECT emergency_receive('" PARENT "', '%s', %d, '%s', NULL, NULL, NULL, "
                 "now() - interval '1 minute', %s, 'fire', 'Changsha Municipal Public Security Bureau', 'cmdr', "
                 "'43010000002000000001', %s, %d, now(), '" PARENT "', '\\x01'::bytea)",
                 id, version, scope, ends, ended ? "true" : "false", 1000 + version);
        r = unit_pg_exec(c, sql);
        acked = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        return acked;
}

static void test_station_acks_new_live_orders_once(void)
{
        PGconn *c = unit_pg_node_db(&pg, STATION);
        const char *soon = "now() + interval '30 minutes'";

        PQclear(unit_pg_exec(c, "DELETE FROM emergencies; DELETE FROM emergency_reports; DELETE FROM outbox"));
        /* New, live, over the city: acked, the report queued up, the
         * receipt logged. */
        CHECK(receive(c, "em-1", 10, "43010000002000000001", soon, false));
        CHECK(unit_pg_long(c, "SELECT acked_version FROM emergencies WHERE id = 'em-1'") == 10);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM emergency_reports WHERE emergency_id = 'em-1' "
                              "AND station = '" STATION "' AND acked_at IS NOT NULL") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox WHERE peer_id = '" PARENT "'") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE action = 'emergency.received' "
                              "AND emergency_id = 'em-1'") == 1);
        /* The same version again (a resend), or an older one: nothing. */
        CHECK(!receive(c, "em-1", 10, "43010000002000000001", soon, false));
        CHECK(!receive(c, "em-1", 9, "43010000002000000001", soon, false));
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE emergency_id = 'em-1'") == 1);
        /* A newer version (extended): acked again. */
        CHECK(receive(c, "em-1", 11, "43010000002000000001", "now() + interval '1 hour'", false));
        CHECK(unit_pg_long(c, "SELECT acked_version FROM emergencies WHERE id = 'em-1'") == 11);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox") == 2);
        /* Ended: kept and logged, not acked; no later version revives it. */
        CHECK(!receive(c, "em-1", 12, "43010000002000000001", soon, true));
        CHECK(unit_pg_long(c, "SELECT count(*) FROM emergencies WHERE id = 'em-1' AND ended_at IS NOT NULL "
                              "AND acked_version = 11") == 1);
        CHECK(!receive(c, "em-1", 13, "43010000002000000001", soon, false));
        CHECK(unit_pg_long(c, "SELECT count(*) FROM emergencies WHERE id = 'em-1' AND ended_at IS NOT NULL "
                              "AND acked_version = 11 AND version = 13") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox") == 2);
        /* Over another district, expired, or ended on arrival: kept and
         * logged, never acked. */
        CHECK(!receive(c, "em-2", 1, "43010500002000000001", soon, false));
        CHECK(!receive(c, "em-3", 1, "43010000002000000001", "now() - interval '1 second'", false));
        CHECK(!receive(c, "em-4", 1, "43010000002000000001", soon, true));
        CHECK(unit_pg_long(c, "SELECT count(*) FROM emergencies WHERE id IN ('em-2', 'em-3', 'em-4') "
                              "AND acked_version IS NULL") == 3);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE emergency_id IN ('em-2', 'em-3', 'em-4')") == 3);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox") == 2);
        /* Over this station alone: acked. */
        CHECK(receive(c, "em-5", 1, STATION, soon, false));
        PQfinish(c);
}

int main(void)
{
        unit_pg_setup(&pg, "vigil_unit_schema_rules");
        RUN(test_station_rows_are_judged);
        RUN(test_replicas_are_not_rejudged);
        RUN(test_station_acks_new_live_orders_once);
        unit_pg_teardown(&pg);
        return 0;
}

/* Rules enforced by the database itself. The registration rules of
 * schema/functions/catalog.sql: rows written straight into a station's tables (not
 * through vigild's checks) are refused with the article, and a district's
 * replicas are not re-judged. A station's receipt of an emergency order
 * (schema/functions/emergency.sql): which versions it keeps, logs and acks. Officers made
 * inactive and delegations withdrawn (schema/functions/access.sql). Runs the real
 * migrations on the test cluster (unit_pg.h). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

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

/* The message of an access_answer from SQL, or "ok" if it was granted
 * (static buffer). */
static const char *answer(PGconn *c, const char *sql)
{
        static char msg[512];
        PGresult *r = unit_pg_exec(c, sql);

        CHECK(PQntuples(r) == 1);
        snprintf(msg, sizeof(msg), "%s", PQgetvalue(r, 0, 0)[0] == 't' ? "ok" : PQgetvalue(r, 0, 2));
        PQclear(r);
        return msg;
}

#define SET_ACTIVE(badge, active, reason, seen, change) \
        "SELECT ok, article, message FROM officer_set_active('admin:x', '" badge "', " active ", '" reason \
        "', " seen ", 6, " change ", '" PARENT "')"
#define REVOKE(id, badge, seen, change) \
        "SELECT ok, article, message FROM delegation_revoke('" id "', '" badge "', 'why', " seen ", 6, " change \
        ", '" PARENT "')"

/* schema/functions/access.sql: an officer is made inactive, a delegation withdrawn, only
 * where the row lives, with a reason, against the version read; each
 * refusal is logged, each change queued up once. */
static void test_officers_and_delegations_end_where_they_live(void)
{
        PGconn *c = unit_pg_node_db(&pg, STATION);

        PQclear(unit_pg_exec(c, "DELETE FROM outbox"));
        PQclear(unit_pg_exec(c, "INSERT INTO officers (badge, name, unit, credential, roles, public_key, version, "
                                "via) VALUES "
                                "('p1', 'P', '" STATION "', 'C1', '{principal}', repeat('a', 40), 5, NULL), "
                                "('d1', 'D', '" STATION "', 'C2', '{deputy}', repeat('b', 40), 5, NULL), "
                                "('x1', 'X', '43010401002000000002', 'C3', '{investigator}', repeat('c', 40), 5, "
                                "'43010401002000000002')"));
        CHECK_CONTAINS(answer(c, SET_ACTIVE("d1", "false", "", "5", "'\\x01'")), "needs a reason");
        CHECK_CONTAINS(answer(c, SET_ACTIVE("d1", "false", "left", "4", "'\\x01'")), "changed meanwhile");
        CHECK_CONTAINS(answer(c, SET_ACTIVE("d1", "false", "left", "5", "NULL")), "changed meanwhile");
        CHECK_CONTAINS(answer(c, SET_ACTIVE("x1", "false", "left", "5", "'\\x01'")), "registered at");
        CHECK_CONTAINS(answer(c, SET_ACTIVE("d1", "true", "", "5", "'\\x01'")), "already active");
        CHECK_CONTAINS(answer(c, SET_ACTIVE("nobody", "false", "left", "5", "'\\x01'")), "no officer nobody");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM officers WHERE active") == 3);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox") == 0);
        CHECK(strcmp(answer(c, SET_ACTIVE("d1", "false", "left the unit", "5", "'\\x01'")), "ok") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM officers WHERE badge = 'd1' AND NOT active AND version = 6") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox WHERE peer_id = '" PARENT "'") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE action = 'officer.deactivate' "
                              "AND outcome = 'refused'") == 5);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE action = 'officer.deactivate' AND outcome = 'ok' "
                              "AND detail = 'd1 (D): left the unit'") == 1);

        PQclear(unit_pg_exec(c, "UPDATE officers SET active = true WHERE badge = 'd1'"));
        PQclear(unit_pg_exec(c, "INSERT INTO delegations (id, unit, principal, deputy, valid_from, valid_until, "
                                "version, via) VALUES "
                                "('dl1', '" STATION "', 'p1', 'd1', now() - interval '1 hour', "
                                "now() + interval '1 hour', 5, NULL), "
                                "('dl2', '" STATION "', 'p1', 'd1', now() - interval '2 hours', "
                                "now() - interval '1 minute', 5, NULL), "
                                "('dl3', '43010401002000000002', 'q1', 'e1', now() - interval '1 hour', "
                                "now() + interval '1 hour', 5, '43010401002000000002')"));
        CHECK_CONTAINS(answer(c, REVOKE("dl1", "d1", "5", "'\\x01'")), "only the principal");
        /* Art 19: p1 is the principal only by a conferral from the parent,
         * for p1's key (the role in the officers row counts for nothing). */
        CHECK_CONTAINS(answer(c, REVOKE("dl1", "p1", "5", "'\\x01'")), "only the principal");
        PQclear(unit_pg_exec(c, "INSERT INTO conferrals (id, version, unit, badge, public_key, role, conferred_by, "
                                "conferred_at, state, via) VALUES ('cnf1', 1, '" STATION "', 'p1', repeat('b', 40), "
                                "'principal', '{k}', '" PARENT "', 'live', '" PARENT "')"));
        CHECK_CONTAINS(answer(c, REVOKE("dl1", "p1", "5", "'\\x01'")), "only the principal");
        PQclear(unit_pg_exec(c, "UPDATE conferrals SET public_key = repeat('a', 40)"));
        CHECK_CONTAINS(answer(c, REVOKE("dl2", "p1", "5", "'\\x01'")), "already ended");
        CHECK_CONTAINS(answer(c, REVOKE("dl3", "p1", "5", "'\\x01'")), "its principal withdraws it there");
        CHECK_CONTAINS(answer(c, REVOKE("dl1", "p1", "4", "'\\x01'")), "changed meanwhile");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM delegations WHERE revoked") == 0);
        CHECK(strcmp(answer(c, REVOKE("dl1", "p1", "5", "'\\x01'")), "ok") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM delegations WHERE revoked AND id = 'dl1' AND version = 6") == 1);
        CHECK_CONTAINS(answer(c, REVOKE("dl1", "p1", "6", "'\\x01'")), "already revoked");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox WHERE peer_id = '" PARENT "'") == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE action = 'delegation.revoke' "
                              "AND outcome = 'refused'") == 7);
        PQfinish(c);
}

/* schema/functions/access.sql officer_apply: a replica from below whose
 * badge or key is already another officer's here is refused (never an
 * overwrite, never an SQL error: the child's link goes on), logged and
 * raised once as a collision alarm. And a power conferred at the city by
 * one admin alone is not live (the table's own rule). */
static void test_replicas_never_overwrite_another_officer(void)
{
        PGconn *c = unit_pg_node_db(&pg, PARENT);

#define APPLY(badge, key) \
        "SELECT officer_apply('" STATION "', NULL, false, '" badge "', 5, false, 'copy', '" STATION "', 'C', " \
        "'{investigator}', " key ", true, '\\x01', NULL, NULL)"
        PQclear(unit_pg_exec(c, "INSERT INTO officers (badge, name, unit, credential, roles, public_key, version) "
                                "VALUES ('a1', 'Real', '" PARENT "', 'C1', '{investigator}', repeat('k', 40), 1)"));
        CHECK(unit_pg_long(c, APPLY("a1", "repeat('z', 40)") "::int") == 0);
        CHECK(unit_pg_long(c, APPLY("a1", "repeat('z', 40)") "::int") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM officers WHERE badge = 'a1' AND name = 'Real' AND unit = '"
                              PARENT "' AND public_key = repeat('k', 40) AND via IS NULL") == 1);
        CHECK(unit_pg_long(c, APPLY("b1", "repeat('k', 40)") "::int") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM officers WHERE badge = 'b1'") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_alarms WHERE kind = 'collision' AND node_id = '"
                              STATION "'") == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE action = 'officer.replicate' "
                              "AND outcome = 'refused' AND article = 'Art 20(1)'") == 3);
        CHECK(unit_pg_long(c, APPLY("c1", "repeat('y', 40)") "::int") == 1);
        CHECK(try_sql(c, "INSERT INTO conferrals (id, version, unit, badge, public_key, role, conferred_by, "
                         "conferred_at, state) VALUES ('x', 1, '" PARENT "', 'a1', repeat('k', 40), 'principal', "
                         "'{one,one}', '" PARENT "', 'live')") != NULL);
        CHECK(unit_pg_long(c, "SELECT officer_has_power('a1', 'principal')::int") == 0);
#undef APPLY
        PQfinish(c);
}

/* Issue 17, fault 6 (schema/functions/federation.sql, 016): one node per
 * centre code, in the database whatever vigild does. At a district: a
 * second child of a code held is refused naming the first; a child that is
 * not directly under it is refused; a station announcing a node inside its
 * own code (or removing one) is refused; the unique index holds against
 * anything written around the functions. At the city: a district's
 * fabricated twin of one of its stations is refused naming the real one. */
#define CITY "43010000002000000001"
#define ENROLL(id, tier, name, key) \
        "SELECT node_enroll('" id "', '" PARENT "', '" tier "', '" name "', repeat('" key "', 40), " \
        "repeat('" key "', 64), 1, '\\x01', NULL, NULL, 'admin:test')"
#define STATE(via, id, parent, tier, snap) \
        "SELECT node_state_apply('" via "', '" id "', '" parent "', '" tier "', 'n', true, now(), 2, '\\x01', " \
        "NULL, " snap ")"

static void test_one_node_per_centre_code(void)
{
        PGconn *c = unit_pg_node_db(&pg, PARENT);
        const char *m;

        PQclear(unit_pg_exec(c, "DELETE FROM nodes"));
        PQclear(unit_pg_exec(c, "INSERT INTO nodes (id, tier, name) VALUES ('" PARENT "', 'district', 'yuelu')"));
        CHECK(try_sql(c, ENROLL(STATION, "station", "yuelu-1", "a")) == NULL);
        /* The same child again (a re-key) is no twin. */
        CHECK(try_sql(c, ENROLL(STATION, "station", "yuelu-1", "a")) == NULL);
        m = try_sql(c, ENROLL("43010401002000000002", "station", "yuelu-1b", "b"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "centre code 43010401 is already node " STATION "'s (yuelu-1): one node per centre code");
        m = try_sql(c, ENROLL("43010500002000000001", "district", "x", "c"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "is not a direct child of " PARENT);
        m = try_sql(c, ENROLL("43010402002000000001", "district", "x", "c"));
        CHECK(m != NULL);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM nodes") == 2);

        /* A station fabricating a node inside its own centre code. */
        m = try_sql(c, STATE(STATION, "43010401002000000099", STATION, "station", "false"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "may announce only nodes below itself");
        m = try_sql(c, "SELECT node_remove_apply('" STATION "', '43010401002000000099', '\\x01', NULL)");
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "may remove only nodes below itself");
        /* Written around the functions: the index refuses. */
        m = try_sql(c, "INSERT INTO nodes (id, tier, name, via) VALUES ('43010401002000000099', 'station', 'f', '"
                       STATION "')");
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "nodes_one_per_centre_code");
        CHECK(unit_pg_long(c, "SELECT count(*) FROM nodes") == 2);

        /* At the city: yuelu's station is its to announce; a twin of it is
         * not, whoever says so; its own snapshot may replace it. */
        PQclear(unit_pg_exec(c, "DELETE FROM nodes"));
        PQclear(unit_pg_exec(c, "UPDATE node_settings SET value = '" CITY "' WHERE key = 'node_id'"));
        PQclear(unit_pg_exec(c, "INSERT INTO nodes (id, tier, name) VALUES ('" CITY "', 'city', 'city'), "
                                "('" PARENT "', 'district', 'yuelu')"));
        CHECK(try_sql(c, STATE(PARENT, STATION, PARENT, "station", "false")) == NULL);
        m = try_sql(c, STATE(PARENT, "43010401002000000002", PARENT, "station", "false"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "centre code 43010401 is already node " STATION "'s (n): one node per centre code");
        m = try_sql(c, STATE(PARENT, "43010401002000000002", CITY, "station", "false"));
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "refused");
        PQclear(unit_pg_exec(c, "UPDATE nodes SET snapshot_mark = true WHERE via = '" PARENT "'"));
        CHECK(try_sql(c, STATE(PARENT, "43010401002000000002", PARENT, "station", "true")) == NULL);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM nodes WHERE left(id, 8) = '43010401'") == 1);
        /* The city enrols no second yuelu. */
        m = try_sql(c, "SELECT node_enroll('43010400002000000002', '" CITY "', 'district', 'y2', repeat('d', 40), "
                       "repeat('d', 64), 1, '\\x01', NULL, NULL, 'admin:test')");
        CHECK(m != NULL);
        CHECK_CONTAINS(m, "centre code 430104 is already node " PARENT "'s (yuelu)");
        PQclear(unit_pg_exec(c, "DELETE FROM nodes"));
        PQfinish(c);
}
#undef ENROLL
#undef STATE

/* Issue 17, fault 4 (next_version, functions/federation.sql; 016): a
 * clock that stepped back. The district approved a request while its
 * clock was a day ahead, so the version clock holds a version a day
 * ahead of the wall clock; the revocation it decides next must still be
 * newer than the grant, and win at a replica (grant_apply keeps only a
 * newer version). With the wall clock alone it was older: every replica
 * kept the grant. */
#define NOW_US "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
#define GRANT_APPLY(version, revoked) \
        "SELECT count(*) FROM grant_apply('" CITY "', 'vr1', " version ", '{43010401001310000001}', " \
        "'{view-live}', '{i1,i2}', NULL, NULL, now() + interval '1 hour', " revoked ", 'P', NULL, 'K', 'vp1', '" \
        PARENT "', '\\x01', '{u1,u2}', '{k1,k2}')"

static void test_versions_survive_a_clock_stepped_back(void)
{
        PGconn *c = unit_pg_node_db(&pg, PARENT);
        long ahead, granted, revoked, a, b;
        char sql[512];

        PQclear(unit_pg_exec(c, "DELETE FROM grants WHERE request_id = 'vr1'; "
                                "DELETE FROM access_requests WHERE id = 'vr1'"));
        PQclear(unit_pg_exec(c, "INSERT INTO officers (badge, name, unit, credential, roles, public_key, version) "
                                "VALUES ('vp1', 'VP', '" PARENT "', 'CV1', '{principal}', repeat('v', 40), 1)"));
        PQclear(unit_pg_exec(c, "INSERT INTO conferrals (id, version, unit, badge, public_key, role, conferred_by, "
                                "conferred_at, state, via) VALUES ('vcf1', 1, '" PARENT "', 'vp1', repeat('v', 40), "
                                "'principal', '{k}', '" CITY "', 'live', '" CITY "')"));
        /* Issued while the clock was a day ahead. */
        PQclear(unit_pg_exec(c, "UPDATE version_clock SET last = " NOW_US " + 86400000000"));
        ahead = unit_pg_long(c, "SELECT last FROM version_clock");
        PQclear(unit_pg_exec(c, "INSERT INTO access_requests (id, node_id, filed_by, officers, credentials, "
                                "case_no, purpose, cameras, actions, approval_doc, state, decided_by, "
                                "expires_at, grant_version) VALUES ('vr1', '" PARENT "', 'i1', '{i1,i2}', "
                                "'{c1,c2}', 'K', 'P', '{43010401001310000001}', '{view-live}', 'doc', 'approved', "
                                "'vp1', now() + interval '1 hour', next_version())"));
        granted = unit_pg_long(c, "SELECT grant_version FROM access_requests WHERE id = 'vr1'");
        CHECK(granted == ahead + 1);
        snprintf(sql, sizeof(sql), GRANT_APPLY("%ld", "false"), granted);
        CHECK(unit_pg_long(c, sql) == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM grants WHERE request_id = 'vr1' AND NOT revoked") == 1);

        /* Now (the clock a day behind what was issued) the revocation. */
        CHECK(strcmp(answer(c, "SELECT * FROM access_revoke('vr1', 'vp1', 'case closed')"), "ok") == 0);
        revoked = unit_pg_long(c, "SELECT grant_version FROM access_requests WHERE id = 'vr1'");
        CHECK(revoked > granted);
        snprintf(sql, sizeof(sql), GRANT_APPLY("%ld", "true"), revoked);
        CHECK(unit_pg_long(c, sql) == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM grants WHERE request_id = 'vr1' AND revoked") == 1);

        /* Strictly increasing; a reservation never moves the clock back. */
        a = unit_pg_long(c, "SELECT next_version()");
        b = unit_pg_long(c, "SELECT next_version()");
        CHECK(a > revoked && b == a + 1);
        CHECK(unit_pg_long(c, "SELECT version_reserve(1)") == b);
        CHECK(unit_pg_long(c, "SELECT (version_reserve(" NOW_US " + 172800000000) > " NOW_US " + 86400000000)::int") == 1);
        CHECK(unit_pg_long(c, "SELECT (next_version() > " NOW_US " + 172800000000 - 1000000)::int") == 1);
        PQfinish(c);
}
#undef GRANT_APPLY
#undef NOW_US
/* Issue 17: officer_apply refuses a second badge claiming a key this node
 * knows (one key, one officer) without an SQL error, and a delta so
 * refused is a dead letter at its position (a snapshot's item is not:
 * NULL seq). Retrying it while the cause stands raises, changing nothing;
 * once the cause is gone it applies, and the letter is retried; a
 * discard needs a reason and is on the access log. */
static void test_officer_key_claimed_is_a_dead_letter(void)
{
        PGconn *c = unit_pg_node_db(&pg, PARENT);

#define APPLY_AT(badge, key, seq) \
        "SELECT officer_apply('" STATION "', NULL, false, '" badge "', 5, false, 'copy', '" STATION "', 'C', " \
        "'{investigator}', " key ", true, '\\x0a0b', 'E1', " seq ")"
        PQclear(unit_pg_exec(c, "INSERT INTO officers (badge, name, unit, credential, roles, public_key, version) "
                                "VALUES ('k1', 'Real', '" PARENT "', 'C1', '{investigator}', repeat('q', 40), 1)"));
        CHECK(unit_pg_long(c, APPLY_AT("k2", "repeat('q', 40)", "NULL") "::int") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM dead_letters") == 0);
        CHECK(unit_pg_long(c, APPLY_AT("k2", "repeat('q', 40)", "41") "::int") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM dead_letters WHERE peer_id = '" STATION "' AND epoch = 'E1' "
                              "AND seq = 41 AND change = '\\x0a0b' AND kind = 'officer' AND state = 'held' "
                              "AND reason LIKE '%key of k2 is already the identity of k1%'") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE action = 'deadletter.hold'") == 1);
        /* Retried while the key is still k1's: refused again, raises. */
        CHECK(try_sql(c, "BEGIN") == NULL);
        CHECK(unit_pg_long(c, APPLY_AT("k2", "repeat('q', 40)", "41") "::int") == 0);
        CHECK_CONTAINS(try_sql(c, "SELECT dead_letter_retried(id, 'admin:t') FROM dead_letters"), "refused again");
        CHECK(try_sql(c, "ROLLBACK") == NULL);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM dead_letters WHERE state = 'held'") == 1);
        CHECK_CONTAINS(try_sql(c, "SELECT dead_letter_discard(id, 'admin:t', ' ') FROM dead_letters"),
                       "needs a reason");
        /* k1 gone (its key free): the retry applies. */
        PQclear(unit_pg_exec(c, "DELETE FROM officers WHERE badge = 'k1'"));
        CHECK(try_sql(c, "BEGIN") == NULL);
        CHECK(unit_pg_long(c, APPLY_AT("k2", "repeat('q', 40)", "41") "::int") == 1);
        CHECK(try_sql(c, "SELECT dead_letter_retried(id, 'admin:t') FROM dead_letters") == NULL);
        CHECK(try_sql(c, "COMMIT") == NULL);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM dead_letters WHERE state = 'retried' AND decided_by = 'admin:t'")
              == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM officers WHERE badge = 'k2'") == 1);
        CHECK_CONTAINS(try_sql(c, "SELECT dead_letter_retried(id, 'admin:t') FROM dead_letters"), "already retried");
        CHECK_CONTAINS(try_sql(c, "SELECT dead_letter_discard(id, 'admin:t', 'x') FROM dead_letters"),
                       "already retried");
        CHECK_CONTAINS(try_sql(c, "SELECT dead_letter_discard(999, 'admin:t', 'x')"), "no dead letter 999");
        CHECK(try_sql(c, "SELECT dead_letter_hold('p', 'E', 3, '\\x01', NULL, 'unknown kind')") == NULL);
        CHECK(try_sql(c, "SELECT dead_letter_discard(id, 'admin:t', 'a newer kind we will not run') FROM "
                         "dead_letters WHERE peer_id = 'p'") == NULL);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_log WHERE action = 'deadletter.discard' AND actor = "
                              "'admin:t' AND detail LIKE '%a newer kind we will not run'") == 1);
#undef APPLY_AT
        PQfinish(c);
}

int main(void)
{
        unit_pg_setup(&pg, "vigil_unit_schema_rules");
        RUN(test_station_rows_are_judged);
        RUN(test_replicas_are_not_rejudged);
        RUN(test_station_acks_new_live_orders_once);
        RUN(test_officers_and_delegations_end_where_they_live);
        RUN(test_replicas_never_overwrite_another_officer);
        RUN(test_one_node_per_centre_code);
        RUN(test_versions_survive_a_clock_stepped_back);
        RUN(test_officer_key_claimed_is_a_dead_letter);
        unit_pg_teardown(&pg);
        return 0;
}

/* audit_copies_apply (schema/functions/audit.sql): a child's access-log records applied as
 * a set when they extend the chain held, one by one (audit_copy_apply,
 * with its alarms) when not. The records are real ones, written through
 * audit_append into this database's own log and applied from there as a
 * district would receive them; a second node's records are made up, linked
 * by hand. The tests run in order on one database, each on what the one
 * before left. Runs the real migrations on the test cluster (unit_pg.h). */
#include <stdbool.h>
#include <string.h>

#include "unit.h"
#include "unit_pg.h"

static struct unit_pg pg;

#define STATION "43010401002000000001"
#define OTHER "43010402002000000001"
#define CITY "43010000002000000001"

/* audit_copies_apply over the rows of ROWS (an SQL query over columns named
 * as audit_log's, with a column i giving the order), received from child
 * STATION as its district would and forwarded to CITY: 1 if as a set, 0 if
 * one by one. */
static long apply(PGconn *c, const char *rows)
{
        char sql[4096];

        snprintf(sql, sizeof(sql),
                 "SELECT audit_copies_apply('" STATION "', '" CITY "', array_agg(node_id ORDER BY i), "
                 "array_agg(seq ORDER BY i), array_agg((extract(epoch FROM at) * 1000000)::bigint ORDER BY i), "
                 "array_agg(actor ORDER BY i), array_agg(action ORDER BY i), array_agg(outcome ORDER BY i), "
                 "array_agg(article ORDER BY i), array_agg(camera ORDER BY i), array_agg(purpose ORDER BY i), "
                 "array_agg(destination ORDER BY i), array_agg(request_id ORDER BY i), "
                 "array_agg(emergency_id ORDER BY i), array_agg(detail ORDER BY i), "
                 "array_agg(prev_hash ORDER BY i), array_agg(hash ORDER BY i), "
                 "array_agg(convert_to('change ' || node_id || ' ' || seq, 'UTF8') ORDER BY i))::int "
                 "FROM (%s) r",
                 rows);
        return unit_pg_long(c, sql);
}

/* This node's own records FROM..TO, in order. */
#define OWN(from, to) \
        "SELECT *, seq AS i FROM audit_log WHERE seq BETWEEN " #from " AND " #to

/* Records of OTHER, SEQ FROM..TO, made up and linked by hand (hash of n:
 * sha256 of "TAG n"; the first's prev_hash that of n - 1), ordered at
 * seq + SHIFT (to interleave them with this node's); form 2, as audit_log's
 * last column (schema/017_audit_form.sql). */
#define MADE_UP(tag, from, to, shift) \
        "SELECT s::bigint, now(), '" OTHER "'::text, 'x'::text, 'view-live'::text, 'ok'::text, NULL::text, " \
        "NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, " \
        "sha256(convert_to('" tag " ' || (s - 1), 'UTF8')), sha256(convert_to('" tag " ' || s, 'UTF8')), " \
        "2::smallint, s + " #shift " FROM generate_series(" #from ", " #to ") s"

static long copies(PGconn *c, const char *node)
{
        char sql[256];

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_copies WHERE node_id = '%s'", node);
        return unit_pg_long(c, sql);
}

/* Whether SQL fails, saying WHY. */
static bool refused(PGconn *c, const char *sql, const char *why)
{
        PGresult *r = PQexec(c, sql);
        bool failed = PQresultStatus(r) == PGRES_FATAL_ERROR && strstr(PQresultErrorMessage(r), why);

        PQclear(r);
        return failed;
}

static long alarms(PGconn *c, const char *kind)
{
        char sql[256];

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_alarms WHERE kind = '%s'", kind);
        return unit_pg_long(c, sql);
}

/* A chain from where nothing is held: one set, the copies are the records
 * field by field and verify, forwarded in order as one outbox row. */
static void test_a_chain_goes_as_a_set(void)
{
        PGconn *c = unit_pg_node_db(&pg, STATION);

        PQclear(unit_pg_exec(c, "SELECT audit_append('officer-' || i, 'view-live', 'ok', NULL, 'cam', 'case 1', "
                                "NULL, NULL, NULL, 'record ' || i) FROM generate_series(1, 10) i"));

        CHECK(apply(c, OWN(1, 3)) == 1);
        CHECK(copies(c, STATION) == 3);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_copies p JOIN audit_log l USING (seq) "
                              "WHERE p.node_id = l.node_id AND p.at = l.at AND p.actor = l.actor "
                              "AND p.detail = l.detail AND p.camera = l.camera AND p.article IS NULL "
                              "AND p.hash = l.hash AND p.prev_hash = l.prev_hash AND p.via = '" STATION "'") == 3);
        CHECK(unit_pg_long(c, "SELECT (records = 3 AND first_bad_seq IS NULL)::int "
                              "FROM audit_verify_copy('" STATION "')") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox WHERE peer_id = '" CITY "'") == 1);
        CHECK(unit_pg_long(c, "SELECT (changes = ARRAY[convert_to('change " STATION " 1', 'UTF8'), "
                              "convert_to('change " STATION " 2', 'UTF8'), convert_to('change " STATION " 3', "
                              "'UTF8')])::int FROM outbox WHERE peer_id = '" CITY "'") == 1);
        CHECK(alarms(c, "gap") + alarms(c, "fork") == 0);
        PQfinish(c);
}

/* Two nodes' chains interleaved, each extending what is held (or the first
 * seen of its node): still one set. */
static void test_interleaved_chains(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);

        CHECK(apply(c, OWN(4, 5) " UNION ALL " MADE_UP("o", 1, 2, 3.5)) == 1);
        CHECK(copies(c, STATION) == 5);
        CHECK(copies(c, OTHER) == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox WHERE peer_id = '" CITY "'") == 2);
        CHECK(unit_pg_long(c, "SELECT cardinality(changes) FROM outbox WHERE peer_id = '" CITY "' "
                              "ORDER BY last_seq DESC LIMIT 1") == 4);
        CHECK(alarms(c, "gap") + alarms(c, "fork") == 0);
        PQfinish(c);
}

/* Records already held, again: one by one; the duplicate is dropped, the
 * next kept, no alarm. */
static void test_duplicates(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);

        CHECK(apply(c, OWN(5, 6)) == 0);
        CHECK(copies(c, STATION) == 6);
        CHECK(alarms(c, "gap") + alarms(c, "fork") == 0);
        CHECK(unit_pg_long(c, "SELECT (records = 6 AND first_bad_seq IS NULL)::int "
                              "FROM audit_verify_copy('" STATION "')") == 1);
        PQfinish(c);
}

/* A record after a gap: one by one, kept, a gap alarm. */
static void test_gap(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);

        CHECK(apply(c, OWN(8, 8)) == 0);
        CHECK(copies(c, STATION) == 7);
        CHECK(alarms(c, "gap") == 1);
        CHECK(alarms(c, "fork") == 0);
        PQfinish(c);
}

/* A batch holding a rewritten record: one by one; the good record before
 * it is kept, the rewritten one kept apart as a fork with an alarm, the one
 * after it (which follows the rewritten one) kept as the same fork, no
 * second alarm, no gap (issue 17, fault 3: they used to be dropped, and the
 * next kept as a copy after a gap): as audit_copy_apply decides each. Both
 * go on up. */
static void test_fork_in_a_batch(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);

        CHECK(apply(c, OWN(9, 9) " UNION ALL " MADE_UP("rewritten", 3, 4, 10)) == 0);
        CHECK(copies(c, STATION) == 8);
        CHECK(copies(c, OTHER) == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_alarms WHERE kind = 'fork' AND node_id = '" OTHER "' "
                              "AND seq = 3") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_alarms WHERE node_id = '" OTHER "' AND seq = 4") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_copies WHERE node_id = '" OTHER "' AND seq >= 3") == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_forks WHERE node_id = '" OTHER "' AND seq IN (3, 4) "
                              "AND hash = sha256(convert_to('rewritten ' || seq, 'UTF8')) AND via = '" STATION "' "
                              "AND change = convert_to('change " OTHER " ' || seq, 'UTF8')") == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox, unnest(changes) ch WHERE peer_id = '" CITY "' AND "
                              "ch IN (convert_to('change " OTHER " 3', 'UTF8'), "
                              "convert_to('change " OTHER " 4', 'UTF8'))") == 2);
        /* Kept: the fork again is no second alarm, nor a second row. */
        CHECK(apply(c, OWN(0, 0) " UNION ALL " MADE_UP("rewritten", 3, 4, 10)) == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_forks WHERE node_id = '" OTHER "'") == 2);
        CHECK(alarms(c, "fork") == 1);
        /* As the rest of the access log: append-only. */
        CHECK(refused(c, "DELETE FROM audit_forks", "append-only"));
        PQfinish(c);
}

/* audit_copies_fill over ROWS, as a snapshot's records arrive: how many
 * were filled (and forwarded to CITY). */
static long fill(PGconn *c, const char *rows)
{
        char sql[4096];

        snprintf(sql, sizeof(sql),
                 "SELECT audit_copies_fill('" STATION "', '" CITY "', array_agg(node_id ORDER BY i), "
                 "array_agg(seq ORDER BY i), array_agg((extract(epoch FROM at) * 1000000)::bigint ORDER BY i), "
                 "array_agg(actor ORDER BY i), array_agg(action ORDER BY i), array_agg(outcome ORDER BY i), "
                 "array_agg(article ORDER BY i), array_agg(camera ORDER BY i), array_agg(purpose ORDER BY i), "
                 "array_agg(destination ORDER BY i), array_agg(request_id ORDER BY i), "
                 "array_agg(emergency_id ORDER BY i), array_agg(detail ORDER BY i), "
                 "array_agg(prev_hash ORDER BY i), array_agg(hash ORDER BY i), "
                 "array_agg(convert_to('change ' || node_id || ' ' || seq, 'UTF8') ORDER BY i)) "
                 "FROM (%s) r",
                 rows);
        return unit_pg_long(c, sql);
}

/* A snapshot's records (issue 17, fault 3): the whole log again, as a
 * child sends it to a parent restored from a backup. What is held is
 * skipped, the hole (record 7, never received) filled without a gap
 * alarm, the chain then verifies whole; only the filled record goes on
 * up; a record held with another hash is a fork, kept apart. */
static void test_a_snapshot_fills_holes(void)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        long gaps = alarms(c, "gap"), forks = alarms(c, "fork");
        long outbox = unit_pg_long(c, "SELECT count(*) FROM outbox WHERE peer_id = '" CITY "'");

        CHECK(unit_pg_long(c, "SELECT (first_bad_seq IS NOT NULL)::int FROM audit_verify_copy('" STATION "')") == 1);
        CHECK(fill(c, OWN(1, 10)) == 2);        /* 7 and 10 */
        CHECK(copies(c, STATION) == 10);
        CHECK(alarms(c, "gap") == gaps && alarms(c, "fork") == forks);
        CHECK(unit_pg_long(c, "SELECT (records = 10 AND first_bad_seq IS NULL)::int "
                              "FROM audit_verify_copy('" STATION "')") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox WHERE peer_id = '" CITY "'") == outbox + 1);
        CHECK(unit_pg_long(c, "SELECT (changes = ARRAY[convert_to('change " STATION " 7', 'UTF8'), "
                              "convert_to('change " STATION " 10', 'UTF8')])::int FROM outbox WHERE peer_id = '"
                              CITY "' ORDER BY last_seq DESC LIMIT 1") == 1);
        /* Again: nothing to fill, nothing sent. */
        CHECK(fill(c, OWN(1, 10)) == 0);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM outbox WHERE peer_id = '" CITY "'") == outbox + 1);
        /* Another hash for a record held: a fork, the copy untouched. */
        CHECK(fill(c, OWN(0, 0) " UNION ALL " MADE_UP("again", 1, 1, 0)) == 0);
        CHECK(alarms(c, "fork") == forks + 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_forks WHERE node_id = '" OTHER "' AND seq = 1") == 1);
        CHECK(unit_pg_long(c, "SELECT (hash = sha256(convert_to('o 1', 'UTF8')))::int FROM audit_copies "
                              "WHERE node_id = '" OTHER "' AND seq = 1") == 1);
        /* A copy and a fork of one sequence in one snapshot (from a node
         * that keeps both), neither held here (a restored parent): the
         * copy as a copy, the fork as a fork (tests/chaos seed 440210744:
         * the set path kept the first and dropped the other). */
        CHECK(fill(c, OWN(0, 0) " UNION ALL " MADE_UP("p", 20, 21, 0) " UNION ALL " MADE_UP("q", 20, 21, 0.5)) == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_copies WHERE node_id = '" OTHER "' AND seq IN (20, 21) "
                              "AND hash = sha256(convert_to('p ' || seq, 'UTF8'))") == 2);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_forks WHERE node_id = '" OTHER "' AND seq IN (20, 21) "
                              "AND hash = sha256(convert_to('q ' || seq, 'UTF8'))") == 2);
        PQfinish(c);
}

int main(void)
{
        unit_pg_setup(&pg, "vigil_unit_audit_copies");
        RUN(test_a_chain_goes_as_a_set);
        RUN(test_interleaved_chains);
        RUN(test_duplicates);
        RUN(test_gap);
        RUN(test_fork_in_a_batch);
        RUN(test_a_snapshot_fills_holes);
        unit_pg_teardown(&pg);
        return 0;
}

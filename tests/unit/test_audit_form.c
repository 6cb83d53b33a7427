/* The canonical forms of an access-log record (schema/017_audit_form.sql,
 * schema/functions/audit.sql audit_canonical_fields, lib/wire/checkpoint.c
 * checkpoint_record_hash; issue 17, small ones): the C side and the SQL
 * side hash alike in both forms; form 1 is ambiguous (NULL and "", a 0x1f
 * moving a field boundary), form 2 is not; records written before 017
 * keep form 1 and verify, new ones are form 2 chained after them, in the
 * log and in a parent's copy of it; a form never goes back. The tests run
 * in order on one database. Runs the real migrations on the test cluster
 * (unit_pg.h). */
#include <errno.h>
#include <sodium.h>
#include <stdbool.h>

#include "wire/checkpoint.h"
#include "unit.h"
#include "unit_pg.h"

static struct unit_pg pg;

#define STATION "43010401002000000001"
#define CITY "43010000002000000001"

#define COLUMNS \
        "seq::text, (extract(epoch FROM at) * 1000000)::bigint::text, node_id, actor, action, outcome, article, " \
        "camera, purpose, destination, request_id, emergency_id, detail, encode(prev_hash, 'hex'), " \
        "encode(hash, 'hex'), form"

static void hex32(const char *hex, uint8_t out[32])
{
        size_t len = 0;

        CHECK(sodium_hex2bin(out, 32, hex, strlen(hex), NULL, &len, NULL) == 0 && len == 32);
}

/* Recompute in C, from its fields, the hash of every row of RES (COLUMNS,
 * in seq order), check it is the one SQL stored and that each row's
 * prev_hash is the hash before. Returns how many rows of form 2. */
static int check_rows(PGresult *res)
{
        uint8_t prev[32], hash[32], want[32], last[32];
        const char *f[CHECKPOINT_RECORD_FIELDS];
        int i, k, twos = 0;

        for (i = 0; i < PQntuples(res); i++) {
                for (k = 0; k < CHECKPOINT_RECORD_FIELDS; k++)
                        f[k] = PQgetisnull(res, i, k) ? NULL : PQgetvalue(res, i, k);
                hex32(PQgetvalue(res, i, 13), prev);
                hex32(PQgetvalue(res, i, 14), want);
                CHECK(i == 0 || sodium_memcmp(prev, last, 32) == 0);
                CHECK(checkpoint_record_hash(prev, atoi(PQgetvalue(res, i, 15)), f, hash) == 0);
                if (sodium_memcmp(hash, want, 32) != 0) {
                        fprintf(stderr, "record %s (form %s): the C hash is not the SQL one\n", PQgetvalue(res, i, 0),
                                PQgetvalue(res, i, 15));
                        exit(1);
                }
                memcpy(last, hash, 32);
                twos += atoi(PQgetvalue(res, i, 15)) == 2;
        }
        return twos;
}

/* Records as a node before 017 wrote them: form 1, chained by hand with
 * the triggers off (as the old code's trigger chained them). */
static void write_old_records(PGconn *c)
{
        PQclear(unit_pg_exec(c, "SET session_replication_role = replica"));
        PQclear(unit_pg_exec(c,
                "INSERT INTO audit_log (seq, at, node_id, actor, action, outcome, article, camera, purpose, "
                "destination, request_id, emergency_id, detail, prev_hash, hash, form) VALUES "
                "(1, '2026-11-01 10:00:00.123456+00', '" STATION "', 'inv-1', 'request', 'ok', NULL, 'cam', "
                "'theft', NULL, 'req-1', NULL, NULL, '\\x', '\\x', 1), "
                "(2, '2026-11-01 10:00:01+00', '" STATION "', 'inv-2', 'countersign', 'refused', 'Art 20(1)', "
                "'', E'a\\x1fb', 'c', 'req-1', NULL, 'détail', '\\x', '\\x', 1), "
                "(3, '2026-11-01 10:00:02+00', '" STATION "', 'admin:x', 'view', 'ok', NULL, NULL, NULL, NULL, "
                "NULL, NULL, '', '\\x', '\\x', 1)"));
        PQclear(unit_pg_exec(c,
                "DO $$ DECLARE r audit_log; prev bytea := '\\x" "0000000000000000000000000000000000000000000000000000"
                "000000000000'; BEGIN FOR r IN SELECT * FROM audit_log ORDER BY seq LOOP "
                "UPDATE audit_log SET prev_hash = prev, hash = sha256(prev || audit_canonical(r)) WHERE seq = r.seq; "
                "prev := sha256(prev || audit_canonical(r)); END LOOP; "
                "UPDATE audit_head SET seq = 3, hash = prev; END $$"));
        PQclear(unit_pg_exec(c, "SET session_replication_role = DEFAULT"));
}

/* Form 1 cannot tell NULL from "" nor where a 0x1f-holding field ends;
 * form 2 can, in SQL and in C alike. */
static void test_form_2_is_unambiguous(void)
{
        PGconn *c = unit_pg_node_db(&pg, STATION);
        static const char *const same[][2] = {
                { "{\"camera\": null}", "{\"camera\": \"\"}" },
                { "{\"purpose\": \"a\\u001f\", \"destination\": \"b\"}",
                  "{\"purpose\": \"a\", \"destination\": \"\\u001fb\"}" },
                { "{\"detail\": null, \"emergency_id\": \"\"}", "{\"detail\": \"\", \"emergency_id\": null}" },
        };
        char sql[1024];
        uint8_t prev[32] = { 0 }, h1[32], h2[32];
        const char *a[CHECKPOINT_RECORD_FIELDS] = { "1", "2", STATION, "x", "view", "ok", NULL, NULL, NULL, NULL,
                                                    NULL, NULL, NULL };
        const char *b[CHECKPOINT_RECORD_FIELDS];

        PQclear(unit_pg_exec(c, "SELECT audit_append('x', 'view', 'ok', NULL, NULL, NULL, NULL, NULL, NULL, NULL)"));
        for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
                for (int form = 1; form <= 2; form++) {
                        snprintf(sql, sizeof(sql),
                                 "SELECT (audit_canonical(jsonb_populate_record(l, '%s'::jsonb || '{\"form\": %d}'))"
                                 " = audit_canonical(jsonb_populate_record(l, '%s'::jsonb || '{\"form\": %d}')))::int "
                                 "FROM audit_log l ORDER BY seq DESC LIMIT 1", same[i][0], form, same[i][1], form);
                        CHECK(unit_pg_long(c, sql) == (form == 1));
                }
        }
        /* The same pairs in C. */
        memcpy(b, a, sizeof(b));
        b[7] = "";
        CHECK(checkpoint_record_hash(prev, 1, a, h1) == 0 && checkpoint_record_hash(prev, 1, b, h2) == 0);
        CHECK(memcmp(h1, h2, 32) == 0);
        CHECK(checkpoint_record_hash(prev, 2, a, h1) == 0 && checkpoint_record_hash(prev, 2, b, h2) == 0);
        CHECK(memcmp(h1, h2, 32) != 0);
        a[8] = "a\x1f", a[9] = "b";
        b[7] = NULL, b[8] = "a", b[9] = "\x1f" "b";
        CHECK(checkpoint_record_hash(prev, 1, a, h1) == 0 && checkpoint_record_hash(prev, 1, b, h2) == 0);
        CHECK(memcmp(h1, h2, 32) == 0);
        CHECK(checkpoint_record_hash(prev, 2, a, h1) == 0 && checkpoint_record_hash(prev, 2, b, h2) == 0);
        CHECK(memcmp(h1, h2, 32) != 0);
        /* And the two forms never hash alike, nor does a form unknown. */
        CHECK(checkpoint_record_hash(prev, 1, a, h1) == 0 && checkpoint_record_hash(prev, 2, a, h2) == 0);
        CHECK(memcmp(h1, h2, 32) != 0);
        CHECK(checkpoint_record_hash(prev, 3, a, h1) == -EINVAL);
        CHECK(checkpoint_record_hash(prev, 0, a, h1) == -EINVAL);
        PQfinish(c);
}

/* A log of records from before 017 (form 1), then new records through
 * audit_append and a bare INSERT asking for form 1 (form 2 both: the
 * trigger decides): the chain verifies in SQL, and C recomputes every
 * hash SQL stored. */
static void test_old_chain_then_new(void)
{
        PGconn *c = unit_pg_node_db(&pg, STATION);
        PGresult *r;

        write_old_records(c);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_verify() WHERE records = 3 AND first_bad_seq IS NULL") == 1);
        PQclear(unit_pg_exec(c, "SELECT audit_append('inv-1', 'view', 'ok', NULL, '', E'x\\x1fy', NULL, 'req-1', "
                                "NULL, NULL)"));
        PQclear(unit_pg_exec(c, "SELECT audit_append('inv-2', 'view', 'refused', 'Art 29(2)', 'cam', NULL, NULL, "
                                "NULL, 'em-1', 'ünï')"));
        PQclear(unit_pg_exec(c, "INSERT INTO audit_log (actor, action, outcome, prev_hash, hash, form, at, node_id) "
                                "VALUES ('y', 'view', 'ok', '\\x', '\\x', 1, NULL, NULL)"));
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_verify() WHERE records = 6 AND first_bad_seq IS NULL") == 1);
        CHECK(unit_pg_long(c, "SELECT (string_agg(form::text, '' ORDER BY seq) = '111222')::int FROM audit_log") == 1);
        r = unit_pg_exec(c, "SELECT " COLUMNS " FROM audit_log ORDER BY seq");
        CHECK(PQntuples(r) == 6);
        CHECK(check_rows(r) == 3);
        PQclear(r);
        PQfinish(c);
}

/* audit_copies_apply of the 6 records, as the district receives them: each
 * copy gets the form its hash was made with, the copy verifies, and C
 * recomputes it as vigilctl does from the parent. */
static void test_copies_at_the_parent(void)
{
        PGconn *c = unit_pg_node_db(&pg, STATION);
        PGresult *r;

        PQclear(unit_pg_exec(c,
                "SELECT audit_copies_apply('" STATION "', '" CITY "', array_agg(node_id ORDER BY seq), "
                "array_agg(seq ORDER BY seq), array_agg((extract(epoch FROM at) * 1000000)::bigint ORDER BY seq), "
                "array_agg(actor ORDER BY seq), array_agg(action ORDER BY seq), array_agg(outcome ORDER BY seq), "
                "array_agg(article ORDER BY seq), array_agg(camera ORDER BY seq), array_agg(purpose ORDER BY seq), "
                "array_agg(destination ORDER BY seq), array_agg(request_id ORDER BY seq), "
                "array_agg(emergency_id ORDER BY seq), array_agg(detail ORDER BY seq), "
                "array_agg(prev_hash ORDER BY seq), array_agg(hash ORDER BY seq), "
                "array_agg(convert_to('change ' || seq, 'UTF8') ORDER BY seq)) FROM audit_log"));
        CHECK(unit_pg_long(c, "SELECT (string_agg(form::text, '' ORDER BY seq) = '111222')::int FROM audit_copies "
                              "WHERE node_id = '" STATION "'") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_verify_copy('" STATION "') "
                              "WHERE records = 6 AND first_bad_seq IS NULL") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_alarms") == 0);
        r = unit_pg_exec(c, "SELECT " COLUMNS " FROM audit_copies WHERE node_id = '" STATION "' ORDER BY seq");
        CHECK(PQntuples(r) == 6);
        CHECK(check_rows(r) == 3);
        PQclear(r);
        PQfinish(c);
}

/* A form-1 record after form-2 ones, chained right (by a writer with the
 * triggers off): refused by verification, in the log and in the copy. */
static void test_forms_never_go_back(void)
{
        PGconn *c = unit_pg_node_db(&pg, STATION);

        PQclear(unit_pg_exec(c, "SET session_replication_role = replica"));
        PQclear(unit_pg_exec(c,
                "INSERT INTO audit_log (seq, at, node_id, actor, action, outcome, prev_hash, hash, form) "
                "SELECT 7, now(), '" STATION "', 'z', 'view', 'ok', hash, '\\x', 1 FROM audit_log WHERE seq = 6"));
        PQclear(unit_pg_exec(c, "UPDATE audit_log l SET hash = sha256(l.prev_hash || audit_canonical(l)) "
                                "WHERE seq = 7"));
        PQclear(unit_pg_exec(c, "UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_log WHERE seq = 7)"));
        PQclear(unit_pg_exec(c, "SET session_replication_role = DEFAULT"));
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_verify() WHERE records = 7 AND first_bad_seq = 7") == 1);
        PQclear(unit_pg_exec(c,
                "SELECT audit_copies_apply('" STATION "', NULL, ARRAY[node_id], ARRAY[seq], "
                "ARRAY[(extract(epoch FROM at) * 1000000)::bigint], ARRAY[actor], ARRAY[action], ARRAY[outcome], "
                "ARRAY[article], ARRAY[camera], ARRAY[purpose], ARRAY[destination], ARRAY[request_id], "
                "ARRAY[emergency_id], ARRAY[detail], ARRAY[prev_hash], ARRAY[hash], ARRAY['\\x'::bytea]) "
                "FROM audit_log WHERE seq = 7"));
        CHECK(unit_pg_long(c, "SELECT form FROM audit_copies WHERE node_id = '" STATION "' AND seq = 7") == 1);
        CHECK(unit_pg_long(c, "SELECT count(*) FROM audit_verify_copy('" STATION "') "
                              "WHERE records = 7 AND first_bad_seq = 7") == 1);
        PQfinish(c);
}

int main(void)
{
        unit_pg_setup(&pg, "vigil_unit_audit_form");
        RUN(test_old_chain_then_new);
        RUN(test_copies_at_the_parent);
        RUN(test_forms_never_go_back);
        RUN(test_form_2_is_unambiguous);
        unit_pg_teardown(&pg);
        return 0;
}

/* Unit tests for lib/sqlarray.c: array literals, and binary arrays that
 * PostgreSQL reads back as exactly the values that went in. */
#include <errno.h>

#include "base/sqlarray.h"
#include "unit.h"
#include "unit_pg.h"

static void test_empty_and_numbers(void)
{
        struct sqlarray a = { 0 };

        CHECK_STREQ(sqlarray_get(&a), "{}");
        sqlarray_add_int64(&a, 1);
        sqlarray_add_int64(&a, -9223372036854775807LL);
        sqlarray_add_null(&a);
        CHECK_STREQ(sqlarray_get(&a), "{1,-9223372036854775807,NULL}");
        CHECK(a.n == 3);
        sqlarray_reset(&a);
        CHECK_STREQ(sqlarray_get(&a), "{}");
        sqlarray_add_double(&a, true, 0.5);
        sqlarray_add_double(&a, false, 1);
        sqlarray_add_bool(&a, true, true);
        sqlarray_add_bool(&a, true, false);
        sqlarray_add_bool(&a, false, true);
        CHECK_STREQ(sqlarray_get(&a), "{0.5,NULL,t,f,NULL}");
        sqlarray_deinit(&a);
}

static void test_text_is_quoted(void)
{
        struct sqlarray a = { 0 };

        sqlarray_add_text(&a, "plain");
        sqlarray_add_text(&a, "a,b {c} \"q\" back\\slash");
        sqlarray_add_text(&a, NULL);
        sqlarray_add_text(&a, "NULL");   /* the word, not SQL NULL */
        CHECK_STREQ(sqlarray_get(&a),
                    "{\"plain\",\"a,b {c} \\\"q\\\" back\\\\slash\",NULL,\"NULL\"}");
        sqlarray_deinit(&a);
}

static void test_bytea_hex(void)
{
        struct sqlarray a = { 0 };
        const uint8_t b[] = { 0x00, 0x0a, 0xff };

        sqlarray_add_bytea(&a, b, sizeof(b));
        sqlarray_add_bytea(&a, b, 0);
        CHECK_STREQ(sqlarray_get(&a), "{\"\\\\x000aff\",\"\\\\x\"}");
        sqlarray_deinit(&a);
}

static void test_growth(void)
{
        struct sqlarray a = { 0 };
        int i;

        for (i = 0; i < 100000; i++)
                sqlarray_add_int64(&a, i);
        CHECK(a.n == 100000);
        CHECK(strncmp(sqlarray_get(&a), "{0,1,2,", 7) == 0);
        CHECK(strcmp(sqlarray_get(&a) + strlen(sqlarray_get(&a)) - 7, ",99999}") == 0);
        sqlarray_deinit(&a);
}

static void test_parsed_refusals(void)
{
        struct sqlarray a = { 0 };

        sqlarray_set_type(&a, SQLARRAY_FLOAT8);
        CHECK(sqlarray_add_parsed(&a, "28.25") == 0);
        CHECK(sqlarray_add_parsed(&a, "abc") == -EINVAL);
        CHECK(sqlarray_add_parsed(&a, "1.5x") == -EINVAL);
        CHECK(sqlarray_add_parsed(&a, "nan") == -EINVAL);
        CHECK(sqlarray_add_parsed(&a, "inf") == -EINVAL);
        CHECK(sqlarray_add_parsed(&a, "") == -EINVAL);
        CHECK(a.n == 1);  /* a refusal adds nothing */
        sqlarray_deinit(&a);
        sqlarray_set_type(&a, SQLARRAY_BOOL);
        CHECK(sqlarray_add_parsed(&a, "t") == 0);
        CHECK(sqlarray_add_parsed(&a, "yes") == -EINVAL);
        CHECK(sqlarray_add_parsed(&a, NULL) == 0);
        CHECK(a.n == 2 && a.has_null);
        sqlarray_deinit(&a);
        sqlarray_set_type(&a, SQLARRAY_INT8);
        CHECK(sqlarray_add_parsed(&a, "-42") == 0);
        CHECK(sqlarray_add_parsed(&a, "99999999999999999999") == -EINVAL);
        CHECK(a.n == 1);
        sqlarray_deinit(&a);
}

/* Send ARRAYS as binary parameters of SQL and return the one text value. */
static char *roundtrip(PGconn *c, const char *sql, struct sqlarray *arrays, int n)
{
        const char *v[8];
        int len[8], fmt[8], i;
        PGresult *r;
        char *out;

        for (i = 0; i < n; i++)
                sqlarray_param(&arrays[i], &v[i], &len[i], &fmt[i]);
        r = PQexecParams(c, sql, n, NULL, v, len, fmt, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
                CHECK(0);
        }
        out = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        return out;
}

static void test_binary_roundtrip(void)
{
        static struct unit_pg pg;
        struct sqlarray a[6];
        const uint8_t b[] = { 0x00, 0x0a, 0xff };
        PGconn *c;
        char *got;
        int i;

        unit_pg_setup(&pg, "test_sqlarray");
        c = unit_pg_connect(&pg, pg.dbname);
        memset(a, 0, sizeof(a));
        sqlarray_set_type(&a[0], SQLARRAY_TEXT);
        sqlarray_set_type(&a[1], SQLARRAY_INT8);
        sqlarray_set_type(&a[2], SQLARRAY_FLOAT8);
        sqlarray_set_type(&a[3], SQLARRAY_BOOL);
        sqlarray_set_type(&a[4], SQLARRAY_BYTEA);
        sqlarray_set_type(&a[5], SQLARRAY_TEXT);  /* stays empty */
        sqlarray_add_text(&a[0], "plain");
        sqlarray_add_text(&a[0], "a,b {c} \"q\" back\\slash 岳麓");
        sqlarray_add_text(&a[0], NULL);
        sqlarray_add_text(&a[0], "NULL");
        sqlarray_add_text(&a[0], "");
        sqlarray_add_int64(&a[1], -9223372036854775807LL - 1);
        sqlarray_add_int64(&a[1], 42);
        CHECK(sqlarray_add_parsed(&a[1], "7") == 0);
        sqlarray_add_double(&a[2], true, 28.123456789);
        sqlarray_add_double(&a[2], false, 0);
        CHECK(sqlarray_add_parsed(&a[2], "-112.5") == 0);
        sqlarray_add_bool(&a[3], true, true);
        sqlarray_add_bool(&a[3], true, false);
        sqlarray_add_bool(&a[3], false, false);
        sqlarray_add_bytea(&a[4], b, sizeof(b));
        sqlarray_add_bytea(&a[4], b, 0);
        sqlarray_add_null(&a[4]);
        got = roundtrip(c, "SELECT concat_ws(' | ', $1::text[], $2::int8[], $3::float8[], $4::bool[], "
                           "$5::bytea[], cardinality($6::text[]), array_length($1::text[], 1))", a, 6);
        CHECK_STREQ(got, "{plain,\"a,b {c} \\\"q\\\" back\\\\slash 岳麓\",NULL,\"NULL\",\"\"} | "
                         "{-9223372036854775808,42,7} | {28.123456789,NULL,-112.5} | {t,f,NULL} | "
                         "{\"\\\\x000aff\",\"\\\\x\",NULL} | 0 | 5");
        free(got);
        /* Reset keeps the type; the next batch is a fresh array. */
        sqlarray_reset(&a[1]);
        sqlarray_add_int64(&a[1], 1);
        got = roundtrip(c, "SELECT ($1::int8[])::text", &a[1], 1);
        CHECK_STREQ(got, "{1}");
        free(got);
        /* A statement typed by a function's signature takes them too. */
        PQclear(unit_pg_exec(c, "CREATE FUNCTION f(p float8[]) RETURNS float8 LANGUAGE sql "
                                "AS 'SELECT sum(x) FROM unnest(p) x'"));
        got = roundtrip(c, "SELECT f($1)", &a[2], 1);
        CHECK_STREQ(got, "-84.376543211");
        free(got);
        for (i = 0; i < 6; i++)
                sqlarray_deinit(&a[i]);
        PQfinish(c);
        unit_pg_teardown(&pg);
}

/* A binary array as PostgreSQL sends it reads back element by element; a
 * cut-short one is refused, never read past its end. */
static void test_reader(void)
{
        static struct unit_pg pg;
        struct sqlarray_reader rd;
        const uint8_t *e;
        size_t len;
        PGconn *c;
        PGresult *r;
        const char *buf;
        int n;

        unit_pg_setup(&pg, "test_sqlarray_reader");
        c = unit_pg_connect(&pg, pg.dbname);
        r = PQexecParams(c, "SELECT ARRAY['\\x00'::bytea, NULL, '\\x0aff', '\\x'], '{}'::bytea[]",
                         0, NULL, NULL, NULL, NULL, 1);
        CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
        buf = PQgetvalue(r, 0, 0);
        n = sqlarray_reader_init(&rd, buf, (size_t)PQgetlength(r, 0, 0));
        CHECK(n == 4);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == 1 && len == 1 && e[0] == 0);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == 1 && e == NULL);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == 1 && len == 2 && e[0] == 0x0a && e[1] == 0xff);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == 1 && len == 0);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == 0);
        /* Cut short: the last element's bytes are missing. */
        n = sqlarray_reader_init(&rd, buf, (size_t)PQgetlength(r, 0, 0) - 5);
        CHECK(n == 4);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == 1);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == 1);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == -EBADMSG);
        CHECK(sqlarray_reader_init(&rd, buf, 8) == -EBADMSG);
        /* The empty array. */
        CHECK(sqlarray_reader_init(&rd, PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1)) == 0);
        CHECK(sqlarray_reader_next(&rd, &e, &len) == 0);
        PQclear(r);
        PQfinish(c);
        unit_pg_teardown(&pg);
}

int main(void)
{
        test_empty_and_numbers();
        test_text_is_quoted();
        test_bytea_hex();
        test_growth();
        test_parsed_refusals();
        test_binary_roundtrip();
        test_reader();
        return 0;
}

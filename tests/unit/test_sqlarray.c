/* Unit tests for lib/sqlarray.c: array literals PostgreSQL parses back to
 * exactly the values that went in. */
#include "sqlarray.h"
#include "unit.h"

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

int main(void)
{
        test_empty_and_numbers();
        test_text_is_quoted();
        test_bytea_hex();
        test_growth();
        return 0;
}

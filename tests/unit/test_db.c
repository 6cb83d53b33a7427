/* Unit tests of lib/db.c: PostgreSQL on a real libuv loop, against the test
 * cluster (unit_pg.h): commit, all-or-nothing, order of 200 pipelined
 * transactions, binary results, reconnect after the backend is killed,
 * cancellation by db_free. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "unit_loop.h"
#include "unit_pg.h"
#include "db/db.h"

static struct unit_pg pg;
static uv_loop_t loop;
static PGconn *admin;            /* blocking connection to the test database */
static struct db *db;
static int ups, downs;
static bool in_submit;

static void on_up(void *arg)
{
        (void)arg;
        ups++;
}

static void on_down(void *arg)
{
        (void)arg;
        downs++;
}

/* What one transaction's callback saw. */
struct outcome {
        bool done;
        int err;
        char errmsg[512];
        int ntuples;
        char value[256];          /* first row, first column of statement `pick` */
        int value_len;
        int pick;
};

static void on_done(void *arg, struct db_tx *tx, int err, const char *errmsg)
{
        struct outcome *o = arg;
        PGresult *r;

        /* db.h: the callback never runs from inside db_submit. */
        CHECK(!in_submit);
        CHECK(!o->done);
        o->done = true;
        o->err = err;
        snprintf(o->errmsg, sizeof(o->errmsg), "%s", errmsg ? errmsg : "(null)");
        r = db_tx_result(tx, o->pick);
        if (err == 0 && r && PQresultStatus(r) == PGRES_TUPLES_OK) {
                o->ntuples = PQntuples(r);
                if (o->ntuples > 0) {
                        o->value_len = PQgetlength(r, 0, 0);
                        CHECK(o->value_len < (int)sizeof(o->value));
                        memcpy(o->value, PQgetvalue(r, 0, 0), o->value_len);
                }
        }
}

static void submit(struct db_tx *tx, struct outcome *o)
{
        in_submit = true;
        db_submit(db, tx, on_done, o);
        in_submit = false;
}

/* Run one transaction of SQL statements (no parameters) and wait for it. */
static void run_tx(struct outcome *o, int pick, int n, const char *const *sql)
{
        struct db_tx *tx = db_tx_new();
        int i;

        CHECK(tx);
        for (i = 0; i < n; i++)
                CHECK(db_tx_add(tx, sql[i], 0, NULL, NULL, NULL) == 0);
        CHECK(db_tx_count(tx) == n);
        memset(o, 0, sizeof(*o));
        o->pick = pick;
        submit(tx, o);
        RUN_LOOP_UNTIL(&loop, o->done, 10000);
}

static void test_connect_and_commit(void)
{
        struct outcome o;
        const char *sql[] = {
                "CREATE TABLE items (id int PRIMARY KEY, name text)",
                "INSERT INTO items VALUES (1, 'one')",
                "SELECT name FROM items WHERE id = 1",
        };
        unsigned long rec, com, fail;

        RUN_LOOP_UNTIL(&loop, db_is_up(db), 10000);
        CHECK(ups == 1 && downs == 0);
        run_tx(&o, 2, 3, sql);
        if (o.err)
                fprintf(stderr, "error: %s\n", o.errmsg);
        CHECK(o.err == 0);
        CHECK(o.ntuples == 1);
        CHECK_STREQ(o.value, "one");
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM items") == 1);
        db_stats(db, &rec, &com, &fail);
        CHECK(rec == 0 && com == 1 && fail == 0);
}

/* Parameters are copied at db_tx_add: the caller's buffers may go away. */
static void test_parameters(void)
{
        struct outcome o = { .pick = 1 };
        struct db_tx *tx = db_tx_new();
        char id[8], name[16];
        const char *p[2] = { id, name };
        const char *null_p[2] = { "3", NULL };

        strcpy(id, "2");
        strcpy(name, "two");
        CHECK(db_tx_add(tx, "INSERT INTO items VALUES ($1, $2)", 2, p, NULL, NULL) == 0);
        CHECK(db_tx_add(tx, "SELECT name FROM items WHERE id = $1", 1, p, NULL, NULL) == 0);
        CHECK(db_tx_add(tx, "INSERT INTO items VALUES ($1, $2)", 2, null_p, NULL, NULL) == 0);
        strcpy(id, "9");
        strcpy(name, "nine");
        submit(tx, &o);
        RUN_LOOP_UNTIL(&loop, o.done, 10000);
        CHECK(o.err == 0);
        CHECK_STREQ(o.value, "two");
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM items WHERE id = 3 AND name IS NULL") == 1);
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM items WHERE id = 9") == 0);
}

/* An empty transaction completes (nothing to commit) from the loop, never
 * from inside db_submit (on_done checks that). */
static void test_empty(void)
{
        struct outcome o = { .pick = 0 };
        struct db_tx *tx = db_tx_new();

        CHECK(db_tx_count(tx) == 0);
        submit(tx, &o);
        CHECK(!o.done);
        RUN_LOOP_UNTIL(&loop, o.done, 5000);
        CHECK(o.err == 0);
}

/* A transaction whose second statement fails leaves no trace of its first,
 * says why, and the connection goes on serving the next one. */
static void test_all_or_nothing(void)
{
        struct outcome o;
        const char *bad[] = {
                "INSERT INTO items VALUES (100, 'hundred')",
                "INSERT INTO no_such_table VALUES (1)",
                "INSERT INTO items VALUES (101, 'hundred and one')",
        };
        const char *dup[] = {
                "INSERT INTO items VALUES (102, 'x')",
                "INSERT INTO items VALUES (1, 'duplicate')",
        };
        const char *good[] = { "INSERT INTO items VALUES (103, 'y')", "SELECT count(*) FROM items" };
        unsigned long rec, com, fail;

        run_tx(&o, 0, 3, bad);
        CHECK(o.err == -EPROTO);
        CHECK_CONTAINS(o.errmsg, "relation \"no_such_table\" does not exist");
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM items WHERE id IN (100, 101)") == 0);

        run_tx(&o, 0, 2, dup);
        CHECK(o.err == -EPROTO);
        CHECK_CONTAINS(o.errmsg, "duplicate key value violates unique constraint");
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM items WHERE id = 102") == 0);

        run_tx(&o, 1, 2, good);
        CHECK(o.err == 0);
        CHECK_STREQ(o.value, "4");  /* 1, 2, 3 and 103 */
        db_stats(db, &rec, &com, &fail);
        CHECK(com == 4 && fail == 2);  /* and the empty one counts as committed */
}

/* 200 transactions submitted back to back, before the loop runs once, share
 * the pipeline and complete in the order they were submitted. */
#define N_ORDERED 200
#define N_WHILE_DOWN 20
static int order_next, order_bad;

struct ordered {
        int index;
        bool done;
};

static void on_ordered(void *arg, struct db_tx *tx, int err, const char *errmsg)
{
        struct ordered *o = arg;
        PGresult *r = db_tx_result(tx, 1);

        if (err) {
                fprintf(stderr, "tx %d: %d %s\n", o->index, err, errmsg);
                order_bad++;
        } else if (o->index != order_next) {
                fprintf(stderr, "tx %d completed when %d was due\n", o->index, order_next);
                order_bad++;
        } else if (!r || PQntuples(r) != 1 || atoi(PQgetvalue(r, 0, 0)) != o->index) {
                fprintf(stderr, "tx %d: wrong result\n", o->index);
                order_bad++;
        }
        o->done = true;
        order_next++;
}

/* Submit N transactions into TABLE (n int PRIMARY KEY, at timestamptz),
 * each of which inserts only if the one before it already committed. */
static void submit_ordered(int first, int n, const char *table)
{
        static struct ordered o[N_ORDERED];
        char insert[256], select[128];
        int i;

        CHECK(n <= N_ORDERED);
        snprintf(insert, sizeof(insert), "INSERT INTO %s (n) SELECT $1::int WHERE $1::int = 0 "
                 "OR EXISTS (SELECT 1 FROM %s WHERE n = $1::int - 1)", table, table);
        snprintf(select, sizeof(select), "SELECT n FROM %s WHERE n = $1::int", table);
        order_next = first;
        order_bad = 0;
        for (i = first; i < first + n; i++) {
                struct db_tx *tx = db_tx_new();
                char num[16];
                const char *p[1] = { num };

                snprintf(num, sizeof(num), "%d", i);
                o[i].index = i;
                o[i].done = false;
                CHECK(db_tx_add(tx, insert, 1, p, NULL, NULL) == 0);
                CHECK(db_tx_add(tx, select, 1, p, NULL, NULL) == 0);
                db_submit(db, tx, on_ordered, &o[i]);
        }
}

static void test_order(void)
{
        const char *create[] = {
                "CREATE TABLE seq (n int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())",
                "CREATE TABLE seq_down (n int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())",
        };
        struct outcome c;

        run_tx(&c, 0, 2, create);
        CHECK(c.err == 0);
        submit_ordered(0, N_ORDERED, "seq");
        RUN_LOOP_UNTIL(&loop, order_next == N_ORDERED, 20000);
        CHECK(order_bad == 0);
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM seq") == N_ORDERED);
        /* Committed in order, too: timestamps rise with n. */
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM (SELECT at < lag(at) OVER (ORDER BY n) AS back "
                                  "FROM seq) s WHERE back") == 0);
}

/* Binary results: bytea comes back raw (zero bytes included), int8 as 8
 * big-endian bytes; binary parameters go in raw. */
static void test_binary(void)
{
        static const unsigned char blob[] = { 0x00, 0xff, 0x5c, 0x78, 0x00, 0x01, 0x27, 0x80 };
        const char *p[1] = { (const char *)blob };
        int lens[1] = { sizeof(blob) }, fmts[1] = { 1 };
        struct outcome o = { .pick = 0 };
        struct db_tx *tx = db_tx_new();
        struct outcome o2 = { .pick = 1 };
        static const unsigned char be[8] = { 0, 0, 0, 0, 0, 0, 0x01, 0x02 };

        CHECK(db_tx_add(tx, "SELECT $1::bytea", 1, p, lens, fmts) == 0);
        db_tx_set_binary_results(tx);
        submit(tx, &o);
        RUN_LOOP_UNTIL(&loop, o.done, 10000);
        CHECK(o.err == 0);
        CHECK(o.value_len == (int)sizeof(blob));
        CHECK(memcmp(o.value, blob, sizeof(blob)) == 0);

        tx = db_tx_new();
        CHECK(db_tx_add(tx, "SELECT length($1::bytea)", 1, p, lens, fmts) == 0);
        CHECK(db_tx_add(tx, "SELECT 258::int8", 0, NULL, NULL, NULL) == 0);
        db_tx_set_binary_results(tx);
        submit(tx, &o2);
        RUN_LOOP_UNTIL(&loop, o2.done, 10000);
        CHECK(o2.err == 0);
        CHECK(o2.value_len == 8);
        CHECK(memcmp(o2.value, be, 8) == 0);

        /* Without the flag, the same bytea is hex text. */
        tx = db_tx_new();
        memset(&o, 0, sizeof(o));
        CHECK(db_tx_add(tx, "SELECT $1::bytea", 1, p, lens, fmts) == 0);
        submit(tx, &o);
        RUN_LOOP_UNTIL(&loop, o.done, 10000);
        CHECK(o.err == 0);
        CHECK_STREQ(o.value, "\\x00ff5c7800012780");
}

/* The backend dies under a running statement: that transaction fails with
 * -ECONNRESET, `down` fires, a transaction submitted while down waits, the
 * connection comes back (`up`), and the waiting transaction commits. */
static void test_reconnect(void)
{
        const char *pid_sql[] = { "SELECT pg_backend_pid()" };
        const char *sleep_sql[] = { "INSERT INTO items VALUES (200, 'lost')", "SELECT pg_sleep(30)" };
        struct outcome o, slow = { .pick = 1 }, after = { .pick = 1 };
        struct db_tx *tx;
        char sql[320];
        PGresult *r;
        unsigned long rec, com, fail;
        int i;

        run_tx(&o, 0, 1, pid_sql);
        CHECK(o.err == 0);
        snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%s)", o.value);

        tx = db_tx_new();
        for (i = 0; i < 2; i++)
                CHECK(db_tx_add(tx, sleep_sql[i], 0, NULL, NULL, NULL) == 0);
        submit(tx, &slow);
        /* Let the statement start before killing its backend. */
        RUN_LOOP_FOR(&loop, 200);
        CHECK(!slow.done);
        r = unit_pg_exec(admin, sql);
        CHECK_STREQ(PQgetvalue(r, 0, 0), "t");
        PQclear(r);

        RUN_LOOP_UNTIL(&loop, slow.done, 10000);
        CHECK(slow.err == -ECONNRESET);
        CHECK(downs == 1);
        CHECK(!db_is_up(db));
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM items WHERE id = 200") == 0);

        /* Submitted while down: they wait for the new connection, then go
         * out in the order they were submitted. */
        tx = db_tx_new();
        CHECK(db_tx_add(tx, "INSERT INTO items VALUES (201, 'after')", 0, NULL, NULL, NULL) == 0);
        CHECK(db_tx_add(tx, "SELECT pg_backend_pid()", 0, NULL, NULL, NULL) == 0);
        submit(tx, &after);
        submit_ordered(0, N_WHILE_DOWN, "seq_down");
        CHECK(!db_is_up(db));
        RUN_LOOP_UNTIL(&loop, after.done && order_next == N_WHILE_DOWN, 10000);
        CHECK(order_bad == 0);
        if (after.err)
                fprintf(stderr, "error: %s\n", after.errmsg);
        CHECK(after.err == 0);
        CHECK(ups == 2 && downs == 1);
        CHECK(db_is_up(db));
        CHECK(strcmp(after.value, o.value) != 0);  /* a new backend */
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM items WHERE id = 201") == 1);
        db_stats(db, &rec, &com, &fail);
        CHECK(rec == 1);
        CHECK(unit_pg_long(admin, "SELECT count(*) FROM seq_down") == N_WHILE_DOWN);
}

/* db_free fails what is still waiting with -ECANCELED (here: a database that
 * cannot be reached, so the transaction never leaves the queue). */
static void test_free_cancels(void)
{
        char ci[768];
        struct db *down_db;
        struct db_tx *tx = db_tx_new();
        struct outcome o;

        snprintf(ci, sizeof(ci), "host=%s port=%s dbname=vigil_unit_no_such_db user=postgres "
                 "connect_timeout=2", pg.dir, pg.port);
        down_db = db_new(&loop, ci, NULL);
        CHECK(down_db);
        db_start(down_db);
        memset(&o, 0, sizeof(o));
        CHECK(db_tx_add(tx, "SELECT 1", 0, NULL, NULL, NULL) == 0);
        db_submit(down_db, tx, on_done, &o);
        RUN_LOOP_FOR(&loop, 300);
        CHECK(!o.done);
        CHECK(!db_is_up(down_db));
        db_free(down_db);
        RUN_LOOP_UNTIL(&loop, o.done, 5000);
        CHECK(o.err == -ECANCELED);
}

/* A statement run again goes prepared (parsed and planned once); the
 * session plans generically; one that names what its own transaction
 * creates, and a statement that cannot parse, still run as before: the
 * error is the statement's own. db_tx_also callbacks run, before the
 * transaction's own. */
static int also_calls;

static void on_also(void *arg, struct db_tx *tx, int err, const char *msg)
{
        (void)tx; (void)msg;
        CHECK(err == 0);
        CHECK(!((struct outcome *)arg)->done);   /* before the transaction's callback */
        also_calls++;
}

static void test_prepared(void)
{
        struct outcome o;
        const char *again[] = { "SELECT count(*) FROM items WHERE id >= 0" };
        const char *seen[] = { "SELECT count(*) FROM pg_prepared_statements "
                               "WHERE statement = 'SELECT count(*) FROM items WHERE id >= 0'" };
        const char *mode[] = { "SHOW plan_cache_mode" };
        const char *own[] = { "CREATE TABLE made_here (x int)", "INSERT INTO made_here VALUES (7)",
                              "SELECT x FROM made_here" };
        const char *bad[] = { "SELEC 1" };
        struct db_tx *tx;
        PGresult *r;
        char items[24];
        int i;

        snprintf(items, sizeof(items), "%ld", unit_pg_long(admin, "SELECT count(*) FROM items"));
        for (i = 0; i < 3; i++) {
                run_tx(&o, 0, 1, again);
                CHECK(o.err == 0);
                CHECK_STREQ(o.value, items);
        }
        run_tx(&o, 0, 1, seen);
        CHECK(o.err == 0);
        CHECK_STREQ(o.value, "1");
        run_tx(&o, 0, 1, mode);
        CHECK_STREQ(o.value, "force_generic_plan");
        for (i = 0; i < 2; i++) {
                run_tx(&o, 2, 3, own);
                CHECK(o.err == 0);
                CHECK_STREQ(o.value, "7");
                CHECK(unit_pg_long(admin, "SELECT count(*) FROM made_here") == 1);
                r = PQexec(admin, "DROP TABLE made_here");
                CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
                PQclear(r);
        }
        for (i = 0; i < 2; i++) {
                run_tx(&o, 0, 1, bad);
                CHECK(o.err == -EPROTO);
                CHECK(strstr(o.errmsg, "syntax error") != NULL);
        }
        tx = db_tx_new();
        CHECK(db_tx_add(tx, again[0], 0, NULL, NULL, NULL) == 0);
        memset(&o, 0, sizeof(o));
        also_calls = 0;
        CHECK(db_tx_also(tx, on_also, &o) == 0);
        CHECK(db_tx_also(tx, on_also, &o) == 0);
        submit(tx, &o);
        RUN_LOOP_UNTIL(&loop, o.done, 10000);
        CHECK(also_calls == 2);
}

int main(void)
{
        struct db_events ev = { .up = on_up, .down = on_down, .arg = NULL };

        unit_pg_setup(&pg, "vigil_unit_db");
        admin = unit_pg_connect(&pg, pg.dbname);
        CHECK(uv_loop_init(&loop) == 0);
        db = db_new(&loop, pg.conninfo, &ev);
        CHECK(db);
        CHECK(!db_is_up(db));
        db_start(db);

        RUN(test_connect_and_commit);
        RUN(test_parameters);
        RUN(test_empty);
        RUN(test_all_or_nothing);
        RUN(test_order);
        RUN(test_binary);
        RUN(test_prepared);
        RUN(test_reconnect);
        RUN(test_free_cancels);

        /* db_free closes every handle: the loop ends empty. */
        db_free(db);
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(uv_loop_close(&loop) == 0);
        PQfinish(admin);
        unit_pg_teardown(&pg);
        return 0;
}

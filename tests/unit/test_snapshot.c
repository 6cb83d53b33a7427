/* Unit tests of lib/delivery/snapshot.c: the sections a snapshot is made of,
 * read a page at a time. Which sections go which way, in what order, the
 * keys of keyset pagination passed from one page to the next, sections of
 * one page, and at the receiving end the reads of what is still marked and
 * the forwarding of its removal (each section its own result). The
 * sections are fake_tables.h's: paged (up), down (down), small (up, one
 * page). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "delivery/snapshot.h"
#include "fake_db.h"
#include "fake_tables.h"
#include "unit.h"

#define SELF "43010400002000000001"
#define PEER "43010401002000000001"
#define UPLINK "43010000002000000001"

static struct fake_tables t;

/* A transaction holding the statement reading C's next page (at most
 * LIMIT rows), its result set to RES. */
static struct db_tx *page(const struct snapshot_table *st, const struct snapshot_cursor *c, int limit,
                          PGresult *res)
{
        struct db_tx *tx = db_tx_new();

        snapshot_add_page(st, c, tx, SELF, PEER, limit);
        CHECK(fake_tx_statements(tx) == 1);
        if (res)
                fake_tx_set_result(tx, 0, res);
        return tx;
}

/* Encode TX's page: N changes, probes FIRST.. with ORIGIN. */
static void encode_page(const struct snapshot_table *st, struct snapshot_cursor *c, struct db_tx *tx, int limit,
                        uint64_t first, size_t n, const char *origin)
{
        uint8_t **changes = NULL;
        size_t *lens = NULL, got = 99, i;
        char o[32];

        CHECK(snapshot_page_encode(st, c, tx, limit, &changes, &lens, &got) == 0);
        CHECK(got == n);
        for (i = 0; i < n; i++) {
                CHECK(fake_probe_number(changes[i], lens[i], o, sizeof(o)) == first + i);
                CHECK_STREQ(o, origin);
                free(changes[i]);
        }
        free(changes);
        free(lens);
        db_tx_free(tx);
}

static bool aborts(void (*fn)(void))
{
        pid_t pid;
        int status;

        fflush(stdout);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                CHECK(freopen("/dev/null", "w", stderr) != NULL);
                fn();
                _exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void register_without_read(void)
{
        struct snapshot_section s = t.sections.sections[1];

        s.add_read = NULL;
        snapshot_register(&t.sections, &s);
}

static void register_marked_without_forward(void)
{
        struct snapshot_section s = t.sections.sections[0];

        s.forward_removed = NULL;
        snapshot_register(&t.sections, &s);
}

static void register_full(void)
{
        struct snapshot_table full = { .n = 0 };
        int i;

        for (i = 0; i <= SNAPSHOT_MAX_SECTIONS; i++)
                snapshot_register(&full, &t.sections.sections[1]);
}

static void test_register(void)
{
        CHECK(t.sections.n == 3);
        CHECK_STREQ(t.sections.sections[0].name, "paged");
        CHECK_STREQ(t.sections.sections[1].name, "down");
        CHECK_STREQ(t.sections.sections[2].name, "small");
        CHECK(aborts(register_without_read));
        CHECK(aborts(register_marked_without_forward));
        CHECK(aborts(register_full));
}

/* A snapshot starts at the first section going its way. */
static void test_start(void)
{
        struct snapshot_cursor c;
        struct snapshot_table none = { .n = 0 }, down_first = { .n = 0 };

        snapshot_start(&c, &t.sections, SNAPSHOT_TO_PARENT);
        CHECK(c.section == 0 && c.to == SNAPSHOT_TO_PARENT && !snapshot_done(&c, &t.sections));
        CHECK(c.key1[0] == '\0' && c.key2[0] == '\0');
        snapshot_start(&c, &t.sections, SNAPSHOT_TO_CHILD);
        CHECK(c.section == 1 && !snapshot_done(&c, &t.sections));
        snapshot_start(&c, &none, SNAPSHOT_TO_PARENT);
        CHECK(snapshot_done(&c, &none));
        snapshot_register(&down_first, &t.sections.sections[1]);
        snapshot_register(&down_first, &t.sections.sections[2]);
        snapshot_start(&c, &down_first, SNAPSHOT_TO_PARENT);
        CHECK(c.section == 1);
        snapshot_start(&c, &down_first, SNAPSHOT_TO_CHILD);
        CHECK(c.section == 0);
        /* Nothing going down after "down": done after it. */
        encode_page(&down_first, &c, page(&down_first, &c, 10, fake_section_rows(1, 2)), 10, 1, 2, "down");
        CHECK(snapshot_done(&c, &down_first));
}

/* Up: paged's pages with the keys of the last row before, until a short
 * page; "down" skipped; small once, whatever its size; then done. */
static void test_pages_up(void)
{
        struct snapshot_cursor c;
        struct db_tx *tx;

        snapshot_start(&c, &t.sections, SNAPSHOT_TO_PARENT);
        tx = page(&t.sections, &c, 3, fake_section_rows(1, 3));
        CHECK_CONTAINS(fake_tx_sql(tx, 0), "fake_read_paged");
        CHECK_STREQ(fake_tx_param(tx, 0, 0), SELF);
        CHECK_STREQ(fake_tx_param(tx, 0, 1), PEER);
        CHECK_STREQ(fake_tx_param(tx, 0, 2), "");
        CHECK_STREQ(fake_tx_param(tx, 0, 3), "");
        CHECK_STREQ(fake_tx_param(tx, 0, 4), "3");
        encode_page(&t.sections, &c, tx, 3, 1, 3, "paged");
        /* A full page: more of this section, after its last row's keys. */
        CHECK(c.section == 0);
        CHECK_STREQ(c.key1, "3");
        CHECK_STREQ(c.key2, "k3");
        tx = page(&t.sections, &c, 3, fake_section_rows(4, 3));
        CHECK_STREQ(fake_tx_param(tx, 0, 2), "3");
        CHECK_STREQ(fake_tx_param(tx, 0, 3), "k3");
        encode_page(&t.sections, &c, tx, 3, 4, 3, "paged");
        tx = page(&t.sections, &c, 3, fake_section_rows(7, 2));
        CHECK_STREQ(fake_tx_param(tx, 0, 2), "6");
        CHECK_STREQ(fake_tx_param(tx, 0, 3), "k6");
        encode_page(&t.sections, &c, tx, 3, 7, 2, "paged");
        /* Short: the section is done; "down" does not go up. */
        CHECK(c.section == 2);
        CHECK(c.key1[0] == '\0' && c.key2[0] == '\0');
        tx = page(&t.sections, &c, 3, fake_section_rows(100, 5));
        CHECK_CONTAINS(fake_tx_sql(tx, 0), "fake_read_small");
        CHECK_STREQ(fake_tx_param(tx, 0, 0), SELF);
        CHECK_STREQ(fake_tx_param(tx, 0, 1), PEER);
        /* One page, though longer than the limit. */
        encode_page(&t.sections, &c, tx, 3, 100, 5, "small");
        CHECK(snapshot_done(&c, &t.sections));
        /* Past the end a page reads nothing (and encodes to nothing). */
        tx = page(&t.sections, &c, 3, NULL);
        CHECK_STREQ(fake_tx_sql(tx, 0), "SELECT 1 WHERE false");
        db_tx_free(tx);
}

/* Down: only "down"; an empty page ends a section too. */
static void test_pages_down(void)
{
        struct snapshot_cursor c;
        struct db_tx *tx;

        snapshot_start(&c, &t.sections, SNAPSHOT_TO_CHILD);
        tx = page(&t.sections, &c, 2, fake_section_rows(1, 2));
        CHECK_CONTAINS(fake_tx_sql(tx, 0), "fake_read_down");
        CHECK_STREQ(fake_tx_param(tx, 0, 0), PEER);
        CHECK_STREQ(fake_tx_param(tx, 0, 1), "");
        CHECK_STREQ(fake_tx_param(tx, 0, 2), "2");
        encode_page(&t.sections, &c, tx, 2, 1, 2, "down");
        CHECK(!snapshot_done(&c, &t.sections));
        tx = page(&t.sections, &c, 2, fake_section_rows(3, 0));
        CHECK_STREQ(fake_tx_param(tx, 0, 1), "2");
        encode_page(&t.sections, &c, tx, 2, 3, 0, "down");
        CHECK(snapshot_done(&c, &t.sections));
}

/* A row that does not encode fails the page: nothing returned, the cursor
 * where it was (the page is read again, or the snapshot restarts). So does
 * a page whose read has no result. */
static void test_encode_failure(void)
{
        struct snapshot_cursor c;
        struct db_tx *tx;
        PGresult *res = fake_section_rows(1, 2);
        static const char *const bad[2] = { "bad", "kbad" };
        uint8_t **changes = (uint8_t **)&t;
        size_t *lens = (size_t *)&t, n = 77;

        snapshot_start(&c, &t.sections, SNAPSHOT_TO_PARENT);
        fake_result_add_row(res, bad);
        tx = page(&t.sections, &c, 2, res);
        CHECK(snapshot_page_encode(&t.sections, &c, tx, 2, &changes, &lens, &n) == -ENOMEM);
        CHECK(changes == (uint8_t **)&t && lens == (size_t *)&t && n == 77);
        CHECK(c.section == 0 && c.key1[0] == '\0');
        db_tx_free(tx);
        tx = page(&t.sections, &c, 2, NULL);
        CHECK(snapshot_page_encode(&t.sections, &c, tx, 2, &changes, &lens, &n) == -ENOMEM);
        CHECK(n == 77 && c.section == 0);
        db_tx_free(tx);
}

/* A child's snapshot ends: the marked reads of the sections that have one,
 * in order; then each section's forwards from its own result. */
static void test_marked_and_forwards(void)
{
        struct db_tx *read = db_tx_new(), *tx;
        static const char *const names[1] = { "number" };
        static const char *const r5[1] = { "5" }, *const r6[1] = { "6" }, *const r9[1] = { "9" };
        PGresult *paged = fake_result_new(1, names, NULL), *small = fake_result_new(1, names, NULL);

        snapshot_add_marked(&t.sections, read, PEER);
        CHECK(fake_tx_statements(read) == 2);
        CHECK_CONTAINS(fake_tx_sql(read, 0), "fake_marked_paged");
        CHECK_STREQ(fake_tx_param(read, 0, 0), PEER);
        CHECK_CONTAINS(fake_tx_sql(read, 1), "fake_marked_small");
        CHECK_STREQ(fake_tx_param(read, 1, 0), PEER);
        fake_result_add_row(paged, r5);
        fake_result_add_row(paged, r6);
        fake_result_add_row(small, r9);
        fake_tx_set_result(read, 0, paged);
        fake_tx_set_result(read, 1, small);

        tx = db_tx_new();
        snapshot_add_removals(&t.sections, tx, read, PEER, UPLINK, 1234567);
        CHECK(fake_tx_statements(tx) == 3);
        CHECK_CONTAINS(fake_tx_sql(tx, 0), "fake_forward_paged");
        CHECK_STREQ(fake_tx_param(tx, 0, 0), "5");
        CHECK_STREQ(fake_tx_param(tx, 0, 1), UPLINK);
        CHECK_CONTAINS(fake_tx_sql(tx, 1), "fake_forward_paged");
        CHECK_STREQ(fake_tx_param(tx, 1, 0), "6");
        /* small is the third section but the second marked read. */
        CHECK_CONTAINS(fake_tx_sql(tx, 2), "fake_forward_small");
        CHECK_STREQ(fake_tx_param(tx, 2, 0), "9");
        CHECK_STREQ(fake_tx_param(tx, 2, 1), UPLINK);
        /* Each forward is given the child's clock as its snapshot began. */
        CHECK_STREQ(fake_tx_param(tx, 0, 2), "1234567");
        CHECK_STREQ(fake_tx_param(tx, 2, 2), "1234567");
        db_tx_free(tx);

        /* At the city, nothing is forwarded. */
        tx = db_tx_new();
        snapshot_add_removals(&t.sections, tx, read, PEER, NULL, 0);
        CHECK(fake_tx_statements(tx) == 0);
        db_tx_free(tx);
        db_tx_free(read);

        /* A read that did not run forwards nothing for its section. */
        read = db_tx_new();
        snapshot_add_marked(&t.sections, read, PEER);
        small = fake_result_new(1, names, NULL);
        fake_result_add_row(small, r9);
        fake_tx_set_result(read, 1, small);
        tx = db_tx_new();
        snapshot_add_removals(&t.sections, tx, read, PEER, UPLINK, 0);
        CHECK(fake_tx_statements(tx) == 1);
        CHECK_CONTAINS(fake_tx_sql(tx, 0), "fake_forward_small");
        db_tx_free(tx);
        db_tx_free(read);
}

static void no_read(void *arg, struct db_tx *tx, const struct snapshot_page *p)
{
        (void)arg; (void)tx; (void)p;
}

static int no_encode(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        (void)arg; (void)res; (void)i; (void)ret; (void)ret_len;
        return -1;
}

/* The tables a snapshot keeps (sections going up that name one): each
 * marked at the begin, in order; at the end what is still marked removed,
 * last registered first (dependents before what they depend on), then the
 * forwards; a section without a table is neither. */
static void test_marks_and_removals(void)
{
        struct snapshot_table tt = { 0 };
        struct db_tx *tx, *read;

        snapshot_register(&tt, &(struct snapshot_section){ .name = "a", .to = SNAPSHOT_TO_PARENT, .table = "alphas",
                                                           .add_read = no_read, .encode = no_encode });
        snapshot_register(&tt, &(struct snapshot_section){ .name = "n", .to = SNAPSHOT_TO_PARENT,
                                                           .add_read = no_read, .encode = no_encode });
        snapshot_register(&tt, &(struct snapshot_section){ .name = "b", .to = SNAPSHOT_TO_PARENT, .table = "betas",
                                                           .add_read = no_read, .encode = no_encode });
        tx = db_tx_new();
        snapshot_add_marks(&tt, tx, PEER);
        CHECK(fake_tx_statements(tx) == 2);
        CHECK_STREQ(fake_tx_sql(tx, 0), "UPDATE alphas SET snapshot_mark = true WHERE via = $1");
        CHECK_STREQ(fake_tx_sql(tx, 1), "UPDATE betas SET snapshot_mark = true WHERE via = $1");
        CHECK_STREQ(fake_tx_param(tx, 0, 0), PEER);
        CHECK_STREQ(fake_tx_param(tx, 1, 0), PEER);
        db_tx_free(tx);
        tx = db_tx_new();
        read = db_tx_new();
        snapshot_add_removals(&tt, tx, read, PEER, NULL, 0);
        CHECK(fake_tx_statements(tx) == 2);
        CHECK_STREQ(fake_tx_sql(tx, 0), "DELETE FROM betas WHERE via = $1 AND snapshot_mark");
        CHECK_STREQ(fake_tx_sql(tx, 1), "DELETE FROM alphas WHERE via = $1 AND snapshot_mark");
        CHECK_STREQ(fake_tx_param(tx, 1, 0), PEER);
        db_tx_free(tx);
        db_tx_free(read);
}

int main(void)
{
        fake_tables_init(&t);
        RUN(test_register);
        RUN(test_start);
        RUN(test_pages_up);
        RUN(test_pages_down);
        RUN(test_encode_failure);
        RUN(test_marked_and_forwards);
        RUN(test_marks_and_removals);
        return 0;
}

/* Unit tests of lib/delivery/change.c: the table of change kinds, and a
 * batch applying changes through it (grouping set-based kinds, the order
 * between kinds, refusals, notes). The kinds are fake_tables.h's; their
 * statements land in fake_db.h's transactions, where the tests read them. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/db.h"
#include "delivery/change.h"
#include "fake_db.h"
#include "fake_tables.h"
#include "unit.h"
#include "wire/wire.h"

#define STATION "43010401002000000001"
#define DISTRICT "43010400002000000001"

static struct fake_tables t;

/* Add a change CH (LEN bytes, freed) to B: its result, the reason in ERR. */
static int add(struct change_batch *b, uint8_t *ch, size_t len, char *err, size_t n)
{
        int r;

        err[0] = '\0';
        r = change_batch_add(b, ch, len, err, n);
        free(ch);
        return r;
}

static int add_probe(struct change_batch *b, uint64_t number, const char *origin)
{
        uint8_t *ch;
        size_t len;
        char err[256];

        fake_probe(number, origin, &ch, &len);
        return add(b, ch, len, err, sizeof(err));
}

static int add_state(struct change_batch *b, const char *id, char *err, size_t n)
{
        uint8_t *ch;
        size_t len;

        fake_state(id, &ch, &len);
        return add(b, ch, len, err, n);
}

static int add_removed(struct change_batch *b, const char *id, int64_t version, char *err, size_t n)
{
        uint8_t *ch;
        size_t len;

        fake_removed(id, version, &ch, &len);
        return add(b, ch, len, err, n);
}

/* The numbers of probe statement I of TX are FIRST .. FIRST+N-1. */
static void check_probes(const struct db_tx *tx, int i, uint64_t first, int n)
{
        uint64_t got[2048];
        int k;

        CHECK(n <= 2048);
        CHECK(fake_probe_numbers(tx, i, got, 2048) == n);
        for (k = 0; k < n; k++)
                CHECK(got[k] == first + (uint64_t)k);
}

static void test_register_and_lookup(void)
{
        const struct change_kind *k;

        CHECK(t.kinds.n == 3);
        k = change_kind_of(&t.kinds, VIGIL__CHANGE__KIND_NODE_STATE);
        CHECK(k != NULL);
        CHECK_STREQ(k->name, "state");
        CHECK(k->group_max == 3);
        CHECK(change_kind_of(&t.kinds, VIGIL__CHANGE__KIND_LINK_PROBE) != NULL);
        CHECK(change_kind_of(&t.kinds, VIGIL__CHANGE__KIND_NODE_REMOVED)->add != NULL);
        CHECK(change_kind_of(&t.kinds, VIGIL__CHANGE__KIND_SITE) == NULL);
        CHECK(change_kind_of(&t.kinds, 0) == NULL);
        /* Note bits: each a bit of its own. */
        CHECK(t.probe_note != 0 && (t.probe_note & (t.probe_note - 1)) == 0);
        CHECK(t.removed_note != 0 && (t.removed_note & (t.removed_note - 1)) == 0);
        CHECK(t.probe_note != t.removed_note);
        CHECK((change_note_new(&t.kinds) & (t.probe_note | t.removed_note)) == 0);
}

/* Registering what cannot be registered is a bug in the caller: aborts
 * (STYLE.md 7), tried in a child process. */
static bool aborts(void (*fn)(void))
{
        pid_t pid;
        int status;

        fflush(stdout);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                /* The abort's log line is expected: not in the test's output. */
                CHECK(freopen("/dev/null", "w", stderr) != NULL);
                fn();
                _exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void register_twice(void)
{
        change_register(&t.kinds, &t.kinds.kinds[0]);
}

static void register_both_ways(void)
{
        struct change_kind k = t.kinds.kinds[0];   /* set-based probe ... */

        k.kind_case = VIGIL__CHANGE__KIND_SITE;
        k.add = t.kinds.kinds[2].add;              /* ... with a statement each too */
        change_register(&t.kinds, &k);
}

static void register_neither_way(void)
{
        struct change_kind k = t.kinds.kinds[0];

        k.kind_case = VIGIL__CHANGE__KIND_SITE;
        k.flush = NULL;                            /* rows and nothing to flush them */
        change_register(&t.kinds, &k);
}

static void register_fresh(void)
{
        struct change_kind k = t.kinds.kinds[0];

        k.kind_case = VIGIL__CHANGE__KIND_SITE;
        change_register(&t.kinds, &k);
}

static void test_register_refuses_bugs(void)
{
        CHECK(aborts(register_twice));
        CHECK(aborts(register_both_ways));
        CHECK(aborts(register_neither_way));
        CHECK(!aborts(register_fresh));   /* the harness itself does not abort */
        CHECK(t.kinds.n == 3);            /* (in the parent, nothing changed) */
}

static void test_unknown_kind_refused(void)
{
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__Site s = VIGIL__SITE__INIT;
        uint8_t *ch;
        size_t len;
        char err[256];

        s.code = "S1";
        c.kind_case = VIGIL__CHANGE__KIND_SITE;
        c.site = &s;
        CHECK(wire_encode_change(&c, &ch, &len) == 0);
        CHECK(add(b, ch, len, err, sizeof(err)) == -EBADMSG);
        CHECK_STREQ(err, "unknown kind of change");
        CHECK(change_batch_finish(b) == 0);
        CHECK(fake_tx_statements(tx) == 0);
        db_tx_free(tx);
}

/* Issue 17: a Change of a kind this node's build does not know (a newer
 * child: protobuf-c keeps the field in unknown_fields, the case NOT_SET)
 * goes up unchanged from a middle tier, in order with the rest (a group
 * gathered before it is emitted first); where nothing can forward it (the
 * city, from the parent, a snapshot's item) it is refused with the reason,
 * for the link to hold as a dead letter. Before, it was refused
 * everywhere and dropped. */
static void test_unknown_field_forwarded(void)
{
        /* Field 99, length-delimited, "abc". */
        static const uint8_t newer[6] = { 0x9a, 0x06, 0x03, 'a', 'b', 'c' };
        struct {
                const char *uplink;
                bool from_parent, snapshot;
                const char *why;
        } refused[] = {
                { NULL, false, false, "nowhere to forward it" },
                { DISTRICT, true, false, "from the parent" },
                { DISTRICT, false, true, "in a snapshot" },
        };
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        char err[256];
        size_t i;

        CHECK(add_probe(b, 1, STATION) == 0);
        CHECK(change_batch_add(b, newer, sizeof(newer), err, sizeof(err)) == CHANGE_FORWARDED);
        CHECK(add_probe(b, 2, STATION) == 0);
        change_batch_finish(b);
        CHECK(fake_tx_statements(tx) == 3);
        check_probes(tx, 0, 1, 1);
        CHECK_STREQ(fake_tx_sql(tx, 1), "SELECT outbox_append($1, ARRAY[$2::bytea])");
        CHECK_STREQ(fake_tx_param(tx, 1, 0), DISTRICT);
        CHECK(fake_tx_param_format(tx, 1, 1) == 1 && fake_tx_param_len(tx, 1, 1) == (int)sizeof(newer));
        CHECK(memcmp(fake_tx_param(tx, 1, 1), newer, sizeof(newer)) == 0);
        check_probes(tx, 2, 2, 1);
        db_tx_free(tx);
        for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                tx = db_tx_new();
                b = change_batch_new(&t.kinds, tx, STATION, refused[i].uplink, refused[i].from_parent,
                                     refused[i].snapshot);
                CHECK(change_batch_add(b, newer, sizeof(newer), err, sizeof(err)) == -EBADMSG);
                CHECK_CONTAINS(err, "unknown here (field 99)");
                CHECK(change_batch_refused_unknown(b) == !refused[i].snapshot);
                CHECK_CONTAINS(err, refused[i].why);
                change_batch_finish(b);
                CHECK(fake_tx_statements(tx) == 0);
                db_tx_free(tx);
        }
        /* No field at all is no newer kind: refused, not forwarded. */
        tx = db_tx_new();
        b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        CHECK(change_batch_add(b, newer, 0, err, sizeof(err)) == -EBADMSG);
        CHECK_STREQ(err, "change: no kind set");
        CHECK(change_kind_name(&t.kinds, newer, sizeof(newer)) == NULL);
        change_batch_finish(b);
        CHECK(fake_tx_statements(tx) == 0);
        db_tx_free(tx);
}

static void test_undecodable_refused(void)
{
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        uint8_t *junk = malloc(4);
        char err[256];

        memcpy(junk, "\xff\xff\xff\xff", 4);
        CHECK(add(b, junk, 4, err, sizeof(err)) == -EBADMSG);
        CHECK(err[0] != '\0');
        /* An empty change decodes but has no kind. */
        CHECK(add(b, calloc(1, 1), 0, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "no kind");
        change_batch_finish(b);
        CHECK(fake_tx_statements(tx) == 0);
        db_tx_free(tx);
}

/* A kind that may not come from this side is refused with its own words;
 * the same change from the other side is applied. */
static void test_wrong_way_refused(void)
{
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, DISTRICT, NULL, true, false);
        char err[256];
        int rows = t.rows;

        CHECK(add_state(b, STATION, err, sizeof(err)) == -EBADMSG);
        CHECK_STREQ(err, "node state travels up only");
        CHECK(t.rows == rows);   /* the kind was never asked */
        /* Kinds allowed both ways come from the parent too. */
        CHECK(add_removed(b, STATION, 4, err, sizeof(err)) == 0);
        change_batch_finish(b);
        CHECK(fake_tx_statements(tx) == 1);
        CHECK_CONTAINS(fake_tx_sql(tx, 0), "fake_apply_removed");
        CHECK_STREQ(fake_tx_param(tx, 0, 2), DISTRICT);   /* via */
        db_tx_free(tx);

        tx = db_tx_new();
        b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        CHECK(add_state(b, STATION, err, sizeof(err)) == 0);
        change_batch_finish(b);
        CHECK(fake_tx_statements(tx) == 1);
        CHECK_CONTAINS(fake_tx_sql(tx, 0), "fake_apply_states");
        db_tx_free(tx);
}

/* Consecutive changes of a set-based kind become one statement, emitted
 * when the batch is finished (not before: more may follow). */
static void test_grouping(void)
{
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        uint64_t i;

        for (i = 1; i <= 5; i++)
                CHECK(add_probe(b, i, "x") == 0);
        CHECK(fake_tx_statements(tx) == 0);
        CHECK(change_batch_finish(b) == 0);
        CHECK(fake_tx_statements(tx) == 1);
        check_probes(tx, 0, 1, 5);
        /* What the batch knows is passed on: via, uplink, not a snapshot. */
        CHECK_STREQ(fake_tx_param(tx, 0, 2), STATION);
        CHECK_STREQ(fake_tx_param(tx, 0, 3), DISTRICT);
        CHECK_STREQ(fake_tx_param(tx, 0, 4), "f");
        db_tx_free(tx);

        /* A snapshot's batch at the city: no uplink. */
        tx = db_tx_new();
        b = change_batch_new(&t.kinds, tx, STATION, NULL, false, true);
        CHECK(add_probe(b, 9, "x") == 0);
        change_batch_finish(b);
        CHECK(fake_tx_param(tx, 0, 3) == NULL);
        CHECK_STREQ(fake_tx_param(tx, 0, 4), "t");
        db_tx_free(tx);
}

/* A group is flushed once it holds group_max rows (3 for states), and at
 * CHANGE_GROUP_MAX for a kind that sets none. */
static void test_group_max(void)
{
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        char err[256], id[32];
        int i;

        for (i = 0; i < 7; i++) {
                snprintf(id, sizeof(id), "430104010020000000%02d", i + 1);
                CHECK(add_state(b, id, err, sizeof(err)) == 0);
                /* Flushed at once when the third, the sixth arrives. */
                CHECK(fake_tx_statements(tx) == (i + 1) / 3);
        }
        change_batch_finish(b);
        CHECK(fake_tx_statements(tx) == 3);
        CHECK(fake_array_len(tx, 0, 0) == 3);
        CHECK(fake_array_len(tx, 1, 0) == 3);
        CHECK(fake_array_len(tx, 2, 0) == 1);
        fake_text_element(tx, 0, 0, 0, id, sizeof(id));
        CHECK_STREQ(id, "43010401002000000001");
        fake_text_element(tx, 2, 0, 0, id, sizeof(id));
        CHECK_STREQ(id, "43010401002000000007");
        db_tx_free(tx);

        tx = db_tx_new();
        b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        for (i = 0; i < 2 * CHANGE_GROUP_MAX + 500; i++)
                CHECK(add_probe(b, (uint64_t)i, "x") == 0);
        CHECK(fake_tx_statements(tx) == 2);
        change_batch_finish(b);
        CHECK(fake_tx_statements(tx) == 3);
        check_probes(tx, 0, 0, CHANGE_GROUP_MAX);
        check_probes(tx, 1, CHANGE_GROUP_MAX, CHANGE_GROUP_MAX);
        check_probes(tx, 2, 2 * CHANGE_GROUP_MAX, 500);
        db_tx_free(tx);
}

/* The order between kinds is kept: a change of another kind ends the group
 * before it. */
static void test_order_between_kinds(void)
{
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        char err[256], id[32];

        CHECK(add_probe(b, 1, "x") == 0);
        CHECK(add_probe(b, 2, "x") == 0);
        CHECK(add_removed(b, "43010401002000000009", 5, err, sizeof(err)) == 0);
        CHECK(add_probe(b, 3, "x") == 0);
        CHECK(add_state(b, "43010401002000000001", err, sizeof(err)) == 0);
        CHECK(add_state(b, "43010401002000000002", err, sizeof(err)) == 0);
        CHECK(add_probe(b, 4, "x") == 0);
        change_batch_finish(b);
        CHECK(fake_tx_statements(tx) == 5);
        check_probes(tx, 0, 1, 2);
        CHECK_CONTAINS(fake_tx_sql(tx, 1), "fake_apply_removed");
        CHECK_STREQ(fake_tx_param(tx, 1, 0), "43010401002000000009");
        CHECK_STREQ(fake_tx_param(tx, 1, 1), "5");
        check_probes(tx, 2, 3, 1);
        CHECK_CONTAINS(fake_tx_sql(tx, 3), "fake_apply_states");
        CHECK(fake_array_len(tx, 3, 0) == 2);
        fake_text_element(tx, 3, 0, 1, id, sizeof(id));
        CHECK_STREQ(id, "43010401002000000002");
        check_probes(tx, 4, 4, 1);
        db_tx_free(tx);
}

/* A change the kind refuses adds nothing, with the kind's reason; the
 * changes around it still apply. */
static void test_kind_refuses(void)
{
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        uint8_t *ch;
        size_t len;
        char err[256];

        CHECK(add_probe(b, 1, "x") == 0);
        fake_probe(2, "refuse", &ch, &len);
        CHECK(add(b, ch, len, err, sizeof(err)) == -EBADMSG);
        CHECK_STREQ(err, "probe refused");
        CHECK(add_probe(b, 3, "x") == 0);
        CHECK(add_removed(b, "43010401002000000009", -1, err, sizeof(err)) == -EBADMSG);
        CHECK_STREQ(err, "negative version");
        CHECK(change_batch_finish(b) == 0);   /* a refused removal notes nothing */
        /* The probes before the removal, then nothing for it. */
        CHECK(fake_tx_statements(tx) == 1);
        {
                uint64_t got[4];
                CHECK(fake_probe_numbers(tx, 0, got, 4) == 2);
                CHECK(got[0] == 1 && got[1] == 3);
        }
        db_tx_free(tx);
}

static void test_notes(void)
{
        struct db_tx *tx = db_tx_new();
        struct change_batch *b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        char err[256];

        CHECK(add_probe(b, 1, "x") == 0);
        CHECK(change_batch_finish(b) == 0);
        b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        CHECK(add_probe(b, 2, "noted") == 0);
        CHECK(change_batch_finish(b) == t.probe_note);
        b = change_batch_new(&t.kinds, tx, STATION, DISTRICT, false, false);
        CHECK(add_probe(b, 3, "noted") == 0);
        CHECK(add_removed(b, "43010401002000000009", 1, err, sizeof(err)) == 0);
        CHECK(add_removed(b, "43010401002000000008", 1, err, sizeof(err)) == 0);
        CHECK(change_batch_finish(b) == (t.probe_note | t.removed_note));
        CHECK(change_batch_finish(NULL) == 0);
        db_tx_free(tx);
}

int main(void)
{
        fake_tables_init(&t);
        RUN(test_register_and_lookup);
        RUN(test_register_refuses_bugs);
        RUN(test_unknown_kind_refused);
        RUN(test_unknown_field_forwarded);
        RUN(test_undecodable_refused);
        RUN(test_wrong_way_refused);
        RUN(test_grouping);
        RUN(test_group_max);
        RUN(test_order_between_kinds);
        RUN(test_kind_refuses);
        RUN(test_notes);
        return 0;
}

/* test_link_restore: a database restored from a backup is found, and a new
 * epoch begins (issue 17, fault 3).
 *
 * A station's database restored from last night's backup keeps its epoch
 * and an older outbox counter; its parent still holds its state further.
 * Trusting the parent's "applied up to 60" over the station's own "I
 * numbered up to 40" skipped (and trimmed) the next twenty changes the
 * station numbers again: grants, revocations, access-log copies. */
#include <string.h>

#include "delivery/link-impl.h"
#include "fake_db.h"
#include "fake_peer.h"
#include "test_link.h"
#include "unit.h"

/* Answer the link's load (link_load): applied_seq (none) and the highest
 * sequence this database ever gave the peer's outbox. */
static void answer_load(struct db *db, const char *assigned)
{
        struct db_tx *tx = fake_db_peek(db, 0);
        const char *names[2] = { "epoch", "last_seq" }, *one[1] = { "coalesce" };
        PGresult *applied = fake_result_new(2, names, NULL), *a = fake_result_new(1, one, NULL);
        const char *row[1] = { assigned };

        CHECK(tx && fake_tx_find(tx, "FROM applied_seq", 0) == 0 && fake_tx_find(tx, "FROM outbox_seq", 0) == 1);
        fake_result_add_row(a, row);
        fake_tx_set_result(tx, 0, applied);
        fake_tx_set_result(tx, 1, a);
        fake_db_complete(db, 0, NULL);
}

static int loaded;

static void on_loaded(struct link *l, int err, void *arg)
{
        (void)l; (void)arg;
        CHECK(err == 0);
        loaded++;
}

/* The parent applied 60 of ours; this database numbered only 40. */
static void test_restored_database_begins_a_new_epoch(void)
{
        struct db_tx *tx;
        PGresult *res;
        const char *col[1] = { "value" }, *row[1] = { "11111111-2222-4333-8444-555555555555" };
        char old[64];

        node_init(&n, TIER_STATION, 10000);
        snprintf(old, sizeof(old), "%s", n.set.epoch);
        loaded = 0;
        link_load(&n.up.l, on_loaded, NULL);
        answer_load(n.db, "40");
        CHECK(loaded == 1 && n.up.l.out.assigned == 40 && n.up.l.out.assigned_known);
        link_session_start(&n.up.l, "E", true, 60);
        CHECK(!link_in_session(&n.up.l));           /* nothing streams in the old epoch */
        CHECK(n.set.renewing);
        CHECK(fake_db_pending(n.db_read) == 0);     /* no outbox read from 61 */
        tx = fake_db_peek(n.db, 0);
        CHECK(tx && fake_tx_find(tx, "UPDATE node_settings SET value = gen_random_uuid()", 0) == 0);
        /* A second handshake meanwhile starts nothing either. */
        link_session_start(&n.up.l, "E", true, 60);
        CHECK(!link_in_session(&n.up.l) && fake_db_pending(n.db) == 1);
        res = fake_result_new(1, col, NULL);
        fake_result_add_row(res, row);
        fake_tx_set_result(tx, 0, res);
        fake_db_complete(n.db, 0, NULL);
        CHECK(!n.set.renewing && n.set.restores == 1);
        CHECK(strcmp(n.set.epoch, row[0]) == 0 && strcmp(n.set.epoch, old) != 0);
        /* The next handshake is in the new epoch: the parent holds none of
         * our state there, so a snapshot goes first. */
        link_session_start(&n.up.l, "E", false, 0);
        CHECK(link_in_session(&n.up.l) && n.up.l.out.state != LINK_SEND_DELTAS);
        node_deinit(&n);
}

/* What the parent applied is within what this database numbered: no
 * restore (the ordinary reconnect). */
static void test_ordinary_reconnect_trusted(void)
{
        node_init(&n, TIER_STATION, 10000);
        link_load(&n.up.l, on_loaded, NULL);
        answer_load(n.db, "60");
        link_session_start(&n.up.l, "E", true, 60);
        CHECK(link_in_session(&n.up.l) && !n.set.renewing && n.set.restores == 0);
        CHECK(n.up.l.out.state == LINK_SEND_DELTAS && n.up.l.out.next == 61);
        node_deinit(&n);
}

void link_restore_tests(void)
{
        RUN(test_restored_database_begins_a_new_epoch);
        RUN(test_ordinary_reconnect_trusted);
}

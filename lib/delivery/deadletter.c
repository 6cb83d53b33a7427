#include "delivery/deadletter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"

/* New dead letters logged a read at most (the rest at the next). */
#define DEADLETTER_LOG_MAX 50

void deadletter_hold_add(struct db_tx *tx, const char *peer, const char *epoch, uint64_t seq, const uint8_t *raw,
                         size_t len, const char *kind, const char *reason)
{
        char s[24];
        const char *p[6] = { peer, epoch, s, (const char *)raw, kind, reason };
        int lens[6] = { 0, 0, 0, (int)len, 0, 0 }, fmts[6] = { 0, 0, 0, 1, 0, 0 };

        snprintf(s, sizeof(s), "%" PRIu64, seq);
        db_tx_add(tx, "SELECT dead_letter_hold($1, $2, $3::bigint, $4::bytea, $5, $6)", 6, p, lens, fmts);
}

void deadletter_watch_init(struct deadletter_watch *w, struct db *db)
{
        memset(w, 0, sizeof(*w));
        w->db = db;
        w->last_id = -1;
}

static void deadletter_on_read(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct deadletter_watch *w = arg;
        PGresult *counts = db_tx_result(tx, 0), *fresh = db_tx_result(tx, 1);
        int i;

        w->busy = false;
        if (err) {
                /* Retried at the next sweep (the database may be away). */
                log_debug("deadletter", "msg=\"dead letters not read\" reason=\"%s\"", msg);
                return;
        }
        w->held = w->other = 0;
        w->n = 0;
        for (i = 0; counts && i < PQntuples(counts); i++) {
                unsigned long held = strtoul(PQgetvalue(counts, i, 1), NULL, 10);
                w->held += held;
                if (w->n < DEADLETTER_MAX_PEERS) {
                        snprintf(w->peers[w->n].peer, sizeof(w->peers[w->n].peer), "%s", PQgetvalue(counts, i, 0));
                        w->peers[w->n++].held = held;
                } else {
                        w->other += held;
                }
        }
        if (w->last_id < 0) {
                /* The first read: what was held before this start is said
                 * once, as a count, not letter by letter. */
                PGresult *max = db_tx_result(tx, 2);
                if (w->held > 0)
                        log_error("deadletter", "msg=\"dead letters held: changes not applied, waiting for an admin "
                                  "(vigilctl deadletter list)\" held=%lu", w->held);
                w->last_id = max && PQntuples(max) == 1 ? strtoll(PQgetvalue(max, 0, 0), NULL, 10) : 0;
        } else {
                for (i = 0; fresh && i < PQntuples(fresh); i++) {
                        int64_t id = strtoll(PQgetvalue(fresh, i, 0), NULL, 10);
                        log_error("deadletter", "id=%s peer=%s seq=%s kind=%s msg=\"change not applied, held as a "
                                  "dead letter; the link goes on\" reason=\"%s\"", PQgetvalue(fresh, i, 0),
                                  PQgetvalue(fresh, i, 1), PQgetvalue(fresh, i, 2),
                                  PQgetisnull(fresh, i, 3) ? "unknown" : PQgetvalue(fresh, i, 3),
                                  PQgetvalue(fresh, i, 4));
                        if (id > w->last_id)
                                w->last_id = id;
                }
        }
        w->loaded = true;
        if (w->again) {
                w->again = false;
                deadletter_watch_poll(w);
        }
}

void deadletter_watch_poll(struct deadletter_watch *w)
{
        char after[24], limit[12];
        const char *p[2] = { after, limit };
        struct db_tx *tx;

        if (!w->db || !db_is_up(w->db))
                return;
        if (w->busy) {
                w->again = true;
                return;
        }
        snprintf(after, sizeof(after), "%" PRId64, w->last_id < 0 ? INT64_MAX : w->last_id);
        snprintf(limit, sizeof(limit), "%d", DEADLETTER_LOG_MAX);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT peer_id, count(*) FROM dead_letters WHERE state = 'held' GROUP BY peer_id "
                      "ORDER BY count(*) DESC, peer_id", 0, NULL, NULL, NULL);
        db_tx_add(tx, "SELECT id, peer_id, seq, kind, reason FROM dead_letters WHERE id > $1::bigint ORDER BY id "
                      "LIMIT $2::int", 2, p, NULL, NULL);
        db_tx_add(tx, "SELECT coalesce(max(id), 0) FROM dead_letters", 0, NULL, NULL, NULL);
        w->busy = true;
        db_submit(w->db, tx, deadletter_on_read, w);
}

unsigned long deadletter_watch_held(const struct deadletter_watch *w, const char *peer)
{
        int i;

        for (i = 0; i < w->n; i++)
                if (strcmp(w->peers[i].peer, peer) == 0)
                        return w->peers[i].held;
        return 0;
}

#include "delivery/backlog.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"

/* Per peer: the last number given, the first change the outbox holds
 * (NULL: none), and how long that one has waited, in milliseconds. */
static const char backlog_select[] =
        "SELECT s.peer_id, s.last_seq, o.seq, "
        "(extract(epoch FROM now() - o.created_at) * 1000)::bigint FROM outbox_seq s "
        "LEFT JOIN LATERAL (SELECT seq, created_at FROM outbox WHERE peer_id = s.peer_id "
        "ORDER BY last_seq LIMIT 1) o ON true";

static struct link *backlog_link(struct delivery *d, const char *peer)
{
        struct child *c;

        if (d->has_parent && strcmp(peer, d->cfg->parent_id) == 0)
                return &d->uplink.link;
        c = downlink_find(&d->downlink, peer);
        return c ? &c->link : NULL;
}

static void backlog_on_recorded(void *arg, struct db_tx *tx, int err, const char *msg)
{
        (void)arg;
        (void)tx;
        if (err)
                log_warn("link", "msg=\"cannot record the store-and-forward alarm in the access log\" reason=\"%s\"",
                         msg);
}

/* The alarm raised or ended: the log, and a record in the access log
 * (Art 23(4): an interruption reaches the tiers above). */
static void backlog_record(struct delivery *d, const struct link *l, bool raised)
{
        struct db_tx *tx = db_tx_new();
        char detail[200];
        const char *p[3] = { d->cfg->node_id, raised ? "link.backlog.alarm" : "link.backlog.cleared", detail };

        if (raised) {
                snprintf(detail, sizeof(detail), "%" PRIu64 " changes waiting for %s for %" PRId64 " s",
                         l->backlog.waiting, l->peer_id, l->backlog.oldest_ms / 1000);
                log_error("link", "peer=%s waiting=%" PRIu64 " seconds=%" PRId64 " msg=\"store and forward: %"
                          PRIu64 " changes waiting for %s for %" PRId64 " s\"", l->peer_id, l->backlog.waiting,
                          l->backlog.oldest_ms / 1000, l->backlog.waiting, l->peer_id, l->backlog.oldest_ms / 1000);
        } else {
                snprintf(detail, sizeof(detail), "%s caught up after %" PRId64 " s or more", l->peer_id,
                         l->backlog.alarm_ms / 1000);
                log_warn("link", "peer=%s msg=\"store and forward: %s caught up after %" PRId64 " s or more\"",
                         l->peer_id, l->peer_id, l->backlog.alarm_ms / 1000);
        }
        db_tx_add(tx, "SELECT audit_append($1, $2, 'ok', NULL, NULL, NULL, NULL, NULL, NULL, $3)", 3, p, NULL, NULL);
        db_submit(d->links.db, tx, backlog_on_recorded, NULL);
}

static void backlog_take(struct delivery *d, struct link *l, uint64_t last, const char *first, int64_t age_ms)
{
        uint64_t from = first ? strtoull(first, NULL, 10) - 1 : last;
        int64_t due_ms = (int64_t)d->cfg->backlog_alarm_seconds * 1000;

        /* Acknowledged, not yet trimmed: not waiting. */
        if (link_in_session(l) && l->out.acked > from)
                from = l->out.acked;
        l->backlog.waiting = last > from ? last - from : 0;
        l->backlog.oldest_ms = l->backlog.waiting ? age_ms : 0;
        if (!l->backlog.alarm && l->backlog.waiting > 0 && age_ms >= due_ms) {
                l->backlog.alarm = true;
                l->backlog.alarm_ms = age_ms;
                backlog_record(d, l, true);
        } else if (l->backlog.alarm && l->backlog.waiting == 0) {
                backlog_record(d, l, false);
                l->backlog.alarm = false;
        } else if (l->backlog.alarm && age_ms > l->backlog.alarm_ms) {
                l->backlog.alarm_ms = age_ms;
        }
}

static void backlog_on_counted(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct delivery *d = arg;
        PGresult *res = err ? NULL : db_tx_result(tx, 0);

        d->backlog_counting = false;
        if (!res) {
                if (err != -ECANCELED)
                        log_debug("link", "msg=\"cannot count what waits for the peers\" reason=\"%s\"", msg);
                return;
        }
        for (int i = 0; i < PQntuples(res); i++) {
                struct link *l = backlog_link(d, PQgetvalue(res, i, 0));
                if (l)
                        backlog_take(d, l, strtoull(PQgetvalue(res, i, 1), NULL, 10),
                                     PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
                                     PQgetisnull(res, i, 3) ? 0 : strtoll(PQgetvalue(res, i, 3), NULL, 10));
        }
}

void backlog_sweep(struct delivery *d)
{
        struct db_tx *tx;

        if (d->backlog_counting || !d->links.db || !db_is_up(d->links.db))
                return;
        d->backlog_counting = true;
        tx = db_tx_new();
        db_tx_add(tx, backlog_select, 0, NULL, NULL, NULL);
        db_submit(link_set_read_db(&d->links), tx, backlog_on_counted, d);
}

#include "control/deadletterctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"

/* Letters a listing shows at most (the default: DEADLETTERCTL_LIST). */
#define DEADLETTERCTL_LIST 100
#define DEADLETTERCTL_LIST_MAX 1000

/* A dead letter's ID as typed: digits, an int8. */
static bool deadletterctl_id_ok(const char *id)
{
        return id && *id && strlen(id) <= 18 && strspn(id, "0123456789") == strlen(id);
}

/* deadletter.list [--state held|retried|discarded|all] [--peer ID]
 * [--limit N]: the newest first. */
static void deadletterctl_list(struct control_req *q)
{
        struct deadletterctl *x = q->ctx;
        const char *state = control_arg(q, "state"), *peer = control_arg(q, "peer"), *limit = control_arg(q, "limit");
        const char *p[3];
        struct db_tx *tx;
        long n = limit ? strtol(limit, NULL, 10) : DEADLETTERCTL_LIST;

        p[0] = state ? state : "held";
        p[1] = peer;
        p[2] = limit ? limit : "100";
        if ((strcmp(p[0], "held") != 0 && strcmp(p[0], "retried") != 0 && strcmp(p[0], "discarded") != 0 &&
             strcmp(p[0], "all") != 0) ||
            (limit && (!deadletterctl_id_ok(limit) || n < 1 || n > DEADLETTERCTL_LIST_MAX))) {
                control_reply(q, CONTROL_USAGE, NULL,
                              "deadletter list: --state is held, retried, discarded or all; --limit 1 to 1000", NULL);
                free(q);
                return;
        }
        tx = db_tx_new();
        db_tx_add(tx, "SELECT coalesce(json_agg(x ORDER BY x.id DESC), '[]')::text FROM (SELECT id, peer_id AS peer, "
                      "epoch, seq, kind, reason, held_at, refused_again_at, state, decided_by, decided_at, decision, "
                      "octet_length(change) AS size FROM dead_letters WHERE ($1 = 'all' OR state = $1) "
                      "AND ($2::text IS NULL OR peer_id = $2) ORDER BY id DESC LIMIT $3::int) x", 3, p, NULL, NULL);
        db_submit(x->d->links.db, tx, control_on_json_row, q);
}

/* A retry under way: the letter as read, then applied. */
struct deadletterctl_retry {
        struct deadletterctl *x;
        char id[24];
        char peer[24];
        unsigned notes;
};

/* The link to PEER (the parent, or a child), or NULL. */
static struct link *deadletterctl_link(struct link_set *s, const char *peer)
{
        int i;

        if (s->parent && strcmp(s->parent->peer_id, peer) == 0)
                return s->parent;
        for (i = 0; i < s->n_children; i++)
                if (strcmp(s->children[i]->peer_id, peer) == 0)
                        return s->children[i];
        return NULL;
}

static void deadletterctl_retried(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct deadletterctl_retry *r = q->data;
        struct link_set *s = &r->x->d->links;
        struct link *l;
        int i;

        (void)tx;
        q->data = NULL;
        if (err) {
                log_warn("deadletter", "id=%s msg=\"retry failed; the letter stays held\" reason=\"%s\"", r->id, msg);
                free(r);
                control_refuse(q, msg, NULL);
                return;
        }
        log_info("deadletter", "id=%s peer=%s msg=\"dead letter applied on retry\" by=\"%s\"", r->id, r->peer,
                 q->user);
        /* What it appended for others goes out; the features hear of it as
         * of any transaction applying what the peer sent. */
        link_set_kick_parent(s);
        link_set_kick_children(s);
        if ((l = deadletterctl_link(s, r->peer)))
                for (i = 0; i < s->n_listeners; i++)
                        if (s->listeners[i].applied)
                                s->listeners[i].applied(s->listeners[i].arg, l, r->notes);
        deadletter_watch_poll(r->x->watch);
        control_reply(q, CONTROL_OK, json_pack("{s:s,s:s}", "id", r->id, "state", "retried"), NULL, NULL);
        free(r);
        free(q);
}

static void deadletterctl_on_letter(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct deadletterctl_retry *r = q->data;
        struct link_set *s = &r->x->d->links;
        PGresult *row = db_tx_result(tx, 0), *raw = db_tx_result(tx, 1);
        const char *parent = link_set_parent_id(s), *epoch;
        const char *p[2] = { r->id, q->user };
        char why[300], reason[400];
        struct change_batch *b;
        struct db_tx *apply;
        uint64_t seq;
        int rc;

        if (err || !row || !raw || PQntuples(row) != 1 || PQntuples(raw) != 1) {
                snprintf(reason, sizeof(reason), "%s", err ? msg : "no such dead letter");
                if (!err)
                        snprintf(reason, sizeof(reason), "no dead letter %s", r->id);
                free(r);
                q->data = NULL;
                control_refuse(q, reason, NULL);
                return;
        }
        if (strcmp(PQgetvalue(row, 0, 3), "held") != 0) {
                snprintf(reason, sizeof(reason), "dead letter %s is already %s", r->id, PQgetvalue(row, 0, 3));
                free(r);
                q->data = NULL;
                control_refuse(q, reason, NULL);
                return;
        }
        snprintf(r->peer, sizeof(r->peer), "%s", PQgetvalue(row, 0, 0));
        epoch = PQgetvalue(row, 0, 1);
        seq = strtoull(PQgetvalue(row, 0, 2), NULL, 10);
        /* As it came: from the same peer, on the same side, at the same
         * position (a kind that refuses it in SQL holds it there again,
         * which dead_letter_retried sees). */
        apply = db_tx_new();
        b = change_batch_new(s->kinds, apply, r->peer, parent, parent && strcmp(parent, r->peer) == 0, false);
        change_batch_at(b, epoch, seq);
        rc = change_batch_add(b, (const uint8_t *)PQgetvalue(raw, 0, 0), (size_t)PQgetlength(raw, 0, 0), why,
                              sizeof(why));
        r->notes = change_batch_finish(b);
        if (rc < 0) {
                db_tx_free(apply);
                snprintf(reason, sizeof(reason), "dead letter %s is refused again: %s", r->id, why);
                free(r);
                q->data = NULL;
                control_refuse(q, reason, NULL);
                return;
        }
        db_tx_add(apply, "SELECT dead_letter_retried($1::bigint, $2)", 2, p, NULL, NULL);
        db_submit(r->x->d->links.db, apply, deadletterctl_retried, q);
}

/* deadletter.retry ID */
static void deadletterctl_retry(struct control_req *q)
{
        struct deadletterctl *x = q->ctx;
        const char *id = control_arg(q, "id");
        struct deadletterctl_retry *r;
        struct db_tx *tx;
        const char *p[1] = { id };

        if (!deadletterctl_id_ok(id)) {
                control_reply(q, CONTROL_USAGE, NULL, "deadletter retry: ID is a dead letter's number", NULL);
                free(q);
                return;
        }
        r = calloc(1, sizeof(*r));
        if (!r) {
                control_refuse(q, "out of memory", NULL);
                return;
        }
        r->x = x;
        snprintf(r->id, sizeof(r->id), "%s", id);
        q->data = r;
        tx = db_tx_new();
        db_tx_add(tx, "SELECT peer_id, epoch, seq, state FROM dead_letters WHERE id = $1::bigint", 1, p, NULL, NULL);
        db_tx_add(tx, "SELECT change FROM dead_letters WHERE id = $1::bigint", 1, p, NULL, NULL);
        db_tx_binary_last(tx);
        db_submit(x->d->links.db, tx, deadletterctl_on_letter, q);
}

static void deadletterctl_discarded(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct control_req *q = arg;
        struct deadletterctl *x = q->ctx;

        (void)tx;
        if (err) {
                control_refuse(q, msg, NULL);
                return;
        }
        log_warn("deadletter", "id=%s msg=\"dead letter discarded\" by=\"%s\"", q->arg_id, q->user);
        deadletter_watch_poll(x->watch);
        control_reply(q, CONTROL_OK, json_pack("{s:s,s:s}", "id", q->arg_id, "state", "discarded"), NULL, NULL);
        free(q);
}

/* deadletter.discard ID --reason TEXT */
static void deadletterctl_discard(struct control_req *q)
{
        struct deadletterctl *x = q->ctx;
        const char *id = control_arg(q, "id"), *reason = control_arg(q, "reason");
        const char *p[3] = { id, q->user, reason };
        struct db_tx *tx;

        if (!deadletterctl_id_ok(id) || !reason || !*reason) {
                control_reply(q, CONTROL_USAGE, NULL, "deadletter discard: ID --reason TEXT", NULL);
                free(q);
                return;
        }
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", id);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT dead_letter_discard($1::bigint, $2, $3)", 3, p, NULL, NULL);
        db_submit(x->d->links.db, tx, deadletterctl_discarded, q);
}

const struct control_command deadletterctl_commands[] = {
        { "deadletter.list", deadletterctl_list },
        { "deadletter.retry", deadletterctl_retry },
        { "deadletter.discard", deadletterctl_discard },
        { NULL, NULL },
};

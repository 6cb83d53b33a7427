/* link_set: what a node's links share (link.h): the configuration and
 * databases, the kinds and sections the features registered, the
 * listeners and handlers, and the links themselves, so that what one link
 * applies can go out on another (store and forward). */
#include "delivery/link-impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"

void link_set_init(struct link_set *s, uv_loop_t *loop, const struct config *cfg, struct change_table *kinds,
                   struct snapshot_table *sections)
{
        memset(s, 0, sizeof(*s));
        s->loop = loop;
        s->cfg = cfg;
        s->kinds = kinds;
        s->sections = sections;
}

void link_set_deinit(struct link_set *s)
{
        free(s->children);
        s->children = NULL;
        s->n_children = 0;
        s->parent = NULL;
}

void link_set_db(struct link_set *s, struct db *db, struct db *db_read, const char *epoch)
{
        s->db = db;
        s->db_read = db_read;
        if (epoch)
                snprintf(s->epoch, sizeof(s->epoch), "%s", epoch);
}

static void link_end_session(struct link *l, void *arg)
{
        (void)arg;
        link_session_end(l);
}

static void link_set_on_renewed(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct link_set *s = arg;
        PGresult *res = err ? NULL : db_tx_result(tx, 0);

        s->renewing = false;
        if (!res || PQntuples(res) != 1) {
                /* The next handshake finds it again. */
                log_error("link", "msg=\"cannot begin a new epoch\" reason=\"%s\"", err ? msg : "no epoch row");
                return;
        }
        snprintf(s->epoch, sizeof(s->epoch), "%s", PQgetvalue(res, 0, 0));
        s->restores++;
        /* The rows restamped above every version the lost changes had:
         * this node's own go on above them too. */
        res = db_tx_result(tx, 1);
        if (s->versions && res && PQntuples(res) == 1)
                vtime_versions_seed(s->versions, strtoll(PQgetvalue(res, 0, 0), NULL, 10));
        log_warn("link", "epoch=%s msg=\"new epoch: every peer gets a snapshot of this node's state\"", s->epoch);
        /* Every session ends; each handshakes again with the new epoch
         * (the uplink at its next beat, each child at its next message). */
        if (s->parent)
                link_session_end(s->parent);
        link_set_for_children(s, link_end_session, NULL);
}

void link_set_restored(struct link_set *s, struct link *l, uint64_t peer_applied)
{
        struct db_tx *tx = db_tx_new();

        log_error("link", "peer=%s dir=%s peer_applied=%" PRIu64 " ever_sent=%" PRIu64 " msg=\"the peer applied "
                  "more than this database ever sent it: restored from a backup? beginning a new epoch\"",
                  l->peer_id, link_dir_name(l), peer_applied, l->out.assigned);
        s->renewing = true;
        db_tx_add(tx, "UPDATE node_settings SET value = gen_random_uuid()::text WHERE key = 'epoch' RETURNING value",
                  0, NULL, NULL, NULL);
        /* The peers may hold changes of this node's rows that the restored
         * database lost, with versions above the ones it still has: the
         * snapshot would not replace them. Its own rows get fresh versions
         * first (catalog_restamp_own; above the lost ones, as the version
         * clock starts above them: lib/delivery/delivery.c). */
        db_tx_add(tx, "SELECT catalog_restamp_own()", 0, NULL, NULL, NULL);
        db_submit(s->db, tx, link_set_on_renewed, s);
}

void link_set_add_child(struct link_set *s, struct link *l)
{
        struct link **nc = realloc(s->children, (size_t)(s->n_children + 1) * sizeof(*nc));

        vigil_require(nc != NULL);
        s->children = nc;
        s->children[s->n_children++] = l;
}

void link_set_listen(struct link_set *s, const struct link_listener *ls)
{
        vigil_require(s->n_listeners < LINK_MAX_LISTENERS);
        s->listeners[s->n_listeners++] = *ls;
}

void link_set_handle(struct link_set *s, int body_case, enum link_dir from, link_handler_fn fn, void *arg)
{
        vigil_require(s->n_handlers < LINK_MAX_HANDLERS);
        s->handlers[s->n_handlers].body_case = body_case;
        s->handlers[s->n_handlers].from = from;
        s->handlers[s->n_handlers].fn = fn;
        s->handlers[s->n_handlers].arg = arg;
        s->n_handlers++;
}

bool link_set_handles(const struct link_set *s, enum link_dir from, int body_case)
{
        int i;

        for (i = 0; i < s->n_handlers; i++)
                if (s->handlers[i].body_case == body_case && s->handlers[i].from == from)
                        return true;
        return false;
}

int link_set_dispatch(struct link_set *s, enum link_dir from, const char *peer, const Vigil__Envelope *env)
{
        int i;

        for (i = 0; i < s->n_handlers; i++)
                if (s->handlers[i].body_case == (int)env->body_case && s->handlers[i].from == from) {
                        s->handlers[i].fn(s->handlers[i].arg, peer, env);
                        return 0;
                }
        return -ENOENT;
}

const char *link_set_parent_id(const struct link_set *s)
{
        return s->cfg->tier != TIER_CITY ? s->cfg->parent_id : NULL;
}

struct db *link_set_read_db(struct link_set *s)
{
        return s->db_read && db_is_up(s->db_read) ? s->db_read : s->db;
}

void link_set_for_children(struct link_set *s, void (*fn)(struct link *l, void *arg), void *arg)
{
        int i;

        for (i = 0; i < s->n_children; i++)
                fn(s->children[i], arg);
}

void link_set_kick_parent(struct link_set *s)
{
        if (s->parent)
                link_kick(s->parent);
}

void link_set_kick_children(struct link_set *s)
{
        int i;

        for (i = 0; i < s->n_children; i++)
                link_kick(s->children[i]);
}

void link_set_read_parent_in(struct link_set *s, struct db_tx *tx)
{
        if (s->parent)
                link_read_in(s->parent, tx);
}

void link_set_read_children_in(struct link_set *s, struct db_tx *tx)
{
        int i;

        for (i = 0; i < s->n_children; i++)
                link_read_in(s->children[i], tx);
}

void link_set_kick_parent_after(struct link_set *s, const struct db_tx *tx)
{
        if (s->parent)
                link_kick_after(s->parent, tx);
}

void link_set_kick_children_after(struct link_set *s, const struct db_tx *tx)
{
        int i;

        for (i = 0; i < s->n_children; i++)
                link_kick_after(s->children[i], tx);
}

#include "delivery/tree.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "base/sqlarray.h"
#include "db/db.h"
#include "wire/wire.h"

/* A child may only tell us about nodes strictly below itself: a station
 * cannot speak for another station (DESIGN.md "Sockets"), nor invent one
 * inside its own centre code, which would share its cameras, grants and
 * audit copies, as ownership goes by prefix (issue 17, fault 6). */
int tree_check_node_removed(const char *via, const Vigil__NodeRemoved *rm, char *err, size_t errlen)
{
        char why[384];

        if (nodeid_check_below(rm->node_id, via, why, sizeof(why)) < 0) {
                snprintf(err, errlen, "node removed refused: %s", why);
                return -EBADMSG;
        }
        return 0;
}

int tree_check_node_state(const char *via, const Vigil__NodeState *s, char *err, size_t errlen)
{
        char why[384];

        if (nodeid_check_below(s->node_id, via, why, sizeof(why)) < 0) {
                snprintf(err, errlen, "node state refused: %s", why);
                return -EBADMSG;
        }
        if (!s->has_tier || (int)s->tier != (int)nodeid_tier(s->node_id) || !s->name) {
                snprintf(err, errlen, "node state of %s refused: it lacks a name, or its tier is not the %s "
                         "its ID encodes", s->node_id, tier_name(nodeid_tier(s->node_id)));
                return -EBADMSG;
        }
        /* Its parent: directly above it (nodeid_check_child), and VIA or a
         * node below VIA: the tree a child describes is its own. */
        if (!s->parent_id || nodeid_check_child(s->node_id, s->parent_id, why, sizeof(why)) < 0 ||
            (strcmp(s->parent_id, via) != 0 && nodeid_check_below(s->parent_id, via, why, sizeof(why)) < 0)) {
                snprintf(err, errlen, "node state of %s refused: parent %s is not %s or a node below it "
                         "directly above %s", s->node_id, s->parent_id ? s->parent_id : "(none)", via,
                         s->node_id);
                return -EBADMSG;
        }
        return 0;
}

static int tree_add_node_state(void *arg, struct change_batch *b, const Vigil__Change *c, const uint8_t *change,
                               size_t len, char *err, size_t errlen)
{
        const Vigil__NodeState *s = c->node_state;
        const char *via = change_batch_via(b);
        char online[2], last_seen[32], version[24];
        const char *p[11];
        int lens[11] = { 0 }, fmts[11] = { 0 };
        int r = tree_check_node_state(via, s, err, errlen);

        (void)arg;
        if (r < 0)
                return r;
        snprintf(online, sizeof(online), "%s", s->online ? "t" : "f");
        snprintf(last_seen, sizeof(last_seen), "%.6f", (double)s->last_seen_us / 1e6);
        snprintf(version, sizeof(version), "%" PRId64, s->version);
        p[0] = via;
        p[1] = s->node_id;
        p[2] = s->parent_id;
        p[3] = tier_name((enum tier)s->tier);
        p[4] = s->name;
        p[5] = online;
        p[6] = s->last_seen_us > 0 ? last_seen : NULL;
        p[7] = version;
        p[8] = (const char *)change;
        lens[8] = (int)len;
        fmts[8] = 1;
        p[9] = change_batch_uplink(b);
        p[10] = change_batch_snapshot(b) ? "t" : "f";
        db_tx_add(change_batch_tx(b), "SELECT node_state_apply($1, $2, $3, $4, $5, $6, "
                  "to_timestamp($7::double precision), $8, $9, $10, $11)", 11, p, lens, fmts);
        return 0;
}

static int tree_add_node_removed(void *arg, struct change_batch *b, const Vigil__Change *c, const uint8_t *change,
                                 size_t len, char *err, size_t errlen)
{
        const Vigil__NodeRemoved *rm = c->node_removed;
        const char *p[4];
        int lens[4] = { 0, 0, (int)len, 0 }, fmts[4] = { 0, 0, 1, 0 };
        int r = tree_check_node_removed(change_batch_via(b), rm, err, errlen);

        (void)arg;
        if (r < 0)
                return r;
        p[0] = change_batch_via(b);
        p[1] = rm->node_id;
        p[2] = (const char *)change;
        p[3] = change_batch_uplink(b);
        db_tx_add(change_batch_tx(b), "SELECT node_remove_apply($1, $2, $3, $4)", 4, p, lens, fmts);
        return 0;
}

/* Probes are what `link probe` sends by the hundred thousand: one
 * statement for all a batch holds. */
static int tree_probe_row(void *arg, struct change_batch *b, struct sqlarray *cols, const Vigil__Change *c,
                          const uint8_t *change, size_t len, char *err, size_t errlen)
{
        const Vigil__LinkProbe *pr = c->link_probe;
        int i;

        (void)arg;
        (void)change;
        (void)len;
        /* A probe measures one link: it must come from the child itself. */
        if (!pr->origin || strcmp(pr->origin, change_batch_via(b)) != 0) {
                snprintf(err, errlen, "a link probe must come from the child that sends it");
                return -EBADMSG;
        }
        if (cols[0].n == 0)
                for (i = 0; i < 3; i++) {
                        sqlarray_reset(&cols[i]);
                        sqlarray_set_type(&cols[i], SQLARRAY_INT8);
                }
        sqlarray_add_int64(&cols[0], (int64_t)pr->probe_id);
        sqlarray_add_int64(&cols[1], (int64_t)pr->number);
        sqlarray_add_int64(&cols[2], pr->sent_at_us);
        return 0;
}

static void tree_probe_flush(void *arg, struct change_batch *b, struct sqlarray *cols)
{
        const char *p[4] = { change_batch_via(b) };
        int lens[4] = { 0 }, fmts[4] = { 0 }, i;

        (void)arg;
        for (i = 0; i < 3; i++)
                sqlarray_param(&cols[i], &p[1 + i], &lens[1 + i], &fmts[1 + i]);
        db_tx_add(change_batch_tx(b), "SELECT link_probe_apply($1, $2, $3, $4)", 4, p, lens, fmts);
        for (i = 0; i < 3; i++)
                sqlarray_reset(&cols[i]);
}

/* --- the snapshot section: every node this node knows below itself --- */

static void tree_add_read(void *arg, struct db_tx *tx, const struct snapshot_page *pg)
{
        char prefix[12];
        const char *p[2] = { prefix, pg->self };

        (void)arg;
        nodeid_prefix(pg->self, prefix);
        /* Few rows: one page. */
        db_tx_add(tx, "SELECT id, parent_id, tier, name, online, "
                      "coalesce((extract(epoch FROM last_seen) * 1000000)::bigint, 0), version "
                      "FROM nodes WHERE id <> $2 AND id LIKE $1 || '%' ORDER BY id",
                  2, p, NULL, NULL);
}

static int tree_encode_row(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        enum tier t = TIER_NONE;

        (void)arg;
        tier_parse(PQgetvalue(res, i, 2), &t);
        return tree_encode_node_state(PQgetvalue(res, i, 0), PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1),
                                      t, PQgetvalue(res, i, 3), PQgetvalue(res, i, 4)[0] == 't',
                                      strtoll(PQgetvalue(res, i, 5), NULL, 10), strtoll(PQgetvalue(res, i, 6), NULL, 10),
                                      ret, ret_len);
}

static void tree_add_marked(void *arg, struct db_tx *tx, const char *via)
{
        const char *p[1] = { via };

        (void)arg;
        db_tx_add(tx, "SELECT id FROM nodes WHERE via = $1 AND snapshot_mark", 1, p, NULL, NULL);
}

/* The removal of a node stamped with this node's clock, at least FLOOR
 * (see catalog_forward_removed). */
static void tree_forward_removed(void *arg, struct db_tx *tx, const PGresult *marked, const char *uplink,
                                 int64_t floor)
{
        struct tree *t = arg;
        uint8_t *buf;
        size_t len;
        int i;

        for (i = 0; i < PQntuples(marked); i++) {
                int64_t v = vtime_next_version(t->versions);
                if (tree_encode_node_removed(PQgetvalue(marked, i, 0), v < floor ? floor : v, &buf, &len) == 0) {
                        change_forward(tx, uplink, buf, len);
                        free(buf);
                }
        }
}

void tree_register(struct tree *t, struct vtime_versions *versions, struct change_table *kinds,
                   struct snapshot_table *sections)
{
        t->versions = versions;
        change_register(kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_NODE_STATE, .name = "node state", .from = CHANGE_FROM_CHILD,
                .wrong_way = "node state only travels up, not from the parent", .add = tree_add_node_state,
                .arg = t });
        change_register(kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_NODE_REMOVED, .name = "node removed", .from = CHANGE_FROM_CHILD,
                .wrong_way = "node state only travels up, not from the parent", .add = tree_add_node_removed,
                .arg = t });
        /* One statement for every probe of a batch (up to LINK_BATCH). */
        change_register(kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_LINK_PROBE, .name = "link probe", .from = CHANGE_FROM_CHILD,
                .wrong_way = "a link probe must come from the child that sends it", .row = tree_probe_row,
                .flush = tree_probe_flush, .group_max = SIZE_MAX, .arg = t });
        snapshot_register(sections, &(struct snapshot_section){
                .name = "nodes", .to = SNAPSHOT_TO_PARENT, .one_page = true, .table = "nodes",
                .add_read = tree_add_read,
                .encode = tree_encode_row, .add_marked = tree_add_marked, .forward_removed = tree_forward_removed,
                .arg = t });
}

int tree_encode_node_state(const char *id, const char *parent_id, int tier, const char *name, bool online,
                           int64_t last_seen_us, int64_t version, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__NodeState s = VIGIL__NODE_STATE__INIT;

        s.node_id = (char *)id;
        s.parent_id = (char *)parent_id;
        s.has_tier = 1;
        s.tier = (Vigil__Tier)tier;
        s.name = (char *)name;
        s.has_online = 1;
        s.online = online;
        s.has_last_seen_us = last_seen_us > 0;
        s.last_seen_us = last_seen_us;
        s.has_version = 1;
        s.version = version;
        c.kind_case = VIGIL__CHANGE__KIND_NODE_STATE;
        c.node_state = &s;
        return wire_encode_change(&c, ret, ret_len);
}

int tree_encode_node_removed(const char *id, int64_t version, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__NodeRemoved rm = VIGIL__NODE_REMOVED__INIT;

        rm.node_id = (char *)id;
        rm.has_version = 1;
        rm.version = version;
        c.kind_case = VIGIL__CHANGE__KIND_NODE_REMOVED;
        c.node_removed = &rm;
        return wire_encode_change(&c, ret, ret_len);
}

int tree_encode_link_probe(const char *origin, uint64_t probe_id, uint64_t number, int64_t sent_at_us,
                           size_t padding, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__LinkProbe pr = VIGIL__LINK_PROBE__INIT;
        uint8_t *pad = NULL;
        int r;

        pr.origin = (char *)origin;
        pr.has_probe_id = pr.has_number = pr.has_sent_at_us = 1;
        pr.probe_id = probe_id;
        pr.number = number;
        pr.sent_at_us = sent_at_us;
        if (padding > 0) {
                pad = calloc(1, padding);
                if (!pad)
                        return -ENOMEM;
                pr.has_padding = 1;
                pr.padding.data = pad;
                pr.padding.len = padding;
        }
        c.kind_case = VIGIL__CHANGE__KIND_LINK_PROBE;
        c.link_probe = &pr;
        r = wire_encode_change(&c, ret, ret_len);
        free(pad);
        return r;
}

#include "delivery/replica.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/audit.h"
#include "features/catalog.h"
#include "db/db.h"
#include "features/emergency.h"
#include "base/log.h"
#include "node.h"
#include "base/nodeid.h"
#include "features/grant.h"
#include "features/officer.h"
#include "wire/wire.h"

/* Rows per set-based statement. */
#define REPLICA_GROUP_MAX 1000

static const char *replica_tier_name(Vigil__Tier t)
{
        return tier_name((enum tier)t);
}

/* A child may only tell us about nodes strictly below itself: a station
 * cannot speak for another station (DESIGN.md "Sockets"). */
static int replica_check_subject(struct link *l, const char *id, char *err, size_t errlen)
{
        if (l->dir != LINK_TO_CHILD) {
                snprintf(err, errlen, "node state only travels up, not from the parent");
                return -EBADMSG;
        }
        if (!id || !nodeid_is_wellformed(id) || strcmp(id, l->peer_id) == 0 ||
            !nodeid_under(id, l->peer_id)) {
                snprintf(err, errlen, "node %s is not below %s", id ? id : "(none)", l->peer_id);
                return -EBADMSG;
        }
        return 0;
}

static int replica_add_node_state(struct db_tx *tx, struct link *l, const Vigil__NodeState *s,
                                  const uint8_t *change, size_t len, bool snapshot,
                                  char *err, size_t errlen)
{
        char online[2], last_seen[32], version[24];
        const char *p[11];
        int lens[11] = { 0 }, fmts[11] = { 0 };
        int r = replica_check_subject(l, s->node_id, err, errlen);

        if (r < 0)
                return r;
        if (!s->has_tier || s->tier == VIGIL__TIER__TIER_UNKNOWN || s->tier > VIGIL__TIER__TIER_STATION ||
            !s->parent_id || !nodeid_is_wellformed(s->parent_id) || !s->name) {
                snprintf(err, errlen, "node state of %s lacks tier, parent or name", s->node_id);
                return -EBADMSG;
        }
        snprintf(online, sizeof(online), "%s", s->online ? "t" : "f");
        snprintf(last_seen, sizeof(last_seen), "%.6f", (double)s->last_seen_us / 1e6);
        snprintf(version, sizeof(version), "%" PRId64, s->version);
        p[0] = l->peer_id;
        p[1] = s->node_id;
        p[2] = s->parent_id;
        p[3] = replica_tier_name(s->tier);
        p[4] = s->name;
        p[5] = online;
        p[6] = s->last_seen_us > 0 ? last_seen : NULL;
        p[7] = version;
        p[8] = (const char *)change;
        lens[8] = (int)len;
        fmts[8] = 1;
        p[9] = node_uplink_peer(l->node);
        p[10] = snapshot ? "t" : "f";
        db_tx_add(tx, "SELECT node_state_apply($1, $2, $3, $4, $5, $6, to_timestamp($7::double precision), "
                      "$8, $9, $10, $11)", 11, p, lens, fmts);
        return 0;
}

static int replica_add_node_removed(struct db_tx *tx, struct link *l, const Vigil__NodeRemoved *rm,
                                    const uint8_t *change, size_t len, char *err, size_t errlen)
{
        const char *p[4];
        int lens[4] = { 0, 0, (int)len, 0 }, fmts[4] = { 0, 0, 1, 0 };
        int r = replica_check_subject(l, rm->node_id, err, errlen);

        if (r < 0)
                return r;
        p[0] = l->peer_id;
        p[1] = rm->node_id;
        p[2] = (const char *)change;
        p[3] = node_uplink_peer(l->node);
        db_tx_add(tx, "SELECT node_remove_apply($1, $2, $3, $4)", 4, p, lens, fmts);
        return 0;
}

/* A batch collects consecutive changes of one set-based kind into column
 * arrays; a change of another kind flushes them first, so the order between
 * kinds is kept. */
enum { REPLICA_GROUP_NONE = 0, REPLICA_GROUP_PROBE = 100, REPLICA_GROUP_AUDIT = 101 };

struct replica_batch {
        struct link *l;
        struct db_tx *tx;
        bool snapshot;
        int group;                                /* catalog kind, PROBE or AUDIT */
        struct sqlarray cols[CATALOG_MAX_COLUMNS];
};

_Static_assert(AUDIT_COPY_COLUMNS <= CATALOG_MAX_COLUMNS, "a batch's columns hold an audit record");

struct replica_batch *replica_batch_new(struct link *l, struct db_tx *tx, bool snapshot)
{
        struct replica_batch *b = calloc(1, sizeof(*b));

        vigil_require(b != NULL);
        b->l = l;
        b->tx = tx;
        b->snapshot = snapshot;
        return b;
}

static void replica_flush(struct replica_batch *b)
{
        if (b->group == REPLICA_GROUP_PROBE && b->cols[0].n > 0) {
                const char *p[4] = { b->l->peer_id };
                int lens[4] = { 0 }, fmts[4] = { 0 }, i;
                for (i = 0; i < 3; i++)
                        sqlarray_param(&b->cols[i], &p[1 + i], &lens[1 + i], &fmts[1 + i]);
                db_tx_add(b->tx, "SELECT link_probe_apply($1, $2, $3, $4)", 4, p, lens, fmts);
                sqlarray_reset(&b->cols[0]);
                sqlarray_reset(&b->cols[1]);
                sqlarray_reset(&b->cols[2]);
        } else if (b->group == REPLICA_GROUP_AUDIT) {
                audit_replica_flush(b->tx, b->cols, b->l->peer_id, node_uplink_peer(b->l->node));
        } else if (b->group != REPLICA_GROUP_NONE) {
                catalog_replica_flush(b->tx, (enum catalog_kind)b->group, b->cols, b->l->peer_id,
                                      node_uplink_peer(b->l->node), b->snapshot);
        }
        b->group = REPLICA_GROUP_NONE;
}

/* Switch the batch to GROUP, flushing what another group collected. */
static void replica_group(struct replica_batch *b, int group)
{
        if (b->group != group)
                replica_flush(b);
        b->group = group;
}

static int replica_add_probe(struct replica_batch *b, const Vigil__LinkProbe *pr, char *err, size_t errlen)
{
        /* A probe measures one link: it must come from the child itself. */
        if (b->l->dir != LINK_TO_CHILD || !pr->origin || strcmp(pr->origin, b->l->peer_id) != 0) {
                snprintf(err, errlen, "a link probe must come from the child that sends it");
                return -EBADMSG;
        }
        replica_group(b, REPLICA_GROUP_PROBE);
        if (b->cols[0].n == 0)
                for (int i = 0; i < 3; i++) {
                        sqlarray_reset(&b->cols[i]);
                        sqlarray_set_type(&b->cols[i], SQLARRAY_INT8);
                }
        sqlarray_add_int64(&b->cols[0], (int64_t)pr->probe_id);
        sqlarray_add_int64(&b->cols[1], (int64_t)pr->number);
        sqlarray_add_int64(&b->cols[2], pr->sent_at_us);
        return 0;
}

int replica_batch_add(struct replica_batch *b, const uint8_t *change, size_t len,
                      char *err, size_t errlen)
{
        Vigil__Change *c = NULL;
        enum catalog_kind kind;
        int r = wire_decode_change(change, len, &c, err, errlen);

        if (r < 0)
                return r;
        kind = catalog_kind_of(c);
        switch (c->kind_case) {
        case VIGIL__CHANGE__KIND_NODE_STATE:
                replica_group(b, REPLICA_GROUP_NONE);
                r = replica_add_node_state(b->tx, b->l, c->node_state, change, len, b->snapshot, err, errlen);
                break;
        case VIGIL__CHANGE__KIND_NODE_REMOVED:
                replica_group(b, REPLICA_GROUP_NONE);
                r = replica_add_node_removed(b->tx, b->l, c->node_removed, change, len, err, errlen);
                break;
        case VIGIL__CHANGE__KIND_LINK_PROBE:
                r = replica_add_probe(b, c->link_probe, err, errlen);
                break;
        case VIGIL__CHANGE__KIND_GRANT:
                /* Grants travel down only, from the parent. */
                if (b->l->dir != LINK_TO_PARENT) {
                        snprintf(err, errlen, "a grant only comes from the parent");
                        r = -EBADMSG;
                        break;
                }
                replica_group(b, REPLICA_GROUP_NONE);
                r = grant_replica_add(b->tx, c, b->l->peer_id, change, len, err, errlen);
                break;
        case VIGIL__CHANGE__KIND_EMERGENCY_ORDER:
        case VIGIL__CHANGE__KIND_EMERGENCY_REPORT:
                /* Orders come down from the parent, reports up from children. */
                if ((c->kind_case == VIGIL__CHANGE__KIND_EMERGENCY_ORDER) != (b->l->dir == LINK_TO_PARENT)) {
                        snprintf(err, errlen, "emergency orders travel down and reports up, not the other way");
                        r = -EBADMSG;
                        break;
                }
                replica_group(b, REPLICA_GROUP_NONE);
                r = emergency_replica_add(b->l->node, b->tx, c, b->l->peer_id, node_uplink_peer(b->l->node), change,
                                          len, err, errlen);
                break;
        case VIGIL__CHANGE__KIND_AUDIT_RECORD:
                if (b->l->dir != LINK_TO_CHILD) {
                        snprintf(err, errlen, "access logs only travel up, not from the parent");
                        r = -EBADMSG;
                        break;
                }
                replica_group(b, REPLICA_GROUP_AUDIT);
                r = audit_replica_row(b->cols, c, b->l->peer_id, change, len, err, errlen);
                if (r == 0 && b->cols[0].n >= REPLICA_GROUP_MAX)
                        replica_flush(b);
                break;
        case VIGIL__CHANGE__KIND_AUDIT_CHECKPOINT:
                if (b->l->dir != LINK_TO_CHILD) {
                        snprintf(err, errlen, "access logs only travel up, not from the parent");
                        r = -EBADMSG;
                        break;
                }
                replica_group(b, REPLICA_GROUP_NONE);
                r = audit_checkpoint_replica_add(b->tx, c, b->l->peer_id, node_uplink_peer(b->l->node), change, len,
                                                 err, errlen);
                break;
        case VIGIL__CHANGE__KIND_OFFICER:
        case VIGIL__CHANGE__KIND_DELEGATION:
                /* Officers travel up only: each tier knows those beneath it. */
                if (b->l->dir != LINK_TO_CHILD) {
                        snprintf(err, errlen, "officers only travel up, not from the parent");
                        r = -EBADMSG;
                        break;
                }
                replica_group(b, REPLICA_GROUP_NONE);
                accessctl_changed(&b->l->node->access);
                r = officer_replica_add(b->tx, c, b->l->peer_id, node_uplink_peer(b->l->node), b->snapshot,
                                        change, len, err, errlen);
                break;
        default:
                if (kind == CATALOG_NONE) {
                        snprintf(err, errlen, "unknown kind of change");
                        r = -EBADMSG;
                        break;
                }
                /* The catalog travels up only. */
                if (b->l->dir != LINK_TO_CHILD) {
                        snprintf(err, errlen, "the catalog only travels up, not from the parent");
                        r = -EBADMSG;
                        break;
                }
                replica_group(b, (int)kind);
                r = catalog_replica_row(b->cols, c, b->l->peer_id, change, len, err, errlen);
                /* Flush big groups early: bounded statement size. */
                if (r == 0 && b->cols[0].n >= REPLICA_GROUP_MAX)
                        replica_flush(b);
        }
        wire_change_free(c);
        return r;
}

void replica_batch_finish(struct replica_batch *b)
{
        int i;

        if (!b)
                return;
        replica_flush(b);
        for (i = 0; i < CATALOG_MAX_COLUMNS; i++)
                sqlarray_deinit(&b->cols[i]);
        free(b);
}

int replica_encode_link_probe(const char *origin, uint64_t probe_id, uint64_t number, int64_t sent_at_us,
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

void replica_snapshot_start(struct replica_cursor *c, const struct link *l)
{
        memset(c, 0, sizeof(*c));
        /* Down, a child without our state (new, or rebuilt with an empty
         * database) gets what it must act on: the grants its stations
         * decide views by, the orders it must link under. */
        c->section = l->dir == LINK_TO_PARENT ? REPLICA_SNAP_NODES : REPLICA_SNAP_GRANTS;
}

/* The section after S in L's direction. */
static int replica_next_section(const struct link *l, int s)
{
        if (l->dir == LINK_TO_PARENT && s == REPLICA_SNAP_DELEGATIONS)
                return REPLICA_SNAP_DONE;
        return s + 1;
}

void replica_add_snapshot_page(struct db_tx *tx, struct link *l, const struct replica_cursor *c, int limit)
{
        char prefix[12], lim[16], sql[700];
        const char *p[4];

        nodeid_prefix(l->node->cfg.node_id, prefix);
        snprintf(lim, sizeof(lim), "%d", limit);
        p[0] = prefix;
        p[1] = c->key1;
        p[2] = c->key2;
        p[3] = lim;
        switch (c->section) {
        case REPLICA_SNAP_NODES:
                /* Everything this node knows below itself: few rows, one page. */
                p[1] = l->node->cfg.node_id;
                db_tx_add(tx, "SELECT id, parent_id, tier, name, online, "
                              "coalesce((extract(epoch FROM last_seen) * 1000000)::bigint, 0), version "
                              "FROM nodes WHERE id <> $2 AND id LIKE $1 || '%' ORDER BY id",
                          2, p, NULL, NULL);
                return;
        case REPLICA_SNAP_SITES:
        case REPLICA_SNAP_SYSTEMS:
                /* Keyset pagination: each page starts after the last key. */
                snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE station_id LIKE $1 || '%%' "
                         "AND (station_id, code) > ($2, $3) ORDER BY station_id, code LIMIT $4",
                         c->section == REPLICA_SNAP_SITES ? catalog_site_columns : catalog_system_columns,
                         c->section == REPLICA_SNAP_SITES ? "sites" : "systems");
                db_tx_add(tx, sql, 4, p, NULL, NULL);
                return;
        case REPLICA_SNAP_CAMERAS:
                snprintf(sql, sizeof(sql), "SELECT %s FROM cameras WHERE id LIKE $1 || '%%' AND id > $2 "
                         "ORDER BY id LIMIT $3", catalog_camera_columns);
                p[2] = lim;
                db_tx_add(tx, sql, 3, p, NULL, NULL);
                return;
        case REPLICA_SNAP_OFFICERS:
                /* Officers of this unit and below: few, one page. */
                snprintf(sql, sizeof(sql), "SELECT %s FROM officers WHERE unit LIKE $1 || '%%' ORDER BY badge",
                         officer_columns);
                db_tx_add(tx, sql, 1, p, NULL, NULL);
                return;
        case REPLICA_SNAP_DELEGATIONS:
                snprintf(sql, sizeof(sql), "SELECT %s FROM delegations WHERE unit LIKE $1 || '%%' ORDER BY id",
                         delegation_columns);
                db_tx_add(tx, sql, 1, p, NULL, NULL);
                return;
        case REPLICA_SNAP_GRANTS:
                /* Down: keyed by the child, not by this node. */
                nodeid_prefix(l->peer_id, prefix);
                p[2] = lim;
                db_tx_add(tx, grant_snapshot_select, 3, p, NULL, NULL);
                return;
        case REPLICA_SNAP_ORDERS:
                p[0] = l->peer_id;
                db_tx_add(tx, emergency_snapshot_select, 1, p, NULL, NULL);
                return;
        default:
                db_tx_add(tx, "SELECT 1 WHERE false", 0, NULL, NULL, NULL);
        }
}

int replica_snapshot_page_encode(struct db_tx *tx, struct link *l, struct replica_cursor *c, int limit,
                                 uint8_t ***ret_changes, size_t **ret_lens, size_t *ret_n)
{
        PGresult *rows = db_tx_result(tx, 0);
        int nr = rows ? PQntuples(rows) : 0, i, r = 0;
        uint8_t **changes = calloc(nr ? nr : 1, sizeof(*changes));
        size_t *lens = calloc(nr ? nr : 1, sizeof(*lens)), n = 0, k;

        if (!rows || !changes || !lens)
                goto fail;
        for (i = 0; i < nr; i++) {
                if (c->section == REPLICA_SNAP_NODES) {
                        enum tier t = TIER_NONE;
                        tier_parse(PQgetvalue(rows, i, 2), &t);
                        r = replica_encode_node_state(PQgetvalue(rows, i, 0),
                                                      PQgetisnull(rows, i, 1) ? NULL : PQgetvalue(rows, i, 1),
                                                      t, PQgetvalue(rows, i, 3),
                                                      PQgetvalue(rows, i, 4)[0] == 't',
                                                      strtoll(PQgetvalue(rows, i, 5), NULL, 10),
                                                      strtoll(PQgetvalue(rows, i, 6), NULL, 10),
                                                      &changes[n], &lens[n]);
                } else if (c->section == REPLICA_SNAP_SITES) {
                        r = catalog_encode_site_row(rows, i, -1, false, &changes[n], &lens[n]);
                } else if (c->section == REPLICA_SNAP_SYSTEMS) {
                        r = catalog_encode_system_row(rows, i, -1, false, &changes[n], &lens[n]);
                } else if (c->section == REPLICA_SNAP_OFFICERS) {
                        r = officer_encode_row(rows, i, -1, false, &changes[n], &lens[n]);
                } else if (c->section == REPLICA_SNAP_DELEGATIONS) {
                        r = delegation_encode_row(rows, i, &changes[n], &lens[n]);
                } else if (c->section == REPLICA_SNAP_GRANTS) {
                        r = grant_encode_row(rows, i, &changes[n], &lens[n]);
                } else if (c->section == REPLICA_SNAP_ORDERS) {
                        r = emergency_encode_row(rows, i, &changes[n], &lens[n]);
                } else {
                        r = catalog_encode_camera_row(rows, i, -1, false, &changes[n], &lens[n]);
                }
                if (r < 0)
                        goto fail;
                n++;
        }
        /* Remember where the next page starts; a short page ends the section. */
        bool one_page = c->section == REPLICA_SNAP_NODES || c->section == REPLICA_SNAP_OFFICERS ||
                        c->section == REPLICA_SNAP_DELEGATIONS || c->section == REPLICA_SNAP_ORDERS;
        if (nr > 0 && !one_page) {
                snprintf(c->key1, sizeof(c->key1), "%s", PQgetvalue(rows, nr - 1, 0));
                snprintf(c->key2, sizeof(c->key2), "%s", PQgetvalue(rows, nr - 1, 1));
        }
        if (one_page || nr < limit) {
                c->section = replica_next_section(l, c->section);
                c->key1[0] = c->key2[0] = '\0';
        }
        *ret_changes = changes;
        *ret_lens = lens;
        *ret_n = n;
        return 0;
fail:
        for (k = 0; changes && k < n; k++)
                free(changes[k]);
        free(changes);
        free(lens);
        return -ENOMEM;
}

void replica_add_sweep_read(struct db_tx *tx, struct link *l)
{
        const char *p[1] = { l->peer_id };

        db_tx_add(tx, "SELECT id FROM nodes WHERE via = $1 AND snapshot_mark", 1, p, NULL, NULL);
        catalog_add_reads(tx, "via = $1 AND snapshot_mark", "via = $1 AND snapshot_mark", l->peer_id);
}

/* Forward one removal into the uplink outbox within TX. */
static void replica_forward(struct db_tx *tx, const char *up, uint8_t *buf, size_t len)
{
        const char *p[2] = { up, (const char *)buf };
        int lens[2] = { 0, (int)len }, fmts[2] = { 0, 1 };

        db_tx_add(tx, "SELECT outbox_append($1, ARRAY[$2::bytea])", 2, p, lens, fmts);
        free(buf);
}

void replica_add_sweep(struct db_tx *tx, struct db_tx *read, struct link *l)
{
        const char *up = node_uplink_peer(l->node);
        PGresult *res;
        uint8_t *buf;
        size_t len;
        int i, t;

        if (!up)
                return;
        res = db_tx_result(read, 0);
        for (i = 0; res && i < PQntuples(res); i++)
                if (replica_encode_node_removed(PQgetvalue(res, i, 0), node_next_version(l->node), &buf, &len) == 0)
                        replica_forward(tx, up, buf, len);
        /* Catalog tombstones carry the removed row's version + 1: newer than
         * what any replica above holds of it. */
        for (t = 1; t <= 3; t++) {
                int vcol = t == 1 ? 10 : t == 2 ? 13 : 14;
                res = db_tx_result(read, t);
                for (i = 0; res && i < PQntuples(res); i++) {
                        int64_t v = strtoll(PQgetvalue(res, i, vcol), NULL, 10) + 1;
                        int r = t == 1 ? catalog_encode_site_row(res, i, v, true, &buf, &len)
                              : t == 2 ? catalog_encode_system_row(res, i, v, true, &buf, &len)
                                       : catalog_encode_camera_row(res, i, v, true, &buf, &len);
                        if (r == 0)
                                replica_forward(tx, up, buf, len);
                }
        }
}

int replica_encode_node_state(const char *id, const char *parent_id, int tier, const char *name,
                              bool online, int64_t last_seen_us, int64_t version,
                              uint8_t **ret, size_t *ret_len)
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

int replica_encode_node_removed(const char *id, int64_t version, uint8_t **ret, size_t *ret_len)
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

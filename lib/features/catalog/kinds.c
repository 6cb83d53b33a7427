/* The catalog's part of delivery: its kinds of change (from children,
 * applied set-based) and its snapshot sections (up: sites, systems and
 * cameras a page at a time; at a snapshot's end, the rows that came
 * through the child and are no longer there are removed and their
 * removal forwarded as tombstones). */
#include "features/catalog.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/nodeid.h"
#include "db/db.h"

/* Each registered kind's argument: which catalog kind it is. */
static const enum catalog_kind catalog_kinds[] = {
        CATALOG_NONE, CATALOG_SITE, CATALOG_SYSTEM, CATALOG_CAMERA, CATALOG_CAMERA_STATUS,
};

static int catalog_kind_row(void *arg, struct change_batch *b, struct sqlarray *cols, const Vigil__Change *c,
                            const uint8_t *change, size_t len, char *err, size_t errlen)
{
        (void)arg;
        return catalog_replica_row(cols, c, change_batch_via(b), change, len, err, errlen);
}

static void catalog_kind_flush(void *arg, struct change_batch *b, struct sqlarray *cols)
{
        const enum catalog_kind *k = arg;

        catalog_replica_flush(change_batch_tx(b), *k, cols, change_batch_via(b), change_batch_uplink(b),
                              change_batch_snapshot(b));
}

/* --- snapshot sections --- */

/* Keyset pagination: each page starts after the last key. */
static void catalog_add_read(void *arg, struct db_tx *tx, const struct snapshot_page *pg)
{
        const enum catalog_kind *k = arg;
        char prefix[12], lim[16], sql[700];
        const char *p[4] = { prefix, pg->key1, pg->key2, lim };

        nodeid_prefix(pg->self, prefix);
        snprintf(lim, sizeof(lim), "%d", pg->limit);
        if (*k == CATALOG_CAMERA) {
                snprintf(sql, sizeof(sql), "SELECT %s FROM cameras WHERE id LIKE $1 || '%%' AND id > $2 "
                         "ORDER BY id LIMIT $3", catalog_columns(CATALOG_CAMERA));
                p[2] = lim;
                db_tx_add(tx, sql, 3, p, NULL, NULL);
                return;
        }
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE station_id LIKE $1 || '%%' "
                 "AND (station_id, code) > ($2, $3) ORDER BY station_id, code LIMIT $4",
                 catalog_columns(*k), catalog_table(*k));
        db_tx_add(tx, sql, 4, p, NULL, NULL);
}

static int catalog_encode_section_row(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        const enum catalog_kind *k = arg;

        return catalog_encode_row(*k, res, i, -1, false, ret, ret_len);
}

/* Sites and systems before cameras: a replica then never holds a camera
 * whose site it has not seen. */
static void catalog_add_marked(void *arg, struct db_tx *tx, const char *via)
{
        const enum catalog_kind *k = arg;
        const char *p[1] = { via };
        char sql[512];

        snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE via = $1 AND snapshot_mark ORDER BY %s",
                 catalog_columns(*k), catalog_table(*k), catalog_entity(*k)->primary_key);
        db_tx_add(tx, sql, 1, p, NULL, NULL);
}

/* Tombstones carry the removed row's version + 1, or FLOOR if that is
 * higher: newer than what any replica above holds of it. The row's own
 * version alone is not, when this node's database was restored from a
 * backup (issue 17, fault 3): the tiers above may hold a later version of
 * the row than the backup, and would keep it for good. The child's clock
 * as its snapshot began is above every version it stamped on the row
 * before removing it (from a station, the row's own clock) and below any
 * it stamps after, so a camera added again later still wins. */
static void catalog_forward_removed(void *arg, struct db_tx *tx, const PGresult *marked, const char *uplink,
                                    int64_t floor)
{
        const enum catalog_kind *k = arg;
        int vcol = catalog_version_column(*k), i;
        uint8_t *buf;
        size_t len;

        for (i = 0; vcol >= 0 && i < PQntuples(marked); i++) {
                int64_t v = strtoll(PQgetvalue(marked, i, vcol), NULL, 10) + 1;
                if (v < floor)
                        v = floor;
                if (catalog_encode_row(*k, marked, i, v, true, &buf, &len) == 0) {
                        change_forward(tx, uplink, buf, len);
                        free(buf);
                }
        }
}

void catalog_register(struct delivery *d)
{
        static const struct {
                int kind_case;
                enum catalog_kind kind;
                const char *name;
        } kinds[] = {
                { VIGIL__CHANGE__KIND_SITE, CATALOG_SITE, "site" },
                { VIGIL__CHANGE__KIND_SYSTEM, CATALOG_SYSTEM, "system" },
                { VIGIL__CHANGE__KIND_CAMERA, CATALOG_CAMERA, "camera" },
                { VIGIL__CHANGE__KIND_CAMERA_STATUS, CATALOG_CAMERA_STATUS, "camera status" },
        };
        size_t i;

        /* The catalog travels up only. */
        for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
                change_register(&d->kinds, &(struct change_kind){
                        .kind_case = kinds[i].kind_case, .name = kinds[i].name, .from = CHANGE_FROM_CHILD,
                        .wrong_way = "the catalog only travels up, not from the parent", .row = catalog_kind_row,
                        .flush = catalog_kind_flush, .arg = (void *)&catalog_kinds[kinds[i].kind] });
        for (i = 0; i < 3; i++)
                snapshot_register(&d->sections, &(struct snapshot_section){
                        .name = kinds[i].name, .to = SNAPSHOT_TO_PARENT,
                        .table = catalog_table(kinds[i].kind), .add_read = catalog_add_read,
                        .encode = catalog_encode_section_row, .add_marked = catalog_add_marked,
                        .forward_removed = catalog_forward_removed,
                        .arg = (void *)&catalog_kinds[kinds[i].kind] });
}

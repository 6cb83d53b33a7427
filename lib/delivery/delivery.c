#include "delivery/delivery.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "db/db.h"

/* The parent sent a new chain of signing keys: the children get it now,
 * before any decision from above that it vouches for reaches them. */
static void delivery_on_chain_taken(void *arg)
{
        struct delivery *d = arg;

        if (d->has_children)
                downlink_send_chain(&d->downlink);
}

static void delivery_on_reserved(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct delivery *d = arg;

        (void)tx;
        if (err) {
                log_warn("delivery", "msg=\"versions not reserved, asked again with the next\" error=\"%s\"",
                         msg ? msg : "");
                vtime_versions_unreserved(&d->versions);
        }
}

/* The versions reserved, also kept in a file beside the node's keys: a
 * database restored from a backup has an older version clock, and changes
 * stamped after the backup, which peers may hold, would outrank the ones
 * stamped again (issue 17, faults 3 and 4). Written whole or not at all. */
static void delivery_versions_write(struct delivery *d, int64_t upto)
{
        char path[600], tmp[610];
        FILE *f;
        int ok;

        if (!d->cfg->key_dir[0])
                return;
        snprintf(path, sizeof(path), "%s/" DELIVERY_VERSIONS_FILE, d->cfg->key_dir);
        snprintf(tmp, sizeof(tmp), "%s.new", path);
        f = fopen(tmp, "w");
        if (!f) {
                log_warn("delivery", "path=%s msg=\"cannot keep the versions reserved\" error=\"%s\"", tmp,
                         strerror(errno));
                return;
        }
        ok = fprintf(f, "%" PRId64 "\n", upto) > 0;
        ok = fflush(f) == 0 && ok;
        ok = fsync(fileno(f)) == 0 && ok;
        ok = fclose(f) == 0 && ok;
        if (!ok || rename(tmp, path) != 0)
                log_warn("delivery", "path=%s msg=\"cannot keep the versions reserved\" error=\"%s\"", path,
                         strerror(errno));
}

/* What the file says was reserved; 0 if none (a node that never reserved,
 * or unreadable: then the database's clock alone, as before). */
static int64_t delivery_versions_read(struct delivery *d)
{
        char path[600];
        long long v = 0;
        FILE *f;

        if (!d->cfg->key_dir[0])
                return 0;
        snprintf(path, sizeof(path), "%s/" DELIVERY_VERSIONS_FILE, d->cfg->key_dir);
        f = fopen(path, "r");
        if (!f)
                return 0;
        if (fscanf(f, "%lld", &v) != 1 || v < 0)
                v = 0;
        fclose(f);
        return v;
}

/* Versions this node stamps itself are recorded in the database ahead of
 * use (lib/base/vtime.h), on the connection their own transactions take,
 * so that after a restart they start above every one issued (issue 17,
 * fault 4). */
static void delivery_reserve_versions(void *arg, int64_t upto)
{
        struct delivery *d = arg;
        char v[24];
        const char *p[1] = { v };
        struct db_tx *tx;

        if (!d->links.db) {
                vtime_versions_unreserved(&d->versions);
                return;
        }
        delivery_versions_write(d, upto);
        snprintf(v, sizeof(v), "%" PRId64, upto);
        tx = db_tx_new();
        db_tx_add(tx, "SELECT version_reserve($1)", 1, p, NULL, NULL);
        db_submit(d->links.db, tx, delivery_on_reserved, d);
}

int64_t delivery_versions_start(struct delivery *d, int64_t stored, bool *ret_restored)
{
        int64_t kept = delivery_versions_read(d);
        int64_t mark = (stored > kept ? stored : kept) + 1;

        /* The database is behind versions this node issued: it was
         * restored from a backup (issue 17, fault 3). */
        *ret_restored = kept > stored;
        if (*ret_restored)
                log_error("delivery", "kept=%" PRId64 " database=%" PRId64 " msg=\"versions issued before are above "
                          "the database's version clock: restored from a backup; going on above them, in a new "
                          "epoch\"", kept, stored);
        /* Every start moves both on, so that a backup taken before this
         * start is behind the file whenever it is restored. */
        delivery_versions_write(d, mark);
        vtime_versions_seed(&d->versions, mark);
        d->versions.reserve = delivery_reserve_versions;
        d->versions.reserve_arg = d;
        return mark;
}

void delivery_init(struct delivery *d, uv_loop_t *loop, const struct config *cfg)
{
        memset(d, 0, sizeof(*d));
        d->cfg = cfg;
        d->has_parent = cfg->tier != TIER_CITY;
        d->has_children = cfg->tier != TIER_STATION;
        link_set_init(&d->links, loop, cfg, &d->kinds, &d->sections);
        d->links.trust = &d->trust;
        d->links.chain_taken = delivery_on_chain_taken;
        d->links.chain_arg = d;
        d->links.versions = &d->versions;
        downlink_init(&d->downlink, &d->links, &d->versions);
        /* First: a replica never holds a catalog row of a node it does not know. */
        tree_register(&d->tree, &d->versions, &d->kinds, &d->sections);
}

void delivery_set_db(struct delivery *d, struct db *db, struct db *db_read, const char *epoch)
{
        link_set_db(&d->links, db, db_read, epoch);
}

int delivery_start(struct delivery *d, void *zctx, const struct node_keys *keys, char *err, size_t errlen)
{
        int r;

        if (d->has_children) {
                d->downlink_init = true;
                r = downlink_start(&d->downlink, zctx, keys);
                if (r < 0) {
                        snprintf(err, errlen, "cannot bind the downlink on %s: %s", d->cfg->downlink_endpoint,
                                 zmq_strerror(-r));
                        return r;
                }
        }
        if (d->has_parent) {
                uplink_init(&d->uplink, &d->links, zctx, keys);
                d->uplink_init = true;
                uplink_start(&d->uplink);
        }
        return 0;
}

void delivery_close(struct delivery *d)
{
        if (d->uplink_init)
                uplink_close(&d->uplink);
        if (d->downlink_init)
                downlink_close(&d->downlink);
        d->uplink_init = d->downlink_init = false;
        link_set_deinit(&d->links);
}

void delivery_db_up(struct delivery *d)
{
        if (d->uplink_init)
                uplink_resync(&d->uplink);
        if (d->downlink_init)
                downlink_resync(&d->downlink);
}

int64_t delivery_next_version(struct delivery *d)
{
        return vtime_next_version(&d->versions);
}

const char *delivery_parent_id(const struct delivery *d)
{
        return link_set_parent_id(&d->links);
}

struct child *delivery_child_under(struct delivery *d, const char *id)
{
        char prefix[12];
        int i;

        if (!d->has_children)
                return NULL;
        for (i = 0; i < d->downlink.n_children; i++) {
                struct child *c = d->downlink.children[i];
                nodeid_prefix(c->id, prefix);
                if (strncmp(id, prefix, strlen(prefix)) == 0)
                        return c;
        }
        return NULL;
}

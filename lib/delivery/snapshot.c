#include "delivery/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"

void snapshot_register(struct snapshot_table *t, const struct snapshot_section *s)
{
        vigil_require(t->n < SNAPSHOT_MAX_SECTIONS && s->add_read && s->encode);
        vigil_require((s->add_marked == NULL) == (s->forward_removed == NULL));
        t->sections[t->n++] = *s;
}

/* The first section going C->to from index I on; t->n if none. */
static int snapshot_next(const struct snapshot_table *t, const struct snapshot_cursor *c, int i)
{
        while (i < t->n && t->sections[i].to != c->to)
                i++;
        return i;
}

void snapshot_start(struct snapshot_cursor *c, const struct snapshot_table *t, enum snapshot_to to)
{
        memset(c, 0, sizeof(*c));
        c->to = to;
        c->section = snapshot_next(t, c, 0);
}

bool snapshot_done(const struct snapshot_cursor *c, const struct snapshot_table *t)
{
        return c->section >= t->n;
}

void snapshot_add_page(const struct snapshot_table *t, const struct snapshot_cursor *c, struct db_tx *tx,
                       const char *self, const char *peer, int limit)
{
        const struct snapshot_section *s;
        struct snapshot_page p = { self, peer, c->key1, c->key2, limit };

        if (snapshot_done(c, t)) {
                db_tx_add(tx, "SELECT 1 WHERE false", 0, NULL, NULL, NULL);
                return;
        }
        s = &t->sections[c->section];
        s->add_read(s->arg, tx, &p);
}

int snapshot_page_encode(const struct snapshot_table *t, struct snapshot_cursor *c, struct db_tx *tx, int limit,
                         uint8_t ***ret_changes, size_t **ret_lens, size_t *ret_n)
{
        const struct snapshot_section *s = snapshot_done(c, t) ? NULL : &t->sections[c->section];
        PGresult *rows = db_tx_result(tx, 0);
        int nr = rows ? PQntuples(rows) : 0, i;
        uint8_t **changes = calloc(nr ? nr : 1, sizeof(*changes));
        size_t *lens = calloc(nr ? nr : 1, sizeof(*lens)), n = 0, k;

        if (!s || !rows || !changes || !lens)
                goto fail;
        for (i = 0; i < nr; i++) {
                if (s->encode(s->arg, rows, i, &changes[n], &lens[n]) < 0)
                        goto fail;
                n++;
        }
        /* Remember where the next page starts; a short page ends the section. */
        if (nr > 0 && !s->one_page) {
                snprintf(c->key1, sizeof(c->key1), "%s", PQgetvalue(rows, nr - 1, 0));
                snprintf(c->key2, sizeof(c->key2), "%s", PQnfields(rows) > 1 ? PQgetvalue(rows, nr - 1, 1) : "");
        }
        if (s->one_page || nr < limit) {
                c->section = snapshot_next(t, c, c->section + 1);
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

/* For every section with a table, in order (or the reverse), the
 * statement PREFIX table SUFFIX with $1 VIA. */
static void snapshot_each_table(const struct snapshot_table *t, struct db_tx *tx, const char *via,
                                const char *prefix, const char *suffix, bool reverse)
{
        const char *p[1] = { via };
        char sql[200];
        int k, i;

        for (k = 0; k < t->n; k++) {
                i = reverse ? t->n - 1 - k : k;
                if (!t->sections[i].table)
                        continue;
                snprintf(sql, sizeof(sql), "%s%s%s", prefix, t->sections[i].table, suffix);
                db_tx_add(tx, sql, 1, p, NULL, NULL);
        }
}

void snapshot_add_marks(const struct snapshot_table *t, struct db_tx *tx, const char *via)
{
        snapshot_each_table(t, tx, via, "UPDATE ", " SET snapshot_mark = true WHERE via = $1", false);
}

void snapshot_add_marked(const struct snapshot_table *t, struct db_tx *tx, const char *via)
{
        int i;

        for (i = 0; i < t->n; i++)
                if (t->sections[i].add_marked)
                        t->sections[i].add_marked(t->sections[i].arg, tx, via);
}

void snapshot_add_removals(const struct snapshot_table *t, struct db_tx *tx, struct db_tx *read,
                           const char *via, const char *uplink, int64_t floor)
{
        int i, k = 0;

        /* Dependents were registered after what they depend on (cameras
         * after sites): they go first. */
        snapshot_each_table(t, tx, via, "DELETE FROM ", " WHERE via = $1 AND snapshot_mark", true);
        if (!uplink)
                return;
        for (i = 0; i < t->n; i++) {
                const struct snapshot_section *s = &t->sections[i];
                PGresult *res;
                if (!s->add_marked)
                        continue;
                res = db_tx_result(read, k++);
                if (res)
                        s->forward_removed(s->arg, tx, res, uplink, floor);
        }
}

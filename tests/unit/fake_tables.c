/* fake_tables: the kinds and sections of fake_tables.h. */
#include "fake_tables.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/sqlarray.h"
#include "db/db.h"
#include "fake_db.h"
#include "unit.h"
#include "wire/wire.h"

/* --- kinds --- */

static int probe_row(void *arg, struct change_batch *b, struct sqlarray *cols, const Vigil__Change *c,
                     const uint8_t *raw, size_t len, char *err, size_t errlen)
{
        struct fake_tables *t = arg;
        const char *origin = c->link_probe->origin ? c->link_probe->origin : "";

        (void)raw; (void)len;
        if (strcmp(origin, "refuse") == 0) {
                snprintf(err, errlen, "probe refused");
                return -EBADMSG;
        }
        if (cols[0].n == 0) {
                sqlarray_set_type(&cols[0], SQLARRAY_INT8);
                sqlarray_set_type(&cols[1], SQLARRAY_TEXT);
        }
        sqlarray_add_int64(&cols[0], (int64_t)c->link_probe->number);
        sqlarray_add_text(&cols[1], origin);
        if (strcmp(origin, "noted") == 0)
                change_batch_note(b, t->probe_note);
        t->rows++;
        return 0;
}

static void probe_flush(void *arg, struct change_batch *b, struct sqlarray *cols)
{
        struct fake_tables *t = arg;
        const char *v[5];
        int l[5] = { 0 }, f[5] = { 0 };

        sqlarray_param(&cols[0], &v[0], &l[0], &f[0]);
        sqlarray_param(&cols[1], &v[1], &l[1], &f[1]);
        v[2] = change_batch_via(b);
        v[3] = change_batch_uplink(b);
        v[4] = change_batch_snapshot(b) ? "t" : "f";
        db_tx_add(change_batch_tx(b), "SELECT fake_apply_probes($1::bigint[], $2::text[], $3, $4, $5)", 5, v, l,
                  f);
        sqlarray_reset(&cols[0]);
        sqlarray_reset(&cols[1]);
        t->flushes++;
}

static int state_row(void *arg, struct change_batch *b, struct sqlarray *cols, const Vigil__Change *c,
                     const uint8_t *raw, size_t len, char *err, size_t errlen)
{
        struct fake_tables *t = arg;

        (void)b; (void)raw; (void)len; (void)err; (void)errlen;
        if (cols[0].n == 0)
                sqlarray_set_type(&cols[0], SQLARRAY_TEXT);
        sqlarray_add_text(&cols[0], c->node_state->node_id);
        t->rows++;
        return 0;
}

static void state_flush(void *arg, struct change_batch *b, struct sqlarray *cols)
{
        struct fake_tables *t = arg;
        const char *v[1];
        int l[1], f[1];

        sqlarray_param(&cols[0], &v[0], &l[0], &f[0]);
        db_tx_add(change_batch_tx(b), "SELECT fake_apply_states($1::text[])", 1, v, l, f);
        sqlarray_reset(&cols[0]);
        t->flushes++;
}

static int removed_add(void *arg, struct change_batch *b, const Vigil__Change *c, const uint8_t *raw, size_t len,
                       char *err, size_t errlen)
{
        struct fake_tables *t = arg;
        char version[24];
        const char *v[3] = { c->node_removed->node_id, version, change_batch_via(b) };

        (void)raw; (void)len;
        if (c->node_removed->version < 0) {
                snprintf(err, errlen, "negative version");
                return -EBADMSG;
        }
        snprintf(version, sizeof(version), "%" PRId64, c->node_removed->version);
        db_tx_add(change_batch_tx(b), "SELECT fake_apply_removed($1, $2, $3)", 3, v, NULL, NULL);
        change_batch_note(b, t->removed_note);
        t->adds++;
        return 0;
}

/* --- sections --- */

static void paged_read(void *arg, struct db_tx *tx, const struct snapshot_page *p)
{
        char limit[16];
        const char *v[5] = { p->self, p->peer, p->key1, p->key2, limit };

        (void)arg;
        snprintf(limit, sizeof(limit), "%d", p->limit);
        db_tx_add(tx, "SELECT number, key2 FROM fake_read_paged($1, $2, $3, $4, $5)", 5, v, NULL, NULL);
}

static void down_read(void *arg, struct db_tx *tx, const struct snapshot_page *p)
{
        char limit[16];
        const char *v[3] = { p->peer, p->key1, limit };

        (void)arg;
        snprintf(limit, sizeof(limit), "%d", p->limit);
        db_tx_add(tx, "SELECT number, key2 FROM fake_read_down($1, $2, $3)", 3, v, NULL, NULL);
}

static void small_read(void *arg, struct db_tx *tx, const struct snapshot_page *p)
{
        const char *v[2] = { p->self, p->peer };

        (void)arg;
        db_tx_add(tx, "SELECT number, key2 FROM fake_read_small($1, $2)", 2, v, NULL, NULL);
}

static int encode_row(const PGresult *res, int i, const char *origin, uint8_t **ret, size_t *ret_len)
{
        const char *number = PQgetvalue(res, i, 0);

        if (strcmp(number, "bad") == 0)
                return -ENOMEM;
        fake_probe(strtoull(number, NULL, 10), origin, ret, ret_len);
        return 0;
}

static int paged_encode(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        (void)arg;
        return encode_row(res, i, "paged", ret, ret_len);
}

static int down_encode(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        (void)arg;
        return encode_row(res, i, "down", ret, ret_len);
}

static int small_encode(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        (void)arg;
        return encode_row(res, i, "small", ret, ret_len);
}

static void paged_marked(void *arg, struct db_tx *tx, const char *via)
{
        (void)arg;
        db_tx_add(tx, "SELECT number FROM fake_marked_paged($1)", 1, &via, NULL, NULL);
}

static void small_marked(void *arg, struct db_tx *tx, const char *via)
{
        (void)arg;
        db_tx_add(tx, "SELECT number FROM fake_marked_small($1)", 1, &via, NULL, NULL);
}

/* One statement per marked row: its number, UPLINK, FLOOR. */
static void forward(struct db_tx *tx, const char *sql, const PGresult *marked, const char *uplink, int64_t floor)
{
        char f[24];
        int i;

        snprintf(f, sizeof(f), "%" PRId64, floor);
        for (i = 0; i < PQntuples(marked); i++) {
                const char *v[3] = { PQgetvalue(marked, i, 0), uplink, f };
                db_tx_add(tx, sql, 3, v, NULL, NULL);
        }
}

static void paged_forward(void *arg, struct db_tx *tx, const PGresult *marked, const char *uplink, int64_t floor)
{
        (void)arg;
        forward(tx, "SELECT fake_forward_paged($1, $2, $3)", marked, uplink, floor);
}

static void small_forward(void *arg, struct db_tx *tx, const PGresult *marked, const char *uplink, int64_t floor)
{
        (void)arg;
        forward(tx, "SELECT fake_forward_small($1, $2, $3)", marked, uplink, floor);
}

void fake_tables_init(struct fake_tables *t)
{
        memset(t, 0, sizeof(*t));
        t->probe_note = change_note_new(&t->kinds);
        t->removed_note = change_note_new(&t->kinds);
        change_register(&t->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_LINK_PROBE, .name = "probe",
                .from = CHANGE_FROM_CHILD | CHANGE_FROM_PARENT, .wrong_way = "probes go either way",
                .row = probe_row, .flush = probe_flush, .arg = t });
        change_register(&t->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_NODE_STATE, .name = "state", .from = CHANGE_FROM_CHILD,
                .wrong_way = "node state travels up only", .row = state_row, .flush = state_flush,
                .group_max = 3, .arg = t });
        change_register(&t->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_NODE_REMOVED, .name = "removed",
                .from = CHANGE_FROM_CHILD | CHANGE_FROM_PARENT, .wrong_way = "removals go either way",
                .add = removed_add, .arg = t });
        snapshot_register(&t->sections, &(struct snapshot_section){
                .name = "paged", .to = SNAPSHOT_TO_PARENT, .add_read = paged_read, .encode = paged_encode,
                .add_marked = paged_marked, .forward_removed = paged_forward, .arg = t });
        snapshot_register(&t->sections, &(struct snapshot_section){
                .name = "down", .to = SNAPSHOT_TO_CHILD, .add_read = down_read, .encode = down_encode,
                .arg = t });
        snapshot_register(&t->sections, &(struct snapshot_section){
                .name = "small", .to = SNAPSHOT_TO_PARENT, .one_page = true, .add_read = small_read,
                .encode = small_encode, .add_marked = small_marked, .forward_removed = small_forward,
                .arg = t });
}

/* --- changes --- */

static void encode_change(const Vigil__Change *c, uint8_t **ret, size_t *ret_len)
{
        CHECK(wire_encode_change(c, ret, ret_len) == 0);
}

void fake_probe(uint64_t number, const char *origin, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__LinkProbe p = VIGIL__LINK_PROBE__INIT;

        p.origin = (char *)origin;
        p.has_probe_id = 1;
        p.probe_id = 7;
        p.has_number = 1;
        p.number = number;
        c.kind_case = VIGIL__CHANGE__KIND_LINK_PROBE;
        c.link_probe = &p;
        encode_change(&c, ret, ret_len);
}

void fake_state(const char *node_id, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__NodeState s = VIGIL__NODE_STATE__INIT;

        s.node_id = (char *)node_id;
        s.has_version = 1;
        s.version = 1;
        c.kind_case = VIGIL__CHANGE__KIND_NODE_STATE;
        c.node_state = &s;
        encode_change(&c, ret, ret_len);
}

void fake_removed(const char *node_id, int64_t version, uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__NodeRemoved r = VIGIL__NODE_REMOVED__INIT;

        r.node_id = (char *)node_id;
        r.has_version = 1;
        r.version = version;
        c.kind_case = VIGIL__CHANGE__KIND_NODE_REMOVED;
        c.node_removed = &r;
        encode_change(&c, ret, ret_len);
}

uint64_t fake_probe_number(const uint8_t *change, size_t len, char *origin, size_t n)
{
        Vigil__Change *c = NULL;
        char err[256] = "";
        uint64_t number;

        if (wire_decode_change(change, len, &c, err, sizeof(err)) != 0) {
                fprintf(stderr, "wire_decode_change: %s\n", err);
                CHECK(!"a change that decodes");
        }
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_LINK_PROBE);
        number = c->link_probe->number;
        if (origin)
                snprintf(origin, n, "%s", c->link_probe->origin ? c->link_probe->origin : "");
        wire_change_free(c);
        return number;
}

/* --- statements --- */

static int open_array(const struct db_tx *tx, int i, int j, struct sqlarray_reader *r)
{
        int n;

        CHECK(fake_tx_param_format(tx, i, j) == 1);
        n = sqlarray_reader_init(r, fake_tx_param(tx, i, j), (size_t)fake_tx_param_len(tx, i, j));
        CHECK(n >= 0);
        return n;
}

int fake_array_len(const struct db_tx *tx, int i, int j)
{
        struct sqlarray_reader r;

        return open_array(tx, i, j, &r);
}

int fake_probe_numbers(const struct db_tx *tx, int i, uint64_t *out, int max)
{
        struct sqlarray_reader r;
        const uint8_t *e;
        size_t len;
        int n, k;

        CHECK_CONTAINS(fake_tx_sql(tx, i), "fake_apply_probes");
        n = open_array(tx, i, 0, &r);
        for (k = 0; k < n; k++) {
                uint64_t v = 0;
                CHECK(sqlarray_reader_next(&r, &e, &len) == 1);
                CHECK(e != NULL && len == 8);
                for (size_t b = 0; b < 8; b++)
                        v = (v << 8) | e[b];
                if (k < max)
                        out[k] = v;
        }
        CHECK(sqlarray_reader_next(&r, &e, &len) == 0);
        return n;
}

void fake_text_element(const struct db_tx *tx, int i, int j, int k, char *out, size_t n)
{
        struct sqlarray_reader r;
        const uint8_t *e = NULL;
        size_t len = 0;
        int count = open_array(tx, i, j, &r);

        CHECK(k < count);
        while (k-- >= 0)
                CHECK(sqlarray_reader_next(&r, &e, &len) == 1);
        CHECK(e != NULL);
        snprintf(out, n, "%.*s", (int)len, (const char *)e);
}

PGresult *fake_section_rows(uint64_t first, int n)
{
        static const char *const names[2] = { "number", "key2" };
        PGresult *res = fake_result_new(2, names, NULL);
        int i;

        for (i = 0; i < n; i++) {
                char number[24], key2[32];
                const char *v[2] = { number, key2 };
                snprintf(number, sizeof(number), "%" PRIu64, first + (uint64_t)i);
                snprintf(key2, sizeof(key2), "k%" PRIu64, first + (uint64_t)i);
                fake_result_add_row(res, v);
        }
        return res;
}

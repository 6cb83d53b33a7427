/* fake_db: the parts of lib/db/db.h that lib/delivery uses, without a
 * server (fake_db.h). Statements are kept as submitted; results are
 * libpq's own PGresults, made without a connection. */
#include "fake_db.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

struct fake_stmt {
        char *sql;
        int nparams;
        char **values;
        int *lengths, *formats;
        bool binary;
};

struct fake_hook {
        db_done_cb cb;
        void *arg;
};

struct db_tx {
        struct db_tx *next;
        uint64_t id;
        struct fake_stmt *stmts;
        int n, cap;
        PGresult **results;
        bool binary_results;
        struct fake_hook *hooks;
        int n_hooks;
        db_done_cb cb;
        void *arg;
};

struct db {
        const char *name;
        bool up;
        struct db_tx *head, *tail;
        int pending;
        unsigned long submitted;
};

struct db *fake_db_new(const char *name)
{
        struct db *db = calloc(1, sizeof(*db));

        CHECK(db != NULL);
        db->name = name;
        db->up = true;
        return db;
}

void fake_db_free(struct db *db)
{
        if (!db)
                return;
        if (db->pending) {
                fprintf(stderr, "fake_db %s: %d transactions still waiting (first: %s)\n", db->name,
                        db->pending, db->head->n ? db->head->stmts[0].sql : "(empty)");
                CHECK(db->pending == 0);
        }
        free(db);
}

void fake_db_set_up(struct db *db, bool up)
{
        db->up = up;
}

bool db_is_up(const struct db *db)
{
        return db->up;
}

struct db_tx *db_tx_new(void)
{
        static uint64_t ids;
        struct db_tx *tx = calloc(1, sizeof(*tx));

        CHECK(tx != NULL);
        tx->id = ++ids;
        return tx;
}

uint64_t db_tx_id(const struct db_tx *tx)
{
        return tx->id;
}

void db_tx_free(struct db_tx *tx)
{
        int i, j;

        if (!tx)
                return;
        for (i = 0; i < tx->n; i++) {
                struct fake_stmt *s = &tx->stmts[i];
                free(s->sql);
                for (j = 0; j < s->nparams; j++)
                        free(s->values[j]);
                free(s->values);
                free(s->lengths);
                free(s->formats);
                if (tx->results && tx->results[i])
                        PQclear(tx->results[i]);
        }
        free(tx->stmts);
        free(tx->results);
        free(tx->hooks);
        free(tx);
}

int db_tx_add(struct db_tx *tx, const char *sql, int nparams, const char *const *values, const int *lengths,
              const int *formats)
{
        struct fake_stmt *s;
        int j;

        if (tx->n == tx->cap) {
                tx->cap = tx->cap ? tx->cap * 2 : 8;
                tx->stmts = realloc(tx->stmts, (size_t)tx->cap * sizeof(*tx->stmts));
                CHECK(tx->stmts != NULL);
        }
        s = &tx->stmts[tx->n++];
        memset(s, 0, sizeof(*s));
        s->sql = strdup(sql);
        s->nparams = nparams;
        s->values = calloc((size_t)(nparams > 0 ? nparams : 1), sizeof(*s->values));
        s->lengths = calloc((size_t)(nparams > 0 ? nparams : 1), sizeof(*s->lengths));
        s->formats = calloc((size_t)(nparams > 0 ? nparams : 1), sizeof(*s->formats));
        CHECK(s->sql && s->values && s->lengths && s->formats);
        for (j = 0; j < nparams; j++) {
                int binary = formats ? formats[j] : 0;
                size_t len;
                if (!values[j])
                        continue;
                /* As libpq: a text parameter ends at its NUL, a binary one has a length. */
                len = binary ? (size_t)lengths[j] : strlen(values[j]);
                s->values[j] = malloc(len + 1);
                CHECK(s->values[j] != NULL);
                memcpy(s->values[j], values[j], len);
                s->values[j][len] = '\0';
                s->lengths[j] = (int)len;
                s->formats[j] = binary;
        }
        return 0;
}

int db_tx_count(const struct db_tx *tx)
{
        return tx->n;
}

void db_tx_set_binary_results(struct db_tx *tx)
{
        tx->binary_results = true;
}

void db_tx_binary_last(struct db_tx *tx)
{
        if (tx->n > 0)
                tx->stmts[tx->n - 1].binary = true;
}

int db_tx_also(struct db_tx *tx, db_done_cb cb, void *arg)
{
        tx->hooks = realloc(tx->hooks, (size_t)(tx->n_hooks + 1) * sizeof(*tx->hooks));
        CHECK(tx->hooks != NULL);
        tx->hooks[tx->n_hooks].cb = cb;
        tx->hooks[tx->n_hooks].arg = arg;
        tx->n_hooks++;
        return 0;
}

void db_submit(struct db *db, struct db_tx *tx, db_done_cb cb, void *arg)
{
        tx->cb = cb;
        tx->arg = arg;
        tx->next = NULL;
        if (db->tail)
                db->tail->next = tx;
        else
                db->head = tx;
        db->tail = tx;
        db->pending++;
        db->submitted++;
}

PGresult *db_tx_result(struct db_tx *tx, int i)
{
        if (!tx->results || i < 0 || i >= tx->n)
                return NULL;
        return tx->results[i];
}

/* --- what the tests see --- */

int fake_db_pending(const struct db *db)
{
        return db->pending;
}

unsigned long fake_db_submitted(const struct db *db)
{
        return db->submitted;
}

struct db_tx *fake_db_peek(const struct db *db, int i)
{
        struct db_tx *tx = db->head;

        while (tx && i-- > 0)
                tx = tx->next;
        return tx;
}

int fake_tx_statements(const struct db_tx *tx)
{
        return tx->n;
}

static const struct fake_stmt *fake_stmt(const struct db_tx *tx, int i)
{
        if (i < 0 || i >= tx->n) {
                fprintf(stderr, "fake_db: statement %d of a transaction of %d\n", i, tx->n);
                CHECK(i >= 0 && i < tx->n);
        }
        return &tx->stmts[i];
}

const char *fake_tx_sql(const struct db_tx *tx, int i)
{
        return fake_stmt(tx, i)->sql;
}

int fake_tx_nparams(const struct db_tx *tx, int i)
{
        return fake_stmt(tx, i)->nparams;
}

const char *fake_tx_param(const struct db_tx *tx, int i, int j)
{
        const struct fake_stmt *s = fake_stmt(tx, i);

        CHECK(j >= 0 && j < s->nparams);
        return s->values[j];
}

int fake_tx_param_len(const struct db_tx *tx, int i, int j)
{
        const struct fake_stmt *s = fake_stmt(tx, i);

        CHECK(j >= 0 && j < s->nparams);
        return s->lengths[j];
}

int fake_tx_param_format(const struct db_tx *tx, int i, int j)
{
        const struct fake_stmt *s = fake_stmt(tx, i);

        CHECK(j >= 0 && j < s->nparams);
        return s->formats[j];
}

bool fake_tx_binary(const struct db_tx *tx, int i)
{
        return tx->binary_results || fake_stmt(tx, i)->binary;
}

int fake_tx_find(const struct db_tx *tx, const char *part, int from)
{
        int i;

        for (i = from < 0 ? 0 : from; i < tx->n; i++)
                if (strstr(tx->stmts[i].sql, part))
                        return i;
        return -1;
}

int fake_tx_count_sql(const struct db_tx *tx, const char *part)
{
        int i, n = 0;

        for (i = 0; i < tx->n; i++)
                if (strstr(tx->stmts[i].sql, part))
                        n++;
        return n;
}

int fake_tx_hooks(const struct db_tx *tx)
{
        return tx->n_hooks + (tx->cb ? 1 : 0);
}

bool fake_tx_has_hook(const struct db_tx *tx, db_done_cb cb)
{
        int i;

        for (i = 0; i < tx->n_hooks; i++)
                if (tx->hooks[i].cb == cb)
                        return true;
        return tx->cb == cb;
}

PGresult *fake_result_new(int ncols, const char *const *names, const int *formats)
{
        PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
        PGresAttDesc *att = calloc((size_t)(ncols > 0 ? ncols : 1), sizeof(*att));
        int i;

        CHECK(res != NULL && att != NULL);
        for (i = 0; i < ncols; i++) {
                att[i].name = (char *)names[i];
                att[i].format = formats ? formats[i] : 0;
                att[i].typlen = -1;
                att[i].atttypmod = -1;
        }
        CHECK(PQsetResultAttrs(res, ncols, att));
        free(att);
        return res;
}

void fake_result_add_row(PGresult *res, const char *const *values)
{
        int row = PQntuples(res), i;

        for (i = 0; i < PQnfields(res); i++)
                fake_result_set(res, row, i, values[i], values[i] ? (int)strlen(values[i]) : -1);
}

void fake_result_set(PGresult *res, int row, int col, const void *value, int len)
{
        /* libpq copies VALUE; a length of -1 is SQL NULL. */
        CHECK(PQsetvalue(res, row, col, (char *)value, value ? len : -1));
}

void fake_tx_set_result(struct db_tx *tx, int i, PGresult *res)
{
        fake_stmt(tx, i);
        if (!tx->results) {
                tx->results = calloc((size_t)tx->n, sizeof(*tx->results));
                CHECK(tx->results != NULL);
        }
        if (tx->results[i])
                PQclear(tx->results[i]);
        tx->results[i] = res;
}

void fake_db_complete(struct db *db, int err, const char *msg)
{
        struct db_tx *tx = db->head;
        int i;

        if (!tx) {
                fprintf(stderr, "fake_db %s: no transaction to complete\n", db->name);
                CHECK(tx != NULL);
        }
        db->head = tx->next;
        if (!db->head)
                db->tail = NULL;
        db->pending--;
        if (err == 0 && tx->n > 0) {
                /* A committed statement always has a result. */
                if (!tx->results) {
                        tx->results = calloc((size_t)tx->n, sizeof(*tx->results));
                        CHECK(tx->results != NULL);
                }
                for (i = 0; i < tx->n; i++)
                        if (!tx->results[i])
                                tx->results[i] = PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
        }
        for (i = 0; i < tx->n_hooks; i++)
                tx->hooks[i].cb(tx->hooks[i].arg, tx, err, msg ? msg : "");
        if (tx->cb)
                tx->cb(tx->arg, tx, err, msg ? msg : "");
        db_tx_free(tx);
}

void fake_db_fail_at(struct db *db, int stmt, const char *msg)
{
        struct db_tx *tx = db->head;
        int i;

        CHECK(tx != NULL && stmt >= 0 && stmt < tx->n);
        if (!tx->results) {
                tx->results = calloc((size_t)tx->n, sizeof(*tx->results));
                CHECK(tx->results != NULL);
        }
        /* As in a pipeline: those before it ran, it failed, those after
         * it were aborted. */
        for (i = 0; i < tx->n; i++) {
                if (tx->results[i])
                        PQclear(tx->results[i]);
                tx->results[i] = PQmakeEmptyPGresult(NULL, i < stmt ? PGRES_COMMAND_OK
                                                          : i == stmt ? PGRES_FATAL_ERROR : PGRES_PIPELINE_ABORTED);
        }
        fake_db_complete(db, -EPROTO, msg);
}

int fake_db_fail_all(struct db *db)
{
        int n = 0;

        while (db->head) {
                CHECK(n < 100000);   /* callbacks that resubmit for ever */
                fake_db_complete(db, -ECONNRESET, "connection lost");
                n++;
        }
        return n;
}

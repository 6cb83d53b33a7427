#include "db/db.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define DB_BACKOFF_MIN_MS 100
#define DB_BACKOFF_MAX_MS 5000

struct db_query {
        char *sql;
        int nparams;
        char **values;
        int *lengths;
        int *formats;
        bool binary;         /* result in binary format */
        int prepared;        /* index in db->prepared, or -1 */
        uint32_t hash;       /* of sql, to find it among the prepared */
};

/* A transaction's further callbacks (db_tx_also). */
struct db_hook {
        db_done_cb cb;
        void *arg;
};

struct db_tx {
        struct db_tx *next;
        db_done_cb cb;
        void *arg;
        struct db_query *queries;
        int n, cap;
        PGresult **results;
        int current;         /* statement whose results we are reading */
        bool have_current;   /* a result for `current` arrived */
        int err;
        char errmsg[512];
        bool oom;
        bool binary_results;
        bool setup;          /* the session's own (db_session_setup): not counted */
        struct db_hook *hooks;
        int n_hooks, cap_hooks;
        uint64_t id;
};

enum db_state { DB_DOWN, DB_CONNECTING, DB_UP, DB_CLOSING };

/* Distinct statements prepared per connection; more go unprepared. */
#define DB_PREPARED_MAX 256

struct db_prepared {
        char *sql;
        uint32_t hash;
        bool ready;    /* its Prepare succeeded: transactions may use it */
};

struct db {
        uv_loop_t *loop;
        char *conninfo;
        struct db_events ev;
        PGconn *conn;
        enum db_state state;
        uv_poll_t *poll;         /* NULL while not connected */
        int poll_fd;
        uv_timer_t retry;
        uv_idle_t deliver;       /* runs callbacks of txs failed early */
        int backoff_ms;
        struct db_tx *queue, *queue_tail;        /* not yet sent */
        struct db_tx *inflight, *inflight_tail;  /* sent, reading results */
        struct db_tx *failed, *failed_tail;      /* to fail from the idle cb */
        unsigned long reconnects, committed, failed_count;
        int open_handles;
        bool connected_once;
        int64_t down_since_us;   /* wall clock; 0 while up */
        /* Statements prepared on this connection, by their text: parsed
         * and planned once instead of at every run (db_prepare). */
        struct db_prepared prepared[DB_PREPARED_MAX];
        int n_prepared;
        uint64_t prepared_gen;   /* bumped when the connection (and they) go */
};

static void db_arm(struct db *db, int events);
static void db_connect_start(struct db *db);
static void db_unwatch_socket(struct db *db);

static void tx_push(struct db_tx **head, struct db_tx **tail, struct db_tx *tx)
{
        tx->next = NULL;
        if (*tail)
                (*tail)->next = tx;
        else
                *head = tx;
        *tail = tx;
}

static struct db_tx *tx_pop(struct db_tx **head, struct db_tx **tail)
{
        struct db_tx *tx = *head;

        if (tx) {
                *head = tx->next;
                if (!*head)
                        *tail = NULL;
                tx->next = NULL;
        }
        return tx;
}

/* FNV-1a of a statement's text. */
static uint32_t db_hash(const char *s)
{
        uint32_t h = 2166136261u;

        while (*s)
                h = (h ^ (uint8_t)*s++) * 16777619u;
        return h;
}

struct db_tx *db_tx_new(void)
{
        /* Unique for the life of the process (an address is not: memory is
         * reused), so that "the transaction that did X" can be remembered. */
        static uint64_t ids;
        struct db_tx *tx = calloc(1, sizeof(struct db_tx));

        if (tx)
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
                struct db_query *q = &tx->queries[i];
                free(q->sql);
                for (j = 0; j < q->nparams; j++)
                        free(q->values[j]);
                free(q->values);
                free(q->lengths);
                free(q->formats);
                if (tx->results && tx->results[i])
                        PQclear(tx->results[i]);
        }
        free(tx->queries);
        free(tx->results);
        free(tx->hooks);
        free(tx);
}

void db_tx_set_binary_results(struct db_tx *tx)
{
        tx->binary_results = true;
}

void db_tx_binary_last(struct db_tx *tx)
{
        if (tx->n > 0)
                tx->queries[tx->n - 1].binary = true;
}

int db_tx_also(struct db_tx *tx, db_done_cb cb, void *arg)
{
        if (tx->n_hooks == tx->cap_hooks) {
                int cap = tx->cap_hooks ? tx->cap_hooks * 2 : 4;
                struct db_hook *h = realloc(tx->hooks, (size_t)cap * sizeof(*h));
                if (!h)
                        return -ENOMEM;
                tx->hooks = h;
                tx->cap_hooks = cap;
        }
        tx->hooks[tx->n_hooks].cb = cb;
        tx->hooks[tx->n_hooks].arg = arg;
        tx->n_hooks++;
        return 0;
}

int db_tx_count(const struct db_tx *tx)
{
        return tx->n;
}

int db_tx_add(struct db_tx *tx, const char *sql, int nparams,
              const char *const *values, const int *lengths, const int *formats)
{
        struct db_query *q;
        int j;

        if (tx->n == tx->cap) {
                int cap = tx->cap ? tx->cap * 2 : 4;
                struct db_query *nq = realloc(tx->queries, cap * sizeof(*nq));
                if (!nq)
                        goto oom;
                tx->queries = nq;
                tx->cap = cap;
        }
        q = &tx->queries[tx->n];
        memset(q, 0, sizeof(*q));
        q->sql = strdup(sql);
        q->hash = db_hash(sql);
        q->nparams = nparams;
        if (nparams > 0) {
                q->values = calloc(nparams, sizeof(char *));
                q->lengths = calloc(nparams, sizeof(int));
                q->formats = calloc(nparams, sizeof(int));
        }
        if (!q->sql || (nparams > 0 && (!q->values || !q->lengths || !q->formats)))
                goto oom_q;
        for (j = 0; j < nparams; j++) {
                int binary = formats ? formats[j] : 0;
                size_t len;
                if (!values[j])
                        continue;
                len = binary ? (size_t)lengths[j] : strlen(values[j]);
                q->values[j] = malloc(len + 1);
                if (!q->values[j])
                        goto oom_q;
                memcpy(q->values[j], values[j], len);
                q->values[j][len] = '\0';
                q->lengths[j] = (int)len;
                q->formats[j] = binary;
        }
        tx->n++;
        return 0;
oom_q:
        tx->n++;  /* so db_tx_free frees the partial query */
oom:
        tx->oom = true;
        return -ENOMEM;
}

PGresult *db_tx_result(struct db_tx *tx, int i)
{
        if (!tx->results || i < 0 || i >= tx->n)
                return NULL;
        return tx->results[i];
}

bool db_is_up(const struct db *db)
{
        return db->state == DB_UP;
}

static int64_t db_wall_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t db_down_since_us(const struct db *db)
{
        return db->state == DB_UP ? 0 : db->down_since_us;
}

void db_stats(const struct db *db, unsigned long *ret_reconnects,
              unsigned long *ret_committed, unsigned long *ret_failed)
{
        *ret_reconnects = db->reconnects;
        *ret_committed = db->committed;
        *ret_failed = db->failed_count;
}

static void db_finish_tx(struct db *db, struct db_tx *tx, int err, const char *msg)
{
        if (!tx->setup && err == 0)
                db->committed++;
        else if (!tx->setup)
                db->failed_count++;
        for (int i = 0; i < tx->n_hooks; i++)
                tx->hooks[i].cb(tx->hooks[i].arg, tx, err, msg ? msg : "");
        if (tx->cb)
                tx->cb(tx->arg, tx, err, msg ? msg : "");
        db_tx_free(tx);
}

static void db_on_deliver(uv_idle_t *h)
{
        struct db *db = h->data;
        struct db_tx *tx;

        uv_idle_stop(h);
        while ((tx = tx_pop(&db->failed, &db->failed_tail)))
                db_finish_tx(db, tx, tx->err, tx->errmsg);
}

static void db_fail_later(struct db *db, struct db_tx *tx, int err, const char *msg)
{
        tx->err = err;
        snprintf(tx->errmsg, sizeof(tx->errmsg), "%s", msg);
        tx_push(&db->failed, &db->failed_tail, tx);
        uv_idle_start(&db->deliver, db_on_deliver);
}

static void db_forget_prepared(struct db *db)
{
        for (int i = 0; i < db->n_prepared; i++)
                free(db->prepared[i].sql);
        db->n_prepared = 0;
        db->prepared_gen++;
}

struct db_prepare_ctx {
        struct db *db;
        uint64_t gen;
        int index;
};

static void db_on_prepared(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct db_prepare_ctx *c = arg;

        (void)tx;
        /* A statement that cannot be prepared on its own (it names what
         * its transaction created) is sent unprepared, as before.
         * -ECANCELED: the db is going; -ECONNRESET: forgotten already. */
        (void)msg;
        if (err == 0 && c->gen == c->db->prepared_gen)
                c->db->prepared[c->index].ready = true;
        free(c);
}

/* The name of prepared statement K on the connection. */
static void db_prepared_name(int k, char name[16])
{
        snprintf(name, 16, "v%d", k);
}

/* Q's statement among those on this connection (Q->prepared: its index,
 * or -1). */
static void db_find_prepared(struct db *db, struct db_query *q)
{
        q->prepared = -1;
        for (int k = 0; k < db->n_prepared; k++) {
                if (db->prepared[k].hash == q->hash && strcmp(db->prepared[k].sql, q->sql) == 0) {
                        q->prepared = k;
                        return;
                }
        }
}

/* Prepare Q's statement, which has just gone unprepared, for the next
 * transactions: Parse in a segment of the pipeline of its own (its own
 * sync), so no transaction's error can skip it, and used only once it
 * has succeeded. Full table or out of memory: it stays unprepared.
 * -ECONNRESET if the connection broke. */
static int db_prepare(struct db *db, const struct db_query *q)
{
        struct db_prepare_ctx *c;
        struct db_tx *ptx;
        char name[16];
        int k = db->n_prepared;

        if (k == DB_PREPARED_MAX)
                return 0;
        ptx = db_tx_new();
        c = malloc(sizeof(*c));
        db->prepared[k].sql = strdup(q->sql);
        if (!ptx || !c || !db->prepared[k].sql || db_tx_add(ptx, "PREPARE", 0, NULL, NULL, NULL) < 0 ||
            !(ptx->results = calloc(1, sizeof(PGresult *)))) {
                db_tx_free(ptx);
                free(c);
                free(db->prepared[k].sql);
                return 0;
        }
        db->prepared[k].hash = q->hash;
        db->prepared[k].ready = false;
        db->n_prepared++;
        c->db = db;
        c->gen = db->prepared_gen;
        c->index = k;
        ptx->cb = db_on_prepared;
        ptx->arg = c;
        ptx->setup = true;
        db_prepared_name(k, name);
        tx_push(&db->inflight, &db->inflight_tail, ptx);
        if (!PQsendPrepare(db->conn, name, q->sql, q->nparams, NULL) || !PQpipelineSync(db->conn))
                return -ECONNRESET;
        return 0;
}

/* Send TX's statements (prepared, where they are); how many went. */
static int db_send_statements(struct db *db, struct db_tx *tx)
{
        int i;

        for (i = 0; i < tx->n; i++) {
                struct db_query *q = &tx->queries[i];
                int fmt = tx->binary_results || q->binary ? 1 : 0;
                char name[16];
                int ok;
                db_find_prepared(db, q);
                if (q->prepared >= 0 && db->prepared[q->prepared].ready) {
                        db_prepared_name(q->prepared, name);
                        ok = PQsendQueryPrepared(db->conn, name, q->nparams, (const char *const *)q->values,
                                                 q->lengths, q->formats, fmt);
                } else {
                        ok = PQsendQueryParams(db->conn, q->sql, q->nparams, NULL, (const char *const *)q->values,
                                               q->lengths, q->formats, fmt);
                }
                if (!ok)
                        break;
        }
        return i;
}

/* Send every queued transaction into the pipeline. */
static int db_send_queue(struct db *db)
{
        struct db_tx *tx;
        int i;

        while ((tx = tx_pop(&db->queue, &db->queue_tail))) {
                if (tx->oom || tx->n == 0) {
                        db_fail_later(db, tx, tx->oom ? -ENOMEM : 0, tx->oom ? "out of memory" : "");
                        continue;
                }
                tx->results = calloc(tx->n, sizeof(PGresult *));
                if (!tx->results) {
                        db_fail_later(db, tx, -ENOMEM, "out of memory");
                        continue;
                }
                i = db_send_statements(db, tx);
                if (i < tx->n || !PQpipelineSync(db->conn)) {
                        /* The connection is broken; the tx joins the in-flight
                         * list and fails with it. */
                        tx_push(&db->inflight, &db->inflight_tail, tx);
                        return -ECONNRESET;
                }
                tx_push(&db->inflight, &db->inflight_tail, tx);
                /* What went unprepared is prepared for the next ones (once:
                 * a statement may come twice in one transaction). */
                for (i = 0; i < tx->n; i++) {
                        if (tx->queries[i].prepared >= 0)
                                continue;
                        db_find_prepared(db, &tx->queries[i]);
                        if (tx->queries[i].prepared < 0 && db_prepare(db, &tx->queries[i]) < 0)
                                return -ECONNRESET;
                }
        }
        return 0;
}

static void db_on_notice(void *arg, const char *message)
{
        (void)arg;
        log_debug("db", "msg=\"PostgreSQL notice\" notice=\"%.*s\"", (int)strcspn(message, "\n"), message);
}

static void db_on_retry(uv_timer_t *t)
{
        db_connect_start(t->data);
}

static void db_lost(struct db *db, const char *why)
{
        struct db_tx *tx;
        bool was_up = db->state == DB_UP;
        char esc[256];

        if (db->state == DB_CLOSING)
                return;
        if (why && was_up)
                log_warn("db", "msg=\"connection lost\" reason=\"%s\"", log_escape(esc, sizeof(esc), why));
        else if (why)
                log_warn("db", "msg=\"cannot connect to PostgreSQL\" reason=\"%s\" retry_ms=%d",
                         log_escape(esc, sizeof(esc), why), db->backoff_ms);
        if (was_up)
                db->down_since_us = db_wall_us();
        while ((tx = tx_pop(&db->inflight, &db->inflight_tail)))
                db_fail_later(db, tx, -ECONNRESET, "connection to PostgreSQL lost");
        db_unwatch_socket(db);
        if (db->conn) {
                PQfinish(db->conn);
                db->conn = NULL;
        }
        db_forget_prepared(db);
        db->state = DB_DOWN;
        if (was_up && db->ev.down)
                db->ev.down(db->ev.arg);
        uv_timer_start(&db->retry, db_on_retry, db->backoff_ms, 0);
        db->backoff_ms = db->backoff_ms * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS : db->backoff_ms * 2;
}

/* Read every result that has arrived and complete finished transactions. */
static void db_read_results(struct db *db)
{
        for (;;) {
                struct db_tx *tx = db->inflight;
                PGresult *res;
                ExecStatusType st;

                if (!tx || PQisBusy(db->conn))
                        return;
                res = PQgetResult(db->conn);
                if (!res) {
                        if (tx->have_current) {
                                tx->current++;
                                tx->have_current = false;
                                continue;
                        }
                        return;  /* nothing more yet */
                }
                st = PQresultStatus(res);
                if (st == PGRES_PIPELINE_SYNC) {
                        PQclear(res);
                        tx_pop(&db->inflight, &db->inflight_tail);
                        db_finish_tx(db, tx, tx->err, tx->errmsg);
                        continue;
                }
                if (tx->current >= tx->n) {
                        PQclear(res);  /* cannot happen; keep reading */
                        continue;
                }
                if ((st == PGRES_FATAL_ERROR || st == PGRES_PIPELINE_ABORTED) && !tx->err) {
                        /* The primary message alone: "ERROR:  " and the
                         * context lines are not for the user. */
                        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
                        if (!m)
                                m = PQresultErrorMessage(res);
                        tx->err = -EPROTO;
                        snprintf(tx->errmsg, sizeof(tx->errmsg), "%s", m && *m ? m : "aborted");
                        tx->errmsg[strcspn(tx->errmsg, "\n")] = '\0';
                }
                if (tx->results[tx->current])
                        PQclear(tx->results[tx->current]);
                tx->results[tx->current] = res;
                tx->have_current = true;
        }
}

static void db_on_io(uv_poll_t *h, int status, int events)
{
        struct db *db = h->data;

        if (db->state != DB_UP)
                return;
        if (status < 0) {
                db_lost(db, uv_strerror(status));
                return;
        }
        if (events & UV_WRITABLE) {
                int r = PQflush(db->conn);
                if (r < 0) {
                        db_lost(db, PQerrorMessage(db->conn));
                        return;
                }
                db_arm(db, r == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
        }
        if (events & UV_READABLE) {
                if (!PQconsumeInput(db->conn)) {
                        db_lost(db, PQerrorMessage(db->conn));
                        return;
                }
                db_read_results(db);
                if (PQstatus(db->conn) == CONNECTION_BAD) {
                        db_lost(db, PQerrorMessage(db->conn));
                        return;
                }
        }
}

static void db_arm(struct db *db, int events)
{
        if (db->poll)
                uv_poll_start(db->poll, events, db_on_io);
}

static void db_flush(struct db *db)
{
        int r;

        if (db->state != DB_UP)
                return;
        if (db_send_queue(db) < 0) {
                db_lost(db, PQerrorMessage(db->conn));
                return;
        }
        r = PQflush(db->conn);
        if (r < 0) {
                db_lost(db, PQerrorMessage(db->conn));
                return;
        }
        db_arm(db, r == 1 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void db_free_handle(uv_handle_t *h)
{
        free(h);
}

static void db_unwatch_socket(struct db *db)
{
        if (db->poll) {
                uv_poll_stop(db->poll);
                uv_close((uv_handle_t *)db->poll, db_free_handle);
                db->poll = NULL;
        }
}

/* Watch the connection's socket. PQsocket() may change on reconnect (and
 * between connection attempts), so a changed descriptor gets a new handle. */
static int db_watch_socket(struct db *db)
{
        int fd = PQsocket(db->conn);

        if (fd < 0)
                return -EBADF;
        if (db->poll && db->poll_fd != fd)
                db_unwatch_socket(db);
        if (!db->poll) {
                db->poll = malloc(sizeof(*db->poll));
                if (!db->poll)
                        return -ENOMEM;
                if (uv_poll_init(db->loop, db->poll, fd) < 0) {
                        free(db->poll);
                        db->poll = NULL;
                        return -EIO;
                }
                db->poll->data = db;
                db->poll_fd = fd;
        }
        return 0;
}

static void db_on_connect_io(uv_poll_t *h, int status, int events);

/* The session's settings, ahead of anything queued. Generic plans: the
 * daemon runs the same short statements (and the plpgsql functions' ones)
 * again and again with other keys; PostgreSQL's default plans each of
 * them afresh for its first five runs per session and, where it guesses a
 * generic plan dearer, for ever. That planning was a third of the
 * cluster's work under an emergency (tests/bench/emergency-fanout). */
static void db_on_session_setup(void *arg, struct db_tx *tx, int err, const char *msg)
{
        (void)arg; (void)tx;
        if (err)
                log_warn("db", "msg=\"cannot set the session's plan cache mode\" reason=\"%s\"", msg);
}

static void db_session_setup(struct db *db)
{
        struct db_tx *tx = db_tx_new();

        if (!tx)
                return;
        if (db_tx_add(tx, "SET plan_cache_mode = force_generic_plan", 0, NULL, NULL, NULL) < 0) {
                db_tx_free(tx);
                return;
        }
        tx->cb = db_on_session_setup;
        tx->setup = true;
        tx->next = db->queue;
        db->queue = tx;
        if (!db->queue_tail)
                db->queue_tail = tx;
}

static void db_connect_step(struct db *db)
{
        PostgresPollingStatusType ps = PQconnectPoll(db->conn);

        switch (ps) {
        case PGRES_POLLING_READING:
                if (db_watch_socket(db) < 0)
                        goto fail;
                uv_poll_start(db->poll, UV_READABLE, db_on_connect_io);
                return;
        case PGRES_POLLING_WRITING:
                if (db_watch_socket(db) < 0)
                        goto fail;
                uv_poll_start(db->poll, UV_WRITABLE, db_on_connect_io);
                return;
        case PGRES_POLLING_OK:
                if (PQsetnonblocking(db->conn, 1) != 0 || !PQenterPipelineMode(db->conn)) {
                        db->state = DB_CONNECTING;
                        goto fail;
                }
                db->state = DB_UP;
                db->backoff_ms = DB_BACKOFF_MIN_MS;
                if (db->connected_once) {
                        db->reconnects++;
                        log_info("db", "msg=\"reconnected to PostgreSQL\"");
                }
                db->connected_once = true;
                db_forget_prepared(db);
                db_session_setup(db);
                if (db->ev.up)
                        db->ev.up(db->ev.arg);
                db_flush(db);
                return;
        default:
                goto fail;
        }
fail:
        {
                char esc[256];
                log_warn("db", "msg=\"cannot connect to PostgreSQL\" reason=\"%s\" retry_ms=%d",
                         log_escape(esc, sizeof(esc), PQerrorMessage(db->conn)), db->backoff_ms);
        }
        db->state = DB_CONNECTING;  /* db_lost only reports `down` from UP */
        db_lost(db, NULL);
}

static void db_on_connect_io(uv_poll_t *h, int status, int events)
{
        (void)status; (void)events;
        db_connect_step(h->data);
}

static void db_connect_start(struct db *db)
{
        if (db->state == DB_CLOSING)
                return;
        db->conn = PQconnectStart(db->conninfo);
        if (!db->conn || PQstatus(db->conn) == CONNECTION_BAD) {
                db->state = DB_CONNECTING;
                db_lost(db, db->conn ? PQerrorMessage(db->conn) : "out of memory");
                return;
        }
        PQsetNoticeProcessor(db->conn, db_on_notice, NULL);
        db->state = DB_CONNECTING;
        db_connect_step(db);
}

struct db *db_new(uv_loop_t *loop, const char *conninfo, const struct db_events *ev)
{
        struct db *db = calloc(1, sizeof(*db));

        if (!db)
                return NULL;
        db->conninfo = strdup(conninfo);
        if (!db->conninfo) {
                free(db);
                return NULL;
        }
        db->loop = loop;
        if (ev)
                db->ev = *ev;
        db->backoff_ms = DB_BACKOFF_MIN_MS;
        uv_timer_init(loop, &db->retry);
        uv_idle_init(loop, &db->deliver);
        db->retry.data = db->deliver.data = db;
        return db;
}

void db_start(struct db *db)
{
        db->down_since_us = db_wall_us();
        db_connect_start(db);
}

void db_submit(struct db *db, struct db_tx *tx, db_done_cb cb, void *arg)
{
        tx->cb = cb;
        tx->arg = arg;
        if (db->state == DB_CLOSING) {
                db_fail_later(db, tx, -ECANCELED, "shutting down");
                return;
        }
        tx_push(&db->queue, &db->queue_tail, tx);
        db_flush(db);
}

static void db_on_closed(uv_handle_t *h)
{
        struct db *db = h->data;

        if (--db->open_handles == 0) {
                db_forget_prepared(db);
                free(db->conninfo);
                free(db);
        }
}

void db_free(struct db *db)
{
        struct db_tx *tx;

        if (!db)
                return;
        db->state = DB_CLOSING;
        while ((tx = tx_pop(&db->inflight, &db->inflight_tail)))
                db_finish_tx(db, tx, -ECANCELED, "shutting down");
        while ((tx = tx_pop(&db->queue, &db->queue_tail)))
                db_finish_tx(db, tx, -ECANCELED, "shutting down");
        while ((tx = tx_pop(&db->failed, &db->failed_tail)))
                db_finish_tx(db, tx, -ECANCELED, "shutting down");
        if (db->conn) {
                PQfinish(db->conn);
                db->conn = NULL;
        }
        db->open_handles = 2;
        uv_close((uv_handle_t *)&db->retry, db_on_closed);
        uv_close((uv_handle_t *)&db->deliver, db_on_closed);
        db_unwatch_socket(db);
}

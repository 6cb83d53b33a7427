/* What the column tables (columns.c) derive: each entity's proto fields
 * resolved once, its SELECT list, its argument arrays and the statement
 * applying them; the snapshot reads. The row and change codec is codec.c. */
#include "features/catalog/impl.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"

static struct catalog_schema catalog_schemas[CATALOG_ENTITY_LAST];
static pthread_once_t catalog_resolved = PTHREAD_ONCE_INIT;

/* A column table that does not fit vigil.proto (or itself) is a build that
 * cannot work: said once, with what is wrong, then abort. */
static _Noreturn void catalog_table_wrong(const struct catalog_entity *e, const char *column, const char *why)
{
        log_error("catalog", "entity=%s column=%s msg=\"column table does not fit: %s\"", e->name,
                  column ? column : "-", why);
        log_abort(__FILE__, __LINE__, why);
}

static const ProtobufCFieldDescriptor *catalog_proto_field(const struct catalog_entity *e,
                                                           const ProtobufCMessageDescriptor *d,
                                                           const char *name, ProtobufCType type)
{
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(d, name);

        if (!fd)
                catalog_table_wrong(e, name, "no such field in the proto message");
        if (fd->label != PROTOBUF_C_LABEL_OPTIONAL || (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
                catalog_table_wrong(e, name, "the proto field is not a plain optional field");
        if (fd->type != type)
                catalog_table_wrong(e, name, "the proto field's type is not the column's");
        return fd;
}

/* "a, b or c" of the N names in NAMES into BUF. */
static void catalog_join_or(char *buf, size_t size, const char *const *names, int n)
{
        size_t len = 0;
        int i;

        buf[0] = '\0';
        for (i = 0; i < n && len < size; i++)
                len += (size_t)snprintf(buf + len, size - len, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                                        names[i]);
}

/* What a refused incomplete change lists as missing: the key unless it is
 * checked on its own (the camera ID), the version, every required column
 * by its option name ("location type"). */
static void catalog_list_required(struct catalog_schema *s)
{
        char words[CATALOG_MAX_COLUMNS + 1][64];
        const char *names[CATALOG_MAX_COLUMNS + 1];
        int i, n = 0;

        if (s->e->columns[s->key].check != CATALOG_CHECK_CAMERA_ID)
                names[n++] = s->e->columns[s->key].sql;
        names[n++] = "version";
        for (i = 0; i < s->n; i++) {
                const struct catalog_column *c = &s->e->columns[i];
                if (c->role != CATALOG_DATA || !c->required)
                        continue;
                snprintf(words[n], sizeof(words[n]), "%s", c->option ? c->option : c->sql);
                for (char *p = words[n]; *p; p++)
                        if (*p == '_')
                                *p = ' ';
                names[n] = words[n];
                n++;
        }
        catalog_join_or(s->incomplete, sizeof(s->incomplete), names, n);
}

/* Where each column goes among the *_apply() arguments: the two leading
 * columns, version, removed, the data columns in table order, change. */
static void catalog_lay_out_args(struct catalog_schema *s)
{
        const struct catalog_entity *e = s->e;
        int i, k = 4;

        for (i = 0; i < s->n; i++) {
                struct catalog_field *f = &s->fields[i];
                f->arg = i < 2 ? i : e->columns[i].role == CATALOG_VERSION ? 2 : k++;
                s->arg_types[f->arg] = e->binary ? f->ops->array : SQLARRAY_LITERAL;
        }
        s->arg_types[3] = e->binary ? SQLARRAY_BOOL : SQLARRAY_LITERAL;
        s->arg_types[k] = e->binary ? SQLARRAY_BYTEA : SQLARRAY_LITERAL;
        s->nargs = k + 1;
}

static void catalog_derive_sql(struct catalog_schema *s)
{
        size_t len = 0;
        int i;

        for (i = 0; i < s->n; i++)
                len += (size_t)snprintf(s->select + len, sizeof(s->select) - len, "%s%s", i ? ", " : "",
                                        s->e->columns[i].sql);
        vigil_require(len < sizeof(s->select));
        len = (size_t)snprintf(s->apply_sql, sizeof(s->apply_sql), "SELECT %s($1", s->e->apply);
        for (i = 2; i <= 3 + s->nargs; i++)
                len += (size_t)snprintf(s->apply_sql + len, sizeof(s->apply_sql) - len, ", $%d", i);
        len += (size_t)snprintf(s->apply_sql + len, sizeof(s->apply_sql) - len, ")");
        vigil_require(len < sizeof(s->apply_sql));
}

/* Each station-only column's presence column (Art 19, 29(2)): a boolean
 * data column of the same table that no operator gives. */
static void catalog_resolve_presence(struct catalog_schema *s)
{
        const struct catalog_entity *e = s->e;
        int i, p;

        for (i = 0; i < s->n; i++)
                s->fields[i].source = -1;
        for (i = 0; i < s->n; i++) {
                const struct catalog_column *c = &e->columns[i];
                if (!c->station_only) {
                        if (c->presence)
                                catalog_table_wrong(e, c->sql, "a presence column for a column not station-only");
                        continue;
                }
                if (c->role != CATALOG_DATA || c->type != CATALOG_TEXT || c->required || !c->presence)
                        catalog_table_wrong(e, c->sql, "a station-only column is optional text with a presence");
                for (p = 0; p < s->n && strcmp(e->columns[p].sql, c->presence) != 0; p++)
                        ;
                if (p == s->n || e->columns[p].type != CATALOG_BOOL || e->columns[p].role != CATALOG_DATA ||
                    e->columns[p].option || !e->columns[p].null_false || s->fields[p].source >= 0)
                        catalog_table_wrong(e, c->sql, "its presence is not a boolean column of its own");
                s->fields[p].source = i;
                s->station_only = true;
        }
}

static void catalog_resolve_entity(struct catalog_schema *s, const struct catalog_entity *e)
{
        int i;

        s->e = e;
        s->n = e->ncolumns;
        s->station = s->key = s->version = -1;
        s->change = protobuf_c_message_descriptor_get_field_by_name(&vigil__change__descriptor, e->change_field);
        if (!s->change || s->change->type != PROTOBUF_C_TYPE_MESSAGE ||
            !(s->change->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
                catalog_table_wrong(e, NULL, "no such member of Change's oneof");
        s->message = s->change->descriptor;
        s->removed = catalog_proto_field(e, s->message, "removed", PROTOBUF_C_TYPE_BOOL);
        if (s->n > CATALOG_MAX_COLUMNS - 2)
                catalog_table_wrong(e, NULL, "more columns than CATALOG_MAX_COLUMNS allows");
        for (i = 0; i < s->n; i++) {
                const struct catalog_column *c = &e->columns[i];
                struct catalog_field *f = &s->fields[i];
                int *role = c->role == CATALOG_STATION ? &s->station : c->role == CATALOG_KEY ? &s->key
                          : c->role == CATALOG_VERSION ? &s->version : NULL;
                f->col = c;
                f->ops = &catalog_type_ops[c->type];
                f->fd = catalog_proto_field(e, s->message, c->field ? c->field : c->sql, f->ops->proto);
                if (role && *role >= 0)
                        catalog_table_wrong(e, c->sql, "a second station, key or version column");
                if (role)
                        *role = i;
                if ((c->role == CATALOG_STATION || c->role == CATALOG_KEY) != (i < 2))
                        catalog_table_wrong(e, c->sql, "the station and the key must be the two leading columns");
                if (e->binary && f->ops->array == SQLARRAY_LITERAL)
                        catalog_table_wrong(e, c->sql, "a type without a binary array form");
                if (c->null_false && c->type != CATALOG_BOOL)
                        catalog_table_wrong(e, c->sql, "null_false on a column that is not boolean");
        }
        if (s->station < 0 || s->key < 0 || s->version < 0 || e->columns[s->version].type != CATALOG_INT8)
                catalog_table_wrong(e, NULL, "a station, a key and a bigint version are required");
        catalog_resolve_presence(s);
        catalog_lay_out_args(s);
        catalog_derive_sql(s);
        catalog_list_required(s);
}

static void catalog_resolve(void)
{
        for (int k = 0; k < CATALOG_ENTITY_LAST; k++)
                catalog_resolve_entity(&catalog_schemas[k], &catalog_entities[k]);
}

const struct catalog_schema *catalog_schema(enum catalog_kind kind)
{
        if (kind < CATALOG_SITE || kind > CATALOG_ENTITY_LAST)
                return NULL;
        pthread_once(&catalog_resolved, catalog_resolve);
        return &catalog_schemas[kind - CATALOG_SITE];
}

const struct catalog_schema *catalog_schema_of(const Vigil__Change *c)
{
        pthread_once(&catalog_resolved, catalog_resolve);
        for (int k = 0; k < CATALOG_ENTITY_LAST; k++)
                if ((uint32_t)c->kind_case == catalog_schemas[k].change->id)
                        return &catalog_schemas[k];
        return NULL;
}

const struct catalog_entity *catalog_entity(enum catalog_kind kind)
{
        const struct catalog_schema *s = catalog_schema(kind);

        return s ? s->e : NULL;
}

const char *catalog_kind_name(enum catalog_kind kind)
{
        const struct catalog_schema *s = catalog_schema(kind);

        if (kind == CATALOG_CAMERA_STATUS)
                return "camera_status";
        return s ? s->e->name : NULL;
}

const char *catalog_table(enum catalog_kind kind)
{
        const struct catalog_schema *s = catalog_schema(kind);

        return s ? s->e->table : NULL;
}

const char *catalog_columns(enum catalog_kind kind)
{
        const struct catalog_schema *s = catalog_schema(kind);

        return s ? s->select : NULL;
}

int catalog_version_column(enum catalog_kind kind)
{
        const struct catalog_schema *s = catalog_schema(kind);

        return s ? s->version : -1;
}

int catalog_ncolumns(enum catalog_kind kind)
{
        const struct catalog_schema *s = catalog_schema(kind);

        return s ? s->n : 0;
}

bool catalog_column_derived(enum catalog_kind kind, int col)
{
        const struct catalog_schema *s = catalog_schema(kind);

        return s && col >= 0 && col < s->n && s->fields[col].source >= 0;
}

int catalog_column_index(enum catalog_kind kind, const char *name)
{
        const struct catalog_schema *s = catalog_schema(kind);

        for (int i = 0; s && i < s->n; i++)
                if (strcmp(s->e->columns[i].sql, name) == 0)
                        return i;
        return -1;
}

const char *catalog_type_sql(enum catalog_type type)
{
        return catalog_type_ops[type].sql;
}

enum catalog_kind catalog_kind_of(const Vigil__Change *c)
{
        const struct catalog_schema *s;

        if (c->kind_case == VIGIL__CHANGE__KIND_CAMERA_STATUS)
                return CATALOG_CAMERA_STATUS;
        s = catalog_schema_of(c);
        return s ? s->e->kind : CATALOG_NONE;
}

/* --- applying --- */

/* A status delta is not a row of the table: camera_status_apply() takes
 * the uplink and four arrays (id, status, version, change), no origin. */
static const char catalog_status_sql[] = "SELECT camera_status_apply($1, $2, $3, $4, $5)";
#define CATALOG_STATUS_ARGS 4

int catalog_apply_statement(enum catalog_kind kind, struct sqlarray *cols, const char *via,
                            const char *uplink, bool snapshot, const char **ret_sql,
                            const char **p, int *lens, int *fmts)
{
        const struct catalog_schema *s = catalog_schema(kind);
        int nargs, np = 0, i;

        if (cols[0].n == 0 || (!s && kind != CATALOG_CAMERA_STATUS))
                return 0;
        if (s) {
                *ret_sql = s->apply_sql;
                nargs = s->nargs;
                p[np++] = via;
                p[np++] = uplink;
                p[np++] = snapshot ? "t" : "f";
        } else {
                *ret_sql = catalog_status_sql;
                nargs = CATALOG_STATUS_ARGS;
                p[np++] = uplink;
        }
        for (i = 0; i < np; i++)
                lens[i] = fmts[i] = 0;
        for (i = 0; i < nargs; i++, np++)
                sqlarray_param(&cols[i], &p[np], &lens[np], &fmts[np]);
        return np;
}

void catalog_replica_flush(struct db_tx *tx, enum catalog_kind kind, struct sqlarray *cols,
                           const char *via, const char *uplink, bool snapshot)
{
        const char *p[CATALOG_MAX_PARAMS], *sql = NULL;
        int lens[CATALOG_MAX_PARAMS], fmts[CATALOG_MAX_PARAMS];
        int np = catalog_apply_statement(kind, cols, via, uplink, snapshot, &sql, p, lens, fmts);

        if (np == 0)
                return;
        db_tx_add(tx, sql, np, p, lens, fmts);
        for (int i = 0; i < CATALOG_MAX_COLUMNS; i++)
                sqlarray_reset(&cols[i]);
}

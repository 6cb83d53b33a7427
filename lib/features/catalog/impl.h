/* The catalog module's private header: the column tables (columns.c) as
 * the code uses them, each proto field resolved once into its descriptor,
 * and the operations on each column type. */
#pragma once

#include <protobuf-c/protobuf-c.h>

#include "features/catalog.h"

/* The column tables, indexed by kind - CATALOG_SITE (columns.c). */
extern const struct catalog_entity catalog_entities[CATALOG_ENTITY_LAST];

/* What each column type is and does. A table rather than a switch in every
 * operation (STYLE.md 20): adding a type is one row. */
struct catalog_type_ops {
        const char *sql;                /* as format_type() names it */
        ProtobufCType proto;            /* the proto field's type */
        enum sqlarray_type array;       /* binary element type; LITERAL: literals only */
        /* A string of a row (NULL: SQL NULL) into the field at BASE + FD. */
        void (*put)(char *base, const ProtobufCFieldDescriptor *fd, const char *v, bool null_false);
        /* The field, present or not, onto the argument array A. */
        void (*add)(struct sqlarray *a, const char *base, const ProtobufCFieldDescriptor *fd);
};

extern const struct catalog_type_ops catalog_type_ops[];

/* A column with its proto field resolved. */
struct catalog_field {
        const struct catalog_column *col;
        const struct catalog_type_ops *ops;
        const ProtobufCFieldDescriptor *fd;
        int arg;                        /* its argument array of *_apply() */
        int source;                     /* a presence column: its station-only column, else -1 */
};

/* An entity as the code uses it, derived from its column table once. */
struct catalog_schema {
        const struct catalog_entity *e;
        const ProtobufCMessageDescriptor *message;
        const ProtobufCFieldDescriptor *change;   /* the member of Change's oneof */
        const ProtobufCFieldDescriptor *removed;
        struct catalog_field fields[CATALOG_MAX_COLUMNS];
        int n;                          /* columns */
        int station, key, version;      /* their columns */
        int nargs;                      /* argument arrays, the change last */
        bool station_only;              /* has a station-only column */
        enum sqlarray_type arg_types[CATALOG_MAX_COLUMNS];
        char select[1024];              /* catalog_columns() */
        char apply_sql[512];            /* "SELECT camera_apply($1, …, $20)" */
        char incomplete[240];           /* "version, name, system or site" */
};

/** KIND's schema, or NULL (not an entity). Resolved on first use;
 *  aborts if a column table does not fit vigil.proto. */
const struct catalog_schema *catalog_schema(enum catalog_kind kind);
/** The schema whose message is Change member C->kind_case, or NULL. */
const struct catalog_schema *catalog_schema_of(const Vigil__Change *c);

/* Read a field of the generated struct at BASE by its descriptor. */
static inline bool catalog_field_present(const char *base, const ProtobufCFieldDescriptor *fd)
{
        if (fd->type == PROTOBUF_C_TYPE_STRING)
                return *(char *const *)(base + fd->offset) != NULL;
        return *(const protobuf_c_boolean *)(base + fd->quantifier_offset) != 0;
}

static inline const char *catalog_field_string(const char *base, const ProtobufCFieldDescriptor *fd)
{
        return *(char *const *)(base + fd->offset);
}

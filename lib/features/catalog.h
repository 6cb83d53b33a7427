/* catalog: the registry of sites, systems and cameras (Art 2) as it
 * replicates: encoding rows into Change messages, applying batches of them
 * at the district and the city (set-based: one statement per kind and
 * batch), and the catalog's part of a snapshot.
 *
 * Each entity is described once, by a column table
 * (lib/features/catalog/columns.c): one row per column of its SQL table, in
 * that table's order, naming the column, its proto field and type and how
 * an operator's value is checked. Everything else is derived from it: the
 * SELECT lists, the Change encoders and decoders (through protobuf-c's
 * field descriptors), the argument arrays and statements of the
 * site/system/camera_apply() functions, catalogctl's options and checks.
 * Adding a column is a line there, a field in vigil.proto and a column in
 * the SQL table (tests/unit/test_catalog_schema.c fails until all three
 * agree).
 *
 * The station side (registering, with the rules) is lib/control/catalogctl/;
 * the rules themselves are in schema/functions/catalog.sql, where the data lives. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/sqlarray.h"
#include "delivery/delivery.h"
#include "vigil.pb-c.h"

struct db_tx;
struct pg_result;

enum catalog_kind {
        CATALOG_NONE = 0,
        CATALOG_SITE,           /* the entities, in the order they replicate */
        CATALOG_SYSTEM,
        CATALOG_CAMERA,
        CATALOG_CAMERA_STATUS,  /* a camera's status alone: a fixed delta */
};

/* The entities with a column table: CATALOG_SITE … CATALOG_ENTITY_LAST. */
#define CATALOG_ENTITY_LAST CATALOG_CAMERA

/* Most argument arrays of an *_apply() function (and columns of a row);
 * every entity is checked against it when its table is first used. */
#define CATALOG_MAX_COLUMNS 20

/* --- the description of an entity --- */

/** A column's SQL type. It fixes the proto type the value travels as and
 *  the element type of its apply argument. */
enum catalog_type {
        CATALOG_TEXT,           /* text; proto string */
        CATALOG_INT8,           /* bigint; proto int64 */
        CATALOG_INT4,           /* integer; proto int32 (array literals only) */
        CATALOG_FLOAT8,         /* double precision; proto double */
        CATALOG_BOOL,           /* boolean; proto bool */
        CATALOG_DATE,           /* date; proto string YYYY-MM-DD (array literals only) */
};

/** What a column is to its entity. The *_apply() functions take the two
 *  leading columns (STATION and KEY, in table order), then the version,
 *  then `removed`, then the DATA columns in table order, then the change. */
enum catalog_role {
        CATALOG_DATA = 0,
        CATALOG_STATION,        /* the owning station: in the sender's subtree */
        CATALOG_KEY,            /* the entity's own key: a code, or the camera ID */
        CATALOG_VERSION,        /* the row's version */
};

/** How catalogctl checks a value an operator gives
 *  (lib/control/catalogctl/check.c). */
enum catalog_check {
        CATALOG_CHECK_NONE = 0,  /* not given by an operator */
        CATALOG_CHECK_TEXT,      /* at most 200 characters */
        CATALOG_CHECK_CATEGORY,  /* text, an Art 7 category: 7.1 to 7.12 */
        CATALOG_CHECK_CODE,      /* 1 to 64 of A-Z a-z 0-9 . _ - */
        CATALOG_CHECK_CAMERA_ID, /* GB/T 28181, type 131/132, this station's centre code (Art 15) */
        CATALOG_CHECK_NUMBER,    /* a finite number from min to max */
        CATALOG_CHECK_WHOLE,     /* a whole number from min to max */
        CATALOG_CHECK_YES_NO,    /* yes/no words, stored as t/f */
        CATALOG_CHECK_DATE,      /* YYYY-MM-DD */
        CATALOG_CHECK_CHOICE,    /* one of choices */
        CATALOG_CHECK_URL,       /* rtsp://, rtsps://, http:// or https:// */
};

/** One column: a row of an entity's column table. */
struct catalog_column {
        const char *sql;                /* the SQL table's column */
        const char *field;              /* the proto field; NULL: named as the column */
        enum catalog_type type;
        enum catalog_role role;
        bool null_false;                /* BOOL: NULL travels as false (NOT NULL DEFAULT false) */
        /* Art 19, 29(2): an address (and its credentials) held at the
         * station only. Never encoded into a change; a parent drops it
         * from one a child sends. What travels instead is PRESENCE, the
         * boolean column saying that the station holds one. */
        bool station_only;
        const char *presence;           /* station_only: its boolean column ("has_stream") */
        /* What an operator gives, and how it is checked: */
        const char *option;             /* CSV column and add/update option; NULL: none */
        enum catalog_check check;
        bool required;                  /* also on the wire, unless removed */
        double min, max;                /* NUMBER, WHOLE */
        const char *const *choices;     /* CHOICE: NULL-terminated */
        const char *article;            /* cited when refused */
};

/** One entity: its tables and its columns. */
struct catalog_entity {
        enum catalog_kind kind;
        const char *name;               /* "camera": commands and messages */
        const char *table;              /* "cameras" */
        const char *primary_key;        /* "id": snapshot order, the database test */
        const char *apply;              /* "camera_apply" */
        const char *change_field;       /* the member of Change's oneof: "camera" */
        bool binary;                    /* apply arguments as binary arrays (else literals) */
        const struct catalog_column *columns;
        int ncolumns;
};

/** KIND's entity (CATALOG_SITE … CATALOG_ENTITY_LAST), or NULL. The tables
 *  are checked against vigil.proto on first use (a column without its
 *  proto field aborts: a build that cannot work). Borrowed, static. */
const struct catalog_entity *catalog_entity(enum catalog_kind kind);
/** "site", "system", "camera", "camera_status"; NULL for CATALOG_NONE. */
const char *catalog_kind_name(enum catalog_kind kind);
/** The SQL table ("sites"), or NULL. */
const char *catalog_table(enum catalog_kind kind);
/** The SELECT list that catalog_encode_row() expects: every column of
 *  the entity's table, in its order ("station_id, code, …"), or NULL. */
const char *catalog_columns(enum catalog_kind kind);
/** Index of the version in catalog_columns(KIND), or -1. */
int catalog_version_column(enum catalog_kind kind);
/** Is column COL of KIND derived from the others (a station-only
 *  column's presence), so that no operator gives it and a row being
 *  changed leaves it out (it is worked out again)? */
bool catalog_column_derived(enum catalog_kind kind, int col);
/** Index of SQL column NAME in catalog_columns(KIND), or -1. */
int catalog_column_index(enum catalog_kind kind, const char *name);
/** Columns in catalog_columns(KIND) (0 for CATALOG_NONE/CAMERA_STATUS). */
int catalog_ncolumns(enum catalog_kind kind);
/** The SQL type of a column as PostgreSQL's format_type() names it
 *  ("double precision"). */
const char *catalog_type_sql(enum catalog_type type);

/** The catalog kind of change C, or CATALOG_NONE. */
enum catalog_kind catalog_kind_of(const Vigil__Change *c);

/* --- rows into changes --- */

/** Encode row I of RES, selected with catalog_columns(KIND), as a Change.
 *  VERSION < 0 takes the row's own; REMOVED makes a tombstone (the key,
 *  the version and `removed` only). Caller owns *RET. 0, -EINVAL (KIND
 *  has no columns), -ENOMEM or -EMSGSIZE. */
int catalog_encode_row(enum catalog_kind kind, const struct pg_result *res, int i, int64_t version,
                       bool removed, uint8_t **ret, size_t *ret_len);
/** The same for a row given as NVALS strings in the order of
 *  catalog_columns(KIND) (NULL is SQL NULL; missing ones are NULL). */
int catalog_encode_values(enum catalog_kind kind, const char *const *vals, int nvals, int64_t version,
                          bool removed, uint8_t **ret, size_t *ret_len);
/** Encode a CameraStatus change (a status alone, not the row). */
int catalog_encode_camera_status(const char *id, const char *status, int64_t version, uint8_t **ret,
                                 size_t *ret_len);

/* --- changes into the *_apply() functions --- */

/** Empty COLS (CATALOG_MAX_COLUMNS arrays) and give each argument array
 *  of KIND's *_apply() function its form (sqlarray_set_type).
 *  catalog_cols_add and catalog_replica_row do this themselves when COLS
 *  is empty. */
void catalog_cols_init(struct sqlarray *cols, enum catalog_kind kind);
/** Append change C (its raw bytes CHANGE, LEN) received from child VIA as one
 *  row to COLS (CATALOG_MAX_COLUMNS arrays). A row the child may not send
 *  (a station outside its subtree, a camera ID outside its station, a
 *  required field missing unless removed) is refused with -EBADMSG and a
 *  reason in ERR, and nothing is appended. An address it should not have
 *  sent (a station-only column: Art 19, 29(2)) is dropped: NULL in its
 *  array, true in its presence's, and the change re-encoded without it is
 *  what is forwarded (else CHANGE as it came). */
int catalog_replica_row(struct sqlarray *cols, const Vigil__Change *c, const char *via,
                        const uint8_t *change, size_t len, char *err, size_t errlen);
/** Append a row of KIND (NCOLS strings in the order of catalog_columns(),
 *  checked already: catalogctl's) and its encoded CHANGE to the argument
 *  arrays of the kind's *_apply() function, with VERSION (the row's own is
 *  not read). -EINVAL, appending nothing, if a value is not of its
 *  column's type (the rows come checked: a bug, not user input). */
int catalog_cols_add(struct sqlarray *cols, enum catalog_kind kind, const char *const *vals, int ncols,
                     int64_t version, bool removed, const uint8_t *change, size_t len);

/* Parameters of an applying statement: VIA, UPLINK, SNAPSHOT and the
 * argument arrays. */
#define CATALOG_MAX_PARAMS (3 + CATALOG_MAX_COLUMNS)

/** The statement applying the rows in COLS (of KIND) received from VIA
 *  (NULL: this station's own), forwarding to UPLINK (NULL at the city):
 *  "SELECT camera_apply($1, …)" into *RET_SQL (static) and its parameters
 *  into P, LENS, FMTS (CATALOG_MAX_PARAMS each; borrowed from COLS, valid
 *  until COLS changes). Returns the number of parameters, 0 if COLS is
 *  empty or KIND unknown. */
int catalog_apply_statement(enum catalog_kind kind, struct sqlarray *cols, const char *via,
                            const char *uplink, bool snapshot, const char **ret_sql,
                            const char **p, int *lens, int *fmts);
/** Add to TX the statement applying the rows in COLS (of KIND), then empty
 *  COLS. UPLINK (NULL at the city) receives what changed. */
void catalog_replica_flush(struct db_tx *tx, enum catalog_kind kind, struct sqlarray *cols,
                           const char *via, const char *uplink, bool snapshot);

/** Register the catalog's kinds of change (from children, set-based) and
 *  its snapshot sections (up: sites, systems, cameras) on D (kinds.c). */
void catalog_register(struct delivery *d);

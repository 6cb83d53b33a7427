/* catalogctl's private header: what its four parts share.
 *
 *   catalogctl.c  the command table; which entity a command is about; who may write
 *   check.c       one row's values checked against its column table; rejections
 *   write.c       batches (checked in the database, then applied), add, update,
 *                 remove, a status alone
 *   import.c      a chunk of CSV lines, checked or applied
 *   query.c       show, list, count, location-types (any tier)
 *
 * Every column an operator gives, and how it is checked, comes from the
 * entity's column table (lib/features/catalog/columns.c): nothing here
 * names a column by position. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "control/catalogctl.h"
#include "delivery/delivery.h"
#include "features/catalog.h"

struct db_tx;

/* Rows per applying statement, and most rows per import chunk. */
#define CATALOGCTL_BATCH 1000
#define CATALOGCTL_MAX_CHUNK 20000
/* Most columns an import's header may have. */
#define CATALOGCTL_MAX_HEADER 64

/* The entity a command is about, with where its columns are. */
struct catalogctl_entity {
        const struct catalog_entity *e;
        enum catalog_kind kind;
        const struct catalog_column *key;   /* the camera ID or the code */
        int key_col, station_col, version_col;
};

/** The entity of COMMAND ("camera.add": the camera) into *RET; false if
 *  none (the command table names only entities' commands). */
bool catalogctl_entity_of(const char *command, struct catalogctl_entity *ret);
/** The node's delivery: the commands' context (Q->ctx, control_add). */
struct delivery *catalogctl_delivery(const struct control_req *q);
/** May Q's user write the catalog here (an admin at a station)? If not,
 *  Q is refused, saying why, and freed. WHAT: "register", "change", … */
bool catalogctl_station_only(struct control_req *q, const char *what);

/* --- one row (check.c) --- */

/* A row being registered: values in the order of the entity's columns
 * (catalog_columns()), owned; NULL is none. */
struct catalogctl_row {
        char *v[CATALOG_MAX_COLUMNS];
        long line;                     /* CSV line, 0 for add/update */
        bool bad;
};

void catalogctl_row_clear(struct catalogctl_row *r);
/** Set column COL of R to a copy of VALUE (NULL: none). */
void catalogctl_row_set(struct catalogctl_row *r, int col, const char *value);
/** Set R's columns from Q's arguments named as their options. */
void catalogctl_row_from_args(const struct catalogctl_entity *e, const struct control_req *q,
                              struct catalogctl_row *r);

/* The refusals of a batch: what JSON "rejected" lists. */
struct catalogctl_rejections {
        json_t *list;                  /* [{line, field, error, article}], at most 1000 */
        size_t n;                      /* all of them */
};

/** Refuse row R (marking it bad): FIELD and ARTICLE may be NULL. */
void catalogctl_reject(struct catalogctl_rejections *rj, struct catalogctl_row *r, const char *field,
                       const char *article, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/** Normalise and check every value of R an operator gives, in column
 *  order; the first refused is rejected and false returned. STATION is
 *  this node's ID (camera IDs must carry its centre code). */
bool catalogctl_row_check(const char *station, const struct catalogctl_entity *e, struct catalogctl_row *r,
                          struct catalogctl_rejections *rj);
/** The article a refusal raised by the schema begins with ("Art 8(2)")
 *  into ART (size N); empty if none. */
void catalogctl_article(const char *msg, char *art, size_t n);
/** CHOICES as "a, b or c" into BUF (size N). */
void catalogctl_choices(const char *const *choices, char *buf, size_t n);

/* --- an import's header (import.c) --- */

/** Map the header's NH columns FIELDS to E's columns (MAP, NH entries);
 *  false, with the reason in M (size MLEN), if one is unknown or named
 *  twice. Pure: tests/fuzz/fuzz_import.c feeds it. */
bool catalogctl_import_header(const struct catalogctl_entity *e, char **fields, int nh, int *map, char *m,
                              size_t mlen);

/* --- a batch of rows (write.c) --- */

struct catalogctl_batch {
        struct control_req *q;
        struct catalogctl_entity e;
        struct catalogctl_row *rows;
        int n;
        bool apply;                    /* false: check only */
        bool skip_bad;
        bool trust_triggers;           /* no per-row database check: see catalogctl_batch_run */
        struct catalogctl_rejections rj;
        json_t *warnings;
        void (*done)(struct catalogctl_batch *b, int err, const char *msg);
};

/** A batch for Q of room for CAP rows (none used yet). Caller owns it
 *  (catalogctl_batch_free), as does DONE once called. */
struct catalogctl_batch *catalogctl_batch_new(struct control_req *q, const struct catalogctl_entity *e, int cap);
void catalogctl_batch_free(struct catalogctl_batch *b);
/** Check B's rows (here, then in the database) and, if B->apply, write
 *  the good ones; B->done runs once, with the outcome. */
void catalogctl_batch_run(struct catalogctl_batch *b);

/* --- the commands --- */

void catalogctl_add(struct control_req *q);
void catalogctl_update(struct control_req *q);
void catalogctl_remove(struct control_req *q);
void catalogctl_import(struct control_req *q);
void catalogctl_show(struct control_req *q);
void catalogctl_list(struct control_req *q);
void catalogctl_count(struct control_req *q);
void catalogctl_location_types(struct control_req *q);

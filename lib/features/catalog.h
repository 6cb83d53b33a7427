/* catalog: the registry of sites, systems and cameras (Art 2) as it
 * replicates: encoding rows into Change messages, applying batches of them
 * at the district and the city (set-based: one statement per kind and
 * batch), and the catalog's part of a snapshot.
 *
 * The station side (registering, with the rules) is catalogctl.c; the rules
 * themselves are in schema/003_catalog.sql, where the data lives. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/sqlarray.h"
#include "delivery/delivery.h"
#include "vigil.pb-c.h"

struct db_tx;

enum catalog_kind {
        CATALOG_NONE = 0,
        CATALOG_SITE,
        CATALOG_SYSTEM,
        CATALOG_CAMERA,
        CATALOG_CAMERA_STATUS,
};

#define CATALOG_MAX_COLUMNS 20

/** The catalog kind of change C, or CATALOG_NONE. */
enum catalog_kind catalog_kind_of(const Vigil__Change *c);

/** Append change C (its raw bytes CHANGE, LEN) received from child VIA as one
 *  row to COLS (CATALOG_MAX_COLUMNS arrays). A row the child may not send
 *  (a station outside its subtree, a camera ID outside its station) is
 *  refused with -EBADMSG and a reason in ERR, and nothing is appended. */
int catalog_replica_row(struct sqlarray *cols, const Vigil__Change *c, const char *via,
                        const uint8_t *change, size_t len, char *err, size_t errlen);
/** Add to TX the statement applying the rows in COLS (of KIND), then empty
 *  COLS. UPLINK (NULL at the city) receives what changed. */
void catalog_replica_flush(struct db_tx *tx, enum catalog_kind kind, struct sqlarray *cols,
                           const char *via, const char *uplink, bool snapshot);

/** Add to TX three SELECTs (sites, systems, cameras, in that order, each
 *  with the entity's column list) of the rows matching WHERE (CAMERA_WHERE
 *  for cameras), whose $1 is PARAM. */
void catalog_add_reads(struct db_tx *tx, const char *where, const char *camera_where, const char *param);
/** Encode a row given as strings in the order of the entity's column list
 *  (NULL is SQL NULL); VERSION < 0 takes the row's own; REMOVED makes a
 *  tombstone. Caller owns *RET. */
int catalog_encode_site(const char *const *vals, int64_t version, bool removed, uint8_t **ret, size_t *ret_len);
int catalog_encode_system(const char *const *vals, int64_t version, bool removed, uint8_t **ret,
                          size_t *ret_len);
int catalog_encode_camera(const char *const *vals, int64_t version, bool removed, uint8_t **ret,
                          size_t *ret_len);
/** Encode a CameraStatus change (a status alone, not the row). */
int catalog_encode_camera_status(const char *id, const char *status, int64_t version, uint8_t **ret,
                                 size_t *ret_len);
/** Empty COLS and give each argument array of KIND's *_apply() function
 *  its form (sqlarray_set_type). catalog_cols_add and catalog_replica_row
 *  do this themselves when COLS is empty. */
void catalog_cols_init(struct sqlarray *cols, enum catalog_kind kind);
/** Append a row of KIND (NCOLS strings in column-list order, the last being
 *  the version) and its encoded CHANGE to the argument arrays of the
 *  kind's *_apply() function. -EINVAL, appending nothing, if a value is not
 *  of its column's type (the rows come checked: a bug, not user input). */
int catalog_cols_add(struct sqlarray *cols, enum catalog_kind kind, const char *const *vals, int ncols,
                     int64_t version, bool removed, const uint8_t *change, size_t len);

/** The SELECT list that catalog_encode_*_row() expects, per table. */
extern const char catalog_site_columns[];
extern const char catalog_system_columns[];
extern const char catalog_camera_columns[];
struct pg_result;
/** Encode row I of a result selected with the matching column list;
 *  REMOVED makes a tombstone. Caller owns *RET. */
int catalog_encode_site_row(const struct pg_result *res, int i, int64_t version, bool removed,
                            uint8_t **ret, size_t *ret_len);
int catalog_encode_system_row(const struct pg_result *res, int i, int64_t version, bool removed,
                              uint8_t **ret, size_t *ret_len);
int catalog_encode_camera_row(const struct pg_result *res, int i, int64_t version, bool removed,
                              uint8_t **ret, size_t *ret_len);

/** Register the catalog's kinds of change (from children, set-based) and
 *  its snapshot sections (up: sites, systems, cameras) on D
 *  (catalog_kinds.c). */
void catalog_register(struct delivery *d);

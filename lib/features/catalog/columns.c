/* The one description of each catalog entity (Art 2): one row per column of
 * its SQL table, in that table's order (schema/002_catalog.sql; later
 * columns follow ALTER TABLE … ADD COLUMN, so after the version), with the
 * proto field it travels as (vigil.proto, by name) and how an operator's
 * value is checked. The node's own bookkeeping columns (updated_at, via,
 * snapshot_mark) never travel and are not here.
 *
 * A station-only column (an address: Art 19, 29(2)) names its presence
 * column, a boolean no operator gives: the station works it out from the
 * address, and it is all that goes up (schema/013_addresses_stay.sql).
 *
 * To add a column: a field in the proto message, a line here, the column
 * in a migration (and so an argument of the *_apply() function before
 * p_change). tests/unit/test_catalog_schema.c compares this table with the
 * database's; README.md "Catalog" documents the options for users. */
#include "features/catalog/impl.h"

static const char *const builder_classes[] = { "government", "private", NULL };
static const char *const statuses[] = { "online", "offline", "fault", "unknown", NULL };

static const struct catalog_column site_columns[] = {
        { "station_id", .type = CATALOG_TEXT, .role = CATALOG_STATION },
        { "code", .type = CATALOG_TEXT, .role = CATALOG_KEY,
          .option = "code", .check = CATALOG_CHECK_CODE, .required = true },
        { "name", .type = CATALOG_TEXT, .option = "name", .check = CATALOG_CHECK_TEXT, .required = true },
        { "address", .type = CATALOG_TEXT, .option = "address", .check = CATALOG_CHECK_TEXT },
        { "latitude", .type = CATALOG_FLOAT8, .option = "latitude", .check = CATALOG_CHECK_NUMBER,
          .min = -90, .max = 90 },
        { "longitude", .type = CATALOG_FLOAT8, .option = "longitude", .check = CATALOG_CHECK_NUMBER,
          .min = -180, .max = 180 },
        { "category", .type = CATALOG_TEXT, .option = "category", .check = CATALOG_CHECK_CATEGORY,
          .article = "Art 7" },
        { "location_type", .type = CATALOG_TEXT, .option = "location_type", .check = CATALOG_CHECK_CODE,
          .required = true },
        { "signage", .type = CATALOG_BOOL, .null_false = true, .option = "signage",
          .check = CATALOG_CHECK_YES_NO, .article = "Art 10" },
        { "owner", .type = CATALOG_TEXT, .option = "owner", .check = CATALOG_CHECK_TEXT },
        { "version", .type = CATALOG_INT8, .role = CATALOG_VERSION },
};

static const struct catalog_column system_columns[] = {
        { "station_id", .type = CATALOG_TEXT, .role = CATALOG_STATION },
        { "code", .type = CATALOG_TEXT, .role = CATALOG_KEY,
          .option = "code", .check = CATALOG_CHECK_CODE, .required = true },
        { "name", .type = CATALOG_TEXT, .option = "name", .check = CATALOG_CHECK_TEXT, .required = true },
        { "builder_class", .type = CATALOG_TEXT, .option = "builder_class", .check = CATALOG_CHECK_CHOICE,
          .required = true, .choices = builder_classes, .article = "Art 9" },
        { "responsible_entity", .type = CATALOG_TEXT, .option = "responsible_entity",
          .check = CATALOG_CHECK_TEXT, .required = true, .article = "Art 9" },
        { "maintainer", .type = CATALOG_TEXT, .option = "maintainer", .check = CATALOG_CHECK_TEXT,
          .article = "Art 21" },
        { "maintenance_agreement", .type = CATALOG_TEXT, .option = "maintenance_agreement",
          .check = CATALOG_CHECK_TEXT, .article = "Art 21" },
        { "installer", .type = CATALOG_TEXT, .option = "installer", .check = CATALOG_CHECK_TEXT,
          .article = "Art 14" },
        { "installer_licence", .type = CATALOG_TEXT, .option = "installer_licence",
          .check = CATALOG_CHECK_TEXT, .article = "Art 14" },
        { "commissioned_on", .type = CATALOG_DATE, .option = "commissioned_on", .check = CATALOG_CHECK_DATE,
          .article = "Art 11" },
        { "accepted_on", .type = CATALOG_DATE, .option = "accepted_on", .check = CATALOG_CHECK_DATE,
          .article = "Art 16" },
        /* Art 13; held at the station (Art 19, 29(2)): only that the
         * system has one goes up, as has_reserved_interface. */
        { "reserved_interface", .type = CATALOG_TEXT, .option = "reserved_interface",
          .check = CATALOG_CHECK_URL, .article = "Art 13", .station_only = true,
          .presence = "has_reserved_interface" },
        /* Art 23(6): footage is kept at least 15 days. */
        { "retention_days", .type = CATALOG_INT4, .option = "retention_days", .check = CATALOG_CHECK_WHOLE,
          .required = true, .min = 15, .max = 36500, .article = "Art 23(6)" },
        { "version", .type = CATALOG_INT8, .role = CATALOG_VERSION },
        { "has_reserved_interface", .type = CATALOG_BOOL, .null_false = true },
};

static const struct catalog_column camera_columns[] = {
        /* Art 15 is cited by the check itself, not when the ID is missing. */
        { "id", .type = CATALOG_TEXT, .role = CATALOG_KEY,
          .option = "id", .check = CATALOG_CHECK_CAMERA_ID, .required = true },
        { "station_id", .type = CATALOG_TEXT, .role = CATALOG_STATION },
        { "name", .type = CATALOG_TEXT, .option = "name", .check = CATALOG_CHECK_TEXT, .required = true },
        { "system_code", .type = CATALOG_TEXT, .option = "system", .check = CATALOG_CHECK_CODE,
          .required = true },
        { "site_code", .type = CATALOG_TEXT, .option = "site", .check = CATALOG_CHECK_CODE, .required = true },
        /* A camera's source address never leaves its station (Art 19,
         * 29(2); DESIGN.md "The gate"): has_stream goes up instead. */
        { "stream_url", .type = CATALOG_TEXT, .option = "stream_url", .check = CATALOG_CHECK_URL,
          .station_only = true, .presence = "has_stream" },
        { "codec", .type = CATALOG_TEXT, .option = "codec", .check = CATALOG_CHECK_TEXT },
        { "resolution", .type = CATALOG_TEXT, .option = "resolution", .check = CATALOG_CHECK_TEXT },
        { "latitude", .type = CATALOG_FLOAT8, .option = "latitude", .check = CATALOG_CHECK_NUMBER,
          .min = -90, .max = 90 },
        { "longitude", .type = CATALOG_FLOAT8, .option = "longitude", .check = CATALOG_CHECK_NUMBER,
          .min = -180, .max = 180 },
        { "bearing", .type = CATALOG_FLOAT8, .option = "bearing", .check = CATALOG_CHECK_NUMBER,
          .min = 0, .max = 359.999999 },
        { "field_of_view", .type = CATALOG_FLOAT8, .option = "field_of_view", .check = CATALOG_CHECK_NUMBER,
          .min = 0.000001, .max = 360 },
        { "ptz", .type = CATALOG_BOOL, .null_false = true, .option = "ptz", .check = CATALOG_CHECK_YES_NO },
        { "status", .type = CATALOG_TEXT, .option = "status", .check = CATALOG_CHECK_CHOICE,
          .choices = statuses },
        { "version", .type = CATALOG_INT8, .role = CATALOG_VERSION },
        { "has_stream", .type = CATALOG_BOOL, .null_false = true },
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Indexed by kind - CATALOG_SITE. Cameras, their status deltas and the
 * probes are what a link carries by the hundred thousand: their arguments
 * travel in PostgreSQL's binary array form. Sites and systems (few, with
 * dates) keep array literals. */
const struct catalog_entity catalog_entities[CATALOG_ENTITY_LAST] = {
        { CATALOG_SITE, "site", "sites", "station_id, code", "site_apply", "site", false,
          site_columns, N(site_columns) },
        { CATALOG_SYSTEM, "system", "systems", "station_id, code", "system_apply", "system", false,
          system_columns, N(system_columns) },
        { CATALOG_CAMERA, "camera", "cameras", "id", "camera_apply", "camera", true,
          camera_columns, N(camera_columns) },
};

_Static_assert(N(site_columns) <= CATALOG_MAX_COLUMNS - 2 && N(system_columns) <= CATALOG_MAX_COLUMNS - 2 &&
               N(camera_columns) <= CATALOG_MAX_COLUMNS - 2,
               "an entity's apply arguments (its columns, removed, change) exceed CATALOG_MAX_COLUMNS");

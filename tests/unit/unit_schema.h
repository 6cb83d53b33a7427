/* unit_schema.h: what the schema tests (test_migrate, test_catalog_apply)
 * share: a copy of the embedded file table, to change a file or add a
 * numbered migration, as the next version of the schema would. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/migrate.h"
#include "unit.h"
#include "unit_pg.h"

/* A copy of migrate_files with room for one more row; caller frees it. */
static inline struct migration *unit_schema_files(int *ret_n)
{
        struct migration *f = calloc((size_t)migrate_n_files + 1, sizeof(*f));

        CHECK(f);
        memcpy(f, migrate_files, (size_t)migrate_n_files * sizeof(*f));
        *ret_n = migrate_n_files;
        return f;
}

/* The row of FILES named NAME. */
static inline struct migration *unit_schema_find(struct migration *files, int n, const char *name)
{
        int i;

        for (i = 0; i < n; i++)
                if (strcmp(files[i].name, name) == 0)
                        return &files[i];
        fprintf(stderr, "no schema file %s\n", name);
        exit(1);
}

/* Add numbered migration NAME with text SQL to FILES (which has room for
 * it: unit_schema_files), after the other numbered ones. */
static inline void unit_schema_add_numbered(struct migration *files, int *n, const char *name, const char *sql)
{
        int i = 0;

        while (i < *n && files[i].kind != MIGRATION_FUNCTIONS)
                i++;
        memmove(&files[i + 1], &files[i], (size_t)(*n - i) * sizeof(*files));
        files[i] = (struct migration){ name, sql, MIGRATION_NUMBERED };
        (*n)++;
}

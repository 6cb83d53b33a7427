/* Fuzz target for a catalog import's header and row mapping (issue 17,
 * harness item 4): what catalogctl_import() does with the chunk vigilctl
 * sends before anything reaches the database: the header through
 * csv_split_line() and catalogctl_import_header(), each record through
 * csv_next(), its fields onto the entity's columns, and every value
 * through catalogctl_row_check() (the column table's normalising checks).
 *
 * Input: byte 0 chooses the entity (site, system, camera); then the
 * header up to the first newline; the rest is the rows. What is not UTF-8
 * is skipped: the daemon gets both in a JSON request.
 * Invariants (abort() is a finding): the header maps onto the entity's
 * columns or is refused with a reason; a row refused is marked bad; every
 * rejection listed has its reason (a JSON string: UTF-8). */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "control/catalogctl/impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STATION "43010401002000000001"

static const char *const commands[] = { "site.import", "system.import", "camera.import" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct catalogctl_entity e;
        struct catalogctl_rejections rj = { 0 };
        struct catalogctl_row r = { 0 };
        struct csv_reader rd;
        char *fields[CATALOGCTL_MAX_HEADER], m[300], *header, *rows;
        int map[CATALOGCTL_MAX_HEADER], nh, nf, i, records = 0;
        const uint8_t *nl;

        if (size < 1)
                return 0;
        if (!catalogctl_entity_of(commands[data[0] % 3], &e))
                abort();
        data++;
        size--;
        /* The header and the rows reach the daemon as JSON strings: NUL-terminated. */
        nl = memchr(data, '\n', size);
        header = strndup((const char *)data, nl ? (size_t)(nl - data) : size);
        rows = nl ? strndup((const char *)nl + 1, size - (size_t)(nl + 1 - data)) : strdup("");
        if (!header || !rows)
                goto out;
        {
                /* Both arrive in a JSON request, which jansson decoded: as
                 * the daemon, take only UTF-8 (what json_string accepts). */
                json_t *h = json_string(header), *b = json_string(rows);
                bool text = h && b;
                json_decref(h);
                json_decref(b);
                if (!text)
                        goto out;
        }
        nh = csv_split_line(header, fields, CATALOGCTL_MAX_HEADER);
        if (nh <= 0)
                goto out;
        if (!catalogctl_import_header(&e, fields, nh, map, m, sizeof(m))) {
                csv_free_fields(fields, nh);
                if (!m[0])
                        abort();        /* a refusal names its reason */
                goto out;
        }
        csv_free_fields(fields, nh);
        for (i = 0; i < nh; i++)
                if (map[i] < 0 || map[i] >= e.e->ncolumns)
                        abort();
        rj.list = json_array();
        csv_reader_init(&rd, rows, strlen(rows));
        /* A few hundred records are plenty to reach every check. */
        while (records++ < 256) {
                nf = csv_next(&rd, fields, CATALOGCTL_MAX_HEADER);
                if (nf == 0)
                        break;
                catalogctl_row_clear(&r);
                r.bad = false;
                r.line = rd.line;
                catalogctl_row_set(&r, e.station_col, STATION);
                if (nf < 0) {
                        catalogctl_reject(&rj, &r, NULL, NULL, "not valid CSV (an unterminated quote?)");
                        break;
                }
                if (nf != nh) {
                        catalogctl_reject(&rj, &r, NULL, NULL, "has %d fields, the header has %d", nf, nh);
                } else {
                        for (i = 0; i < nh; i++)
                                catalogctl_row_set(&r, map[i], fields[i]);
                        if (!catalogctl_row_check(STATION, &e, &r, &rj) && !r.bad)
                                abort();        /* refused, yet not marked bad */
                }
                csv_free_fields(fields, nf);
        }
        /* Every refusal listed names what is wrong. */
        for (i = 0; i < (int)json_array_size(rj.list); i++) {
                const char *why = json_string_value(json_object_get(json_array_get(rj.list, i), "error"));
                if (!why || !why[0])
                        abort();
        }
out:
        catalogctl_row_clear(&r);
        json_decref(rj.list);
        free(header);
        free(rows);
        return 0;
}

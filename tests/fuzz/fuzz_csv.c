/* Fuzz target for lib/csv.c: imported files and the rows vigilctl sends
 * are untrusted. Every record must parse or be refused, never crash, and
 * the reader must always make progress. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct csv_reader rd;
        char *fields[64];
        long last_line = 0;
        int n, i;

        csv_reader_init(&rd, (const char *)data, size);
        while ((n = csv_next(&rd, fields, 64)) > 0) {
                for (i = 0; i < n; i++) {
                        if (strlen(fields[i]) > CSV_MAX_FIELD)
                                abort();
                }
                csv_free_fields(fields, n);
                if (rd.line < last_line)
                        abort();
                last_line = rd.line;
        }
        if (rd.p > rd.end)
                abort();
        /* A header line too (NUL-terminated copy). */
        if (size < 4096) {
                char *line = malloc(size + 1);
                if (!line)
                        return 0;
                memcpy(line, data, size);
                line[size] = '\0';
                n = csv_split_line(line, fields, 64);
                if (n > 0)
                        csv_free_fields(fields, n);
                free(line);
        }
        return 0;
}

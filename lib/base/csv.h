/* csv: RFC 4180 records (commas, "quoted" fields with "" for a quote,
 * newlines inside quotes), read from a buffer without copying the whole of
 * it. Untrusted input: fuzzed by tests/fuzz/fuzz_csv.c. */
#pragma once

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define CSV_MAX_FIELD 65536

struct csv_reader {
        const char *p, *end;
        long line;                 /* 1-based line where the next record starts */
};

void csv_reader_init(struct csv_reader *rd, const char *buf, size_t len);
/** Read the next record into FIELDS (at most MAX; each malloc'd, free with
 *  csv_free_fields). Blank lines are skipped. Returns the number of fields,
 *  0 at the end, or -1 if the record is not valid CSV (an unterminated
 *  quote, a character after a closing quote, too many fields, a field over
 *  CSV_MAX_FIELD bytes); after -1 the reader is at the end. */
int csv_next(struct csv_reader *rd, char **fields, int max);
/** Parse LINE as one record (a header). Same results as csv_next. */
int csv_split_line(const char *line, char **fields, int max);
void csv_free_fields(char **fields, int n);
/** Read one record from F (a quote may span lines) into *BUF (grown as
 *  needed, size *CAP; caller owns it), ending in a newline (one is added
 *  if the file's last record has none) and NUL-terminated. Returns the
 *  record's length, 0 at the end of the file, -ENOMEM. *LINES counts
 *  physical lines. vigilctl's import reads its files with it. */
ssize_t csv_read_record(FILE *f, char **buf, size_t *cap, long *lines);

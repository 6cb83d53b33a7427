/* sqlarray: PostgreSQL array literals ("{a,b,NULL}") built element by
 * element, for set-based statements that take one array per column
 * (`unnest($1::text[], $2::bigint[], …)`): a thousand rows become one
 * statement instead of a thousand. Text elements are quoted and escaped;
 * bytea elements are written in hex. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sqlarray {
        char *buf;
        size_t len, cap;
        size_t n;       /* elements */
};

/** Empty A, keeping its memory. */
void sqlarray_reset(struct sqlarray *a);
void sqlarray_deinit(struct sqlarray *a);
/** The literal, "{}" when empty. Borrowed: valid until A changes. */
const char *sqlarray_get(struct sqlarray *a);

void sqlarray_add_null(struct sqlarray *a);
/** A string element; NULL adds SQL NULL. */
void sqlarray_add_text(struct sqlarray *a, const char *s);
void sqlarray_add_bytea(struct sqlarray *a, const uint8_t *b, size_t len);
void sqlarray_add_int64(struct sqlarray *a, int64_t v);
/** PRESENT false adds NULL. */
void sqlarray_add_double(struct sqlarray *a, bool present, double v);
void sqlarray_add_bool(struct sqlarray *a, bool present, bool v);

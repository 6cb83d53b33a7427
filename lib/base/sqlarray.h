/* sqlarray: PostgreSQL arrays built element by element, for set-based
 * statements that take one array per column (`unnest($1::text[],
 * $2::bigint[], …)`): a thousand rows become one statement instead of a
 * thousand.
 *
 * Two forms. By default an array literal ("{a,b,NULL}", text format: text
 * quoted and escaped, bytea in hex). Given an element type
 * (sqlarray_set_type), PostgreSQL's binary array format instead: no
 * quoting, hex or number formatting here and no parsing in the server,
 * which is most of what a replicated camera costs besides the insert
 * itself (tests/bench/catalog-sync). Pass an array as a parameter with
 * sqlarray_param(), which gives the length and format to go with it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Element types of the binary form (PostgreSQL type OIDs). */
enum sqlarray_type {
        SQLARRAY_LITERAL = 0,   /* the text-format literal */
        SQLARRAY_BOOL = 16,
        SQLARRAY_BYTEA = 17,
        SQLARRAY_INT8 = 20,
        SQLARRAY_TEXT = 25,
        SQLARRAY_FLOAT8 = 701,
};

struct sqlarray {
        char *buf;
        size_t len, cap;
        size_t n;       /* elements */
        enum sqlarray_type type;
        bool has_null;
};

/** Use the binary form with elements of type T from now on (kept across
 *  sqlarray_reset). A must be empty. */
void sqlarray_set_type(struct sqlarray *a, enum sqlarray_type t);
/** Empty A, keeping its memory and type. */
void sqlarray_reset(struct sqlarray *a);
void sqlarray_deinit(struct sqlarray *a);
/** The literal, "{}" when empty; or the binary array. Borrowed: valid
 *  until A changes. */
const char *sqlarray_get(struct sqlarray *a);
/** A as statement parameter: *VALUE (borrowed, as sqlarray_get), *LENGTH
 *  and *FORMAT (0 text, 1 binary) for db_tx_add(). */
void sqlarray_param(struct sqlarray *a, const char **value, int *length, int *format);

void sqlarray_add_null(struct sqlarray *a);
/** A string element; NULL adds SQL NULL. */
void sqlarray_add_text(struct sqlarray *a, const char *s);
void sqlarray_add_bytea(struct sqlarray *a, const uint8_t *b, size_t len);
void sqlarray_add_int64(struct sqlarray *a, int64_t v);
/** PRESENT false adds NULL. */
void sqlarray_add_double(struct sqlarray *a, bool present, double v);
void sqlarray_add_bool(struct sqlarray *a, bool present, bool v);
/** An element given as text (as PostgreSQL prints it: "t", "28.5", …),
 *  converted to A's type; NULL adds SQL NULL. -EINVAL, adding nothing, if
 *  S is not a value of that type. */
int sqlarray_add_parsed(struct sqlarray *a, const char *s);

/* Reading a one-dimensional array from a binary result (PostgreSQL's
 * array_send format), element by element, without copying. */
struct sqlarray_reader {
        const uint8_t *p, *end;
        uint32_t left;  /* elements not yet read */
};

/** Start reading BUF (LEN bytes). Returns the number of elements, or
 *  -EBADMSG if BUF is not a one-dimensional binary array. */
int sqlarray_reader_init(struct sqlarray_reader *r, const void *buf, size_t len);
/** The next element: 1 with *RET (borrowed from BUF; NULL for SQL NULL)
 *  and *RET_LEN, 0 at the end, -EBADMSG if BUF is cut short. */
int sqlarray_reader_next(struct sqlarray_reader *r, const uint8_t **ret, size_t *ret_len);

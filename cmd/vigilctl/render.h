/* render: human output of vigilctl — aligned tables and key: value lines
 * built from the JSON documents the node answers with (CONTRACT.md).
 *
 * Strings from the network are printed with control characters replaced, so
 * a hostile node name cannot move the operator's cursor; widths count East
 * Asian wide characters (node names may be Chinese) as two columns. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

struct render_table;

/** A table with NCOLS columns and these HEADERS (copied). Caller owns the
 *  result (render_table_free). NULL on allocation failure. */
struct render_table *render_table_new(size_t ncols, const char *const *headers);
void render_table_free(struct render_table *t);
/** Append a row of NCOLS cells (copied; NULL prints "-"). The first cell is
 *  indented by 2*INDENT spaces. 0 or -ENOMEM. */
int render_table_add(struct render_table *t, size_t indent, const char *const *cells);
/** Print the header and rows, columns two spaces apart, no trailing blanks. */
void render_table_print(const struct render_table *t, FILE *out);

/** Terminal columns S takes (UTF-8; wide characters count two). */
size_t render_width(const char *s);

/** One JSON value as a table cell into BUF (size N): strings as they are,
 *  numbers, yes/no, arrays of strings joined by ',', "-" for null. */
void render_cell(char *buf, size_t n, const json_t *v);
/** An array of objects as a table of the columns KEYS, headed HEADS (at
 *  most 8); "(none)" if empty. A key "a|b" shows a, or b where a is null
 *  (stream_url|has_stream: the address where it is shown, else yes/no).
 *  0 or -EBADMSG. */
int render_json_rows(FILE *out, const json_t *doc, const char *const *keys, const char *const *heads, size_t n);

/** `status`: key: value lines and a table of children. 0 or -EBADMSG. */
int render_status(FILE *out, const json_t *doc);
/** `tree`: ID, TIER, NAME, PARENT, STATE, LAST SEEN, CAMERAS; parents
 *  before their children (siblings by ID), IDs indented by depth. Nodes whose
 *  parent is not in DOC are roots. 0 or -EBADMSG. */
int render_tree(FILE *out, const json_t *doc);
/** A node's state: "online", "offline" or "stale (last seen T)". Writes
 *  into BUF (size N) and returns it. */
const char *render_node_state(char *buf, size_t n, const json_t *node);
/** An ISO-8601 UTC time as "YYYY-MM-DD HH:MM:SSZ" into BUF; "-" for NULL. */
const char *render_time(char *buf, size_t n, const char *iso);

/* import: one chunk of a CSV file (vigilctl streams the file in chunks,
 * checked first, then applied), its columns named by a header in any
 * order, as the entity's column table names its options. */
#include "control/catalogctl/impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"
#include "base/log.h"
#include "delivery/delivery.h"

static void catalogctl_on_imported(struct catalogctl_batch *b, int err, const char *msg)
{
        struct control_req *q = b->q;
        json_t *doc;
        int i, good = 0;

        if (err) {
                char e[600], art[24];
                catalogctl_article(msg, art, sizeof(art));
                snprintf(e, sizeof(e), "import failed: %s", msg);
                control_reply(q, CONTROL_REFUSED, NULL, e, art[0] ? art : NULL);
        } else {
                for (i = 0; i < b->n; i++)
                        good += !b->rows[i].bad;
                doc = json_object();
                json_object_set_new(doc, "checked", json_integer(b->n));
                json_object_set_new(doc, "imported",
                                    json_integer(b->apply && (b->rj.n == 0 || b->skip_bad) ? good : 0));
                json_object_set_new(doc, "rejected_count", json_integer((json_int_t)b->rj.n));
                json_object_set_new(doc, "rejected", json_incref(b->rj.list));
                json_object_set_new(doc, "warnings", json_incref(b->warnings));
                control_reply(q, CONTROL_OK, doc, NULL, NULL);
        }
        free(q);
        catalogctl_batch_free(b);
}

/* The column of E whose option NAME is, or -1. */
static int option_column(const struct catalogctl_entity *e, const char *name)
{
        for (int k = 0; k < e->e->ncolumns; k++)
                if (e->e->columns[k].option && strcmp(name, e->e->columns[k].option) == 0)
                        return k;
        return -1;
}

/* Unknown columns are refused so that a typo does not silently drop
 * data. */
bool catalogctl_import_header(const struct catalogctl_entity *e, char **fields, int nh, int *map, char *m, size_t mlen)
{
        for (int i = 0; i < nh; i++) {
                int dup = -1;
                map[i] = option_column(e, fields[i]);
                /* A column named twice would fill one value from two
                 * places: which one wins is no answer to give a user. */
                for (int k = 0; k < i && map[i] >= 0; k++)
                        if (map[k] == map[i])
                                dup = k;
                if (map[i] < 0) {
                        snprintf(m, mlen, "line 1, column %d: unknown column \"%s\" for a %s file", i + 1, fields[i],
                                 e->e->name);
                        return false;
                }
                if (dup >= 0) {
                        snprintf(m, mlen, "line 1, column %d: column \"%s\" appears twice (also column %d)", i + 1,
                                 fields[i], dup + 1);
                        return false;
                }
        }
        return true;
}

void catalogctl_import(struct control_req *q)
{
        struct catalogctl_entity e;
        struct delivery *n = catalogctl_delivery(q);
        const char *header = control_arg(q, "header"), *rows = control_arg(q, "rows");
        const char *first = control_arg(q, "first_line"), *mode = control_arg(q, "mode");
        const char *skip = control_arg(q, "skip_bad");
        /* One entry per header column: a header has at most
         * CATALOGCTL_MAX_HEADER columns (csv_split_line refuses more). */
        int map[CATALOGCTL_MAX_HEADER];
        char *fields[CATALOGCTL_MAX_HEADER], m[300];
        int nf, nh, i;
        struct catalogctl_batch *b;
        struct csv_reader rd;
        long line;

        vigil_require(catalogctl_entity_of(q->msg->command, &e));
        if (!catalogctl_station_only(q, "register"))
                return;
        if (!header || !rows) {
                control_reply(q, CONTROL_USAGE, NULL, "import needs a header and rows", NULL);
                free(q);
                return;
        }
        nh = csv_split_line(header, fields, CATALOGCTL_MAX_HEADER);
        if (nh <= 0) {
                control_reply(q, CONTROL_REFUSED, NULL, "line 1: the header is not valid CSV (or has more than "
                              "64 columns)", NULL);
                free(q);
                return;
        }
        if (!catalogctl_import_header(&e, fields, nh, map, m, sizeof(m))) {
                csv_free_fields(fields, nh);
                control_reply(q, CONTROL_REFUSED, NULL, m, NULL);
                free(q);
                return;
        }
        csv_free_fields(fields, nh);
        b = catalogctl_batch_new(q, &e, CATALOGCTL_MAX_CHUNK);
        b->apply = mode && strcmp(mode, "apply") == 0;
        b->skip_bad = skip && strcmp(skip, "true") == 0;
        b->trust_triggers = true;
        b->done = catalogctl_on_imported;
        line = first ? strtol(first, NULL, 10) : 2;
        csv_reader_init(&rd, rows, strlen(rows));
        while (b->n < CATALOGCTL_MAX_CHUNK) {
                struct catalogctl_row *r = &b->rows[b->n];
                long at = line + rd.line - 1;
                nf = csv_next(&rd, fields, CATALOGCTL_MAX_HEADER);
                if (nf == 0)
                        break;
                r->line = at;
                catalogctl_row_set(r, e.station_col, n->cfg->node_id);
                if (nf < 0) {
                        catalogctl_reject(&b->rj, r, NULL, NULL, "not valid CSV (an unterminated quote?)");
                        b->n++;
                        break;
                }
                if (nf != nh) {
                        catalogctl_reject(&b->rj, r, NULL, NULL, "has %d fields, the header has %d", nf, nh);
                } else {
                        for (i = 0; i < nh; i++)
                                catalogctl_row_set(r, map[i], fields[i]);
                }
                csv_free_fields(fields, nf);
                b->n++;
        }
        /* More rows than a chunk holds: refused whole, never cut short
         * (issue 17, small ones: the rows past the limit were dropped
         * without a word). vigilctl sends far fewer; a client whose idea
         * of a record differs from this reader's (a bare CR ends a row
         * here) can still send more. */
        if (b->n == CATALOGCTL_MAX_CHUNK && (nf = csv_next(&rd, fields, CATALOGCTL_MAX_HEADER)) != 0) {
                if (nf > 0)
                        csv_free_fields(fields, nf);
                snprintf(m, sizeof(m), "lines %ld and on: a chunk of an import holds at most %d rows, this one "
                         "has more; nothing of it was imported (do its rows end in a bare CR? save the file "
                         "with LF or CRLF line ends)", line, CATALOGCTL_MAX_CHUNK);
                catalogctl_batch_free(b);
                control_reply(q, CONTROL_REFUSED, NULL, m, NULL);
                free(q);
                return;
        }
        catalogctl_batch_run(b);
}

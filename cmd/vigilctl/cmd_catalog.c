/* cmd_catalog: sites, systems and cameras (Art 2) — register at the
 * station, read at any tier, import CSV files. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "base/csv.h"
#include "client/ctlclient.h"
#include "base/keyset.h"
#include "render.h"

/* Records per import request. */
#define IMPORT_CHUNK 5000

/* --- rendering --- */

/* One object as "key: value" lines. */
static int render_object(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        const char *key;
        json_t *v;
        char buf[512];
        size_t w = 0;

        if (!json_is_object(doc))
                return -EBADMSG;
        json_object_foreach((json_t *)doc, key, v)
                if (strlen(key) > w)
                        w = strlen(key);
        json_object_foreach((json_t *)doc, key, v) {
                render_cell(buf, sizeof(buf), v);
                fprintf(out, "%s:%*s %s\n", key, (int)(w - strlen(key)), "", buf);
        }
        return 0;
}

static int render_cameras(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        /* The address at its station for its admins; elsewhere only
         * whether there is one (Art 19, 29(2)). */
        static const char *const keys[] = { "id", "name", "station", "category", "status", "stream_url|has_stream" };
        static const char *const heads[] = { "ID", "NAME", "STATION", "CATEGORY", "STATUS", "STREAM" };

        return render_json_rows(out, doc, keys, heads, 6);
}

static int render_sites(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "station_id", "code", "name", "category", "location_type", "signage" };
        static const char *const heads[] = { "STATION", "CODE", "NAME", "CATEGORY", "LOCATION", "SIGN" };

        return render_json_rows(out, doc, keys, heads, 6);
}

static int render_systems(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "station_id", "code", "name", "builder_class", "responsible_entity",
                                            "retention_days", "reserved_interface|has_reserved_interface" };
        static const char *const heads[] = { "STATION", "CODE", "NAME", "BUILDER", "RESPONSIBLE", "RETENTION",
                                             "RESERVED INTERFACE" };

        return render_json_rows(out, doc, keys, heads, 7);
}

static int render_location_types(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "code", "article", "description" };
        static const char *const heads[] = { "LOCATION TYPE", "FORBIDDEN BY", "DESCRIPTION" };

        return render_json_rows(out, doc, keys, heads, 3);
}

static int render_count(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        json_t *c = json_object_get(doc, "count");

        if (!json_is_integer(c))
                return -EBADMSG;
        fprintf(out, "%lld camera%s\n", (long long)json_integer_value(c), json_integer_value(c) == 1 ? "" : "s");
        return 0;
}

static void render_warnings(FILE *out, const json_t *doc)
{
        size_t i;
        json_t *w;

        json_array_foreach(json_object_get(doc, "warnings"), i, w)
                fprintf(out, "flagged: %s: %s (%s)\n", json_string_value(json_object_get(w, "article")),
                        json_string_value(json_object_get(w, "warning")),
                        json_string_value(json_object_get(w, "code")));
}

static int render_written(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        const json_t *id = json_object_get(doc, "id");

        if (!id)
                id = json_object_get(doc, "code");
        if (!json_is_string(id))
                return -EBADMSG;
        if (json_is_true(json_object_get(doc, "removed")))
                fprintf(out, "Removed %s.\n", json_string_value(id));
        else
                fprintf(out, "Registered %s.\n", json_string_value(id));
        render_warnings(out, doc);
        return 0;
}

/* --- import --- */

struct import {
        const struct cmd_ctx *ctx;
        struct ctlclient *client;
        const char *wire;
        const char *path;
        bool skip_bad;
        long records, bytes_total;
        json_t *rejected;
        json_t *warnings;
        long imported, checked, rejected_count;
        char endpoint[256];
        /* A key repeated across chunks (the node sees one chunk at a time):
         * found in the check pass, its lines left out of both passes. */
        const char *key_name;          /* "id" or "code" */
        int key_col;                   /* in the header, -1 if absent */
        struct keyset *keys;
        long *dups;                    /* lines of repeated keys, ascending */
        size_t ndups, dups_cap, next_dup;
};

static void import_progress(struct import *im, long done_bytes, const char *phase, bool end)
{
        int width = 30, filled;
        double frac;

        if (im->ctx->json || !isatty(fileno(stderr)) || im->bytes_total <= 0)
                return;
        frac = (double)done_bytes / (double)im->bytes_total;
        if (frac > 1)
                frac = 1;
        filled = (int)(frac * width);
        fprintf(stderr, "\r%-9s [%.*s%*s] %3d%%  %ld records", phase, filled,
                "##############################", width - filled, "", (int)(frac * 100), im->records);
        if (end)
                fputc('\n', stderr);
        fflush(stderr);
}

static int import_timeout(const struct import *im)
{
        return im->ctx->timeout_ms < 60000 ? 60000 : im->ctx->timeout_ms;
}

/* Send one chunk; its reply is collected later (import_collect). */
static int import_send(struct import *im, const char *header, const char *rows, long first_line, bool apply,
                       uint64_t *ret_id)
{
        const char *names[5] = { "header", "rows", "first_line", "mode", "skip_bad" };
        const char *values[5];
        char first[24];
        int r;

        snprintf(first, sizeof(first), "%ld", first_line);
        values[0] = header;
        values[1] = rows;
        values[2] = first;
        values[3] = apply ? "apply" : "check";
        values[4] = im->skip_bad ? "true" : "false";
        r = ctlclient_send_request(im->client, im->wire, names, values, 5, import_timeout(im), ret_id);
        if (r < 0)
                return cmd_fail(im->ctx, CMD_EXIT_FAILED, NULL, "%s: could not send to %s while importing (%s)",
                                im->path, im->endpoint, strerror(-r));
        return 0;
}

/* Wait for the reply to chunk ID and add it to the totals. */
static int import_collect(struct import *im, uint64_t id, bool apply)
{
        Vigil__ControlReply *reply = NULL;
        json_error_t jerr;
        json_t *doc, *v;
        size_t i;
        int r;

        r = ctlclient_wait_reply(im->client, id, import_timeout(im), &reply);
        if (r < 0)
                return cmd_fail(im->ctx, CMD_EXIT_FAILED, NULL, "%s: no answer from %s while importing (%s)",
                                im->path, im->endpoint, strerror(-r));
        if (reply->status != 0 || !reply->json) {
                r = cmd_fail_rule(im->ctx, CMD_EXIT_FAILED, reply->article, reply->rule, "%s: %s", im->path,
                             reply->error ? reply->error : "import refused");
                vigil__control_reply__free_unpacked(reply, NULL);
                return r;
        }
        doc = json_loads(reply->json, 0, &jerr);
        vigil__control_reply__free_unpacked(reply, NULL);
        if (!doc)
                return cmd_fail(im->ctx, CMD_EXIT_FAILED, NULL, "%s: unreadable reply", im->path);
        if (!apply) {
                im->checked += (long)json_integer_value(json_object_get(doc, "checked"));
                im->rejected_count += (long)json_integer_value(json_object_get(doc, "rejected_count"));
                json_array_foreach(json_object_get(doc, "rejected"), i, v)
                        if (json_array_size(im->rejected) < 1000)
                                json_array_append(im->rejected, v);
                json_array_foreach(json_object_get(doc, "warnings"), i, v)
                        if (json_array_size(im->warnings) < 1000)
                                json_array_append(im->warnings, v);
        } else {
                im->imported += (long)json_integer_value(json_object_get(doc, "imported"));
        }
        json_decref(doc);
        return 0;
}

/* Chunks in flight: the node parses and checks the next chunk while its
 * database writes the last one. The node answers them in order (one
 * database connection, first in, first out). */
#define IMPORT_IN_FLIGHT 2

struct import_window {
        uint64_t id[IMPORT_IN_FLIGHT];
        int head, n;
};

/* Collect the oldest reply in flight. */
static int import_window_pop(struct import *im, struct import_window *w, bool apply)
{
        uint64_t id = w->id[w->head];

        w->head = (w->head + 1) % IMPORT_IN_FLIGHT;
        w->n--;
        return import_collect(im, id, apply);
}

/* Send a chunk, first making room in the window. */
static int import_window_send(struct import *im, struct import_window *w, const char *header,
                              const char *rows, long first_line, bool apply)
{
        uint64_t id;
        int r;

        if (w->n == IMPORT_IN_FLIGHT && (r = import_window_pop(im, w, apply)) != 0)
                return r;
        r = import_send(im, header, rows, first_line, apply, &id);
        if (r)
                return r;
        w->id[(w->head + w->n) % IMPORT_IN_FLIGHT] = id;
        w->n++;
        return 0;
}

/* Collect every reply still in flight. After failure R, only to count
 * truly what was imported: their errors are not reported again, and a
 * node that stopped answering is not waited for long. */
static int import_window_drain(struct import *im, struct import_window *w, bool apply, int r)
{
        while (w->n > 0) {
                Vigil__ControlReply *reply = NULL;
                uint64_t id;

                if (!r) {
                        r = import_window_pop(im, w, apply);
                        continue;
                }
                id = w->id[w->head];
                w->head = (w->head + 1) % IMPORT_IN_FLIGHT;
                w->n--;
                if (ctlclient_wait_reply(im->client, id, 5000, &reply) < 0)
                        continue;
                if (apply && reply->status == 0 && reply->json) {
                        json_t *doc = json_loads(reply->json, 0, NULL);
                        im->imported += (long)json_integer_value(json_object_get(doc, "imported"));
                        json_decref(doc);
                }
                vigil__control_reply__free_unpacked(reply, NULL);
        }
        return r;
}

/* The key column of HEADER (-1 if none: the node then refuses the file). */
static int import_key_col(const char *header, const char *name)
{
        char *fields[64];
        int n = csv_split_line(header, fields, 64), i, col = -1;

        for (i = 0; i < n; i++)
                if (col < 0 && strcmp(fields[i], name) == 0)
                        col = i;
        if (n > 0)
                csv_free_fields(fields, n);
        return col;
}

static void import_reject(struct import *im, long line, const char *field, const char *error)
{
        json_t *o = json_object();

        json_object_set_new(o, "line", json_integer(line));
        json_object_set_new(o, "field", json_string(field));
        json_object_set_new(o, "error", json_string(error));
        json_object_set_new(o, "article", json_null());
        if (json_array_size(im->rejected) < 1000)
                json_array_append(im->rejected, o);
        json_decref(o);
        im->rejected_count++;
}

/* Is the record REC (starting on LINE) to be left out? In the check pass:
 * if its key was on an earlier line (a rejection naming both lines). In
 * the apply pass: if the check pass said so. */
static bool import_drop(struct import *im, const char *rec, size_t len, long line, bool apply)
{
        struct csv_reader rd;
        char *fields[64], msg[160];
        long first = 0;
        int nf;

        if (apply) {
                while (im->next_dup < im->ndups && im->dups[im->next_dup] < line)
                        im->next_dup++;
                return im->next_dup < im->ndups && im->dups[im->next_dup] == line;
        }
        if (im->key_col < 0 || !im->keys)
                return false;
        csv_reader_init(&rd, rec, len);
        nf = csv_next(&rd, fields, 64);
        if (nf > im->key_col && fields[im->key_col][0])
                first = keyset_add(im->keys, fields[im->key_col], line);
        if (first > 0)
                snprintf(msg, sizeof(msg), "%s %s appears twice: already on line %ld", im->key_name,
                         fields[im->key_col], first);
        if (nf > 0)
                csv_free_fields(fields, nf);
        if (first <= 0)
                return false;
        import_reject(im, line, im->key_name, msg);
        if (im->ndups == im->dups_cap) {
                im->dups_cap = im->dups_cap ? im->dups_cap * 2 : 64;
                im->dups = realloc(im->dups, im->dups_cap * sizeof(*im->dups));
                if (!im->dups)
                        abort();
        }
        im->dups[im->ndups++] = line;
        return true;
}

/* One pass over the file: check (apply false) or apply. */
static int import_pass(struct import *im, bool apply)
{
        FILE *f = fopen(im->path, "r");
        char *rec = NULL, *header = NULL, *chunk = NULL;
        size_t cap = 0, chunk_len = 0, chunk_cap = 0;
        long lines = 0, first_line = 2, done = 0, n = 0;
        struct import_window w = { 0 };
        ssize_t len;
        int r = 0;

        if (!f)
                return cmd_fail(im->ctx, CMD_EXIT_FAILED, NULL, "%s: %s", im->path, strerror(errno));
        len = csv_read_record(f, &rec, &cap, &lines);
        if (len <= 0) {
                fclose(f);
                free(rec);
                return cmd_fail(im->ctx, CMD_EXIT_FAILED, NULL, "%s: empty file (line 1 must be the header)",
                                im->path);
        }
        rec[strcspn(rec, "\r\n")] = '\0';
        /* "CSV UTF-8" from spreadsheets starts with a byte-order mark. */
        header = strdup(strncmp(rec, "\xef\xbb\xbf", 3) == 0 ? rec + 3 : rec);
        done += len;
        im->records = 0;
        im->key_col = import_key_col(header, im->key_name);
        im->next_dup = 0;
        for (;;) {
                long at = lines + 1;  /* where this record starts */
                if ((len = csv_read_record(f, &rec, &cap, &lines)) <= 0)
                        break;
                if (import_drop(im, rec, (size_t)len, at, apply)) {
                        /* Left out: what was gathered goes now, so that the
                         * node numbers the lines after it right. */
                        done += len;
                        im->records++;
                        if (n > 0) {
                                r = import_window_send(im, &w, header, chunk, first_line, apply);
                                if (r)
                                        goto out;
                        }
                        first_line = lines + 1;
                        chunk_len = 0;
                        n = 0;
                        continue;
                }
                if (chunk_len + (size_t)len + 1 > chunk_cap) {
                        chunk_cap = (chunk_len + (size_t)len + 1) * 2;
                        chunk = realloc(chunk, chunk_cap);
                        if (!chunk) {
                                r = cmd_fail(im->ctx, CMD_EXIT_FAILED, NULL, "out of memory");
                                goto out;
                        }
                }
                memcpy(chunk + chunk_len, rec, (size_t)len + 1);
                chunk_len += (size_t)len;
                done += len;
                n++;
                im->records++;
                if (n == IMPORT_CHUNK) {
                        r = import_window_send(im, &w, header, chunk, first_line, apply);
                        if (r)
                                goto out;
                        first_line = lines + 1;
                        chunk_len = 0;
                        n = 0;
                        import_progress(im, done, apply ? "importing" : "checking", false);
                }
        }
        if (n > 0)
                r = import_window_send(im, &w, header, chunk, first_line, apply);
out:
        r = import_window_drain(im, &w, apply, r);
        if (!r)
                import_progress(im, done, apply ? "importing" : "checking", true);
        fclose(f);
        free(rec);
        free(header);
        free(chunk);
        return r;
}

static int import_line_cmp(const void *a, const void *b)
{
        json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "line"));
        json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "line"));

        return x < y ? -1 : x > y;
}

/* Rejections in line order (the node's come per chunk, repeated keys as
 * they are read). */
static void import_sort_rejected(json_t *list)
{
        size_t n = json_array_size(list), i;
        json_t **v = malloc((n ? n : 1) * sizeof(*v));

        if (!v)
                return;
        for (i = 0; i < n; i++)
                v[i] = json_incref(json_array_get(list, i));
        qsort(v, n, sizeof(*v), import_line_cmp);
        json_array_clear(list);
        for (i = 0; i < n; i++)
                json_array_append_new(list, v[i]);
        free(v);
}

static int import_run(const struct cmd_ctx *ctx, const struct cmd_args *args, const char *wire)
{
        struct import im;
        json_t *doc;
        FILE *f;
        int r;

        memset(&im, 0, sizeof(im));
        im.ctx = ctx;
        im.wire = wire;
        im.path = cmd_arg(args, "file");
        im.skip_bad = cmd_arg(args, "skip_bad") != NULL;
        im.key_name = strcmp(wire, "camera.import") == 0 ? "id" : "code";
        f = fopen(im.path, "r");
        if (!f)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "%s: %s", im.path, strerror(errno));
        fseek(f, 0, SEEK_END);
        im.bytes_total = ftell(f);
        fclose(f);
        r = cmd_open_client(ctx, &im.client, im.endpoint, sizeof(im.endpoint));
        if (r)
                return r;
        im.rejected = json_array();
        im.warnings = json_array();
        im.keys = keyset_new();
        /* Pass 1 checks every row (nothing is written); pass 2 writes. A
         * file with a bad row imports nothing unless --skip-bad. */
        r = import_pass(&im, false);
        if (!r && (im.rejected_count == 0 || im.skip_bad))
                r = import_pass(&im, true);
        ctlclient_free(im.client);
        if (r)
                goto out;
        import_sort_rejected(im.rejected);
        doc = json_object();
        json_object_set_new(doc, "imported", json_integer(im.imported));
        json_object_set_new(doc, "rejected", json_incref(im.rejected));
        json_object_set_new(doc, "rejected_count", json_integer(im.rejected_count));
        json_object_set_new(doc, "warnings", json_incref(im.warnings));
        if (ctx->json) {
                json_dumpf(doc, ctx->out, JSON_COMPACT);
                fputc('\n', ctx->out);
        } else {
                size_t i;
                json_t *v;
                json_array_foreach(im.rejected, i, v) {
                        const char *a = json_string_value(json_object_get(v, "article"));
                        const char *fld = json_string_value(json_object_get(v, "field"));
                        const char *e = json_string_value(json_object_get(v, "error"));
                        if (a && e && strncmp(e, a, strlen(a)) == 0)
                                a = NULL;  /* the message begins with it */
                        fprintf(ctx->err, "%s:%lld: %s%s%s%s%s\n", im.path,
                                (long long)json_integer_value(json_object_get(v, "line")),
                                fld ? fld : "", fld ? ": " : "", a ? a : "", a ? ": " : "", e ? e : "");
                }
                render_warnings(ctx->out, doc);
                if (im.rejected_count > 0 && !im.skip_bad)
                        fprintf(ctx->out, "%s: %ld bad row%s; nothing imported (--skip-bad imports the good "
                                "rows)\n", im.path, im.rejected_count, im.rejected_count == 1 ? "" : "s");
                else
                        fprintf(ctx->out, "%s: %ld imported, %ld rejected\n", im.path, im.imported,
                                im.rejected_count);
        }
        json_decref(doc);
        if (im.rejected_count > 0 && !im.skip_bad)
                r = CMD_EXIT_FAILED;
out:
        json_decref(im.rejected);
        json_decref(im.warnings);
        keyset_free(im.keys);
        free(im.dups);
        return r;
}

static int import_sites(const struct cmd_ctx *ctx, const struct cmd_args *args)
{
        return import_run(ctx, args, "site.import");
}

static int import_systems(const struct cmd_ctx *ctx, const struct cmd_args *args)
{
        return import_run(ctx, args, "system.import");
}

static int import_cameras(const struct cmd_ctx *ctx, const struct cmd_args *args)
{
        return import_run(ctx, args, "camera.import");
}

/* --- the table --- */

#define SITE_OPTIONS \
        { "--name", "name", 0 }, { "--address", "address", 0 }, { "--latitude", "latitude", 0 }, \
        { "--longitude", "longitude", 0 }, { "--category", "category", 0 }, \
        { "--location-type", "location_type", 0 }, { "--signage", "signage", 0 }, { "--owner", "owner", 0 }
#define SYSTEM_OPTIONS \
        { "--name", "name", 0 }, { "--builder-class", "builder_class", 0 }, \
        { "--responsible-entity", "responsible_entity", 0 }, { "--maintainer", "maintainer", 0 }, \
        { "--maintenance-agreement", "maintenance_agreement", 0 }, { "--installer", "installer", 0 }, \
        { "--installer-licence", "installer_licence", 0 }, { "--commissioned-on", "commissioned_on", 0 }, \
        { "--accepted-on", "accepted_on", 0 }, { "--reserved-interface", "reserved_interface", 0 }, \
        { "--retention-days", "retention_days", 0 }
#define CAMERA_OPTIONS \
        { "--name", "name", 0 }, { "--system", "system", 0 }, { "--site", "site", 0 }, \
        { "--stream-url", "stream_url", 0 }, { "--codec", "codec", 0 }, { "--resolution", "resolution", 0 }, \
        { "--latitude", "latitude", 0 }, { "--longitude", "longitude", 0 }, { "--bearing", "bearing", 0 }, \
        { "--field-of-view", "field_of_view", 0 }, { "--ptz", "ptz", 0 }, { "--status", "status", 0 }

const struct cmd_command cmd_catalog_commands[] = {
        { .words = "site add", .wire = "site.add", .options = { { "--code", "code", CMD_OPT_REQUIRED }, SITE_OPTIONS },
          .usage = "--code CODE --name NAME --location-type TYPE [--category 7.N] [--signage yes|no] …",
          .summary = "register a site at this station (Art 7, 8, 10)", .render = render_written },
        { .words = "site update", .wire = "site.update", .positional = { "code" }, .options = { SITE_OPTIONS },
          .usage = "CODE [--name …]", .summary = "change a site of this station", .render = render_written },
        { .words = "site remove", .wire = "site.remove", .positional = { "code" }, .usage = "CODE",
          .summary = "remove a site that has no cameras", .render = render_written },
        { .words = "site show", .wire = "site.show", .positional = { "code" },
          .options = { { "--station", "station", 0 } }, .usage = "CODE [--station ID]",
          .summary = "one site", .render = render_object },
        { .words = "site list", .wire = "site.list", .options = { { "--under", "under", 0 } },
          .usage = "[--under ID]", .summary = "sites at or below a node", .render = render_sites },
        { .words = "site import", .positional = { "file" }, .options = { { "--skip-bad", "skip_bad", CMD_OPT_FLAG } },
          .usage = "FILE.csv [--skip-bad]", .summary = "register sites from a CSV file", .local = import_sites },
        { .words = "system add", .wire = "system.add",
          .options = { { "--code", "code", CMD_OPT_REQUIRED }, SYSTEM_OPTIONS },
          .usage = "--code CODE --name NAME --builder-class government|private --responsible-entity E "
                   "--retention-days N [--reserved-interface URL] …",
          .summary = "register a system at this station (Art 9, 13, 14, 21, 23)", .render = render_written },
        { .words = "system update", .wire = "system.update", .positional = { "code" },
          .options = { SYSTEM_OPTIONS }, .usage = "CODE [--name …]", .summary = "change a system of this station",
          .render = render_written },
        { .words = "system remove", .wire = "system.remove", .positional = { "code" }, .usage = "CODE",
          .summary = "remove a system that has no cameras", .render = render_written },
        { .words = "system show", .wire = "system.show", .positional = { "code" },
          .options = { { "--station", "station", 0 } }, .usage = "CODE [--station ID]",
          .summary = "one system", .render = render_object },
        { .words = "system list", .wire = "system.list", .options = { { "--under", "under", 0 } },
          .usage = "[--under ID]", .summary = "systems at or below a node", .render = render_systems },
        { .words = "system import", .positional = { "file" },
          .options = { { "--skip-bad", "skip_bad", CMD_OPT_FLAG } }, .usage = "FILE.csv [--skip-bad]",
          .summary = "register systems from a CSV file", .local = import_systems },
        { .words = "camera add", .wire = "camera.add",
          .options = { { "--id", "id", CMD_OPT_REQUIRED }, CAMERA_OPTIONS },
          .usage = "--id ID --name NAME --system CODE --site CODE [--stream-url URL] …",
          .summary = "register a camera at this station", .render = render_written },
        { .words = "camera update", .wire = "camera.update", .positional = { "id" }, .options = { CAMERA_OPTIONS },
          .usage = "ID [--name …]", .summary = "change a camera of this station", .render = render_written },
        { .words = "camera remove", .wire = "camera.remove", .positional = { "id" }, .usage = "ID",
          .summary = "remove a camera of this station", .render = render_written },
        { .words = "camera show", .wire = "camera.show", .positional = { "id" }, .usage = "ID",
          .summary = "one camera, from any tier", .render = render_object },
        { .words = "camera list", .wire = "camera.list",
          .options = { { "--under", "under", 0 }, { "--category", "category", 0 }, { "--status", "status", 0 },
                       { "--limit", "limit", 0 } },
          .usage = "[--under ID] [--category 7.N] [--status S] [--limit N]",
          .summary = "cameras at or below a node", .render = render_cameras },
        { .words = "camera count", .wire = "camera.count",
          .options = { { "--under", "under", 0 }, { "--category", "category", 0 }, { "--status", "status", 0 } },
          .usage = "[--under ID] [--category 7.N] [--status S]", .summary = "how many cameras",
          .render = render_count },
        { .words = "camera import", .positional = { "file" },
          .options = { { "--skip-bad", "skip_bad", CMD_OPT_FLAG } }, .usage = "FILE.csv [--skip-bad]",
          .summary = "register cameras from a CSV file", .local = import_cameras },
        { .words = "location-types", .wire = "location-types", .usage = "",
          .summary = "the location types a site may have (Art 8 forbidden ones marked)",
          .render = render_location_types },
        { 0 },
};

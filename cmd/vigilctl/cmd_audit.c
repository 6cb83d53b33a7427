/* vigilctl audit checkpoints: an access log checked here, trusting neither
 * the node asked nor its database (issue 15; Art 23(5)). */
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "wire/checkpoint.h"

/* A node signs its log's head at most 10 s after the log grew
 * (lib/features/audit.c): a record that no checkpoint covers this long
 * after it was written means the node stopped signing, or its
 * checkpoints are withheld. Six signing intervals, for clocks and a busy
 * link. */
#define AUDIT_STALE_US (60LL * 1000000)

/* Records a page (the node's limit, lib/control/auditctl.c). */
#define AUDIT_PAGE 1000

/* What the recomputation found. */
struct audit_check {
        uint8_t *hashes;        /* hashes[32 * (seq - 1)]: the chain as recomputed here */
        int64_t records;        /* how many, from record 1 without a hole */
        int64_t first_bad_seq;  /* 0: none */
        int64_t first_uncovered_at_us;
        int form;               /* the highest form so far */
        char reason[512];
};

static const char *audit_str(const json_t *rec, const char *key)
{
        const char *s = json_string_value(json_object_get(rec, key));

        return s ? s : "";
}

static bool audit_hex_is(const char *hex, const uint8_t bin[32])
{
        uint8_t b[32];
        size_t len = 0;

        return hex && sodium_hex2bin(b, sizeof(b), hex, strlen(hex), NULL, &len, NULL) == 0 && len == 32 &&
               sodium_memcmp(b, bin, 32) == 0;
}

/* Take one record: it must be the next, and chain as the node says it
 * does; the chain goes on from what was recomputed, not from what the
 * node stored. */
static int audit_take(struct audit_check *ac, const json_t *rec)
{
        char seq[24], at[24];
        const char *f[CHECKPOINT_RECORD_FIELDS];
        static const char *const names[] = { "node_id", "actor", "action", "outcome", "article", "camera",
                                             "purpose", "destination", "request_id", "emergency_id", "detail" };
        static const uint8_t zero[32];
        int64_t s = json_integer_value(json_object_get(rec, "seq"));
        const uint8_t *prev;
        uint8_t *h;
        int i, form;

        if (s != ac->records + 1) {
                if (!ac->first_bad_seq) {
                        ac->first_bad_seq = ac->records + 1;
                        snprintf(ac->reason, sizeof(ac->reason), "record %" PRId64 " is missing (the next held is %"
                                 PRId64 ")", ac->records + 1, s);
                }
                return -1;
        }
        h = realloc(ac->hashes, 32 * (size_t)(ac->records + 1));
        if (!h)
                return -1;
        ac->hashes = h;
        prev = ac->records ? ac->hashes + 32 * (ac->records - 1) : zero;
        snprintf(seq, sizeof(seq), "%" PRId64, s);
        snprintf(at, sizeof(at), "%" PRId64, (int64_t)json_integer_value(json_object_get(rec, "at_us")));
        f[0] = seq;
        f[1] = at;
        /* NULL as NULL: form 2 tells it from "" (form 1 writes both as ""). */
        for (i = 0; i < 11; i++)
                f[2 + i] = json_string_value(json_object_get(rec, names[i]));
        /* A node from before forms were numbered sends none: its records
         * are form 1. */
        form = json_is_integer(json_object_get(rec, "form")) ? (int)json_integer_value(json_object_get(rec, "form"))
                                                             : CHECKPOINT_FORM_JOINED;
        if (checkpoint_record_hash(prev, form, f, ac->hashes + 32 * ac->records) < 0) {
                memset(ac->hashes + 32 * ac->records, 0, 32);
                if (!ac->first_bad_seq) {
                        ac->first_bad_seq = s;
                        snprintf(ac->reason, sizeof(ac->reason), "record %" PRId64 " is in form %d, which this "
                                 "vigilctl does not know", s, form);
                }
        } else if (!ac->first_bad_seq && form < ac->form) {
                /* A form never goes back (schema/017_audit_form.sql). */
                ac->first_bad_seq = s;
                snprintf(ac->reason, sizeof(ac->reason), "record %" PRId64 " is in form %d after a record in form "
                         "%d: forms never go back", s, form, ac->form);
        }
        if (form > ac->form)
                ac->form = form;
        if (!ac->first_bad_seq && (!audit_hex_is(audit_str(rec, "prev_hash"), prev) ||
                                   !audit_hex_is(audit_str(rec, "hash"), ac->hashes + 32 * ac->records))) {
                ac->first_bad_seq = s;
                snprintf(ac->reason, sizeof(ac->reason),
                         "record %" PRId64 " was changed: its hash as held is not what its content and the "
                         "records before it chain to", s);
        }
        ac->records++;
        return 0;
}

/* Fetch every record of the log (or copy) asked for, a page at a time,
 * and recompute its chain. A CMD_EXIT_* status. */
static int audit_recompute(const struct cmd_ctx *ctx, const char *node, struct audit_check *ac)
{
        char after[24], limit[16];
        const char *names[3] = { "after", "limit", "node" }, *values[3] = { after, limit, node };
        size_t i, got;

        snprintf(limit, sizeof(limit), "%d", AUDIT_PAGE);
        do {
                json_t *page, *rec;
                char *json;
                int r;

                snprintf(after, sizeof(after), "%" PRId64, ac->records);
                r = cmd_call(ctx, "audit.records", "audit checkpoints", names, values, node ? 3 : 2, &json);
                if (r != CMD_EXIT_OK)
                        return r;
                page = json_loads(json, 0, NULL);
                free(json);
                if (!json_is_array(page)) {
                        json_decref(page);
                        return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "the node's answer to 'audit records' is unreadable");
                }
                got = json_array_size(page);
                json_array_foreach(page, i, rec) {
                        if (audit_take(ac, rec) < 0) {
                                got = 0;        /* a hole: what follows cannot be chained */
                                break;
                        }
                }
                json_decref(page);
        } while (got == AUDIT_PAGE);
        return CMD_EXIT_OK;
}

/* The time of record SEQ (from 1), fetched again: the first one that no
 * checkpoint covers. 0 if it cannot be read. */
static int64_t audit_record_at(const struct cmd_ctx *ctx, const char *node, int64_t seq)
{
        char after[24];
        const char *names[3] = { "after", "limit", "node" }, *values[3] = { after, "1", node };
        int64_t at = 0;
        json_t *page;
        char *json;

        snprintf(after, sizeof(after), "%" PRId64, seq - 1);
        if (cmd_call(ctx, "audit.records", "audit checkpoints", names, values, node ? 3 : 2, &json) != CMD_EXIT_OK)
                return 0;
        page = json_loads(json, 0, NULL);
        free(json);
        if (json_is_array(page) && json_array_size(page) == 1)
                at = json_integer_value(json_object_get(json_array_get(page, 0), "at_us"));
        json_decref(page);
        return at;
}

/* audit checkpoints: fetch the signed checkpoints the node holds (its
 * own, or of a node below) and every record of that log; recompute the
 * chain here and check each checkpoint: signed by that node (its key),
 * and the hash recomputed at its record is the one signed. Fails on no
 * checkpoint, on a stale one (records beyond the last, the first older
 * than AUDIT_STALE_US) and without the key (nothing would be verified). */
static int audit_checkpoints_cmd(const struct cmd_ctx *ctx, const struct cmd_args *args)
{
        const char *names[2], *values[2], *node = cmd_arg(args, "node");
        bool have_key = cmd_arg(args, "key") || cmd_arg(args, "key_file"), all_ok = true;
        struct audit_check ac = { 0 };
        int64_t last = 0;
        uint8_t pk[32];
        json_t *doc, *cps, *cp;
        char *json;
        size_t i, nargs = 0;
        int r;

        if (sodium_init() < 0)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "libsodium did not start");
        if (have_key && (r = cmd_sign_key(ctx, args, pk)) != 0)
                return r;
        if (node) {
                names[nargs] = "node";
                values[nargs++] = node;
        }
        if (cmd_arg(args, "limit")) {
                names[nargs] = "limit";
                values[nargs++] = cmd_arg(args, "limit");
        }
        r = cmd_call(ctx, "audit.checkpoints", "audit checkpoints", names, values, (int)nargs, &json);
        if (r != CMD_EXIT_OK)
                return r;
        doc = json_loads(json, 0, NULL);
        free(json);
        cps = json_object_get(doc, "checkpoints");
        if (!json_is_array(cps) || !json_is_string(json_object_get(doc, "node"))) {
                json_decref(doc);
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "the node's answer to 'audit checkpoints' is unreadable");
        }
        r = audit_recompute(ctx, node, &ac);
        if (r != CMD_EXIT_OK) {
                json_decref(doc);
                free(ac.hashes);
                return r;
        }
        json_array_foreach(cps, i, cp) {
                const char *hash = json_string_value(json_object_get(cp, "hash"));
                const char *held = json_string_value(json_object_get(cp, "held_hash"));
                const char *sig = json_string_value(json_object_get(cp, "signature"));
                int64_t seq = json_integer_value(json_object_get(cp, "seq"));
                uint8_t h[32], s[64];
                size_t hl = 0, sl = 0;
                bool parsed = hash && sig && sodium_hex2bin(h, 32, hash, strlen(hash), NULL, &hl, NULL) == 0 &&
                              hl == 32 && sodium_hex2bin(s, 64, sig, strlen(sig), NULL, &sl, NULL) == 0 && sl == 64;
                /* Against what was recomputed here, not what the node says it holds. */
                bool matches = parsed && seq >= 1 && seq <= ac.records && sodium_memcmp(ac.hashes + 32 * (seq - 1), h, 32) == 0;
                bool valid = have_key && parsed &&
                             checkpoint_verify(pk, json_string_value(json_object_get(doc, "node")), seq, h,
                                               json_integer_value(json_object_get(cp, "signed_at_us")), s);

                json_object_set_new(cp, "matches_log", json_boolean(matches));
                json_object_set_new(cp, "matches_held", json_boolean(hash && held && strcmp(hash, held) == 0));
                json_object_set_new(cp, "signature_valid", have_key ? json_boolean(valid) : json_null());
                if (!matches && !ac.reason[0])
                        snprintf(ac.reason, sizeof(ac.reason),
                                 seq > ac.records ? "the checkpoint of record %" PRId64 " names a record the log does "
                                                    "not hold (%" PRId64 " recomputed)"
                                                  : "the checkpoint of record %" PRId64 " does not match the log "
                                                    "recomputed here: records up to it were rewritten",
                                 seq, ac.records);
                if (have_key && !valid && !ac.reason[0])
                        snprintf(ac.reason, sizeof(ac.reason),
                                 "the checkpoint of record %" PRId64 " is not signed by that node's key", seq);
                all_ok &= matches && (!have_key || valid);
                if (seq > last)
                        last = seq;
        }
        if (!ac.reason[0] && json_array_size(cps) == 0)
                snprintf(ac.reason, sizeof(ac.reason),
                         "no checkpoint: nothing the node signed vouches for this log (%" PRId64 " records)",
                         ac.records);
        if (ac.records > last && last > 0 && !ac.first_bad_seq) {
                struct timespec now;
                int64_t at = audit_record_at(ctx, node, last + 1);

                clock_gettime(CLOCK_REALTIME, &now);
                ac.first_uncovered_at_us = at;
                if (at && (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 - at > AUDIT_STALE_US &&
                    !ac.reason[0])
                        snprintf(ac.reason, sizeof(ac.reason),
                                 "stale: records %" PRId64 " to %" PRId64 " are covered by no checkpoint, the first "
                                 "written %" PRId64 " s ago (a node signs its head at most 10 s after its log grew)",
                                 last + 1, ac.records,
                                 ((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 - at) / 1000000);
        }
        if (!have_key && !ac.reason[0])
                snprintf(ac.reason, sizeof(ac.reason),
                         "signatures NOT checked: give the node's key (--key-file its sign.pub)");
        all_ok = all_ok && !ac.reason[0];
        json_object_set_new(doc, "records", json_integer(ac.records));
        json_object_set_new(doc, "first_bad_seq", ac.first_bad_seq ? json_integer(ac.first_bad_seq) : json_null());
        json_object_set_new(doc, "stale", json_boolean(strncmp(ac.reason, "stale", 5) == 0));
        json_object_set_new(doc, "verified", json_boolean(all_ok));
        json_object_set_new(doc, "reason", ac.reason[0] ? json_string(ac.reason) : json_null());
        if (ctx->json) {
                json_dumpf(doc, ctx->out, JSON_COMPACT);
                fputc('\n', ctx->out);
        } else {
                fprintf(ctx->out, "%zu checkpoint(s) of the access log of %s held there; %" PRId64
                        " record(s) recomputed here:\n", json_array_size(cps),
                        json_string_value(json_object_get(doc, "node")), ac.records);
                json_array_foreach(cps, i, cp)
                        fprintf(ctx->out, "  record %lld  hash %.16s…  %s%s\n",
                                (long long)json_integer_value(json_object_get(cp, "seq")),
                                json_string_value(json_object_get(cp, "hash")),
                                json_is_true(json_object_get(cp, "matches_log")) ? "the log matches"
                                                                                 : "THE LOG DIFFERS",
                                !have_key ? "" : json_is_true(json_object_get(cp, "signature_valid"))
                                                 ? ", signed by that node" : ", SIGNATURE NOT THAT NODE'S");
                if (all_ok)
                        fprintf(ctx->out, "verified: records 1 to %" PRId64 " chain as that node signed\n", last);
                else
                        fprintf(ctx->out, "NOT verified: %s\n", ac.reason);
        }
        json_decref(doc);
        free(ac.hashes);
        return all_ok ? CMD_EXIT_OK : CMD_EXIT_FAILED;
}

const struct cmd_command cmd_audit_commands[] = {
        { .words = "audit checkpoints",
          .options = { { "--node", "node", 0 }, { "--limit", "limit", 0 }, { "--key", "key", 0 },
                       { "--key-file", "key_file", 0 } },
          .usage = "[--node ID] [--limit N] --key-file sign.pub | --key HEX",
          .summary = "recompute an access log here and check it against the node's signed checkpoints",
          .local = audit_checkpoints_cmd },
        { 0 },
};

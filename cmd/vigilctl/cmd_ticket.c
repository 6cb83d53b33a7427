/* cmd_ticket: check a view ticket offline, as a media gateway would, with
 * the station's public key (lib/ticket.h). Needs no daemon. */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "wire/ticket.h"
#include "base/vtime.h"

static json_t *ticket_json(const struct ticket *t)
{
        json_t *o = json_object();
        char id[33], when[2][40];
        int64_t us[2] = { t->issued_us, t->expires_us };
        int i;

        sodium_bin2hex(id, sizeof(id), t->id, sizeof(t->id));
        for (i = 0; i < 2; i++) {
                time_t s = (time_t)(us[i] / 1000000);
                struct tm tm;
                gmtime_r(&s, &tm);
                strftime(when[i], sizeof(when[i]), "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "station", json_string(t->station));
        json_object_set_new(o, "officer", json_string(t->officer));
        json_object_set_new(o, "officer_key", t->officer_key[0] ? json_string(t->officer_key) : json_null());
        json_object_set_new(o, "unit", t->unit[0] ? json_string(t->unit) : json_null());
        json_object_set_new(o, "camera", json_string(t->camera));
        json_object_set_new(o, "action", json_string(t->action));
        json_object_set_new(o, "from_us", t->from_us ? json_integer(t->from_us) : json_null());
        json_object_set_new(o, "to_us", t->to_us ? json_integer(t->to_us) : json_null());
        json_object_set_new(o, "issued_at", json_string(when[0]));
        json_object_set_new(o, "expires_at", json_string(when[1]));
        json_object_set_new(o, "grant", t->grant[0] ? json_string(t->grant) : json_null());
        json_object_set_new(o, "emergency", t->emergency[0] ? json_string(t->emergency) : json_null());
        json_object_set_new(o, "url", t->url[0] ? json_string(t->url) : json_null());
        return o;
}

int cmd_sign_key(const struct cmd_ctx *ctx, const struct cmd_args *args, uint8_t pk[32])
{
        const char *hex = cmd_arg(args, "key"), *file = cmd_arg(args, "key_file");
        char buf[200] = "";
        size_t len = 0;

        if (file) {
                FILE *f = fopen(file, "r");
                if (!f)
                        return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "%s: %s", file, strerror(errno));
                if (!fgets(buf, sizeof(buf), f))
                        buf[0] = '\0';
                fclose(f);
                buf[strcspn(buf, " \r\n")] = '\0';
                hex = buf;
        }
        if (!hex)
                return cmd_fail(ctx, CMD_EXIT_USAGE, NULL, "needs the node's key: --key HEX or --key-file sign.pub");
        if (strlen(hex) != 64 || sodium_hex2bin(pk, 32, hex, 64, NULL, &len, NULL) != 0 || len != 32)
                return cmd_fail(ctx, CMD_EXIT_USAGE, NULL, "the node's key is 64 hex digits (its sign.pub)");
        return 0;
}

static int ticket_verify_cmd(const struct cmd_ctx *ctx, const struct cmd_args *args)
{
        const char *token = cmd_arg(args, "token"), *reason = NULL;
        struct ticket t;
        uint8_t pk[32];
        struct timespec ts;
        int64_t now;
        json_t *doc;
        int r;

        if (sodium_init() < 0)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "libsodium did not start");
        r = cmd_sign_key(ctx, args, pk);
        if (r)
                return r;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        if (cmd_arg(args, "now") && vtime_parse(cmd_arg(args, "now"), now, &now) < 0)
                return cmd_fail(ctx, CMD_EXIT_USAGE, NULL, "--now is a time: YYYY-MM-DDTHH:MM:SSZ");
        r = ticket_verify(token, pk, now, &t);
        switch (r) {
        case 0: break;
        case -EKEYREJECTED: reason = "the signature is not this station's (forged or altered)"; break;
        case -ETIME: reason = "expired, or not valid yet"; break;
        default: reason = "not a ticket"; break;
        }
        if (r == 0 || ticket_decode_unverified(token, &t) == 0)
                doc = ticket_json(&t);
        else
                doc = json_object();
        json_object_set_new(doc, "valid", json_boolean(r == 0));
        json_object_set_new(doc, "reason", reason ? json_string(reason) : json_null());
        if (ctx->json) {
                json_dumpf(doc, ctx->out, JSON_COMPACT);
                fputc('\n', ctx->out);
        } else if (r == 0) {
                fprintf(ctx->out, "valid: %s may %s camera %s until %s (station %s, %s %s)\n",
                        t.officer, t.action, t.camera, json_string_value(json_object_get(doc, "expires_at")),
                        t.station, t.grant[0] ? "grant" : "emergency", t.grant[0] ? t.grant : t.emergency);
        } else {
                fprintf(ctx->out, "NOT valid: %s\n", reason);
        }
        json_decref(doc);
        return r == 0 ? CMD_EXIT_OK : CMD_EXIT_FAILED;
}

static int ticket_show_cmd(const struct cmd_ctx *ctx, const struct cmd_args *args)
{
        struct ticket t;
        json_t *doc;

        if (ticket_decode_unverified(cmd_arg(args, "token"), &t) < 0)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "not a ticket");
        doc = ticket_json(&t);
        json_object_set_new(doc, "verified", json_false());
        if (!ctx->json)
                fprintf(ctx->out, "NOT VERIFIED (use `ticket verify` with the station's key):\n");
        json_dumpf(doc, ctx->out, ctx->json ? JSON_COMPACT : JSON_INDENT(2));
        fputc('\n', ctx->out);
        json_decref(doc);
        return CMD_EXIT_OK;
}

const struct cmd_command cmd_ticket_commands[] = {
        { .words = "ticket verify", .positional = { "token" },
          .options = { { "--key", "key", 0 }, { "--key-file", "key_file", 0 }, { "--now", "now", 0 } },
          .usage = "TOKEN --key HEX | --key-file sign.pub [--now T]",
          .summary = "check a view ticket offline with the station's public key", .local = ticket_verify_cmd },
        { .words = "ticket show", .positional = { "token" }, .usage = "TOKEN",
          .summary = "what a ticket claims, NOT verified", .local = ticket_show_cmd },
        { 0 },
};

/* cmd_keygen: `vigilctl keygen FILE --name NAME` writes an identity for an
 * admin or officer. Local: no daemon, no profile. */
#include <errno.h>
#include <string.h>

#include "cmd.h"
#include "base/keys.h"

static int cmd_keygen_run(const struct cmd_ctx *ctx, const struct cmd_args *args)
{
        const char *file = cmd_arg(args, "file"), *name = cmd_arg(args, "name");
        struct identity id;
        int r;

        if (strlen(name) >= sizeof(id.name))
                return cmd_fail(ctx, CMD_EXIT_USAGE, NULL, "keygen: --name is too long (at most %zu bytes)",
                                sizeof(id.name) - 1);
        r = identity_generate(file, name, &id);
        if (r == -EEXIST)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL,
                                "%s exists; keygen never overwrites an identity", file);
        if (r < 0)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "cannot write %s: %s", file, strerror(-r));
        if (ctx->json) {
                json_t *doc = json_pack("{s:s, s:s, s:s}", "file", file, "name", id.name,
                                        "public_key", id.curve_public);

                if (doc) {
                        json_dumpf(doc, ctx->out, JSON_COMPACT);
                        fputc('\n', ctx->out);
                        json_decref(doc);
                }
        } else {
                /* Only the key, so that KEY=$(vigilctl keygen ...) works. */
                fprintf(ctx->out, "%s\n", id.curve_public);
        }
        return CMD_EXIT_OK;
}

const struct cmd_command cmd_keygen_commands[] = {
        {
                .words = "keygen",
                .positional = { "file" },
                .options = { { "--name", "name", CMD_OPT_REQUIRED } },
                .usage = "FILE --name NAME",
                .summary = "write a new identity file and print its public key",
                .local = cmd_keygen_run,
        },
        {
                /* The same, in the words of issue "Lawful access": an
                 * officer's own CURVE identity, named by their badge. */
                .words = "officer keygen",
                .positional = { "file" },
                .options = { { "--name", "name", CMD_OPT_REQUIRED } },
                .usage = "FILE --name BADGE",
                .summary = "write an officer's identity file and print its public key (for officer add)",
                .local = cmd_keygen_run,
        },
        { 0 },
};

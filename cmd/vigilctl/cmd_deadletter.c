/* cmd_deadletter: the changes this node's links could not apply, kept
 * whole (issue 17): list them, retry one once its cause is fixed, or
 * discard it with a reason (both on the node's access log). */
#include <errno.h>
#include <string.h>

#include "cmd.h"
#include "render.h"

static int cmd_deadletter_render_list(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        static const char *const keys[] = { "id", "peer", "seq", "kind", "state", "held_at", "reason", "size" };
        static const char *const heads[] = { "ID", "PEER", "SEQ", "KIND", "STATE", "HELD AT", "REASON", "BYTES" };

        (void)args;
        return render_json_rows(out, doc, keys, heads, 8);
}

/* {"id","state"} */
static int cmd_deadletter_render_decided(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        const char *id = json_string_value(json_object_get(doc, "id")),
                   *state = json_string_value(json_object_get(doc, "state"));

        (void)args;
        if (!id || !state)
                return -EBADMSG;
        if (strcmp(state, "retried") == 0)
                fprintf(out, "Dead letter %s applied; it is marked retried.\n", id);
        else
                fprintf(out, "Dead letter %s discarded (kept, with your reason, on the access log).\n", id);
        return 0;
}

const struct cmd_command cmd_deadletter_commands[] = {
        {
                .words = "deadletter list", .wire = "deadletter.list",
                .options = {
                        { "--state", "state", 0 },
                        { "--peer", "peer", 0 },
                        { "--limit", "limit", 0 },
                },
                .usage = "[--state held|retried|discarded|all] [--peer ID] [--limit N]",
                .summary = "changes the links could not apply, kept whole (default: those held)",
                .render = cmd_deadletter_render_list,
        },
        {
                .words = "deadletter retry", .wire = "deadletter.retry",
                .positional = { "id" },
                .usage = "ID",
                .summary = "apply a dead letter again, as it came (once its cause is fixed)",
                .render = cmd_deadletter_render_decided,
        },
        {
                .words = "deadletter discard", .wire = "deadletter.discard",
                .positional = { "id" },
                .options = {
                        { "--reason", "reason", CMD_OPT_REQUIRED },
                },
                .usage = "ID --reason TEXT",
                .summary = "give a dead letter up, saying why (on the access log)",
                .render = cmd_deadletter_render_decided,
        },
        { 0 },
};

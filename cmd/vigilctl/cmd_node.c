/* cmd_node: the federation's shape — status, tree, node enroll and remove. */
#include <errno.h>

#include "cmd.h"
#include "render.h"

/* {"id","state"} */
static int cmd_node_render_removed(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        const char *id = json_string_value(json_object_get(doc, "id"));

        (void)args;
        if (!id)
                return -EBADMSG;
        fprintf(out, "%s: removed; its key is refused from now on\n", id);
        return 0;
}

static int cmd_node_render_status(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        return render_status(out, doc);
}

static int cmd_node_render_tree(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        return render_tree(out, doc);
}

static int cmd_node_render_enroll(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        const char *id = json_string_value(json_object_get(doc, "id"));
        const char *name = cmd_arg(args, "name");

        if (!id)
                return -EBADMSG;
        fprintf(out, "Enrolled node %s%s%s%s; it can connect with its key now.\n", id,
                name ? " (" : "", name ? name : "", name ? ")" : "");
        return 0;
}

static int cmd_node_render_probe(FILE *out, const json_t *doc, const struct cmd_args *args)
{
        json_t *count = json_object_get(doc, "count"), *secs = json_object_get(doc, "seconds"),
               *rate = json_object_get(doc, "per_second");

        if (!json_is_integer(count) || !json_is_number(secs) || !json_is_number(rate))
                return -EBADMSG;
        fprintf(out, "%lld probes delivered to %s and acknowledged in %.3f s: %.0f per second.\n",
                (long long)json_integer_value(count),
                json_string_value(json_object_get(doc, "parent")) ? json_string_value(json_object_get(doc, "parent")) : "the parent",
                json_number_value(secs), json_number_value(rate));
        return 0;
}

const struct cmd_command cmd_node_commands[] = {
        {
                .words = "status", .wire = "status",
                .usage = "",
                .summary = "this node: ID, tier, parent and children online",
                .render = cmd_node_render_status,
        },
        {
                .words = "tree", .wire = "tree",
                .options = { { "--under", "under", 0 } },
                .usage = "[--under ID]",
                .summary = "every node this node knows, with its state",
                .render = cmd_node_render_tree,
        },
        {
                .words = "node enroll", .wire = "node.enroll",
                .positional = { "id" },
                .options = {
                        { "--public-key", "public_key", CMD_OPT_REQUIRED },
                        { "--sign-key", "sign_key", CMD_OPT_REQUIRED },
                        { "--name", "name", CMD_OPT_REQUIRED },
                },
                .usage = "ID --public-key KEY --sign-key HEX --name NAME",
                .summary = "admit a child node's CURVE key and its signing key (both from `vigild keygen`)",
                .render = cmd_node_render_enroll,
        },
        {
                .words = "node remove", .wire = "node.remove",
                .positional = { "id" },
                .options = {
                        { "--reason", "reason", CMD_OPT_REQUIRED },
                },
                .usage = "ID --reason TEXT",
                .summary = "remove a child platform: its key is refused at once, the tree forgets it",
                .render = cmd_node_render_removed,
        },
        {
                .words = "link probe", .wire = "link.probe",
                .options = {
                        { "--count", "count", 0 },
                        { "--size", "size", 0 },
                },
                .usage = "[--count N] [--size BYTES]",
                .summary = "measure the reliable link to the parent (persisted, applied, acked)",
                .render = cmd_node_render_probe,
        },
        { 0 },
};

/* vigilctl: the operator CLI. Global options here; the commands and
 * everything they do live in cmd*.c and lib/. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

int main(int argc, char **argv)
{
        struct cmd_ctx ctx = {
                .timeout_ms = 5000,
                .out = stdout,
                .err = stderr,
        };
        int i = 1;

        while (i < argc && argv[i][0] == '-') {
                int r;

                if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                        cmd_usage(stdout);
                        return CMD_EXIT_OK;
                }
                if (strcmp(argv[i], "--version") == 0) {
                        printf("vigilctl %s\n", VIGILCTL_VERSION);
                        return CMD_EXIT_OK;
                }
                r = cmd_global_option(&ctx, argc, argv, &i);
                if (r < 0)
                        return CMD_EXIT_USAGE;
                if (r == 0) {
                        cmd_fail(&ctx, CMD_EXIT_USAGE, NULL, "unknown option %s", argv[i]);
                        if (!ctx.json)
                                fprintf(stderr, "usage: vigilctl [-c PROFILE] [--as IDENTITY_FILE] [--json] "
                                                "[--timeout MS] COMMAND ...\n");
                        return CMD_EXIT_USAGE;
                }
        }
        return cmd_dispatch(&ctx, argc - i, argv + i);
}

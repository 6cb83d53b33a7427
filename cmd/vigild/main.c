/* vigild: one platform node (city, district or station). Thin: options,
 * configuration, the loop. Everything else is in lib/ (node.c). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/config.h"
#include "base/keys.h"
#include "base/log.h"
#include "node.h"

static void usage(FILE *f)
{
        fprintf(f, "usage: vigild -c FILE [--check]\n"
                   "       vigild migrate -c FILE [--owner CONNINFO]\n"
                   "       vigild keygen DIR\n"
                   "       vigild --version\n");
}

/* Prints the CURVE public key (`node enroll --public-key`) and, on the
 * second line, the Ed25519 signing key (`--sign-key`; at the city also
 * every other node's `[parent] root_sign_key`). */
static int cmd_keygen(const char *dir)
{
        char pub[KEYS_Z85_LEN + 1], hex[2 * 32 + 1], err[512];
        struct node_keys k;
        int r = keys_generate(dir, pub);

        if (r < 0) {
                fprintf(stderr, "vigild: cannot write keys to %s: %s\n", dir, strerror(-r));
                return 1;
        }
        if (keys_load(dir, &k, err, sizeof(err)) < 0) {
                fprintf(stderr, "vigild: %s\n", err);
                return 1;
        }
        keys_sign_public_hex(k.sign_public, hex);
        memset(&k, 0, sizeof(k));
        printf("%s\n%s\n", pub, hex);
        return 0;
}

/* `vigild migrate`: the schema, as the owner, before the daemon starts
 * (schema/README.md "Roles"). The owner's conninfo is never in the
 * daemon's configuration, so a running daemon never holds it. */
static int cmd_migrate(const char *path, const struct config *cfg, const char *owner)
{
        char err[1024];
        int applied = 0;

        if (!owner || !*owner) {
                fprintf(stderr, "vigild: migrate needs the owner's conninfo: --owner CONNINFO or "
                                "VIGIL_OWNER_CONNINFO (e.g. \"user=vigil_owner passfile=/etc/vigil/owner.pgpass\"; "
                                "host, port and dbname default to [database] conninfo's)\n");
                return 2;
        }
        if (node_migrate(cfg, owner, &applied, err, sizeof(err)) < 0) {
                fprintf(stderr, "vigild: %s: %s\n", path, err);
                return 1;
        }
        printf("schema current (%d file%s applied)\n", applied, applied == 1 ? "" : "s");
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {
                { "config", required_argument, NULL, 'c' },
                { "check", no_argument, NULL, 'k' },
                { "owner", required_argument, NULL, 'o' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                { NULL, 0, NULL, 0 },
        };
        const char *path = NULL, *owner = getenv("VIGIL_OWNER_CONNINFO");
        struct config cfg;
        struct node node;
        enum log_level level;
        char err[1024];
        int check = 0, migrate = 0, owner_given = 0, c, r;

        if (argc == 3 && strcmp(argv[1], "keygen") == 0)
                return cmd_keygen(argv[2]);
        if (argc > 1 && strcmp(argv[1], "migrate") == 0) {
                migrate = 1;
                argv[1] = argv[0];
                argc--;
                argv++;
        }
        while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
                switch (c) {
                case 'c': path = optarg; break;
                case 'k': check = 1; break;
                case 'o': owner = optarg; owner_given = 1; break;
                case 'V': printf("vigild %s\n", VIGIL_VERSION); return 0;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (!path || optind != argc || (migrate && check) || (!migrate && owner_given)) {
                usage(stderr);
                return 2;
        }
        config_init(&cfg);
        if (config_load(path, &cfg, err, sizeof(err)) < 0) {
                fprintf(stderr, "vigild: %s\n", err);
                return 1;
        }
        if (log_level_parse(cfg.log_level, &level) == 0)
                log_set_level(level);
        if (!check && cfg.log_file[0] && log_open(cfg.log_file) < 0) {
                fprintf(stderr, "vigild: cannot open log file %s\n", cfg.log_file);
                return 1;
        }
        if (migrate)
                return cmd_migrate(path, &cfg, owner);
        if (check) {
                if (node_check(&cfg, err, sizeof(err)) < 0) {
                        fprintf(stderr, "vigild: %s: %s\n", path, err);
                        return 1;
                }
                printf("configuration OK\n");
                return 0;
        }
        /* A write to a socket its peer has reset (a player that vanishes
         * mid-stream at the stream gate, a camera that drops us) is an
         * EPIPE for the code that wrote it, not the end of the station:
         * libuv leaves SIGPIPE's default, which kills the process. */
        signal(SIGPIPE, SIG_IGN);
        r = node_init(&node, uv_default_loop(), &cfg, err, sizeof(err));
        if (r < 0) {
                log_error("node", "msg=\"cannot start\" reason=\"%s\"", err);
                return 1;
        }
        if (node_start(&node, err, sizeof(err)) < 0) {
                log_error("node", "msg=\"cannot start\" reason=\"%s\"", err);
                node_stop(&node);
                uv_run(uv_default_loop(), UV_RUN_DEFAULT);
                node_deinit(&node);
                return 1;
        }
        uv_run(uv_default_loop(), UV_RUN_DEFAULT);
        node_deinit(&node);
        uv_loop_close(uv_default_loop());
        log_info("node", "msg=\"stopped\"");
        return 0;
}

/* cmd: vigilctl's command table and the machinery around it.
 *
 * Every command is one row of a table (struct cmd_command): the words an
 * operator types, the command name on the wire, its positional arguments and
 * options (each --option becomes one named wire argument), and a renderer
 * for human output. Adding a command is adding a row to a group's table
 * (cmd_node.c, cmd_keygen.c, ...) and listing a new group in cmd.c. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CMD_MAX_ARGS 64
#define CMD_MAX_OPTIONS 20
#define CMD_MAX_POSITIONAL 4

/* Exit statuses (CONTRACT.md). */
enum { CMD_EXIT_OK = 0, CMD_EXIT_FAILED = 1, CMD_EXIT_USAGE = 2 };

enum cmd_option_flags {
        CMD_OPT_REQUIRED = 1 << 0,  /* must be given */
        CMD_OPT_REPEAT   = 1 << 1,  /* may be given more than once (--camera) */
        CMD_OPT_FLAG     = 1 << 2,  /* takes no value; sent as "true" */
        CMD_OPT_FILE     = 1 << 3,  /* the value is a file; its first line is sent
                                     * (a secret kept out of argv, ps and shell history) */
};

struct cmd_option {
        const char *flag;   /* "--public-key" */
        const char *name;   /* wire argument name, "public_key" */
        unsigned flags;     /* enum cmd_option_flags */
};

/* The named arguments of one invocation, in command-line order. The strings
 * point into argv or into static storage. */
struct cmd_args {
        int n;
        const char *names[CMD_MAX_ARGS];
        const char *values[CMD_MAX_ARGS];
};

/* Global options and where output goes. */
struct cmd_ctx {
        const char *profile_path;   /* -c; NULL: $VIGIL_CONF, ./vigilctl.conf */
        const char *identity_path;  /* --as; NULL: the profile's identity */
        bool json;                  /* --json */
        int timeout_ms;             /* --timeout, default 5000 */
        FILE *out, *err;
};

struct cmd_command {
        const char *words;          /* "node enroll" */
        const char *wire;           /* "node.enroll"; NULL for a local command */
        const char *positional[CMD_MAX_POSITIONAL]; /* required, in order */
        struct cmd_option options[CMD_MAX_OPTIONS];
        const char *usage;          /* arguments after the words */
        const char *summary;        /* one line for `vigilctl --help` */
        /* Human output of a successful reply; NULL prints the JSON indented.
         * Returns 0, or -EBADMSG if DOC does not have the expected shape. */
        int (*render)(FILE *out, const json_t *doc, const struct cmd_args *args);
        /* A command that needs no daemon (keygen); returns the exit status. */
        int (*local)(const struct cmd_ctx *ctx, const struct cmd_args *args);
};

/* Command groups; each table ends with an all-zero row. */
extern const struct cmd_command cmd_node_commands[];
extern const struct cmd_command cmd_keygen_commands[];
extern const struct cmd_command cmd_catalog_commands[];
extern const struct cmd_command cmd_access_commands[];
extern const struct cmd_command cmd_audit_commands[];
extern const struct cmd_command cmd_ticket_commands[];
extern const struct cmd_command cmd_deadletter_commands[];

/** A node's Ed25519 public key from --key HEX or --key-file (its sign.pub),
 *  into PK. 0, or the exit status after reporting. */
int cmd_sign_key(const struct cmd_ctx *ctx, const struct cmd_args *args, uint8_t pk[32]);

/** Send WIRE (the command WORDS) with NARGS named arguments to the node of
 *  the profile and wait for its answer: CMD_EXIT_OK with the reply's JSON
 *  text in *RET_JSON (caller frees), or the exit status after reporting why
 *  not (no answer, identity refused, the node refused). */
int cmd_call(const struct cmd_ctx *ctx, const char *wire, const char *words, const char *const *names,
             const char *const *values, int nargs, char **ret_json);

/** The same for a listing the node sends a page at a time: the pages'
 *  rows in one list. HAS_LIMIT: the command has a --limit option; without
 *  one given, only the first page is read, and more existing is said on
 *  stderr. */
int cmd_call_paged(const struct cmd_ctx *ctx, const char *wire, const char *words, const char *const *names,
                   const char *const *values, int nargs, bool has_limit, char **ret_json);

struct ctlclient;
/** For a local command that talks to the node several times: load the
 *  profile and identity and connect. 0, or the exit status after reporting.
 *  ENDPOINT (size N) gets the node's endpoint, for messages. */
int cmd_open_client(const struct cmd_ctx *ctx, struct ctlclient **ret_client, char *endpoint, size_t n);

/** Try ARGV[*I] as a global option (-c, --as, --json, --timeout, also in the
 *  form --opt=VALUE); advances *I past it. 1 if it was one, 0 if not, or
 *  -1 after reporting a usage error. */
int cmd_global_option(struct cmd_ctx *ctx, int argc, char **argv, int *i);
/** Find the command named by ARGV's leading words, parse the rest, and run
 *  it. Returns the process exit status. */
int cmd_dispatch(struct cmd_ctx *ctx, int argc, char **argv);
/** Print the usage summary (every command) to OUT. */
void cmd_usage(FILE *out);
/** Report a failure: with --json one {"error","article","rule"} document on
 *  stdout, else "vigilctl: MESSAGE" on stderr. Returns STATUS. */
int cmd_fail(const struct cmd_ctx *ctx, int status, const char *article, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/** The same for a refusal that names the RULE which refused it (NULL: none):
 *  printed on a line of its own, or the "rule" of the JSON document. */
int cmd_fail_rule(const struct cmd_ctx *ctx, int status, const char *article, const char *rule, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
/** The value of the first argument called NAME, or NULL. */
const char *cmd_arg(const struct cmd_args *args, const char *name);

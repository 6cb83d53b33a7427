/* cmd: finding a command in the tables, parsing its arguments, and running
 * it against the node named by the profile (or locally). */
#include "cmd.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/ctlclient.h"
#include "base/keys.h"
#include "client/profile.h"

#define CMD_DEFAULT_PROFILE "vigilctl.conf"

static const struct cmd_command *const cmd_groups[] = {
        cmd_node_commands,
        cmd_catalog_commands,
        cmd_access_commands,
        cmd_audit_commands,
        cmd_ticket_commands,
        cmd_deadletter_commands,
        cmd_keygen_commands,
        NULL,
};

#define CMD_GLOBAL_USAGE "vigilctl [-c PROFILE] [--as IDENTITY_FILE] [--json] [--timeout MS] COMMAND ..."

const char *cmd_arg(const struct cmd_args *args, const char *name)
{
        for (int i = 0; i < args->n; i++)
                if (strcmp(args->names[i], name) == 0)
                        return args->values[i];
        return NULL;
}

static int cmd_vfail(const struct cmd_ctx *ctx, int status, const char *article, const char *rule,
                     const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static int cmd_vfail(const struct cmd_ctx *ctx, int status, const char *article, const char *rule,
                     const char *fmt, va_list ap)
{
        char msg[2048];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        if (article && !article[0])
                article = NULL;
        if (rule && !rule[0])
                rule = NULL;
        if (ctx->json) {
                /* CONTRACT.md: {"error", "article" | null, "rule" | null}. */
                json_t *doc = json_pack("{s:s, s:s?, s:s?}", "error", msg, "article", article, "rule", rule);

                /* json_pack with s? turns a NULL article into null. */
                if (doc) {
                        json_dumpf(doc, ctx->out, JSON_COMPACT);
                        fputc('\n', ctx->out);
                        json_decref(doc);
                }
                return status;
        }
        if (article && !strstr(msg, article)) {
                /* CONTRACT.md: "refused: Art 20(1): at least two officers". */
                fprintf(ctx->err, "vigilctl: refused: %s: %s\n", article, msg);
        } else if (article && strncmp(msg, article, strlen(article)) == 0) {
                fprintf(ctx->err, "vigilctl: refused: %s\n", msg);
        } else {
                fprintf(ctx->err, "vigilctl: %s\n", msg);
        }
        if (rule)
                fprintf(ctx->err, "vigilctl: the rule: %s\n", rule);
        return status;
}

int cmd_fail(const struct cmd_ctx *ctx, int status, const char *article, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = cmd_vfail(ctx, status, article, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int cmd_fail_rule(const struct cmd_ctx *ctx, int status, const char *article, const char *rule, const char *fmt,
                  ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = cmd_vfail(ctx, status, article, rule, fmt, ap);
        va_end(ap);
        return r;
}

/* Usages longer than this get their summary on the next line. */
#define CMD_USAGE_COLUMN 52

void cmd_usage(FILE *out)
{
        size_t w = 0;

        fprintf(out, "usage: " CMD_GLOBAL_USAGE "\n\ncommands:\n");
        for (size_t g = 0; cmd_groups[g]; g++)
                for (const struct cmd_command *c = cmd_groups[g]; c->words; c++) {
                        size_t l = strlen(c->words) + 1 + strlen(c->usage);
                        if (l > w && l <= CMD_USAGE_COLUMN)
                                w = l;
                }
        for (size_t g = 0; cmd_groups[g]; g++)
                for (const struct cmd_command *c = cmd_groups[g]; c->words; c++) {
                        size_t l = strlen(c->words) + 1 + strlen(c->usage);

                        if (l > w)
                                fprintf(out, "  %s %s\n  %*s  %s\n", c->words, c->usage, (int)w, "", c->summary);
                        else
                                fprintf(out, "  %s %s%*s  %s\n", c->words, c->usage, (int)(w - l), "",
                                        c->summary);
                }
        fprintf(out, "\nThe profile is -c PROFILE, else $VIGIL_CONF, else ./" CMD_DEFAULT_PROFILE ".\n"
                     "Exit status: 0 done, 1 refused or failed, 2 usage error.\n");
}

static int cmd_usage_error(const struct cmd_ctx *ctx, const struct cmd_command *c,
                           const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int cmd_usage_error(const struct cmd_ctx *ctx, const struct cmd_command *c,
                           const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        cmd_fail(ctx, CMD_EXIT_USAGE, NULL, "%s", msg);
        if (!ctx->json) {
                if (c)
                        fprintf(ctx->err, "usage: vigilctl %s %s\n", c->words, c->usage);
                else
                        fprintf(ctx->err, "usage: " CMD_GLOBAL_USAGE "\n(vigilctl --help lists the commands)\n");
        }
        return CMD_EXIT_USAGE;
}

/* "--name=value" -> "--name" length and the value after '='. */
static size_t cmd_split_option(const char *tok, const char **ret_value)
{
        const char *eq = strchr(tok, '=');

        *ret_value = eq ? eq + 1 : NULL;
        return eq ? (size_t)(eq - tok) : strlen(tok);
}

int cmd_global_option(struct cmd_ctx *ctx, int argc, char **argv, int *i)
{
        const char *tok = argv[*i], *value;
        size_t len = cmd_split_option(tok, &value);
        const char **dst = NULL;

        if (len == 6 && strncmp(tok, "--json", len) == 0) {
                if (value)
                        return cmd_usage_error(ctx, NULL, "--json takes no value"), -1;
                ctx->json = true;
                (*i)++;
                return 1;
        }
        if (strcmp(tok, "-c") == 0 || (len == 9 && strncmp(tok, "--profile", len) == 0))
                dst = &ctx->profile_path;
        else if (len == 4 && strncmp(tok, "--as", len) == 0)
                dst = &ctx->identity_path;
        else if (!(len == 9 && strncmp(tok, "--timeout", len) == 0))
                return 0;
        if (!value) {
                if (*i + 1 >= argc)
                        return cmd_usage_error(ctx, NULL, "%.*s needs a value", (int)len, tok), -1;
                value = argv[++*i];
        }
        (*i)++;
        if (dst) {
                *dst = value;
                return 1;
        }
        {
                char *end;
                long ms;

                errno = 0;
                ms = strtol(value, &end, 10);
                if (errno || end == value || *end || ms <= 0 || ms > 3600 * 1000)
                        return cmd_usage_error(ctx, NULL,
                                               "--timeout wants milliseconds between 1 and 3600000, not '%s'",
                                               value), -1;
                ctx->timeout_ms = (int)ms;
        }
        return 1;
}

/* How many of ARGV's leading words spell C's words, or 0. */
static int cmd_match(const struct cmd_command *c, int argc, char **argv)
{
        const char *w = c->words;
        int n = 0;

        while (*w) {
                size_t len = strcspn(w, " ");

                if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], w, len) != 0)
                        return 0;
                n++;
                w += len;
                while (*w == ' ')
                        w++;
        }
        return n;
}

/* True if WORD starts some command ("node" of "node enroll"). */
static bool cmd_is_group(const char *word)
{
        size_t len = strlen(word);

        for (size_t g = 0; cmd_groups[g]; g++)
                for (const struct cmd_command *c = cmd_groups[g]; c->words; c++)
                        if (strncmp(c->words, word, len) == 0 && c->words[len] == ' ')
                                return true;
        return false;
}

static const struct cmd_command *cmd_find(int argc, char **argv, int *ret_words)
{
        const struct cmd_command *best = NULL;
        int best_n = 0;

        for (size_t g = 0; cmd_groups[g]; g++)
                for (const struct cmd_command *c = cmd_groups[g]; c->words; c++) {
                        int n = cmd_match(c, argc, argv);

                        if (n > best_n) {
                                best = c;
                                best_n = n;
                        }
                }
        *ret_words = best_n;
        return best;
}

static const struct cmd_option *cmd_find_option(const struct cmd_command *c, const char *tok, size_t len)
{
        for (const struct cmd_option *o = c->options; o->flag; o++)
                if (strlen(o->flag) == len && strncmp(o->flag, tok, len) == 0)
                        return o;
        return NULL;
}

static int cmd_add(struct cmd_args *args, const char *name, const char *value)
{
        if (args->n >= CMD_MAX_ARGS)
                return -E2BIG;
        args->names[args->n] = name;
        args->values[args->n] = value;
        args->n++;
        return 0;
}

/* The first line of file PATH (a password, CMD_OPT_FILE), in static
 * storage (one such option per command), or NULL. */
static const char *cmd_file_line(const char *path)
{
        static char line[1024];
        FILE *f = fopen(path, "re");
        bool got;

        if (!f)
                return NULL;
        got = fgets(line, sizeof(line), f) != NULL;
        fclose(f);
        if (!got)
                return NULL;
        line[strcspn(line, "\r\n")] = '\0';
        return line;
}

/* Parse what follows the command's words into ARGS. Global options may
 * appear here too (`vigilctl tree --json`). Exit status on error, else 0. */
static int cmd_parse(struct cmd_ctx *ctx, const struct cmd_command *c, int argc, char **argv,
                     struct cmd_args *args)
{
        int npos = 0, maxpos = 0, only_positional = 0;

        while (maxpos < CMD_MAX_POSITIONAL && c->positional[maxpos])
                maxpos++;
        for (int i = 0; i < argc;) {
                const char *tok = argv[i], *value;

                if (!only_positional && strcmp(tok, "--") == 0) {
                        only_positional = 1;
                        i++;
                        continue;
                }
                if (!only_positional && tok[0] == '-' && tok[1]) {
                        size_t len = cmd_split_option(tok, &value);
                        const struct cmd_option *o = cmd_find_option(c, tok, len);
                        int r;

                        if (strcmp(tok, "-h") == 0 || strcmp(tok, "--help") == 0) {
                                fprintf(ctx->out, "usage: vigilctl %s %s\n  %s\n", c->words, c->usage, c->summary);
                                return -1;
                        }
                        if (!o) {
                                r = cmd_global_option(ctx, argc, argv, &i);
                                if (r < 0)
                                        return CMD_EXIT_USAGE;
                                if (r == 0)
                                        return cmd_usage_error(ctx, c, "%s: unknown option %.*s",
                                                               c->words, (int)len, tok);
                                continue;
                        }
                        if (!(o->flags & CMD_OPT_REPEAT) && cmd_arg(args, o->name))
                                return cmd_usage_error(ctx, c, "%s: %s is given twice", c->words, o->flag);
                        if (o->flags & CMD_OPT_FLAG) {
                                if (value)
                                        return cmd_usage_error(ctx, c, "%s: %s takes no value", c->words, o->flag);
                                value = "true";
                        } else if (!value) {
                                if (i + 1 >= argc)
                                        return cmd_usage_error(ctx, c, "%s: %s needs a value", c->words, o->flag);
                                value = argv[++i];
                        }
                        i++;
                        if ((o->flags & CMD_OPT_FILE) && !(value = cmd_file_line(value)))
                                return cmd_usage_error(ctx, c, "%s: %s: cannot read its first line", c->words,
                                                       o->flag);
                        if (cmd_add(args, o->name, value) < 0)
                                return cmd_usage_error(ctx, c, "%s: too many arguments", c->words);
                        continue;
                }
                if (npos >= maxpos)
                        return cmd_usage_error(ctx, c, "%s: unexpected argument '%s'", c->words, tok);
                if (cmd_add(args, c->positional[npos++], tok) < 0)
                        return cmd_usage_error(ctx, c, "%s: too many arguments", c->words);
                i++;
        }
        if (npos < maxpos) {
                char meta[64];
                size_t k;

                /* Name it as the usage line does: "id" -> "ID". */
                for (k = 0; k + 1 < sizeof(meta) && c->positional[npos][k]; k++)
                        meta[k] = (char)toupper((unsigned char)c->positional[npos][k]);
                meta[k] = '\0';
                return cmd_usage_error(ctx, c, "%s: missing %s", c->words, meta);
        }
        for (const struct cmd_option *o = c->options; o->flag; o++)
                if ((o->flags & CMD_OPT_REQUIRED) && !cmd_arg(args, o->name))
                        return cmd_usage_error(ctx, c, "%s: missing %s", c->words, o->flag);
        return 0;
}

/* Profile and identity: -c / $VIGIL_CONF / ./vigilctl.conf, and --as over
 * the profile's identity. Exit status on error, else 0. */
static int cmd_load_profile(const struct cmd_ctx *ctx, struct profile *ret_profile,
                            struct identity *ret_identity)
{
        const char *path = ctx->profile_path, *id_path;
        char err[1024];

        if (!path) {
                const char *env = getenv("VIGIL_CONF");

                path = env && env[0] ? env : CMD_DEFAULT_PROFILE;
                if (!(env && env[0]) && access(path, F_OK) != 0)
                        return cmd_fail(ctx, CMD_EXIT_USAGE, NULL,
                                        "no profile: give -c PROFILE, set VIGIL_CONF, "
                                        "or put " CMD_DEFAULT_PROFILE " in this folder");
        }
        if (profile_load(path, ret_profile, err, sizeof(err)) < 0)
                return cmd_fail(ctx, CMD_EXIT_USAGE, NULL, "%s", err);
        id_path = ctx->identity_path ? ctx->identity_path : ret_profile->identity_path;
        if (!id_path[0])
                return cmd_fail(ctx, CMD_EXIT_USAGE, NULL,
                                "%s names no identity: add identity = FILE to it, or give --as FILE", path);
        if (identity_load(id_path, ret_identity, err, sizeof(err)) < 0)
                return cmd_fail(ctx, CMD_EXIT_USAGE, NULL, "%s", err);
        return 0;
}

static int cmd_print_reply(const struct cmd_ctx *ctx, const struct cmd_command *c,
                           const struct cmd_args *args, const char *text)
{
        json_error_t jerr;
        json_t *doc;
        int r;

        if (ctx->json) {
                size_t len = strlen(text);

                /* Verbatim: scripts get exactly what the node said. */
                fputs(text, ctx->out);
                if (len == 0 || text[len - 1] != '\n')
                        fputc('\n', ctx->out);
                return CMD_EXIT_OK;
        }
        doc = json_loads(text, JSON_DECODE_ANY, &jerr);
        if (!doc)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL,
                                "the node's reply to '%s' is not JSON (%s)", c->words, jerr.text);
        if (c->render) {
                r = c->render(ctx->out, doc, args);
        } else {
                r = json_dumpf(doc, ctx->out, JSON_INDENT(2)) < 0 ? -EIO : 0;
                fputc('\n', ctx->out);
        }
        json_decref(doc);
        if (r == -EBADMSG)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL,
                                "the node's reply to '%s' has an unexpected shape (--json shows it as it is)",
                                c->words);
        if (r < 0)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "printing the reply: %s", strerror(-r));
        return CMD_EXIT_OK;
}

int cmd_open_client(const struct cmd_ctx *ctx, struct ctlclient **ret_client, char *endpoint, size_t n)
{
        struct profile profile;
        struct identity id;
        char err[1024];
        int r;

        r = cmd_load_profile(ctx, &profile, &id);
        if (r != 0)
                return r;
        *ret_client = ctlclient_new(profile.endpoint, profile.server_key, &id, err, sizeof(err));
        if (!*ret_client)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "%s", err);
        snprintf(endpoint, n, "%s", profile.endpoint);
        return 0;
}

/* Arguments of one page's request: ARGS without `page` and `limit`, then
 * the cursor NEXT and, when LIMIT > 0, the rows still wanted. */
struct cmd_page_args {
        int n;
        const char *names[CMD_MAX_ARGS + 2];
        const char *values[CMD_MAX_ARGS + 2];
        char limit[24];
};

static void cmd_page_args(struct cmd_page_args *pa, const char *const *names, const char *const *values,
                          int nargs, const char *next, long limit)
{
        pa->n = 0;
        for (int i = 0; i < nargs && pa->n < CMD_MAX_ARGS; i++) {
                if (strcmp(names[i], "page") == 0 || strcmp(names[i], "limit") == 0)
                        continue;
                pa->names[pa->n] = names[i];
                pa->values[pa->n++] = values[i];
        }
        if (next) {
                pa->names[pa->n] = "page";
                pa->values[pa->n++] = next;
        }
        if (limit > 0) {
                snprintf(pa->limit, sizeof(pa->limit), "%ld", limit);
                pa->names[pa->n] = "limit";
                pa->values[pa->n++] = pa->limit;
        }
}

/* One request on CLIENT: CMD_EXIT_OK with the reply (caller frees), or the
 * exit status after reporting why not. */
static int cmd_request(const struct cmd_ctx *ctx, struct ctlclient *client, const struct profile *profile,
                       const struct identity *id, const char *wire, const char *words, const char *const *names,
                       const char *const *values, int nargs, Vigil__ControlReply **ret_reply)
{
        Vigil__ControlReply *reply = NULL;
        int r, status;

        *ret_reply = NULL;
        r = ctlclient_call(client, wire, names, values, nargs, ctx->timeout_ms, &reply);
        if (r == -ETIMEDOUT) {
                char within[32];

                if (ctx->timeout_ms % 1000 == 0)
                        snprintf(within, sizeof(within), "%d s", ctx->timeout_ms / 1000);
                else
                        snprintf(within, sizeof(within), "%d ms", ctx->timeout_ms);
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL,
                                "no answer from %s within %s (is vigild running there, "
                                "and is this identity enrolled?)", profile->endpoint, within);
        }
        if (r == -EACCES)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL,
                                "%s refused identity '%s' (key %s): it is not enrolled on that node",
                                profile->endpoint, id->name, id->curve_public);
        if (r < 0)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "talking to %s: %s",
                                profile->endpoint, strerror(-r));
        if (reply->has_status && reply->status != 0) {
                status = reply->status == CMD_EXIT_USAGE ? CMD_EXIT_USAGE : CMD_EXIT_FAILED;
                r = cmd_fail_rule(ctx, status, reply->article, reply->rule,
                                  "%s", reply->error && reply->error[0] ? reply->error : "the node gave no reason");
        } else if (!reply->json) {
                r = cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "the node's reply to '%s' carries no document", words);
        } else {
                *ret_reply = reply;
                return CMD_EXIT_OK;
        }
        vigil__control_reply__free_unpacked(reply, NULL);
        return r;
}

/* Add the rows of page TEXT to ALL. */
static int cmd_add_page(const struct cmd_ctx *ctx, const char *words, json_t *all, const char *text, size_t *rows)
{
        json_t *page = json_loads(text, JSON_DECODE_ANY, NULL);

        if (!json_is_array(page)) {
                json_decref(page);
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "the node's page of '%s' is not a list", words);
        }
        *rows += json_array_size(page);
        json_array_extend(all, page);
        json_decref(page);
        return CMD_EXIT_OK;
}

int cmd_call_paged(const struct cmd_ctx *ctx, const char *wire, const char *words, const char *const *names,
                   const char *const *values, int nargs, bool has_limit, char **ret_json)
{
        struct profile profile;
        struct identity id;
        struct ctlclient *client;
        Vigil__ControlReply *reply = NULL;
        struct cmd_page_args pa;
        json_t *all = NULL;
        const char *limit_arg = NULL;
        char err[1024], *next = NULL;
        long limit = 0;
        size_t rows = 0;
        int r;

        *ret_json = NULL;
        for (int i = 0; i < nargs; i++)
                if (strcmp(names[i], "limit") == 0)
                        limit_arg = values[i];
        if (limit_arg)
                limit = strtol(limit_arg, NULL, 10);
        r = cmd_load_profile(ctx, &profile, &id);
        if (r != 0)
                return r;
        client = ctlclient_new(profile.endpoint, profile.server_key, &id, err, sizeof(err));
        if (!client)
                return cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "%s", err);
        r = cmd_request(ctx, client, &profile, &id, wire, words, names, values, nargs, &reply);
        /* A listing comes a page at a time (the node's pages are bounded,
         * issue 17 fault 5): ask for the next while the node says more
         * follow and the operator's --limit is not met. */
        while (r == CMD_EXIT_OK && reply->next && reply->next[0]) {
                if (!all)
                        all = json_array();
                r = cmd_add_page(ctx, words, all, reply->json, &rows);
                free(next);
                next = strdup(reply->next);
                vigil__control_reply__free_unpacked(reply, NULL);
                reply = NULL;
                if (r == CMD_EXIT_OK && !next)
                        r = cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "out of memory");
                if (r != CMD_EXIT_OK)
                        break;
                if (has_limit && (!limit_arg || (long)rows >= limit)) {
                        /* Said on stderr: --json output stays the list. */
                        fprintf(ctx->err, "vigilctl: %zu shown; more exist (--limit N shows more, --under "
                                "narrows)\n", rows);
                        break;
                }
                cmd_page_args(&pa, names, values, nargs, next, has_limit ? limit - (long)rows : 0);
                r = cmd_request(ctx, client, &profile, &id, wire, words, pa.names, pa.values, pa.n, &reply);
        }
        ctlclient_free(client);
        free(next);
        if (r == CMD_EXIT_OK && reply && all)
                r = cmd_add_page(ctx, words, all, reply->json, &rows);
        if (r == CMD_EXIT_OK) {
                *ret_json = all ? json_dumps(all, JSON_COMPACT) : strdup(reply->json);
                if (!*ret_json)
                        r = cmd_fail(ctx, CMD_EXIT_FAILED, NULL, "out of memory");
        }
        json_decref(all);
        if (reply)
                vigil__control_reply__free_unpacked(reply, NULL);
        return r;
}

int cmd_call(const struct cmd_ctx *ctx, const char *wire, const char *words, const char *const *names,
             const char *const *values, int nargs, char **ret_json)
{
        return cmd_call_paged(ctx, wire, words, names, values, nargs, false, ret_json);
}

/* Whether C has a --limit option: its listing stops there (and says so
 * when more exist); one without one is read to its end. */
static bool cmd_has_limit(const struct cmd_command *c)
{
        for (int i = 0; i < CMD_MAX_OPTIONS && c->options[i].flag; i++)
                if (strcmp(c->options[i].name, "limit") == 0)
                        return true;
        return false;
}

static int cmd_remote(const struct cmd_ctx *ctx, const struct cmd_command *c, const struct cmd_args *args)
{
        char *json;
        int r = cmd_call_paged(ctx, c->wire, c->words, args->names, args->values, args->n, cmd_has_limit(c), &json);

        if (r == CMD_EXIT_OK)
                r = cmd_print_reply(ctx, c, args, json);
        free(json);
        return r;
}

int cmd_dispatch(struct cmd_ctx *ctx, int argc, char **argv)
{
        const struct cmd_command *c;
        struct cmd_args args;
        int words, r;

        if (argc == 0)
                return cmd_usage_error(ctx, NULL, "no command given");
        c = cmd_find(argc, argv, &words);
        if (!c) {
                if (argc > 1 && argv[1][0] != '-' && cmd_is_group(argv[0]))
                        return cmd_usage_error(ctx, NULL, "unknown command '%s %s'", argv[0], argv[1]);
                return cmd_usage_error(ctx, NULL, "unknown command '%s'", argv[0]);
        }
        memset(&args, 0, sizeof(args));
        r = cmd_parse(ctx, c, argc - words, argv + words, &args);
        if (r < 0)
                return CMD_EXIT_OK;     /* --help */
        if (r != 0)
                return r;
        if (c->local)
                return c->local(ctx, &args);
        return cmd_remote(ctx, c, &args);
}

/* config: vigild.conf, one table of keys (STYLE.md 9).
 *
 * Each key maps to a parser and an offsetof() into struct config. The file
 * is read through ini_parse_stream() with our own line reader, because
 * Debian's inih is built without INI_HANDLER_LINENO: the reader counts
 * lines, so every error names the line it is about. Nothing is applied
 * until the whole file has parsed and every rule between keys holds. */
#include "base/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

struct config_parse;

struct key_def {
        const char *section;
        const char *key;
        int (*parse)(struct config_parse *p, const struct key_def *k, const char *value);
        size_t offset;
        size_t size;            /* buffer size for strings */
        int min, max;           /* range for ints */
        bool multi;             /* value may continue on indented lines */
};

#define MAX_KEYS 32

struct config_parse {
        const char *path;
        char dir[512];          /* folder of the file, for relative paths */
        struct config cfg;
        FILE *f;
        char *linebuf;
        size_t linecap;
        int line;
        bool continuation;      /* current line is an indented continuation */
        int key_line[MAX_KEYS]; /* 0: not given */
        char why[512];          /* first error, without the file:line prefix */
        int err_line;
};

static int fail_at(struct config_parse *p, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail_at(struct config_parse *p, int line, const char *fmt, ...)
{
        if (p->why[0] == '\0') {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(p->why, sizeof(p->why), fmt, ap);
                va_end(ap);
                p->err_line = line;
        }
        return 0; /* inih: handler failed */
}

static void *field(struct config_parse *p, const struct key_def *k)
{
        return (char *)&p->cfg + k->offset;
}

static bool utf8_valid(const unsigned char *s)
{
        while (*s) {
                unsigned c = *s;
                int n;
                uint32_t cp;
                if (c < 0x80) { s++; continue; }
                else if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
                else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
                else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
                else return false;
                for (int i = 1; i <= n; i++) {
                        if ((s[i] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i] & 0x3f);
                }
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                s += n + 1;
        }
        return true;
}

/* Copy VALUE into the key's buffer; text values are UTF-8 without control
 * characters because they travel on the wire and into logs. */
static int parse_string(struct config_parse *p, const struct key_def *k, const char *value)
{
        char *dst = field(p, k);
        size_t len = strlen(value);
        if (len >= k->size)
                return fail_at(p, p->line, "[%s] %s: longer than %zu characters",
                               k->section, k->key, k->size - 1);
        for (const char *c = value; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        return fail_at(p, p->line, "[%s] %s: control characters are not allowed",
                                       k->section, k->key);
        if (!utf8_valid((const unsigned char *)value))
                return fail_at(p, p->line, "[%s] %s: not valid UTF-8", k->section, k->key);
        memcpy(dst, value, len + 1);
        return 1;
}

/* Relative paths are relative to the configuration file's folder, as for
 * vigilctl profiles, so that a node's folder can be moved as a whole. */
static int parse_path(struct config_parse *p, const struct key_def *k, const char *value)
{
        char buf[1024];
        if (value[0] == '/' || p->dir[0] == '\0')
                return parse_string(p, k, value);
        int n = snprintf(buf, sizeof(buf), "%s/%s", p->dir, value);
        if (n < 0 || (size_t)n >= k->size)
                return fail_at(p, p->line, "[%s] %s: path %s (relative to %s) is too long",
                               k->section, k->key, value, p->dir);
        return parse_string(p, k, buf);
}

static int parse_nodeid(struct config_parse *p, const struct key_def *k, const char *value)
{
        if (!nodeid_is_wellformed(value))
                return fail_at(p, p->line, "[%s] %s: \"%.40s\" is not a GB/T 28181 node ID "
                               "(exactly 20 digits)", k->section, k->key, value);
        return parse_string(p, k, value);
}

static int parse_tier(struct config_parse *p, const struct key_def *k, const char *value)
{
        if (tier_parse(value, (enum tier *)field(p, k)) < 0)
                return fail_at(p, p->line, "[%s] %s: \"%.40s\" is not a tier (city, district or station)",
                               k->section, k->key, value);
        return 1;
}

static int parse_endpoint(struct config_parse *p, const struct key_def *k, const char *value)
{
        const char *rest = NULL;
        if (strncmp(value, "tcp://", 6) == 0) {
                rest = strrchr(value + 6, ':');
                char *end;
                long port = rest ? strtol(rest + 1, &end, 10) : 0;
                if (!rest || rest == value + 6 ||
                    !(strcmp(rest + 1, "*") == 0 || (*end == '\0' && rest[1] && port > 0 && port < 65536)))
                        return fail_at(p, p->line, "[%s] %s: \"%.100s\" is not tcp://HOST:PORT",
                                       k->section, k->key, value);
        } else if (strncmp(value, "ipc://", 6) != 0 || value[6] == '\0') {
                return fail_at(p, p->line, "[%s] %s: \"%.100s\" is not a ZeroMQ endpoint "
                               "(tcp://HOST:PORT or ipc://PATH)", k->section, k->key, value);
        }
        return parse_string(p, k, value);
}

static int parse_z85(struct config_parse *p, const struct key_def *k, const char *value)
{
        if (!keys_z85_valid(value))
                return fail_at(p, p->line, "[%s] %s: \"%.60s\" is not a 40-character Z85 CURVE public key",
                               k->section, k->key, value);
        return parse_string(p, k, value);
}

static int parse_sign_key(struct config_parse *p, const struct key_def *k, const char *value)
{
        uint8_t key[32];

        if (keys_sign_public_parse(value, key) < 0)
                return fail_at(p, p->line, "[%s] %s: \"%.70s\" is not a 64-digit hex Ed25519 public key "
                               "(the city's sign.pub)", k->section, k->key, value);
        return parse_string(p, k, value);
}

/* HOST:PORT, HOST numeric IPv4 or [IPv6] (the gate binds it as given:
 * no name to resolve at start). */
static int parse_listen(struct config_parse *p, const struct key_def *k, const char *value)
{
        char host[64];
        const char *colon = strrchr(value, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        size_t hl = colon ? (size_t)(colon - value) : 0;
        unsigned char buf[16];

        if (hl > 1 && value[0] == '[' && value[hl - 1] == ']') {
                value++;
                hl -= 2;
        }
        if (!colon || hl == 0 || hl >= sizeof(host) || *end != '\0' || port <= 0 || port > 65535)
                return fail_at(p, p->line, "[%s] %s: \"%.100s\" is not HOST:PORT", k->section, k->key, value);
        memcpy(host, value, hl);
        host[hl] = '\0';
        if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
                return fail_at(p, p->line, "[%s] %s: \"%.60s\" is not a numeric IPv4 or IPv6 address",
                               k->section, k->key, host);
        snprintf(p->cfg.gate_host, sizeof(p->cfg.gate_host), "%s", host);
        p->cfg.gate_port = (int)port;
        return 1;
}

static int parse_rtsp_url(struct config_parse *p, const struct key_def *k, const char *value)
{
        if (strncmp(value, "rtsp://", 7) != 0 || value[7] == '\0' || strchr(value + 7, '@') ||
            strchr(value + 7, '/') || strpbrk(value, " \t"))
                return fail_at(p, p->line, "[%s] %s: \"%.100s\" is not rtsp://HOST[:PORT] (no path, no user)",
                               k->section, k->key, value);
        return parse_string(p, k, value);
}

static int parse_int(struct config_parse *p, const struct key_def *k, const char *value)
{
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end != '\0' || v < k->min || v > k->max)
                return fail_at(p, p->line, "[%s] %s: \"%.40s\" is not a whole number from %d to %d",
                               k->section, k->key, value, k->min, k->max);
        *(int *)field(p, k) = (int)v;
        return 1;
}

static int parse_level(struct config_parse *p, const struct key_def *k, const char *value)
{
        enum log_level l;
        if (log_level_parse(value, &l) < 0)
                return fail_at(p, p->line, "[%s] %s: \"%.40s\" is not debug, info, warn or error",
                               k->section, k->key, value);
        return parse_string(p, k, value);
}

/* Space-separated keys, possibly over several indented lines (inih's line
 * length is 200, so more than four keys need continuation lines). */
static int parse_admin_keys(struct config_parse *p, const struct key_def *k, const char *value)
{
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", value);
        for (char *save, *tok = strtok_r(buf, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
                if (!keys_z85_valid(tok))
                        return fail_at(p, p->line, "[control] admin_keys: \"%.60s\" is not a "
                                       "40-character Z85 CURVE public key", tok);
                if (p->cfg.n_admin_keys >= CONFIG_MAX_ADMIN_KEYS)
                        return fail_at(p, p->line, "[control] admin_keys: more than %d keys",
                                       CONFIG_MAX_ADMIN_KEYS);
                memcpy(p->cfg.admin_keys[p->cfg.n_admin_keys++], tok, KEYS_Z85_LEN + 1);
        }
        return 1;
}

/* libpq conninfo is space-separated key=value pairs, so continuation lines
 * join with a space. */
static int parse_conninfo(struct config_parse *p, const struct key_def *k, const char *value)
{
        char *dst = field(p, k);
        char buf[sizeof(p->cfg.conninfo) + 256];
        snprintf(buf, sizeof(buf), "%s%s%s", dst, dst[0] ? " " : "", value);
        return parse_string(p, k, buf);
}

#define F(member) offsetof(struct config, member), sizeof(((struct config *)0)->member)
#define I(member, lo, hi) offsetof(struct config, member), sizeof(int), lo, hi

static const struct key_def keys[] = {
        { "node", "id", parse_nodeid, F(node_id), 0, 0, false },
        { "node", "name", parse_string, F(name), 0, 0, false },
        { "node", "tier", parse_tier, F(tier), 0, 0, false },
        { "node", "key_dir", parse_path, F(key_dir), 0, 0, false },
        { "parent", "id", parse_nodeid, F(parent_id), 0, 0, false },
        { "parent", "endpoint", parse_endpoint, F(parent_endpoint), 0, 0, false },
        { "parent", "public_key", parse_z85, F(parent_public_key), 0, 0, false },
        { "parent", "root_sign_key", parse_sign_key, F(root_sign_key), 0, 0, false },
        { "listen", "control", parse_endpoint, F(control_endpoint), 0, 0, false },
        { "listen", "downlink", parse_endpoint, F(downlink_endpoint), 0, 0, false },
        { "database", "conninfo", parse_conninfo, F(conninfo), 0, 0, true },
        { "link", "heartbeat_ms", parse_int, I(heartbeat_ms, 50, 60000), false },
        { "link", "heartbeat_misses", parse_int, I(heartbeat_misses, 2, 100), false },
        { "link", "window", parse_int, I(window, 1, 100000), false },
        { "link", "reconnect_min_ms", parse_int, I(reconnect_min_ms, 10, 60000), false },
        { "link", "reconnect_max_ms", parse_int, I(reconnect_max_ms, 10, 600000), false },
        { "link", "stall_seconds", parse_int, I(stall_seconds, 2, 3600), false },
        { "link", "backlog_alarm_seconds", parse_int, I(backlog_alarm_seconds, 1, 604800), false },
        { "emergency", "link_delay_ms", parse_int, I(emergency_link_delay_ms, 0, 5000), false },
        { "control", "admin_keys", parse_admin_keys, F(admin_keys), 0, 0, true },
        { "log", "level", parse_level, F(log_level), 0, 0, false },
        { "log", "file", parse_path, F(log_file), 0, 0, false },
        /* Art 19: how long an approval and a delegation may last (README). */
        { "access", "max_approval_hours", parse_int, I(max_approval_hours, 1, 8760), false },
        { "access", "max_delegation_days", parse_int, I(max_delegation_days, 1, 366), false },
        /* Art 19, 29(2): a station's stream gate (README "The stream gate"). */
        { "gate", "listen", parse_listen, F(gate_host), 0, 0, false },
        { "gate", "public_url", parse_rtsp_url, F(gate_public_url), 0, 0, false },
        { "gate", "ticket_seconds", parse_int, I(ticket_seconds, 10, 3600), false },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= MAX_KEYS, "raise MAX_KEYS");

/* Positions in keys[] above; keep in the same order. */
enum key_index {
        K_NODE_ID, K_NAME, K_TIER, K_KEY_DIR, K_PARENT_ID, K_PARENT_ENDPOINT,
        K_PARENT_KEY, K_ROOT_SIGN_KEY, K_CONTROL, K_DOWNLINK, K_CONNINFO, K_HEARTBEAT_MS,
        K_HEARTBEAT_MISSES, K_WINDOW, K_RECONNECT_MIN, K_RECONNECT_MAX, K_STALL_SECONDS, K_BACKLOG_ALARM,
        K_LINK_DELAY, K_ADMIN_KEYS, K_LOG_LEVEL, K_LOG_FILE, K_MAX_APPROVAL, K_MAX_DELEGATION,
        K_GATE_LISTEN, K_GATE_PUBLIC_URL, K_TICKET_SECONDS, K_COUNT
};
_Static_assert(K_COUNT == N_KEYS, "enum key_index out of step with keys[]");

void config_init(struct config *cfg)
{
        memset(cfg, 0, sizeof(*cfg));
        cfg->tier = TIER_NONE;
        cfg->heartbeat_ms = 1000;
        cfg->heartbeat_misses = 3;
        cfg->window = 10000;
        cfg->reconnect_min_ms = 100;
        cfg->reconnect_max_ms = 2000;
        cfg->stall_seconds = 30;
        cfg->backlog_alarm_seconds = 300;
        cfg->emergency_link_delay_ms = 200;
        cfg->max_approval_hours = 72;
        cfg->max_delegation_days = 30;
        cfg->ticket_seconds = 300;
        snprintf(cfg->log_level, sizeof(cfg->log_level), "info");
}

/* One whole line per call, counted; a line longer than inih's buffer is an
 * error rather than being split into two lines silently. */
static char *reader(char *str, int num, void *stream)
{
        struct config_parse *p = stream;
        ssize_t n = getline(&p->linebuf, &p->linecap, p->f);
        if (n < 0)
                return NULL;
        p->line++;
        if (n > num - 1) {
                fail_at(p, p->line, "line longer than %d characters (continue a long value "
                        "on indented lines)", num - 3);
                return NULL;
        }
        p->continuation = p->linebuf[0] == ' ' || p->linebuf[0] == '\t';
        memcpy(str, p->linebuf, (size_t)n + 1);
        return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
        struct config_parse *p = user;
        if (p->why[0])
                return 0;
        for (size_t i = 0; i < N_KEYS; i++) {
                const struct key_def *k = &keys[i];
                if (strcmp(section, k->section) != 0 || strcmp(name, k->key) != 0)
                        continue;
                if (p->key_line[i] && p->continuation && !k->multi)
                        return fail_at(p, p->line, "[%s] %s: only admin_keys and conninfo may "
                                       "continue on an indented line", section, name);
                if (p->key_line[i] && !p->continuation)
                        return fail_at(p, p->line, "[%s] %s: given twice (first on line %d)",
                                       section, name, p->key_line[i]);
                if (!p->continuation || !p->key_line[i])
                        p->key_line[i] = p->line;
                if (value[0] == '\0')
                        return fail_at(p, p->line, "[%s] %s: empty value (leave the key out to use "
                                       "the default, where there is one)", section, name);
                return k->parse(p, k, value);
        }
        for (size_t i = 0; i < N_KEYS; i++)
                if (strcmp(section, keys[i].section) == 0)
                        return fail_at(p, p->line, "[%.40s] %.40s: unknown key", section, name);
        return fail_at(p, p->line, "[%.40s]: unknown section (known: node, parent, listen, "
                       "database, link, emergency, access, gate, control, log)", section);
}

static int require(struct config_parse *p, enum key_index i, const char *why)
{
        if (p->key_line[i])
                return 1;
        return fail_at(p, 0, "[%s] %s is missing%s%s", keys[i].section, keys[i].key,
                       why ? ": " : "", why ? why : "");
}

/* The rules between keys, each reported at the line of the key it is about. */
static void check_rules(struct config_parse *p)
{
        struct config *c = &p->cfg;
        char e[300];

        if (!require(p, K_NODE_ID, NULL) || !require(p, K_NAME, NULL) ||
            !require(p, K_TIER, "city, district or station") ||
            !require(p, K_KEY_DIR, "the folder written by `vigild keygen DIR`"))
                return;
        if (nodeid_check_node(c->node_id, c->tier, e, sizeof(e)) < 0) {
                fail_at(p, p->key_line[K_NODE_ID], "[node] id: %s", e);
                return;
        }
        if (c->tier == TIER_CITY) {
                for (int i = K_PARENT_ID; i <= K_ROOT_SIGN_KEY; i++)
                        if (p->key_line[i]) {
                                fail_at(p, p->key_line[i], "[parent] %s: the city is the root of "
                                        "the tree and has no parent; remove the [parent] section",
                                        keys[i].key);
                                return;
                        }
        } else {
                if (!require(p, K_PARENT_ID, "every district and station has a parent") ||
                    !require(p, K_PARENT_ENDPOINT, "the parent's downlink endpoint") ||
                    !require(p, K_PARENT_KEY, "the parent's curve.pub") ||
                    !require(p, K_ROOT_SIGN_KEY, "the city's sign.pub: the root of the keys this node "
                             "trusts the decisions of (Art 19)"))
                        return;
                if (nodeid_check_node(c->parent_id, (enum tier)(c->tier - 1), e, sizeof(e)) < 0) {
                        fail_at(p, p->key_line[K_PARENT_ID], "[parent] id: %s", e);
                        return;
                }
                if (nodeid_check_child(c->node_id, c->parent_id, e, sizeof(e)) < 0) {
                        fail_at(p, p->key_line[K_NODE_ID], "[node] id: %s", e);
                        return;
                }
        }
        if (!require(p, K_CONTROL, "the endpoint vigilctl connects to"))
                return;
        if (c->tier == TIER_STATION && p->key_line[K_DOWNLINK]) {
                fail_at(p, p->key_line[K_DOWNLINK], "[listen] downlink: a station has no "
                        "children; remove the key");
                return;
        }
        if (c->tier != TIER_STATION &&
            !require(p, K_DOWNLINK, "a city or district listens for its children"))
                return;
        if (!require(p, K_CONNINFO, "the libpq conninfo of this node's database"))
                return;
        if (c->tier != TIER_STATION) {
                for (int i = K_GATE_LISTEN; i <= K_TICKET_SECONDS; i++)
                        if (p->key_line[i]) {
                                fail_at(p, p->key_line[i], "[gate] %s: a stream gate is at the station that "
                                        "owns the cameras, not at a %s; remove the [gate] section", keys[i].key,
                                        tier_name(c->tier));
                                return;
                        }
        } else if (p->key_line[K_GATE_PUBLIC_URL] && !p->key_line[K_GATE_LISTEN]) {
                fail_at(p, p->key_line[K_GATE_PUBLIC_URL], "[gate] public_url: without [gate] listen there is "
                        "no gate to name");
                return;
        } else if (p->key_line[K_GATE_LISTEN] && !p->key_line[K_GATE_PUBLIC_URL]) {
                /* A gate on a wildcard address has no one name a player
                 * could use: say it rather than answer rtsp://0.0.0.0. */
                if (strcmp(c->gate_host, "0.0.0.0") == 0 || strcmp(c->gate_host, "::") == 0) {
                        fail_at(p, p->key_line[K_GATE_LISTEN], "[gate] listen: %s listens on every address; "
                                "say which one players use in [gate] public_url", c->gate_host);
                        return;
                }
                snprintf(c->gate_public_url, sizeof(c->gate_public_url), strchr(c->gate_host, ':') ?
                         "rtsp://[%s]:%d" : "rtsp://%s:%d", c->gate_host, c->gate_port);
        }
        if (c->reconnect_min_ms > c->reconnect_max_ms)
                fail_at(p, p->key_line[K_RECONNECT_MIN] ? p->key_line[K_RECONNECT_MIN] :
                        p->key_line[K_RECONNECT_MAX],
                        "[link] reconnect_min_ms (%d) is larger than reconnect_max_ms (%d)",
                        c->reconnect_min_ms, c->reconnect_max_ms);
}

int config_load(const char *path, struct config *cfg, char *err, size_t errlen)
{
        struct config_parse *p = calloc(1, sizeof(*p));
        int r;

        if (!p)
                return -ENOMEM;
        p->path = path;
        p->cfg = *cfg;
        const char *slash = strrchr(path, '/');
        size_t dirlen = slash ? (size_t)(slash - path) : 0;
        if (slash == path)
                dirlen = 1; /* "/vigild.conf": the folder is "/" */
        if (dirlen >= sizeof(p->dir)) {
                free(p);
                if (err && errlen)
                        snprintf(err, errlen, "%s: path too long", path);
                return -ENAMETOOLONG;
        }
        memcpy(p->dir, path, dirlen);
        p->dir[dirlen] = '\0';
        p->f = fopen(path, "re");
        if (!p->f) {
                r = -errno;
                if (err && errlen)
                        snprintf(err, errlen, "%s: %s", path, strerror(errno));
                free(p);
                return r;
        }
        r = ini_parse_stream(reader, p, handler, p);
        fclose(p->f);
        free(p->linebuf);
        if (!p->why[0] && r > 0)
                fail_at(p, r, "syntax error (expected [section] or key = value)");
        if (!p->why[0])
                check_rules(p);
        if (p->why[0]) {
                if (err && errlen) {
                        if (p->err_line > 0)
                                snprintf(err, errlen, "%s:%d: %s", path, p->err_line, p->why);
                        else
                                snprintf(err, errlen, "%s: %s", path, p->why);
                }
                r = -EINVAL;
        } else {
                *cfg = p->cfg;
                r = 0;
        }
        free(p);
        return r;
}

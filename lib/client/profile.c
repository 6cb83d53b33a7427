/* profile: vigilctl.conf, the operator's pointer to one node's control socket.
 *
 * Parsed with inih. Like vigild.conf, every key is known and checked: a typo
 * in a profile would otherwise surface later as a puzzling timeout. */
#include "client/profile.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "base/keys.h"

#define PROFILE_SECTION "vigilctl"

struct profile_parse {
        struct profile *p;
        int seen_endpoint, seen_server_key, seen_identity;
        char err[512];  /* first problem found; inih tells us its line */
};

/* One row per key, so adding a key is a row (STYLE.md 9). */
struct profile_key {
        const char *name;
        size_t offset;
        size_t size;
        size_t seen_offset;
};

static const struct profile_key profile_keys[] = {
        { "endpoint", offsetof(struct profile, endpoint),
          sizeof(((struct profile *)0)->endpoint),
          offsetof(struct profile_parse, seen_endpoint) },
        { "server_key", offsetof(struct profile, server_key),
          sizeof(((struct profile *)0)->server_key),
          offsetof(struct profile_parse, seen_server_key) },
        { "identity", offsetof(struct profile, identity_path),
          sizeof(((struct profile *)0)->identity_path),
          offsetof(struct profile_parse, seen_identity) },
};

static int profile_handler(void *user, const char *section, const char *name,
                           const char *value)
{
        struct profile_parse *pp = user;

        /* Keep the first error only: later ones are often its consequences. */
        if (pp->err[0])
                return 0;
        if (strcmp(section, PROFILE_SECTION) != 0) {
                snprintf(pp->err, sizeof(pp->err),
                         "unknown section [%s] (a profile has only [" PROFILE_SECTION "])",
                         section);
                return 0;
        }
        for (size_t i = 0; i < sizeof(profile_keys) / sizeof(profile_keys[0]); i++) {
                const struct profile_key *k = &profile_keys[i];
                int *seen = (int *)((char *)pp + k->seen_offset);
                char *dst = (char *)pp->p + k->offset;

                if (strcmp(name, k->name) != 0)
                        continue;
                if (*seen) {
                        snprintf(pp->err, sizeof(pp->err), "%s is given twice", name);
                        return 0;
                }
                if (!value[0]) {
                        snprintf(pp->err, sizeof(pp->err), "%s is empty", name);
                        return 0;
                }
                if (strlen(value) >= k->size) {
                        snprintf(pp->err, sizeof(pp->err),
                                 "%s is too long (at most %zu characters)", name, k->size - 1);
                        return 0;
                }
                memcpy(dst, value, strlen(value) + 1);
                *seen = 1;
                return 1;
        }
        snprintf(pp->err, sizeof(pp->err),
                 "unknown key '%s' in [" PROFILE_SECTION "] (known: endpoint, server_key, identity)",
                 name);
        return 0;
}

/* A relative identity path is relative to the profile's folder, so a profile
 * and its identity can be moved together (deploy/run-local writes both into
 * var/local/NAME/). */
static int profile_resolve_identity(struct profile *p, const char *profile_path)
{
        const char *slash = strrchr(profile_path, '/');
        char joined[sizeof(p->identity_path)];
        int n;

        if (p->identity_path[0] == '/' || !slash)
                return 0;
        n = snprintf(joined, sizeof(joined), "%.*s/%s",
                     (int)(slash - profile_path), profile_path, p->identity_path);
        if (n < 0 || (size_t)n >= sizeof(joined))
                return -ENAMETOOLONG;
        memcpy(p->identity_path, joined, (size_t)n + 1);
        return 0;
}

int profile_load(const char *path, struct profile *ret, char *err, size_t errlen)
{
        struct profile p;
        struct profile_parse pp;
        int line;

        memset(&p, 0, sizeof(p));
        memset(&pp, 0, sizeof(pp));
        pp.p = &p;

        line = ini_parse(path, profile_handler, &pp);
        if (line == -1) {
                int e = errno ? errno : ENOENT;
                snprintf(err, errlen, "cannot read profile %s: %s", path, strerror(e));
                return -e;
        }
        if (line == -2) {
                snprintf(err, errlen, "cannot read profile %s: out of memory", path);
                return -ENOMEM;
        }
        if (line > 0) {
                snprintf(err, errlen, "%s:%d: %s", path, line,
                         pp.err[0] ? pp.err : "not an INI line (expected key = value)");
                return -EINVAL;
        }
        if (!pp.seen_endpoint || !pp.seen_server_key) {
                snprintf(err, errlen, "%s: [" PROFILE_SECTION "] lacks %s%s%s", path,
                         pp.seen_endpoint ? "" : "endpoint (the node's control socket, e.g. tcp://127.0.0.1:7201)",
                         !pp.seen_endpoint && !pp.seen_server_key ? " and " : "",
                         pp.seen_server_key ? "" : "server_key (the node's curve.pub)");
                return -EINVAL;
        }
        if (!strstr(p.endpoint, "://")) {
                snprintf(err, errlen, "%s: endpoint '%s' is not a ZeroMQ endpoint (e.g. tcp://127.0.0.1:7201)",
                         path, p.endpoint);
                return -EINVAL;
        }
        if (!keys_z85_valid(p.server_key)) {
                snprintf(err, errlen, "%s: server_key is not a 40-character Z85 CURVE public key", path);
                return -EINVAL;
        }
        if (pp.seen_identity && profile_resolve_identity(&p, path) < 0) {
                snprintf(err, errlen, "%s: identity path is too long", path);
                return -ENAMETOOLONG;
        }
        *ret = p;
        return 0;
}

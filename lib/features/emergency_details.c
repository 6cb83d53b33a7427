/* The reserved interface out of a linkage report (emergency_details.h). */
#include "features/emergency_details.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a reason says in place of the interface's host and port. */
static const char emergency_details_redacted[] = "the reserved interface";

/* The host[:port] of URL (after any userinfo) into OUT (size N); false if
 * URL has none. */
static bool emergency_details_authority(const char *url, char *out, size_t n)
{
        const char *h = strstr(url, "://"), *end, *at, *p;
        size_t len;

        if (!h)
                return false;
        h += 3;
        end = h + strcspn(h, "/?#");
        for (at = NULL, p = h; p < end; p++)
                if (*p == '@')
                        at = p;
        if (at)
                h = at + 1;
        len = (size_t)(end - h);
        if (len == 0 || len >= n)
                return false;
        memcpy(out, h, len);
        out[len] = '\0';
        return true;
}

static bool emergency_details_host_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

/* Is WHAT (WL long) at P in S a whole name, not part of a longer one? */
static bool emergency_details_whole(const char *s, const char *p, const char *what, size_t wl)
{
        return strncmp(p, what, wl) == 0 && (p == s || !emergency_details_host_char(p[-1])) &&
               !emergency_details_host_char(p[wl]);
}

/* S with every whole occurrence of WHAT (and a port after it) replaced (a
 * new string, caller frees), or NULL if there is none (or no memory:
 * *RET_OOM). */
static char *emergency_details_replace(const char *s, const char *what, bool *ret_oom)
{
        size_t wl = strlen(what), rl = strlen(emergency_details_redacted), n = 0, len;
        const char *p;
        char *out, *o;

        for (p = s; wl && *p; p++)
                n += emergency_details_whole(s, p, what, wl);
        if (n == 0)
                return NULL;
        len = strlen(s) + n * rl;
        if (!(out = malloc(len + 1))) {
                *ret_oom = true;
                return NULL;
        }
        for (o = out, p = s; *p;) {
                if (emergency_details_whole(s, p, what, wl)) {
                        memcpy(o, emergency_details_redacted, rl);
                        o += rl;
                        p += wl;
                        /* A port the URL did not name (RTSP's 554). */
                        if (p[0] == ':' && p[1] >= '0' && p[1] <= '9')
                                for (p++; *p >= '0' && *p <= '9'; p++)
                                        ;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        return out;
}

/* Replace WHAT in O's "reason"; true if O changed. */
static bool emergency_details_redact_reason(json_t *o, const char *what, bool *ret_oom)
{
        const char *reason = json_string_value(json_object_get(o, "reason"));
        char *r;

        if (!reason || !(r = emergency_details_replace(reason, what, ret_oom)))
                return false;
        json_object_set_new(o, "reason", json_string(r));
        free(r);
        return true;
}

/* One linkage object O without its interface; true if anything went. */
static bool emergency_details_strip_one(json_t *o, bool *ret_oom)
{
        const char *url = json_string_value(json_object_get(o, "url"));
        char authority[512], host[512];
        bool changed = false;
        json_t *streams, *st;
        size_t i;

        if (url && emergency_details_authority(url, authority, sizeof(authority))) {
                /* "cannot connect to HOST:PORT", "no such host HOST" */
                changed |= emergency_details_redact_reason(o, authority, ret_oom);
                snprintf(host, sizeof(host), "%s", authority);
                if (host[0] != '[' && strchr(host, ':'))
                        *strchr(host, ':') = '\0';
                changed |= emergency_details_redact_reason(o, host, ret_oom);
        }
        if (json_object_get(o, "url")) {
                json_object_del(o, "url");
                changed = true;
        }
        streams = json_object_get(o, "streams");
        json_array_foreach(streams, i, st) {
                const char *control = json_string_value(json_object_get(st, "control"));
                if (control && strstr(control, "://")) {
                        json_object_del(st, "control");
                        changed = true;
                }
        }
        return changed;
}

int emergency_details_strip(const char *details, char **ret)
{
        json_t *doc = json_loads(details, 0, NULL), *o;
        bool changed = false, oom = false;
        size_t i;
        char *out;

        if (!json_is_array(doc)) {
                json_decref(doc);
                return -EINVAL;
        }
        json_array_foreach(doc, i, o)
                if (json_is_object(o))
                        changed |= emergency_details_strip_one(o, &oom);
        if (oom) {
                json_decref(doc);
                return -ENOMEM;
        }
        if (!changed) {
                json_decref(doc);
                return 0;
        }
        out = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        if (!out)
                return -ENOMEM;
        *ret = out;
        return 1;
}

const char *emergency_details_url_clean(const char *url, char *out, size_t n)
{
        const char *h = strstr(url, "://"), *end, *at = NULL, *p;

        if (!h)
                return url;
        end = strchr(h + 3, '/');
        for (p = h + 3; end ? p < end : *p; p++)
                if (*p == '@')
                        at = p;
        if (!at)
                return url;
        snprintf(out, n, "%.*s%s", (int)(h + 3 - url), url, at + 1);
        return out;
}

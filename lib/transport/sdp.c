#include "transport/sdp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void sdp_copy(char *dst, size_t n, const char *s, size_t len)
{
        if (len >= n)
                len = n - 1;
        memcpy(dst, s, len);
        dst[len] = '\0';
}

/* A control attribute: absolute, "*" (the base itself) or relative. */
static void sdp_control(char *dst, size_t n, const char *v, const char *base)
{
        size_t bl;

        if (strncasecmp(v, "rtsp://", 7) == 0 || strncasecmp(v, "rtsps://", 8) == 0 || !base || !*base) {
                snprintf(dst, n, "%s", v);
                return;
        }
        if (strcmp(v, "*") == 0) {
                snprintf(dst, n, "%s", base);
                return;
        }
        bl = strlen(base);
        snprintf(dst, n, "%s%s%s", base, bl && base[bl - 1] == '/' ? "" : "/", v);
}

/* The media whose payload type is PT (a=rtpmap/fmtp name a payload). */
static struct sdp_media *sdp_find(struct sdp_session *s, int cur, int pt)
{
        if (cur >= 0 && cur < s->n_media && s->media[cur].payload == pt)
                return &s->media[cur];
        return NULL;
}

int sdp_parse(const char *buf, size_t len, const char *base, struct sdp_session *ret)
{
        struct sdp_session s;
        char line[1024], session_control[512] = "";
        const char *p = buf, *end = buf + len;
        int cur = -1, skipping = 0, seen_v = 0;

        memset(&s, 0, sizeof(s));
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *e = nl ? nl : end;
                size_t l = (size_t)(e - p);
                if (l > 0 && p[l - 1] == '\r')
                        l--;
                sdp_copy(line, sizeof(line), p, l);
                p = nl ? nl + 1 : end;
                if (!line[0])
                        continue;
                if (strlen(line) < 2 || line[1] != '=')
                        return -EBADMSG;
                if (!seen_v) {
                        if (strncmp(line, "v=0", 3) != 0)
                                return -EBADMSG;
                        seen_v = 1;
                        continue;
                }
                if (line[0] == 'm') {
                        char type[16];
                        int port, pt;
                        if (sscanf(line + 2, "%15s %d %*s %d", type, &port, &pt) != 3 || pt < 0 || pt > 127)
                                return -EBADMSG;
                        if (s.n_media == SDP_MAX_MEDIA) {
                                skipping = 1;
                                continue;
                        }
                        cur = s.n_media++;
                        skipping = 0;
                        snprintf(s.media[cur].type, sizeof(s.media[cur].type), "%s", type);
                        s.media[cur].payload = pt;
                        continue;
                }
                if (line[0] != 'a' || skipping)
                        continue;
                if (strncmp(line, "a=control:", 10) == 0) {
                        if (cur < 0)
                                sdp_control(session_control, sizeof(session_control), line + 10, base);
                        else
                                sdp_control(s.media[cur].control, sizeof(s.media[cur].control), line + 10,
                                            session_control[0] && strcmp(session_control, base ? base : "")
                                                    ? session_control : base);
                } else if (strncmp(line, "a=rtpmap:", 9) == 0) {
                        struct sdp_media *m;
                        char codec[32];
                        int pt, rate;
                        if (sscanf(line + 9, "%d %31[^/]/%d", &pt, codec, &rate) == 3 && rate > 0 &&
                            (m = sdp_find(&s, cur, pt))) {
                                snprintf(m->codec, sizeof(m->codec), "%s", codec);
                                m->clock_rate = rate;
                        }
                } else if (strncmp(line, "a=framerate:", 12) == 0 && cur >= 0) {
                        double f = strtod(line + 12, NULL);
                        if (f > 0 && f < 1000)
                                s.media[cur].framerate = f;
                } else if (strncmp(line, "a=fmtp:", 7) == 0) {
                        struct sdp_media *m;
                        const char *pl;
                        int pt;
                        if (sscanf(line + 7, "%d", &pt) == 1 && (m = sdp_find(&s, cur, pt)) &&
                            (pl = strstr(line, "profile-level-id="))) {
                                size_t k = strspn(pl + 17, "0123456789abcdefABCDEF");
                                sdp_copy(m->profile_level_id, sizeof(m->profile_level_id), pl + 17, k);
                        }
                }
        }
        if (!seen_v)
                return -EBADMSG;
        snprintf(s.control, sizeof(s.control), "%s", session_control);
        *ret = s;
        return 0;
}

/* The lines of a camera's SDP that could say where it is or whose it is
 * (Art 19, 29(2): its address stays at the station): the origin's and the
 * connection's addresses, a URI, an e-mail, a phone, any other URL. */
static bool sdp_hides(const char *p, size_t l)
{
        /* What a player needs, and nothing else (an allow-list: cameras
         * put their addresses and names in s=, i=, a=ssrc cname:,
         * a=source-filter, a=rtcp, x- attributes, ...). */
        static const char *const kept[] = { "a=rtpmap:", "a=fmtp:", "a=framerate:", "a=range:", "a=recvonly",
                                            "a=sendonly", "a=sendrecv", "a=inactive", "a=framesize:",
                                            "a=x-dimensions:", "a=length:", "a=type:", NULL };

        if (l < 2 || p[1] != '=')
                return true;
        if (p[0] == 'v' || p[0] == 't' || p[0] == 'm' || p[0] == 'b' || p[0] == 'r')
                goto urls;
        if (p[0] != 'a')
                return true;
        for (int i = 0; kept[i]; i++)
                if (l >= strlen(kept[i]) && memcmp(p, kept[i], strlen(kept[i])) == 0)
                        goto urls;
        return true;
urls:
        for (size_t i = 0; i + 3 <= l; i++)
                if (memcmp(p + i, "://", 3) == 0)
                        return true;
        return false;
}

/* What stands for a hidden line in OUT (N bytes, enough for 80): an origin
 * keeps its session ID and version (players compare them), a connection
 * says 0.0.0.0 (RTP comes over the RTSP connection), the rest goes. */
static size_t sdp_hidden(const char *p, size_t l, char *out, size_t n)
{
        char line[256], id[24] = "0", version[24] = "0";

        if (p[0] == 's' && l >= 2 && p[1] == '=')
                return (size_t)snprintf(out, n, "s=vigil stream gate\r\n");
        if (p[0] == 'o' || p[0] == 'c') {
                snprintf(line, sizeof(line), "%.*s", (int)(l < sizeof(line) - 1 ? l : sizeof(line) - 1), p);
                if (p[0] == 'o' && (sscanf(line, "o=%*s %23[0-9] %23[0-9]", id, version) != 2)) {
                        snprintf(id, sizeof(id), "0");
                        snprintf(version, sizeof(version), "0");
                }
                if (p[0] == 'o')
                        return (size_t)snprintf(out, n, "o=- %s %s IN IP4 0.0.0.0\r\n", id, version);
                return (size_t)snprintf(out, n, "c=IN IP4 0.0.0.0\r\n");
        }
        return 0;
}

int sdp_rewrite_controls(const char *buf, size_t len, const char *base, char **ret, size_t *ret_len)
{
        const char *p, *end = buf + len;
        size_t lines = 0, media = 0, cap, n = 0, bl = strlen(base);
        bool seen_v = false, session_control = false, in_media = false;
        char *out;

        for (p = buf; p < end; p++) {
                /* Text only: a NUL or a control byte is no SDP to hand on. */
                if ((unsigned char)*p < ' ' && *p != '\n' && *p != '\r' && *p != '\t')
                        return -EBADMSG;
                /* A bare CR: a player that ends lines there would read a
                 * line we never looked at. */
                if (*p == '\r' && (p + 1 == end || p[1] != '\n'))
                        return -EBADMSG;
                lines += *p == '\n';
                media += *p == 'm' && (p == buf || p[-1] == '\n') && p + 1 < end && p[1] == '=';
        }
        cap = len + 80 * (lines + 1) + (media + 1) * (bl + 32) + 1;
        out = malloc(cap);
        if (!out)
                return -ENOMEM;
        media = 0;
        for (p = buf; p < end;) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *e = nl ? nl : end;
                size_t l = (size_t)(e - p);
                if (l > 0 && p[l - 1] == '\r')
                        l--;
                if (l == 0) {
                        p = nl ? nl + 1 : end;
                        continue;
                }
                if (!seen_v) {
                        if (l < 3 || strncmp(p, "v=0", 3) != 0) {
                                free(out);
                                return -EBADMSG;
                        }
                        seen_v = true;
                }
                if (l >= 10 && strncmp(p, "a=control:", 10) == 0) {
                        if (!in_media && !session_control) {
                                session_control = true;
                                n += (size_t)snprintf(out + n, cap - n, "a=control:%s/\r\n", base);
                        }
                } else if (sdp_hides(p, l)) {
                        n += sdp_hidden(p, l, out + n, cap - n);
                } else {
                        memcpy(out + n, p, l);
                        n += l;
                        out[n++] = '\r';
                        out[n++] = '\n';
                        if (l >= 2 && p[0] == 'm' && p[1] == '=') {
                                in_media = true;
                                n += (size_t)snprintf(out + n, cap - n, "a=control:%s/track%zu\r\n", base, media++);
                        }
                }
                p = nl ? nl + 1 : end;
        }
        /* Past SDP_MAX_MEDIA media, or grown past what a response may
         * carry: not an SDP a camera sends. */
        if (!seen_v || media > SDP_MAX_MEDIA || n > SDP_MAX_REWRITTEN) {
                free(out);
                return -EBADMSG;
        }
        out[n] = '\0';
        *ret = out;
        *ret_len = n;
        return 0;
}

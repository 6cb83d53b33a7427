#include "transport/rtspmsg.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The end of the head ("\r\n\r\n", or "\n\n" from a sloppy server), or NULL. */
static const char *rtspmsg_head_end(const char *buf, size_t len, size_t *ret_sep)
{
        size_t i;

        for (i = 0; i + 1 < len; i++) {
                if (buf[i] == '\n' && buf[i + 1] == '\n') {
                        *ret_sep = 2;
                        return buf + i;
                }
                if (i + 3 < len && buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n') {
                        *ret_sep = 4;
                        return buf + i;
                }
        }
        return NULL;
}

static void rtspmsg_copy(char *dst, size_t n, const char *s, size_t len)
{
        if (len >= n)
                len = n - 1;
        memcpy(dst, s, len);
        dst[len] = '\0';
}

int rtspmsg_parse(const char *buf, size_t len, struct rtspmsg_response *ret)
{
        struct rtspmsg_response r;
        const char *end, *p, *line_end;
        size_t sep = 0, head_len;
        long content_length = 0;
        int headers = 0;

        memset(&r, 0, sizeof(r));
        r.cseq = -1;
        if (len >= 5 && strncmp(buf, "RTSP/", 5) != 0)
                return -EBADMSG;
        end = rtspmsg_head_end(buf, len, &sep);
        if (!end)
                return len > RTSPMSG_MAX_HEAD ? -EBADMSG : 0;
        head_len = (size_t)(end - buf);
        if (head_len > RTSPMSG_MAX_HEAD)
                return -EBADMSG;
        /* Status line: RTSP/1.0 SP code SP reason. Its LF may be the
         * separator's first (a status line and no header: "404 X\r\n\r\n"). */
        line_end = memchr(buf, '\n', head_len + (sep == 4 ? 2 : 1));
        if (!line_end || line_end - buf < 12 || strncmp(buf, "RTSP/1.", 7) != 0 || buf[8] != ' ' ||
            !isdigit((unsigned char)buf[9]) || !isdigit((unsigned char)buf[10]) ||
            !isdigit((unsigned char)buf[11]))
                return -EBADMSG;
        r.status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
        if (r.status < 100)
                return -EBADMSG;
        p = buf + 12;
        while (p < line_end && *p == ' ')
                p++;
        rtspmsg_copy(r.reason, sizeof(r.reason), p, (size_t)(line_end - p) - (line_end[-1] == '\r'));
        for (p = line_end + 1; p < end; p = line_end + 1) {
                const char *colon, *v, *e;
                size_t nlen;
                line_end = memchr(p, '\n', (size_t)(end - p) + 1);
                if (!line_end)
                        line_end = end;
                e = line_end;
                if (e > p && e[-1] == '\r')
                        e--;
                if (e == p)
                        continue;
                if (++headers > RTSPMSG_MAX_HEADERS)
                        return -EBADMSG;
                /* A bare CR or another control byte in a header is no
                 * RTSP, and passed on it would be a header of its own. */
                for (const char *q = p; q < e; q++)
                        if ((unsigned char)*q < ' ' && *q != '\t')
                                return -EBADMSG;
                colon = memchr(p, ':', (size_t)(e - p));
                if (!colon)
                        return -EBADMSG;
                nlen = (size_t)(colon - p);
                v = colon + 1;
                while (v < e && (*v == ' ' || *v == '\t'))
                        v++;
                if (nlen == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
                        char num[16];
                        char *stop;
                        rtspmsg_copy(num, sizeof(num), v, (size_t)(e - v));
                        content_length = strtol(num, &stop, 10);
                        if (stop == num || *stop || content_length < 0 || content_length > RTSPMSG_MAX_BODY)
                                return -EBADMSG;
                } else if (nlen == 4 && strncasecmp(p, "CSeq", 4) == 0) {
                        char num[16];
                        char *stop;
                        long c;
                        rtspmsg_copy(num, sizeof(num), v, (size_t)(e - v));
                        c = strtol(num, &stop, 10);
                        if (stop == num || *stop || c < 0 || c > 1000000000)
                                return -EBADMSG;
                        r.cseq = (int)c;
                } else if ((nlen == 12 && strncasecmp(p, "Content-Base", 12) == 0) ||
                           (nlen == 16 && strncasecmp(p, "Content-Location", 16) == 0 && !r.content_base[0])) {
                        rtspmsg_copy(r.content_base, sizeof(r.content_base), v, (size_t)(e - v));
                } else if (nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
                        rtspmsg_copy(r.content_type, sizeof(r.content_type), v, (size_t)(e - v));
                } else if (nlen == 16 && strncasecmp(p, "WWW-Authenticate", 16) == 0 && !r.www_authenticate[0] &&
                           (size_t)(e - v) >= 6 && strncasecmp(v, "Digest", 6) == 0) {
                        rtspmsg_copy(r.www_authenticate, sizeof(r.www_authenticate), v, (size_t)(e - v));
                } else if (nlen == 16 && strncasecmp(p, "WWW-Authenticate", 16) == 0 && (size_t)(e - v) >= 5 &&
                           strncasecmp(v, "Basic", 5) == 0) {
                        r.basic = true;
                } else if (nlen == 7 && strncasecmp(p, "Session", 7) == 0) {
                        const char *semi = memchr(v, ';', (size_t)(e - v));
                        const char *se = semi ? semi : e;
                        while (se > v && se[-1] == ' ')
                                se--;
                        rtspmsg_copy(r.session, sizeof(r.session), v, (size_t)(se - v));
                } else if (nlen == 9 && strncasecmp(p, "Transport", 9) == 0) {
                        rtspmsg_copy(r.transport, sizeof(r.transport), v, (size_t)(e - v));
                } else if (nlen == 5 && strncasecmp(p, "Range", 5) == 0) {
                        rtspmsg_copy(r.range, sizeof(r.range), v, (size_t)(e - v));
                } else if (nlen == 8 && strncasecmp(p, "RTP-Info", 8) == 0 &&
                           (size_t)(e - v) < sizeof(r.rtp_info)) {
                        rtspmsg_copy(r.rtp_info, sizeof(r.rtp_info), v, (size_t)(e - v));
                }
                if (line_end == end)
                        break;
        }
        if (len - head_len - sep < (size_t)content_length)
                return 0;
        r.body = end + sep;
        r.body_len = (size_t)content_length;
        *ret = r;
        return (int)(head_len + sep + (size_t)content_length);
}

/* One name=value or name="value" pair from *P; advances past it. */
static bool rtspmsg_param(const char **p, char *name, size_t nn, char *value, size_t vn)
{
        const char *s = *p, *e;

        while (*s == ' ' || *s == ',' || *s == '\t')
                s++;
        if (!*s)
                return false;
        e = s;
        while (*e && *e != '=' && *e != ',' && *e != ' ')
                e++;
        rtspmsg_copy(name, nn, s, (size_t)(e - s));
        if (*e != '=') {
                value[0] = '\0';
                *p = e;
                return true;
        }
        e++;
        if (*e == '"') {
                const char *q = strchr(e + 1, '"');
                if (!q)
                        return false;
                rtspmsg_copy(value, vn, e + 1, (size_t)(q - e - 1));
                *p = q + 1;
        } else {
                s = e;
                while (*e && *e != ',' && *e != ' ')
                        e++;
                rtspmsg_copy(value, vn, s, (size_t)(e - s));
                *p = e;
        }
        return true;
}

int rtspmsg_challenge_parse(const char *value, struct rtspmsg_challenge *ret)
{
        struct rtspmsg_challenge c;
        char name[32], v[256];
        const char *p;

        memset(&c, 0, sizeof(c));
        if (!value || strncasecmp(value, "Digest", 6) != 0 || (value[6] && value[6] != ' '))
                return -ENOTSUP;
        p = value + 6;
        while (rtspmsg_param(&p, name, sizeof(name), v, sizeof(v))) {
                if (strcasecmp(name, "realm") == 0)
                        rtspmsg_copy(c.realm, sizeof(c.realm), v, strlen(v));
                else if (strcasecmp(name, "nonce") == 0)
                        rtspmsg_copy(c.nonce, sizeof(c.nonce), v, strlen(v));
                else if (strcasecmp(name, "opaque") == 0)
                        rtspmsg_copy(c.opaque, sizeof(c.opaque), v, strlen(v));
                else if (strcasecmp(name, "algorithm") == 0)
                        rtspmsg_copy(c.algorithm, sizeof(c.algorithm), v, strlen(v));
                else if (strcasecmp(name, "qop") == 0)
                        rtspmsg_copy(c.qop, sizeof(c.qop), v, strlen(v));
        }
        if (!c.nonce[0])
                return -EBADMSG;
        if (c.algorithm[0] && strcasecmp(c.algorithm, "MD5") != 0)
                return -ENOTSUP;
        *ret = c;
        return 0;
}

/* Lowercase hex MD5 of the parts joined by ':'. */
static void rtspmsg_md5(char out[33], const char *const *parts, int n)
{
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int i;

        EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
        for (i = 0; i < n; i++) {
                if (i)
                        EVP_DigestUpdate(ctx, ":", 1);
                EVP_DigestUpdate(ctx, parts[i], strlen(parts[i]));
        }
        EVP_DigestFinal_ex(ctx, d, &len);
        EVP_MD_CTX_free(ctx);
        for (i = 0; i < 16; i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
}

int rtspmsg_digest(const struct rtspmsg_challenge *c, const char *method, const char *uri, const char *user,
                   const char *password, const char *cnonce, unsigned nc, char *out, size_t n)
{
        char ha1[33], ha2[33], resp[33], ncs[9];
        const char *a1[3] = { user, c->realm, password }, *a2[2] = { method, uri };
        bool qop = strstr(c->qop, "auth") != NULL;
        int w;

        rtspmsg_md5(ha1, a1, 3);
        rtspmsg_md5(ha2, a2, 2);
        snprintf(ncs, sizeof(ncs), "%08x", nc);
        if (qop) {
                const char *r[6] = { ha1, c->nonce, ncs, cnonce, "auth", ha2 };
                rtspmsg_md5(resp, r, 6);
                w = snprintf(out, n, "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                             "response=\"%s\", qop=auth, nc=%s, cnonce=\"%s\"%s%s%s", user, c->realm, c->nonce,
                             uri, resp, ncs, cnonce, c->opaque[0] ? ", opaque=\"" : "", c->opaque,
                             c->opaque[0] ? "\"" : "");
        } else {
                const char *r[3] = { ha1, c->nonce, ha2 };
                rtspmsg_md5(resp, r, 3);
                w = snprintf(out, n, "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
                             "response=\"%s\"%s%s%s", user, c->realm, c->nonce, uri, resp,
                             c->opaque[0] ? ", opaque=\"" : "", c->opaque, c->opaque[0] ? "\"" : "");
        }
        return w < 0 || (size_t)w >= n ? -ENOSPC : 0;
}

int rtspmsg_url_split(const char *url, struct rtspmsg_url *ret)
{
        struct rtspmsg_url u;
        const char *h, *at, *slash, *colon, *hend, *host_end;

        memset(&u, 0, sizeof(u));
        if (!url || strncasecmp(url, "rtsp://", 7) != 0 || strlen(url) >= sizeof(u.url))
                return -EINVAL;
        h = url + 7;
        slash = strchr(h, '/');
        hend = slash ? slash : h + strlen(h);
        at = memchr(h, '@', (size_t)(hend - h));
        if (at) {
                const char *c = memchr(h, ':', (size_t)(at - h));
                size_t ul = (size_t)((c ? c : at) - h);
                if (ul >= sizeof(u.user) || (c && (size_t)(at - c - 1) >= sizeof(u.password)))
                        return -EINVAL;
                memcpy(u.user, h, ul);
                if (c)
                        memcpy(u.password, c + 1, (size_t)(at - c - 1));
                h = at + 1;
        }
        if (*h == '[') {
                /* An IPv6 literal: [addr]:port */
                const char *rb = memchr(h, ']', (size_t)(hend - h));
                if (!rb || rb == h + 1 || (size_t)(rb - h - 1) >= sizeof(u.host))
                        return -EINVAL;
                memcpy(u.host, h + 1, (size_t)(rb - h - 1));
                colon = rb + 1 < hend && rb[1] == ':' ? rb + 1 : NULL;
                if (rb + 1 < hend && !colon)
                        return -EINVAL;
        } else {
                colon = memchr(h, ':', (size_t)(hend - h));
                host_end = colon ? colon : hend;
                if ((size_t)(host_end - h) >= sizeof(u.host) || host_end == h)
                        return -EINVAL;
                memcpy(u.host, h, (size_t)(host_end - h));
        }
        if (colon) {
                size_t pl = (size_t)(hend - colon - 1);
                if (pl == 0 || pl >= sizeof(u.port) || strspn(colon + 1, "0123456789") < pl)
                        return -EINVAL;
                memcpy(u.port, colon + 1, pl);
        } else {
                snprintf(u.port, sizeof(u.port), "554");
        }
        /* The URL as sent: without the credentials. */
        snprintf(u.url, sizeof(u.url), "rtsp://%.*s%s", (int)(hend - h), h, slash ? slash : "/");
        *ret = u;
        return 0;
}

int rtspmsg_basic(const char *user, const char *password, char *out, size_t n)
{
        char plain[260];
        int w = snprintf(plain, sizeof(plain), "%s:%s", user, password);

        if (w < 0 || (size_t)w >= sizeof(plain) || n < 6 + sodium_base64_ENCODED_LEN((size_t)w,
                                                                                       sodium_base64_VARIANT_ORIGINAL))
                return -ENOSPC;
        memcpy(out, "Basic ", 6);
        sodium_bin2base64(out + 6, n - 6, (const unsigned char *)plain, (size_t)w, sodium_base64_VARIANT_ORIGINAL);
        sodium_memzero(plain, sizeof(plain));
        return 0;
}

/* RTP-Info parameters the gate passes on: seq=, rtptime=, ssrc=, each a
 * number (ssrc in hex), ';'-separated; nothing else. */
static bool rtspmsg_rtp_info_params(const char *rest)
{
        const char *p = rest;

        while (*p) {
                const char *v;
                if (strncmp(p, "seq=", 4) == 0 || strncmp(p, "ssrc=", 5) == 0)
                        v = strchr(p, '=') + 1;
                else if (strncmp(p, "rtptime=", 8) == 0)
                        v = p + 8;
                else
                        return false;
                if (!isxdigit((unsigned char)*v))
                        return false;
                while (isxdigit((unsigned char)*v))
                        v++;
                if (*v == ';')
                        v++;
                else if (*v)
                        return false;
                p = v;
        }
        return true;
}

void rtspmsg_cnonce(char out[17])
{
        unsigned char b[8];

        randombytes_buf(b, sizeof(b));
        sodium_bin2hex(out, 17, b, sizeof(b));
}

/* (rtspmsg.h) */
char *rtspmsg_rtp_info_rewrite(const char *value, const char *const *controls, int n_controls, const char *base)
{
        size_t cap = strlen(value) + (size_t)(n_controls > 0 ? n_controls : 0) * (strlen(base) + 16) + 16, n = 0;
        char *out = malloc(cap);
        const char *p = value;

        if (!out)
                return NULL;
        while (*p) {
                const char *comma = strchr(p, ',');
                size_t l = comma ? (size_t)(comma - p) : strlen(p);
                char item[1200];
                char *url, *rest;
                int i, track = -1;

                if (l < sizeof(item)) {
                        memcpy(item, p, l);
                        item[l] = '\0';
                        url = item;
                        while (*url == ' ')
                                url++;
                        rest = strchr(url, ';');
                        if (rest)
                                *rest++ = '\0';
                        if (rest && !rtspmsg_rtp_info_params(rest))
                                rest = NULL;    /* seq=, rtptime=, ssrc= only: anything else goes */
                        if (strncmp(url, "url=", 4) == 0) {
                                url += 4;
                                for (i = 0; i < n_controls && track < 0; i++) {
                                        const char *c = controls[i];
                                        size_t cl = strlen(c), ul = strlen(url);
                                        /* Absolute, or the tail of the control URL. */
                                        if (strcmp(c, url) == 0 ||
                                            (!strstr(url, "://") && ul < cl && strcmp(c + cl - ul, url) == 0 &&
                                             c[cl - ul - 1] == '/'))
                                                track = i;
                                }
                        }
                        if (track >= 0 && n + strlen(base) + 16 + (rest ? strlen(rest) : 0) < cap)
                                n += (size_t)snprintf(out + n, cap - n, "%surl=%s/track%d%s%s", n ? "," : "",
                                                      base, track, rest ? ";" : "", rest ? rest : "");
                }
                p = comma ? comma + 1 : p + l;
        }
        if (n == 0) {
                free(out);
                return NULL;
        }
        return out;
}

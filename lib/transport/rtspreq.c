#include "transport/rtspreq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool rtspreq_is_method_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == '-';
}

static bool rtspreq_is_token_char(char c)
{
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-._~", c);
}

/* Check the request line as far as it has arrived, so that bytes that are
 * not RTSP are refused at once, not after 16 KiB. 1 if the line is
 * complete and sound (*RET_END at its '\n'), 0 if it is sound so far,
 * -EBADMSG. */
static int rtspreq_check_line(const char *buf, size_t len, size_t *ret_end)
{
        static const char version[] = "RTSP/1.0";
        size_t i = 0, start;

        while (i < len && rtspreq_is_method_char(buf[i]))
                i++;
        if (i >= sizeof(((struct rtspreq *)0)->method))
                return -EBADMSG;
        if (i == len)
                return 0;
        if (i == 0 || buf[i] != ' ')
                return -EBADMSG;
        start = ++i;
        while (i < len && buf[i] > ' ' && buf[i] < 0x7f)
                i++;
        if (i - start >= RTSPREQ_MAX_URL)
                return -EBADMSG;
        if (i == len)
                return 0;
        if (i == start || buf[i] != ' ')
                return -EBADMSG;
        start = ++i;
        for (; i < len && i - start < sizeof(version) - 1; i++)
                if (buf[i] != version[i - start])
                        return -EBADMSG;
        if (i == len)
                return 0;
        if (buf[i] == '\r')
                i++;
        if (i == len)
                return 0;
        if (buf[i] != '\n')
                return -EBADMSG;
        *ret_end = i;
        return 1;
}

/* The end of the head ("\r\n\r\n" or "\n\n"), or NULL. */
static const char *rtspreq_head_end(const char *buf, size_t len, size_t *ret_sep)
{
        size_t i;

        for (i = 0; i + 1 < len; i++) {
                if (buf[i] != '\n')
                        continue;
                if (buf[i + 1] == '\n') {
                        *ret_sep = 1;
                        return buf + i + 1;
                }
                if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
                        *ret_sep = 2;
                        return buf + i + 1;
                }
        }
        return NULL;
}

/* Copy a value of LEN bytes into DST (size N); false if it does not fit. */
static bool rtspreq_keep(char *dst, size_t n, const char *s, size_t len)
{
        if (len >= n)
                return false;
        memcpy(dst, s, len);
        dst[len] = '\0';
        return true;
}

static bool rtspreq_number(const char *s, size_t len, long max, long *ret)
{
        char num[16];
        char *stop;
        long v;

        if (len == 0 || len >= sizeof(num) || strspn(s, "0123456789") < len)
                return false;
        memcpy(num, s, len);
        num[len] = '\0';
        v = strtol(num, &stop, 10);
        if (*stop || v < 0 || v > max)
                return false;
        *ret = v;
        return true;
}

/* One header line NAME: VALUE into R. false if it is malformed. */
static bool rtspreq_header(struct rtspreq *r, const char *p, const char *e, long *content_length)
{
        const char *colon = memchr(p, ':', (size_t)(e - p)), *v, *q;
        size_t nlen, vlen;
        long n;

        if (!colon || colon == p)
                return false;
        for (q = p; q < colon; q++)
                if (!rtspreq_is_token_char(*q) && *q != '!' && *q != '#' && *q != '\'' && *q != '*' && *q != '+')
                        return false;
        for (q = colon + 1; q < e; q++)
                if (((unsigned char)*q < ' ' && *q != '\t') || *q == 0x7f)
                        return false;
        nlen = (size_t)(colon - p);
        v = colon + 1;
        while (v < e && (*v == ' ' || *v == '\t'))
                v++;
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
        vlen = (size_t)(e - v);
#define IS(name) (nlen == sizeof(name) - 1 && strncasecmp(p, name, nlen) == 0)
        if (IS("CSeq")) {
                if (r->cseq >= 0 || !rtspreq_number(v, vlen, 999999999, &n))
                        return false;
                r->cseq = (int)n;
        } else if (IS("Content-Length")) {
                if (*content_length >= 0 || !rtspreq_number(v, vlen, RTSPREQ_MAX_BODY, &n))
                        return false;
                *content_length = n;
        } else if (IS("Session")) {
                const char *semi = memchr(v, ';', vlen);
                size_t idlen = semi ? (size_t)(semi - v) : vlen;
                while (idlen && v[idlen - 1] == ' ')
                        idlen--;
                return rtspreq_keep(r->session, sizeof(r->session), v, idlen);
        } else if (IS("Transport")) {
                return rtspreq_keep(r->transport, sizeof(r->transport), v, vlen);
        } else if (IS("Range")) {
                return rtspreq_keep(r->range, sizeof(r->range), v, vlen);
        } else if (IS("Require")) {
                return rtspreq_keep(r->require, sizeof(r->require), v, vlen);
        } else if (IS("Content-Type")) {
                return rtspreq_keep(r->content_type, sizeof(r->content_type), v, vlen);
        } else if (IS("Accept")) {
                /* Informative only: kept as far as it fits. */
                rtspreq_keep(r->accept, sizeof(r->accept), v, vlen < sizeof(r->accept) ? vlen : sizeof(r->accept) - 1);
        } else if (IS("User-Agent")) {
                rtspreq_keep(r->user_agent, sizeof(r->user_agent), v,
                             vlen < sizeof(r->user_agent) ? vlen : sizeof(r->user_agent) - 1);
        }
#undef IS
        return true;
}

int rtspreq_parse(const char *buf, size_t len, struct rtspreq *ret)
{
        struct rtspreq req, *r = &req;
        const char *end, *p, *line_end, *sp1, *sp2;
        size_t sep = 0, head_len, line_len = 0;
        long content_length = -1;
        int headers = 0, rc;

        rc = rtspreq_check_line(buf, len, &line_len);
        if (rc <= 0)
                return rc < 0 || len <= RTSPREQ_MAX_HEAD ? rc : -EBADMSG;
        end = rtspreq_head_end(buf, len, &sep);
        if (!end)
                return len > RTSPREQ_MAX_HEAD ? -EBADMSG : 0;
        head_len = (size_t)(end - buf);
        if (head_len > RTSPREQ_MAX_HEAD)
                return -EBADMSG;
        memset(r, 0, sizeof(*r));
        r->cseq = -1;
        sp1 = memchr(buf, ' ', line_len);
        sp2 = memchr(sp1 + 1, ' ', line_len - (size_t)(sp1 + 1 - buf));
        memcpy(r->method, buf, (size_t)(sp1 - buf));
        memcpy(r->url, sp1 + 1, (size_t)(sp2 - sp1 - 1));
        /* The head's lines after the request line, up to the empty one. */
        for (p = buf + line_len + 1; p < end; p = line_end + 1) {
                const char *e;
                line_end = memchr(p, '\n', (size_t)(end - p));
                if (!line_end)
                        break;
                e = line_end;
                if (e > p && e[-1] == '\r')
                        e--;
                if (e == p)
                        break;
                if (++headers > RTSPREQ_MAX_HEADERS)
                        return -EBADMSG;
                /* A continuation line (obsolete folding) adds nothing the
                 * gate reads. */
                if (*p == ' ' || *p == '\t')
                        continue;
                if (!rtspreq_header(r, p, e, &content_length))
                        return -EBADMSG;
        }
        if (content_length < 0)
                content_length = 0;
        if (len - head_len - sep < (size_t)content_length)
                return 0;
        r->body = end + sep;
        r->body_len = (size_t)content_length;
        *ret = *r;
        return (int)(head_len + sep + (size_t)content_length);
}

int rtspreq_url_parse(const char *url, struct rtspreq_url *ret)
{
        const char *a, *slash, *t, *tend, *q;
        size_t alen, tlen, slen;

        if (strncasecmp(url, "rtsp://", 7) != 0)
                return -EINVAL;
        a = url + 7;
        slash = strchr(a, '/');
        if (!slash)
                return -EINVAL;
        alen = (size_t)(slash - a);
        if (alen == 0 || alen >= sizeof(ret->authority))
                return -EINVAL;
        for (q = a; q < slash; q++)
                if (!rtspreq_is_token_char(*q) && *q != ':' && *q != '[' && *q != ']')
                        return -EINVAL;
        if (strncmp(slash, "/t/", 3) != 0)
                return -EINVAL;
        t = slash + 3;
        tend = t;
        while (*tend && rtspreq_is_token_char(*tend))
                tend++;
        tlen = (size_t)(tend - t);
        if (tlen == 0 || tlen > RTSPREQ_MAX_TOKEN || (*tend && *tend != '/' && *tend != '?'))
                return -EINVAL;
        if (*tend == '/')
                tend++;
        q = strchr(tend, '?');
        slen = q ? (size_t)(q - tend) : strlen(tend);
        if (slen >= sizeof(ret->suffix))
                return -EINVAL;
        for (q = tend; q < tend + slen; q++)
                if (*q <= ' ' || *q >= 0x7f)
                        return -EINVAL;
        memcpy(ret->authority, a, alen);
        ret->authority[alen] = '\0';
        memcpy(ret->token, t, tlen);
        ret->token[tlen] = '\0';
        memcpy(ret->suffix, tend, slen);
        ret->suffix[slen] = '\0';
        /* "track0/" is track0 too. */
        if (slen && ret->suffix[slen - 1] == '/')
                ret->suffix[slen - 1] = '\0';
        return 0;
}

int rtspreq_track(const char *suffix)
{
        size_t n;

        if (strncmp(suffix, "track", 5) != 0)
                return -1;
        n = strlen(suffix + 5);
        if (n < 1 || n > 2 || strspn(suffix + 5, "0123456789") != n || (n == 2 && suffix[5] == '0'))
                return -1;
        return atoi(suffix + 5);
}

/* One alternative of a Transport value: [S, E). */
static int rtspreq_transport_one(const char *s, const char *e, struct rtspreq_transport *ret)
{
        struct rtspreq_transport t;
        const char *p = s;
        int i;

        memset(&t, 0, sizeof(t));
        t.interleaved[0] = t.interleaved[1] = -1;
        for (i = 0; p < e; i++) {
                const char *semi = memchr(p, ';', (size_t)(e - p));
                const char *pe = semi ? semi : e;
                size_t l;
                while (p < pe && *p == ' ')
                        p++;
                l = (size_t)(pe - p);
                while (l && p[l - 1] == ' ')
                        l--;
                if (i == 0) {
                        /* The transport spec: RTP/AVP[/UDP|/TCP]. */
                        t.tcp = l == 11 && strncasecmp(p, "RTP/AVP/TCP", 11) == 0;
                } else if (l == 7 && strncasecmp(p, "unicast", 7) == 0) {
                        t.unicast = true;
                } else if (l > 12 && strncasecmp(p, "interleaved=", 12) == 0) {
                        char v[16];
                        char *stop;
                        long a, b;
                        if (l - 12 >= sizeof(v))
                                return -EBADMSG;
                        memcpy(v, p + 12, l - 12);
                        v[l - 12] = '\0';
                        if (v[0] < '0' || v[0] > '9')
                                return -EBADMSG;
                        a = strtol(v, &stop, 10);
                        b = a + 1;
                        if (*stop == '-') {
                                if (stop[1] < '0' || stop[1] > '9')
                                        return -EBADMSG;
                                b = strtol(stop + 1, &stop, 10);
                        }
                        if (*stop || a < 0 || a > 254 || b != a + 1)
                                return -EBADMSG;
                        t.interleaved[0] = (int)a;
                        t.interleaved[1] = (int)b;
                } else if (l > 5 && strncasecmp(p, "ssrc=", 5) == 0) {
                        if (l - 5 >= sizeof(t.ssrc) || strspn(p + 5, "0123456789abcdefABCDEF") < l - 5)
                                return -EBADMSG;
                        memcpy(t.ssrc, p + 5, l - 5);
                        t.ssrc[l - 5] = '\0';
                }
                p = semi ? semi + 1 : e;
        }
        *ret = t;
        return 0;
}

int rtspreq_transport_parse(const char *value, struct rtspreq_transport *ret)
{
        const char *p = value, *end = value + strlen(value);
        int rc = -ENOTSUP;

        while (p < end) {
                const char *comma = memchr(p, ',', (size_t)(end - p));
                const char *e = comma ? comma : end;
                struct rtspreq_transport t;
                while (p < e && *p == ' ')
                        p++;
                if (rtspreq_transport_one(p, e, &t) < 0) {
                        rc = -EBADMSG;
                } else if (t.tcp) {
                        *ret = t;
                        return 0;
                }
                p = comma ? comma + 1 : end;
        }
        return rc;
}

int rtspreq_frame_parse(const uint8_t *buf, size_t len, int *ret_channel, size_t *ret_payload_len)
{
        size_t n;

        if (len == 0)
                return 0;
        if (buf[0] != '$')
                return -EBADMSG;
        if (len < 4)
                return 0;
        n = (size_t)buf[2] << 8 | buf[3];
        if (len < 4 + n)
                return 0;
        *ret_channel = buf[1];
        *ret_payload_len = n;
        return (int)(4 + n);
}

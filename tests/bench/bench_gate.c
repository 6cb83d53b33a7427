/*
 * bench_gate: a load of RTSP players on one libuv loop, for
 * tests/bench/stream-gate: N sessions opened at once, each played over its
 * own RTSP TCP connection for D seconds, as a player of the station's
 * stream gate (or of the camera directly, the baseline) would.
 *
 *   bench_gate [--n N] [--seconds D] [--timeout-ms T] [--keepalive-ms K] [--watch-pid PID]... URL...
 *
 * Session i plays URL[i mod count] (rtsp://HOST[:PORT]/PATH, HOST a numeric
 * IPv4 address; no authentication). Each sends OPTIONS, DESCRIBE, SETUP
 * for every media of the SDP (control URLs resolved against Content-Base,
 * Transport: RTP/AVP/TCP;unicast;interleaved=2k-2k+1 for media k) and PLAY
 * with its Session, then reads what comes: interleaved '$' frames and RTSP
 * responses in any order. Timed from its connect: the first RTP packet,
 * and the first complete video frame (the first RTP packet with the marker
 * bit on a video medium's channel). The measuring window opens once every
 * session has its first frame or failed (a session without one within T
 * ms, default 10000, of the start has failed, "timeout"), and lasts D
 * seconds (default 10); the RTP bytes each session receives in it (frame
 * payloads on RTP channels, RTCP not counted) are its throughput. Then
 * every session sends TEARDOWN and closes. With --keepalive-ms, every
 * playing session sends GET_PARAMETER that often (their answers come
 * among the frames; counted, "keepalives_answered").
 *
 * Prints one JSON line per session, {"session","url","ok","error",
 * "connect_ms","play_ms","first_packet_ms","first_frame_ms","bytes",
 * "bytes_per_s","keepalives_sent","keepalives_answered"}, then, last, one JSON object with the aggregates:
 * {"what":"gate-load","n","ok","failed","window_s","bytes","bytes_per_s",
 * "bytes_per_s_per_session_p50","first_packet_ms_p50","first_frame_ms_p50",
 * "first_frame_ms_p95","first_frame_ms_max","keepalives_sent",
 * "keepalives_answered","errors":{...},"cpu_s":{...}}
 * (first-frame figures over the sessions that had one; bytes_per_s is the
 * total over all sessions). cpu_s is the CPU time (user + system, from
 * /proc/PID/stat) spent in the window by bench_gate itself ("self") and by
 * each process named with --watch-pid (the gate, the RTSP server: "PID"),
 * read as the window opens and closes, so that what a process does while
 * the sessions are set up is not counted. Exit 0 when it ran (failed sessions are counted, not an
 * error), 1 if no session played at all, 2 on usage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uv.h>

#include "bench_latency.h"
#include "transport/rtspmsg.h"
#include "transport/sdp.h"

#define BUF_SIZE (256 * 1024)   /* > one frame (64 KiB) + one response (80 KiB) */
#define MAX_URL 512
#define MAX_SESSION_ID 128
#define MAX_WATCHED 8

enum step { STEP_CONNECT, STEP_OPTIONS, STEP_DESCRIBE, STEP_SETUP, STEP_PLAY, STEP_PLAYING, STEP_DONE };

struct session {
        int index;
        const char *url;
        uv_tcp_t tcp;
        uv_connect_t connect;
        bool open, failed;
        const char *error;
        char error_buf[64];
        int keepalives_sent, keepalives_answered;
        enum step step;
        int cseq, setup_next;
        char session_id[MAX_SESSION_ID];
        char base[MAX_URL];
        struct sdp_session sdp;
        int video_channel;              /* the RTP channel of the first video medium, -1 if none */
        bool rtp_channel[256];          /* channels the server said carry RTP */
        char *buf;
        size_t len;
        double t_start, connect_ms, play_ms, first_packet_ms, first_frame_ms;
        uint64_t bytes, bytes_at_open;  /* RTP bytes in all; at the window's opening */
};

static struct {
        uv_loop_t *loop;
        uv_timer_t timer, keepalive;
        int keepalive_ms;
        struct session *s;
        int n, seconds, timeout_ms;
        double t0, window_open, window_close;
        bool window;                    /* the window is open */
        int watched[MAX_WATCHED + 1];   /* [0] is ourselves */
        int n_watched;
        double cpu_open[MAX_WATCHED + 1], cpu_close[MAX_WATCHED + 1];
} bench;

/* User + system CPU seconds of PID (0: this process) so far, -1 if it
 * cannot be read. */
static double cpu_seconds(int pid)
{
        char path[64], line[1024], *p;
        unsigned long long utime, stime;
        FILE *f;
        size_t n;

        if (pid)
                snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        else
                snprintf(path, sizeof(path), "/proc/self/stat");
        f = fopen(path, "r");
        if (!f)
                return -1;
        n = fread(line, 1, sizeof(line) - 1, f);
        fclose(f);
        line[n] = '\0';
        /* After the command's ")": state (field 3) ... utime (14), stime (15). */
        p = strrchr(line, ')');
        if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
                return -1;
        return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void cpu_sample(double *ret)
{
        for (int i = 0; i < bench.n_watched; i++)
                ret[i] = cpu_seconds(bench.watched[i]);
}

struct write_req {
        uv_write_t req;
        char data[];
};

static void on_closed(uv_handle_t *h)
{
        (void)h;
}

static void session_close(struct session *s)
{
        if (s->open) {
                s->open = false;
                uv_close((uv_handle_t *)&s->tcp, on_closed);
        }
}

static void check_window(void);

static void session_fail(struct session *s, const char *error)
{
        if (s->failed || s->step == STEP_DONE)
                return;
        s->failed = true;
        s->error = error;
        session_close(s);
        check_window();
}

static void on_written(uv_write_t *req, int status)
{
        struct write_req *w = (struct write_req *)req;
        struct session *s = req->data;

        free(w);
        if (status < 0 && status != UV_ECANCELED)
                session_fail(s, "write failed");
}

/* Send one request: METHOD on URL with the next CSeq and EXTRA headers
 * (each ending in \r\n). */
static void session_request(struct session *s, const char *method, const char *url, const char *extra)
{
        struct write_req *w;
        uv_buf_t b;
        int len;

        len = snprintf(NULL, 0, "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: vigil-bench_gate\r\n%s\r\n", method, url,
                       s->cseq + 1, extra);
        w = malloc(sizeof(*w) + (size_t)len + 1);
        if (!w) {
                session_fail(s, "out of memory");
                return;
        }
        snprintf(w->data, (size_t)len + 1, "%s %s RTSP/1.0\r\nCSeq: %d\r\nUser-Agent: vigil-bench_gate\r\n%s\r\n",
                 method, url, ++s->cseq, extra);
        w->req.data = s;
        b = uv_buf_init(w->data, (unsigned)len);
        if (uv_write(&w->req, (uv_stream_t *)&s->tcp, &b, 1, on_written) < 0) {
                free(w);
                session_fail(s, "write failed");
        }
}

/* The value of header NAME in HEAD (LEN bytes), copied to OUT; false if
 * absent. rtspmsg.h parses the headers a probe needs, not Session or
 * Transport. */
static bool header_value(const char *head, size_t len, const char *name, char *out, size_t n)
{
        size_t nl = strlen(name);
        const char *p = head, *end = head + len;

        while (p < end) {
                const char *e = memchr(p, '\n', (size_t)(end - p));
                size_t l = (size_t)((e ? e : end) - p);
                if (l > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
                        const char *v = p + nl + 1;
                        size_t vl = l - nl - 1;
                        while (vl && (*v == ' ' || *v == '\t'))
                                v++, vl--;
                        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == ' '))
                                vl--;
                        if (vl >= n)
                                vl = n - 1;
                        memcpy(out, v, vl);
                        out[vl] = '\0';
                        return true;
                }
                p = e ? e + 1 : end;
        }
        return false;
}

static void session_setup_next(struct session *s)
{
        char extra[MAX_SESSION_ID + 128];
        const struct sdp_media *m = &s->sdp.media[s->setup_next];
        int k = s->setup_next;

        snprintf(extra, sizeof(extra), "Transport: RTP/AVP/TCP;unicast;interleaved=%d-%d\r\n%s%s%s", 2 * k,
                 2 * k + 1, s->session_id[0] ? "Session: " : "", s->session_id, s->session_id[0] ? "\r\n" : "");
        s->step = STEP_SETUP;
        session_request(s, "SETUP", m->control[0] ? m->control : s->base, extra);
}

static void session_play(struct session *s)
{
        char extra[MAX_SESSION_ID + 64];

        snprintf(extra, sizeof(extra), "Session: %s\r\nRange: npt=0.000-\r\n", s->session_id);
        s->step = STEP_PLAY;
        session_request(s, "PLAY", s->url, extra);
}

/* One response, HEAD its status line and headers. */
static void session_response(struct session *s, const struct rtspmsg_response *r, const char *head, size_t hlen)
{
        char v[512];

        if (s->step == STEP_PLAYING || s->step == STEP_DONE) {
                /* A keep-alive's answer, among the frames. */
                s->keepalives_answered += r->status == 200;
                return;
        }
        if (r->status != 200) {
                static const char *const names[] = { [STEP_OPTIONS] = "OPTIONS", [STEP_DESCRIBE] = "DESCRIBE",
                                                      [STEP_SETUP] = "SETUP", [STEP_PLAY] = "PLAY" };
                snprintf(s->error_buf, sizeof(s->error_buf), "%s refused %d",
                         names[s->step] ? names[s->step] : "request", r->status);
                session_fail(s, s->error_buf);
                return;
        }
        if (r->cseq != s->cseq) {
                session_fail(s, "response out of sequence");
                return;
        }
        switch (s->step) {
        case STEP_OPTIONS:
                s->step = STEP_DESCRIBE;
                session_request(s, "DESCRIBE", s->url, "Accept: application/sdp\r\n");
                break;
        case STEP_DESCRIBE:
                snprintf(s->base, sizeof(s->base), "%s", r->content_base[0] ? r->content_base : s->url);
                if (sdp_parse(r->body, r->body_len, s->base, &s->sdp) < 0 || s->sdp.n_media == 0) {
                        session_fail(s, "no usable SDP");
                        return;
                }
                for (int k = 0; k < s->sdp.n_media; k++)
                        if (s->video_channel < 0 && strcmp(s->sdp.media[k].type, "video") == 0)
                                s->video_channel = 2 * k;
                if (s->video_channel < 0) {
                        session_fail(s, "no video in the SDP");
                        return;
                }
                s->setup_next = 0;
                session_setup_next(s);
                break;
        case STEP_SETUP: {
                int a = 2 * s->setup_next, b;
                if (!s->session_id[0]) {
                        if (!header_value(head, hlen, "Session", v, sizeof(v))) {
                                session_fail(s, "SETUP without a Session");
                                return;
                        }
                        v[strcspn(v, ";")] = '\0';
                        if (strlen(v) >= sizeof(s->session_id)) {
                                session_fail(s, "a Session ID too long");
                                return;
                        }
                        memcpy(s->session_id, v, strlen(v) + 1);
                }
                /* The channels the server chose (it may pick others). */
                if (header_value(head, hlen, "Transport", v, sizeof(v))) {
                        const char *p = strstr(v, "interleaved=");
                        if (p && sscanf(p + 12, "%d-%d", &a, &b) >= 1 && a >= 0 && a < 256) {
                                if (s->video_channel == 2 * s->setup_next)
                                        s->video_channel = a;
                        } else {
                                a = 2 * s->setup_next;
                        }
                }
                s->rtp_channel[a] = true;
                if (++s->setup_next < s->sdp.n_media)
                        session_setup_next(s);
                else
                        session_play(s);
                break;
        }
        case STEP_PLAY:
                s->play_ms = bench_now_ms() - s->t_start;
                s->step = STEP_PLAYING;
                break;
        default:
                break;
        }
}

/* One interleaved frame on CHANNEL, DATA its LEN bytes. */
static void session_frame(struct session *s, int channel, const unsigned char *data, size_t len)
{
        double now;

        if (!s->rtp_channel[channel] || len < 12)
                return;   /* RTCP, or not RTP */
        s->bytes += len;
        if (s->first_packet_ms >= 0 && s->first_frame_ms >= 0)
                return;
        now = bench_now_ms() - s->t_start;
        if (s->first_packet_ms < 0)
                s->first_packet_ms = now;
        if (s->first_frame_ms < 0 && channel == s->video_channel && (data[1] & 0x80)) {
                s->first_frame_ms = now;
                check_window();
        }
}

/* Everything complete in the buffer; what is left is moved to its start. */
static void session_consume(struct session *s)
{
        size_t off = 0;

        while (off < s->len && !s->failed && s->open) {
                const char *p = s->buf + off;
                size_t avail = s->len - off;
                if (p[0] == '$') {
                        size_t flen;
                        if (avail < 4)
                                break;
                        flen = ((size_t)(unsigned char)p[2] << 8) | (unsigned char)p[3];
                        if (avail < 4 + flen)
                                break;
                        session_frame(s, (unsigned char)p[1], (const unsigned char *)p + 4, flen);
                        off += 4 + flen;
                } else {
                        struct rtspmsg_response r;
                        int n = rtspmsg_parse(p, avail, &r);
                        if (n == 0)
                                break;
                        if (n < 0) {
                                session_fail(s, "bytes that are neither RTSP nor an interleaved frame");
                                return;
                        }
                        session_response(s, &r, p, (size_t)n - r.body_len);
                        off += (size_t)n;
                }
        }
        if (off > 0 && off < s->len)
                memmove(s->buf, s->buf + off, s->len - off);
        s->len -= off < s->len ? off : s->len;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
        struct session *s = h->data;

        (void)suggested;
        *b = uv_buf_init(s->buf + s->len, (unsigned)(BUF_SIZE - s->len));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *b)
{
        struct session *s = stream->data;

        (void)b;
        if (nread < 0) {
                session_fail(s, nread == UV_EOF ? "closed by the server" : "read failed");
                return;
        }
        s->len += (size_t)nread;
        session_consume(s);
        if (!s->failed && s->len == BUF_SIZE)
                session_fail(s, "a message over the buffer");
}

static void on_connect(uv_connect_t *req, int status)
{
        struct session *s = req->data;

        if (status < 0) {
                session_fail(s, status == UV_ECONNREFUSED ? "connection refused" : "connect failed");
                return;
        }
        s->connect_ms = bench_now_ms() - s->t_start;
        if (uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read) < 0) {
                session_fail(s, "read failed");
                return;
        }
        s->step = STEP_OPTIONS;
        session_request(s, "OPTIONS", s->url, "");
}

/* rtsp://HOST[:PORT]/... into ADDR; -EINVAL if HOST is not numeric IPv4. */
static int url_address(const char *url, struct sockaddr_in *addr)
{
        char host[64];
        const char *p, *e;
        int port = 554;
        size_t hl;

        if (strncasecmp(url, "rtsp://", 7) != 0)
                return -EINVAL;
        p = url + 7;
        e = p + strcspn(p, ":/");
        hl = (size_t)(e - p);
        if (hl == 0 || hl >= sizeof(host))
                return -EINVAL;
        memcpy(host, p, hl);
        host[hl] = '\0';
        if (*e == ':' && ((port = atoi(e + 1)) <= 0 || port > 65535))
                return -EINVAL;
        return uv_ip4_addr(host, port, addr) == 0 ? 0 : -EINVAL;
}

static int session_start(struct session *s)
{
        struct sockaddr_in addr;

        if (url_address(s->url, &addr) < 0)
                return -EINVAL;
        s->buf = malloc(BUF_SIZE);
        if (!s->buf || uv_tcp_init(bench.loop, &s->tcp) < 0)
                return -ENOMEM;
        s->open = true;
        s->tcp.data = s;
        s->connect.data = s;
        uv_tcp_nodelay(&s->tcp, 1);
        s->t_start = bench_now_ms();
        if (uv_tcp_connect(&s->connect, &s->tcp, (const struct sockaddr *)&addr, on_connect) < 0)
                session_fail(s, "connect failed");
        return 0;
}

static void on_window_closed(uv_timer_t *t)
{
        (void)t;
        bench.window_close = bench_now_ms();
        cpu_sample(bench.cpu_close);
        for (int i = 0; i < bench.n; i++) {
                struct session *s = &bench.s[i];
                if (s->open && s->step == STEP_PLAYING) {
                        /* Best effort: the answer is not waited for. */
                        char req[MAX_URL + MAX_SESSION_ID + 128];
                        int len = snprintf(req, sizeof(req), "TEARDOWN %s RTSP/1.0\r\nCSeq: %d\r\nSession: %s\r\n\r\n",
                                           s->url, ++s->cseq, s->session_id);
                        uv_buf_t b = uv_buf_init(req, (unsigned)len);
                        uv_try_write((uv_stream_t *)&s->tcp, &b, 1);
                }
                if (!s->failed)
                        s->step = STEP_DONE;
                session_close(s);
        }
        uv_close((uv_handle_t *)&bench.timer, on_closed);
        uv_close((uv_handle_t *)&bench.keepalive, on_closed);
}

/* GET_PARAMETER to every playing session: RTSP answers then come among
 * the frames, as a player's keep-alives bring them. */
static void on_keepalive(uv_timer_t *t)
{
        char extra[MAX_SESSION_ID + 32];

        (void)t;
        for (int i = 0; i < bench.n; i++) {
                struct session *s = &bench.s[i];
                if (!s->open || s->step != STEP_PLAYING)
                        continue;
                snprintf(extra, sizeof(extra), "Session: %s\r\n", s->session_id);
                session_request(s, "GET_PARAMETER", s->url, extra);
                s->keepalives_sent++;
        }
}

static void open_window(void)
{
        bench.window = true;
        bench.window_open = bench_now_ms();
        cpu_sample(bench.cpu_open);
        for (int i = 0; i < bench.n; i++)
                bench.s[i].bytes_at_open = bench.s[i].bytes;
        uv_timer_start(&bench.timer, on_window_closed, (uint64_t)bench.seconds * 1000, 0);
}

/* The window opens once every session has its first frame or failed. */
static void check_window(void)
{
        int alive = 0;

        if (bench.window)
                return;
        for (int i = 0; i < bench.n; i++) {
                if (!bench.s[i].failed && bench.s[i].first_frame_ms < 0)
                        return;
                alive += !bench.s[i].failed;
        }
        uv_timer_stop(&bench.timer);
        open_window();
        if (alive == 0) {   /* nothing to measure: no need to wait */
                uv_timer_stop(&bench.timer);
                on_window_closed(&bench.timer);
        }
}

static void on_setup_timeout(uv_timer_t *t)
{
        (void)t;
        for (int i = 0; i < bench.n; i++)
                if (!bench.s[i].failed && bench.s[i].first_frame_ms < 0)
                        session_fail(&bench.s[i], "timeout");
        if (!bench.window)
                open_window();
}

static double percentile(double *v, int n, double q)
{
        int i = (int)(n * q);

        return n ? v[i < n ? i : n - 1] : -1;
}

static void print_string(const char *key, const char *v)
{
        printf(",\"%s\":", key);
        if (!v) {
                printf("null");
                return;
        }
        putchar('"');
        for (; *v; v++)
                if (*v == '"' || *v == '\\')
                        printf("\\%c", *v);
                else if ((unsigned char)*v >= 0x20)
                        putchar(*v);
        putchar('"');
}

static void print_ms(const char *key, double v)
{
        if (v < 0)
                printf(",\"%s\":null", key);
        else
                printf(",\"%s\":%.2f", key, v);
}

static int report(void)
{
        double window_s = (bench.window_close - bench.window_open) / 1e3;
        double *ff = calloc((size_t)bench.n, sizeof(double)), *fp = calloc((size_t)bench.n, sizeof(double));
        double *rate = calloc((size_t)bench.n, sizeof(double));
        const char *errors[64];
        int counts[64], nerr = 0, ok = 0, nff = 0, nfp = 0, ka_sent = 0, ka_answered = 0, i, j;
        uint64_t total = 0;

        if (!ff || !fp || !rate)
                return 1;
        for (i = 0; i < bench.n; i++) {
                struct session *s = &bench.s[i];
                uint64_t bytes = s->bytes - s->bytes_at_open;
                bool good = !s->failed && s->first_frame_ms >= 0 && bytes > 0;
                if (!s->failed && !good)
                        s->error = "no bytes in the window";
                total += bytes;
                printf("{\"session\":%d", s->index);
                print_string("url", s->url);
                printf(",\"ok\":%s", good ? "true" : "false");
                print_string("error", good ? NULL : s->error);
                print_ms("connect_ms", s->connect_ms);
                print_ms("play_ms", s->play_ms);
                print_ms("first_packet_ms", s->first_packet_ms);
                print_ms("first_frame_ms", s->first_frame_ms);
                printf(",\"bytes\":%llu,\"bytes_per_s\":%.0f,\"keepalives_sent\":%d,\"keepalives_answered\":%d}\n",
                       (unsigned long long)bytes, window_s > 0 ? bytes / window_s : 0, s->keepalives_sent,
                       s->keepalives_answered);
                ka_sent += s->keepalives_sent;
                ka_answered += s->keepalives_answered;
                if (good) {
                        ok++;
                        rate[ok - 1] = window_s > 0 ? bytes / window_s : 0;
                } else {
                        for (j = 0; j < nerr && strcmp(errors[j], s->error) != 0; j++)
                                ;
                        if (j == nerr && nerr < 64) {
                                errors[nerr] = s->error;
                                counts[nerr++] = 0;
                        }
                        if (j < 64)
                                counts[j]++;
                }
                if (s->first_frame_ms >= 0)
                        ff[nff++] = s->first_frame_ms;
                if (s->first_packet_ms >= 0)
                        fp[nfp++] = s->first_packet_ms;
        }
        qsort(ff, (size_t)nff, sizeof(double), bench_cmp_double);
        qsort(fp, (size_t)nfp, sizeof(double), bench_cmp_double);
        qsort(rate, (size_t)ok, sizeof(double), bench_cmp_double);
        printf("{\"what\":\"gate-load\",\"n\":%d,\"ok\":%d,\"failed\":%d,\"window_s\":%.3f,\"bytes\":%llu,"
               "\"bytes_per_s\":%.0f", bench.n, ok, bench.n - ok, window_s, (unsigned long long)total,
               window_s > 0 ? total / window_s : 0);
        print_ms("bytes_per_s_per_session_p50", percentile(rate, ok, 0.5));
        print_ms("first_packet_ms_p50", percentile(fp, nfp, 0.5));
        print_ms("first_frame_ms_p50", percentile(ff, nff, 0.5));
        print_ms("first_frame_ms_p95", percentile(ff, nff, 0.95));
        print_ms("first_frame_ms_max", nff ? ff[nff - 1] : -1);
        printf(",\"keepalives_sent\":%d,\"keepalives_answered\":%d", ka_sent, ka_answered);
        printf(",\"errors\":{");
        for (j = 0; j < nerr; j++)
                printf("%s\"%s\":%d", j ? "," : "", errors[j], counts[j]);
        printf("},\"cpu_s\":{");
        for (j = 0; j < bench.n_watched; j++) {
                double c = bench.cpu_close[j] - bench.cpu_open[j];
                if (j)
                        printf(",\"%d\":", bench.watched[j]);
                else
                        printf("\"self\":");
                if (bench.cpu_open[j] < 0 || bench.cpu_close[j] < 0)
                        printf("null");
                else
                        printf("%.3f", c);
        }
        printf("}}\n");
        free(ff);
        free(fp);
        free(rate);
        return ok > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
        const char **urls = calloc((size_t)argc, sizeof(char *));
        int nurls = 0, i, r;

        bench.n = -1;
        bench.seconds = 10;
        bench.timeout_ms = 10000;
        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
                        bench.n = atoi(argv[++i]);
                else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
                        bench.seconds = atoi(argv[++i]);
                else if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
                        bench.timeout_ms = atoi(argv[++i]);
                else if (strcmp(argv[i], "--keepalive-ms") == 0 && i + 1 < argc)
                        bench.keepalive_ms = atoi(argv[++i]);
                else if (strcmp(argv[i], "--watch-pid") == 0 && i + 1 < argc && bench.n_watched < MAX_WATCHED)
                        bench.watched[1 + bench.n_watched++] = atoi(argv[++i]);
                else if (strncmp(argv[i], "rtsp://", 7) == 0)
                        urls[nurls++] = argv[i];
                else
                        nurls = -1000;
        }
        if (bench.n < 0)
                bench.n = nurls;
        bench.n_watched++;   /* and ourselves, watched[0] = 0 */
        if (nurls <= 0 || bench.n < 1 || bench.seconds < 1 || bench.timeout_ms < 1) {
                fprintf(stderr, "usage: bench_gate [--n N] [--seconds D] [--timeout-ms T] [--keepalive-ms K] [--watch-pid PID]... "
                        "rtsp://HOST:PORT/PATH...\n");
                return 2;
        }
        bench.loop = uv_default_loop();
        bench.s = calloc((size_t)bench.n, sizeof(*bench.s));
        if (!bench.s)
                return 1;
        uv_timer_init(bench.loop, &bench.timer);
        bench.t0 = bench_now_ms();
        for (i = 0; i < bench.n; i++) {
                struct session *s = &bench.s[i];
                s->index = i;
                s->url = urls[i % nurls];
                s->video_channel = -1;
                s->connect_ms = s->play_ms = s->first_packet_ms = s->first_frame_ms = -1;
        }
        for (i = 0; i < bench.n; i++)
                if (session_start(&bench.s[i]) < 0) {
                        fprintf(stderr, "bench_gate: %s: not rtsp://IPV4[:PORT]/PATH, or out of memory\n",
                                bench.s[i].url);
                        return 2;
                }
        uv_timer_start(&bench.timer, on_setup_timeout, (uint64_t)bench.timeout_ms, 0);
        uv_timer_init(bench.loop, &bench.keepalive);
        if (bench.keepalive_ms > 0)
                uv_timer_start(&bench.keepalive, on_keepalive, (uint64_t)bench.keepalive_ms,
                               (uint64_t)bench.keepalive_ms);
        check_window();
        uv_run(bench.loop, UV_RUN_DEFAULT);
        r = report();
        for (i = 0; i < bench.n; i++)
                free(bench.s[i].buf);
        free(bench.s);
        free(urls);
        uv_loop_close(bench.loop);
        return r;
}

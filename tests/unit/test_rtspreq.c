/* Unit tests for lib/transport/rtspreq.c (and the gate's SDP rewrite in
 * sdp.c, the RTP-side pieces of rtspmsg.c): the requests ffprobe and
 * GStreamer send (captured through the gate), pipelining, the limits, and
 * what must be refused: garbage, HTTP, bad CSeq and Content-Length, control
 * characters, a URL or header past its limit; gate URLs; Transport values;
 * interleaved frames. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/rtspmsg.h"
#include "transport/rtspreq.h"
#include "transport/sdp.h"
#include "unit.h"

static const char ffprobe_setup[] =
        "SETUP rtsp://127.0.0.1:8554/t/ok.cam0/track0 RTSP/1.0\r\n"
        "Transport: RTP/AVP/UDP;unicast;client_port=17450-17451\r\n"
        "CSeq: 3\r\n"
        "User-Agent: Lavf59.27.100\r\n"
        "\r\n";

static const char gst_play[] =
        "PLAY rtsp://127.0.0.1:8554/t/ok.cam1/ RTSP/1.0\r\n"
        "CSeq: 5\r\n"
        "User-Agent: GStreamer/1.22.0\r\n"
        "Range: npt=now-\r\n"
        "Session: 2f316c41bad287e9;timeout=60\r\n"
        "Date: Thu, 03 Dec 2026 05:56:30 GMT\r\n"
        "\r\n";

static void test_requests(void)
{
        struct rtspreq r;
        size_t len = strlen(ffprobe_setup), i;

        CHECK(rtspreq_parse(ffprobe_setup, len, &r) == (int)len);
        CHECK_STREQ(r.method, "SETUP");
        CHECK_STREQ(r.url, "rtsp://127.0.0.1:8554/t/ok.cam0/track0");
        CHECK(r.cseq == 3);
        CHECK_STREQ(r.transport, "RTP/AVP/UDP;unicast;client_port=17450-17451");
        CHECK_STREQ(r.user_agent, "Lavf59.27.100");
        CHECK(r.session[0] == '\0' && r.body_len == 0);
        /* Every prefix asks for more. */
        for (i = 0; i < len; i++)
                CHECK(rtspreq_parse(ffprobe_setup, i, &r) == 0);

        len = strlen(gst_play);
        CHECK(rtspreq_parse(gst_play, len, &r) == (int)len);
        CHECK_STREQ(r.session, "2f316c41bad287e9");
        CHECK_STREQ(r.range, "npt=now-");

        /* A body, and sloppy "\n" line ends. */
        {
                const char *q = "SET_PARAMETER rtsp://h/t/x RTSP/1.0\nCSeq: 9\nContent-Length: 5\n\nhello";
                CHECK(rtspreq_parse(q, strlen(q), &r) == (int)strlen(q));
                CHECK(r.cseq == 9 && r.body_len == 5 && memcmp(r.body, "hello", 5) == 0);
                CHECK(rtspreq_parse(q, strlen(q) - 1, &r) == 0);
        }
        /* OPTIONS *, no headers. */
        CHECK(rtspreq_parse("OPTIONS * RTSP/1.0\r\n\r\n", 22, &r) == 22 && r.cseq == -1);
}

static void test_pipelined(void)
{
        const char *two = "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\nDESCRIBE rtsp://h/t/a RTSP/1.0\r\nCSeq: 2\r\n\r\n$\x01";
        struct rtspreq r;
        size_t len = strlen(two);
        int n, m;

        n = rtspreq_parse(two, len, &r);
        CHECK(n == 31 && r.cseq == 1);
        m = rtspreq_parse(two + n, len - (size_t)n, &r);
        CHECK(m > 0 && r.cseq == 2 && strcmp(r.method, "DESCRIBE") == 0);
        CHECK(two[n + m] == '$');
}

static void test_refused(void)
{
        static const char *const bad[] = {
                "\x00\xffHELLO this is not RTSP\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                "OPTIONS * RTSP/2.0\r\n\r\n",
                "OPTIONS  * RTSP/1.0\r\n\r\n",
                "OPTIONS * RTSP/1.0 x\r\n\r\n",
                " OPTIONS * RTSP/1.0\r\n\r\n",
                "OPTIONS * RTSP/1.0\r\nCSeq: x\r\n\r\n",
                "OPTIONS * RTSP/1.0\r\nCSeq: -1\r\n\r\n",
                "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nCSeq: 2\r\n\r\n",
                "OPTIONS * RTSP/1.0\r\nContent-Length: 70000\r\n\r\n",
                "OPTIONS * RTSP/1.0\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
                "OPTIONS * RTSP/1.0\r\nNo colon here\r\n\r\n",
                "OPTIONS * RTSP/1.0\r\n: empty name\r\n\r\n",
                "OPTIONS * RTSP/1.0\r\nX-Evil: a\x01z\r\n\r\n",
                "OPTIONS * RTSP/1.0\r\nBad Name: v\r\n\r\n",
        };
        struct rtspreq r;
        char *big;
        size_t i, n;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                size_t len = i == 0 ? 28 : strlen(bad[i]);
                if (rtspreq_parse(bad[i], len, &r) != -EBADMSG) {
                        fprintf(stderr, "accepted bad request %zu\n", i);
                        CHECK(0);
                }
        }
        /* Garbage is refused on its first bytes, not after 16 KiB. */
        CHECK(rtspreq_parse("\x16\x03\x01", 3, &r) == -EBADMSG);
        CHECK(rtspreq_parse("GET / H", 7, &r) == -EBADMSG);
        CHECK(rtspreq_parse("OPTIONS * RTSP/1.", 17, &r) == 0);

        /* The limits: 64 headers, a 16 KiB head, a URL, a Session. */
        big = malloc(RTSPREQ_MAX_HEAD * 2);
        CHECK(big != NULL);
        n = (size_t)sprintf(big, "OPTIONS * RTSP/1.0\r\n");
        for (i = 0; i < RTSPREQ_MAX_HEADERS; i++)
                n += (size_t)sprintf(big + n, "X-%zu: y\r\n", i);
        strcpy(big + n, "\r\n");
        CHECK(rtspreq_parse(big, n + 2, &r) == (int)(n + 2));
        n += (size_t)sprintf(big + n, "X-last: y\r\n\r\n");
        CHECK(rtspreq_parse(big, n, &r) == -EBADMSG);

        n = (size_t)sprintf(big, "OPTIONS * RTSP/1.0\r\nX: ");
        memset(big + n, 'a', RTSPREQ_MAX_HEAD);
        CHECK(rtspreq_parse(big, n + RTSPREQ_MAX_HEAD, &r) == -EBADMSG);
        CHECK(rtspreq_parse(big, RTSPREQ_MAX_HEAD, &r) == 0);

        n = (size_t)sprintf(big, "DESCRIBE rtsp://h/t/");
        memset(big + n, 'a', RTSPREQ_MAX_URL);
        CHECK(rtspreq_parse(big, n + RTSPREQ_MAX_URL, &r) == -EBADMSG);

        n = (size_t)sprintf(big, "PLAY * RTSP/1.0\r\nSession: ");
        memset(big + n, 'a', 200);
        strcpy(big + n + 200, "\r\n\r\n");
        CHECK(rtspreq_parse(big, strlen(big), &r) == -EBADMSG);
        free(big);
}

static void test_urls(void)
{
        struct rtspreq_url u;
        char *big;

        CHECK(rtspreq_url_parse("rtsp://127.0.0.1:8554/t/vt1.abc-_~.DEF/track0", &u) == 0);
        CHECK_STREQ(u.authority, "127.0.0.1:8554");
        CHECK_STREQ(u.token, "vt1.abc-_~.DEF");
        CHECK_STREQ(u.suffix, "track0");
        CHECK(rtspreq_track(u.suffix) == 0);
        CHECK(rtspreq_url_parse("RTSP://[::1]:554/t/ok.cam0/", &u) == 0);
        CHECK_STREQ(u.authority, "[::1]:554");
        CHECK_STREQ(u.suffix, "");
        CHECK(rtspreq_url_parse("rtsp://gate/t/ok.cam0", &u) == 0 && u.suffix[0] == '\0');
        CHECK(rtspreq_url_parse("rtsp://gate/t/ok.cam0?x=1", &u) == 0 && u.suffix[0] == '\0');
        CHECK(rtspreq_url_parse("rtsp://gate/t/ok.cam0/track12/", &u) == 0 && rtspreq_track(u.suffix) == 12);

        CHECK(rtspreq_url_parse("http://gate/t/ok", &u) == -EINVAL);
        CHECK(rtspreq_url_parse("rtsp://gate/x/ok", &u) == -EINVAL);
        CHECK(rtspreq_url_parse("rtsp://gate/t/", &u) == -EINVAL);
        CHECK(rtspreq_url_parse("rtsp://gate/t/a%2fb", &u) == -EINVAL);
        CHECK(rtspreq_url_parse("rtsp://gate/t/a\"b", &u) == -EINVAL);
        CHECK(rtspreq_url_parse("rtsp://user:pw@gate/t/a", &u) == -EINVAL);
        CHECK(rtspreq_url_parse("rtsp:///t/a", &u) == -EINVAL);
        CHECK(rtspreq_url_parse("rtsp://gate", &u) == -EINVAL);

        big = malloc(RTSPREQ_MAX_TOKEN + 64);
        CHECK(big != NULL);
        strcpy(big, "rtsp://g/t/");
        memset(big + 11, 'a', RTSPREQ_MAX_TOKEN);
        big[11 + RTSPREQ_MAX_TOKEN] = '\0';
        CHECK(rtspreq_url_parse(big, &u) == 0 && strlen(u.token) == RTSPREQ_MAX_TOKEN);
        strcat(big, "a");
        CHECK(rtspreq_url_parse(big, &u) == -EINVAL);
        free(big);

        CHECK(rtspreq_track("track") == -1);
        CHECK(rtspreq_track("track01") == -1);
        CHECK(rtspreq_track("track100") == -1);
        CHECK(rtspreq_track("stream=0") == -1);
        CHECK(rtspreq_track("track-1") == -1);
}

static void test_transport(void)
{
        struct rtspreq_transport t;

        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;unicast;interleaved=0-1", &t) == 0);
        CHECK(t.tcp && t.unicast && t.interleaved[0] == 0 && t.interleaved[1] == 1);
        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;unicast;interleaved=4-5;ssrc=FFC77898;mode=\"PLAY\"", &t) == 0);
        CHECK(t.interleaved[0] == 4 && strcmp(t.ssrc, "FFC77898") == 0);
        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;interleaved=6", &t) == 0 && t.interleaved[1] == 7);
        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;unicast", &t) == 0 && t.interleaved[0] == -1);
        /* GStreamer's list: UDP first, TCP as an alternative. */
        CHECK(rtspreq_transport_parse("RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast;interleaved=2-3",
                                      &t) == 0);
        CHECK(t.tcp && t.interleaved[0] == 2);

        CHECK(rtspreq_transport_parse("RTP/AVP/UDP;unicast;client_port=17450-17451", &t) == -ENOTSUP);
        CHECK(rtspreq_transport_parse("RTP/AVP;multicast", &t) == -ENOTSUP);
        CHECK(rtspreq_transport_parse("", &t) == -ENOTSUP);
        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;interleaved=255-256", &t) == -EBADMSG);
        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;interleaved=0-5", &t) == -EBADMSG);
        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;interleaved=x", &t) == -EBADMSG);
        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;interleaved=1-", &t) == -EBADMSG);
        CHECK(rtspreq_transport_parse("RTP/AVP/TCP;interleaved=0-1;ssrc=xyz", &t) == -EBADMSG);
}

static void test_frames(void)
{
        const uint8_t f[] = { '$', 1, 0, 3, 'a', 'b', 'c', '$' };
        size_t plen;
        int ch;

        CHECK(rtspreq_frame_parse(f, sizeof(f), &ch, &plen) == 7 && ch == 1 && plen == 3);
        CHECK(rtspreq_frame_parse(f, 6, &ch, &plen) == 0);
        CHECK(rtspreq_frame_parse(f, 3, &ch, &plen) == 0);
        CHECK(rtspreq_frame_parse(f, 0, &ch, &plen) == 0);
        CHECK(rtspreq_frame_parse((const uint8_t *)"RTSP", 4, &ch, &plen) == -EBADMSG);
        {
                uint8_t big[4 + 65535] = { '$', 0, 0xff, 0xff };
                CHECK(rtspreq_frame_parse(big, sizeof(big), &ch, &plen) == (int)sizeof(big) && plen == 65535);
        }
}

/* RTP-Info as the gate answers it: its own track URLs only. */
static void test_rtp_info_rewrite(void)
{
        const char *controls[2] = { "rtsp://10.0.0.9:554/cam/stream=0", "rtsp://10.0.0.9:554/cam/stream=1" };
        char *out;

        out = rtspmsg_rtp_info_rewrite("url=rtsp://10.0.0.9:554/cam/stream=1;seq=7;rtptime=9, "
                                       "url=stream=0;seq=1,url=rtsp://elsewhere/x;seq=2,"
                                       "url=rtsp://10.0.0.9:554/cam/stream=0;x=rtsp://10.0.0.9/", controls, 2,
                                       "rtsp://g:1/t/tok");
        CHECK(out != NULL);
        CHECK_STREQ(out, "url=rtsp://g:1/t/tok/track1;seq=7;rtptime=9,url=rtsp://g:1/t/tok/track0;seq=1,"
                         "url=rtsp://g:1/t/tok/track0");
        free(out);
        CHECK(rtspmsg_rtp_info_rewrite("url=rtsp://elsewhere/x;seq=2", controls, 2, "rtsp://g:1/t/tok") == NULL);
        out = rtspmsg_rtp_info_rewrite("url=stream=0;seq=1;x=10.9.9.9", controls, 2, "rtsp://g:1/t/tok");
        CHECK(out != NULL);
        CHECK_STREQ(out, "url=rtsp://g:1/t/tok/track0");
        free(out);
        {
                struct rtspmsg_response r;
                const char *bad = "RTSP/1.0 200 OK\r\nCSeq: 3\r\nRange: npt=0-\rLocation: rtsp://a:b@10.9.9.9/\r\n\r\n";
                CHECK(rtspmsg_parse(bad, strlen(bad), &r) == -EBADMSG);
        }
        CHECK(rtspmsg_rtp_info_rewrite("", controls, 2, "rtsp://g:1/t/tok") == NULL);
}

/* The SDP the gate answers: its own control URLs, nothing of the camera's. */
static void test_sdp_rewrite(void)
{
        const char *in = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=x\r\na=control:*\r\n"
                         "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=control:stream=0\r\n"
                         "m=audio 0 RTP/AVP 8\nc=IN IP4 0.0.0.0\n";
        struct sdp_session s;
        char *out;
        size_t len;

        CHECK(sdp_rewrite_controls(in, strlen(in), "rtsp://g:1/t/tok", &out, &len) == 0);
        CHECK(strlen(out) == len);
        CHECK_CONTAINS(out, "a=control:rtsp://g:1/t/tok/\r\nm=video 0 RTP/AVP 96\r\n"
                            "a=control:rtsp://g:1/t/tok/track0\r\n");
        CHECK_CONTAINS(out, "m=audio 0 RTP/AVP 8\r\na=control:rtsp://g:1/t/tok/track1\r\nc=IN IP4 0.0.0.0\r\n");
        CHECK(strstr(out, "stream=0") == NULL);
        CHECK(sdp_parse(out, len, "rtsp://g:1/t/tok/", &s) == 0 && s.n_media == 2);
        CHECK_STREQ(s.media[1].control, "rtsp://g:1/t/tok/track1");
        CHECK_STREQ(s.control, "rtsp://g:1/t/tok/");
        CHECK_STREQ(s.media[0].codec, "H265");
        free(out);
        /* Nothing of where the camera is: origin, connection, URLs. */
        in = "v=0\r\no=admin 3735 2 IN IP4 10.20.30.40\r\ns=cam\r\nu=http://10.20.30.40/info\r\n"
             "e=owner@hotel.example\r\np=+86 731 0000\r\nc=IN IP4 10.20.30.40/127\r\n"
             "a=x-backchannel:rtsp://10.20.30.40:554/back\r\nm=video 0 RTP/AVP 96\r\nc=IN IP6 fe80::1\r\n"
             "a=rtpmap:96 H264/90000\r\n";
        CHECK(sdp_rewrite_controls(in, strlen(in), "rtsp://g:1/t/tok", &out, &len) == 0);
        CHECK(strstr(out, "10.20.30.40") == NULL && strstr(out, "fe80") == NULL && strstr(out, "admin") == NULL);
        CHECK(strstr(out, "hotel") == NULL && strstr(out, "+86") == NULL && strstr(out, "backchannel") == NULL);
        CHECK_CONTAINS(out, "o=- 3735 2 IN IP4 0.0.0.0\r\ns=vigil stream gate\r\nc=IN IP4 0.0.0.0\r\n");
        CHECK_CONTAINS(out, "a=control:rtsp://g:1/t/tok/track0\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\n");
        CHECK(sdp_parse(out, len, "rtsp://g:1/t/tok/", &s) == 0 && s.n_media == 1);
        free(out);
        /* An allow-list: what names the camera goes, whatever its line. */
        in = "v=0\r\ns=cam 10.9.9.9\r\ni=Camera at 10.9.9.9\r\nt=0 0\r\na=tool:hik 10.9.9.9\r\n"
             "m=video 0 RTP/AVP 96\r\na=source-filter: incl IN IP4 * 10.9.9.9\r\na=rtcp:5001 IN IP4 10.9.9.9\r\n"
             "a=ssrc:1555842223 cname:admin@10.9.9.9\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n"
             "a=framerate:25\r\na=recvonly\r\n";
        CHECK(sdp_rewrite_controls(in, strlen(in), "rtsp://g:1/t/tok", &out, &len) == 0);
        CHECK(strstr(out, "10.9.9.9") == NULL && strstr(out, "cname") == NULL && strstr(out, "hik") == NULL);
        CHECK_CONTAINS(out, "a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=framerate:25\r\n"
                            "a=recvonly\r\n");
        CHECK_CONTAINS(out, "t=0 0\r\n");
        free(out);
        /* A bare CR hides a line; nine media are more than a camera has. */
        in = "v=0\r\na=rtpmap:96 H264/90000\rc=IN IP4 10.9.9.8\r\nm=video 0 RTP/AVP 96\r\n";
        CHECK(sdp_rewrite_controls(in, strlen(in), "rtsp://g:1/t/tok", &out, &len) == -EBADMSG);
        {
                char many[400] = "v=0\r\n";
                for (int i = 0; i < 9; i++)
                        strcat(many, "m=video 0 RTP/AVP 96\r\n");
                CHECK(sdp_rewrite_controls(many, strlen(many), "rtsp://g:1/t/tok", &out, &len) == -EBADMSG);
                many[strlen(many) - strlen("m=video 0 RTP/AVP 96\r\n")] = '\0';
                CHECK(sdp_rewrite_controls(many, strlen(many), "rtsp://g:1/t/tok", &out, &len) == 0);
                free(out);
        }
        CHECK(sdp_rewrite_controls("x=1\r\n", 5, "rtsp://g", &out, &len) == -EBADMSG);
        CHECK(sdp_rewrite_controls("", 0, "rtsp://g", &out, &len) == -EBADMSG);
}

/* The upstream's side: a SETUP and a PLAY answer as GStreamer gives them. */
static void test_upstream_answers(void)
{
        const char *setup = "RTSP/1.0 200 OK\r\nCSeq: 3\r\n"
                            "Transport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=FFC77898;mode=\"PLAY\"\r\n"
                            "Session: 5xjjDN-a2ODPF5Sn;timeout=60\r\n\r\n";
        static const char play[] = "RTSP/1.0 200 OK\r\nCSeq: 4\r\n"
                           "RTP-Info: url=rtsp://127.0.0.1:18700/cam0/stream=0;seq=31464;rtptime=730891586\r\n"
                           "Range: npt=now-\r\nSession: 5xjjDN-a2ODPF5Sn\r\n\r\n$\x00\x00\x0e";
        const char *basic = "RTSP/1.0 401 Unauthorized\r\nCSeq: 2\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n";
        struct rtspmsg_response r;
        struct rtspmsg_url u;
        char out[128];

        CHECK(rtspmsg_parse(setup, strlen(setup), &r) == (int)strlen(setup));
        CHECK_STREQ(r.session, "5xjjDN-a2ODPF5Sn");
        CHECK_CONTAINS(r.transport, "interleaved=0-1");
        CHECK(rtspmsg_parse(play, sizeof(play) - 1, &r) == (int)sizeof(play) - 1 - 4);
        CHECK_STREQ(r.range, "npt=now-");
        CHECK_CONTAINS(r.rtp_info, "url=rtsp://127.0.0.1:18700/cam0/stream=0;seq=31464");
        CHECK(rtspmsg_parse(basic, strlen(basic), &r) > 0 && r.basic && !r.www_authenticate[0]);
        CHECK(rtspmsg_basic("Aladdin", "open sesame", out, sizeof(out)) == 0);
        CHECK_STREQ(out, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        CHECK(rtspmsg_basic("Aladdin", "open sesame", out, 20) == -ENOSPC);

        CHECK(rtspmsg_url_split("rtsp://u:p@cam.example:8554/a/b", &u) == 0);
        CHECK_STREQ(u.host, "cam.example");
        CHECK_STREQ(u.port, "8554");
        CHECK_STREQ(u.user, "u");
        CHECK_STREQ(u.password, "p");
        CHECK_STREQ(u.url, "rtsp://cam.example:8554/a/b");
        CHECK(rtspmsg_url_split("rtsp://[::1]:554/x", &u) == 0 && strcmp(u.host, "::1") == 0);
        CHECK(rtspmsg_url_split("rtsp://10.0.0.1", &u) == 0 && strcmp(u.port, "554") == 0);
        CHECK_STREQ(u.url, "rtsp://10.0.0.1/");
        CHECK(rtspmsg_url_split("rtsp://h:x/", &u) == -EINVAL);
        CHECK(rtspmsg_url_split("rtsp://:1/", &u) == -EINVAL);
        CHECK(rtspmsg_url_split("http://h/", &u) == -EINVAL);
        CHECK(rtspmsg_url_split("rtsp://[::1/", &u) == -EINVAL);
}

int main(void)
{
        RUN(test_requests);
        RUN(test_pipelined);
        RUN(test_refused);
        RUN(test_urls);
        RUN(test_transport);
        RUN(test_frames);
        RUN(test_rtp_info_rewrite);
        RUN(test_sdp_rewrite);
        RUN(test_upstream_answers);
        return 0;
}

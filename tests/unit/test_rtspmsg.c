/* Unit tests for lib/rtspmsg.c and lib/sdp.c: a real GStreamer DESCRIBE
 * answer (captured from deploy/rtsp-server), its 401 challenge, the RFC 2617
 * digest vector, and what must be refused. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "transport/rtspmsg.h"
#include "transport/sdp.h"
#include "unit.h"

static const char describe_200[] =
        "RTSP/1.0 200 OK\r\n"
        "CSeq: 2\r\n"
        "Content-Type: application/sdp\r\n"
        "Content-Base: rtsp://127.0.0.1:18501/cam0/\r\n"
        "Server: GStreamer RTSP server\r\n"
        "Date: Sun, 29 Nov 2026 01:20:27 GMT\r\n"
        "Content-Length: 525\r\n"
        "\r\n"
        "v=0\r\n"
        "o=- 16851341491542647970 1 IN IP4 127.0.0.1\r\n"
        "s=Session streamed with GStreamer\r\n"
        "i=rtsp-server\r\n"
        "t=0 0\r\n"
        "a=tool:GStreamer\r\n"
        "a=type:broadcast\r\n"
        "a=control:*\r\n"
        "a=range:npt=now-\r\n"
        "m=video 0 RTP/AVP 96\r\n"
        "c=IN IP4 0.0.0.0\r\n"
        "b=AS:2097\r\n"
        "a=rtpmap:96 H264/90000\r\n"
        "a=framerate:5\r\n"
        "a=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z0LAFdoFB+wFqDAwNSgAAAMACAAAAwBUeLF1,aM48gA==;profile-level-id=42c015;level-asymmetry-allowed=1\r\n"
        "a=control:stream=0\r\n"
        "a=ts-refclk:local\r\n"
        "a=mediaclk:sender\r\n"
        "a=ssrc:1781893520 cname:user2684744058@host-d7f819fe\r\n"
        "";

static const char describe_401[] =
        "RTSP/1.0 401 Unauthorized\r\n"
        "CSeq: 2\r\n"
        "WWW-Authenticate: Digest realm=\"GStreamer RTSP Server\", nonce=\"deffa08cf3cf7044\"\r\n"
        "Server: GStreamer RTSP server\r\n"
        "Date: Sun, 29 Nov 2026 01:20:27 GMT\r\n"
        "\r\n"
        "";

static void test_describe(void)
{
        struct rtspmsg_response r;
        struct sdp_session s;
        size_t len = strlen(describe_200);

        CHECK(rtspmsg_parse(describe_200, len, &r) == (int)len);
        CHECK(r.status == 200 && r.cseq == 2);
        CHECK_STREQ(r.content_base, "rtsp://127.0.0.1:18501/cam0/");
        CHECK_STREQ(r.content_type, "application/sdp");
        CHECK(r.body_len == 525);
        CHECK(sdp_parse(r.body, r.body_len, r.content_base, &s) == 0);
        CHECK(s.n_media == 1);
        CHECK_STREQ(s.media[0].type, "video");
        CHECK_STREQ(s.media[0].codec, "H264");
        CHECK(s.media[0].clock_rate == 90000);
        CHECK(s.media[0].framerate == 5);
        CHECK_STREQ(s.media[0].profile_level_id, "42c015");
        CHECK_STREQ(s.media[0].control, "rtsp://127.0.0.1:18501/cam0/stream=0");
        /* Every prefix of it is incomplete, never wrong. */
        for (size_t i = 0; i < len; i++)
                CHECK(rtspmsg_parse(describe_200, i, &r) == 0);
}

static void test_challenge(void)
{
        struct rtspmsg_response r;
        struct rtspmsg_challenge c;

        CHECK(rtspmsg_parse(describe_401, strlen(describe_401), &r) == (int)strlen(describe_401));
        CHECK(r.status == 401 && r.body_len == 0);
        CHECK(rtspmsg_challenge_parse(r.www_authenticate, &c) == 0);
        CHECK_STREQ(c.realm, "GStreamer RTSP Server");
        CHECK(strlen(c.nonce) == 16);
        CHECK(rtspmsg_challenge_parse("Basic realm=\"x\"", &c) == -ENOTSUP);
        CHECK(rtspmsg_challenge_parse("Digest realm=\"x\", nonce=\"n\", algorithm=SHA-256", &c) == -ENOTSUP);
        CHECK(rtspmsg_challenge_parse("Digest realm=\"x\"", &c) == -EBADMSG);
}

/* RFC 2617 section 3.5. */
static void test_digest_vector(void)
{
        struct rtspmsg_challenge c;
        char out[512];

        CHECK(rtspmsg_challenge_parse("Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
                                      "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
                                      "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"", &c) == 0);
        CHECK(rtspmsg_digest(&c, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", "0a4f113b", 1, out,
                             sizeof(out)) == 0);
        CHECK(strstr(out, "response=\"6629fae49393a05397450978507c4ef1\"") != NULL);
        CHECK(strstr(out, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"") != NULL);
        CHECK(rtspmsg_digest(&c, "GET", "/dir/index.html", "Mufasa", "Circle Of Life", "0a4f113b", 1, out, 40) ==
              -ENOSPC);
}

static void test_refused(void)
{
        struct rtspmsg_response r;
        struct sdp_session s;
        char big[RTSPMSG_MAX_HEAD + 64];

        CHECK(rtspmsg_parse("HTTP/1.1 200 OK\r\n\r\n", sizeof("HTTP/1.1 200 OK\r\n\r\n") - 1, &r) == -EBADMSG);
        CHECK(rtspmsg_parse("\x00\xffHELLO\r\n\r\n", sizeof("\x00\xffHELLO\r\n\r\n") - 1, &r) == -EBADMSG);
        CHECK(rtspmsg_parse("RTSP/1.0 2x0 OK\r\n\r\n", sizeof("RTSP/1.0 2x0 OK\r\n\r\n") - 1, &r) == -EBADMSG);
        CHECK(rtspmsg_parse("RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n", sizeof("RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n") - 1, &r) == -EBADMSG);
        CHECK(rtspmsg_parse("RTSP/1.0 200 OK\r\nContent-Length: 9999999\r\n\r\n", sizeof("RTSP/1.0 200 OK\r\nContent-Length: 9999999\r\n\r\n") - 1, &r) == -EBADMSG);
        CHECK(rtspmsg_parse("RTSP/1.0 200 OK\r\nNo colon here\r\n\r\n", sizeof("RTSP/1.0 200 OK\r\nNo colon here\r\n\r\n") - 1, &r) == -EBADMSG);
        CHECK(rtspmsg_parse("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nab", sizeof("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nab") - 1, &r) == 0);
        /* A status line and no header at all: a response (CSeq absent). */
        CHECK(rtspmsg_parse("RTSP/1.0 404 X\r\n\r\n", 18, &r) == 18 && r.status == 404 && r.cseq == -1);
        CHECK(rtspmsg_parse("RTSP/1.0 404 X\n\n", 16, &r) == 16 && r.status == 404);
        CHECK(rtspmsg_parse("RTSP/1.0 200 OK\r\nContent-Length: 05\r\n\r\nv=0\r\n", 44, &r) == 44 && r.body_len == 5);
        memset(big, 'a', sizeof(big));
        memcpy(big, "RTSP/1.0 200 OK\r\n", 17);
        CHECK(rtspmsg_parse(big, sizeof(big), &r) == -EBADMSG);
        CHECK(sdp_parse("hello", sizeof("hello") - 1, NULL, &s) == -EBADMSG);
        CHECK(sdp_parse("v=0\r\nm=video\r\n", sizeof("v=0\r\nm=video\r\n") - 1, NULL, &s) == -EBADMSG);
        CHECK(sdp_parse("v=0\r\nnot a line\r\n", sizeof("v=0\r\nnot a line\r\n") - 1, NULL, &s) == -EBADMSG);
}

int main(void)
{
        RUN(test_describe);
        RUN(test_challenge);
        RUN(test_digest_vector);
        RUN(test_refused);
        return 0;
}

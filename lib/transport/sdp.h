/* sdp: what a reserved interface's DESCRIBE says it streams (RFC 4566,
 * RFC 6184 for H.264): per media, its type, codec, clock rate, frame rate,
 * H.264 profile-level-id and control URL. Untrusted bytes: bounded, fuzzed
 * (tests/fuzz/fuzz_rtsp.c). */
#pragma once

#include <stddef.h>

#define SDP_MAX_MEDIA 8

struct sdp_media {
        char type[16];              /* video, audio, ... */
        int payload;                /* the first RTP payload type of m= */
        char codec[32];             /* from a=rtpmap (H264, PCMA, ...) */
        int clock_rate;
        double framerate;           /* a=framerate, 0 if absent */
        char profile_level_id[16];  /* a=fmtp profile-level-id, "" if absent */
        char control[512];          /* a=control, resolved against the base */
};

struct sdp_session {
        char control[512];          /* the session's a=control, resolved; "" if absent */
        int n_media;
        struct sdp_media media[SDP_MAX_MEDIA];
};

/** Parse BUF (LEN bytes). BASE (Content-Base, or the request URL) resolves
 *  relative control URLs. 0, or -EBADMSG if it is not an SDP (no v=0 line,
 *  a line without '=', a malformed m= line). Media past SDP_MAX_MEDIA are
 *  ignored. */
int sdp_parse(const char *buf, size_t len, const char *base, struct sdp_session *ret);

/** BUF (LEN bytes) as the stream gate answers it: every a=control line
 *  goes; the session's first becomes "a=control:BASE/", and each media gets
 *  "a=control:BASE/trackN" (N = 0, 1, ... in m= order) right after its m=
 *  line. Nothing of where the camera is goes on: the o= line's address
 *  and user become 0.0.0.0 and -, c= says 0.0.0.0, s= is the gate's; of
 *  the rest only v= t= m= b= r= and the a= lines a player needs (rtpmap,
 *  fmtp, framerate, range, direction, framesize, ...) are kept, none with
 *  a URL. More than SDP_MAX_MEDIA media, a bare CR, or an answer over
 *  SDP_MAX_REWRITTEN bytes: -EBADMSG. Lines end "\r\n". Caller owns *RET (free). 0, -EBADMSG (no
 *  v=0 first, a control byte other than CR, LF, tab), -ENOMEM. */
#define SDP_MAX_REWRITTEN 65536

int sdp_rewrite_controls(const char *buf, size_t len, const char *base, char **ret, size_t *ret_len);

/* Unit tests for lib/wire.c: round trips and every post-unpack check. */
#include <errno.h>
#include <stdlib.h>

#include "wire/wire.h"
#include "unit.h"

#define STATION "43010401002000000001"

static char err[512];

/* Pack ENV as is (without wire_encode_envelope's version stamp). */
static uint8_t *pack_raw(const Vigil__Envelope *env, size_t *len)
{
        *len = vigil__envelope__get_packed_size(env);
        uint8_t *buf = malloc(*len + 1);
        CHECK(buf != NULL);
        CHECK(vigil__envelope__pack(env, buf) == *len);
        return buf;
}

static int decode_raw(const Vigil__Envelope *env)
{
        size_t len;
        uint8_t *buf = pack_raw(env, &len);
        Vigil__Envelope *out = NULL;
        err[0] = '\0';
        int r = wire_decode_envelope(buf, len, &out, err, sizeof(err));
        CHECK((r == 0) == (out != NULL));
        wire_envelope_free(out);
        free(buf);
        return r;
}

static Vigil__Envelope *roundtrip(Vigil__Envelope *env)
{
        uint8_t *buf;
        size_t len;
        Vigil__Envelope *out = NULL;
        CHECK(wire_encode_envelope(env, &buf, &len) == 0);
        CHECK(env->has_version && env->version == WIRE_VERSION);
        int r = wire_decode_envelope(buf, len, &out, err, sizeof(err));
        if (r != 0)
                fprintf(stderr, "decode: %s\n", err);
        CHECK(r == 0 && out != NULL);
        free(buf);
        return out;
}

static void test_roundtrip_bodies(void)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Hello hello = VIGIL__HELLO__INIT;
        env.origin = STATION;
        env.body_case = VIGIL__ENVELOPE__BODY_HELLO;
        env.hello = &hello;
        hello.node_id = STATION;
        hello.has_tier = 1;
        hello.tier = VIGIL__TIER__TIER_STATION;
        hello.name = "yuelu-1 岳麓";
        Vigil__Envelope *out = roundtrip(&env);
        CHECK(out->body_case == VIGIL__ENVELOPE__BODY_HELLO);
        CHECK_STREQ(out->hello->node_id, STATION);
        CHECK_STREQ(out->hello->name, "yuelu-1 岳麓");
        CHECK(out->hello->tier == VIGIL__TIER__TIER_STATION);
        CHECK_STREQ(wire_body_name(out), "hello");
        wire_envelope_free(out);

        Vigil__Heartbeat hb = VIGIL__HEARTBEAT__INIT;
        Vigil__Envelope e2 = VIGIL__ENVELOPE__INIT;
        e2.body_case = VIGIL__ENVELOPE__BODY_HEARTBEAT;
        e2.heartbeat = &hb;
        out = roundtrip(&e2);
        CHECK_STREQ(wire_body_name(out), "heartbeat");
        wire_envelope_free(out);

        /* a Delta carrying a Change that decodes on its own */
        Vigil__Change ch = VIGIL__CHANGE__INIT;
        Vigil__NodeState ns = VIGIL__NODE_STATE__INIT;
        ch.kind_case = VIGIL__CHANGE__KIND_NODE_STATE;
        ch.node_state = &ns;
        ns.node_id = STATION;
        ns.parent_id = "43010400002000000001";
        ns.has_online = 1;
        ns.online = 1;
        uint8_t *cbuf;
        size_t clen;
        CHECK(wire_encode_change(&ch, &cbuf, &clen) == 0);
        Vigil__Delta delta = VIGIL__DELTA__INIT;
        delta.has_change = 1;
        delta.change.data = cbuf;
        delta.change.len = clen;
        Vigil__Envelope e3 = VIGIL__ENVELOPE__INIT;
        e3.has_seq = 1;
        e3.seq = 42;
        e3.body_case = VIGIL__ENVELOPE__BODY_DELTA;
        e3.delta = &delta;
        out = roundtrip(&e3);
        CHECK(out->seq == 42);
        CHECK_STREQ(wire_body_name(out), "delta");
        Vigil__Change *c = NULL;
        CHECK(wire_decode_change(out->delta->change.data, out->delta->change.len, &c, err, sizeof(err)) == 0);
        CHECK(c->kind_case == VIGIL__CHANGE__KIND_NODE_STATE);
        CHECK_STREQ(c->node_state->node_id, STATION);
        CHECK(c->node_state->online);
        wire_change_free(c);
        wire_envelope_free(out);
        free(cbuf);

        /* control request with arguments; a long JSON reply is allowed */
        Vigil__Arg a = VIGIL__ARG__INIT, *args[] = { &a };
        a.name = "id";
        a.value = STATION;
        Vigil__ControlRequest req = VIGIL__CONTROL_REQUEST__INIT;
        req.command = "node.enroll";
        req.n_args = 1;
        req.args = args;
        Vigil__Envelope e4 = VIGIL__ENVELOPE__INIT;
        e4.body_case = VIGIL__ENVELOPE__BODY_CONTROL_REQUEST;
        e4.control_request = &req;
        out = roundtrip(&e4);
        CHECK_STREQ(out->control_request->args[0]->value, STATION);
        CHECK_STREQ(wire_body_name(out), "control_request");
        wire_envelope_free(out);

        static char json[100000];
        memset(json, 'a', sizeof(json) - 1);
        Vigil__ControlReply rep = VIGIL__CONTROL_REPLY__INIT;
        rep.json = json;
        Vigil__Envelope e5 = VIGIL__ENVELOPE__INIT;
        e5.body_case = VIGIL__ENVELOPE__BODY_CONTROL_REPLY;
        e5.control_reply = &rep;
        out = roundtrip(&e5);
        CHECK(strlen(out->control_reply->json) == sizeof(json) - 1);
        wire_envelope_free(out);

        CHECK_STREQ(wire_body_name(NULL), "none");
        Vigil__Envelope empty = VIGIL__ENVELOPE__INIT;
        CHECK_STREQ(wire_body_name(&empty), "none");
}

static void test_refusals(void)
{
        Vigil__Envelope *out = (Vigil__Envelope *)0x1;
        static uint8_t big[WIRE_MAX_MESSAGE + 1];
        CHECK(wire_decode_envelope(big, sizeof(big), &out, err, sizeof(err)) == -EMSGSIZE);
        CHECK(out == (Vigil__Envelope *)0x1); /* untouched */
        CHECK(wire_decode_envelope("\xff\xff\xff", 3, &out, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "does not unpack");
        CHECK(out == (Vigil__Envelope *)0x1);

        Vigil__Envelope env = VIGIL__ENVELOPE__INIT;
        Vigil__Heartbeat hb = VIGIL__HEARTBEAT__INIT;
        env.body_case = VIGIL__ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &hb;
        CHECK(decode_raw(&env) == -EBADMSG);
        CHECK_CONTAINS(err, "no version");
        env.has_version = 1;
        env.version = 2;
        CHECK(decode_raw(&env) == -EBADMSG);
        CHECK_CONTAINS(err, "version 2");
        env.version = WIRE_VERSION;
        CHECK(decode_raw(&env) == 0);

        env.origin = "bad \xc3\x28 utf8";
        CHECK(decode_raw(&env) == -EBADMSG);
        CHECK_CONTAINS(err, "envelope.origin: not valid UTF-8");
        env.origin = "\xed\xa0\x80";           /* a surrogate */
        CHECK(decode_raw(&env) == -EBADMSG);
        env.origin = "\xc0\xaf";               /* overlong '/' */
        CHECK(decode_raw(&env) == -EBADMSG);
        env.origin = "\xe4\xb8";               /* truncated */
        CHECK(decode_raw(&env) == -EBADMSG);
        env.origin = "\xf4\x90\x80\x80";       /* above U+10FFFF */
        CHECK(decode_raw(&env) == -EBADMSG);
        env.origin = "\xf0\x9f\x98\x80 ok";
        CHECK(decode_raw(&env) == 0);
        env.origin = NULL;

        Vigil__Envelope none = VIGIL__ENVELOPE__INIT;
        none.has_version = 1;
        none.version = WIRE_VERSION;
        CHECK(decode_raw(&none) == -EBADMSG);
        CHECK_CONTAINS(err, "no body");

        /* Hello needs a well-formed node_id; tier must be known */
        Vigil__Hello hello = VIGIL__HELLO__INIT;
        Vigil__Envelope h = VIGIL__ENVELOPE__INIT;
        h.has_version = 1;
        h.version = WIRE_VERSION;
        h.body_case = VIGIL__ENVELOPE__BODY_HELLO;
        h.hello = &hello;
        CHECK(decode_raw(&h) == -EBADMSG);
        CHECK_CONTAINS(err, "hello.node_id: missing");
        hello.node_id = "4301040100200000000x";
        CHECK(decode_raw(&h) == -EBADMSG);
        CHECK_CONTAINS(err, "hello.node_id: not a 20-digit");
        hello.node_id = STATION;
        CHECK(decode_raw(&h) == 0);
        hello.has_tier = 1;
        hello.tier = (Vigil__Tier)77;
        CHECK(decode_raw(&h) == -EBADMSG);
        CHECK_CONTAINS(err, "envelope.hello.tier: unknown value 77");
        hello.tier = VIGIL__TIER__TIER_DISTRICT;
        CHECK(decode_raw(&h) == 0);

        /* strings: at most 4096 bytes */
        static char long_name[5000];
        memset(long_name, 'n', sizeof(long_name) - 1);
        hello.name = long_name;
        CHECK(decode_raw(&h) == -EBADMSG);
        CHECK_CONTAINS(err, "envelope.hello.name: 4999 bytes, more than 4096");
        long_name[4096] = '\0';
        CHECK(decode_raw(&h) == 0);
        hello.name = NULL;

        /* repeated messages are walked too */
        Vigil__Arg a = VIGIL__ARG__INIT, b = VIGIL__ARG__INIT, *args[] = { &a, &b };
        a.name = "ok";
        b.name = "\xff";
        Vigil__ControlRequest req = VIGIL__CONTROL_REQUEST__INIT;
        req.command = "status";
        req.n_args = 2;
        req.args = args;
        Vigil__Envelope c = VIGIL__ENVELOPE__INIT;
        c.has_version = 1;
        c.version = WIRE_VERSION;
        c.body_case = VIGIL__ENVELOPE__BODY_CONTROL_REQUEST;
        c.control_request = &req;
        CHECK(decode_raw(&c) == -EBADMSG);
        CHECK_CONTAINS(err, "envelope.control_request.args[1].name: not valid UTF-8");
        b.name = "fine";
        CHECK(decode_raw(&c) == 0);
        req.command = NULL;
        CHECK(decode_raw(&c) == -EBADMSG);
        CHECK_CONTAINS(err, "control_request.command: missing");

        /* Delta needs seq and change */
        Vigil__Delta delta = VIGIL__DELTA__INIT;
        Vigil__Envelope d = VIGIL__ENVELOPE__INIT;
        d.has_version = 1;
        d.version = WIRE_VERSION;
        d.body_case = VIGIL__ENVELOPE__BODY_DELTA;
        d.delta = &delta;
        delta.has_change = 1;
        CHECK(decode_raw(&d) == -EBADMSG);
        CHECK_CONTAINS(err, "no seq");
        d.has_seq = 1;
        CHECK(decode_raw(&d) == 0);
        delta.has_change = 0;
        CHECK(decode_raw(&d) == -EBADMSG);
        CHECK_CONTAINS(err, "delta.change: missing");

        /* A batch: change, then changes, at seq, seq + 1, ... */
        {
                static uint8_t bytes[WIRE_MAX_DELTA_CHANGES + 1];
                ProtobufCBinaryData many[WIRE_MAX_DELTA_CHANGES + 1];
                Vigil__Envelope *got = NULL;
                uint8_t *buf;
                size_t len, i;

                for (i = 0; i <= WIRE_MAX_DELTA_CHANGES; i++) {
                        bytes[i] = (uint8_t)i;
                        many[i].data = &bytes[i];
                        many[i].len = 1;
                }
                delta.has_change = 1;
                delta.change = many[0];
                delta.n_changes = 2;
                delta.changes = &many[1];
                CHECK(wire_encode_envelope(&d, &buf, &len) == 0);
                CHECK(wire_decode_envelope(buf, len, &got, err, sizeof(err)) == 0);
                free(buf);
                CHECK(wire_delta_count(got->delta) == 3);
                for (i = 0; i < 3; i++)
                        CHECK(wire_delta_change(got->delta, i)->len == 1 &&
                              wire_delta_change(got->delta, i)->data[0] == i);
                CHECK(wire_delta_change(got->delta, 3) == NULL);
                wire_envelope_free(got);
                delta.has_change = 0;
                delta.n_changes = WIRE_MAX_DELTA_CHANGES + 1;
                delta.changes = many;
                CHECK(decode_raw(&d) == -EBADMSG);
                CHECK_CONTAINS(err, "delta.changes: more than");
                /* Sequences that would run past 2^64. */
                delta.n_changes = 2;
                d.seq = UINT64_MAX;
                CHECK(decode_raw(&d) == -EBADMSG);
                CHECK_CONTAINS(err, "past the end");
                delta.n_changes = 0;
        }
}

static void test_budget(void)
{
        /* A SnapshotChunk of ~1.9M empty byte strings: 2 bytes each on the
         * wire but 16 bytes each unpacked, beyond WIRE_DECODE_BUDGET. */
        size_t n = 1900000, body = 2 * n, len = 0;
        uint8_t *buf = malloc(body + 16);
        CHECK(buf != NULL);
        buf[len++] = 0x08;  /* version = 1 */
        buf[len++] = 0x01;
        buf[len++] = 0x82;  /* field 16, length-delimited */
        buf[len++] = 0x01;
        for (size_t v = body; ; v >>= 7) {
                buf[len++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
                if (v < 0x80)
                        break;
        }
        for (size_t i = 0; i < n; i++) {
                buf[len++] = 0x0a;
                buf[len++] = 0x00;
        }
        CHECK(len <= WIRE_MAX_MESSAGE);
        Vigil__Envelope *out = NULL;
        CHECK(wire_decode_envelope(buf, len, &out, err, sizeof(err)) == -EBADMSG);
        CHECK(out == NULL);

        /* the same shape, small, decodes */
        size_t small = 3, slen = 0;
        uint8_t sbuf[32];
        sbuf[slen++] = 0x08; sbuf[slen++] = 0x01; sbuf[slen++] = 0x82; sbuf[slen++] = 0x01;
        sbuf[slen++] = (uint8_t)(2 * small);
        for (size_t i = 0; i < small; i++) {
                sbuf[slen++] = 0x0a;
                sbuf[slen++] = 0x00;
        }
        CHECK(wire_decode_envelope(sbuf, slen, &out, err, sizeof(err)) == 0);
        CHECK(out->snapshot_chunk->n_changes == small);
        wire_envelope_free(out);
        free(buf);
}

static void test_change_refusals(void)
{
        Vigil__Change *out = NULL;
        Vigil__Change ch = VIGIL__CHANGE__INIT;
        uint8_t *buf;
        size_t len;

        CHECK(wire_encode_change(&ch, &buf, &len) == 0);
        CHECK(wire_decode_change(buf, len, &out, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "no kind set");
        free(buf);

        Vigil__NodeState ns = VIGIL__NODE_STATE__INIT;
        ch.kind_case = VIGIL__CHANGE__KIND_NODE_STATE;
        ch.node_state = &ns;
        CHECK(wire_encode_change(&ch, &buf, &len) == 0);
        CHECK(wire_decode_change(buf, len, &out, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "change.node_state.node_id: missing");
        free(buf);

        ns.node_id = STATION;
        ns.parent_id = "12";
        CHECK(wire_encode_change(&ch, &buf, &len) == 0);
        CHECK(wire_decode_change(buf, len, &out, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "change.node_state.parent_id: not a 20-digit");
        free(buf);

        Vigil__NodeRemoved nr = VIGIL__NODE_REMOVED__INIT;
        nr.node_id = "x";
        ch.kind_case = VIGIL__CHANGE__KIND_NODE_REMOVED;
        ch.node_removed = &nr;
        CHECK(wire_encode_change(&ch, &buf, &len) == 0);
        CHECK(wire_decode_change(buf, len, &out, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "change.node_removed.node_id");
        free(buf);
        nr.node_id = STATION;
        CHECK(wire_encode_change(&ch, &buf, &len) == 0);
        CHECK(wire_decode_change(buf, len, &out, err, sizeof(err)) == 0);
        CHECK_STREQ(out->node_removed->node_id, STATION);
        wire_change_free(out);
        free(buf);

        /* A station's emergency report lists every system it probed: its
         * details may be long (10 systems were ~7 kB), up to a limit. */
        static char details[WIRE_MAX_REPORT_DETAILS + 2];
        Vigil__EmergencyReport er = VIGIL__EMERGENCY_REPORT__INIT;
        memset(details, 'x', sizeof(details) - 1);
        details[WIRE_MAX_REPORT_DETAILS] = '\0';
        er.emergency_id = "em-0123456789";
        er.station = STATION;
        er.details = details;
        ch.kind_case = VIGIL__CHANGE__KIND_EMERGENCY_REPORT;
        ch.emergency_report = &er;
        CHECK(wire_encode_change(&ch, &buf, &len) == 0);
        CHECK(wire_decode_change(buf, len, &out, err, sizeof(err)) == 0);
        CHECK(strlen(out->emergency_report->details) == WIRE_MAX_REPORT_DETAILS);
        wire_change_free(out);
        free(buf);
        details[WIRE_MAX_REPORT_DETAILS] = 'x';
        CHECK(wire_encode_change(&ch, &buf, &len) == 0);
        CHECK(wire_decode_change(buf, len, &out, err, sizeof(err)) == -EBADMSG);
        CHECK_CONTAINS(err, "change.emergency_report.details: 1048577 bytes, more than 1048576");
        free(buf);

        static uint8_t big[WIRE_MAX_MESSAGE + 1];
        CHECK(wire_decode_change(big, sizeof(big), &out, err, sizeof(err)) == -EMSGSIZE);
}

int main(void)
{
        RUN(test_roundtrip_bodies);
        RUN(test_refusals);
        RUN(test_budget);
        RUN(test_change_refusals);
        return 0;
}

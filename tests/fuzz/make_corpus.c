/* Writes the seed corpus for fuzz_envelope: one valid Envelope of every body
 * type, Deltas and SnapshotChunks carrying each kind of Change, and a few
 * broken inputs. Its output is committed under corpus/envelope/; rerun it
 * after adding a body type:
 *   ninja -C build tests/fuzz/make_corpus
 *   build/tests/fuzz/make_corpus tests/fuzz/corpus/envelope */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

#define CITY    "43010000002000000001"
#define YUELU   "43010400002000000001"
#define YUELU_1 "43010401002000000001"

static const char *outdir;

static void write_bytes(const char *name, const void *data, size_t len)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", outdir, name);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
                perror(path);
                exit(1);
        }
}

static void emit(const char *name, Vigil__Envelope *env)
{
        uint8_t *buf;
        size_t len;
        if (wire_encode_envelope(env, &buf, &len) != 0) {
                fprintf(stderr, "%s: encode failed\n", name);
                exit(1);
        }
        write_bytes(name, buf, len);
        free(buf);
}

static ProtobufCBinaryData pack_change(const Vigil__Change *c)
{
        ProtobufCBinaryData b;
        if (wire_encode_change(c, &b.data, &b.len) != 0)
                exit(1);
        return b;
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: make_corpus DIR\n");
                return 2;
        }
        outdir = argv[1];

#define ENV(var, body_enum, field, value) \
        Vigil__Envelope var = VIGIL__ENVELOPE__INIT; \
        var.origin = YUELU_1; \
        var.body_case = body_enum; \
        var.field = value

        Vigil__Hello hello = VIGIL__HELLO__INIT;
        hello.node_id = YUELU_1;
        hello.has_tier = 1;
        hello.tier = VIGIL__TIER__TIER_STATION;
        hello.name = "yuelu-1";
        hello.software = "vigild 0.1.0";
        hello.epoch = "6f1c2a9e";
        hello.has_last_applied_down = 1;
        hello.last_applied_down = 17;
        hello.parent_epoch = "a1b2";
        ENV(e_hello, VIGIL__ENVELOPE__BODY_HELLO, hello, &hello);
        emit("hello", &e_hello);

        Vigil__Welcome welcome = VIGIL__WELCOME__INIT;
        welcome.node_id = YUELU;
        welcome.has_tier = 1;
        welcome.tier = VIGIL__TIER__TIER_DISTRICT;
        welcome.name = "yuelu";
        welcome.has_last_applied_up = 1;
        welcome.last_applied_up = 99;
        welcome.has_has_up_state = 1;
        welcome.has_up_state = 1;
        welcome.epoch = "a1b2";
        welcome.has_heartbeat_ms = 1;
        welcome.heartbeat_ms = 1000;
        ENV(e_welcome, VIGIL__ENVELOPE__BODY_WELCOME, welcome, &welcome);
        e_welcome.origin = YUELU;
        emit("welcome", &e_welcome);

        Vigil__Heartbeat hb = VIGIL__HEARTBEAT__INIT;
        hb.has_sent_at_us = 1;
        hb.sent_at_us = 1764331200123456ull;
        ENV(e_hb, VIGIL__ENVELOPE__BODY_HEARTBEAT, heartbeat, &hb);
        emit("heartbeat", &e_hb);

        Vigil__Ack ack = VIGIL__ACK__INIT;
        ack.has_seq = 1;
        ack.seq = 1000;
        ENV(e_ack, VIGIL__ENVELOPE__BODY_ACK, ack, &ack);
        emit("ack", &e_ack);

        Vigil__ResendRequest rr = VIGIL__RESEND_REQUEST__INIT;
        rr.has_from_seq = 1;
        rr.from_seq = 12;
        ENV(e_rr, VIGIL__ENVELOPE__BODY_RESEND_REQUEST, resend_request, &rr);
        emit("resend_request", &e_rr);

        Vigil__NodeState ns = VIGIL__NODE_STATE__INIT;
        ns.node_id = YUELU_1;
        ns.parent_id = YUELU;
        ns.has_tier = 1;
        ns.tier = VIGIL__TIER__TIER_STATION;
        ns.name = "yuelu-1";
        ns.has_online = 1;
        ns.online = 1;
        ns.has_last_seen_us = 1;
        ns.last_seen_us = 1764331200000000ll;
        ns.has_version = 1;
        ns.version = 7;
        Vigil__Change c_state = VIGIL__CHANGE__INIT;
        c_state.kind_case = VIGIL__CHANGE__KIND_NODE_STATE;
        c_state.node_state = &ns;

        Vigil__NodeRemoved nr = VIGIL__NODE_REMOVED__INIT;
        nr.node_id = "43010402002000000001";
        nr.has_version = 1;
        nr.version = 8;
        Vigil__Change c_removed = VIGIL__CHANGE__INIT;
        c_removed.kind_case = VIGIL__CHANGE__KIND_NODE_REMOVED;
        c_removed.node_removed = &nr;

        Vigil__Delta delta = VIGIL__DELTA__INIT;
        delta.has_change = 1;
        delta.change = pack_change(&c_state);
        ENV(e_delta, VIGIL__ENVELOPE__BODY_DELTA, delta, &delta);
        e_delta.has_seq = 1;
        e_delta.seq = 18;
        emit("delta_node_state", &e_delta);
        free(delta.change.data);
        delta.change = pack_change(&c_removed);
        e_delta.seq = 19;
        emit("delta_node_removed", &e_delta);
        /* a batch: change, then changes */
        {
                ProtobufCBinaryData more[2] = { pack_change(&c_state), pack_change(&c_removed) };
                delta.n_changes = 2;
                delta.changes = more;
                e_delta.seq = 20;
                emit("delta_batch", &e_delta);
                delta.n_changes = 0;
                delta.changes = NULL;
                free(more[0].data);
                free(more[1].data);
        }
        free(delta.change.data);

        /* a signed checkpoint of the access log (the bytes need not verify:
         * the decoder checks shape, vigilctl the signature) */
        {
                uint8_t hash[32], sig[64];
                Vigil__AuditCheckpoint cp = VIGIL__AUDIT_CHECKPOINT__INIT;
                Vigil__Change c_cp = VIGIL__CHANGE__INIT;
                memset(hash, 0xab, sizeof(hash));
                memset(sig, 0xcd, sizeof(sig));
                cp.node_id = YUELU_1;
                cp.has_seq = cp.has_hash = cp.has_signed_at_us = cp.has_signature = 1;
                cp.seq = 3;
                cp.hash.data = hash;
                cp.hash.len = sizeof(hash);
                cp.signed_at_us = 1764331200000000ll;
                cp.signature.data = sig;
                cp.signature.len = sizeof(sig);
                c_cp.kind_case = VIGIL__CHANGE__KIND_AUDIT_CHECKPOINT;
                c_cp.audit_checkpoint = &cp;
                delta.change = pack_change(&c_cp);
                e_delta.seq = 21;
                emit("delta_audit_checkpoint", &e_delta);
                free(delta.change.data);
        }

        /* a Delta whose Change is broken (no kind): the envelope is fine */
        Vigil__Change c_empty = VIGIL__CHANGE__INIT;
        delta.change = pack_change(&c_empty);
        emit("delta_change_without_kind", &e_delta);
        free(delta.change.data);

        Vigil__SnapshotBegin sb = VIGIL__SNAPSHOT_BEGIN__INIT;
        sb.has_seq = 1;
        sb.seq = 17;
        sb.epoch = "6f1c2a9e";
        sb.has_items = 1;
        sb.items = 2;
        ENV(e_sb, VIGIL__ENVELOPE__BODY_SNAPSHOT_BEGIN, snapshot_begin, &sb);
        emit("snapshot_begin", &e_sb);

        ProtobufCBinaryData chunks[2] = { pack_change(&c_state), pack_change(&c_removed) };
        Vigil__SnapshotChunk sc = VIGIL__SNAPSHOT_CHUNK__INIT;
        sc.n_changes = 2;
        sc.changes = chunks;
        ENV(e_sc, VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK, snapshot_chunk, &sc);
        emit("snapshot_chunk", &e_sc);
        free(chunks[0].data);
        free(chunks[1].data);

        Vigil__SnapshotEnd se = VIGIL__SNAPSHOT_END__INIT;
        se.has_seq = 1;
        se.seq = 17;
        se.has_items = 1;
        se.items = 2;
        ENV(e_se, VIGIL__ENVELOPE__BODY_SNAPSHOT_END, snapshot_end, &se);
        emit("snapshot_end", &e_se);

        Vigil__Error er = VIGIL__ERROR__INIT;
        er.has_code = 1;
        er.code = 403;
        er.message = "refused: at least two officers";
        er.article = "Art 20(1)";
        ENV(e_er, VIGIL__ENVELOPE__BODY_ERROR, error, &er);
        emit("error", &e_er);

        Vigil__Arg a1 = VIGIL__ARG__INIT, a2 = VIGIL__ARG__INIT, a3 = VIGIL__ARG__INIT;
        Vigil__Arg *args[] = { &a1, &a2, &a3 };
        a1.name = "id";
        a1.value = "43010402002000000001";
        a2.name = "public-key";
        a2.value = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
        a3.name = "name";
        a3.value = "yuelu-2";
        Vigil__ControlRequest req = VIGIL__CONTROL_REQUEST__INIT;
        req.has_request_id = 1;
        req.request_id = 5;
        req.command = "node.enroll";
        req.n_args = 3;
        req.args = args;
        ENV(e_req, VIGIL__ENVELOPE__BODY_CONTROL_REQUEST, control_request, &req);
        e_req.origin = "admin";
        emit("control_request", &e_req);

        Vigil__ControlReply rep = VIGIL__CONTROL_REPLY__INIT;
        rep.has_request_id = 1;
        rep.request_id = 5;
        rep.has_status = 1;
        rep.status = 0;
        rep.json = "{\"id\":\"43010402002000000001\"}";
        ENV(e_rep, VIGIL__ENVELOPE__BODY_CONTROL_REPLY, control_reply, &rep);
        e_rep.origin = YUELU;
        emit("control_reply", &e_rep);

        /* Broken inputs the decoder must refuse without harm. */
        write_bytes("broken_empty", "", 0);
        write_bytes("broken_garbage", "\xff\xff\xff\xff\x0f", 5);
        {
                uint8_t *buf;
                size_t len;
                if (wire_encode_envelope(&e_hello, &buf, &len) != 0)
                        return 1;
                write_bytes("broken_truncated_hello", buf, len / 2);
                buf[1] = 9; /* version 9 */
                write_bytes("broken_version", buf, len);
                free(buf);
        }
        hello.node_id = "4301040100200000000\xff";
        emit("broken_hello_node_id_utf8", &e_hello);
        hello.node_id = YUELU_1;
        hello.tier = (Vigil__Tier)9;
        emit("broken_hello_tier", &e_hello);
        Vigil__Envelope e_none = VIGIL__ENVELOPE__INIT;
        emit("broken_no_body", &e_none);
        /* a length prefix that claims far more than there is */
        write_bytes("broken_length", "\x08\x01\x82\x01\xff\xff\xff\xff\x07\x0a\x00", 11);
        return 0;
}

/* Fuzz target for the network decoders: every byte string a peer can send
 * goes through wire_decode_envelope(); the Change payloads of Delta
 * (`change`, and `changes[]`, the field the link sends: issue 17, harness
 * item 4) and SnapshotChunk bodies through wire_decode_change(), as a
 * receiver would. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const Vigil__Envelope *env)
{
        /* What a receiver does next: name the body for a log line. */
        const char *name = wire_body_name(env);
        if (!name || !*name)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        Vigil__Envelope *env = NULL;
        char err[256];

        if (wire_decode_envelope(data, size, &env, err, sizeof(err)) < 0) {
                if (env)
                        abort(); /* failure must leave *ret untouched */
                return 0;
        }
        touch(env);
        if (env->body_case == VIGIL__ENVELOPE__BODY_DELTA && env->delta) {
                Vigil__Change *c = NULL;
                if (env->delta->has_change &&
                    wire_decode_change(env->delta->change.data, env->delta->change.len, &c, err, sizeof(err)) == 0)
                        wire_change_free(c);
                for (size_t i = 0; i < env->delta->n_changes; i++) {
                        ProtobufCBinaryData *b = &env->delta->changes[i];
                        c = NULL;
                        if (wire_decode_change(b->data, b->len, &c, err, sizeof(err)) == 0) {
                                /* A change that decodes re-encodes (the relay forwards it). */
                                uint8_t *cb;
                                size_t cl;
                                if (wire_encode_change(c, &cb, &cl) == 0)
                                        free(cb);
                                wire_change_free(c);
                        } else if (c) {
                                abort();
                        }
                }
        } else if (env->body_case == VIGIL__ENVELOPE__BODY_SNAPSHOT_CHUNK && env->snapshot_chunk) {
                for (size_t i = 0; i < env->snapshot_chunk->n_changes; i++) {
                        Vigil__Change *c = NULL;
                        ProtobufCBinaryData *b = &env->snapshot_chunk->changes[i];
                        if (wire_decode_change(b->data, b->len, &c, err, sizeof(err)) == 0)
                                wire_change_free(c);
                }
        }
        /* A relaying node re-packs what it received: that must work too. */
        uint8_t *buf;
        size_t len;
        if (wire_encode_envelope(env, &buf, &len) == 0)
                free(buf);
        wire_envelope_free(env);
        return 0;
}

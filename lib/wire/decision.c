#include "wire/decision.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char decision_context[] = "vigil decision v1";

static const ProtobufCFieldDescriptor *decision_field(const ProtobufCMessage *m, const char *name,
                                                      ProtobufCType type)
{
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);

        if (!f || f->type != type || f->label != PROTOBUF_C_LABEL_OPTIONAL)
                return NULL;
        return f;
}

/* Clear field F of M (a shallow copy: nothing is freed). */
static void decision_clear(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
        char *base = (char *)m;

        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                *(size_t *)(base + f->quantifier_offset) = 0;
                *(void **)(base + f->offset) = NULL;
                return;
        }
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                if (*(uint32_t *)(base + f->quantifier_offset) == f->id)
                        *(uint32_t *)(base + f->quantifier_offset) = 0;
                return;
        }
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING:
        case PROTOBUF_C_TYPE_MESSAGE:
                *(void **)(base + f->offset) = NULL;
                break;
        case PROTOBUF_C_TYPE_BYTES:
                memset(base + f->offset, 0, sizeof(ProtobufCBinaryData));
                __attribute__((fallthrough));   /* and the has_ flag */
        default:
                if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
                        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 0;
                break;
        }
}

/* The bytes signed for M as SIGNER (caller frees *RET). */
static int decision_message(const ProtobufCMessage *m, const char *signer, const char *const *unsigned_fields,
                            uint8_t **ret, size_t *ret_len)
{
        const ProtobufCMessageDescriptor *desc = m->descriptor;
        const ProtobufCFieldDescriptor *fs = decision_field(m, "signer", PROTOBUF_C_TYPE_STRING);
        const ProtobufCFieldDescriptor *fg = decision_field(m, "signature", PROTOBUF_C_TYPE_BYTES);
        size_t cl = sizeof(decision_context), tl = strlen(desc->name), sl = strlen(signer), pl, n = 0;
        ProtobufCMessage *copy;
        uint8_t *buf;
        size_t k;

        if (!fs || !fg)
                return -EINVAL;
        copy = malloc(desc->sizeof_message);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, m, desc->sizeof_message);
        decision_clear(copy, fs);
        decision_clear(copy, fg);
        for (k = 0; unsigned_fields && unsigned_fields[k]; k++) {
                const ProtobufCFieldDescriptor *f =
                        protobuf_c_message_descriptor_get_field_by_name(desc, unsigned_fields[k]);
                if (!f) {
                        free(copy);
                        return -EINVAL;
                }
                decision_clear(copy, f);
        }
        pl = protobuf_c_message_get_packed_size(copy);
        buf = malloc(cl + tl + 1 + sl + 1 + pl);
        if (!buf) {
                free(copy);
                return -ENOMEM;
        }
        memcpy(buf, decision_context, cl);      /* with its NUL */
        n = cl;
        memcpy(buf + n, desc->name, tl);
        n += tl;
        buf[n++] = 0;
        memcpy(buf + n, signer, sl);
        n += sl;
        buf[n++] = 0;
        n += protobuf_c_message_pack(copy, buf + n);
        free(copy);
        *ret = buf;
        *ret_len = n;
        return 0;
}

int decision_sign(ProtobufCMessage *m, const char *signer, const uint8_t secret_key[64],
                  uint8_t ret_sig[DECISION_SIG_LEN], const char *const *unsigned_fields)
{
        const ProtobufCFieldDescriptor *fs = decision_field(m, "signer", PROTOBUF_C_TYPE_STRING);
        const ProtobufCFieldDescriptor *fg = decision_field(m, "signature", PROTOBUF_C_TYPE_BYTES);
        char *base = (char *)m;
        ProtobufCBinaryData *sig;
        uint8_t *msg;
        size_t len;
        int r;

        if (!fs || !fg || !signer || !*signer)
                return -EINVAL;
        r = decision_message(m, signer, unsigned_fields, &msg, &len);
        if (r < 0)
                return r;
        r = crypto_sign_detached(ret_sig, NULL, msg, len, secret_key) == 0 ? 0 : -EINVAL;
        free(msg);
        if (r < 0)
                return r;
        *(const char **)(base + fs->offset) = signer;
        sig = (ProtobufCBinaryData *)(base + fg->offset);
        sig->data = ret_sig;
        sig->len = DECISION_SIG_LEN;
        *(protobuf_c_boolean *)(base + fg->quantifier_offset) = 1;
        return 0;
}

const char *decision_signer(const ProtobufCMessage *m)
{
        const ProtobufCFieldDescriptor *fs = decision_field(m, "signer", PROTOBUF_C_TYPE_STRING);
        const char *s;

        if (!fs)
                return NULL;
        s = *(const char *const *)((const char *)m + fs->offset);
        return s && *s ? s : NULL;
}

int decision_verify(const ProtobufCMessage *m, const uint8_t public_key[32], const char *const *unsigned_fields)
{
        const ProtobufCFieldDescriptor *fg = decision_field(m, "signature", PROTOBUF_C_TYPE_BYTES);
        const char *signer = decision_signer(m);
        const ProtobufCBinaryData *sig;
        uint8_t *msg;
        size_t len;
        bool has;
        int r;

        if (!fg)
                return -EINVAL;
        sig = (const ProtobufCBinaryData *)((const char *)m + fg->offset);
        has = *(const protobuf_c_boolean *)((const char *)m + fg->quantifier_offset);
        if (!signer || !has || sig->len != DECISION_SIG_LEN || !sig->data)
                return -ENOMSG;
        r = decision_message(m, signer, unsigned_fields, &msg, &len);
        if (r < 0)
                return r;
        r = crypto_sign_verify_detached(sig->data, msg, len, public_key) == 0 ? 0 : -EBADMSG;
        free(msg);
        return r;
}

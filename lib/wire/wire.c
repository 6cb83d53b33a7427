/* wire: packing and checked unpacking of Envelope and Change.
 *
 * Decoding is three steps: refuse oversized input before touching it,
 * unpack with an allocator that fails once the message has used its memory
 * budget (a hostile length-prefixed repeated field could otherwise make
 * protobuf-c allocate far more than the input size), then check what
 * protobuf-c does not: UTF-8 and length of every string, enum values,
 * required fields and well-formed node IDs. The string/enum walk follows the
 * message descriptors, so fields added to vigil.proto later are checked
 * without touching this file; only the per-body rules below are by hand. */
#include "wire/wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/nodeid.h"

/* Longest string field, in bytes, unless listed in long_fields. */
#define WIRE_MAX_STRING 4096

/* String fields that carry documents rather than names: a control reply's
 * JSON (a tree or camera list), a control argument (an imported CSV), and
 * a station's emergency report (one object per system it probed). */
static const struct {
        const ProtobufCMessageDescriptor *msg;
        const char *field;
        size_t max;
} long_fields[] = {
        { &vigil__control_reply__descriptor, "json", WIRE_MAX_MESSAGE },
        { &vigil__arg__descriptor, "value", WIRE_MAX_MESSAGE },
        { &vigil__emergency_report__descriptor, "details", WIRE_MAX_REPORT_DETAILS },
};

struct budget {
        size_t used;
};

static void *budget_alloc(void *data, size_t size)
{
        struct budget *b = data;
        if (size > WIRE_DECODE_BUDGET - b->used)
                return NULL;
        b->used += size;
        return malloc(size);
}

static void budget_free(void *data, void *ptr)
{
        free(ptr);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
        if (err && errlen > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return -EBADMSG;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
        size_t i = 0;
        while (i < len) {
                unsigned c = s[i];
                size_t n;
                uint32_t cp;
                if (c < 0x80) { i++; continue; }
                if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
                else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
                else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
                else return false;
                if (i + n >= len)
                        return false;
                for (size_t k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return false;
                i += n + 1;
        }
        return true;
}

static size_t string_limit(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f)
{
        for (size_t i = 0; i < sizeof(long_fields) / sizeof(long_fields[0]); i++)
                if (long_fields[i].msg == d && strcmp(long_fields[i].field, f->name) == 0)
                        return long_fields[i].max;
        return WIRE_MAX_STRING;
}

static bool field_present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
        const char *base = (const char *)m;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
                return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
            (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE))
                return *(void *const *)(base + f->offset) != NULL;
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL)
                return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
        return true;
}

static int check_value(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                       const void *value, const char *path, char *err, size_t errlen, int depth);

/* Walk M's fields: strings bounded UTF-8, enums known, sub-messages too. */
static int check_message(const ProtobufCMessage *m, const char *path, char *err, size_t errlen, int depth)
{
        const ProtobufCMessageDescriptor *d = m->descriptor;
        const char *base = (const char *)m;
        int r;

        if (depth > 8) /* vigil.proto has no recursive types; be safe anyway */
                return fail(err, errlen, "%s: nested too deeply", path);
        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                char sub[160];
                if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE &&
                    f->type != PROTOBUF_C_TYPE_ENUM)
                        continue;
                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(const size_t *)(base + f->quantifier_offset);
                        const char *arr = *(const char *const *)(base + f->offset);
                        size_t elem = f->type == PROTOBUF_C_TYPE_ENUM ? sizeof(int) : sizeof(void *);
                        for (size_t k = 0; k < n; k++) {
                                snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, f->name, k);
                                if ((r = check_value(d, f, arr + k * elem, sub, err, errlen, depth)) < 0)
                                        return r;
                        }
                } else if (field_present(m, f)) {
                        snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
                        if ((r = check_value(d, f, base + f->offset, sub, err, errlen, depth)) < 0)
                                return r;
                }
        }
        return 0;
}

static int check_value(const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                       const void *value, const char *path, char *err, size_t errlen, int depth)
{
        switch (f->type) {
        case PROTOBUF_C_TYPE_STRING: {
                const char *s = *(const char *const *)value;
                if (!s)
                        return 0;
                size_t len = strlen(s), max = string_limit(d, f);
                if (len > max)
                        return fail(err, errlen, "%s: %zu bytes, more than %zu", path, len, max);
                if (!utf8_valid((const unsigned char *)s, len))
                        return fail(err, errlen, "%s: not valid UTF-8", path);
                return 0;
        }
        case PROTOBUF_C_TYPE_ENUM: {
                int v = *(const int *)value;
                if (!protobuf_c_enum_descriptor_get_value(f->descriptor, v))
                        return fail(err, errlen, "%s: unknown value %d", path, v);
                return 0;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
                const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)value;
                return sub ? check_message(sub, path, err, errlen, depth + 1) : 0;
        }
        default:
                return 0;
        }
}

static int require_nodeid(const char *id, const char *path, bool required, char *err, size_t errlen)
{
        if (!id || !*id)
                return required ? fail(err, errlen, "%s: missing", path) : 0;
        if (!nodeid_is_wellformed(id))
                return fail(err, errlen, "%s: not a 20-digit GB/T 28181 ID", path);
        return 0;
}

/* Per-body rules beyond types: what a receiver may rely on being there. */
static int check_body(const Vigil__Envelope *e, char *err, size_t errlen)
{
        switch (e->body_case) {
        case VIGIL__ENVELOPE__BODY_HELLO:
                if (!e->hello)
                        break;
                return require_nodeid(e->hello->node_id, "hello.node_id", true, err, errlen);
        case VIGIL__ENVELOPE__BODY_WELCOME:
                if (!e->welcome)
                        break;
                return require_nodeid(e->welcome->node_id, "welcome.node_id", true, err, errlen);
        case VIGIL__ENVELOPE__BODY_DELTA:
                if (!e->delta)
                        break;
                if (!e->has_seq)
                        return fail(err, errlen, "delta: envelope has no seq");
                if (!e->delta->has_change && e->delta->n_changes == 0)
                        return fail(err, errlen, "delta.change: missing");
                if (e->delta->n_changes > WIRE_MAX_DELTA_CHANGES)
                        return fail(err, errlen, "delta.changes: more than %d", WIRE_MAX_DELTA_CHANGES);
                if (e->seq > UINT64_MAX - wire_delta_count(e->delta))
                        return fail(err, errlen, "delta: sequences past the end of the range");
                return 0;
        case VIGIL__ENVELOPE__BODY_CONTROL_REQUEST:
                if (!e->control_request)
                        break;
                if (!e->control_request->command || !*e->control_request->command)
                        return fail(err, errlen, "control_request.command: missing");
                return 0;
        case VIGIL__ENVELOPE__BODY_VIEW_REQUEST:
                if (!e->view_request)
                        break;
                if (!e->view_request->has_request_id || !e->view_request->officer || !e->view_request->action)
                        return fail(err, errlen, "view_request: request_id, officer and action are required");
                return require_nodeid(e->view_request->camera, "view_request.camera", true, err, errlen);
        case VIGIL__ENVELOPE__BODY_VIEW_REPLY:
                if (!e->view_reply)
                        break;
                if (!e->view_reply->has_request_id)
                        return fail(err, errlen, "view_reply.request_id: missing");
                return 0;
        case VIGIL__ENVELOPE__BODY__NOT_SET:
                /* A body this version does not know (a newer peer's?) is not
                 * garbage: say so, so that it is counted apart. */
                if (e->base.n_unknown_fields > 0) {
                        fail(err, errlen, "unknown body (field %u), not known to this version",
                             e->base.unknown_fields[0].tag);
                        return -ENOTSUP;
                }
                return fail(err, errlen, "no body");
        default:
                return 0;
        }
        return fail(err, errlen, "%s: body missing", wire_body_name(e));
}

int wire_decode_envelope(const void *buf, size_t len, Vigil__Envelope **ret,
                         char *err, size_t errlen)
{
        struct budget b = { 0 };
        ProtobufCAllocator alloc = { budget_alloc, budget_free, &b };
        Vigil__Envelope *e;
        int r;

        if (len > WIRE_MAX_MESSAGE) {
                if (err && errlen)
                        snprintf(err, errlen, "envelope of %zu bytes, more than %d", len, WIRE_MAX_MESSAGE);
                return -EMSGSIZE;
        }
        e = vigil__envelope__unpack(&alloc, len, buf);
        if (!e)
                return fail(err, errlen, b.used > WIRE_DECODE_BUDGET / 2 ?
                            "envelope does not unpack within the memory budget" :
                            "envelope does not unpack (malformed protobuf)");
        if (!e->has_version)
                r = fail(err, errlen, "envelope has no version");
        else if (e->version != WIRE_VERSION)
                r = fail(err, errlen, "envelope version %u, expected %d", e->version, WIRE_VERSION);
        else if ((r = check_message(&e->base, "envelope", err, errlen, 0)) == 0)
                r = check_body(e, err, errlen);
        if (r < 0) {
                wire_envelope_free(e);
                return r;
        }
        *ret = e;
        return 0;
}

void wire_envelope_free(Vigil__Envelope *env)
{
        /* budget_alloc() hands out plain malloc() blocks, so the default
         * allocator frees them. */
        if (env)
                vigil__envelope__free_unpacked(env, NULL);
}

static int check_change(const Vigil__Change *c, char *err, size_t errlen)
{
        int r;
        if ((r = check_message(&c->base, "change", err, errlen, 0)) < 0)
                return r;
        switch (c->kind_case) {
        case VIGIL__CHANGE__KIND_NODE_STATE:
                if (!c->node_state)
                        break;
                if ((r = require_nodeid(c->node_state->node_id, "change.node_state.node_id",
                                        true, err, errlen)) < 0)
                        return r;
                /* The city's state has no parent. */
                return require_nodeid(c->node_state->parent_id, "change.node_state.parent_id",
                                      false, err, errlen);
        case VIGIL__CHANGE__KIND_NODE_REMOVED:
                if (!c->node_removed)
                        break;
                return require_nodeid(c->node_removed->node_id, "change.node_removed.node_id",
                                      true, err, errlen);
        case VIGIL__CHANGE__KIND_AUDIT_CHECKPOINT:
                if (!c->audit_checkpoint)
                        break;
                if ((r = require_nodeid(c->audit_checkpoint->node_id, "change.audit_checkpoint.node_id",
                                        true, err, errlen)) < 0)
                        return r;
                if (!c->audit_checkpoint->has_seq || c->audit_checkpoint->seq < 1 ||
                    !c->audit_checkpoint->has_signed_at_us || !c->audit_checkpoint->has_hash ||
                    c->audit_checkpoint->hash.len != 32 || !c->audit_checkpoint->has_signature ||
                    c->audit_checkpoint->signature.len != 64)
                        return fail(err, errlen, "change.audit_checkpoint: seq, signed_at_us, a 32-byte hash and "
                                    "a 64-byte signature are required");
                return 0;
        case VIGIL__CHANGE__KIND__NOT_SET:
                /* A kind newer than this build (its field is among the
                 * unknown ones): the kinds' table decides, forwarding it
                 * or refusing it (delivery/change.c; issue 17). */
                if (c->base.n_unknown_fields > 0)
                        return 0;
                return fail(err, errlen, "change: no kind set");
        default:
                return 0;
        }
        return fail(err, errlen, "change: kind body missing");
}

int wire_decode_change(const void *buf, size_t len, Vigil__Change **ret,
                       char *err, size_t errlen)
{
        struct budget b = { 0 };
        ProtobufCAllocator alloc = { budget_alloc, budget_free, &b };
        Vigil__Change *c;
        int r;

        if (len > WIRE_MAX_MESSAGE) {
                if (err && errlen)
                        snprintf(err, errlen, "change of %zu bytes, more than %d", len, WIRE_MAX_MESSAGE);
                return -EMSGSIZE;
        }
        c = vigil__change__unpack(&alloc, len, buf);
        if (!c)
                return fail(err, errlen, "change does not unpack (malformed protobuf or over budget)");
        if ((r = check_change(c, err, errlen)) < 0) {
                wire_change_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

void wire_change_free(Vigil__Change *c)
{
        if (c)
                vigil__change__free_unpacked(c, NULL);
}

int wire_encode_envelope(Vigil__Envelope *env, uint8_t **ret_buf, size_t *ret_len)
{
        env->has_version = 1;
        env->version = WIRE_VERSION;
        size_t n = vigil__envelope__get_packed_size(env);
        if (n > WIRE_MAX_MESSAGE)
                return -EMSGSIZE;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        *ret_len = vigil__envelope__pack(env, buf);
        *ret_buf = buf;
        return 0;
}

int wire_encode_change(const Vigil__Change *c, uint8_t **ret_buf, size_t *ret_len)
{
        size_t n = vigil__change__get_packed_size(c);
        if (n > WIRE_MAX_MESSAGE)
                return -EMSGSIZE;
        uint8_t *buf = malloc(n ? n : 1);
        if (!buf)
                return -ENOMEM;
        *ret_len = vigil__change__pack(c, buf);
        *ret_buf = buf;
        return 0;
}

const char *wire_body_name(const Vigil__Envelope *env)
{
        if (!env || env->body_case == VIGIL__ENVELOPE__BODY__NOT_SET)
                return "none";
        const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field(&vigil__envelope__descriptor, env->body_case);
        return f ? f->name : "unknown";
}

size_t wire_delta_count(const Vigil__Delta *d)
{
        return (d->has_change ? 1 : 0) + d->n_changes;
}

const ProtobufCBinaryData *wire_delta_change(const Vigil__Delta *d, size_t i)
{
        if (d->has_change) {
                if (i == 0)
                        return &d->change;
                i--;
        }
        return i < d->n_changes ? &d->changes[i] : NULL;
}

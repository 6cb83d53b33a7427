/* wire: the only place where Envelope and Change bytes are packed and
 * unpacked. Every decode is of untrusted bytes: size-limited, unpacked with a
 * budgeted allocator (hostile input cannot balloon memory), and checked after
 * unpacking (version, strings are UTF-8 and bounded, IDs well-formed where
 * present, exactly one body). Fuzzed by tests/fuzz/fuzz_envelope.c. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "vigil.pb-c.h"

#define WIRE_VERSION 1
/* Largest Envelope accepted; sockets also set ZMQ_MAXMSGSIZE to this. */
#define WIRE_MAX_MESSAGE (4 * 1024 * 1024)
/* Memory budget for unpacking one message. */
#define WIRE_DECODE_BUDGET (16 * 1024 * 1024)
/* Most changes one Delta may carry. */
#define WIRE_MAX_DELTA_CHANGES 4096
/* An emergency report's details: ~700 bytes per system probed, so some
 * 1,500 private systems at one station. */
#define WIRE_MAX_REPORT_DETAILS (1024 * 1024)

/** Decode LEN bytes into a newly allocated Envelope and check it. On success
 *  *RET owns the result: free it with wire_envelope_free(). On failure returns
 *  -EMSGSIZE (too big), -ENOTSUP (a body this version does not know),
 *  -EBADMSG (does not unpack or fails a check; ERR says which), and leaves
 *  *RET untouched. */
int wire_decode_envelope(const void *buf, size_t len, Vigil__Envelope **ret,
                         char *err, size_t errlen);
void wire_envelope_free(Vigil__Envelope *env);

/** Same for a Change (the payload of Delta and SnapshotChunk). */
int wire_decode_change(const void *buf, size_t len, Vigil__Change **ret,
                       char *err, size_t errlen);
void wire_change_free(Vigil__Change *c);

/** Pack ENV (setting version = WIRE_VERSION) into a malloc'd buffer; caller
 *  owns *RET_BUF. Returns 0 or -ENOMEM. */
int wire_encode_envelope(Vigil__Envelope *env, uint8_t **ret_buf, size_t *ret_len);
/** Pack a Change into a malloc'd buffer; caller owns *RET_BUF. */
int wire_encode_change(const Vigil__Change *c, uint8_t **ret_buf, size_t *ret_len);

/** How many changes Delta D carries (at sequences seq, seq + 1, ...). */
size_t wire_delta_count(const Vigil__Delta *d);
/** The I-th of them (borrowed from D), NULL past the end. */
const ProtobufCBinaryData *wire_delta_change(const Vigil__Delta *d, size_t i);

/** Name of the envelope's body ("hello", "delta", ...), "none" if unset. */
const char *wire_body_name(const Vigil__Envelope *env);

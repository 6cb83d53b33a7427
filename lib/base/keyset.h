/* keyset: which keys a stream has shown, and on which line each first
 * appeared, in little memory: an import of a million rows must find the
 * row whose ID repeats one a hundred thousand lines up, without keeping
 * the file. Keys are kept as keyed 64-bit hashes (SipHash, a random key per
 * set, so a file cannot be made to collide), 16 bytes a key. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct keyset;

/** A new, empty set. Caller owns it (keyset_free). NULL if out of memory. */
struct keyset *keyset_new(void);
void keyset_free(struct keyset *ks);

/** Add KEY first seen on LINE. Returns 0 if KEY is new, else the line it
 *  was first added on (KEY is not added again); -ENOMEM. */
long keyset_add(struct keyset *ks, const char *key, long line);
/** Number of keys held. */
size_t keyset_count(const struct keyset *ks);

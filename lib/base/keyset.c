#include "base/keyset.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing, linear probing; hash 0 marks an empty slot. */
struct keyset {
        uint64_t *hash;
        long *line;
        size_t cap, n;     /* cap is a power of two */
        uint8_t key[crypto_shorthash_KEYBYTES];
};

struct keyset *keyset_new(void)
{
        struct keyset *ks = calloc(1, sizeof(*ks));

        if (!ks || sodium_init() < 0) {
                free(ks);
                return NULL;
        }
        crypto_shorthash_keygen(ks->key);
        return ks;
}

void keyset_free(struct keyset *ks)
{
        if (!ks)
                return;
        free(ks->hash);
        free(ks->line);
        free(ks);
}

size_t keyset_count(const struct keyset *ks)
{
        return ks->n;
}

static uint64_t keyset_hash(const struct keyset *ks, const char *key)
{
        uint8_t out[crypto_shorthash_BYTES];
        uint64_t h;

        crypto_shorthash(out, (const unsigned char *)key, strlen(key), ks->key);
        memcpy(&h, out, sizeof(h));
        return h ? h : 1;
}

/* The slot holding H, or the empty slot where it goes. */
static size_t keyset_slot(const struct keyset *ks, uint64_t h)
{
        size_t i = (size_t)h & (ks->cap - 1);

        while (ks->hash[i] && ks->hash[i] != h)
                i = (i + 1) & (ks->cap - 1);
        return i;
}

static int keyset_grow(struct keyset *ks)
{
        struct keyset old = *ks;
        size_t i, cap = ks->cap ? ks->cap * 2 : 1024;

        ks->hash = calloc(cap, sizeof(*ks->hash));
        ks->line = calloc(cap, sizeof(*ks->line));
        if (!ks->hash || !ks->line) {
                free(ks->hash);
                free(ks->line);
                ks->hash = old.hash;
                ks->line = old.line;
                return -ENOMEM;
        }
        ks->cap = cap;
        for (i = 0; i < old.cap; i++)
                if (old.hash[i]) {
                        size_t s = keyset_slot(ks, old.hash[i]);
                        ks->hash[s] = old.hash[i];
                        ks->line[s] = old.line[i];
                }
        free(old.hash);
        free(old.line);
        return 0;
}

long keyset_add(struct keyset *ks, const char *key, long line)
{
        uint64_t h;
        size_t s;

        /* At most 70% full: probes stay short. */
        if ((ks->n + 1) * 10 > ks->cap * 7 && keyset_grow(ks) < 0)
                return -ENOMEM;
        h = keyset_hash(ks, key);
        s = keyset_slot(ks, h);
        if (ks->hash[s])
                return ks->line[s];
        ks->hash[s] = h;
        ks->line[s] = line;
        ks->n++;
        return 0;
}

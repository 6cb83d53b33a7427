#include "base/ids.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>

void ids_new(const char *prefix, char *buf, size_t n)
{
        uint8_t r[5];
        char hex[11];

        randombytes_buf(r, sizeof(r));
        sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
        snprintf(buf, n, "%s-%s", prefix, hex);
}

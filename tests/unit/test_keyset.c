/* Unit tests for lib/keyset.c: a repeated key is found, with the line it
 * first appeared on, among a million; distinct keys never are. */
#include <errno.h>
#include <stdio.h>

#include "base/keyset.h"
#include "unit.h"

static void test_repeats_found(void)
{
        struct keyset *ks = keyset_new();
        char key[32];
        long i;

        CHECK(ks != NULL);
        for (i = 0; i < 1000000; i++) {
                snprintf(key, sizeof(key), "4301040100131%07ld", i);
                CHECK(keyset_add(ks, key, i + 2) == 0);
        }
        CHECK(keyset_count(ks) == 1000000);
        CHECK(keyset_add(ks, "43010401001310000000", 5000000) == 2);
        CHECK(keyset_add(ks, "43010401001310999999", 5000001) == 1000001);
        CHECK(keyset_add(ks, "43010401001310123456", 5000002) == 123458);
        CHECK(keyset_add(ks, "43010401001311000000", 5000003) == 0);  /* new */
        CHECK(keyset_add(ks, "43010401001311000000", 5000004) == 5000003);
        CHECK(keyset_count(ks) == 1000001);
        keyset_free(ks);
        keyset_free(NULL);
}

int main(void)
{
        RUN(test_repeats_found);
        return 0;
}

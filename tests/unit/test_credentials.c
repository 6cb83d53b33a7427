/* Unit tests for lib/features/credentials.c: what is sealed opens with the
 * key and for the system it was sealed for, and with nothing else; the
 * sealed bytes hold neither the user nor the password (Art 5, 24(1)). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "features/credentials.h"
#include "unit.h"

static void test_seal_and_open(void)
{
        uint8_t key[32], other[32];
        struct credentials c, wrong;
        char *nonce, *sealed, user[CREDENTIALS_MAX + 1], password[CREDENTIALS_MAX + 1];
        char *nonce2, *sealed2, tampered[1024];

        CHECK(sodium_init() >= 0);
        randombytes_buf(key, sizeof(key));
        randombytes_buf(other, sizeof(other));
        credentials_init(&c, key);
        credentials_init(&wrong, other);
        CHECK(credentials_seal(&c, "hotel-b", "linkage", "s3cret", &nonce, &sealed) == 0);
        CHECK(strlen(nonce) == 48);
        CHECK(strstr(sealed, "s3cret") == NULL);
        CHECK(credentials_open(&c, "hotel-b", nonce, sealed, user, password) == 0);
        CHECK_STREQ(user, "linkage");
        CHECK_STREQ(password, "s3cret");
        /* another system (a row copied onto it), another key, altered */
        CHECK(credentials_open(&c, "mall-a", nonce, sealed, user, password) == -EBADMSG);
        CHECK(credentials_open(&wrong, "hotel-b", nonce, sealed, user, password) == -EBADMSG);
        snprintf(tampered, sizeof(tampered), "%s", sealed);
        tampered[0] = tampered[0] == '0' ? '1' : '0';
        CHECK(credentials_open(&c, "hotel-b", nonce, tampered, user, password) == -EBADMSG);
        CHECK(credentials_open(&c, "hotel-b", "zz", sealed, user, password) == -EBADMSG);
        /* a fresh nonce each time */
        CHECK(credentials_seal(&c, "hotel-b", "linkage", "s3cret", &nonce2, &sealed2) == 0);
        CHECK(strcmp(nonce, nonce2) != 0 && strcmp(sealed, sealed2) != 0);
        free(nonce2);
        free(sealed2);
        /* empty password; too long refused */
        free(nonce);
        free(sealed);
        CHECK(credentials_seal(&c, "x", "u", "", &nonce, &sealed) == 0);
        CHECK(credentials_open(&c, "x", nonce, sealed, user, password) == 0 && password[0] == '\0');
        {
                char big[CREDENTIALS_MAX + 2];
                memset(big, 'a', sizeof(big) - 1);
                big[sizeof(big) - 1] = '\0';
                CHECK(credentials_seal(&c, "x", "u", big, &nonce2, &sealed2) == -EINVAL);
        }
        free(nonce);
        free(sealed);
}

int main(void)
{
        RUN(test_seal_and_open);
        return 0;
}

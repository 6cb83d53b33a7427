/* unit.h: the whole unit-test framework. CHECK() prints file:line and the
 * failed expression and exits 1, so a test fails loudly and at once. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(expr) \
        do { \
                if (!(expr)) { \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
                        exit(1); \
                } \
        } while (0)

/* CHECK with the offending string shown, for error-message checks. */
#define CHECK_CONTAINS(haystack, needle) \
        do { \
                const char *h_ = (haystack), *n_ = (needle); \
                if (!h_ || !strstr(h_, n_)) { \
                        fprintf(stderr, "%s:%d: check failed: \"%s\" does not contain \"%s\"\n", \
                                __FILE__, __LINE__, h_ ? h_ : "(null)", n_); \
                        exit(1); \
                } \
        } while (0)

#define CHECK_STREQ(a, b) \
        do { \
                const char *a_ = (a), *b_ = (b); \
                if (!a_ || !b_ || strcmp(a_, b_) != 0) { \
                        fprintf(stderr, "%s:%d: check failed: \"%s\" != \"%s\" (%s == %s)\n", \
                                __FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)", #a, #b); \
                        exit(1); \
                } \
        } while (0)

#define RUN(test) \
        do { \
                test(); \
                printf("ok %s\n", #test); \
        } while (0)

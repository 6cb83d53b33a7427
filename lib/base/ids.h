/* ids: identifiers a node makes for what it records (requests, emergencies,
 * delegations): a prefix and 10 random hex digits, "req-3f9a1c02be". */
#pragma once

#include <stddef.h>

/** PREFIX, '-', 10 random hex digits, into BUF (size N). */
void ids_new(const char *prefix, char *buf, size_t n);

/* profile: a vigilctl client profile (vigilctl.conf), INI:
 *   [vigilctl]
 *   endpoint = tcp://127.0.0.1:7201      ; the node's control socket
 *   server_key = <Z85>                   ; the node's CURVE public key
 *   identity = /path/to/admin.key        ; default identity (see keys.h)
 * A relative identity path is taken relative to the profile's folder.
 * identity may be left out (identity_path is then ""): vigilctl then needs
 * --as, as an officer's profile shared by several badges would. */
#pragma once

#include <stddef.h>

#include "base/keys.h"

struct profile {
        char endpoint[256];
        char server_key[KEYS_Z85_LEN + 1];
        char identity_path[1024];
};

/** Load PATH; unknown sections and keys, keys given twice and a missing
 *  endpoint or server_key are errors. 0, or -errno with a sentence in ERR
 *  naming the file (and line); *RET is untouched on failure. */
int profile_load(const char *path, struct profile *ret, char *err, size_t errlen);

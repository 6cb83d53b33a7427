/* Fuzz target for the files vigild and vigilctl read (issue 17, harness
 * item 4): vigild.conf (config_load), an identity file (identity_load), a
 * node's key directory (keys_load), a signing key given in the config
 * (keys_sign_public_parse, keys_z85_valid), and the key set an import
 * keeps of the IDs it saw (keyset_add). Files are written to a private
 * temporary directory (mode 0600), read, and removed.
 *
 * Input: byte 0 chooses (% 5):
 *   0  the rest is vigild.conf
 *   1  the rest is an identity file
 *   2  the rest is a key directory: curve.pub, curve.key, sign.pub,
 *      sign.key and credentials.key, separated by NUL bytes (a missing
 *      part: no such file)
 *   3  the rest is a hex signing key, and a Z85 key
 *   4  the rest is lines, each a key added to a key set, checked against
 *      a plain list
 * A refusal must name its reason; a key set must say which line a key
 * was first seen on. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/keys.h"
#include "base/keyset.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096];
static const char *const key_names[5] = { "curve.pub", "curve.key", "sign.pub", "sign.key", "credentials.key" };

static void rm(const char *name);

/* Leave no directory behind. */
static void cleanup(void)
{
        rm("vigild.conf");
        rm("admin.id");
        for (int i = 0; i < 5; i++)
                rm(key_names[i]);
        rmdir(dir);
}

static void setup(void)
{
        if (dir[0])
                return;
        snprintf(dir, sizeof(dir), "%s/vigil-fuzz-files.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(dir))
                abort();
        atexit(cleanup);
        if (!getenv("VIGIL_FUZZ_LOG"))
                log_set_level(LOG_ERROR);
}

static void path_of(char *path, size_t n, const char *name)
{
        snprintf(path, n, "%s/%s", dir, name);
}

static void put(const char *name, const uint8_t *data, size_t len)
{
        char path[4200];
        int fd;

        path_of(path, sizeof(path), name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd) < 0)
                abort();
}

static void rm(const char *name)
{
        char path[4200];

        path_of(path, sizeof(path), name);
        unlink(path);
}

static void refused(int r, const char *err)
{
        if (r < 0 && !err[0])
                abort();        /* a refusal names its reason */
}

static void conf(const uint8_t *data, size_t size)
{
        struct config cfg;
        char path[4200], err[512] = "";

        put("vigild.conf", data, size);
        path_of(path, sizeof(path), "vigild.conf");
        config_init(&cfg);
        refused(config_load(path, &cfg, err, sizeof(err)), err);
        rm("vigild.conf");
}

static void identity(const uint8_t *data, size_t size)
{
        struct identity id;
        char path[4200], err[512] = "";
        int r;

        put("admin.id", data, size);
        path_of(path, sizeof(path), "admin.id");
        r = identity_load(path, &id, err, sizeof(err));
        refused(r, err);
        if (r == 0 && (!keys_z85_valid(id.curve_public) || !keys_z85_valid(id.curve_secret) ||
                       !memchr(id.name, 0, sizeof(id.name))))
                abort();
        rm("admin.id");
}

static void keydir(const uint8_t *data, size_t size)
{
        struct node_keys k;
        char err[512] = "";
        int i, r;

        for (i = 0; i < 5; i++) {
                const uint8_t *nul = memchr(data, 0, size);
                size_t len = nul ? (size_t)(nul - data) : size;
                if (i > 0 && size == 0 && !nul)
                        break;
                put(key_names[i], data, len);
                data += len + (nul ? 1 : 0);
                size -= len + (nul ? 1 : 0);
                if (!nul)
                        break;
        }
        r = keys_load(dir, &k, err, sizeof(err));
        refused(r, err);
        if (r == 0 && (!keys_z85_valid(k.curve_public) || !keys_z85_valid(k.curve_secret)))
                abort();
        for (i = 0; i < 5; i++)
                rm(key_names[i]);
}

static void keystrings(const uint8_t *data, size_t size)
{
        char *s = strndup((const char *)data, size);
        uint8_t key[32];

        if (!s)
                return;
        keys_sign_public_parse(s, key);
        keys_z85_valid(s);
        free(s);
}

static void keys_seen(const uint8_t *data, size_t size)
{
        struct keyset *ks = keyset_new();
        char *lines[256];
        int n = 0, i, j;
        const uint8_t *p = data, *end = data + size;

        if (!ks)
                return;
        while (p < end && n < 256) {
                const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
                long r, first = 0;

                lines[n] = strndup((const char *)p, len);
                if (!lines[n])
                        break;
                for (j = 0; j < n && !first; j++)
                        if (strcmp(lines[j], lines[n]) == 0)
                                first = j + 1;
                r = keyset_add(ks, lines[n], n + 1);
                if (r != first)
                        abort();        /* a new key taken as seen, or a repeat missed */
                n++;
                p += len + (nl ? 1 : 0);
        }
        for (i = 0, j = 0; i < n; i++) {
                bool dup = false;
                for (int k = 0; k < i && !dup; k++)
                        dup = strcmp(lines[k], lines[i]) == 0;
                j += !dup;
        }
        if (keyset_count(ks) != (size_t)j)
                abort();
        for (i = 0; i < n; i++)
                free(lines[i]);
        keyset_free(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        if (size < 1)
                return 0;
        setup();
        switch (data[0] % 5) {
        case 0:
                conf(data + 1, size - 1);
                break;
        case 1:
                identity(data + 1, size - 1);
                break;
        case 2:
                keydir(data + 1, size - 1);
                break;
        case 3:
                keystrings(data + 1, size - 1);
                break;
        default:
                keys_seen(data + 1, size - 1);
                break;
        }
        return 0;
}

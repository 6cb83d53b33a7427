/* keys: node key sets and officer/admin identities.
 *
 * Secret keys live in files of mode 0600 inside a 0700 directory, and are
 * loaded only from such (a group or world bit refuses them, as ssh refuses
 * an unprotected private key); files are
 * created with O_EXCL so that keygen can never overwrite a key a deployed
 * node or an enrolled officer depends on. Loading checks that each public
 * key matches its secret key, so a mixed-up key directory is caught at
 * start, not at the first failed handshake. */
#include "base/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static const char *const key_files[] = { "curve.pub", "curve.key", "sign.pub", "sign.key" };

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
        if (err && errlen > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return code;
}

static int crypto_ready(void)
{
        return sodium_init() < 0 ? -EIO : 0;
}

int keys_z85_valid(const char *s)
{
        static const char alphabet[] =
                "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                ".-:+=^!/*?&<>()[]{}@%$#";
        uint8_t out[32];

        if (!s || strlen(s) != KEYS_Z85_LEN)
                return 0;
        for (const char *p = s; *p; p++)
                if (!strchr(alphabet, *p))
                        return 0;
        /* The alphabet check alone lets through 5-char groups above 2^32. */
        return zmq_z85_decode(out, s) != NULL;
}

static int join(char *buf, size_t n, const char *dir, const char *name)
{
        int r = snprintf(buf, n, "%s/%s", dir, name);
        return (r < 0 || (size_t)r >= n) ? -ENAMETOOLONG : 0;
}

/* Write TEXT to a new file PATH (mode 0600); never replaces a file. */
static int write_new_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        size_t len = strlen(text);
        const char *p = text;
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        close(fd);
                        unlink(path);
                        return r;
                }
                p += w;
                len -= (size_t)w;
        }
        if (fsync(fd) < 0 || close(fd) < 0) {
                int r = -errno;
                unlink(path);
                return r;
        }
        return 0;
}

/* mkdir -p: `vigild keygen var/local/city/keys` on a fresh checkout. */
static int mkdir_parents(const char *dir)
{
        char buf[4096];
        if (strlen(dir) >= sizeof(buf))
                return -ENAMETOOLONG;
        strcpy(buf, dir);
        for (char *p = buf + 1; ; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char c = *p;
                *p = '\0';
                if (mkdir(buf, 0700) < 0 && errno != EEXIST)
                        return -errno;
                *p = c;
                if (c == '\0')
                        return 0;
        }
}

/* A fresh DIR/credentials.key (never replaces one: the credentials held
 * would no longer open). */
static int keys_credentials_create(const char *dir)
{
        uint8_t key[32];
        char text[2 * sizeof(key) + 2], path[4096];
        int r;

        if ((r = join(path, sizeof(path), dir, "credentials.key")) < 0)
                return r;
        randombytes_buf(key, sizeof(key));
        sodium_bin2hex(text, sizeof(text) - 1, key, sizeof(key));
        strcat(text, "\n");
        r = write_new_file(path, text);
        sodium_memzero(key, sizeof(key));
        sodium_memzero(text, sizeof(text));
        return r;
}

int keys_generate(const char *dir, char *ret_public)
{
        char pub[KEYS_Z85_LEN + 1], sec[KEYS_Z85_LEN + 1];
        uint8_t spk[crypto_sign_PUBLICKEYBYTES], ssk[crypto_sign_SECRETKEYBYTES];
        char texts[4][2 * crypto_sign_SECRETKEYBYTES + 2];
        char paths[4][4096];
        int r, written = 0;

        if (!dir || !*dir)
                return -EINVAL;
        if ((r = crypto_ready()) < 0)
                return r;
        if ((r = mkdir_parents(dir)) < 0)
                return r;
        for (int i = 0; i < 4; i++) {
                if ((r = join(paths[i], sizeof(paths[i]), dir, key_files[i])) < 0)
                        return r;
                if (access(paths[i], F_OK) == 0)
                        return -EEXIST;
        }
        {
                char cpath[4096];
                if ((r = join(cpath, sizeof(cpath), dir, "credentials.key")) < 0)
                        return r;
                if (access(cpath, F_OK) == 0)
                        return -EEXIST;
        }
        if (zmq_curve_keypair(pub, sec) != 0)
                return errno == ENOTSUP ? -ENOTSUP : -EIO;
        crypto_sign_keypair(spk, ssk);

        snprintf(texts[0], sizeof(texts[0]), "%s\n", pub);
        snprintf(texts[1], sizeof(texts[1]), "%s\n", sec);
        sodium_bin2hex(texts[2], sizeof(texts[2]), spk, sizeof(spk));
        strcat(texts[2], "\n");
        sodium_bin2hex(texts[3], sizeof(texts[3]) - 1, ssk, sizeof(ssk));
        strcat(texts[3], "\n");

        for (written = 0; written < 4; written++)
                if ((r = write_new_file(paths[written], texts[written])) < 0)
                        break;
        if (r < 0) /* nothing half-done stays behind */
                for (int i = 0; i < written; i++)
                        unlink(paths[i]);
        else if (ret_public)
                memcpy(ret_public, pub, sizeof(pub));
        if (r == 0 && (r = keys_credentials_create(dir)) < 0)
                for (int i = 0; i < 4; i++)
                        unlink(paths[i]);
        sodium_memzero(sec, sizeof(sec));
        sodium_memzero(ssk, sizeof(ssk));
        sodium_memzero(texts, sizeof(texts));
        return r;
}

/* Whether the open file F may hold a secret: its owner's alone, as ssh
 * has a private key (issue 17, small ones). Group or world bits, read or
 * write, refuse it: -EPERM, its mode in *RET_MODE. */
static int secret_mode_ok(FILE *f, mode_t *ret_mode)
{
        struct stat st;

        if (fstat(fileno(f), &st) < 0)
                return -errno;
        *ret_mode = st.st_mode & 07777;
        return (st.st_mode & 077) ? -EPERM : 0;
}

static int fail_mode(char *err, size_t errlen, const char *what, const char *path, mode_t mode)
{
        return fail(err, errlen, -EPERM, "%s%s: mode 0%03o lets others than its owner read or change this "
                    "secret key; make it its owner's alone: chmod 600 %s", what, path, (unsigned)mode, path);
}

/* Read a small key file into BUF, trailing whitespace removed. A SECRET
 * one only if its owner's alone (-EPERM, its mode in *RET_MODE). */
static int read_key_file(const char *path, char *buf, size_t n, bool secret, mode_t *ret_mode)
{
        FILE *f = fopen(path, "re");
        int r;

        if (!f)
                return -errno;
        if (secret && (r = secret_mode_ok(f, ret_mode)) < 0) {
                fclose(f);
                return r;
        }
        size_t got = fread(buf, 1, n - 1, f);
        bool more = fgetc(f) != EOF;
        fclose(f);
        if (more)
                return -EFBIG;
        buf[got] = '\0';
        while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' ||
                           buf[got - 1] == ' ' || buf[got - 1] == '\t'))
                buf[--got] = '\0';
        return 0;
}

/* DIR/credentials.key into RET (32 bytes), created if missing. */
static int keys_credentials_load(const char *dir, uint8_t *ret, char *err, size_t errlen)
{
        char text[2 * 32 + 8], path[4096];
        size_t bin_len;
        mode_t mode = 0;
        int r;

        if (join(path, sizeof(path), dir, "credentials.key") < 0)
                return fail(err, errlen, -ENAMETOOLONG, "key directory %s: path too long", dir);
        r = read_key_file(path, text, sizeof(text), true, &mode);
        if (r == -ENOENT) {
                if ((r = keys_credentials_create(dir)) < 0 && r != -EEXIST)
                        return fail(err, errlen, r, "%s: cannot create it: %s", path, strerror(-r));
                r = read_key_file(path, text, sizeof(text), true, &mode);
        }
        if (r == -EPERM)
                return fail_mode(err, errlen, "", path, mode);
        if (r < 0)
                return fail(err, errlen, r == -EFBIG ? -EINVAL : r, "%s: %s", path,
                            r == -EFBIG ? "file too long for a key" : strerror(-r));
        if (strlen(text) != 64 || sodium_hex2bin(ret, 32, text, 64, NULL, &bin_len, NULL) != 0 || bin_len != 32) {
                sodium_memzero(text, sizeof(text));
                return fail(err, errlen, -EINVAL, "%s: not a 64-digit hex key", path);
        }
        sodium_memzero(text, sizeof(text));
        return 0;
}

int keys_load(const char *dir, struct node_keys *ret, char *err, size_t errlen)
{
        struct node_keys k;
        char text[4][2 * crypto_sign_SECRETKEYBYTES + 8];
        char path[4096];
        uint8_t derived[32];
        mode_t mode = 0;
        int r;

        if ((r = crypto_ready()) < 0)
                return fail(err, errlen, r, "libsodium failed to initialise");
        for (int i = 0; i < 4; i++) {
                if (join(path, sizeof(path), dir, key_files[i]) < 0)
                        return fail(err, errlen, -ENAMETOOLONG, "key directory %s: path too long", dir);
                /* curve.key and sign.key are secret; the .pub files
                 * may be anyone's to read. */
                r = read_key_file(path, text[i], sizeof(text[i]), i % 2 == 1, &mode);
                if (r == -EFBIG)
                        r = -EINVAL;
                if (r == -EPERM) {
                        fail_mode(err, errlen, "", path, mode);
                        goto out;
                }
                if (r < 0) {
                        fail(err, errlen, r, "%s: %s%s", path,
                             r == -EINVAL ? "file too long for a key" : strerror(-r),
                             r == -ENOENT ? " (create the key set with `vigild keygen DIR`)" : "");
                        goto out;
                }
        }
        memset(&k, 0, sizeof(k));
        r = -EINVAL;
        if (!keys_z85_valid(text[0])) {
                fail(err, errlen, r, "%s/curve.pub: not a 40-character Z85 CURVE public key", dir);
                goto out;
        }
        if (!keys_z85_valid(text[1])) {
                fail(err, errlen, r, "%s/curve.key: not a 40-character Z85 CURVE secret key", dir);
                goto out;
        }
        memcpy(k.curve_public, text[0], KEYS_Z85_LEN + 1);
        memcpy(k.curve_secret, text[1], KEYS_Z85_LEN + 1);
        char check[KEYS_Z85_LEN + 1];
        if (zmq_curve_public(check, k.curve_secret) != 0 || strcmp(check, k.curve_public) != 0) {
                fail(err, errlen, r, "%s: curve.pub does not belong to curve.key", dir);
                goto out;
        }
        size_t bin_len;
        if (strlen(text[2]) != 2 * sizeof(k.sign_public) ||
            sodium_hex2bin(k.sign_public, sizeof(k.sign_public), text[2], strlen(text[2]),
                           NULL, &bin_len, NULL) != 0 || bin_len != sizeof(k.sign_public)) {
                fail(err, errlen, r, "%s/sign.pub: not a 64-digit hex Ed25519 public key", dir);
                goto out;
        }
        if (strlen(text[3]) != 2 * sizeof(k.sign_secret) ||
            sodium_hex2bin(k.sign_secret, sizeof(k.sign_secret), text[3], strlen(text[3]),
                           NULL, &bin_len, NULL) != 0 || bin_len != sizeof(k.sign_secret)) {
                fail(err, errlen, r, "%s/sign.key: not a 128-digit hex Ed25519 secret key", dir);
                goto out;
        }
        crypto_sign_ed25519_sk_to_pk(derived, k.sign_secret);
        if (sodium_memcmp(derived, k.sign_public, sizeof(derived)) != 0) {
                fail(err, errlen, r, "%s: sign.pub does not belong to sign.key", dir);
                goto out;
        }
        if ((r = keys_credentials_load(dir, k.credentials_key, err, errlen)) < 0)
                goto out;
        *ret = k;
        r = 0;
out:
        sodium_memzero(&k, sizeof(k));
        sodium_memzero(text, sizeof(text));
        return r;
}

static bool name_ok(const char *name)
{
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n >= sizeof(((struct identity *)0)->name))
                return false;
        /* The name is written into an INI line: no control characters, and
         * no leading/trailing blanks inih would strip on reading it back. */
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
                        return false;
        return name[0] != ' ' && name[n - 1] != ' ' && name[0] != '[' &&
               name[0] != ';' && name[0] != '#' && !strchr(name, ';');
}

int identity_generate(const char *path, const char *name, struct identity *ret)
{
        struct identity id;
        char text[512];
        int r;

        if (!path || !name_ok(name))
                return -EINVAL;
        memset(&id, 0, sizeof(id));
        snprintf(id.name, sizeof(id.name), "%s", name);
        if (zmq_curve_keypair(id.curve_public, id.curve_secret) != 0)
                return errno == ENOTSUP ? -ENOTSUP : -EIO;
        snprintf(text, sizeof(text),
                 "# vigil identity: the secret key admits its holder; keep this file mode 0600\n"
                 "[identity]\nname = %s\npublic = %s\nsecret = %s\n",
                 id.name, id.curve_public, id.curve_secret);
        r = write_new_file(path, text);
        if (r == 0 && ret)
                *ret = id;
        sodium_memzero(text, sizeof(text));
        sodium_memzero(&id, sizeof(id));
        return r;
}

struct identity_parse {
        struct identity id;
        FILE *f;
        int line;
        bool seen_name, seen_public, seen_secret;
        char err[256];
};

/* Reads one line for inih and counts it, so the handler knows its line. */
static char *identity_reader(char *str, int num, void *stream)
{
        struct identity_parse *p = stream;
        char *s = fgets(str, num, p->f);
        if (s)
                p->line++;
        return s;
}

static int identity_handler(void *user, const char *section, const char *name, const char *value)
{
        struct identity_parse *p = user;
        char *dst = NULL;
        size_t cap = 0;
        bool *seen = NULL;

        if (p->err[0])
                return 0;
        if (strcmp(section, "identity") != 0) {
                snprintf(p->err, sizeof(p->err), "line %d: unknown section [%.40s] (expected [identity])",
                         p->line, section);
                return 0;
        }
        if (strcmp(name, "name") == 0) {
                dst = p->id.name, cap = sizeof(p->id.name), seen = &p->seen_name;
        } else if (strcmp(name, "public") == 0) {
                dst = p->id.curve_public, cap = sizeof(p->id.curve_public), seen = &p->seen_public;
        } else if (strcmp(name, "secret") == 0) {
                dst = p->id.curve_secret, cap = sizeof(p->id.curve_secret), seen = &p->seen_secret;
        } else {
                snprintf(p->err, sizeof(p->err), "line %d: unknown key %.40s in [identity]", p->line, name);
                return 0;
        }
        if (*seen) {
                snprintf(p->err, sizeof(p->err), "line %d: %s given twice", p->line, name);
                return 0;
        }
        if (dst != p->id.name && !keys_z85_valid(value)) {
                snprintf(p->err, sizeof(p->err), "line %d: %s is not a 40-character Z85 key", p->line, name);
                return 0;
        }
        if (strlen(value) == 0 || strlen(value) >= cap) {
                snprintf(p->err, sizeof(p->err), "line %d: %s must be 1 to %zu characters", p->line, name, cap - 1);
                return 0;
        }
        memcpy(dst, value, strlen(value) + 1);
        *seen = true;
        return 1;
}

int identity_load(const char *path, struct identity *ret, char *err, size_t errlen)
{
        struct identity_parse p;
        char check[KEYS_Z85_LEN + 1];
        mode_t mode = 0;
        int r;

        memset(&p, 0, sizeof(p));
        p.f = fopen(path, "re");
        if (!p.f)
                return fail(err, errlen, -errno, "identity file %s: %s", path, strerror(errno));
        /* It holds the identity's secret key. */
        if ((r = secret_mode_ok(p.f, &mode)) < 0) {
                fclose(p.f);
                if (r == -EPERM)
                        return fail_mode(err, errlen, "identity file ", path, mode);
                return fail(err, errlen, r, "identity file %s: %s", path, strerror(-r));
        }
        r = ini_parse_stream(identity_reader, &p, identity_handler, &p);
        fclose(p.f);
        if (p.err[0]) {
                r = fail(err, errlen, -EINVAL, "identity file %s: %s", path, p.err);
        } else if (r != 0) {
                r = fail(err, errlen, -EINVAL, "identity file %s: line %d: syntax error (expected "
                         "[identity] or key = value)", path, r);
        } else if (!p.seen_name || !p.seen_public || !p.seen_secret) {
                r = fail(err, errlen, -EINVAL, "identity file %s: [identity] %s is missing", path,
                         !p.seen_name ? "name" : !p.seen_public ? "public" : "secret");
        } else if (zmq_curve_public(check, p.id.curve_secret) != 0 ||
                   strcmp(check, p.id.curve_public) != 0) {
                r = fail(err, errlen, -EINVAL, "identity file %s: public does not belong to secret", path);
        } else {
                *ret = p.id;
                r = 0;
        }
        sodium_memzero(&p.id, sizeof(p.id));
        return r;
}

int keys_sign_public_parse(const char *hex, uint8_t ret[32])
{
        size_t bin_len = 0;

        if (!hex || strlen(hex) != 64 || strspn(hex, "0123456789abcdefABCDEF") != 64 ||
            sodium_hex2bin(ret, 32, hex, 64, NULL, &bin_len, NULL) != 0 || bin_len != 32)
                return -EINVAL;
        return 0;
}

void keys_sign_public_hex(const uint8_t key[32], char ret[65])
{
        sodium_bin2hex(ret, 65, key, 32);
}

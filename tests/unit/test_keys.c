/* Unit tests for lib/keys.c: key sets, identities, Z85 checks. */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/keys.h"
#include "unit.h"

static char dir[] = "/tmp/vigil-test-keys-XXXXXX";

/* A key file as an operator would write one: its owner's alone (the
 * loaders refuse a secret others may read: test_secret_modes). */
static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        fputs(text, f);
        fclose(f);
        CHECK(chmod(path, 0600) == 0);
}

static void test_z85(void)
{
        CHECK(keys_z85_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
        CHECK(!keys_z85_valid(NULL));
        CHECK(!keys_z85_valid(""));
        CHECK(!keys_z85_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf"));   /* 39 */
        CHECK(!keys_z85_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf77")); /* 41 */
        CHECK(!keys_z85_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf "));  /* space */
        CHECK(!keys_z85_valid("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf\""));
        /* in the alphabet, but "#####" is above 2^32 */
        CHECK(!keys_z85_valid("#####>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"));
}

static void test_generate_and_load(void)
{
        char kd[256], pub[KEYS_Z85_LEN + 1], err[512], path[300];
        struct node_keys k;
        struct stat st;

        snprintf(kd, sizeof(kd), "%s/node/keys", dir);
        CHECK(keys_generate(kd, pub) == 0);
        CHECK(keys_z85_valid(pub));
        CHECK(stat(kd, &st) == 0 && (st.st_mode & 0777) == 0700);
        snprintf(path, sizeof(path), "%s/curve.key", kd);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
        snprintf(path, sizeof(path), "%s/sign.key", kd);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

        memset(&k, 0, sizeof(k));
        CHECK(keys_load(kd, &k, err, sizeof(err)) == 0);
        CHECK_STREQ(k.curve_public, pub);
        CHECK(keys_z85_valid(k.curve_secret));

        /* Art 5, 24(1): the key that seals held credentials, outside the
         * database; a key directory made before it gets one on loading,
         * and keeps it */
        uint8_t ck[32];
        snprintf(path, sizeof(path), "%s/credentials.key", kd);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
        memcpy(ck, k.credentials_key, sizeof(ck));
        CHECK(sodium_is_zero(ck, sizeof(ck)) == 0);
        CHECK(unlink(path) == 0);
        CHECK(keys_load(kd, &k, err, sizeof(err)) == 0);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
        CHECK(memcmp(ck, k.credentials_key, sizeof(ck)) != 0);
        memcpy(ck, k.credentials_key, sizeof(ck));
        CHECK(keys_load(kd, &k, err, sizeof(err)) == 0 && memcmp(ck, k.credentials_key, sizeof(ck)) == 0);
        write_file(path, "short\n");
        CHECK(keys_load(kd, &k, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "credentials.key: not a 64-digit hex key");
        CHECK(unlink(path) == 0);
        CHECK(keys_load(kd, &k, err, sizeof(err)) == 0);

        /* never overwrites */
        char pub2[KEYS_Z85_LEN + 1] = "";
        CHECK(keys_generate(kd, pub2) == -EEXIST);
        CHECK(keys_load(kd, &k, err, sizeof(err)) == 0);
        CHECK_STREQ(k.curve_public, pub);

        /* a public key that does not belong to the secret key is refused */
        char other[256], opub[KEYS_Z85_LEN + 1], line[64];
        snprintf(other, sizeof(other), "%s/other", dir);
        CHECK(keys_generate(other, opub) == 0);
        snprintf(path, sizeof(path), "%s/curve.pub", kd);
        snprintf(line, sizeof(line), "%s\n", opub);
        write_file(path, line);
        struct node_keys untouched;
        memset(&untouched, 0x5a, sizeof(untouched));
        CHECK(keys_load(kd, &untouched, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "curve.pub does not belong to curve.key");
        CHECK(((unsigned char *)&untouched)[0] == 0x5a); /* RET untouched on failure */

        /* garbage in curve.pub */
        write_file(path, "not a key\n");
        CHECK(keys_load(kd, &k, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "curve.pub: not a 40-character Z85");
        snprintf(line, sizeof(line), "%s\n", pub);
        write_file(path, line);
        CHECK(keys_load(kd, &k, err, sizeof(err)) == 0);

        /* mismatched signing keys */
        char opath[300], text[256];
        snprintf(opath, sizeof(opath), "%s/sign.pub", other);
        FILE *f = fopen(opath, "r");
        CHECK(f && fgets(text, sizeof(text), f));
        fclose(f);
        snprintf(path, sizeof(path), "%s/sign.pub", kd);
        write_file(path, text);
        CHECK(keys_load(kd, &k, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "sign.pub does not belong to sign.key");
        write_file(path, "zz\n");
        CHECK(keys_load(kd, &k, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "sign.pub: not a 64-digit hex");

        /* missing directory */
        snprintf(path, sizeof(path), "%s/missing", dir);
        CHECK(keys_load(path, &k, err, sizeof(err)) == -ENOENT);
        CHECK_CONTAINS(err, "vigild keygen");

        /* a partly filled directory is refused as a whole, nothing written */
        char partial[256];
        snprintf(partial, sizeof(partial), "%s/partial", dir);
        CHECK(mkdir(partial, 0700) == 0);
        snprintf(path, sizeof(path), "%s/sign.key", partial);
        write_file(path, "x\n");
        CHECK(keys_generate(partial, pub2) == -EEXIST);
        snprintf(path, sizeof(path), "%s/curve.pub", partial);
        CHECK(access(path, F_OK) != 0);

        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/node %s/other %s/partial", dir, dir, dir);
        CHECK(system(cmd) == 0);
}

static void test_identity(void)
{
        char path[256], err[512];
        struct identity id, loaded;

        snprintf(path, sizeof(path), "%s/admin.key", dir);
        CHECK(identity_generate(path, "admin", &id) == 0);
        CHECK_STREQ(id.name, "admin");
        CHECK(keys_z85_valid(id.curve_public));
        struct stat st;
        CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
        CHECK(identity_load(path, &loaded, err, sizeof(err)) == 0);
        CHECK_STREQ(loaded.name, "admin");
        CHECK_STREQ(loaded.curve_public, id.curve_public);
        CHECK_STREQ(loaded.curve_secret, id.curve_secret);
        CHECK(identity_generate(path, "admin", &id) == -EEXIST);

        char bad[256];
        snprintf(bad, sizeof(bad), "%s/bad.key", dir);
        CHECK(identity_generate(bad, "", NULL) == -EINVAL);
        CHECK(identity_generate(bad, "two\nlines", NULL) == -EINVAL);

        char text[512];
        snprintf(text, sizeof(text), "[identity]\nname = x\npublic = %s\n", id.curve_public);
        write_file(bad, text);
        CHECK(identity_load(bad, &loaded, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "secret is missing");

        snprintf(text, sizeof(text), "[identity]\nname = x\npublic = %s\nsecret = %s\ncolour = red\n",
                 id.curve_public, id.curve_secret);
        write_file(bad, text);
        CHECK(identity_load(bad, &loaded, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "line 5: unknown key colour");

        snprintf(text, sizeof(text), "[identity]\nname = x\npublic = %s\nsecret = %s\n",
                 "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", id.curve_secret);
        write_file(bad, text);
        CHECK(identity_load(bad, &loaded, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "public does not belong to secret");

        write_file(bad, "[identity]\nname = x\npublic = short\n");
        CHECK(identity_load(bad, &loaded, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "line 3: public is not a 40-character Z85 key");

        write_file(bad, "[identity]\nthis is not ini\n");
        CHECK(identity_load(bad, &loaded, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "line 2: syntax error");

        snprintf(path, sizeof(path), "%s/none.key", dir);
        CHECK(identity_load(path, &loaded, err, sizeof(err)) == -ENOENT);
        CHECK_CONTAINS(err, "none.key");

        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -f %s/*.key", dir);
        CHECK(system(cmd) == 0);
}

/* Secret key files others may read or write are refused, as ssh refuses
 * an unprotected private key (issue 17, small ones): the error names the
 * file, its mode and the fix. Public keys may be readable by anyone. */
static void test_secret_modes(void)
{
        static const char *const secrets[] = { "curve.key", "sign.key", "credentials.key" };
        static const mode_t modes[] = { 0640, 0604, 0644, 0660, 0620 };
        char kd[256], pub[KEYS_Z85_LEN + 1], err[512], path[300], want[40];
        struct node_keys k;
        struct identity id;

        snprintf(kd, sizeof(kd), "%s/modes/keys", dir);
        CHECK(keys_generate(kd, pub) == 0);
        snprintf(path, sizeof(path), "%s/curve.pub", kd);
        CHECK(chmod(path, 0644) == 0);
        snprintf(path, sizeof(path), "%s/sign.pub", kd);
        CHECK(chmod(path, 0644) == 0);
        CHECK(keys_load(kd, &k, err, sizeof(err)) == 0);
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
                for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
                        snprintf(path, sizeof(path), "%s/%s", kd, secrets[i]);
                        CHECK(chmod(path, modes[m]) == 0);
                        err[0] = '\0';
                        CHECK(keys_load(kd, &k, err, sizeof(err)) == -EPERM);
                        CHECK_CONTAINS(err, path);
                        snprintf(want, sizeof(want), "mode 0%o", (unsigned)modes[m]);
                        CHECK_CONTAINS(err, want);
                        CHECK_CONTAINS(err, "chmod 600");
                }
                CHECK(chmod(path, 0400) == 0);   /* read-only to its owner: fine */
                CHECK(keys_load(kd, &k, err, sizeof(err)) == 0);
                CHECK(chmod(path, 0600) == 0);
        }

        snprintf(path, sizeof(path), "%s/modes/id.key", dir);
        CHECK(identity_generate(path, "admin", &id) == 0);
        CHECK(chmod(path, 0644) == 0);
        CHECK(identity_load(path, &id, err, sizeof(err)) == -EPERM);
        CHECK_CONTAINS(err, path);
        CHECK_CONTAINS(err, "mode 0644");
        CHECK_CONTAINS(err, "chmod 600");
        CHECK(chmod(path, 0600) == 0);
        CHECK(identity_load(path, &id, err, sizeof(err)) == 0);

        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s/modes", dir);
        CHECK(system(cmd) == 0);
}

int main(void)
{
        CHECK(mkdtemp(dir) != NULL);
        RUN(test_z85);
        RUN(test_generate_and_load);
        RUN(test_identity);
        RUN(test_secret_modes);
        rmdir(dir);
        return 0;
}

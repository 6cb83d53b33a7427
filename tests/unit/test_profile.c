/* Unit tests of lib/profile.c: vigilctl.conf parsing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "client/profile.h"


/* A valid Z85 CURVE public key (the ZeroMQ RFC 26 test server key). */
#define SERVER_KEY "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

static char dir[] = "/tmp/test_profile.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
        static char path[512];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "w");
        if (!f) {
                perror(path);
                exit(1);
        }
        fputs(text, f);
        fclose(f);
        return path;
}

static void test_good(void)
{
        struct profile p;
        char err[512] = "";
        const char *path = write_file("good.conf",
                "; a comment\n"
                "[vigilctl]\n"
                "endpoint = tcp://127.0.0.1:7201\n"
                "server_key = " SERVER_KEY "\n"
                "identity = /etc/vigil/admin.key\n");

        CHECK(profile_load(path, &p, err, sizeof(err)) == 0);
        CHECK(strcmp(p.endpoint, "tcp://127.0.0.1:7201") == 0);
        CHECK(strcmp(p.server_key, SERVER_KEY) == 0);
        CHECK(strcmp(p.identity_path, "/etc/vigil/admin.key") == 0);
}

static void test_relative_identity(void)
{
        struct profile p;
        char err[512] = "", want[600];
        const char *path = write_file("rel.conf",
                "[vigilctl]\n"
                "endpoint = tcp://127.0.0.1:7201\n"
                "server_key = " SERVER_KEY "\n"
                "identity = keys/admin.key\n");

        CHECK(profile_load(path, &p, err, sizeof(err)) == 0);
        snprintf(want, sizeof(want), "%s/keys/admin.key", dir);
        CHECK(strcmp(p.identity_path, want) == 0);
}

static void test_no_identity(void)
{
        struct profile p;
        char err[512] = "";
        const char *path = write_file("noid.conf",
                "[vigilctl]\n"
                "endpoint = tcp://127.0.0.1:7201\n"
                "server_key = " SERVER_KEY "\n");

        /* Allowed: an officer profile may leave the identity to --as. */
        CHECK(profile_load(path, &p, err, sizeof(err)) == 0);
        CHECK(p.identity_path[0] == '\0');
}

static void test_unknown_key(void)
{
        struct profile p;
        char err[512] = "";
        const char *path = write_file("unknown.conf",
                "[vigilctl]\n"
                "endpoint = tcp://127.0.0.1:7201\n"
                "server_kye = " SERVER_KEY "\n");

        memset(&p, 0x5a, sizeof(p));
        CHECK(profile_load(path, &p, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, ":3:");
        CHECK_CONTAINS(err, "server_kye");
        CHECK(p.endpoint[0] == 0x5a);   /* untouched on failure */
}

static void test_unknown_section(void)
{
        struct profile p;
        char err[512] = "";
        const char *path = write_file("section.conf", "[node]\nid = 1\n");

        CHECK(profile_load(path, &p, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "[node]");
}

static void test_missing_keys(void)
{
        struct profile p;
        char err[512] = "";
        const char *path = write_file("missing.conf", "[vigilctl]\nidentity = a.key\n");

        CHECK(profile_load(path, &p, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "endpoint");
        CHECK_CONTAINS(err, "server_key");

        path = write_file("missing2.conf", "[vigilctl]\nendpoint = tcp://127.0.0.1:1\n");
        CHECK(profile_load(path, &p, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "server_key");
        CHECK(strstr(err, "lacks endpoint") == NULL);
}

static void test_bad_values(void)
{
        struct profile p;
        char err[512] = "";
        const char *path = write_file("badkey.conf",
                "[vigilctl]\nendpoint = tcp://127.0.0.1:7201\nserver_key = tooshort\n");

        CHECK(profile_load(path, &p, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "server_key");

        path = write_file("twice.conf",
                "[vigilctl]\nendpoint = tcp://a:1\nendpoint = tcp://b:1\nserver_key = " SERVER_KEY "\n");
        CHECK(profile_load(path, &p, err, sizeof(err)) == -EINVAL);
        CHECK_CONTAINS(err, "twice");
}

static void test_missing_file(void)
{
        struct profile p;
        char err[512] = "", path[600];

        snprintf(path, sizeof(path), "%s/absent.conf", dir);
        CHECK(profile_load(path, &p, err, sizeof(err)) == -ENOENT);
        CHECK_CONTAINS(err, "absent.conf");
}

int main(void)
{
        char cmd[600];

        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return 1;
        }
        RUN(test_good);
        RUN(test_relative_identity);
        RUN(test_no_identity);
        RUN(test_unknown_key);
        RUN(test_unknown_section);
        RUN(test_missing_keys);
        RUN(test_bad_values);
        RUN(test_missing_file);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", dir);
        return 0;
}

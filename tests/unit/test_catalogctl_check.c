/* Unit tests of lib/control/catalogctl/check.c: the values an operator
 * gives, checked as the column tables say, with the messages, fields and
 * articles README.md "Catalog" promises; the first refused value of a row
 * is the one reported; yes/no words are stored as t/f. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/catalogctl/impl.h"
#include "unit.h"

#define STATION "43010401002000000001"

struct fixture {
        struct catalogctl_entity e;
        struct catalogctl_row r;
        struct catalogctl_rejections rj;
};

static void setup(struct fixture *f, const char *command)
{
        memset(f, 0, sizeof(*f));
        CHECK(catalogctl_entity_of(command, &f->e));
        f->rj.list = json_array();
        f->r.line = 7;
        catalogctl_row_set(&f->r, f->e.station_col, STATION);
}

static void teardown(struct fixture *f)
{
        catalogctl_row_clear(&f->r);
        json_decref(f->rj.list);
}

/* Set the column whose option is OPTION. */
static void give(struct fixture *f, const char *option, const char *value)
{
        for (int i = 0; i < f->e.e->ncolumns; i++)
                if (f->e.e->columns[i].option && strcmp(f->e.e->columns[i].option, option) == 0) {
                        catalogctl_row_set(&f->r, i, value);
                        return;
                }
        fprintf(stderr, "no option %s\n", option);
        exit(1);
}

static const char *value_of(struct fixture *f, const char *column)
{
        return f->r.v[catalog_column_index(f->e.kind, column)];
}

static void camera(struct fixture *f)
{
        setup(f, "camera.add");
        give(f, "id", "43010401001310000001");
        give(f, "name", "Yuelu Rd");
        give(f, "system", "gov1");
        give(f, "site", "s1");
}

/* The row is refused at FIELD with ERROR (a substring) and ARTICLE. */
static void check_refused(struct fixture *f, const char *field, const char *error, const char *article)
{
        json_t *o;

        CHECK(!catalogctl_row_check(STATION, &f->e, &f->r, &f->rj));
        CHECK(f->r.bad && f->rj.n == 1 && json_array_size(f->rj.list) == 1);
        o = json_array_get(f->rj.list, 0);
        CHECK(json_integer_value(json_object_get(o, "line")) == 7);
        CHECK_STREQ(json_string_value(json_object_get(o, "field")), field);
        CHECK_CONTAINS(json_string_value(json_object_get(o, "error")), error);
        if (article)
                CHECK_STREQ(json_string_value(json_object_get(o, "article")), article);
        else
                CHECK(json_is_null(json_object_get(o, "article")));
        teardown(f);
}

static void test_good_camera(void)
{
        struct fixture f;

        camera(&f);
        give(&f, "ptz", "yes");
        give(&f, "bearing", "359.5");
        give(&f, "stream_url", "https://cam.example/1");
        give(&f, "status", "online");
        give(&f, "codec", "");
        CHECK(catalogctl_row_check(STATION, &f.e, &f.r, &f.rj));
        CHECK(!f.r.bad && f.rj.n == 0);
        CHECK_STREQ(value_of(&f, "ptz"), "t");              /* stored as the database spells it */
        CHECK(value_of(&f, "codec") == NULL);                /* empty is none */
        CHECK_STREQ(value_of(&f, "station_id"), STATION);    /* not an operator's */
        teardown(&f);
        camera(&f);
        give(&f, "ptz", "N");
        CHECK(!catalogctl_row_check(STATION, &f.e, &f.r, &f.rj));   /* the words are lower case */
        teardown(&f);
        camera(&f);
        give(&f, "ptz", "no");
        CHECK(catalogctl_row_check(STATION, &f.e, &f.r, &f.rj));
        CHECK_STREQ(value_of(&f, "ptz"), "f");
        teardown(&f);
}

static void test_camera_refusals(void)
{
        struct fixture f;

        camera(&f);
        give(&f, "id", "43010402001310000001");
        check_refused(&f, "id", "camera ID 43010402001310000001 is outside this station: its centre code must be "
                                "43010401", "Art 15");
        camera(&f);
        give(&f, "id", "43010401001180000001");
        check_refused(&f, "id", "has type 118; a camera is 131 or 132", "Art 15");
        camera(&f);
        give(&f, "id", "4301040100131000000x");
        check_refused(&f, "id", "is not 20 digits (GB/T 28181)", "Art 15");
        camera(&f);
        give(&f, "id", "");
        check_refused(&f, "id", "id is required", NULL);
        camera(&f);
        give(&f, "bearing", "360");
        check_refused(&f, "bearing", "bearing \"360\" is not a number from 0 to 360", NULL);
        camera(&f);
        give(&f, "latitude", "nan");
        check_refused(&f, "latitude", "is not a number from -90 to 90", NULL);
        camera(&f);
        give(&f, "system", "sys gov");
        check_refused(&f, "system", "system \"sys gov\": use 1 to 64 letters", NULL);
        camera(&f);
        give(&f, "stream_url", "rtsp://");
        check_refused(&f, "stream_url", "is not an rtsp:// or http:// URL", NULL);
        camera(&f);
        give(&f, "status", "broken");
        check_refused(&f, "status", "status \"broken\" is not one of the allowed values", NULL);
        /* Only the first refused value of a row is reported. */
        camera(&f);
        give(&f, "name", "");
        give(&f, "ptz", "maybe");
        check_refused(&f, "name", "name is required", NULL);
}

/* Art 5, 24(1): no credentials in a URL, however written; the refusal
 * does not repeat the URL (it holds the password). */
static void test_url_credentials(void)
{
        static const char *const bad[] = {
                "rtsp://admin:pw1@10.0.0.9/live", "rtsp://admin@10.0.0.9/live", "RTSP://admin:pw1@10.0.0.9/",
                "rtsp://admin%3Apw1%4010.0.0.9/live", "rtsp://10.0.0.9\\@evil/live", "rtsp://10.0.0.9?u:pw1@evil/",
                "http://10.0.0.9/live?user=a&password=pw1", "https://10.0.0.9/x;pwd=pw1", NULL };
        static const char *const good[] = { "rtsp://10.0.0.9:554/live", "rtsp://10.0.0.9/live@main",
                                            "http://10.0.0.9/x?channel=1&profile=2", NULL };
        struct fixture f;

        for (const char *const *u = bad; *u; u++) {
                const char *err;
                camera(&f);
                give(&f, "stream_url", *u);
                CHECK(!catalogctl_row_check(STATION, &f.e, &f.r, &f.rj));
                err = json_string_value(json_object_get(json_array_get(f.rj.list, 0), "error"));
                if (strncmp(*u, "RTSP", 4) != 0) {     /* (an upper-case scheme is no URL here at all) */
                        CHECK_CONTAINS(err, "Art 5: stream_url carries credentials");
                        CHECK_CONTAINS(err, "vigilctl system credentials");
                        CHECK(strstr(err, "pw1") == NULL);
                }
                teardown(&f);
        }
        for (const char *const *u = good; *u; u++) {
                camera(&f);
                give(&f, "stream_url", *u);
                CHECK(catalogctl_row_check(STATION, &f.e, &f.r, &f.rj));
                teardown(&f);
        }
}

static void test_site_and_system(void)
{
        struct fixture f;
        char long_name[202];

        setup(&f, "site.add");
        give(&f, "code", "s1");
        give(&f, "name", "x");
        give(&f, "location_type", "street");
        give(&f, "category", "7.12");
        CHECK(catalogctl_row_check(STATION, &f.e, &f.r, &f.rj));
        give(&f, "category", "7.13");
        check_refused(&f, "category", "category \"7.13\" is not an Art 7 category (7.1 to 7.12)", "Art 7");
        setup(&f, "site.add");
        give(&f, "code", "s1");
        memset(long_name, 'x', 201);
        long_name[201] = '\0';
        give(&f, "name", long_name);
        check_refused(&f, "name", "name is longer than 200 characters", NULL);

        setup(&f, "system.add");
        give(&f, "code", "gov1");
        give(&f, "name", "x");
        give(&f, "builder_class", "government");
        give(&f, "responsible_entity", "police");
        give(&f, "retention_days", "14");
        check_refused(&f, "retention_days", "Art 23(6): retention_days is 14, at least 15 is required", "Art 23(6)");
        setup(&f, "system.add");
        give(&f, "code", "gov1");
        give(&f, "name", "x");
        give(&f, "builder_class", "government");
        give(&f, "responsible_entity", "police");
        give(&f, "retention_days", "30");
        give(&f, "commissioned_on", "2024-1-02");
        check_refused(&f, "commissioned_on", "is not a date (YYYY-MM-DD)", NULL);
        setup(&f, "system.add");
        give(&f, "code", "gov1");
        give(&f, "name", "x");
        give(&f, "builder_class", "state");
        check_refused(&f, "builder_class", "builder_class \"state\" is not one of the allowed values", "Art 9");
        setup(&f, "system.add");
        give(&f, "code", "gov1");
        give(&f, "name", "x");
        give(&f, "builder_class", "private");
        give(&f, "responsible_entity", "co");
        check_refused(&f, "retention_days", "retention_days is required", "Art 23(6)");
}

/* A file full of errors: all are counted, the first 1000 listed. */
static void test_rejections_bounded(void)
{
        struct fixture f;

        setup(&f, "camera.add");
        for (int i = 0; i < 1500; i++)
                catalogctl_reject(&f.rj, &f.r, "id", NULL, "bad %d", i);
        CHECK(f.rj.n == 1500 && json_array_size(f.rj.list) == 1000);
        teardown(&f);
}

static void test_helpers(void)
{
        const char *const words[] = { "online", "offline", "fault", "unknown", NULL };
        const char *const one[] = { "x", NULL };
        char buf[80];
        struct catalogctl_entity e;

        catalogctl_choices(words, buf, sizeof(buf));
        CHECK_STREQ(buf, "online, offline, fault or unknown");
        catalogctl_choices(one, buf, sizeof(buf));
        CHECK_STREQ(buf, "x");
        catalogctl_article("Art 8(2): no camera may be installed at a hotel-guest-room", buf, sizeof(buf));
        CHECK_STREQ(buf, "Art 8(2)");
        catalogctl_article("site \"x\" still has cameras", buf, sizeof(buf));
        CHECK_STREQ(buf, "");
        CHECK(catalogctl_entity_of("system.update", &e) && e.kind == CATALOG_SYSTEM);
        CHECK_STREQ(e.key->option, "code");
        CHECK(e.key_col == 1 && e.station_col == 0 && e.version_col == catalog_version_column(CATALOG_SYSTEM));
        CHECK(catalogctl_entity_of("camera.count", &e) && e.key_col == 0 && e.station_col == 1);
        CHECK(!catalogctl_entity_of("location-types", &e));
        CHECK(!catalogctl_entity_of("cameras.add", &e));
}

int main(void)
{
        RUN(test_good_camera);
        RUN(test_camera_refusals);
        RUN(test_url_credentials);
        RUN(test_site_and_system);
        RUN(test_rejections_bounded);
        RUN(test_helpers);
        return 0;
}

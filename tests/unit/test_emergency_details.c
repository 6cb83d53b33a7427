/* Unit tests of lib/features/emergency_details.c: a station's linkage
 * report goes up without the reserved interfaces it linked (Art 19,
 * 29(2)): no URL, no host or port in a reason, no absolute control URL;
 * everything else as it was; a report with nothing to take out is left
 * alone; what is not a JSON array is refused. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "features/emergency_details.h"
#include "unit.h"

static const char report[] =
        "[{\"system\":\"mall\",\"url\":\"rtsp://192.168.7.7:8554/live\",\"outcome\":\"linked\",\"reason\":\"\","
        "\"streams\":[{\"media\":\"video\",\"codec\":\"H264\",\"control\":\"rtsp://192.168.7.7:8554/live/trackID=0\"},"
        "{\"media\":\"audio\",\"control\":\"trackID=1\"}],\"responsible_entity\":\"owner\",\"notification\":\"n\"},"
        "{\"system\":\"bank\",\"url\":\"rtsp://linkage:pw@cam-7.bank.example/x\",\"outcome\":\"refused\","
        "\"reason\":\"cannot connect to cam-7.bank.example:554: connection refused\",\"streams\":[]},"
        "{\"system\":\"hotel\",\"url\":\"rtsp://10.2.3.4:9000/a\",\"outcome\":\"refused\","
        "\"reason\":\"cannot connect to 10.2.3.4:9000: connection refused (10.2.3.40 not tried)\"}]";

static void test_strip(void)
{
        char *out = NULL;
        json_t *doc, *o;

        CHECK(emergency_details_strip(report, &out) == 1);
        CHECK(strstr(out, "rtsp://") == NULL);
        CHECK(strstr(out, "192.168.7.7") == NULL);
        CHECK(strstr(out, "cam-7.bank.example") == NULL);
        CHECK(strstr(out, "linkage") == NULL && strstr(out, "pw@") == NULL);
        CHECK(strstr(out, "10.2.3.4:") == NULL);
        doc = json_loads(out, 0, NULL);
        CHECK(json_is_array(doc) && json_array_size(doc) == 3);
        o = json_array_get(doc, 0);
        CHECK(json_object_get(o, "url") == NULL);
        CHECK_STREQ(json_string_value(json_object_get(o, "system")), "mall");
        CHECK_STREQ(json_string_value(json_object_get(o, "outcome")), "linked");
        CHECK_STREQ(json_string_value(json_object_get(o, "responsible_entity")), "owner");
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(o, "streams"), 0), "codec")),
                    "H264");
        CHECK(json_object_get(json_array_get(json_object_get(o, "streams"), 0), "control") == NULL);
        /* A relative control names no address: it stays. */
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(o, "streams"), 1), "control")),
                    "trackID=1");
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(doc, 1), "reason")),
                    "cannot connect to the reserved interface: connection refused");
        /* Whole names only: 10.2.3.40 is another host. */
        CHECK_STREQ(json_string_value(json_object_get(json_array_get(doc, 2), "reason")),
                    "cannot connect to the reserved interface: connection refused (10.2.3.40 not tried)");
        json_decref(doc);
        free(out);
}

static void test_nothing_to_strip(void)
{
        char *out = NULL;

        CHECK(emergency_details_strip("[]", &out) == 0 && out == NULL);
        CHECK(emergency_details_strip("[{\"system\":\"mall\",\"outcome\":\"linked\",\"streams\":[]}]", &out) == 0);
        CHECK(out == NULL);
        /* What it already stripped. */
        CHECK(emergency_details_strip(report, &out) == 1);
        {
                char *again = NULL;
                CHECK(emergency_details_strip(out, &again) == 0 && again == NULL);
        }
        free(out);
}

static void test_refused(void)
{
        char *out = NULL;

        CHECK(emergency_details_strip("{\"url\":\"rtsp://x/y\"}", &out) == -EINVAL);
        CHECK(emergency_details_strip("not json", &out) == -EINVAL);
        CHECK(out == NULL);
}

static void test_url_clean(void)
{
        char buf[128];

        CHECK_STREQ(emergency_details_url_clean("rtsp://u:p@10.0.0.1:554/a", buf, sizeof(buf)),
                    "rtsp://10.0.0.1:554/a");
        CHECK_STREQ(emergency_details_url_clean("rtsp://u:p@q@h/a@b", buf, sizeof(buf)), "rtsp://h/a@b");
        CHECK_STREQ(emergency_details_url_clean("rtsp://h/a", buf, sizeof(buf)), "rtsp://h/a");
        CHECK_STREQ(emergency_details_url_clean("no scheme", buf, sizeof(buf)), "no scheme");
}

int main(void)
{
        RUN(test_strip);
        RUN(test_nothing_to_strip);
        RUN(test_refused);
        RUN(test_url_clean);
        return 0;
}

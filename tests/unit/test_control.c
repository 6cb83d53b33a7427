/* Unit tests for lib/control/control.c's reply encoding (issue 17, fault
 * 5): a reply too large for one message is not dropped (the operator used
 * to wait for "no answer") but becomes a refusal that says so, with the
 * request's ID; a page's cursor travels. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "control/control.h"
#include "unit.h"
#include "wire/wire.h"

static Vigil__ControlReply *round_trip(Vigil__ControlReply *r)
{
        Vigil__Envelope env = VIGIL__ENVELOPE__INIT, *back = NULL;
        Vigil__ControlReply *out;
        uint8_t *buf;
        size_t len;
        char err[256];

        env.body_case = VIGIL__ENVELOPE__BODY_CONTROL_REPLY;
        env.control_reply = r;
        CHECK(control_reply_encode(&env, &buf, &len) == 0);
        CHECK(len <= WIRE_MAX_MESSAGE);
        CHECK(wire_decode_envelope(buf, len, &back, err, sizeof(err)) == 0);
        free(buf);
        CHECK(back->body_case == VIGIL__ENVELOPE__BODY_CONTROL_REPLY);
        out = back->control_reply;
        back->control_reply = NULL;
        back->body_case = VIGIL__ENVELOPE__BODY__NOT_SET;
        wire_envelope_free(back);
        return out;
}

static void test_small_reply_unchanged(void)
{
        Vigil__ControlReply r = VIGIL__CONTROL_REPLY__INIT, *got;

        r.has_request_id = 1;
        r.request_id = 7;
        r.has_status = 1;
        r.status = CONTROL_OK;
        r.json = "[{\"id\":\"1\"}]";
        r.next = "43010401001310000999";
        got = round_trip(&r);
        CHECK(got->request_id == 7 && got->status == CONTROL_OK);
        CHECK(strcmp(got->json, r.json) == 0);
        CHECK(got->next && strcmp(got->next, "43010401001310000999") == 0);
        vigil__control_reply__free_unpacked(got, NULL);
}

static void test_large_reply_refused_saying_why(void)
{
        Vigil__ControlReply r = VIGIL__CONTROL_REPLY__INIT, *got;
        size_t n = WIRE_MAX_MESSAGE + 100;
        char *big = malloc(n + 1);

        memset(big, 'x', n);
        big[n] = '\0';
        r.has_request_id = 1;
        r.request_id = 9;
        r.has_status = 1;
        r.status = CONTROL_OK;
        r.json = big;
        r.next = "cursor";
        got = round_trip(&r);
        CHECK(got->request_id == 9);
        CHECK(got->status == CONTROL_REFUSED);
        CHECK(!got->json && !got->next);
        CHECK(got->error && strstr(got->error, "larger than the 4 MiB") && strstr(got->error, "nothing was lost"));
        vigil__control_reply__free_unpacked(got, NULL);
        free(big);
}

int main(void)
{
        RUN(test_small_reply_unchanged);
        RUN(test_large_reply_refused_saying_why);
        return 0;
}

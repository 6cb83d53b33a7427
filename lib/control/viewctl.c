#include "control/viewctl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/nodeid.h"
#include "base/vtime.h"

/* The answer, to the officer who asked here (NULL: the node stops). */
static void viewctl_on_answer(void *arg, const struct view_answer *a)
{
        struct control_req *q = arg;
        const char *camera = q->arg_id;
        json_t *doc;

        if (!a) {
                free(q);
                return;
        }
        if (!a->granted) {
                char m[400];
                snprintf(m, sizeof(m), "%s", a->error ? a->error : "refused");
                control_reply(q, CONTROL_REFUSED, NULL, m, a->article);
                free(q);
                return;
        }
        doc = json_object();
        json_object_set_new(doc, "camera", json_string(camera));
        json_object_set_new(doc, "url", a->url ? json_string(a->url) : json_null());
        json_object_set_new(doc, "ticket", a->ticket ? json_string(a->ticket) : json_null());
        json_object_set_new(doc, "expires_at_us", json_integer(a->expires_at_us));
        {
                char iso[40];
                time_t s = (time_t)(a->expires_at_us / 1000000);
                struct tm tm;
                gmtime_r(&s, &tm);
                strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
                json_object_set_new(doc, "expires_at", json_string(iso));
        }
        json_object_set_new(doc, "station", a->station ? json_string(a->station) : json_null());
        control_reply(q, CONTROL_OK, doc, NULL, NULL);
        free(q);
}

static void viewctl_view(struct control_req *q)
{
        struct viewctl *vc = q->ctx;
        Vigil__ViewRequest r = VIGIL__VIEW_REQUEST__INIT;
        const char *camera = control_arg(q, "camera"), *action = control_arg(q, "action");
        const char *badge = control_badge(q);

        if (!camera || !nodeid_is_wellformed(camera)) {
                control_reply(q, CONTROL_USAGE, NULL, "view needs a camera ID (20 digits)", NULL);
                free(q);
                return;
        }
        if (!badge) {
                /* Art 29(2): no ticket without a grant, for admins neither;
                 * Art 23(5): the attempt is a record, here. */
                static const char why[] = "Art 29(2): views are for officers, each as themselves (--as); an admin "
                                          "gets none";
                view_log_refusal(vc->view, q->user, camera, action ? action : "view-live", "Art 29(2)", why);
                control_reply(q, CONTROL_REFUSED, NULL, "refused: Art 29(2): views are for officers, each as "
                              "themselves (--as); an admin gets none", "Art 29(2)");
                free(q);
                return;
        }
        r.has_request_id = 1;
        r.officer = (char *)badge;
        r.camera = (char *)camera;
        r.action = (char *)(action ? action : "view-live");
        r.entry_node = (char *)vc->view->d->cfg->node_id;
        /* Identity, not text: the key this officer authenticated with (the
         * grant names it), and the unit this node knows them by. */
        r.officer_key = q->key;
        r.officer_unit = (char *)officer_unit_of(vc->officers, badge);
        r.destination = (char *)control_arg(q, "destination");   /* copy, retrieve: Art 20(4) */
        if ((control_arg(q, "from") &&
             vtime_parse(control_arg(q, "from"), vtime_now_us(), &r.from_us) < 0) ||
            (control_arg(q, "to") && vtime_parse(control_arg(q, "to"), vtime_now_us(), &r.to_us) < 0)) {
                control_reply(q, CONTROL_USAGE, NULL, "--from and --to are times: YYYY-MM-DDTHH:MM:SSZ", NULL);
                free(q);
                return;
        }
        r.has_from_us = control_arg(q, "from") != NULL;
        r.has_to_us = control_arg(q, "to") != NULL;
        snprintf(q->arg_id, sizeof(q->arg_id), "%s", camera);
        view_request(vc->view, &r, viewctl_on_answer, q);
}

const struct control_command viewctl_commands[] = {
        { "view", viewctl_view },
        { NULL, NULL },
};

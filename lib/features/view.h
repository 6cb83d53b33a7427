/* view: `vigilctl view CAMERA` from any node. The request is routed down
 * by camera ID prefix, hop by hop over the links, to the station that owns
 * the camera, which alone decides (Art 19, 29(2): a live grant for this
 * officer, camera and action, or a refusal citing the article), logs it
 * (Art 23(5)) and answers with the stream URL and a ticket it signs; the
 * answer travels back the same way. A hop that gets no answer within
 * VIEW_TIMEOUT_MS says so. */
#pragma once

#include <stdint.h>
#include <uv.h>

#include "control/control.h"
#include "vigil.pb-c.h"

struct node;

#define VIEW_TIMEOUT_MS 5000

struct view_pending;

struct view {
        struct node *node;
        struct view_pending *pending;  /* requests sent down, awaiting their reply */
        uint64_t next_id;
        uv_timer_t timer;
        bool timer_init;
        unsigned long requests, granted, refused, timeouts;
};

int view_init(struct view *v, struct node *n);
void view_close(struct view *v);
/** A ViewRequest from the parent. */
void view_on_request(struct view *v, const Vigil__ViewRequest *r);
/** A ViewReply from child CHILD. */
void view_on_reply(struct view *v, const char *child, const Vigil__ViewReply *r);

extern const struct control_command view_commands[];

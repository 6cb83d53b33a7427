/* control: the control socket for vigilctl (ROUTER, CURVE server, ZAP domain
 * "control": only admin and officer keys get in). Each request is an
 * Envelope with a ControlRequest; the reply carries the JSON document of
 * CONTRACT.md. Commands are a table: name → handler. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zsock.h"

struct node;

struct control {
        struct node *node;
        struct zsock zs;
        bool open;
        unsigned long requests, malformed, oversize, wrong_origin;
};

int control_init(struct control *c, struct node *node);
void control_close(struct control *c);

/* control: the control socket for vigilctl (ROUTER, CURVE server, ZAP domain
 * "control": only admin and officer keys get in). Each request is an
 * Envelope with a ControlRequest; the reply carries the JSON document of
 * CONTRACT.md. Commands are a table: name → handler. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "vigil.pb-c.h"
#include "transport/zsock.h"

struct node;
struct db_tx;

struct control {
        struct node *node;
        struct zsock zs;
        bool open;
        unsigned long requests, malformed, oversize, unknown_body, wrong_origin;
        unsigned long withdrawn;    /* requests from a key no longer admitted */
};

int control_init(struct control *c, struct node *node);
void control_close(struct control *c);

enum { CONTROL_OK = 0, CONTROL_REFUSED = 1, CONTROL_USAGE = 2 };

/* One request being answered: where the reply goes. Handlers own it and
 * free() it once they have replied (possibly later, from a database
 * callback). `msg` is valid only during the handler's first call: copy
 * what a callback needs. */
struct control_req {
        struct control *c;
        uint8_t routing[256];
        size_t routing_len;
        uint64_t request_id;
        char user[128];             /* ZAP User-Id: "admin:…" */
        const Vigil__ControlRequest *msg;
        char arg_id[32], arg_name[64], arg_key[64];
        void *data;                 /* for the handler */
};

struct control_command {
        const char *name;           /* "camera.add" */
        void (*run)(struct control_req *q);
};

/** Refuse Q with ERROR (and ARTICLE, may be NULL), then free Q. */
void control_refuse(struct control_req *q, const char *error, const char *article);
/** A database callback (ARG is the request): reply with the JSON text in
 *  row 0, column 0 of statement 0, then free the request. A NULL value is
 *  "[]", unless Q->data names the refusal to give instead ("no such …"). */
void control_on_json_row(void *arg, struct db_tx *tx, int err, const char *msg);

/** The value of argument NAME (the first, if repeated), or NULL. */
const char *control_arg(const struct control_req *q, const char *name);
/** Send the reply: STATUS (CONTROL_*), the JSON document DOC on success
 *  (reference stolen), or ERROR and ARTICLE (may be NULL). Does not free Q. */
void control_reply(struct control_req *q, uint32_t status, json_t *doc, const char *error,
                   const char *article);

/* control: the control socket for vigilctl (ROUTER, CURVE server, ZAP domain
 * "control": only admin and officer keys get in). Each request is an
 * Envelope with a ControlRequest; the reply carries the JSON document of
 * CONTRACT.md. Commands are tables (name -> handler) that the command
 * groups (nodectl, catalogctl, accessctl, emergencyctl, viewctl) define
 * and the node adds, each with the context its handlers get (Q->ctx). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "base/keys.h"
#include "base/sqlarray.h"
#include "control/policy.h"
#include "transport/zsock.h"
#include "vigil.pb-c.h"

struct db;
struct db_tx;
struct control_command;

/* Who a request's key is now: "admin:…" or "officer:BADGE", the roles it
 * holds here (enum officer_role bits, or POLICY_ADMIN) and its unit (an
 * officer's; an admin's is this node). */
struct control_who {
        char user[128];
        unsigned roles;
        char unit[24];
};

/** Who the CURVE key KEY is now, into *RET; -EACCES if nobody (an officer
 *  made inactive since the connection opened). */
typedef int (*control_identify_fn)(void *arg, const char *key, struct control_who *ret);

#define CONTROL_MAX_TABLES 8

struct control {
        uv_loop_t *loop;
        const char *node_id;            /* borrowed: this node's ID */
        struct db *db;                  /* every command but status needs it up */
        control_identify_fn identify;
        void *identify_arg;
        struct zsock zs;
        bool open;
        struct {
                const struct control_command *commands;
                void *ctx;
                bool from_memory;
        } tables[CONTROL_MAX_TABLES];
        int n_tables;
        unsigned long requests, malformed, oversize, unknown_body, wrong_origin;
        unsigned long withdrawn;    /* requests from a key no longer admitted */
        unsigned long refused;      /* requests the policy refused (each in the access log) */
        unsigned long busy;         /* refused: too many of one identity's in flight */
        /* Requests being answered, per identity (control.c). */
        struct control_inflight {
                struct control_inflight *next;
                char key[KEYS_Z85_LEN + 1];
                int n;
                bool told;      /* its refusal is logged (once per flood) */
        } *inflight;
};

/** Bind ENDPOINT (CURVE server with KEYS' secret, in ZCTX, on LOOP);
 *  NODE_ID and DB are borrowed; IDENTIFY says who each request's key is.
 *  0 or -errno; control_close either way. */
int control_init(struct control *c, uv_loop_t *loop, void *zctx, const struct node_keys *keys,
                 const char *endpoint, const char *node_id, struct db *db, control_identify_fn identify,
                 void *identify_arg);
/** Add a table of commands (ending with a NULL name); its handlers get CTX
 *  as Q->ctx. Every command must have a rule in policy.c (aborts if one
 *  has none: it could never be run). While the node's database is unreachable they are refused
 *  at once, saying so (queued, they would run after the reconnect, when
 *  vigilctl has long said "no answer"). */
void control_add(struct control *c, const struct control_command *commands, void *ctx);
/** The same for commands that answer from memory (`status`): they are
 *  served while the database is unreachable. */
void control_add_from_memory(struct control *c, const struct control_command *commands, void *ctx);
void control_close(struct control *c);

enum { CONTROL_OK = 0, CONTROL_REFUSED = 1, CONTROL_USAGE = 2 };

/* Rows in one page of a listing (control_reply_page): well inside the
 * 4 MiB a reply may carry, whatever the rows hold. */
#define CONTROL_PAGE_ROWS 1000

/* One request being answered: where the reply goes. Handlers own it and
 * free() it once they have replied (possibly later, from a database
 * callback). `msg` is valid only during the handler's first call: copy
 * what a callback needs. */
struct control_req {
        struct control *c;
        void *ctx;                  /* the command table's context */
        uint8_t routing[256];
        size_t routing_len;
        uint64_t request_id;
        char user[128];             /* who: "admin:…", "officer:BADGE" */
        char key[KEYS_Z85_LEN + 1]; /* the connection's CURVE key (Z85): who, exactly */
        unsigned roles;             /* what they hold here (struct control_who) */
        char unit[24];              /* their unit (an admin's: this node) */
        enum policy_reach reach;    /* what a listing shows them (the policy decided) */
        const Vigil__ControlRequest *msg;
        char arg_id[32], arg_name[64], arg_key[64];
        void *data;                 /* for the handler */
        bool counted;               /* in its identity's requests in flight */
        int page_rows;              /* a listing's page: rows it holds (control_reply_page) */
};

struct control_command {
        const char *name;           /* "camera.add" */
        void (*run)(struct control_req *q);
};

/** Answer Q with DOC, a page of a listing: NEXT (may be NULL: the last
 *  page) is the cursor the client sends back as the argument `page` for the
 *  rows after it. Does not free Q. */
void control_reply_page(struct control_req *q, json_t *doc, const char *next);
/** Encode ENV (a ControlReply) into *RET_BUF: one too large for a message
 *  becomes a refusal that says so. 0 or a negative errno. */
int control_reply_encode(Vigil__Envelope *env, uint8_t **ret_buf, size_t *ret_len);
/** Refuse Q with ERROR (and ARTICLE, may be NULL), then free Q. */
void control_refuse(struct control_req *q, const char *error, const char *article);
/** The same, with the refusal written to this node's access log first (the
 *  command, `refused`, ARTICLE, ERROR as detail): for a refusal a handler
 *  decides itself, not its SQL. ARTICLE must be static. Only during the
 *  handler's first call (it reads Q->msg). */
void control_refuse_logged(struct control_req *q, const char *error, const char *article);
/** Refuse Q with STATUS (CONTROL_REFUSED or CONTROL_USAGE), ERROR and
 *  ARTICLE (may be NULL) once the refusal is a record in this node's
 *  access log as ACTION by whoever asked (Art 23(5)); frees Q (not
 *  Q->data). Unlike control_refuse_logged it needs nothing of the
 *  request's message, so a database callback may call it too. */
void control_refuse_recorded(struct control_req *q, const char *action, uint32_t status, const char *error,
                             const char *article);
/** Every value of Q's repeated argument NAME (also "a,b" lists) into RET
 *  (text). */
void control_args(const struct control_req *q, const char *name, struct sqlarray *ret);
/** A database callback (ARG is the request): reply with the JSON text in
 *  row 0, column 0 of statement 0, then free the request. A NULL value is
 *  "[]", unless Q->data names the refusal to give instead ("no such …").
 *  A column named `next` is a listing page's cursor (control_reply_page). */
void control_on_json_row(void *arg, struct db_tx *tx, int err, const char *msg);
/** Check the (ok, article, message, state) answer of statement 0 of TX
 *  (the schema's workflow functions answer so instead of raising, so that
 *  a refusal is logged in the same transaction): the state if ok; else
 *  refuse Q (with the article), free it and return NULL. */
const char *control_answer_state(struct control_req *q, struct db_tx *tx, int err, const char *msg);

/** The value of argument NAME (the first, if repeated), or NULL. */
const char *control_arg(const struct control_req *q, const char *name);
/** The caller's badge if an officer, else NULL (an admin). */
const char *control_badge(const struct control_req *q);
/** Whether the caller is an admin of this node. */
bool control_is_admin(const struct control_req *q);
/** Whether the caller holds any of ROLES (enum officer_role, POLICY_ADMIN). */
bool control_has_role(const struct control_req *q, unsigned roles);
/** Whether the caller holds right NAME (policy_allows) at this node. */
bool control_allows(const struct control_req *q, const char *name);
/** What a listing shows the caller, as its SQL parameter: "all", "unit"
 *  (what concerns their unit and below) or "own" (their own records). */
const char *control_reach(const struct control_req *q);
/** The prefix of the caller's unit (nodeid_prefix), into BUF (size >= 9);
 *  "" if none. Returns BUF. */
const char *control_unit_prefix(const struct control_req *q, char *buf);
/** Send the reply: STATUS (CONTROL_*), the JSON document DOC on success
 *  (reference stolen), or ERROR and ARTICLE (may be NULL). Does not free Q. */
void control_reply(struct control_req *q, uint32_t status, json_t *doc, const char *error,
                   const char *article);
/** The same for a refusal that names the RULE which refused it. */
void control_reply_rule(struct control_req *q, uint32_t status, const char *error, const char *article,
                        const char *rule);

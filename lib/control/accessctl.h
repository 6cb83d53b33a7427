/* accessctl: lawful access at a node (Art 19, 20, 23(5), 29(2)).
 *
 * Officers are registered by an admin of their unit's node (`officer add`)
 * and replicate up; the control socket admits them by their CURVE key
 * (ZAP User-Id "officer:BADGE"), from memory. A principal delegates to a
 * deputy (`delegation add`). Requests are filed, countersigned and decided
 * at the node where they are filed, by the SQL functions of
 * schema/007_access.sql, which check the articles and write every step,
 * refusals included, to the hash-chained access log (`audit list`,
 * `audit verify`). */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "control/control.h"
#include "base/ids.h"

struct node;
struct db_tx;

/* The officers this node admits: CURVE key -> badge. */
struct accessctl {
        struct node *node;
        struct accessctl_officer {
                char key[41];
                char badge[33];
                char unit[21];
        } *officers;
        size_t n;
        uv_timer_t reload;
        bool timer_init, loading;
        bool load_again;        /* asked while a load was in flight */
};

/** Start keeping the officer keys (loaded now and every few seconds, since
 *  officers also arrive from children). */
int accessctl_init(struct accessctl *a, struct node *n);
void accessctl_close(struct accessctl *a);
/** Officers are about to change (a transaction is being submitted): reload
 *  their keys once it has run. */
void accessctl_changed(struct accessctl *a);
/** ZAP: the badge of the officer whose key is KEY_Z85 (into RET, size N),
 *  or -EACCES. */
int accessctl_lookup(const struct accessctl *a, const char *key_z85, char *ret, size_t n);

/** Check the (ok, article, message, state) answer of statement 0 of TX
 *  (the workflow's SQL functions): the state if ok; else refuse Q (with
 *  the article), free it and return NULL. */
const char *accessctl_answer_state(struct control_req *q, struct db_tx *tx, int err, const char *msg);

/** The unit (node ID) of officer BADGE (borrowed), or NULL. */
const char *accessctl_unit_of(const struct accessctl *a, const char *badge);
/** The CURVE key of officer BADGE (borrowed), or NULL. */
const char *accessctl_key_of(const struct accessctl *a, const char *badge);

extern const struct control_command accessctl_commands[];

/* node: one vigild platform node, the one place that wires the layers
 * together (lib/README.md). It owns the libuv loop's handles, the ZeroMQ
 * context, the ZAP handler, the two database connections and the
 * modules, each with its own state; it tells each module what it needs
 * (delivery for what it carries, the officers for who gets in) and runs
 * the sweep that retries what a crash or a lost connection left undone. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/config.h"
#include "base/keys.h"
#include "control/accessctl.h"
#include "control/control.h"
#include "control/deadletterctl.h"
#include "control/nodectl.h"
#include "control/viewctl.h"
#include "delivery/delivery.h"
#include "features/audit.h"
#include "features/emergency.h"
#include "features/conferral.h"
#include "features/grant.h"
#include "features/officer.h"
#include "features/stream_gate.h"
#include "features/view.h"
#include "transport/zap.h"

struct db;

struct node {
        struct config cfg;
        struct node_keys keys;
        uv_loop_t *loop;
        void *zctx;
        struct zap zap;
        struct db *db;
        struct db *db_read;         /* outbox reads and trims, emergency status */
        char epoch[64];             /* this database's outbox epoch */
        /* the modules */
        struct delivery delivery;
        struct officer_roster officers;
        struct grant grant;
        struct conferral conferral;
        struct audit audit;
        struct emergency emergency;
        struct view view;
        struct stream_gate gate;
        struct control control;
        /* the command groups' contexts */
        struct nodectl nodectl;
        struct accessctl accessctl;
        struct viewctl viewctl;
        struct deadletterctl deadletterctl;
        struct deadletter_watch dead;   /* dead letters held here (issue 17) */
        /* the sweep: every 100 ms until the officers loaded once, then
         * every NODE_SWEEP_MS; at once after officers changed */
        uv_timer_t sweep;
        uv_signal_t sigterm, sigint, sighup;
        uint64_t started_ms;
        bool stopping;
        bool signals_init, zap_init, sweep_init;
};

/** `vigild --check`: keys load and PostgreSQL answers (changes nothing).
 *  0, or negative errno with a sentence in ERR. */
int node_check(const struct config *cfg, char *err, size_t errlen);
/** `vigild migrate`, before the daemon starts (blocking): as the owner
 *  (OWNER_CONNINFO: a libpq conninfo whose keys override those of
 *  [database] conninfo, whose user, password and passfile it does not
 *  take; e.g. "user=vigil_owner passfile=/etc/vigil/owner.pgpass"), apply
 *  the schema and make conninfo's user the daemon's role
 *  (migrate_daemon_role); then, as the daemon, check what it will check
 *  at start. *RET_APPLIED gets how many schema files were applied. 0, or
 *  negative errno with a sentence in ERR. */
int node_migrate(const struct config *cfg, const char *owner_conninfo, int *ret_applied, char *err,
                 size_t errlen);
/** Start-up (may block): load keys, connect to PostgreSQL (retrying for a
 *  while), check that the schema is current and the login is the daemon's
 *  role (migrate_check; it never migrates), load enrolled children. 0, or negative errno with
 *  a sentence in ERR. */
int node_init(struct node *n, uv_loop_t *loop, const struct config *cfg, char *err, size_t errlen);
/** The features' kinds of change and snapshot sections on N->delivery
 *  (delivery_init and trust_init done; N->cfg, N->keys set), in the order
 *  their sections go out: what node_init does after loading the keys, and
 *  tests/fuzz/fuzz_change.c to apply changes through the node's real
 *  table. Memory only. */
void node_register(struct node *n);
/** Bind sockets and start everything on the loop. */
int node_start(struct node *n, char *err, size_t errlen);
/** Begin a clean stop; the loop ends once every handle is closed. */
void node_stop(struct node *n);
void node_deinit(struct node *n);

/* officer: officers and delegations (Art 19, 20(2)). Officers are
 * registered by an admin of their unit's node and replicate up, so every
 * tier knows (and admits) the officers beneath it. This module keeps the
 * roster of keys this node admits (the control socket's ZAP handler asks
 * it, from memory), and registers the Officer and Delegation kinds (from
 * children: a child speaks only for units in its own subtree) and their
 * snapshot sections. The commands are control/accessctl.c; the rules are
 * in the schema, where the data lives. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "base/runonce.h"
#include "delivery/delivery.h"
#include "vigil.pb-c.h"

struct db_tx;

/* What the node asks to be told of. */
struct officer_hooks {
        void (*changed)(void *arg);     /* officers are about to change: reload once it ran */
        void (*loaded)(void *arg);      /* the roster was loaded */
        void *arg;
};

/* The roles an officer holds (officers.roles), as bits: what the control
 * socket's policy (control/policy.c) decides by. `admin` in an officer's
 * list is kept but grants nothing there: a node's administration is by the
 * keys in its [control] admin_keys, which are no officer's. */
enum officer_role {
        OFFICER_ROLE_OPERATOR = 1u << 0,
        OFFICER_ROLE_INVESTIGATOR = 1u << 1,
        OFFICER_ROLE_PRINCIPAL = 1u << 2,
        OFFICER_ROLE_DEPUTY = 1u << 3,
        OFFICER_ROLE_COMMANDER = 1u << 4,
        OFFICER_ROLE_REGISTRAR = 1u << 5,
        OFFICER_ROLE_AUDITOR = 1u << 6,
        OFFICER_ROLE_ADMIN = 1u << 7,
};

/** The bit of role NAME ("principal"), or 0 for none. */
unsigned officer_role_bit(const char *name);
/** The name of role BIT (one bit), or NULL. Static string. */
const char *officer_role_name(unsigned bit);
/** The bits of the comma-separated role names LIST (unknown names: none). */
unsigned officer_roles_parse(const char *list);
/** ROLES as "investigator,operator" into BUF (size N); "none" if 0. */
const char *officer_roles_format(unsigned roles, char *buf, size_t n);

/* The officers this node admits: CURVE key -> badge, unit and roles. */
struct officer_roster {
        struct delivery *d;
        struct officer_entry {
                char key[41];
                char badge[33];
                char unit[21];
                unsigned roles;         /* enum officer_role bits, as registered */
        } *list;
        size_t n;
        struct runonce loading;
        struct officer_hooks hooks;
};

/** Set R up on D, with HOOKS; registers the kinds and sections. */
void officer_init(struct officer_roster *r, struct delivery *d, const struct officer_hooks *hooks);
void officer_close(struct officer_roster *r);
/** Load the roster again (now and then: officers also arrive from
 *  children; at once after a change here). One load at a time; one asked
 *  for meanwhile follows. */
void officer_reload(struct officer_roster *r);
/** The badge of the officer whose key is KEY_Z85 (into RET, size N), or
 *  -EACCES. */
int officer_lookup(const struct officer_roster *r, const char *key_z85, char *ret, size_t n);
/** The unit (node ID) of officer BADGE (borrowed), or NULL. */
const char *officer_unit_of(const struct officer_roster *r, const char *badge);
/** The CURVE key of officer BADGE (borrowed), or NULL. */
const char *officer_key_of(const struct officer_roster *r, const char *badge);
/** The roles officer BADGE holds here (enum officer_role bits; 0 if not
 *  admitted). The one place a caller's roles are looked up: roles
 *  conferred from above are to be joined here too. */
unsigned officer_roles_of(const struct officer_roster *r, const char *badge);

/** The SELECT lists officer_encode_row / officer_delegation_encode_row
 *  expect. */
extern const char officer_columns[];
extern const char officer_delegation_columns[];

/** Encode an Officer change from its fields (ROLES comma-separated).
 *  Caller owns *RET. */
int officer_encode(const char *badge, const char *name, const char *unit, const char *credential,
                   const char *roles, const char *public_key, bool active, int64_t version, bool removed,
                   uint8_t **ret, size_t *ret_len);
/** Encode a Delegation change. Caller owns *RET. */
int officer_delegation_encode(const char *id, const char *unit, const char *principal, const char *deputy,
                      int64_t from_us, int64_t until_us, bool revoked, int64_t version, uint8_t **ret,
                      size_t *ret_len);
/** Encode row I of RES (officer_columns) as an Officer change. Caller owns
 *  *RET. REMOVED makes a tombstone with VERSION (< 0: the row's own). */
int officer_encode_row(const PGresult *res, int i, int64_t version, bool removed, uint8_t **ret, size_t *ret_len);
/** Encode row I of RES (officer_delegation_columns) as a Delegation
 *  change. */
int officer_delegation_encode_row(const PGresult *res, int i, uint8_t **ret, size_t *ret_len);

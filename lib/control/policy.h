/* policy: who may run each control command, and over which units' data
 * (issue 15, Deliver 4; Art 5, 24(1), 29(2)).
 *
 * One table (policy.c), one row per command: the roles that may run it
 * and, for each, a unit scope. control.c looks the row up and decides
 * before any handler runs; a refusal names the row and is written to this
 * node's access log (control.c). A command without a row cannot be run:
 * control_add() aborts at start on one, and tests/unit/test_policy.c walks
 * every command table. A listing a caller may see only part of gets the
 * part (policy_reach) and filters in its SQL.
 *
 * Officers replicate up, so a node admits every officer of its subtree:
 * the scope is what keeps a station's operator out of the city's records.
 * An admin (a key in [control] admin_keys) is not an officer: it runs the
 * node, its unit is the node, and it reads no investigation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "features/officer.h"

/* Roles a rule names: the officers' (enum officer_role), and POLICY_ADMIN,
 * the holder of an admin key of this node. An officer's own `admin` role
 * grants nothing here (officer.h). */
#define POLICY_ADMIN (1u << 8)
#define POLICY_OFFICERS (OFFICER_ROLE_OPERATOR | OFFICER_ROLE_INVESTIGATOR | OFFICER_ROLE_PRINCIPAL | \
                         OFFICER_ROLE_DEPUTY | OFFICER_ROLE_COMMANDER | OFFICER_ROLE_REGISTRAR | OFFICER_ROLE_AUDITOR)
#define POLICY_ANYONE (POLICY_OFFICERS | POLICY_ADMIN)

enum policy_scope {
        POLICY_ANYWHERE = 1,    /* whoever this node admits with the role; the command's own
                                 * rules (its SQL function) decide the rest */
        POLICY_HERE,            /* the caller's unit is this node or above it */
        POLICY_NODE_ARG,        /* the node the rule's argument names (else this node) lies at
                                 * or under the caller's unit: copies of logs held here */
        POLICY_UNIT,            /* admitted here; a listing shows what concerns the caller's
                                 * unit and the units below it */
        POLICY_OWN,             /* admitted here; a listing shows the caller's own records */
};

/* What a listing shows (passed to its SQL as 'all', 'unit' or 'own'). */
enum policy_reach { POLICY_REACH_ALL, POLICY_REACH_UNIT, POLICY_REACH_OWN };

struct policy_grant {
        unsigned roles;         /* any of these */
        enum policy_scope scope;
};

#define POLICY_MAX_GRANTS 4

struct policy_rule {
        const char *command;    /* "audit.list"; or a right a handler asks for ("catalog.addresses") */
        const char *article;    /* what a refusal cites, or NULL */
        const char *says;       /* who may, in words: the refusal's `rule` */
        const char *node_arg;   /* POLICY_NODE_ARG: the argument naming the node */
        struct policy_grant grants[POLICY_MAX_GRANTS];  /* the first that fits decides */
        /* The argument whose value a refusal's record keeps as its
         * request_id or emergency_id (a request's or an emergency's ID). */
        const char *request_arg, *emergency_arg;
};

/* Who asks: roles (officer_roles_of, or POLICY_ADMIN) and unit (an
 * officer's unit; an admin's is this node). */
struct policy_caller {
        unsigned roles;
        const char *unit;
};

/** Every rule, ending with a NULL command. */
extern const struct policy_rule policy_rules[];

/** The rule of COMMAND, or NULL: such a command cannot be run. */
const struct policy_rule *policy_rule_of(const char *command);
/** May CALLER run RULE at node SELF? NODE_ARG is the value of the rule's
 *  node_arg in the request (NULL: not given). 0 with *RET_REACH (what a
 *  listing shows), or -EACCES (untouched). */
int policy_decide(const struct policy_rule *rule, const char *self, const struct policy_caller *caller,
                  const char *node_arg, enum policy_reach *ret_reach);
/** Whether CALLER holds right NAME (a rule that is no command) at SELF. */
bool policy_allows(const char *name, const char *self, const struct policy_caller *caller);
/** "all", "unit" or "own": a listing's SQL parameter. Static string. */
const char *policy_reach_name(enum policy_reach reach);
/** ROLES (officer bits and POLICY_ADMIN) as "admin,auditor" into BUF. */
const char *policy_roles_format(unsigned roles, char *buf, size_t n);

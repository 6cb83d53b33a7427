#include "control/policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/nodeid.h"

/* Shorthands for the table. */
#define OP OFFICER_ROLE_OPERATOR
#define INV OFFICER_ROLE_INVESTIGATOR
#define PRI OFFICER_ROLE_PRINCIPAL
#define DEP OFFICER_ROLE_DEPUTY
#define CMD OFFICER_ROLE_COMMANDER
#define REG OFFICER_ROLE_REGISTRAR
#define AUD OFFICER_ROLE_AUDITOR
#define ADM POLICY_ADMIN

/* A row: command, article, who in words, the node argument, then its
 * grants ({ roles, scope }, the first that fits decides). */
#define RULE_FIELDS(cmd, art, who, arg, ...) \
        .command = (cmd), .article = (art), .says = (who), .node_arg = (arg), .grants = { __VA_ARGS__ }
#define RULE(...) { RULE_FIELDS(__VA_ARGS__) }

/* Who may run what (README.md "Who may run what" is this table in words;
 * keep the two alike). The first grant whose roles and scope fit decides.
 *
 * * Records (the access log, requests, officers with their credential
 *   numbers, delegations, emergency reports: Art 5, 23(5), 24(1)) are for
 *   the auditors and principals of the unit and of the units above it.
 *   Principals of a unit below, and their deputies while a delegation is
 *   live, see the requests they may decide (every camera under their
 *   unit, Art 19); principals and deputies the delegations naming them;
 *   investigators the requests that name them.
 * * Operators get what their duty needs (Art 23(4)): the tree, the status,
 *   the catalog without source addresses, views (decided at the station).
 * * Admins run the node: enrol and remove children, register and end
 *   officers, hold credentials, check the log's integrity (counts and
 *   hashes, not its records). An admin is no officer: no view (Art 29(2)),
 *   no request, no investigation's records.
 * * Writes the schema decides (request, approve, declare…) name the roles
 *   that may try; their SQL functions check the rest, where the data is.
 *
 * A new command adds its row here, beside its group's. */
const struct policy_rule policy_rules[] = {
        /* nodectl */
        RULE("status", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("tree", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("node.enroll", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),
        RULE("node.remove", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),
        RULE("link.probe", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),
        /* deadletterctl: what the links could not apply (issue 17) */
        RULE("deadletter.list", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),
        RULE("deadletter.retry", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),
        RULE("deadletter.discard", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),

        /* catalogctl: writes at the owning station (its handlers check the tier) */
        RULE("site.add", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("site.update", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("site.remove", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("site.import", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("system.add", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("system.update", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("system.remove", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("system.import", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("camera.add", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("camera.update", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("camera.remove", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        RULE("camera.import", NULL, "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),
        /* Reads: the catalog is shared (Art 4), its source addresses are not. */
        RULE("site.show", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("site.list", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("system.show", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("system.list", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("camera.show", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("camera.list", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("camera.count", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        RULE("location-types", NULL, "anyone this node admits", NULL, { POLICY_ANYONE, POLICY_ANYWHERE }),
        /* A right, not a command: stream_url and reserved_interface in the
         * answers of show and list (Art 5; a source address never leaves
         * its station, CONTRACT.md). */
        RULE("catalog.addresses", "Art 5", "an admin or registrar of this node", NULL, { ADM | REG, POLICY_HERE }),

        /* accessctl: officers and delegations */
        RULE("officer.add", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),
        RULE("officer.deactivate", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),
        RULE("officer.reactivate", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),
        /* Powers come from above (Art 19): conferral_confer checks that the
         * officer's unit is directly below (or, at the city, two admins). */
        RULE("officer.confer", "Art 19", "an admin of this node, for an officer of the unit below", NULL,
             { ADM, POLICY_HERE }),
        RULE("officer.unconfer", "Art 19", "an admin of this node, for an officer of the unit below", NULL,
             { ADM, POLICY_HERE }),
        RULE("officer.conferrals", "Art 19", "admins, auditors and principals of this node or above", NULL,
             { ADM | AUD | PRI, POLICY_HERE }),
        RULE("officer.list", "Art 5", "auditors and principals of this node or above; an admin the officers "
             "registered here", NULL, { AUD | PRI, POLICY_HERE }, { ADM, POLICY_OWN }),
        RULE("delegation.add", "Art 19", "a principal, as themselves", NULL, { PRI, POLICY_ANYWHERE }),
        RULE("delegation.revoke", "Art 19", "a principal, as themselves", NULL, { PRI, POLICY_ANYWHERE }),
        RULE("delegation.list", "Art 5", "auditors and principals of this node or above; principals and deputies "
             "the delegations naming them; an admin those registered here", NULL,
             { AUD | PRI, POLICY_HERE }, { PRI | DEP, POLICY_OWN }, { ADM, POLICY_OWN }),

        /* accessctl: requests (Art 20) and decisions (Art 19) */
        RULE("access.request", "Art 20(1)", "an investigator, as themselves", NULL, { INV, POLICY_ANYWHERE }),
        { RULE_FIELDS("access.countersign", "Art 20(1)", "an investigator, as themselves", NULL,
                      { INV, POLICY_ANYWHERE }), .request_arg = "id" },
        { RULE_FIELDS("access.approve", "Art 19", "a principal or deputy, as themselves", NULL,
                      { PRI | DEP, POLICY_ANYWHERE }), .request_arg = "id" },
        { RULE_FIELDS("access.deny", "Art 19", "a principal or deputy, as themselves", NULL,
                      { PRI | DEP, POLICY_ANYWHERE }), .request_arg = "id" },
        { RULE_FIELDS("access.revoke", "Art 19", "a principal or deputy, as themselves", NULL,
                      { PRI | DEP, POLICY_ANYWHERE }), .request_arg = "id" },
        RULE("access.list", "Art 5", "auditors and principals of this node or above; a principal of a unit "
             "below, or its deputy while delegated, the requests for its cameras; investigators the requests "
             "naming them", NULL,
             { AUD | PRI, POLICY_HERE }, { PRI | DEP, POLICY_UNIT }, { INV, POLICY_OWN }),

        /* accessctl: the access log (Art 23(5)) */
        RULE("audit.list", "Art 5", "auditors and principals of the log's node or above", "node",
             { AUD | PRI, POLICY_NODE_ARG }),
        RULE("audit.verify", "Art 5", "auditors and principals of the log's node or above, or an admin of this "
             "node", "node", { AUD | PRI | ADM, POLICY_NODE_ARG }),
        /* checkpoints are checked against records vigilctl fetches and
         * recomputes (audit.records): the records themselves, so no admin. */
        RULE("audit.checkpoints", "Art 5", "auditors and principals of the log's node or above", "node",
             { AUD | PRI, POLICY_NODE_ARG }),
        RULE("audit.records", "Art 5", "auditors and principals of the log's node or above", "node",
             { AUD | PRI, POLICY_NODE_ARG }),

        /* viewctl: the station decides (Art 19, 20, 29(2)) */
        RULE("view", "Art 29(2)", "officers, each as themselves (an admin gets no view)", NULL,
             { POLICY_OFFICERS, POLICY_ANYWHERE }),

        /* emergencyctl (Art 13, 19) */
        RULE("emergency.declare", "Art 19", "a commander, as themselves", NULL, { CMD, POLICY_ANYWHERE }),
        { RULE_FIELDS("emergency.end", "Art 19", "a commander, as themselves", NULL, { CMD, POLICY_ANYWHERE }),
          .emergency_arg = "id" },
        { RULE_FIELDS("emergency.status", "Art 5", "commanders, principals, auditors and operators of this node "
                      "or above", NULL, { CMD | PRI | AUD | OP, POLICY_HERE }), .emergency_arg = "id" },
        { RULE_FIELDS("emergency.report", "Art 5", "commanders, principals and auditors of this node or above",
                      NULL, { CMD | PRI | AUD, POLICY_HERE }), .emergency_arg = "id" },
        RULE("system.credentials", NULL, "an admin of this node", NULL, { ADM, POLICY_HERE }),

        { .command = NULL },
};

const struct policy_rule *policy_rule_of(const char *command)
{
        const struct policy_rule *r;

        for (r = policy_rules; command && r->command; r++)
                if (strcmp(r->command, command) == 0)
                        return r;
        return NULL;
}

/* Whether node ID lies at or under the caller's unit. */
static bool policy_under(const char *id, const struct policy_caller *c)
{
        return id && c->unit && nodeid_is_wellformed(c->unit) && nodeid_under(id, c->unit);
}

int policy_decide(const struct policy_rule *rule, const char *self, const struct policy_caller *caller,
                  const char *node_arg, enum policy_reach *ret_reach)
{
        const struct policy_grant *g;

        for (g = rule->grants; g < rule->grants + POLICY_MAX_GRANTS && g->roles; g++) {
                enum policy_reach reach = POLICY_REACH_ALL;

                if (!(g->roles & caller->roles))
                        continue;
                switch (g->scope) {
                case POLICY_ANYWHERE:
                        break;
                case POLICY_HERE:
                        if (!policy_under(self, caller))
                                continue;
                        break;
                case POLICY_NODE_ARG:
                        if (!policy_under(node_arg ? node_arg : self, caller))
                                continue;
                        break;
                case POLICY_UNIT:
                        reach = POLICY_REACH_UNIT;
                        break;
                case POLICY_OWN:
                        reach = POLICY_REACH_OWN;
                        break;
                default:
                        continue;
                }
                *ret_reach = reach;
                return 0;
        }
        return -EACCES;
}

bool policy_allows(const char *name, const char *self, const struct policy_caller *caller)
{
        const struct policy_rule *r = policy_rule_of(name);
        enum policy_reach reach;

        return r && policy_decide(r, self, caller, NULL, &reach) == 0 && reach == POLICY_REACH_ALL;
}

const char *policy_reach_name(enum policy_reach reach)
{
        return reach == POLICY_REACH_UNIT ? "unit" : reach == POLICY_REACH_OWN ? "own" : "all";
}

const char *policy_roles_format(unsigned roles, char *buf, size_t n)
{
        size_t len;

        if (!(roles & POLICY_ADMIN))
                return officer_roles_format(roles & POLICY_OFFICERS, buf, n);
        len = (size_t)snprintf(buf, n, "admin");
        if ((roles & POLICY_OFFICERS) && len + 1 < n) {
                buf[len++] = ',';
                officer_roles_format(roles & POLICY_OFFICERS, buf + len, n - len);
        }
        return buf;
}

/* Unit tests for lib/control/policy.c: every command the node serves has a
 * rule, and the scopes decide as README.md "Who may run what" says. */
#include <errno.h>

#include "control/accessctl.h"
#include "control/catalogctl.h"
#include "control/emergencyctl.h"
#include "control/nodectl.h"
#include "control/policy.h"
#include "control/viewctl.h"
#include "unit.h"

#define CITY     "43010000002000000001"
#define YUELU    "43010400002000000001"
#define FURONG   "43010200002000000001"
#define YUELU_1  "43010401002000000001"
#define FURONG_1 "43010201002000000001"

/* The tables node.c adds to the control socket (lib/node.c). */
static const struct control_command *const tables[] = {
        nodectl_memory_commands, nodectl_commands, catalogctl_commands, accessctl_commands, viewctl_commands,
        emergencyctl_commands, NULL,
};

static void test_every_command_has_a_rule(void)
{
        int n = 0;

        for (int i = 0; tables[i]; i++)
                for (const struct control_command *t = tables[i]; t->name; t++, n++) {
                        const struct policy_rule *r = policy_rule_of(t->name);
                        if (!r)
                                fprintf(stderr, "command %s has no rule in lib/control/policy.c\n", t->name);
                        CHECK(r != NULL);
                        CHECK(r->says && r->says[0]);
                        CHECK(r->grants[0].roles != 0);
                        /* A scope of the node an argument names needs the argument. */
                        for (int g = 0; g < POLICY_MAX_GRANTS && r->grants[g].roles; g++)
                                CHECK(r->grants[g].scope != POLICY_NODE_ARG || r->node_arg);
                }
        CHECK(n > 40);
        CHECK(policy_rule_of("no.such.command") == NULL);
        CHECK(policy_rule_of(NULL) == NULL);
}

/* Each rule once: a second row for a name would never be read. */
static void test_rules_unique(void)
{
        for (const struct policy_rule *a = policy_rules; a->command; a++)
                for (const struct policy_rule *b = a + 1; b->command; b++)
                        CHECK(strcmp(a->command, b->command) != 0);
}

static int decide(const char *command, const char *self, unsigned roles, const char *unit, const char *node_arg,
                  enum policy_reach *reach)
{
        struct policy_caller c = { roles, unit };
        enum policy_reach r = POLICY_REACH_ALL;
        int rc = policy_decide(policy_rule_of(command), self, &c, node_arg, &r);

        if (reach)
                *reach = r;
        return rc;
}

static void test_here(void)
{
        enum policy_reach reach;

        /* The city's log: its auditor, not a station's operator or auditor, nor a district's. */
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, CITY, NULL, &reach) == 0 && reach == POLICY_REACH_ALL);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_OPERATOR, YUELU_1, NULL, NULL) == -EACCES);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, YUELU_1, NULL, NULL) == -EACCES);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, YUELU, NULL, NULL) == -EACCES);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_PRINCIPAL, CITY, NULL, NULL) == 0);
        /* A role the rule does not name, at the right unit. */
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_OPERATOR | OFFICER_ROLE_INVESTIGATOR, CITY, NULL, NULL)
              == -EACCES);
        CHECK(decide("emergency.report", CITY, OFFICER_ROLE_OPERATOR, CITY, NULL, NULL) == -EACCES);
        CHECK(decide("emergency.report", YUELU_1, OFFICER_ROLE_AUDITOR, CITY, NULL, NULL) == 0);  /* above */
        CHECK(decide("emergency.status", CITY, OFFICER_ROLE_OPERATOR, CITY, NULL, NULL) == 0);
        CHECK(decide("emergency.status", CITY, OFFICER_ROLE_OPERATOR, YUELU_1, NULL, NULL) == -EACCES);
        /* No unit (an officer the roster lost), a malformed one. */
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, "", NULL, NULL) == -EACCES);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, NULL, NULL, NULL) == -EACCES);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, "4301", NULL, NULL) == -EACCES);
}

static void test_node_arg(void)
{
        /* A district's auditor at the city: its stations' copies, not another district's. */
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, YUELU, YUELU_1, NULL) == 0);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, YUELU, YUELU, NULL) == 0);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, YUELU, FURONG_1, NULL) == -EACCES);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, YUELU, CITY, NULL) == -EACCES);
        CHECK(decide("audit.list", CITY, OFFICER_ROLE_AUDITOR, YUELU, "not a node", NULL) == -EACCES);
        CHECK(decide("audit.verify", CITY, OFFICER_ROLE_AUDITOR, CITY, FURONG_1, NULL) == 0);
        /* An admin (unit: its node) checks integrity, reads no records. */
        CHECK(decide("audit.verify", CITY, POLICY_ADMIN, CITY, FURONG_1, NULL) == 0);
        CHECK(decide("audit.checkpoints", CITY, POLICY_ADMIN, CITY, NULL, NULL) == -EACCES);   /* it reads the records */
        CHECK(decide("audit.records", CITY, POLICY_ADMIN, CITY, NULL, NULL) == -EACCES);
        CHECK(decide("audit.records", CITY, OFFICER_ROLE_AUDITOR, CITY, FURONG_1, NULL) == 0);
        CHECK(decide("audit.list", CITY, POLICY_ADMIN, CITY, NULL, NULL) == -EACCES);
}

static void test_reach(void)
{
        enum policy_reach reach;

        /* Requests: all for the city's auditor; for the yuelu principal at
         * the city, those of yuelu's cameras; for an investigator, their own. */
        CHECK(decide("access.list", CITY, OFFICER_ROLE_AUDITOR, CITY, NULL, &reach) == 0 && reach == POLICY_REACH_ALL);
        CHECK(decide("access.list", CITY, OFFICER_ROLE_PRINCIPAL, YUELU, NULL, &reach) == 0 &&
              reach == POLICY_REACH_UNIT);
        CHECK(decide("access.list", CITY, OFFICER_ROLE_PRINCIPAL, CITY, NULL, &reach) == 0 &&
              reach == POLICY_REACH_ALL);
        CHECK(decide("access.list", CITY, OFFICER_ROLE_INVESTIGATOR, YUELU_1, NULL, &reach) == 0 &&
              reach == POLICY_REACH_OWN);
        CHECK(decide("access.list", CITY, OFFICER_ROLE_INVESTIGATOR | OFFICER_ROLE_AUDITOR, CITY, NULL, &reach) == 0
              && reach == POLICY_REACH_ALL);
        CHECK(decide("access.list", CITY, OFFICER_ROLE_OPERATOR, CITY, NULL, NULL) == -EACCES);
        CHECK(decide("access.list", CITY, POLICY_ADMIN, CITY, NULL, NULL) == -EACCES);
        /* Officers: an admin those registered at its node. */
        CHECK(decide("officer.list", CITY, POLICY_ADMIN, CITY, NULL, &reach) == 0 && reach == POLICY_REACH_OWN);
        CHECK(decide("officer.list", CITY, OFFICER_ROLE_OPERATOR, YUELU_1, NULL, NULL) == -EACCES);
        CHECK(decide("delegation.list", CITY, OFFICER_ROLE_DEPUTY, YUELU, NULL, &reach) == 0 &&
              reach == POLICY_REACH_OWN);
}

static void test_admin_and_officers(void)
{
        struct policy_caller admin = { POLICY_ADMIN, YUELU_1 }, registrar = { OFFICER_ROLE_REGISTRAR, YUELU_1 };
        struct policy_caller op = { OFFICER_ROLE_OPERATOR, YUELU_1 };

        /* Art 29(2): an admin gets no view; any officer may ask (the station decides). */
        CHECK(decide("view", YUELU_1, POLICY_ADMIN, YUELU_1, NULL, NULL) == -EACCES);
        CHECK(decide("view", CITY, OFFICER_ROLE_OPERATOR, YUELU_1, NULL, NULL) == 0);
        CHECK(strcmp(policy_rule_of("view")->article, "Art 29(2)") == 0);
        /* Node administration is the admin's, not an officer's (even one listed as "admin"). */
        CHECK(decide("node.enroll", CITY, POLICY_ADMIN, CITY, NULL, NULL) == 0);
        CHECK(decide("node.enroll", CITY, OFFICER_ROLE_ADMIN | OFFICER_ROLE_PRINCIPAL, CITY, NULL, NULL) == -EACCES);
        CHECK(decide("officer.add", CITY, OFFICER_ROLE_AUDITOR, CITY, NULL, NULL) == -EACCES);
        CHECK(decide("access.request", CITY, POLICY_ADMIN, CITY, NULL, NULL) == -EACCES);
        CHECK(decide("access.approve", CITY, OFFICER_ROLE_INVESTIGATOR, CITY, NULL, NULL) == -EACCES);
        CHECK(decide("emergency.declare", CITY, OFFICER_ROLE_PRINCIPAL, CITY, NULL, NULL) == -EACCES);
        /* The catalog: writes for admins and registrars; addresses likewise. */
        CHECK(decide("camera.add", YUELU_1, OFFICER_ROLE_REGISTRAR, YUELU_1, NULL, NULL) == 0);
        CHECK(decide("camera.add", YUELU_1, OFFICER_ROLE_OPERATOR, YUELU_1, NULL, NULL) == -EACCES);
        CHECK(decide("camera.list", CITY, OFFICER_ROLE_OPERATOR, YUELU_1, NULL, NULL) == 0);
        CHECK(policy_allows("catalog.addresses", YUELU_1, &admin));
        CHECK(policy_allows("catalog.addresses", YUELU_1, &registrar));
        CHECK(!policy_allows("catalog.addresses", YUELU_1, &op));
        CHECK(!policy_allows("no.such.right", YUELU_1, &admin));
}

static void test_names(void)
{
        char buf[128];

        CHECK_STREQ(policy_roles_format(POLICY_ADMIN, buf, sizeof(buf)), "admin");
        CHECK_STREQ(policy_roles_format(OFFICER_ROLE_INVESTIGATOR | OFFICER_ROLE_OPERATOR, buf, sizeof(buf)),
                    "operator,investigator");
        CHECK_STREQ(policy_roles_format(0, buf, sizeof(buf)), "none");
        CHECK(officer_roles_parse("investigator,operator") == (OFFICER_ROLE_INVESTIGATOR | OFFICER_ROLE_OPERATOR));
        CHECK(officer_roles_parse("auditor,,nonsense") == OFFICER_ROLE_AUDITOR);
        CHECK(officer_roles_parse("") == 0);
        CHECK(officer_role_bit("principal") == OFFICER_ROLE_PRINCIPAL);
        CHECK_STREQ(policy_reach_name(POLICY_REACH_OWN), "own");
}

int main(void)
{
        RUN(test_every_command_has_a_rule);
        RUN(test_rules_unique);
        RUN(test_here);
        RUN(test_node_arg);
        RUN(test_reach);
        RUN(test_admin_and_officers);
        RUN(test_names);
        return 0;
}

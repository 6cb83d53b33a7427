/* catalogctl: the command table, and what every command asks first: which
 * entity it is about, and whether this node and user may write it. */
#include "control/catalogctl/impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "delivery/delivery.h"

bool catalogctl_entity_of(const char *command, struct catalogctl_entity *ret)
{
        for (int k = CATALOG_SITE; k <= CATALOG_ENTITY_LAST; k++) {
                const struct catalog_entity *e = catalog_entity((enum catalog_kind)k);
                size_t l = strlen(e->name);
                if (strncmp(command, e->name, l) != 0 || command[l] != '.')
                        continue;
                ret->e = e;
                ret->kind = e->kind;
                ret->key_col = ret->station_col = ret->version_col = -1;
                for (int c = 0; c < e->ncolumns; c++) {
                        if (e->columns[c].role == CATALOG_KEY)
                                ret->key_col = c;
                        else if (e->columns[c].role == CATALOG_STATION)
                                ret->station_col = c;
                        else if (e->columns[c].role == CATALOG_VERSION)
                                ret->version_col = c;
                }
                ret->key = &e->columns[ret->key_col];
                return true;
        }
        return false;
}

struct delivery *catalogctl_delivery(const struct control_req *q)
{
        return q->ctx;
}

bool catalogctl_station_only(struct control_req *q, const char *what)
{
        struct delivery *n = catalogctl_delivery(q);
        char e[200];

        /* Who (an admin or registrar of this node) the policy decided. */
        if (n->cfg->tier == TIER_STATION && control_has_role(q, POLICY_ADMIN | OFFICER_ROLE_REGISTRAR))
                return true;
        if (n->cfg->tier != TIER_STATION)
                snprintf(e, sizeof(e), "refused: only the owning station %ss the catalog; this node is a %s "
                         "(Art 4: no node re-registers what another owns)", what, tier_name(n->cfg->tier));
        else
                snprintf(e, sizeof(e), "refused: only an admin or registrar of this station %ss the catalog", what);
        control_refuse_logged(q, e, NULL);      /* an attempt is never silent */
        return false;
}

const struct control_command catalogctl_commands[] = {
        { "site.add", catalogctl_add },
        { "site.update", catalogctl_update },
        { "site.remove", catalogctl_remove },
        { "site.show", catalogctl_show },
        { "site.list", catalogctl_list },
        { "site.import", catalogctl_import },
        { "system.add", catalogctl_add },
        { "system.update", catalogctl_update },
        { "system.remove", catalogctl_remove },
        { "system.show", catalogctl_show },
        { "system.list", catalogctl_list },
        { "system.import", catalogctl_import },
        { "camera.add", catalogctl_add },
        { "camera.update", catalogctl_update },
        { "camera.remove", catalogctl_remove },
        { "camera.show", catalogctl_show },
        { "camera.list", catalogctl_list },
        { "camera.count", catalogctl_count },
        { "camera.import", catalogctl_import },
        { "location-types", catalogctl_location_types },
        { NULL, NULL },
};

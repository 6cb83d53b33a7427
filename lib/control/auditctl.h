/* auditctl: the access log's records, whole, for a client that checks
 * them itself (`audit.records`): `vigilctl audit checkpoints` recomputes
 * the hash chain from what it fetches here and checks it against the
 * node's signed checkpoints, trusting neither the node asked nor its
 * database (issue 15; Art 23(5)). */
#pragma once

#include "control/control.h"
#include "delivery/delivery.h"

/* The context: the node's delivery (its database and its ID), borrowed. */
extern const struct control_command auditctl_commands[];

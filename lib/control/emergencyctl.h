/* emergencyctl: the emergency commands (Art 13, 19): a commander declares
 * an emergency over a subtree and ends it, anyone admitted follows its
 * status and reads its after-action report; an admin of a station holds
 * the credentials of a system's reserved interface (never replicated).
 * The orders themselves are features/emergency.c. */
#pragma once

#include "control/control.h"
#include "features/emergency.h"

/* The commands' context is the node's struct emergency. */
extern const struct control_command emergencyctl_commands[];

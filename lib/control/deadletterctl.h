/* deadletterctl: `vigilctl deadletter list | retry ID | discard ID --reason
 * TEXT` (issue 17, known fault 1): the changes this node's links could not
 * apply, kept whole in dead_letters (delivery/deadletter.h). A retry
 * applies the stored bytes again through the kinds' table, as they came
 * from the peer, in one transaction that also marks the letter retried
 * (and refuses, changing nothing, if it fails again); a discard keeps the
 * letter, marked with who, when and why. Both are on the access log. */
#pragma once

#include "control/control.h"
#include "delivery/deadletter.h"
#include "delivery/delivery.h"

/* The context: the node's delivery (its kinds, links and database) and
 * its dead letters' watch (counted again after a retry or discard);
 * borrowed. */
struct deadletterctl {
        struct delivery *d;
        struct deadletter_watch *watch;
};

extern const struct control_command deadletterctl_commands[];

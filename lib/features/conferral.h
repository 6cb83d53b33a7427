/* conferral: powers conferred from above (Art 19, issue 15 Deliver 2).
 *
 * The roles that approve and declare (principal, commander) are conferred
 * on an officer by an admin of the node directly above the officer's unit
 * (at the city, by two distinct admins: schema/functions/access.sql,
 * conferral_confer), and carried down to the unit's node as a Conferral
 * change, where officer_has_power() counts them. Everything that encodes,
 * sends and applies a Conferral is in this file, so that signing it
 * (Conferral.signer, .signature) is in one place: the conferring node
 * signs each one as it encodes it (it is the decider, so a snapshot is
 * signed afresh), and the unit's node applies only one signed by the node
 * that conferred it, an ancestor whose key it holds (features/signed.h).
 *
 * Sent like grants: the command commits the row; conferral_dispatch sends
 * what is not yet sent (after the command and on every sweep), so a crash
 * in between loses nothing. A child without our state gets the live
 * conferrals of its officers in its snapshot. */
#pragma once

#include <stdbool.h>

#include "base/keys.h"
#include "base/runonce.h"
#include "delivery/delivery.h"

struct conferral {
        struct delivery *d;
        const struct node_keys *keys;  /* the conferring node signs (Art 19) */
        void (*changed)(void *arg);    /* a conferral is about to be applied: reload the roster */
        void *changed_arg;
        struct runonce dispatching;
        unsigned long sent, refused;
};

/** Set C up on D: registers the kind (from the parent) and the section
 *  going down. KEYS (borrowed) sign what is conferred here; CHANGED(ARG)
 *  is told when one from the parent is applied (the roles the roster
 *  admits by change with it). */
void conferral_init(struct conferral *c, struct delivery *d, const struct node_keys *keys,
                    void (*changed)(void *arg), void *arg);
/** Send down what was conferred or revoked here and not yet sent. One at a
 *  time; one asked for meanwhile follows. */
void conferral_dispatch(struct conferral *c);

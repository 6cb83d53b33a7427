/* accessctl: the commands of lawful access at a node (Art 19, 20, 23(5),
 * 29(2)): officers and delegations (`officer add|list|deactivate|
 * reactivate`, `delegation add|list|revoke`), requests and decisions
 * (`access request|countersign|approve|deny|revoke|list`) and the access
 * log (`audit list|verify|checkpoints`). Requests are filed, countersigned
 * and decided at the node where they are filed, by the schema's workflow
 * functions, which check the articles and write every step, refusals
 * included, to the hash-chained access log. */
#pragma once

#include "control/control.h"
#include "delivery/delivery.h"
#include "features/audit.h"
#include "features/conferral.h"
#include "features/grant.h"
#include "features/officer.h"

/* The commands' context: the node's parts they act on, borrowed. */
struct accessctl {
        struct delivery *d;
        struct officer_roster *officers;    /* reloaded after a change here */
        struct grant *grant;                /* a decision goes down at once */
        struct conferral *conferral;        /* so does a conferral */
        struct audit *audit;                /* the log of it, up */
};

extern const struct control_command accessctl_commands[];

/** The time OPTION ("--until") was given as S (vtime_parse: ISO 8601 UTC or
 *  a duration from NOW_US) into *RET. On failure *RET is untouched and ERR
 *  (size ERRLEN) says why, naming the option and the value: -EINVAL (not a
 *  time) or -ERANGE (a time outside 1970-01-01 .. 9999-12-31, as a
 *  duration of "99999999999d" is). */
int accessctl_parse_time(const char *option, const char *s, int64_t now_us, int64_t *ret, char *err,
                         size_t errlen);

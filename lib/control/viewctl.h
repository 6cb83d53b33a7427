/* viewctl: `vigilctl view CAMERA [--action A] [--from T --to T]`: an
 * officer, as themselves, asks for a view; features/view.c routes it to
 * the owning station, which alone decides (Art 19, 29(2)). */
#pragma once

#include "control/control.h"
#include "features/officer.h"
#include "features/view.h"

/* The command's context: borrowed. */
struct viewctl {
        struct view *view;
        struct officer_roster *officers;        /* the officer's key and unit go with the request */
};

extern const struct control_command viewctl_commands[];

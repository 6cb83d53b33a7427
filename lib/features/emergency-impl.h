/* emergency-impl: what emergency.c (orders, reports) and emergency_act.c
 * (a station acting on them) share, and nobody else. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "features/emergency.h"

struct db_tx;

/** The statement keeping (and sending up) this station's report on
 *  emergency ID. */
void emergency_add_report(struct emergency *e, struct db_tx *tx, const char *id, int64_t acked_us, int linked,
                          int failed, bool done, const char *details, int unlinked);

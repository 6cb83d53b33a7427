/* emergency_bounds: who may act under an emergency, and how far back
 * (Art 19, 20(4), 29(2)), as an EmergencyOrder carries them (officers and
 * roles as the command wrote them; named: each officer resolved into
 * unit, badge and key at the declaring node; look_back_us) and as the
 * database holds them (emergencies.officers, roles, named, look_back; the
 * p_bounds JSON of emergency_apply and emergency_receive). The station
 * decides a view under an emergency by `named` (emergency_view_basis). */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "vigil.pb-c.h"

/** An order's bounds (Art 19, 20(4), 29(2)) as one column: whom it names
 * (as the command wrote them: badges, roles; and resolved: unit, badge
 * and key of each officer who may act under it) and its look-back. */
#define EMERGENCY_BOUNDS_COLUMN \
        "json_build_object('officers', officers, 'roles', roles, 'named', named, " \
        "'look_back_us', (extract(epoch FROM look_back) * 1000000)::bigint)::text"

/** An order names at most this many officers (a role resolved into them
 * included); more is refused as malformed. */
#define EMERGENCY_MAX_NAMED 4096
/** Art 19: the look-back is at most 24 hours (emergencies' CHECK). */
#define EMERGENCY_MAX_LOOK_BACK_US (24LL * 3600 * 1000000)

/** The arrays an order read from a row points into. */
struct emergency_bounds {
        json_t *doc;
        char **officers, **roles;
        Vigil__OfficerRef *refs, **ref_ptrs;
};

/** The bounds column TEXT (EMERGENCY_BOUNDS_COLUMN) into O's fields, held
 *  by B (emergency_bounds_free it). */
void emergency_bounds_read(struct emergency_bounds *b, Vigil__EmergencyOrder *o, const char *text);
void emergency_bounds_free(struct emergency_bounds *b);
/** O's bounds as the p_bounds argument of emergency_apply and
 *  emergency_receive (caller frees), or NULL with why in ERR if they do not
 *  hold: each officer named by unit, badge and key, at most
 *  EMERGENCY_MAX_NAMED, the look-back within Art 19's bound. */
char *emergency_bounds_json(const Vigil__EmergencyOrder *o, char *err, size_t errlen);

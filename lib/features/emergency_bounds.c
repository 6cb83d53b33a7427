#include "features/emergency_bounds.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/keys.h"
#include "base/log.h"
#include "base/nodeid.h"

/* The bounds of an order read from a row (emergency_row_read): the
 * arrays its fields point into. */

void emergency_bounds_free(struct emergency_bounds *b)
{
        free(b->officers);
        free(b->roles);
        free(b->refs);
        free(b->ref_ptrs);
        json_decref(b->doc);
        memset(b, 0, sizeof(*b));
}

/* The strings of JSON array A into a new array *RET (pointing into A). */
static size_t emergency_bounds_strings(json_t *a, char ***ret)
{
        size_t i, n = json_array_size(a);

        *ret = calloc(n ? n : 1, sizeof(char *));
        vigil_require(*ret != NULL);
        for (i = 0; i < n; i++)
                (*ret)[i] = (char *)(json_string_value(json_array_get(a, i)) ? json_string_value(json_array_get(a, i))
                                                                              : "");
        return n;
}

/* The bounds column TEXT (EMERGENCY_BOUNDS_COLUMN) into O's fields, held by B. */
void emergency_bounds_read(struct emergency_bounds *b, Vigil__EmergencyOrder *o, const char *text)
{
        json_t *named;
        size_t i;

        memset(b, 0, sizeof(*b));
        b->doc = json_loads(text, 0, NULL);
        vigil_require(b->doc != NULL);   /* written by the database itself */
        o->n_officers = emergency_bounds_strings(json_object_get(b->doc, "officers"), &b->officers);
        o->officers = b->officers;
        o->n_roles = emergency_bounds_strings(json_object_get(b->doc, "roles"), &b->roles);
        o->roles = b->roles;
        named = json_object_get(b->doc, "named");
        o->n_named = json_array_size(named);
        b->refs = calloc(o->n_named ? o->n_named : 1, sizeof(*b->refs));
        b->ref_ptrs = calloc(o->n_named ? o->n_named : 1, sizeof(*b->ref_ptrs));
        vigil_require(b->refs && b->ref_ptrs);
        for (i = 0; i < o->n_named; i++) {
                json_t *x = json_array_get(named, i);
                vigil__officer_ref__init(&b->refs[i]);
                b->refs[i].unit = (char *)json_string_value(json_object_get(x, "unit"));
                b->refs[i].badge = (char *)json_string_value(json_object_get(x, "badge"));
                b->refs[i].public_key = (char *)json_string_value(json_object_get(x, "key"));
                b->ref_ptrs[i] = &b->refs[i];
        }
        o->named = b->ref_ptrs;
        o->has_look_back_us = 1;
        o->look_back_us = json_integer_value(json_object_get(b->doc, "look_back_us"));
}

/* O's bounds as the p_bounds argument of emergency_apply and
 * emergency_receive (caller frees), or NULL (with why in ERR) if they do
 * not hold: each officer named by unit, badge and key, the look-back
 * within Art 19's bound. */
char *emergency_bounds_json(const Vigil__EmergencyOrder *o, char *err, size_t errlen)
{
        json_t *doc, *a;
        char *text;
        size_t i;

        if (o->n_named > EMERGENCY_MAX_NAMED || o->n_officers > EMERGENCY_MAX_NAMED ||
            o->n_roles > EMERGENCY_MAX_NAMED) {
                snprintf(err, errlen, "emergency order: names more than %d officers or roles", EMERGENCY_MAX_NAMED);
                return NULL;
        }
        if (o->has_look_back_us && (o->look_back_us < 0 || o->look_back_us > EMERGENCY_MAX_LOOK_BACK_US)) {
                snprintf(err, errlen, "emergency order: a look-back of %" PRId64 " us is not 0 to 24 hours",
                         o->look_back_us);
                return NULL;
        }
        for (i = 0; i < o->n_named; i++) {
                const Vigil__OfficerRef *r = o->named[i];
                if (!r->unit || !nodeid_is_wellformed(r->unit) || !r->badge || !*r->badge || !r->public_key ||
                    !keys_z85_valid(r->public_key)) {
                        snprintf(err, errlen, "emergency order: named officer %zu lacks a unit, badge or key", i);
                        return NULL;
                }
        }
        doc = json_object();
        a = json_array();
        for (i = 0; i < o->n_officers; i++)
                json_array_append_new(a, json_string(o->officers[i]));
        json_object_set_new(doc, "officers", a);
        a = json_array();
        for (i = 0; i < o->n_roles; i++)
                json_array_append_new(a, json_string(o->roles[i]));
        json_object_set_new(doc, "roles", a);
        a = json_array();
        for (i = 0; i < o->n_named; i++) {
                json_t *x = json_object();
                json_object_set_new(x, "unit", json_string(o->named[i]->unit));
                json_object_set_new(x, "badge", json_string(o->named[i]->badge));
                json_object_set_new(x, "key", json_string(o->named[i]->public_key));
                json_array_append_new(a, x);
        }
        json_object_set_new(doc, "named", a);
        json_object_set_new(doc, "look_back_us", json_integer(o->has_look_back_us ? o->look_back_us : 0));
        text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);
        vigil_require(text != NULL);
        return text;
}


#include "features/officer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"
#include "base/nodeid.h"
#include "base/sqlarray.h"
#include "wire/wire.h"

const char officer_columns[] = "badge, name, unit, credential, array_to_string(roles, ','), public_key, active, version";
const char officer_delegation_columns[] =
        "id, unit, principal, deputy, (extract(epoch FROM valid_from) * 1000000)::bigint, "
        "(extract(epoch FROM valid_until) * 1000000)::bigint, revoked, version";

int officer_encode(const char *badge, const char *name, const char *unit, const char *credential,
                   const char *roles, const char *public_key, bool active, int64_t version, bool removed,
                   uint8_t **ret, size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__Officer o = VIGIL__OFFICER__INIT;
        char *copy = strdup(roles ? roles : ""), *save = NULL, *tok;
        char *list[16];
        size_t n = 0;
        int r;

        if (!copy)
                return -ENOMEM;
        for (tok = strtok_r(copy, ",", &save); tok && n < 16; tok = strtok_r(NULL, ",", &save))
                list[n++] = tok;
        o.badge = (char *)badge;
        o.name = (char *)name;
        o.unit = (char *)unit;
        o.credential = (char *)credential;
        o.n_roles = n;
        o.roles = list;
        o.public_key = (char *)public_key;
        o.has_active = 1;
        o.active = active;
        o.has_version = 1;
        o.version = version;
        o.has_removed = removed;
        o.removed = removed;
        c.kind_case = VIGIL__CHANGE__KIND_OFFICER;
        c.officer = &o;
        r = wire_encode_change(&c, ret, ret_len);
        free(copy);
        return r;
}

int officer_encode_row(const PGresult *res, int i, int64_t version, bool removed, uint8_t **ret, size_t *ret_len)
{
        return officer_encode(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                              PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
                              PQgetvalue(res, i, 6)[0] == 't',
                              version >= 0 ? version : strtoll(PQgetvalue(res, i, 7), NULL, 10), removed, ret,
                              ret_len);
}

int officer_delegation_encode(const char *id, const char *unit, const char *principal, const char *deputy,
                      int64_t from_us, int64_t until_us, bool revoked, int64_t version, uint8_t **ret,
                      size_t *ret_len)
{
        Vigil__Change c = VIGIL__CHANGE__INIT;
        Vigil__Delegation d = VIGIL__DELEGATION__INIT;

        d.id = (char *)id;
        d.unit = (char *)unit;
        d.principal = (char *)principal;
        d.deputy = (char *)deputy;
        d.has_valid_from_us = d.has_valid_until_us = d.has_revoked = d.has_version = 1;
        d.valid_from_us = from_us;
        d.valid_until_us = until_us;
        d.revoked = revoked;
        d.version = version;
        c.kind_case = VIGIL__CHANGE__KIND_DELEGATION;
        c.delegation = &d;
        return wire_encode_change(&c, ret, ret_len);
}

int officer_delegation_encode_row(const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        return officer_delegation_encode(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                                 PQgetvalue(res, i, 3), strtoll(PQgetvalue(res, i, 4), NULL, 10),
                                 strtoll(PQgetvalue(res, i, 5), NULL, 10), PQgetvalue(res, i, 6)[0] == 't',
                                 strtoll(PQgetvalue(res, i, 7), NULL, 10), ret, ret_len);
}

/* A unit this child may speak for: itself or a node below it. */
static bool officer_unit_ok(const char *unit, const char *via)
{
        return nodeid_at_or_below(unit, via);     /* not one it invented (issue 17, fault 6) */
}

static int officer_add_officer(struct db_tx *tx, const Vigil__Officer *o, const char *via, const char *uplink,
                               bool snapshot, const uint8_t *change, size_t len, const char *epoch, uint64_t seq,
                               char *err, size_t errlen)
{
        struct sqlarray roles = { .type = SQLARRAY_TEXT };
        char version[24], seqbuf[24];
        const char *p[15];
        int lens[15] = { 0 }, fmts[15] = { 0 };
        size_t i;

        if (!o->badge || !o->has_version || !officer_unit_ok(o->unit, via) ||
            (!o->removed && (!o->name || !o->credential || !o->public_key || o->n_roles == 0))) {
                snprintf(err, errlen, "officer %s: a field is missing or the unit %s is not under %s",
                         o->badge ? o->badge : "(none)", o->unit ? o->unit : "(none)", via);
                return -EBADMSG;
        }
        for (i = 0; i < o->n_roles; i++)
                sqlarray_add_text(&roles, o->roles[i]);
        snprintf(version, sizeof(version), "%" PRId64, o->version);
        p[0] = via;
        p[1] = uplink;
        p[2] = snapshot ? "t" : "f";
        p[3] = o->badge;
        p[4] = version;
        p[5] = o->removed ? "t" : "f";
        p[6] = o->name;
        p[7] = o->unit;
        p[8] = o->credential;
        sqlarray_param(&roles, &p[9], &lens[9], &fmts[9]);
        p[10] = o->public_key;
        p[11] = !o->has_active || o->active ? "t" : "f";
        p[12] = (const char *)change;
        lens[12] = (int)len;
        fmts[12] = 1;
        /* Where the change came in the child's stream: a refusal is held
         * there as a dead letter (issue 17). */
        snprintf(seqbuf, sizeof(seqbuf), "%" PRIu64, seq);
        p[13] = epoch;
        p[14] = epoch ? seqbuf : NULL;
        db_tx_add(tx, "SELECT officer_apply($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text[], $11, $12, $13, $14, "
                      "$15::bigint)", 15, p, lens, fmts);
        sqlarray_deinit(&roles);
        return 0;
}

static int officer_add_delegation(struct db_tx *tx, const Vigil__Delegation *d, const char *via,
                                  const char *uplink, bool snapshot, const uint8_t *change, size_t len, char *err,
                                  size_t errlen)
{
        char version[24], from[32], until[32];
        const char *p[12];
        int lens[12] = { 0 }, fmts[12] = { 0 };

        if (!d->id || !d->has_version || !officer_unit_ok(d->unit, via) || !d->principal || !d->deputy ||
            !d->has_valid_from_us || !d->has_valid_until_us) {
                snprintf(err, errlen, "delegation %s: a field is missing or the unit is not under %s",
                         d->id ? d->id : "(none)", via);
                return -EBADMSG;
        }
        snprintf(version, sizeof(version), "%" PRId64, d->version);
        snprintf(from, sizeof(from), "%.6f", (double)d->valid_from_us / 1e6);
        snprintf(until, sizeof(until), "%.6f", (double)d->valid_until_us / 1e6);
        p[0] = via;
        p[1] = uplink;
        p[2] = snapshot ? "t" : "f";
        p[3] = d->id;
        p[4] = version;
        p[5] = d->unit;
        p[6] = d->principal;
        p[7] = d->deputy;
        p[8] = from;
        p[9] = until;
        p[10] = d->revoked ? "t" : "f";
        p[11] = (const char *)change;
        lens[11] = (int)len;
        fmts[11] = 1;
        db_tx_add(tx, "SELECT delegation_apply($1, $2, $3, $4, $5, $6, $7, $8, "
                      "to_timestamp($9::double precision), to_timestamp($10::double precision), $11, $12)",
                  12, p, lens, fmts);
        return 0;
}

/* An officer or delegation from a child: the roster reloads once the
 * transaction has run (asked now, before it is submitted: the reload is
 * queued behind it on the one connection). */
static int officer_add(void *arg, struct change_batch *b, const Vigil__Change *c, const uint8_t *change,
                       size_t len, char *err, size_t errlen)
{
        struct officer_roster *r = arg;
        struct db_tx *tx = change_batch_tx(b);
        const char *via = change_batch_via(b), *uplink = change_batch_uplink(b);
        bool snapshot = change_batch_snapshot(b);

        if (r->hooks.changed)
                r->hooks.changed(r->hooks.arg);
        if (c->kind_case == VIGIL__CHANGE__KIND_OFFICER)
                return officer_add_officer(tx, c->officer, via, uplink, snapshot, change, len, change_batch_epoch(b),
                                           change_batch_seq(b), err, errlen);
        return officer_add_delegation(tx, c->delegation, via, uplink, snapshot, change, len, err, errlen);
}

/* --- snapshot sections: the officers and delegations of this unit and
 * below (few: one page each) --- */

static void officer_add_read(void *arg, struct db_tx *tx, const struct snapshot_page *pg)
{
        char prefix[12], sql[400];
        const char *p[1] = { prefix };

        (void)arg;
        nodeid_prefix(pg->self, prefix);
        snprintf(sql, sizeof(sql), "SELECT %s FROM officers WHERE unit LIKE $1 || '%%' ORDER BY badge",
                 officer_columns);
        db_tx_add(tx, sql, 1, p, NULL, NULL);
}

static int officer_encode_snapshot_row(void *arg, const PGresult *res, int i, uint8_t **ret, size_t *ret_len)
{
        (void)arg;
        return officer_encode_row(res, i, -1, false, ret, ret_len);
}

static void officer_add_delegation_read(void *arg, struct db_tx *tx, const struct snapshot_page *pg)
{
        char prefix[12], sql[400];
        const char *p[1] = { prefix };

        (void)arg;
        nodeid_prefix(pg->self, prefix);
        snprintf(sql, sizeof(sql), "SELECT %s FROM delegations WHERE unit LIKE $1 || '%%' ORDER BY id",
                 officer_delegation_columns);
        db_tx_add(tx, sql, 1, p, NULL, NULL);
}

static int officer_encode_delegation_snapshot_row(void *arg, const PGresult *res, int i, uint8_t **ret,
                                                  size_t *ret_len)
{
        (void)arg;
        return officer_delegation_encode_row(res, i, ret, ret_len);
}

/* --- roles --- */

static const char *const officer_role_names[] = {
        "operator", "investigator", "principal", "deputy", "commander", "registrar", "auditor", "admin", NULL,
};

unsigned officer_role_bit(const char *name)
{
        for (unsigned i = 0; officer_role_names[i]; i++)
                if (strcmp(officer_role_names[i], name) == 0)
                        return 1u << i;
        return 0;
}

const char *officer_role_name(unsigned bit)
{
        for (unsigned i = 0; officer_role_names[i]; i++)
                if (bit == 1u << i)
                        return officer_role_names[i];
        return NULL;
}

unsigned officer_roles_parse(const char *list)
{
        char name[32];
        unsigned roles = 0;
        size_t l;

        while (list && *list) {
                l = strcspn(list, ",");
                if (l < sizeof(name)) {
                        memcpy(name, list, l);
                        name[l] = '\0';
                        roles |= officer_role_bit(name);
                }
                list += l + (list[l] == ',');
        }
        return roles;
}

const char *officer_roles_format(unsigned roles, char *buf, size_t n)
{
        size_t len = 0;

        buf[0] = '\0';
        for (unsigned i = 0; officer_role_names[i] && len < n; i++)
                if (roles & (1u << i))
                        len += (size_t)snprintf(buf + len, n - len, "%s%s", len ? "," : "", officer_role_names[i]);
        if (!len)
                snprintf(buf, n, "none");
        return buf;
}

/* --- the roster --- */

static void officer_on_loaded(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct officer_roster *r = arg;
        PGresult *res = db_tx_result(tx, 0);
        struct officer_entry *o;
        int i, n;

        if (err || !res) {
                log_warn("access", "msg=\"cannot load officer keys\" reason=\"%s\"", msg ? msg : "");
                runonce_end(&r->loading);
                return;
        }
        n = PQntuples(res);
        o = calloc(n ? (size_t)n : 1, sizeof(*o));
        vigil_require(o != NULL);
        for (i = 0; i < n; i++) {
                snprintf(o[i].badge, sizeof(o[i].badge), "%s", PQgetvalue(res, i, 0));
                snprintf(o[i].key, sizeof(o[i].key), "%s", PQgetvalue(res, i, 1));
                snprintf(o[i].unit, sizeof(o[i].unit), "%s", PQgetvalue(res, i, 2));
                o[i].roles = officer_roles_parse(PQgetvalue(res, i, 3));
        }
        free(r->list);
        r->list = o;
        r->n = (size_t)n;
        if (r->hooks.loaded)
                r->hooks.loaded(r->hooks.arg);
        /* A change committed after this load was sent (a deactivation must
         * lock the officer out at once, not at the next refresh). */
        if (runonce_end(&r->loading))
                officer_reload(r);
}

void officer_reload(struct officer_roster *r)
{
        struct db *db = r->d->links.db;
        struct db_tx *tx;

        if (r->loading.running) {
                runonce_again(&r->loading);
                return;
        }
        if (!db || !db_is_up(db) || !runonce_begin(&r->loading))
                return;
        tx = db_tx_new();
        /* The roles as registered; what the policy decides by
         * (officer_roles_of). */
        /* Principal, commander and auditor count only as conferred from above and
         * live for the officer's current key (officer_has_power). */
        db_tx_add(tx, "SELECT badge, public_key, unit, array_to_string(ARRAY("
                      "SELECT r FROM unnest(roles) AS r WHERE r NOT IN ('principal', 'commander', 'auditor') UNION "
                      "SELECT p FROM unnest(ARRAY['principal', 'commander', 'auditor']) AS p "
                      "WHERE officer_has_power(badge, p)"
                      "), ',') FROM officers WHERE active", 0, NULL, NULL, NULL);
        db_submit(db, tx, officer_on_loaded, r);
}

int officer_lookup(const struct officer_roster *r, const char *key_z85, char *ret, size_t n)
{
        size_t i;

        for (i = 0; i < r->n; i++)
                if (strcmp(r->list[i].key, key_z85) == 0) {
                        snprintf(ret, n, "%s", r->list[i].badge);
                        return 0;
                }
        return -EACCES;
}

const char *officer_unit_of(const struct officer_roster *r, const char *badge)
{
        size_t i;

        for (i = 0; i < r->n; i++)
                if (strcmp(r->list[i].badge, badge) == 0)
                        return r->list[i].unit;
        return NULL;
}

const char *officer_key_of(const struct officer_roster *r, const char *badge)
{
        size_t i;

        for (i = 0; i < r->n; i++)
                if (strcmp(r->list[i].badge, badge) == 0)
                        return r->list[i].key;
        return NULL;
}

unsigned officer_roles_of(const struct officer_roster *r, const char *badge)
{
        size_t i;

        for (i = 0; i < r->n; i++)
                if (strcmp(r->list[i].badge, badge) == 0)
                        return r->list[i].roles;
        return 0;
}

void officer_init(struct officer_roster *r, struct delivery *d, const struct officer_hooks *hooks)
{
        memset(r, 0, sizeof(*r));
        r->d = d;
        r->hooks = *hooks;
        /* Officers travel up only: each tier knows those beneath it. */
        change_register(&d->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_OFFICER, .name = "officer", .from = CHANGE_FROM_CHILD,
                .wrong_way = "officers only travel up, not from the parent", .add = officer_add, .arg = r });
        change_register(&d->kinds, &(struct change_kind){
                .kind_case = VIGIL__CHANGE__KIND_DELEGATION, .name = "delegation", .from = CHANGE_FROM_CHILD,
                .wrong_way = "officers only travel up, not from the parent", .add = officer_add, .arg = r });
        snapshot_register(&d->sections, &(struct snapshot_section){
                .name = "officers", .to = SNAPSHOT_TO_PARENT, .one_page = true, .table = "officers",
                .add_read = officer_add_read,
                .encode = officer_encode_snapshot_row, .arg = r });
        snapshot_register(&d->sections, &(struct snapshot_section){
                .name = "delegations", .to = SNAPSHOT_TO_PARENT, .one_page = true, .table = "delegations",
                .add_read = officer_add_delegation_read, .encode = officer_encode_delegation_snapshot_row,
                .arg = r });
}

void officer_close(struct officer_roster *r)
{
        free(r->list);
        r->list = NULL;
        r->n = 0;
}

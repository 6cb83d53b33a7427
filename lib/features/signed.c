#include "features/signed.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "wire/decision.h"
#include "wire/trust.h"

int signed_check(const struct delivery *d, const ProtobufCMessage *m, const char *decider, const char *what,
                 const char *id, char *const *subjects, size_t n, char *why, size_t whylen)
{
        const char *signer;
        char e[300];
        size_t k;

        if (trust_check(&d->trust, m, decider ? decider : "(no deciding node)", NULL, e, sizeof(e)) < 0) {
                snprintf(why, whylen, "Art 19: %s %s refused: %s", what, id, e);
                return -EPERM;
        }
        signer = decision_signer(m);
        for (k = 0; k < n; k++)
                if (!subjects[k] || !nodeid_under(subjects[k], signer)) {
                        snprintf(why, whylen, "Art 19: %s %s refused: %s is not under %s, which signed it", what, id,
                                 subjects[k] ? subjects[k] : "(none)", signer);
                        return -EPERM;
                }
        return 0;
}

void signed_refuse(struct delivery *d, struct db_tx *tx, const char *via, const char *action, const char *id,
                   const ProtobufCMessage *m, const char *why)
{
        const char *signer = decision_signer(m);
        char actor[32];
        const char *p[4] = { actor, action, why, id };

        d->trust.refused++;
        snprintf(actor, sizeof(actor), "node:%s", via ? via : "?");
        log_warn("sign", "action=%s id=%s from=%s signer=%s msg=\"decision from above refused\" reason=\"%s\" "
                 "refused=%lu", action, id, via ? via : "?", signer ? signer : "(none)", why, d->trust.refused);
        /* Refused where it arrived (Art 23(5)): the record travels up. */
        db_tx_add(tx, "SELECT audit_append($1, $2, 'refused', 'Art 19', NULL, NULL, NULL, $4, NULL, $3)", 4, p,
                  NULL, NULL);
}

void signed_keep(struct db_tx *tx, const char *kind, const char *id, int64_t version, const uint8_t *change,
                 size_t len)
{
        char v[24];
        const char *p[4] = { kind, id, v, (const char *)change };
        int lens[4] = { 0, 0, 0, (int)len }, fmts[4] = { 0, 0, 0, 1 };

        snprintf(v, sizeof(v), "%" PRId64, version);
        db_tx_add(tx, "SELECT signed_change_keep($1, $2, $3::bigint, $4)", 4, p, lens, fmts);
}

int signed_bytes(const PGresult *res, int i, int col, uint8_t **ret, size_t *ret_len)
{
        const char *hex;
        size_t n, bin = 0;
        uint8_t *b;

        if (col >= PQnfields(res) || PQgetisnull(res, i, col))
                return 0;
        hex = PQgetvalue(res, i, col);
        n = strlen(hex) / 2;
        b = malloc(n ? n : 1);
        if (!b)
                return -ENOMEM;
        if (sodium_hex2bin(b, n, hex, strlen(hex), NULL, &bin, NULL) != 0 || bin != n) {
                free(b);
                return -EBADMSG;
        }
        *ret = b;
        *ret_len = n;
        return 1;
}

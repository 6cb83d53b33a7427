#include "wire/ticket.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/nodeid.h"
#include "vigil.pb-c.h"

#define TICKET_PREFIX "vt1."
#define TICKET_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const char *const ticket_actions[] = { "view-live", "view-recorded", "copy", "retrieve", NULL };

static bool ticket_action_ok(const char *a)
{
        const char *const *p;

        for (p = ticket_actions; *p; p++)
                if (strcmp(*p, a) == 0)
                        return true;
        return false;
}

/* Printable, no control characters, at most MAX bytes. */
static bool ticket_text_ok(const char *s, size_t max, bool required)
{
        size_t n = 0;

        if (!s || !*s)
                return !required;
        for (; s[n]; n++)
                if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
                        return false;
        return n <= max;
}

/* The rules every ticket obeys, signed or received. */
static bool ticket_valid(const struct ticket *t)
{
        return nodeid_is_wellformed(t->station) && nodeid_is_wellformed(t->camera) &&
               strncmp(t->camera, t->station, 8) == 0 && ticket_text_ok(t->officer, 32, true) &&
               ticket_text_ok(t->officer_key, 40, false) && ticket_action_ok(t->action) &&
               (t->unit[0] == '\0' || nodeid_is_wellformed(t->unit)) &&
               t->issued_us > 0 && t->expires_us > t->issued_us &&
               t->expires_us - t->issued_us <= TICKET_MAX_LIFE_US &&
               (t->from_us == 0 || t->to_us > t->from_us) &&
               /* Art 29(2): a basis, exactly one. */
               (t->grant[0] != '\0') != (t->emergency[0] != '\0') && ticket_text_ok(t->grant, 64, false) &&
               ticket_text_ok(t->emergency, 64, false) && ticket_text_ok(t->url, 1024, false);
}

void ticket_new_id(struct ticket *t)
{
        randombytes_buf(t->id, sizeof(t->id));
}

int ticket_sign(const struct ticket *t, const uint8_t secret[64], char **ret_token)
{
        Vigil__Ticket m = VIGIL__TICKET__INIT;
        size_t plen, b64p, b64s, off;
        uint8_t *msg = NULL, sig[crypto_sign_BYTES];
        char *tok;

        if (!ticket_valid(t))
                return -EINVAL;
        m.has_id = 1;
        m.id.data = (uint8_t *)t->id;
        m.id.len = sizeof(t->id);
        m.station = (char *)t->station;
        m.officer = (char *)t->officer;
        m.officer_key = t->officer_key[0] ? (char *)t->officer_key : NULL;
        m.unit = t->unit[0] ? (char *)t->unit : NULL;
        m.camera = (char *)t->camera;
        m.action = (char *)t->action;
        m.has_from_us = t->from_us != 0;
        m.from_us = t->from_us;
        m.has_to_us = t->to_us != 0;
        m.to_us = t->to_us;
        m.has_issued_us = m.has_expires_us = 1;
        m.issued_us = t->issued_us;
        m.expires_us = t->expires_us;
        m.grant = t->grant[0] ? (char *)t->grant : NULL;
        m.emergency = t->emergency[0] ? (char *)t->emergency : NULL;
        m.url = t->url[0] ? (char *)t->url : NULL;
        plen = vigil__ticket__get_packed_size(&m);
        /* Signed: the prefix, then the payload (domain separation). */
        msg = malloc(4 + plen);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, TICKET_PREFIX, 4);
        vigil__ticket__pack(&m, msg + 4);
        crypto_sign_detached(sig, NULL, msg, 4 + plen, secret);
        b64p = sodium_base64_ENCODED_LEN(plen, TICKET_B64);
        b64s = sodium_base64_ENCODED_LEN(sizeof(sig), TICKET_B64);
        tok = malloc(4 + b64p + 1 + b64s);
        if (!tok) {
                free(msg);
                return -ENOMEM;
        }
        memcpy(tok, TICKET_PREFIX, 4);
        sodium_bin2base64(tok + 4, b64p, msg + 4, plen, TICKET_B64);
        off = 4 + strlen(tok + 4);
        tok[off++] = '.';
        sodium_bin2base64(tok + off, b64s, sig, sizeof(sig), TICKET_B64);
        free(msg);
        if (strlen(tok) > TICKET_MAX_TOKEN) {
                free(tok);
                return -EINVAL;
        }
        *ret_token = tok;
        return 0;
}

static void ticket_copy(char *dst, size_t n, const char *src)
{
        snprintf(dst, n, "%s", src ? src : "");
}

/* Split and decode TOKEN: *MSG gets "vt1." + payload (caller frees), SIG
 * the signature. Fills *RET from the payload. 0 or -EBADMSG. */
static int ticket_parse(const char *token, uint8_t **ret_msg, size_t *ret_len, uint8_t sig[64],
                        struct ticket *ret)
{
        const char *dot, *p64;
        size_t tlen, plen = 0, slen = 0;
        uint8_t *msg;
        Vigil__Ticket *m;
        struct ticket t;

        if (!token)
                return -EBADMSG;
        tlen = strnlen(token, TICKET_MAX_TOKEN + 1);
        if (tlen > TICKET_MAX_TOKEN || strncmp(token, TICKET_PREFIX, 4) != 0)
                return -EBADMSG;
        p64 = token + 4;
        dot = strchr(p64, '.');
        if (!dot || dot == p64)
                return -EBADMSG;
        /* Only the base64url alphabet: libsodium 1.0.18's decoder reads any
         * byte above 0x7f as '_', so without this one token would have many
         * spellings that all verify. */
        if (strspn(p64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != (size_t)(dot - p64) ||
            strspn(dot + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(dot + 1))
                return -EBADMSG;
        msg = malloc(4 + tlen);
        if (!msg)
                return -EBADMSG;
        memcpy(msg, TICKET_PREFIX, 4);
        if (sodium_base642bin(msg + 4, tlen, p64, (size_t)(dot - p64), NULL, &plen, NULL, TICKET_B64) < 0 ||
            sodium_base642bin(sig, 64, dot + 1, strlen(dot + 1), NULL, &slen, NULL, TICKET_B64) < 0 ||
            slen != 64) {
                free(msg);
                return -EBADMSG;
        }
        /* The payload is at most a few kilobytes (TICKET_MAX_TOKEN), so
         * unpacking cannot balloon. */
        m = vigil__ticket__unpack(NULL, plen, msg + 4);
        if (!m) {
                free(msg);
                return -EBADMSG;
        }
        memset(&t, 0, sizeof(t));
        if (!m->has_id || m->id.len != sizeof(t.id) || !m->station || !m->officer || !m->camera || !m->action ||
            !m->has_issued_us || !m->has_expires_us || strlen(m->station) >= sizeof(t.station) ||
            strlen(m->officer) >= sizeof(t.officer) || (m->officer_key && strlen(m->officer_key) >= sizeof(t.officer_key)) ||
            strlen(m->camera) >= sizeof(t.camera) || strlen(m->action) >= sizeof(t.action) ||
            (m->grant && strlen(m->grant) >= sizeof(t.grant)) ||
            (m->emergency && strlen(m->emergency) >= sizeof(t.emergency)) ||
            (m->url && strlen(m->url) >= sizeof(t.url)) || (m->unit && strlen(m->unit) >= sizeof(t.unit))) {
                vigil__ticket__free_unpacked(m, NULL);
                free(msg);
                return -EBADMSG;
        }
        memcpy(t.id, m->id.data, sizeof(t.id));
        ticket_copy(t.station, sizeof(t.station), m->station);
        ticket_copy(t.officer, sizeof(t.officer), m->officer);
        ticket_copy(t.officer_key, sizeof(t.officer_key), m->officer_key);
        ticket_copy(t.unit, sizeof(t.unit), m->unit);
        ticket_copy(t.camera, sizeof(t.camera), m->camera);
        ticket_copy(t.action, sizeof(t.action), m->action);
        ticket_copy(t.grant, sizeof(t.grant), m->grant);
        ticket_copy(t.emergency, sizeof(t.emergency), m->emergency);
        ticket_copy(t.url, sizeof(t.url), m->url);
        t.from_us = m->has_from_us ? m->from_us : 0;
        t.to_us = m->has_to_us ? m->to_us : 0;
        t.issued_us = m->issued_us;
        t.expires_us = m->expires_us;
        vigil__ticket__free_unpacked(m, NULL);
        if (!ticket_valid(&t)) {
                free(msg);
                return -EBADMSG;
        }
        *ret_msg = msg;
        *ret_len = 4 + plen;
        *ret = t;
        return 0;
}

int ticket_decode_unverified(const char *token, struct ticket *ret)
{
        uint8_t *msg, sig[64];
        size_t len;
        int r = ticket_parse(token, &msg, &len, sig, ret);

        if (r == 0)
                free(msg);
        return r;
}

int ticket_verify(const char *token, const uint8_t public[32], int64_t now_us, struct ticket *ret)
{
        uint8_t *msg, sig[64];
        size_t len;
        struct ticket t;
        int r = ticket_parse(token, &msg, &len, sig, &t);

        if (r < 0)
                return r;
        r = crypto_sign_verify_detached(sig, msg, len, public);
        free(msg);
        if (r != 0)
                return -EKEYREJECTED;
        if (now_us < t.issued_us || now_us >= t.expires_us)
                return -ETIME;
        *ret = t;
        return 0;
}

#include "features/credentials.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"

#define CREDENTIALS_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define CREDENTIALS_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
/* user NUL password: what is sealed */
#define CREDENTIALS_PLAIN (2 * CREDENTIALS_MAX + 1)

void credentials_init(struct credentials *c, const uint8_t *key)
{
        memset(c, 0, sizeof(*c));
        c->key = key;
}

static char *credentials_hex(const uint8_t *b, size_t n)
{
        char *h = malloc(2 * n + 1);

        vigil_require(h != NULL);
        sodium_bin2hex(h, 2 * n + 1, b, n);
        return h;
}

int credentials_seal(const struct credentials *c, const char *system, const char *user, const char *password,
                     char **ret_nonce_hex, char **ret_sealed_hex)
{
        uint8_t plain[CREDENTIALS_PLAIN], nonce[CREDENTIALS_NONCE], sealed[CREDENTIALS_PLAIN + CREDENTIALS_TAG];
        size_t ul = strlen(user), pl = strlen(password);
        unsigned long long n;

        if (ul > CREDENTIALS_MAX || pl > CREDENTIALS_MAX)
                return -EINVAL;
        memcpy(plain, user, ul);
        plain[ul] = '\0';
        memcpy(plain + ul + 1, password, pl);
        randombytes_buf(nonce, sizeof(nonce));
        /* The system's code as associated data: sealed for this system only. */
        crypto_aead_xchacha20poly1305_ietf_encrypt(sealed, &n, plain, ul + 1 + pl, (const uint8_t *)system,
                                                   strlen(system), NULL, nonce, c->key);
        sodium_memzero(plain, sizeof(plain));
        *ret_nonce_hex = credentials_hex(nonce, sizeof(nonce));
        *ret_sealed_hex = credentials_hex(sealed, (size_t)n);
        return 0;
}

int credentials_open(const struct credentials *c, const char *system, const char *nonce_hex, const char *sealed_hex,
                     char *ret_user, char *ret_password)
{
        uint8_t nonce[CREDENTIALS_NONCE], sealed[CREDENTIALS_PLAIN + CREDENTIALS_TAG], plain[CREDENTIALS_PLAIN];
        size_t nl, sl, ul;
        unsigned long long n;
        const uint8_t *nul;

        if (sodium_hex2bin(nonce, sizeof(nonce), nonce_hex, strlen(nonce_hex), NULL, &nl, NULL) != 0 ||
            nl != sizeof(nonce) ||
            sodium_hex2bin(sealed, sizeof(sealed), sealed_hex, strlen(sealed_hex), NULL, &sl, NULL) != 0 ||
            sl < CREDENTIALS_TAG ||
            crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &n, NULL, sealed, sl, (const uint8_t *)system,
                                                       strlen(system), nonce, c->key) != 0)
                return -EBADMSG;
        nul = memchr(plain, '\0', (size_t)n);
        if (!nul) {
                sodium_memzero(plain, sizeof(plain));
                return -EBADMSG;
        }
        ul = (size_t)(nul - plain);
        memcpy(ret_user, plain, ul);
        ret_user[ul] = '\0';
        memcpy(ret_password, nul + 1, (size_t)n - ul - 1);
        ret_password[(size_t)n - ul - 1] = '\0';
        sodium_memzero(plain, sizeof(plain));
        return 0;
}

/* --- rows of an older database, sealed by the sweep --- */

#define CREDENTIALS_BATCH 100

static void credentials_on_sealed(void *arg, struct db_tx *tx, int err, const char *msg)
{
        struct credentials *c = arg;

        (void)tx;
        if (err)
                log_warn("credentials", "msg=\"cannot seal the credentials held in clear\" reason=\"%s\"", msg);
        else
                log_info("credentials", "msg=\"credentials held in clear sealed\"");
        if (runonce_end(&c->sealing) || !err)
                credentials_seal_pending(c, c->db);    /* the next batch, if any */
}

static void credentials_on_pending(void *arg, struct db_tx *rtx, int err, const char *msg)
{
        struct credentials *c = arg;
        PGresult *res = db_tx_result(rtx, 0);
        struct db_tx *tx;
        int i, nr;

        if (err || !res || (nr = PQntuples(res)) == 0) {
                if (err)
                        log_warn("credentials", "msg=\"cannot read credentials to seal\" reason=\"%s\"", msg);
                else
                        c->none_pending = true;
                runonce_end(&c->sealing);
                return;
        }
        tx = db_tx_new();
        for (i = 0; i < nr; i++) {
                char *nonce, *sealed;
                const char *p[4] = { PQgetvalue(res, i, 0), NULL, NULL, PQgetvalue(res, i, 2) };
                if (credentials_seal(c, p[0], PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), &nonce, &sealed) < 0) {
                        log_warn("credentials", "system=%s msg=\"credentials too long to seal; left as they are\"",
                                 p[0]);
                        continue;
                }
                p[1] = nonce;
                p[2] = sealed;
                /* Only if the row is still the one read. */
                db_tx_add(tx, "UPDATE interface_credentials SET nonce = decode($2, 'hex'), sealed = decode($3, 'hex'), "
                              "username = NULL, password = NULL WHERE system_code = $1 AND sealed IS NULL "
                              "AND password = $4", 4, p, NULL, NULL);
                free(nonce);
                free(sealed);
        }
        db_submit(c->db, tx, credentials_on_sealed, c);
}

void credentials_seal_pending(struct credentials *c, struct db *db)
{
        struct db_tx *tx;
        char sql[200];

        if (c->none_pending || !db || !db_is_up(db) || !runonce_begin(&c->sealing))
                return;
        c->db = db;
        snprintf(sql, sizeof(sql), "SELECT system_code, coalesce(username, ''), password FROM interface_credentials "
                                   "WHERE sealed IS NULL ORDER BY system_code LIMIT %d", CREDENTIALS_BATCH);
        tx = db_tx_new();
        db_tx_add(tx, sql, 0, NULL, NULL, NULL);
        db_submit(c->db, tx, credentials_on_pending, c);
}

/* One row's values checked as its column table says (lib/features/
 * catalog/columns.c: the check, bounds, choices and article of each
 * column), so that a refusal names its line, field and article. The
 * schema's triggers check the same rules again inside the writing
 * transaction (schema/functions/catalog.sql).
 *
 * The checks are written out, not regular expressions: an import checks
 * millions of values, and a regular expression per value was a good part
 * of a station's work. */
#include "control/catalogctl/impl.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "base/nodeid.h"
#include "control/control.h"

void catalogctl_row_clear(struct catalogctl_row *r)
{
        for (int c = 0; c < CATALOG_MAX_COLUMNS; c++) {
                free(r->v[c]);
                r->v[c] = NULL;
        }
}

void catalogctl_row_set(struct catalogctl_row *r, int col, const char *value)
{
        free(r->v[col]);
        r->v[col] = value ? strdup(value) : NULL;
        vigil_require(!value || r->v[col]);
}

void catalogctl_row_from_args(const struct catalogctl_entity *e, const struct control_req *q,
                              struct catalogctl_row *r)
{
        for (int i = 0; i < e->e->ncolumns; i++) {
                const char *option = e->e->columns[i].option, *v = option ? control_arg(q, option) : NULL;
                if (v)
                        catalogctl_row_set(r, i, v);
        }
}

void catalogctl_reject(struct catalogctl_rejections *rj, struct catalogctl_row *r, const char *field,
                       const char *article, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        json_t *o;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* A long value quoted in MSG was cut at a byte, maybe inside a
         * character: json_string() would refuse that (the reason lost, as
         * "error": null). Cut at the character instead (found by
         * tests/fuzz/fuzz_import.c: corpus/import/code_cut_mid_character). */
        if (strlen(msg) == sizeof(msg) - 1) {
                size_t n = sizeof(msg) - 1, k = n;
                while (k > 0 && n - k < 4 && ((unsigned char)msg[k - 1] & 0xc0) == 0x80)
                        k--;
                if (k > 0 && ((unsigned char)msg[k - 1] & 0xc0) == 0xc0) {
                        unsigned char lead = (unsigned char)msg[k - 1];
                        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
                        if (n - (k - 1) < need)
                                msg[k - 1] = '\0';
                }
        }
        r->bad = true;
        rj->n++;
        /* A file full of errors should not make a reply of unbounded size. */
        if (json_array_size(rj->list) >= 1000)
                return;
        o = json_object();
        json_object_set_new(o, "line", r->line > 0 ? json_integer(r->line) : json_null());
        json_object_set_new(o, "field", field ? json_string(field) : json_null());
        json_object_set_new(o, "error", json_string(msg));
        json_object_set_new(o, "article", article ? json_string(article) : json_null());
        json_array_append_new(rj->list, o);
}

void catalogctl_article(const char *msg, char *art, size_t n)
{
        const char *p = strstr(msg, "Art ");
        size_t k = 0;

        art[0] = '\0';
        if (!p)
                return;
        while (p[k] && p[k] != ':' && k + 1 < n)
                k++;
        snprintf(art, n, "%.*s", (int)k, p);
}

void catalogctl_choices(const char *const *choices, char *buf, size_t n)
{
        size_t len = 0;
        int i, count = 0;

        while (choices[count])
                count++;
        buf[0] = '\0';
        for (i = 0; i < count && len < n; i++)
                len += (size_t)snprintf(buf + len, n - len, "%s%s",
                                        i == 0 ? "" : i == count - 1 ? " or " : ", ", choices[i]);
}

/* --- the values --- */

/* Art 7: "7.1" to "7.12". */
static bool is_art7_category(const char *s)
{
        if (strncmp(s, "7.", 2) != 0)
                return false;
        s += 2;
        if (s[0] >= '1' && s[0] <= '9' && s[1] == '\0')
                return true;
        return s[0] == '1' && s[1] >= '0' && s[1] <= '2' && s[2] == '\0';
}

/* 1 to 64 of letters, digits, '.', '_', '-'. */
static bool is_code(const char *s)
{
        size_t n = 0;

        for (; s[n]; n++)
                if (!(isascii((unsigned char)s[n]) && isalnum((unsigned char)s[n])) &&
                    s[n] != '.' && s[n] != '_' && s[n] != '-')
                        return false;
        return n >= 1 && n <= 64;
}

static bool is_one_of(const char *s, const char *const *words)
{
        for (; *words; words++)
                if (strcmp(s, *words) == 0)
                        return true;
        return false;
}

/* YYYY-MM-DD, digits where digits go (the database checks the calendar). */
static bool is_date(const char *s)
{
        for (int i = 0; i < 10; i++)
                if (i == 4 || i == 7 ? s[i] != '-' : !(s[i] >= '0' && s[i] <= '9'))
                        return false;
        return s[10] == '\0';
}

/* rtsp://, rtsps://, http:// or https:// and something, no white space. */
static bool is_url(const char *s)
{
        static const char *const schemes[] = { "rtsp://", "rtsps://", "http://", "https://", NULL };
        const char *const *sc;

        for (sc = schemes; *sc; sc++)
                if (strncmp(s, *sc, strlen(*sc)) == 0)
                        break;
        if (!*sc)
                return false;
        s += strlen(*sc);
        if (!*s)
                return false;
        for (; *s; s++)
                if (isspace((unsigned char)*s))
                        return false;
        return true;
}

/* Art 5, 24(1): whether URL S carries credentials, as the database's
 * url_has_credentials() says (schema/functions/checks.sql): a userinfo, or
 * a '%' or '\\' that a client might decode into one, before the first '/'
 * (transport/rtsp.c ends the host there, so `rtsp://h?u:p@x` is user u at
 * x); or a password in the query. */
static bool url_has_credentials(const char *s)
{
        static const char *const keys[] = { "user=", "username=", "password=", "passwd=", "pass=", "pwd=", NULL };
        const char *h = strstr(s, "://"), *p;

        for (p = h ? h + 3 : s; *p && *p != '/'; p++)
                if (*p == '@' || *p == '%' || *p == '\\')
                        return true;
        for (p = s; *p; p++) {
                if (*p != '?' && *p != '&' && *p != ';')
                        continue;
                for (const char *const *k = keys; *k; k++)
                        if (strncasecmp(p + 1, *k, strlen(*k)) == 0)
                                return true;
        }
        return false;
}

static const char *const yes_words[] = { "1", "t", "true", "y", "yes", NULL };
static const char *const no_words[] = { "0", "f", "false", "n", "no", NULL };

/* One value being checked: V, column COL of row R. */
struct value {
        const char *station;
        const struct catalog_column *c;
        const char *name;              /* c->option */
        struct catalogctl_row *r;
        int col;
        struct catalogctl_rejections *rj;
};

#define REFUSE(x, article, ...) \
        (catalogctl_reject((x)->rj, (x)->r, (x)->name, (article), __VA_ARGS__), false)

static bool check_text(const struct value *x, const char *v)
{
        if (strlen(v) > 200)
                return REFUSE(x, NULL, "%s is longer than 200 characters", x->name);
        return true;
}

static bool check_category(const struct value *x, const char *v)
{
        if (!check_text(x, v))
                return false;
        if (!is_art7_category(v))
                return REFUSE(x, "Art 7", "category \"%s\" is not an Art 7 category (7.1 to 7.12)", v);
        return true;
}

static bool check_code(const struct value *x, const char *v)
{
        if (!is_code(v))
                return REFUSE(x, NULL, "%s \"%s\": use 1 to 64 letters, digits, '.', '_' or '-'", x->name, v);
        return true;
}

/* Art 15: GB/T 28181, a camera's type, this station's centre code. */
static bool check_camera_id(const struct value *x, const char *v)
{
        int type;

        if (!nodeid_is_wellformed(v))
                return REFUSE(x, "Art 15", "camera ID \"%s\" is not 20 digits (GB/T 28181)", v);
        type = nodeid_type(v);
        if (type != 131 && type != 132)
                return REFUSE(x, "Art 15", "camera ID %s has type %03d; a camera is 131 or 132", v, type);
        if (strncmp(v, x->station, 8) != 0)
                return REFUSE(x, "Art 15", "camera ID %s is outside this station: its centre code must be %.8s",
                              v, x->station);
        return true;
}

static bool check_number(const struct value *x, const char *v)
{
        char *end;
        double d = strtod(v, &end);

        if (*end || end == v || !isfinite(d) || d < x->c->min || d > x->c->max)
                return REFUSE(x, NULL, "%s \"%s\" is not a number from %g to %g", x->name, v, x->c->min,
                              x->c->max);
        return true;
}

static bool check_whole(const struct value *x, const char *v)
{
        char *end;
        long l = strtol(v, &end, 10);

        if (*end || end == v)
                return REFUSE(x, x->c->article, "%s \"%s\" is not a whole number", x->name, v);
        /* The minimum is the rule an article sets (Art 23(6): at least 15
         * days), and the message begins with it. */
        if (l < (long)x->c->min)
                return REFUSE(x, x->c->article, "%s: %s is %ld, at least %ld is required", x->c->article, x->name,
                              l, (long)x->c->min);
        if (l > (long)x->c->max)
                return REFUSE(x, NULL, "%s %ld is more than %ld", x->name, l, (long)x->c->max);
        return true;
}

static bool check_yes_no(const struct value *x, const char *v)
{
        if (is_one_of(v, yes_words))
                catalogctl_row_set(x->r, x->col, "t");
        else if (is_one_of(v, no_words))
                catalogctl_row_set(x->r, x->col, "f");
        else
                return REFUSE(x, NULL, "%s \"%s\": use yes or no", x->name, v);
        return true;
}

static bool check_date(const struct value *x, const char *v)
{
        if (!is_date(v))
                return REFUSE(x, NULL, "%s \"%s\" is not a date (YYYY-MM-DD)", x->name, v);
        return true;
}

static bool check_choice(const struct value *x, const char *v)
{
        if (!is_one_of(v, x->c->choices))
                return REFUSE(x, x->c->article, "%s \"%s\" is not one of the allowed values", x->name, v);
        return true;
}

static bool check_url(const struct value *x, const char *v)
{
        if (!is_url(v))
                return REFUSE(x, x->c->article, "%s \"%s\" is not an rtsp:// or http:// URL", x->name, v);
        /* The URL is not repeated: it holds a password. */
        if (url_has_credentials(v))
                return REFUSE(x, "Art 5", "Art 5: %s carries credentials (user@ or a password in the URL), which "
                              "would travel up the tree; give it without them and hold them at this station with "
                              "`vigilctl system credentials SYSTEM --user U --password P`", x->name);
        return true;
}

static bool check_none(const struct value *x, const char *v)
{
        return true;
}

/* Indexed by enum catalog_check. */
static bool (*const catalogctl_checks[])(const struct value *x, const char *v) = {
        [CATALOG_CHECK_NONE] = check_none,
        [CATALOG_CHECK_TEXT] = check_text,
        [CATALOG_CHECK_CATEGORY] = check_category,
        [CATALOG_CHECK_CODE] = check_code,
        [CATALOG_CHECK_CAMERA_ID] = check_camera_id,
        [CATALOG_CHECK_NUMBER] = check_number,
        [CATALOG_CHECK_WHOLE] = check_whole,
        [CATALOG_CHECK_YES_NO] = check_yes_no,
        [CATALOG_CHECK_DATE] = check_date,
        [CATALOG_CHECK_CHOICE] = check_choice,
        [CATALOG_CHECK_URL] = check_url,
};

_Static_assert(sizeof(catalogctl_checks) / sizeof(catalogctl_checks[0]) == CATALOG_CHECK_URL + 1,
               "a check of enum catalog_check without its function");

/* Normalise and check one value; false (with a rejection) if refused. An
 * empty value is none. */
static bool catalogctl_value_check(const struct value *x)
{
        const char *v = x->r->v[x->col];

        if (!v || !*v) {
                catalogctl_row_set(x->r, x->col, NULL);
                if (x->c->required)
                        return REFUSE(x, x->c->article, "%s is required", x->name);
                return true;
        }
        return catalogctl_checks[x->c->check](x, v);
}

bool catalogctl_row_check(const char *station, const struct catalogctl_entity *e, struct catalogctl_row *r,
                          struct catalogctl_rejections *rj)
{
        for (int i = 0; i < e->e->ncolumns; i++) {
                const struct catalog_column *c = &e->e->columns[i];
                struct value x = { station, c, c->option, r, i, rj };
                if (c->option && !catalogctl_value_check(&x))
                        return false;
        }
        return true;
}

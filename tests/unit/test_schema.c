/* The schema's files against the database they make (schema/README.md):
 * every SQL function is defined in exactly one function file (once), no
 * numbered migration defines one and no function file changes a table; a
 * fresh database has exactly the functions the files define, each once;
 * and schema/SCHEMA.sql is what a fresh database dumps to.
 *
 *   test_schema               the checks (meson test; VIGIL_SOURCE_DIR)
 *   test_schema --write FILE  write the fresh dump to FILE (schema/dump-schema) */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "unit.h"
#include "unit_pg.h"
#include "db/migrate.h"

static struct unit_pg pg;

/* --- a reader of SQL text: the top-level statements of a file --- */

/* The end of the token at S that a statement boundary cannot be inside:
 * a -- comment, a 'string', a "quoted identifier" or a $tag$ body; S+1
 * for anything else. */
static const char *unit_sql_skip(const char *s)
{
        const char *e;

        if (s[0] == '-' && s[1] == '-') {
                e = strchr(s, '\n');
                return e ? e + 1 : s + strlen(s);
        }
        if (s[0] == '\'' || s[0] == '"') {
                for (e = s + 1; *e; e++) {
                        if (*e == s[0] && e[1] == s[0])
                                e++;            /* '' or "" inside */
                        else if (*e == s[0])
                                return e + 1;
                }
                return e;
        }
        if (s[0] == '$') {
                char tag[64];
                size_t k = 1;

                while (isalpha((unsigned char)s[k]) || s[k] == '_')
                        k++;
                if (s[k] == '$' && k + 1 < sizeof(tag)) {
                        memcpy(tag, s, k + 1);
                        tag[k + 1] = '\0';
                        e = strstr(s + k + 1, tag);
                        return e ? e + k + 1 : s + strlen(s);
                }
        }
        return s + 1;
}

/* The top-level statements of SQL, one at a time: *AT walks the text;
 * each call puts the next statement, comments dropped and white space
 * folded to single blanks, in BUF (the first LEN-1 characters of it), and
 * returns false at the end. Enough to tell what a statement creates. */
static bool unit_sql_next(const char **at, char *buf, size_t len)
{
        const char *s = *at;
        size_t k = 0;

        while (*s && (isspace((unsigned char)*s) || (s[0] == '-' && s[1] == '-')))
                s = isspace((unsigned char)*s) ? s + 1 : unit_sql_skip(s);
        if (!*s)
                return false;
        while (*s && *s != ';') {
                const char *e = unit_sql_skip(s);

                if (!(s[0] == '-' && s[1] == '-'))      /* comments are dropped */
                        for (; s < e; s++)
                                if (k + 1 < len && !(isspace((unsigned char)*s) && k > 0 && buf[k - 1] == ' '))
                                        buf[k++] = isspace((unsigned char)*s) ? ' ' : *s;
                s = e;
        }
        buf[k] = '\0';
        *at = *s ? s + 1 : s;
        return true;
}

/* Does statement STMT begin with WORDS (case-insensitive)? Then where
 * they end. */
static const char *unit_sql_starts(const char *stmt, const char *words)
{
        size_t n = strlen(words);

        return strncasecmp(stmt, words, n) == 0 ? stmt + n : NULL;
}

/* The function a statement of a function file defines, in NAME: one
 * `CREATE [OR REPLACE] FUNCTION name(` or, for the generated catalog apply
 * functions, `SELECT catalog_define_apply('table', 'name', ...)`. False if
 * it defines none. *RET_REPLACE: whether it is CREATE OR REPLACE. */
static bool unit_sql_defines(const char *stmt, char *name, size_t len, bool *ret_replace)
{
        const char *p;
        size_t k = 0;

        *ret_replace = true;
        if ((p = unit_sql_starts(stmt, "SELECT catalog_define_apply('"))) {
                p = strchr(p, '\'');           /* the end of the table's name */
                if (!p)
                        return false;
                for (p++; *p == ' ' || *p == ','; p++)
                        ;
                if (*p++ != '\'')
                        return false;
                for (; *p && *p != '\'' && k + 1 < len; p++)
                        name[k++] = *p;
                name[k] = '\0';
                return k > 0;
        }
        if (!(p = unit_sql_starts(stmt, "CREATE OR REPLACE FUNCTION ")) &&
            !(p = unit_sql_starts(stmt, "CREATE OR REPLACE PROCEDURE "))) {
                if (!(p = unit_sql_starts(stmt, "CREATE FUNCTION ")) &&
                    !(p = unit_sql_starts(stmt, "CREATE PROCEDURE ")))
                        return false;
                *ret_replace = false;
        }
        if (strncasecmp(p, "public.", 7) == 0)
                p += 7;
        for (; (isalnum((unsigned char)*p) || *p == '_') && k + 1 < len; p++)
                name[k++] = (char)tolower((unsigned char)*p);
        name[k] = '\0';
        return k > 0;
}

#define MAX_DEFS 256

struct def {
        char name[64];
        const char *file;
};

static struct def defs[MAX_DEFS];
static int n_defs;

/* Statements that change tables belong in numbered migrations. */
static const char *const table_words[] = {
        "CREATE TABLE", "ALTER TABLE", "DROP ", "CREATE INDEX", "CREATE UNIQUE INDEX", "INSERT INTO",
        "UPDATE ", "DELETE FROM", "GRANT ", "REVOKE ", "CREATE TYPE", "CREATE ROLE", "ALTER DEFAULT",
};

/* Read every function file's definitions into defs[]; a function defined
 * twice fails here, naming both files. */
static void read_defs(void)
{
        static char stmt[1 << 16];
        int i, k;

        n_defs = 0;
        for (i = 0; i < migrate_n_files; i++) {
                const struct migration *f = &migrate_files[i];
                const char *at = f->sql;
                char name[64];
                bool replace;

                if (f->kind == MIGRATION_NUMBERED)
                        continue;
                while (unit_sql_next(&at, stmt, sizeof(stmt))) {
                        for (k = 0; k < (int)(sizeof(table_words) / sizeof(table_words[0])); k++)
                                if (unit_sql_starts(stmt, table_words[k])) {
                                        fprintf(stderr, "%s: a table change (%.60s...) belongs in a numbered "
                                                "migration\n", f->name, stmt);
                                        exit(1);
                                }
                        if (!unit_sql_defines(stmt, name, sizeof(name), &replace))
                                continue;
                        if (!replace) {
                                /* Applied again at every change: it must replace. */
                                fprintf(stderr, "%s: %s is CREATE FUNCTION, not CREATE OR REPLACE\n", f->name,
                                        name);
                                exit(1);
                        }
                        for (k = 0; k < n_defs; k++)
                                if (strcmp(defs[k].name, name) == 0) {
                                        fprintf(stderr, "%s is defined twice: in %s and in %s\n", name,
                                                defs[k].file, f->name);
                                        exit(1);
                                }
                        CHECK(n_defs < MAX_DEFS);
                        snprintf(defs[n_defs].name, sizeof(defs[n_defs].name), "%s", name);
                        defs[n_defs++].file = f->name;
                }
        }
}

/* The reader finds what these define, and nothing in what they hide. */
static void test_reader(void)
{
        static const char sql[] =
                "-- CREATE FUNCTION in_a_comment() ...;\n"
                "CREATE OR REPLACE FUNCTION one(a text) RETURNS text LANGUAGE sql AS $$ SELECT 'x;'; $$;\n"
                "CREATE TABLE \"it's\" (a text DEFAULT 'CREATE FUNCTION no(); ''x''');\n"
                "create   or replace\n  function\tpublic.Two() RETURNS void LANGUAGE plpgsql AS $body$\n"
                "BEGIN EXECUTE 'CREATE OR REPLACE FUNCTION three() ...'; END $body$;\n"
                "SELECT catalog_define_apply('cameras',  'camera_apply', ARRAY['id']);\n"
                "CREATE FUNCTION four() RETURNS int RETURN 4;";
        static const char *const expect[] = { "one", NULL, "two", "camera_apply", "four" };
        const char *at = sql;
        char stmt[512], name[64];
        bool replace;
        int i = 0;

        while (unit_sql_next(&at, stmt, sizeof(stmt))) {
                CHECK(i < 5);
                if (expect[i]) {
                        CHECK(unit_sql_defines(stmt, name, sizeof(name), &replace));
                        CHECK_STREQ(name, expect[i]);
                        CHECK(replace == (i != 4));
                } else {
                        CHECK(!unit_sql_defines(stmt, name, sizeof(name), &replace));
                        CHECK(unit_sql_starts(stmt, "CREATE TABLE \"it's\""));
                }
                i++;
        }
        CHECK(i == 5);
}

/* Functions are defined in function files only, each in one of them. */
static void test_functions_defined_once(void)
{
        static char stmt[1 << 16];
        char name[64];
        bool replace;
        int i;

        read_defs();
        CHECK(n_defs > 50);
        for (i = 0; i < migrate_n_files; i++) {
                const char *at = migrate_files[i].sql;

                if (migrate_files[i].kind != MIGRATION_NUMBERED)
                        continue;
                while (unit_sql_next(&at, stmt, sizeof(stmt)))
                        if (unit_sql_defines(stmt, name, sizeof(name), &replace)) {
                                fprintf(stderr, "%s defines function %s: functions go in schema/functions/\n",
                                        migrate_files[i].name, name);
                                exit(1);
                        }
        }
}

/* A fresh database has the functions the files define, and only those
 * (not those of extensions), each once: no stale overload of a function
 * whose arguments changed. */
static void test_database_has_what_the_files_define(void)
{
        PGconn *c = unit_pg_node_db(&pg, "43010401002000000001");
        PGresult *r;
        int i, k;

        read_defs();
        r = unit_pg_exec(c, "SELECT p.proname, count(*) FROM pg_proc p "
                            "WHERE p.pronamespace = 'public'::regnamespace AND NOT EXISTS ("
                            "SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
                            "AND d.objid = p.oid AND d.deptype = 'e') GROUP BY 1 ORDER BY 1");
        for (i = 0; i < PQntuples(r); i++) {
                const char *name = PQgetvalue(r, i, 0);

                for (k = 0; k < n_defs && strcmp(defs[k].name, name) != 0; k++)
                        ;
                if (k == n_defs) {
                        fprintf(stderr, "function %s is in the database but in no file of schema/functions/\n",
                                name);
                        exit(1);
                }
                if (strcmp(PQgetvalue(r, i, 1), "1") != 0) {
                        fprintf(stderr, "function %s is in the database %s times\n", name, PQgetvalue(r, i, 1));
                        exit(1);
                }
        }
        for (k = 0; k < n_defs; k++) {
                for (i = 0; i < PQntuples(r) && strcmp(defs[k].name, PQgetvalue(r, i, 0)) != 0; i++)
                        ;
                if (i == PQntuples(r)) {
                        fprintf(stderr, "%s (%s) is not in the database\n", defs[k].name, defs[k].file);
                        exit(1);
                }
        }
        PQclear(r);
        PQfinish(c);
}

/* The whole of a file or a command's output; caller frees it. */
static char *read_all(FILE *f)
{
        size_t n = 0, cap = 1 << 16;
        char *buf = malloc(cap);

        CHECK(buf);
        while (!feof(f) && !ferror(f)) {
                if (cap - n < 4096) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        CHECK(buf);
                }
                n += fread(buf + n, 1, cap - n - 1, f);
        }
        buf[n] = '\0';
        return buf;
}

/* The normalised dump of the test's database (schema/dump-schema --db). */
static char *dump_schema(void)
{
        const char *src = getenv("VIGIL_SOURCE_DIR");
        char cmd[2048];
        FILE *p;
        char *out;

        if (!src || !*src) {
                fprintf(stderr, "VIGIL_SOURCE_DIR is not set (meson test sets it)\n");
                exit(1);
        }
        snprintf(cmd, sizeof(cmd), "'%s/schema/dump-schema' --db '%s' '%s' '%s'", src, pg.dir, pg.port,
                 pg.dbname);
        p = popen(cmd, "r");
        CHECK(p);
        out = read_all(p);
        CHECK(pclose(p) == 0);
        CHECK(strstr(out, "CREATE TABLE public.cameras"));
        return out;
}

/* schema/SCHEMA.sql is what a fresh database dumps to. When it is not, the
 * fresh dump goes to SCHEMA.sql.fresh (in the build's test directory) and
 * the first line that differs is shown; schema/dump-schema writes it. */
static void test_schema_sql_is_current(void)
{
        char path[1024], *want, *got;
        const char *a, *b;
        FILE *f;
        int line = 1;

        snprintf(path, sizeof(path), "%s/schema/SCHEMA.sql", getenv("VIGIL_SOURCE_DIR"));
        f = fopen(path, "r");
        if (!f) {
                fprintf(stderr, "%s: cannot read it: run schema/dump-schema\n", path);
                exit(1);
        }
        want = read_all(f);
        fclose(f);
        got = dump_schema();
        for (a = want, b = got; *a && *a == *b; a++, b++)
                line += *a == '\n';
        if (*a || *b) {
                while (a > want && a[-1] != '\n') {    /* from the start of the line */
                        a--;
                        b--;
                }
                f = fopen("SCHEMA.sql.fresh", "w");
                if (f) {
                        fputs(got, f);
                        fclose(f);
                }
                fprintf(stderr, "schema/SCHEMA.sql is stale from line %d:\n  committed: %.*s\n  fresh:     %.*s\n"
                        "(the fresh dump is in %s/SCHEMA.sql.fresh; schema/dump-schema writes it)\n", line,
                        (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b, getcwd(path, sizeof(path)));
                exit(1);
        }
        free(want);
        free(got);
}

/* --write FILE: migrate a fresh database and write its dump to FILE. */
static int write_dump(const char *path)
{
        PGconn *c = unit_pg_connect(&pg, pg.dbname);
        char err[512];
        int applied;
        char *got;
        FILE *f;

        if (migrate_apply(c, &applied, err, sizeof(err)) < 0) {
                fprintf(stderr, "migrate_apply: %s\n", err);
                return 1;
        }
        PQfinish(c);
        got = dump_schema();
        f = fopen(path, "w");
        if (!f || fputs(got, f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "cannot write %s\n", path);
                return 1;
        }
        free(got);
        return 0;
}

int main(int argc, char **argv)
{
        int r;

        if (argc == 3 && strcmp(argv[1], "--write") == 0) {
                unit_pg_setup(&pg, "vigil_schema_dump");
                r = write_dump(argv[2]);
                unit_pg_teardown(&pg);
                return r;
        }
        RUN(test_reader);
        RUN(test_functions_defined_once);
        unit_pg_setup(&pg, "vigil_unit_schema");
        RUN(test_database_has_what_the_files_define);
        RUN(test_schema_sql_is_current);
        unit_pg_teardown(&pg);
        return 0;
}

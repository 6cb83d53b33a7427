/* log: logfmt lines to stderr (or a file reopened on SIGHUP).
 *
 * Library code returns errors; callers log once, with a subsystem tag:
 *   log_warn("link", "peer=%s msg=\"heartbeat lost\"", id);
 * prints
 *   ts=2026-11-28T12:00:00.123Z level=warn sub=link peer=... msg="heartbeat lost"
 * Values with spaces must be quoted by the caller; log_escape() makes a
 * value safe to place between double quotes. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/** Parse "debug|info|warn|error"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret_level);
/** Set the minimum level that is printed (default LOG_INFO). */
void log_set_level(enum log_level level);
/** Log to PATH (appending) instead of stderr; NULL returns to stderr.
 *  Returns 0 or a negative errno. Used again on SIGHUP to reopen. */
int log_open(const char *path);
/** Reopen the file given to log_open() (SIGHUP); no-op on stderr. */
int log_reopen(void);

void log_msg(enum log_level level, const char *sub, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, const char *sub, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

#define log_debug(sub, ...) log_msg(LOG_DEBUG, sub, __VA_ARGS__)
#define log_info(sub, ...)  log_msg(LOG_INFO, sub, __VA_ARGS__)
#define log_warn(sub, ...)  log_msg(LOG_WARN, sub, __VA_ARGS__)
#define log_error(sub, ...) log_msg(LOG_ERROR, sub, __VA_ARGS__)

/** Copy S into BUF (size N), escaping '"' and '\\' and replacing control
 *  characters, truncating if needed; returns BUF. For untrusted strings. */
char *log_escape(char *buf, size_t n, const char *s);

/* Two kinds of assert (STYLE.md 7):
 * vigil_require(): a state that cannot happen; logs and aborts.
 * vigil_fails(): logs the broken expectation and evaluates to true so the
 *   caller can recover: if (vigil_fails(p != NULL)) return -EINVAL; */
#define vigil_require(expr) \
        do { if (!(expr)) log_abort(__FILE__, __LINE__, #expr); } while (0)
#define vigil_fails(expr) \
        (!(expr) ? (log_failed(__FILE__, __LINE__, #expr), 1) : 0)

_Noreturn void log_abort(const char *file, int line, const char *expr);
void log_failed(const char *file, int line, const char *expr);

/* log: logfmt lines, one write(2) per line.
 *
 * A line is built whole in a stack buffer and written with a single write()
 * so that lines logged from signal handlers or other threads never
 * interleave mid-line, and a crash right after a log call still leaves the
 * line on disk (no stdio buffering in between). */
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static atomic_int log_min_level = LOG_INFO;
static atomic_int log_fd = STDERR_FILENO;
static char log_path[1024];

static const char *const level_names[] = {
        [LOG_DEBUG] = "debug", [LOG_INFO] = "info",
        [LOG_WARN] = "warn", [LOG_ERROR] = "error",
};

int log_level_parse(const char *s, enum log_level *ret_level)
{
        if (!s)
                return -EINVAL;
        for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
                if (strcmp(s, level_names[i]) == 0) {
                        *ret_level = (enum log_level)i;
                        return 0;
                }
        }
        return -EINVAL;
}

void log_set_level(enum log_level level)
{
        if (level < LOG_DEBUG || level > LOG_ERROR)
                level = LOG_INFO;
        atomic_store(&log_min_level, (int)level);
}

static int open_append(const char *path)
{
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        return fd < 0 ? -errno : fd;
}

/* Swap the descriptor first and close the old one after, so that a line
 * logged concurrently goes to one file or the other, never to a closed fd. */
static void install_fd(int fd)
{
        int old = atomic_exchange(&log_fd, fd);
        if (old != STDERR_FILENO && old != fd)
                close(old);
}

int log_open(const char *path)
{
        if (!path) {
                log_path[0] = '\0';
                install_fd(STDERR_FILENO);
                return 0;
        }
        if (strlen(path) >= sizeof(log_path))
                return -ENAMETOOLONG;
        int fd = open_append(path);
        if (fd < 0)
                return fd;
        memcpy(log_path, path, strlen(path) + 1);
        install_fd(fd);
        return 0;
}

int log_reopen(void)
{
        if (log_path[0] == '\0')
                return 0;
        int fd = open_append(log_path);
        if (fd < 0)
                return fd;
        install_fd(fd);
        return 0;
}

static void write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        return; /* nowhere left to report it */
                }
                p += w;
                n -= (size_t)w;
        }
}

void log_vmsg(enum log_level level, const char *sub, const char *fmt, va_list ap)
{
        if ((int)level < atomic_load(&log_min_level))
                return;
        if (level < LOG_DEBUG || level > LOG_ERROR)
                level = LOG_ERROR;

        int saved_errno = errno; /* callers may log between a failure and its errno */
        char line[LOG_LINE_MAX];
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);

        int n = snprintf(line, sizeof(line),
                         "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s sub=%s ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                         level_names[level], sub ? sub : "-");
        if (n < 0)
                return;
        size_t head = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
        int m = vsnprintf(line + head, sizeof(line) - head, fmt, ap);
        size_t len = head;
        if (m > 0)
                len += (size_t)m < sizeof(line) - head ? (size_t)m : sizeof(line) - head - 1;
        /* One record per line: a newline inside the caller's text would let
         * a value (e.g. a peer-supplied string) forge a record of its own. */
        for (size_t i = head; i < len; i++)
                if (line[i] == '\n' || line[i] == '\r')
                        line[i] = ' ';
        if (len >= sizeof(line) - 1)
                len = sizeof(line) - 2;
        line[len++] = '\n';
        write_all(atomic_load(&log_fd), line, len);
        errno = saved_errno;
}

void log_msg(enum log_level level, const char *sub, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        log_vmsg(level, sub, fmt, ap);
        va_end(ap);
}

char *log_escape(char *buf, size_t n, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        if (n == 0)
                return buf;
        for (; s && *s; s++) {
                unsigned char c = (unsigned char)*s;
                char tmp[4];
                size_t k = 0;
                if (c == '"' || c == '\\') {
                        tmp[k++] = '\\';
                        tmp[k++] = (char)c;
                } else if (c == '\n') {
                        tmp[k++] = '\\';
                        tmp[k++] = 'n';
                } else if (c == '\t') {
                        tmp[k++] = '\\';
                        tmp[k++] = 't';
                } else if (c < 0x20 || c == 0x7f) {
                        tmp[k++] = '\\';
                        tmp[k++] = 'x';
                        tmp[k++] = hex[c >> 4];
                        tmp[k++] = hex[c & 15];
                } else {
                        tmp[k++] = (char)c;
                }
                /* Never cut an escape in half: a trailing lone backslash
                 * would swallow the closing quote. */
                if (o + k >= n)
                        break;
                memcpy(buf + o, tmp, k);
                o += k;
        }
        buf[o] = '\0';
        return buf;
}

_Noreturn void log_abort(const char *file, int line, const char *expr)
{
        char e[256];
        log_error("assert", "file=%s line=%d expr=\"%s\" msg=\"impossible state, aborting\"",
                  file, line, log_escape(e, sizeof(e), expr));
        abort();
}

void log_failed(const char *file, int line, const char *expr)
{
        char e[256];
        log_error("assert", "file=%s line=%d expr=\"%s\" msg=\"expectation failed, recovering\"",
                  file, line, log_escape(e, sizeof(e), expr));
}

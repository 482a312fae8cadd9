/*
 * Daemon logging: each call formats one whole line in a stack buffer and hands it to the kernel
 * in one write(2), so lines from several threads never interleave (a pipe or journald stream
 * keeps writes up to PIPE_BUF atomic, and LOG_LINE_MAX stays below that). The "<N>" prefix is the
 * sd-daemon(3) convention journald uses to file the line at syslog priority N.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Longest line written, newline included; longer messages are cut and end in "...". */
#define LOG_LINE_MAX 1024

static atomic_int log_level = LOG_INFO;

static const struct {
    const char *name;
    int level;
} log_level_names[] = {
    {"emerg", LOG_EMERG}, {"alert", LOG_ALERT},     {"crit", LOG_CRIT},    {"err", LOG_ERR},
    {"error", LOG_ERR},   {"warning", LOG_WARNING}, {"warn", LOG_WARNING}, {"notice", LOG_NOTICE},
    {"info", LOG_INFO},   {"debug", LOG_DEBUG},
};

static int clamp_level(int level)
{
    if (level < LOG_EMERG) return LOG_EMERG;
    if (level > LOG_DEBUG) return LOG_DEBUG;
    return level;
}

void log_set_level(int level)
{
    atomic_store_explicit(&log_level, clamp_level(level), memory_order_relaxed);
}

int log_get_level(void)
{
    return atomic_load_explicit(&log_level, memory_order_relaxed);
}

int log_level_parse(const char *s)
{
    if (!s) return -1;
    if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0') return s[0] - '0';
    for (size_t i = 0; i < sizeof log_level_names / sizeof log_level_names[0]; i++)
        if (strcasecmp(s, log_level_names[i].name) == 0) return log_level_names[i].level;
    return -1;
}

/* Writes all of buf, retrying on EINTR and short writes; errors are dropped (nowhere to go). */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

void log_msg(int level, const char *tag, uint64_t session, const char *fmt, ...)
{
    int saved_errno = errno; /* callers may log between a failing call and reading errno */
    char line[LOG_LINE_MAX];
    const size_t body_max = sizeof line - 1; /* room kept for the newline */
    int lvl = clamp_level(level);
    int n;

    if (!tag) tag = "-";
    if (session)
        n = snprintf(line, body_max + 1, "<%d>nodusd[%s] s%llu: ", lvl, tag,
                     (unsigned long long)session);
    else
        n = snprintf(line, body_max + 1, "<%d>nodusd[%s]: ", lvl, tag);
    size_t len = n < 0 ? 0 : (size_t)n;
    if (len > body_max) len = body_max; /* an absurdly long tag: the prefix itself was cut */

    size_t prefix = len;
    if (len < body_max) {
        va_list ap;
        va_start(ap, fmt);
        errno = saved_errno; /* so %m in fmt names the caller's error */
        n = vsnprintf(line + len, body_max + 1 - len, fmt, ap);
        va_end(ap);
        if (n > 0) len += (size_t)n;
    }
    if (len > body_max) {
        len = body_max;
        memcpy(line + len - 3, "...", 3);
    }
    /* One message is one journal entry: embedded line breaks would split it. */
    for (size_t i = prefix; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    line[len++] = '\n';

    write_all(STDERR_FILENO, line, len);
    errno = saved_errno;
}

/*
 * Daemon logging: syslog levels, one line per call on stderr with the sd-daemon level prefix
 * ("<3>" ...) so journald files it right, a subsystem tag, and the session id when there is one.
 * Callable from any thread (one write() per line).
 */
#ifndef NODUS_LOG_H
#define NODUS_LOG_H

#include <stdint.h>
#include <syslog.h>

/* Lines above this level (LOG_ERR=3 ... LOG_DEBUG=7) are dropped. Default LOG_INFO. */
void log_set_level(int level);
int log_get_level(void);
/* Parses "err", "warning", "notice", "info", "debug" (or 0-7); -1 if unknown. */
int log_level_parse(const char *s);

/* Writes one line: "<lvl>nodusd[tag] s<session>: message". session 0 = none. */
void log_msg(int level, const char *tag, uint64_t session, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_enabled(level) ((level) <= log_get_level())
/* Formats nothing unless the level is enabled (debug lines on the hot path cost a compare). */
#define LOG(level, tag, session, ...)                                                              \
    do {                                                                                           \
        if (log_enabled(level)) log_msg((level), (tag), (session), __VA_ARGS__);                   \
    } while (0)

#endif

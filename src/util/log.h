/* Logging: levels, timestamps, a tag per module, optional JSON lines. Thread-safe.
 * Never call on the per-packet path. */
#ifndef CHORUS_UTIL_LOG_H
#define CHORUS_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#include "chorus/plugin.h" /* chorus_log_level */

/* Parses "fatal|error|warn|info|verb|debug" or "0".."5". Returns -1 if unknown. */
int chorus_log_level_parse(const char *text);
const char *chorus_log_level_name(chorus_log_level level);

void chorus_log_set_level(chorus_log_level level);
chorus_log_level chorus_log_get_level(void);
void chorus_log_set_json(bool json);

void chorus_log(chorus_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void chorus_logv(chorus_log_level level, const char *tag, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define CHORUS_ENABLED(lvl) ((int)(lvl) <= (int)chorus_log_get_level())
#define LOG_E(tag, ...)     chorus_log(CHORUS_LOG_ERROR, tag, __VA_ARGS__)
#define LOG_W(tag, ...)     chorus_log(CHORUS_LOG_WARN, tag, __VA_ARGS__)
#define LOG_I(tag, ...)     chorus_log(CHORUS_LOG_INFO, tag, __VA_ARGS__)
#define LOG_V(tag, ...)                                                                            \
    do {                                                                                           \
        if (CHORUS_ENABLED(CHORUS_LOG_VERB))                                                       \
            chorus_log(CHORUS_LOG_VERB, tag, __VA_ARGS__);                                         \
    } while (0)
#define LOG_D(tag, ...)                                                                            \
    do {                                                                                           \
        if (CHORUS_ENABLED(CHORUS_LOG_DEBUG))                                                      \
            chorus_log(CHORUS_LOG_DEBUG, tag, __VA_ARGS__);                                        \
    } while (0)

#endif

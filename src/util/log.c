#include "util/log.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static const char *const level_names[] = {"fatal", "error", "warn", "info", "verb", "debug"};
static gint current_level = CHORUS_LOG_INFO;
static gint json_lines = 0;

int chorus_log_level_parse(const char *text)
{
    if (text == NULL)
        return -1;
    for (int i = 0; i < (int)G_N_ELEMENTS(level_names); i++) {
        if (g_ascii_strcasecmp(text, level_names[i]) == 0)
            return i;
    }
    if (text[0] >= '0' && text[0] <= '5' && text[1] == '\0')
        return text[0] - '0';
    if (g_ascii_strcasecmp(text, "warning") == 0)
        return CHORUS_LOG_WARN;
    if (g_ascii_strcasecmp(text, "verbose") == 0)
        return CHORUS_LOG_VERB;
    return -1;
}

const char *chorus_log_level_name(chorus_log_level level)
{
    if ((int)level < 0 || (int)level >= (int)G_N_ELEMENTS(level_names))
        return "?";
    return level_names[level];
}

void chorus_log_set_level(chorus_log_level level)
{
    g_atomic_int_set(&current_level, (gint)level);
}

chorus_log_level chorus_log_get_level(void)
{
    return (chorus_log_level)g_atomic_int_get(&current_level);
}

void chorus_log_set_json(bool json)
{
    g_atomic_int_set(&json_lines, json ? 1 : 0);
}

static void write_json(const char *stamp, chorus_log_level level, const char *tag, const char *msg)
{
    GString *out = g_string_sized_new(128);
    g_string_append_printf(out, "{\"ts\":\"%s\",\"level\":\"%s\",\"tag\":\"", stamp,
                           chorus_log_level_name(level));
    g_string_append(out, tag);
    g_string_append(out, "\",\"msg\":\"");
    for (const char *p = msg; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            g_string_append_printf(out, "\\%c", c);
        else if (c < 0x20)
            g_string_append_printf(out, "\\u%04x", c);
        else
            g_string_append_c(out, (char)c);
    }
    g_string_append(out, "\"}\n");
    fputs(out->str, stderr);
    g_string_free(out, TRUE);
}

void chorus_logv(chorus_log_level level, const char *tag, const char *fmt, va_list ap)
{
    if (!CHORUS_ENABLED(level))
        return;
    char *msg = g_strdup_vprintf(fmt, ap);
    GDateTime *now = g_date_time_new_now_utc();
    char *stamp = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%fZ");
    g_date_time_unref(now);
    if (tag == NULL)
        tag = "core";
    flockfile(stderr);
    if (g_atomic_int_get(&json_lines))
        write_json(stamp, level, tag, msg);
    else
        fprintf(stderr, "%s [%s] %s: %s\n", stamp, chorus_log_level_name(level), tag, msg);
    fflush(stderr);
    funlockfile(stderr);
    g_free(stamp);
    g_free(msg);
}

void chorus_log(chorus_log_level level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    chorus_logv(level, tag, fmt, ap);
    va_end(ap);
}

#include "core/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

G_DEFINE_QUARK(chorus - config - error, chorus_config_error)

typedef enum { OPT_INT, OPT_BOOL, OPT_STRING, OPT_LIST, OPT_LEVEL } OptType;

typedef struct {
    ChorusConfigOptionInfo info;
    OptType type;
    size_t offset;
    int min, max;
} Option;

#define OFF(field) offsetof(ChorusConfig, field)
#define INT_OPT(s, k, def, lo, hi, help)                                                           \
    {                                                                                              \
        {s, #k, def, help}, OPT_INT, OFF(k), lo, hi                                                \
    }
#define STR_OPT(s, k, def, help)                                                                   \
    {                                                                                              \
        {s, #k, def, help}, OPT_STRING, OFF(k), 0, 0                                               \
    }

static const Option options[] = {
    {{"general", "log_level", "info", "fatal, error, warn, info, verb or debug"},
     OPT_LEVEL,
     OFF(log_level),
     0,
     5},
    {{"general", "log_json", "false", "write log lines as JSON objects"},
     OPT_BOOL,
     OFF(log_json),
     0,
     0},
    STR_OPT("general", server_name, "Chorus", "name reported by the info request"),
    INT_OPT("general", session_timeout, "60", 0, 86400,
            "seconds without any request before a session times out (0: never)"),
    INT_OPT("general", reclaim_timeout, "20", 0, 3600,
            "seconds a session whose WebSocket closed waits for a claim"),
    INT_OPT("general", workers, "0", 0, 64, "media worker threads (0: one per core)"),
    STR_OPT("general", plugins_folder, "", "folder of plugin .so files (empty: built-in)"),
    STR_OPT("general", configs_folder, "", "folder of plugin configs (empty: built-in)"),
    {{"general", "disable", "", "plugins not to load, by package or file name (a;b)"},
     OPT_LIST,
     OFF(disable),
     0,
     0},
    STR_OPT("general", api_secret, "", "secret every API request must carry as apisecret"),
    STR_OPT("general", admin_secret, "", "secret the admin API requires as admin_secret"),
    STR_OPT("transport", ws_interface, "0.0.0.0", "address the Janus API WebSocket binds"),
    INT_OPT("transport", ws_port, "8188", 0, 65535, "Janus API WebSocket port (0: off)"),
    STR_OPT("transport", admin_interface, "127.0.0.1", "address the admin WebSocket binds"),
    INT_OPT("transport", admin_port, "7188", 0, 65535, "admin API WebSocket port (0: off)"),
    STR_OPT("transport", http_interface, "0.0.0.0", "address the HTTP server binds"),
    INT_OPT("transport", http_port, "8088", 0, 65535, "HTTP port for html/ and /health (0: off)"),
    STR_OPT("transport", html_folder, "", "folder served over HTTP (empty: built-in)"),
    INT_OPT("transport", max_message_size, "262144", 1024, 16777216,
            "largest WebSocket message accepted, in bytes"),
    INT_OPT("transport", max_connections, "1024", 1, 65536, "connections in total"),
    INT_OPT("transport", max_connections_per_ip, "64", 1, 65536, "connections from one address"),
    {{"media", "ice_interfaces", "", "host candidates only on these interfaces or addresses (a;b)"},
     OPT_LIST,
     OFF(ice_interfaces),
     0,
     0},
    {{"media", "ice_loopback", "true", "offer loopback candidates (127.0.0.1) too"},
     OPT_BOOL,
     OFF(ice_loopback),
     0,
     0},
    {{"media", "ice_ipv6", "false", "gather IPv6 host candidates"}, OPT_BOOL, OFF(ice_ipv6), 0, 0},
    {{"media", "ice_tcp", "false", "offer ICE-TCP candidates besides UDP"},
     OPT_BOOL,
     OFF(ice_tcp),
     0,
     0},
    INT_OPT("media", rtp_port_min, "0", 0, 65535, "lowest UDP port for media (0: any)"),
    INT_OPT("media", rtp_port_max, "0", 0, 65535, "highest UDP port for media (0: any)"),
    STR_OPT("media", stun_server, "", "STUN server host:port for srflx candidates"),
    STR_OPT("media", turn_server, "", "TURN server host:port for relay candidates"),
    STR_OPT("media", turn_transport, "udp", "TURN transport: udp, tcp or tls"),
    STR_OPT("media", turn_user, "", "TURN user name"),
    STR_OPT("media", turn_password, "", "TURN password"),
    INT_OPT("media", ice_timeout, "30", 5, 3600,
            "seconds without consent or traffic before the PeerConnection hangs up"),
    STR_OPT("media", dtls_certificate, "", "DTLS certificate PEM (empty: generated at start)"),
    STR_OPT("media", dtls_key, "", "DTLS private key PEM for dtls_certificate"),
    {{"media", "srtp_profiles", "aead_aes_128_gcm;aes128_cm_sha1_80",
      "SRTP profiles offered in DTLS, in preference order"},
     OPT_LIST,
     OFF(srtp_profiles),
     0,
     0},
    INT_OPT("limits", max_sessions, "10000", 1, 1000000, "Janus sessions in total"),
    INT_OPT("limits", max_handles_per_session, "16", 1, 1024, "handles one session may attach"),
    INT_OPT("limits", requests_per_second, "50", 0, 1000000,
            "Janus API requests per second per WebSocket, burst 2x (0: no limit)"),
    STR_OPT("auth", token_secret, "", "HS256 secret of the JWTs create needs (empty: tokens off)"),
    {{"auth", "token_required", "true", "with token_secret set, create without a token is refused"},
     OPT_BOOL,
     OFF(token_required),
     0,
     0},
};

const ChorusConfigOptionInfo *chorus_config_option(guint index)
{
    return index < G_N_ELEMENTS(options) ? &options[index].info : NULL;
}

static gboolean parse_int(const Option *o, const char *value, int *out, char **why)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (*value == '\0' || end == NULL || *end != '\0' || errno != 0) {
        *why = g_strdup_printf("'%s' is not a whole number", value);
        return FALSE;
    }
    if (v < o->min || v > o->max) {
        *why = g_strdup_printf("%ld is out of range (%d..%d)", v, o->min, o->max);
        return FALSE;
    }
    *out = (int)v;
    return TRUE;
}

static gboolean parse_bool(const char *value, gboolean *out, char **why)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(value, yes[i]) == 0)
            return (*out = TRUE);
        if (g_ascii_strcasecmp(value, no[i]) == 0)
            return (*out = FALSE) == FALSE;
    }
    *why = g_strdup_printf("'%s' is not a boolean (true or false)", value);
    return FALSE;
}

/* Stores value into cfg per the option; *why explains a refusal. */
static gboolean apply(ChorusConfig *cfg, const Option *o, const char *value, char **why)
{
    void *field = (char *)cfg + o->offset;
    switch (o->type) {
    case OPT_INT:
        return parse_int(o, value, field, why);
    case OPT_BOOL:
        return parse_bool(value, field, why);
    case OPT_LEVEL: {
        int level = chorus_log_level_parse(value);
        if (level < 0) {
            *why = g_strdup_printf("'%s' is not a log level (fatal..debug)", value);
            return FALSE;
        }
        *(int *)field = level;
        return TRUE;
    }
    case OPT_STRING:
        g_free(*(char **)field);
        *(char **)field = g_strdup(value);
        return TRUE;
    case OPT_LIST: {
        char **list = g_strsplit_set(value, ";,", -1);
        guint n = 0;
        for (guint i = 0; list[i]; i++) {
            char *item = g_strstrip(list[i]);
            if (*item)
                list[n++] = g_strdup(item);
            g_free(item);
        }
        list[n] = NULL;
        g_strfreev(*(char ***)field);
        *(char ***)field = list;
        return TRUE;
    }
    }
    return FALSE;
}

static const Option *find_option(const char *section, const char *key)
{
    for (guint i = 0; i < G_N_ELEMENTS(options); i++) {
        if (strcmp(options[i].info.section, section) == 0 && strcmp(options[i].info.key, key) == 0)
            return &options[i];
    }
    return NULL;
}

static gboolean section_known(const char *section)
{
    for (guint i = 0; i < G_N_ELEMENTS(options); i++) {
        if (strcmp(options[i].info.section, section) == 0)
            return TRUE;
    }
    return FALSE;
}

ChorusConfig *chorus_config_new_defaults(void)
{
    ChorusConfig *cfg = g_new0(ChorusConfig, 1);
    for (guint i = 0; i < G_N_ELEMENTS(options); i++) {
        char *why = NULL;
        if (!apply(cfg, &options[i], options[i].info.default_value, &why))
            g_error("built-in default of %s.%s: %s", options[i].info.section, options[i].info.key,
                    why);
    }
    return cfg;
}

void chorus_config_free(ChorusConfig *cfg)
{
    if (cfg == NULL)
        return;
    for (guint i = 0; i < G_N_ELEMENTS(options); i++) {
        void *field = (char *)cfg + options[i].offset;
        if (options[i].type == OPT_STRING)
            g_free(*(char **)field);
        else if (options[i].type == OPT_LIST)
            g_strfreev(*(char ***)field);
    }
    g_free(cfg);
}

static gboolean load_section(ChorusConfig *cfg, GKeyFile *kf, const char *name, const char *section,
                             GError **error)
{
    gsize nkeys = 0;
    g_auto(GStrv) keys = g_key_file_get_keys(kf, section, &nkeys, NULL);
    for (gsize k = 0; k < nkeys; k++) {
        const Option *o = find_option(section, keys[k]);
        if (o == NULL) {
            g_set_error(error, CHORUS_CONFIG_ERROR, 1, "%s: [%s] %s: unknown option", name, section,
                        keys[k]);
            return FALSE;
        }
        g_autofree char *value = g_key_file_get_string(kf, section, keys[k], NULL);
        char *why = NULL;
        if (value == NULL || !apply(cfg, o, g_strstrip(value), &why)) {
            g_set_error(error, CHORUS_CONFIG_ERROR, 2, "%s: [%s] %s: %s", name, section, keys[k],
                        why ? why : "unreadable value");
            g_free(why);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean load_keyfile(ChorusConfig *cfg, GKeyFile *kf, const char *name, GError **error)
{
    gsize ngroups = 0;
    g_auto(GStrv) groups = g_key_file_get_groups(kf, &ngroups);
    for (gsize g = 0; g < ngroups; g++) {
        if (!section_known(groups[g])) {
            g_set_error(error, CHORUS_CONFIG_ERROR, 1, "%s: [%s]: unknown section", name,
                        groups[g]);
            return FALSE;
        }
        if (!load_section(cfg, kf, name, groups[g], error))
            return FALSE;
    }
    return TRUE;
}

gboolean chorus_config_load_data(ChorusConfig *cfg, const char *data, const char *name,
                                 GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    GError *parse_error = NULL;
    if (!g_key_file_load_from_data(kf, data, (gsize)-1, G_KEY_FILE_NONE, &parse_error)) {
        g_set_error(error, CHORUS_CONFIG_ERROR, 3, "%s: %s", name, parse_error->message);
        g_error_free(parse_error);
        return FALSE;
    }
    return load_keyfile(cfg, kf, name, error);
}

gboolean chorus_config_load_file(ChorusConfig *cfg, const char *path, GError **error)
{
    g_autofree char *data = NULL;
    GError *read_error = NULL;
    if (!g_file_get_contents(path, &data, NULL, &read_error)) {
        g_set_error(error, CHORUS_CONFIG_ERROR, 4, "%s: %s", path, read_error->message);
        g_error_free(read_error);
        return FALSE;
    }
    return chorus_config_load_data(cfg, data, path, error);
}

gboolean chorus_config_set(ChorusConfig *cfg, const char *assignment, GError **error)
{
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (eq == NULL || dot == NULL || dot > eq) {
        g_set_error(error, CHORUS_CONFIG_ERROR, 5, "--set %s: expected section.key=value",
                    assignment);
        return FALSE;
    }
    g_autofree char *section = g_strndup(assignment, (gsize)(dot - assignment));
    g_autofree char *key = g_strndup(dot + 1, (gsize)(eq - dot - 1));
    const Option *o = find_option(section, key);
    char *why = NULL;
    if (o == NULL) {
        g_set_error(error, CHORUS_CONFIG_ERROR, 1, "--set: [%s] %s: unknown option", section, key);
        return FALSE;
    }
    if (!apply(cfg, o, eq + 1, &why)) {
        g_set_error(error, CHORUS_CONFIG_ERROR, 2, "--set: [%s] %s: %s", section, key, why);
        g_free(why);
        return FALSE;
    }
    return TRUE;
}

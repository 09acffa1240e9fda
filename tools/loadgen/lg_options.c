/* chorus-loadgen: options from an INI file ([loadgen] group, keys named like the long
 * options) and the command line (which wins). One table describes both. */
#include <stddef.h>
#include <string.h>

#include "lg_run.h"

typedef enum { T_STR, T_UINT, T_DOUBLE, T_INT, T_U64, T_BOOL } OptType;

typedef struct {
    const char *name;
    char short_name;
    OptType type;
    size_t offset;
    const char *arg;
    const char *help;
} OptDesc;

#define O(field) offsetof(LgOptions, field)

static const OptDesc descs[] = {
    {"server", 's', T_STR, O(server), "URL", "Janus API WebSocket (ws://127.0.0.1:8188)"},
    {"adapter", 'a', T_STR, O(adapter), "NAME",
     "chorus (voice plugin), janus (VideoRoom) or echo (chorus.plugin.echo)"},
    {"channels", 'c', T_UINT, O(channels), "C", "channels / rooms (1)"},
    {"participants", 'p', T_UINT, O(participants), "P", "participants per channel (4)"},
    {"speakers", 'S', T_UINT, O(speakers), "S", "speakers per channel (all)"},
    {"slots", 'k', T_UINT, O(slots), "K", "receive slots per participant, chorus (speakers)"},
    {"duration", 'd', T_DOUBLE, O(duration), "SECONDS", "seconds of sending (10)"},
    {"rate", 'r', T_UINT, O(rate), "N", "packets per second per speaker (50: Opus 20 ms)"},
    {"threads", 't', T_UINT, O(threads), "N", "generator threads (1)"},
    {"per-connection", 0, T_UINT, O(per_connection), "N", "sessions per WebSocket (16)"},
    {"concurrency", 0, T_UINT, O(concurrency), "N", "participants set up at once per thread (16)"},
    {"setup-timeout", 0, T_DOUBLE, O(setup_timeout), "SECONDS", "time to connect everyone (120)"},
    {"drain", 0, T_DOUBLE, O(drain), "SECONDS", "wait for packets in flight after sending (1)"},
    {"warmup", 0, T_DOUBLE, O(warmup), "SECONDS",
     "send this long before the measured window; not counted (1)"},
    {"bitrate", 0, T_INT, O(bitrate), "BPS", "Opus bit rate of the encoded ring (32000)"},
    {"json", 'j', T_STR, O(json), "FILE", "write the report as JSON"},
    {"server-pid", 0, T_INT, O(server_pid), "PID", "measure this process's CPU and RSS"},
    {"ice-interface", 0, T_STR, O(ice_interface), "IF",
     "ICE host candidates: auto (first non-loopback IPv4), lo, a name or address"},
    {"prefix", 0, T_STR, O(prefix), "TEXT", "channel name prefix, chorus (lg)"},
    {"admin-key", 0, T_STR, O(admin_key), "KEY", "admin key for creating channels/rooms"},
    {"room-base", 0, T_U64, O(room_base), "ID", "janus: first room id (random)"},
    {"allow-failures", 0, T_BOOL, O(allow_failures), NULL,
     "run the load even if some participants failed to connect"},
    {"verbose", 'v', T_BOOL, O(verbose), NULL, "log each failure"},
    {"quiet", 'q', T_BOOL, O(quiet), NULL, "no progress on stderr"},
};

static const OptDesc *find_desc(const char *name)
{
    while (*name == '-')
        name++;
    for (guint i = 0; i < G_N_ELEMENTS(descs); i++) {
        if (strcmp(descs[i].name, name) == 0 ||
            (descs[i].short_name && name[0] == descs[i].short_name && name[1] == '\0'))
            return &descs[i];
    }
    return NULL;
}

static gboolean opt_set(LgOptions *opt, const OptDesc *d, const char *value, GError **error)
{
    void *field = (char *)opt + d->offset;
    char *end = NULL;
    if (d->type == T_STR) {
        g_free(*(char **)field);
        *(char **)field = g_strdup(value);
        return TRUE;
    }
    if (d->type == T_BOOL) {
        *(gboolean *)field = !value || !*value || g_ascii_strcasecmp(value, "true") == 0 ||
                             strcmp(value, "1") == 0 || g_ascii_strcasecmp(value, "yes") == 0;
        return TRUE;
    }
    if (d->type == T_DOUBLE) {
        double v = g_ascii_strtod(value, &end);
        if (end != value && *end == '\0' && v >= 0) {
            *(double *)field = v;
            return TRUE;
        }
    } else {
        guint64 v = g_ascii_strtoull(value, &end, 10);
        if (end != value && *end == '\0' && value[0] != '-') {
            if (d->type == T_U64)
                *(guint64 *)field = v;
            else if (d->type == T_UINT && v <= G_MAXUINT)
                *(guint *)field = (guint)v;
            else if (d->type == T_INT && v <= G_MAXINT)
                *(int *)field = (int)v;
            else
                end = NULL;
            if (end)
                return TRUE;
        }
    }
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s: bad value '%s'", d->name,
                value);
    return FALSE;
}

static gboolean opt_callback(const gchar *name, const gchar *value, gpointer data, GError **error)
{
    const OptDesc *d = find_desc(name);
    return d ? opt_set(data, d, value, error) : TRUE;
}

static gboolean load_ini(LgOptions *opt, const char *path, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error))
        return FALSE;
    g_auto(GStrv) keys = g_key_file_get_keys(kf, "loadgen", NULL, NULL);
    for (guint i = 0; keys && keys[i]; i++) {
        const OptDesc *d = find_desc(keys[i]);
        g_autofree char *v = g_key_file_get_string(kf, "loadgen", keys[i], NULL);
        if (!d) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                        "%s: [loadgen] %s: unknown key", path, keys[i]);
            return FALSE;
        }
        if (!opt_set(opt, d, v ? g_strstrip(v) : "", error)) {
            g_prefix_error(error, "%s: ", path);
            return FALSE;
        }
    }
    return TRUE;
}

static void set_defaults(LgOptions *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->server = g_strdup("ws://127.0.0.1:8188/");
    opt->adapter = g_strdup("chorus");
    opt->channels = 1;
    opt->participants = 4;
    opt->speakers = G_MAXUINT; /* all */
    opt->slots = G_MAXUINT;    /* = speakers */
    opt->duration = 10;
    opt->rate = 50;
    opt->threads = 1;
    opt->per_connection = 16;
    opt->concurrency = 16;
    opt->setup_timeout = 120;
    opt->drain = 1;
    opt->warmup = 1;
    opt->bitrate = 32000;
    opt->ice_interface = g_strdup("auto");
    opt->prefix = g_strdup("lg");
}

static gboolean validate(LgOptions *opt, GError **error)
{
    if (opt->speakers == G_MAXUINT)
        opt->speakers = opt->participants;
    if (opt->slots == G_MAXUINT)
        opt->slots = MIN(opt->speakers, 63u);
    const char *bad = NULL;
    if (opt->channels == 0 || opt->participants == 0)
        bad = "--channels and --participants must be at least 1";
    else if (opt->speakers > opt->participants)
        bad = "--speakers cannot exceed --participants";
    else if (opt->slots > 63)
        bad = "--slots: at most 63";
    else if (opt->rate == 0 || opt->rate > 1000)
        bad = "--rate: 1..1000";
    else if (opt->duration <= 0)
        bad = "--duration must be positive";
    else if (!g_str_has_prefix(opt->server, "ws://"))
        bad = "--server: a ws:// URL";
    if (bad)
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s", bad);
    return bad == NULL;
}

static GOptionEntry *make_entries(void)
{
    GOptionEntry *e = g_new0(GOptionEntry, G_N_ELEMENTS(descs) + 2);
    for (guint i = 0; i < G_N_ELEMENTS(descs); i++) {
        const OptDesc *d = &descs[i];
        e[i] = (GOptionEntry){d->name,
                              d->short_name,
                              d->type == T_BOOL ? G_OPTION_FLAG_NO_ARG : 0,
                              G_OPTION_ARG_CALLBACK,
                              (gpointer)opt_callback,
                              d->help,
                              d->arg};
    }
    e[G_N_ELEMENTS(descs)] =
        (GOptionEntry){"config",
                       'C',
                       0,
                       G_OPTION_ARG_CALLBACK,
                       (gpointer)opt_callback,
                       "INI file with a [loadgen] group (keys: the long option names); read first",
                       "FILE"};
    return e;
}

/* --config FILE / --config=FILE / -C FILE anywhere on the command line. */
static const char *find_config(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "-C") == 0) && i + 1 < argc)
            return argv[i + 1];
        if (g_str_has_prefix(argv[i], "--config="))
            return argv[i] + strlen("--config=");
    }
    return NULL;
}

gboolean lg_options_parse(LgOptions *opt, int *argc, char ***argv, GError **error)
{
    set_defaults(opt);
    const char *ini = find_config(*argc, *argv);
    if (ini && !load_ini(opt, ini, error))
        return FALSE;
    opt->config = g_strdup(ini);
    g_autofree GOptionEntry *entries = make_entries();
    GOptionContext *ctx =
        g_option_context_new("- WebRTC voice load generator for Chorus and Janus");
    GOptionGroup *group = g_option_group_new("loadgen", "", "", opt, NULL);
    g_option_group_add_entries(group, entries);
    g_option_context_set_main_group(ctx, group);
    g_option_context_set_description(
        ctx, "Simulates channels of WebRTC participants (ICE, DTLS-SRTP, Opus RTP) against a\n"
             "Janus API v1 server and reports delivery and one-way latency. See "
             "tools/loadgen/README.md.");
    gboolean ok = g_option_context_parse(ctx, argc, argv, error);
    g_option_context_free(ctx);
    return ok && validate(opt, error);
}

void lg_options_clear(LgOptions *opt)
{
    for (guint i = 0; i < G_N_ELEMENTS(descs); i++) {
        if (descs[i].type == T_STR) {
            char **field = (char **)((char *)opt + descs[i].offset);
            g_free(*field);
        }
    }
    g_free(opt->config);
}

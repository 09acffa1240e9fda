/* chorus: the server's entry point. Reads the config, starts the workers, plugins and
 * transport, and on SIGINT/SIGTERM shuts down gracefully. */
#include <glib-unix.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/peer.h"
#include "core/plugin_host.h"
#include "core/plugin_loader.h"
#include "core/session.h"
#include "core/worker.h"
#include "signal/api.h"
#include "signal/transport.h"
#include "util/log.h"

#define TAG "main"

typedef struct {
    char *config_file;
    char *log_level;
    gboolean log_json;
    gboolean check_config;
    gboolean version;
    int ws_port, admin_port, http_port;
    char **sets;
} Options;

static GMainLoop *main_loop;
static gint64 started_us;

static void set_port(ChorusConfig *cfg, int *field, int value)
{
    if (value >= 0)
        *field = value;
    (void)cfg;
}

/* An empty folder option means: the installed folder if it exists, else the tree. */
static void default_folder(char **field, const char *installed, const char *in_tree)
{
    if (*field != NULL && **field != '\0')
        return;
    g_free(*field);
    *field = g_strdup(g_file_test(installed, G_FILE_TEST_IS_DIR) ? installed : in_tree);
}

static ChorusConfig *build_config(const Options *o)
{
    ChorusConfig *cfg = chorus_config_new_defaults();
    GError *error = NULL;
    gboolean ok = o->config_file == NULL || chorus_config_load_file(cfg, o->config_file, &error);
    for (guint i = 0; ok && o->sets && o->sets[i]; i++)
        ok = chorus_config_set(cfg, o->sets[i], &error);
    if (ok && o->log_level != NULL) {
        g_autofree char *set = g_strconcat("general.log_level=", o->log_level, NULL);
        ok = chorus_config_set(cfg, set, &error);
    }
    if (!ok) {
        fprintf(stderr, "chorus: bad configuration: %s\n", error->message);
        g_error_free(error);
        chorus_config_free(cfg);
        return NULL;
    }
    if (o->log_json)
        cfg->log_json = TRUE;
    set_port(cfg, &cfg->ws_port, o->ws_port);
    set_port(cfg, &cfg->admin_port, o->admin_port);
    set_port(cfg, &cfg->http_port, o->http_port);
    default_folder(&cfg->plugins_folder, CHORUS_PLUGIN_DIR, CHORUS_BUILD_DIR "/plugins/build");
    default_folder(&cfg->configs_folder, CHORUS_CONF_DIR, CHORUS_SRC_DIR "/conf");
    default_folder(&cfg->html_folder, CHORUS_HTML_DIR, CHORUS_SRC_DIR "/html");
    return cfg;
}

static gboolean parse_options(int argc, char **argv, Options *o)
{
    o->ws_port = o->admin_port = o->http_port = -1;
    GOptionEntry entries[] = {
        {"config", 'c', 0, G_OPTION_ARG_FILENAME, &o->config_file, "Config file (INI)", "FILE"},
        {"log-level", 'l', 0, G_OPTION_ARG_STRING, &o->log_level,
         "fatal, error, warn, info, verb or debug", "L"},
        {"log-json", 0, 0, G_OPTION_ARG_NONE, &o->log_json, "Log as JSON lines", NULL},
        {"check-config", 0, 0, G_OPTION_ARG_NONE, &o->check_config,
         "Check the configuration and exit (0: good, 2: bad)", NULL},
        {"version", 'V', 0, G_OPTION_ARG_NONE, &o->version, "Print the version and exit", NULL},
        {"ws-port", 0, 0, G_OPTION_ARG_INT, &o->ws_port, "Janus API WebSocket port", "N"},
        {"admin-port", 0, 0, G_OPTION_ARG_INT, &o->admin_port, "Admin API WebSocket port", "N"},
        {"http-port", 0, 0, G_OPTION_ARG_INT, &o->http_port, "HTTP port", "N"},
        {"set", 's', 0, G_OPTION_ARG_STRING_ARRAY, &o->sets, "Override one option (repeatable)",
         "SECTION.KEY=VALUE"},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- Chorus SFU media server");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *error = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
        fprintf(stderr, "chorus: %s\n", error->message);
        g_error_free(error);
        return FALSE;
    }
    return TRUE;
}

static gboolean on_signal(gpointer data)
{
    LOG_I(TAG, "signal received, shutting down");
    g_main_loop_quit(main_loop);
    return G_SOURCE_CONTINUE;
}

static gboolean on_tick(gpointer data)
{
    chorus_api_watchdog();
    return G_SOURCE_CONTINUE;
}

static void on_message(ChorusConn *conn, const char *text, gsize len, gpointer user)
{
    chorus_api_handle(conn, text, len);
}

static void on_closed(ChorusConn *conn, gpointer user)
{
    if (!chorus_conn_is_admin(conn))
        chorus_api_conn_closed(conn);
}

static char *on_health(gpointer user)
{
    return g_strdup_printf("{\"status\":\"ok\",\"sessions\":%u,\"uptime\":%" G_GINT64_FORMAT "}",
                           chorus_sessions_count(),
                           (g_get_monotonic_time() - started_us) / G_USEC_PER_SEC);
}

static gboolean noop(gpointer data)
{
    return G_SOURCE_REMOVE;
}

/* Every session gets its handles detached (clients told), then everything stops. */
static void shutdown_all(ChorusTransport *transport)
{
    chorus_api_destroy_all();
    for (guint i = 0; i < chorus_workers_count(); i++)
        chorus_worker_invoke_sync(chorus_worker_get(i), noop, NULL); /* detach jobs ran */
    chorus_transport_stop(transport, 2000);
    chorus_workers_stop();
    chorus_plugins_unload_all();
    chorus_sessions_cleanup();
    chorus_peers_global_cleanup();
}

static int run(ChorusConfig *cfg)
{
    GError *error = NULL;
    if (!chorus_peers_global_init(cfg, &error)) {
        LOG_E(TAG, "media setup: %s", error->message);
        g_error_free(error);
        return 1;
    }
    chorus_sessions_init();
    chorus_api_init(cfg);
    chorus_workers_start((guint)cfg->workers);
    guint n = chorus_plugins_load_folder(cfg->plugins_folder, chorus_host_table(),
                                         cfg->configs_folder, cfg->disable);
    LOG_I(TAG, "%u plugin(s) loaded from %s", n, cfg->plugins_folder);
    if (cfg->admin_secret == NULL || *cfg->admin_secret == '\0')
        LOG_W(TAG, "admin API has no admin_secret: anyone on %s can use it", cfg->admin_interface);
    /* Signals first: a SIGTERM that comes while the transport starts still ends in a
     * clean shutdown once the loop runs, instead of the default action. */
    main_loop = g_main_loop_new(NULL, FALSE);
    guint sigint = g_unix_signal_add(SIGINT, on_signal, NULL);
    guint sigterm = g_unix_signal_add(SIGTERM, on_signal, NULL);
    ChorusTransportCallbacks cb = {on_message, on_closed, on_health, NULL};
    ChorusTransport *transport = chorus_transport_start(cfg, &cb, &error);
    if (transport == NULL) {
        LOG_E(TAG, "cannot start the transport: %s", error->message);
        g_error_free(error);
        g_source_remove(sigint);
        g_source_remove(sigterm);
        g_main_loop_unref(main_loop);
        chorus_workers_stop();
        chorus_plugins_unload_all();
        chorus_sessions_cleanup();
        return 1;
    }
    guint tick = g_timeout_add_seconds(1, on_tick, NULL);
    LOG_I(TAG, "Chorus %s ready: ws %d, admin %d, http %d (html %s)", PACKAGE_VERSION, cfg->ws_port,
          cfg->admin_port, cfg->http_port, cfg->html_folder);
    g_main_loop_run(main_loop);
    g_source_remove(tick);
    g_source_remove(sigint);
    g_source_remove(sigterm);
    shutdown_all(transport);
    g_main_loop_unref(main_loop);
    LOG_I(TAG, "bye");
    return 0;
}

int main(int argc, char **argv)
{
    Options o = {0};
    if (!parse_options(argc, argv, &o))
        return 2;
    if (o.version) {
        printf("chorus %s (plugin ABI %d)\n", PACKAGE_VERSION, CHORUS_PLUGIN_ABI_VERSION);
        return 0;
    }
    ChorusConfig *cfg = build_config(&o);
    int rc = 2;
    if (cfg != NULL && o.check_config) {
        printf("%s: configuration OK\n", o.config_file ? o.config_file : "(built-in defaults)");
        rc = 0;
    } else if (cfg != NULL) {
        chorus_log_set_level((chorus_log_level)cfg->log_level);
        chorus_log_set_json(cfg->log_json);
        started_us = g_get_monotonic_time();
        rc = run(cfg);
    }
    chorus_config_free(cfg);
    g_free(o.config_file);
    g_free(o.log_level);
    g_strfreev(o.sets);
    return rc;
}

/* libFuzzer target: the Janus API v1 and admin API dispatch (signal/api.h) with the real
 * core behind it (sessions, handles, one media worker, the echo plugin, PeerConnections
 * for jsep offers), fed through fake connections (tests/unit/fake_conn.c) in place of the
 * WebSocket transport.
 *
 * Input: one or more requests separated by RS (0x1E, as in RFC 7464 JSON text
 * sequences); at most MAX_RECORDS are used. A record's first byte may pick where it goes:
 *   '!'  the admin connection          '~'  a second API connection (claim, ...)
 *   '-'  closes the main connection first (its sessions wait for a claim), then sends
 *        the rest on a fresh one        '@'  runs the watchdog first
 *   anything else: the main API connection (the whole record is the request).
 * Ids are random, so a record may name the ones the input created so far: the text "$S"
 * (with its quotes) becomes the last session id answered by "create", "$H" the last handle
 * id answered by "attach" (left alone while there is none).
 *
 * After each record the worker is drained and every response on every connection must be
 * a JSON object with a string "janus" member. Global state stays bounded: every
 * CHORUS_FUZZ_DESTROY_EVERY inputs (and when more than MAX_LIVE_SESSIONS exist) every
 * session is destroyed; the config caps sessions and handles.
 *
 * Environment:
 *   CHORUS_FUZZ_PLUGIN         plugin .so files to load, ':'-separated (default: the echo
 *                              plugin, plugins/chorus_plugin_echo.so next to this binary)
 *   CHORUS_FUZZ_WORKERS        media workers (default 1)
 *   CHORUS_FUZZ_DESTROY_EVERY  destroy every session after this many inputs (default 1:
 *                              each input starts from no session, so a crash input
 *                              reproduces alone and leak checks see whole lifecycles)
 *   CHORUS_FUZZ_LOG            log level (default fatal)
 *   CHORUS_FUZZ_TRACE          print every request and response */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/peer.h"
#include "core/plugin_host.h"
#include "core/plugin_loader.h"
#include "core/session.h"
#include "core/worker.h"
#include "fake_conn.h"
#include "fuzz_check.h"
#include "signal/api.h"
#include "signal/transport.h"
#include "util/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_RECORDS       16
#define DESTROY_EVERY     1 /* default of CHORUS_FUZZ_DESTROY_EVERY */
#define MAX_LIVE_SESSIONS 12
#define RECORD_SEP        0x1E

/* The connections: tests/unit/fake_conn.c in place of the WebSocket transport. */
static ChorusConn *conn_new(gboolean admin)
{
    ChorusConn *c = fake_conn_new(admin);
    fake_conn_set_peer_ip(c, "192.0.2.7");
    return c;
}

/* ---- global state ---- */

static ChorusConfig *cfg;
static ChorusConn *main_conn, *other_conn, *admin_conn;
static json_int_t last_session, last_handle;
static unsigned long inputs;
static gboolean trace; /* CHORUS_FUZZ_TRACE: print requests and responses */
static unsigned long destroy_every = DESTROY_EVERY;

static void glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer u)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
        fprintf(stderr, "GLib %s: %s\n", domain ? domain : "", msg);
        abort(); /* a failed g_return_if_fail in the core is a bug */
    }
}

static void config_set(const char *assignment)
{
    GError *error = NULL;
    if (!chorus_config_set(cfg, assignment, &error)) {
        fprintf(stderr, "fuzz_api: %s\n", error->message);
        abort();
    }
}

static char *plugin_path(void)
{
    const char *env = g_getenv("CHORUS_FUZZ_PLUGIN");
    if (env != NULL && *env)
        return g_strdup(env);
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    char *dir = g_path_get_dirname(exe ? exe : ".");
    char *path = g_build_filename(dir, "plugins", "chorus_plugin_echo.so", NULL);
    g_free(dir);
    g_free(exe);
    return path;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *level = g_getenv("CHORUS_FUZZ_LOG");
    int lv = level ? chorus_log_level_parse(level) : CHORUS_LOG_FATAL;
    chorus_log_set_level(lv < 0 ? CHORUS_LOG_FATAL : (chorus_log_level)lv);
    g_log_set_default_handler(glib_log, NULL);
    g_random_set_seed(20240611);
    trace = g_getenv("CHORUS_FUZZ_TRACE") != NULL;
    const char *every = g_getenv("CHORUS_FUZZ_DESTROY_EVERY");
    if (every != NULL && atoi(every) > 0)
        destroy_every = (unsigned long)atoi(every);

    cfg = chorus_config_new_defaults();
    config_set("limits.max_sessions=16");
    config_set("limits.max_handles_per_session=4");
    config_set("limits.requests_per_second=0");
    /* Host candidates on loopback only: cheap agents, no traffic leaves the machine. */
    config_set("media.ice_interfaces=fuzz-no-such-interface");
    config_set("media.ice_loopback=true");
    chorus_sessions_init();
    chorus_api_init(cfg);
    GError *error = NULL;
    if (!chorus_peers_global_init(cfg, &error)) {
        fprintf(stderr, "fuzz_api: media init: %s\n", error->message);
        abort();
    }
    const char *w = g_getenv("CHORUS_FUZZ_WORKERS");
    chorus_workers_start(w ? (guint)CLAMP(atoi(w), 1, 8) : 1);
    char *paths = plugin_path();
    char **list = g_strsplit(paths, ":", -1);
    for (char **path = list; *path != NULL; path++) {
        if (**path && chorus_plugin_load(*path, chorus_host_table(), ".", NULL, &error) == NULL) {
            fprintf(stderr, "fuzz_api: cannot load plugin %s: %s\n", *path, error->message);
            abort();
        }
    }
    g_strfreev(list);
    g_free(paths);
    main_conn = conn_new(FALSE);
    other_conn = conn_new(FALSE);
    admin_conn = conn_new(TRUE);
    return 0;
}

/* ---- per input ---- */

static gboolean noop(gpointer data)
{
    return G_SOURCE_REMOVE;
}

/* Lets every worker run what is queued (jobs queue follow-up jobs: a few rounds). */
static void settle(void)
{
    for (int round = 0; round < 3; round++) {
        for (guint i = 0; i < chorus_workers_count(); i++)
            chorus_worker_invoke_sync(chorus_worker_get(i), noop, NULL);
    }
}

static void learn_ids(json_t *msg, const char *kind)
{
    if (strcmp(kind, "success") != 0)
        return;
    json_t *id = json_object_get(json_object_get(msg, "data"), "id");
    if (!json_is_integer(id))
        return;
    if (json_object_get(msg, "session_id") != NULL)
        last_handle = json_integer_value(id); /* attach answers inside the session */
    else
        last_session = json_integer_value(id); /* create */
}

/* Every response must be a JSON object with a string "janus" member. */
static void drain(ChorusConn *c)
{
    char *text;
    while ((text = fake_conn_pop_text(c)) != NULL) {
        if (trace)
            fprintf(stderr, "<- %" G_GUINT64_FORMAT ": %s\n", chorus_conn_id(c), text);
        json_error_t jerr;
        json_t *msg = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (msg == NULL || !json_is_object(msg) || !json_is_string(json_object_get(msg, "janus"))) {
            fprintf(stderr, "fuzz_api: bad response on connection %" G_GUINT64_FORMAT ": %s\n",
                    chorus_conn_id(c), text);
            CHECK(!"response is a JSON object with a \"janus\" string");
        }
        learn_ids(msg, json_string_value(json_object_get(msg, "janus")));
        json_decref(msg);
        g_free(text);
    }
}

/* Handles in every session: with none, nothing is queued on the workers. */
static guint count_handles(void)
{
    guint n = 0;
    GPtrArray *sessions = chorus_sessions_list();
    for (guint i = 0; i < sessions->len; i++) {
        GPtrArray *handles = chorus_session_handles(g_ptr_array_index(sessions, i));
        n += handles->len;
        g_ptr_array_free(handles, TRUE);
    }
    g_ptr_array_free(sessions, TRUE);
    return n;
}

static void drain_queues(void)
{
    drain(main_conn);
    drain(other_conn);
    drain(admin_conn);
}

static void drain_all(void)
{
    settle();
    drain_queues();
}

/* Replaces "$S" / "$H" (quotes included) by the ids learnt so far. */
static GString *substitute(const char *rec, size_t len)
{
    GString *out = g_string_sized_new(len + 16);
    for (size_t i = 0; i < len; i++) {
        if (i + 4 <= len && rec[i] == '"' && rec[i + 1] == '$' && rec[i + 3] == '"' &&
            ((rec[i + 2] == 'S' && last_session > 0) || (rec[i + 2] == 'H' && last_handle > 0))) {
            g_string_append_printf(out, "%" JSON_INTEGER_FORMAT,
                                   rec[i + 2] == 'S' ? last_session : last_handle);
            i += 3;
            continue;
        }
        g_string_append_c(out, rec[i]);
    }
    return out;
}

static void close_main(void)
{
    chorus_conn_close(main_conn);
    chorus_api_conn_closed(main_conn);
    drain_all();
    chorus_conn_unref(main_conn);
    main_conn = conn_new(FALSE);
}

static void run_record(const char *rec, size_t len)
{
    ChorusConn *target = main_conn;
    if (len > 0) {
        switch (rec[0]) {
        case '!':
            target = admin_conn;
            rec++, len--;
            break;
        case '~':
            target = other_conn;
            rec++, len--;
            break;
        case '-':
            close_main();
            target = main_conn;
            rec++, len--;
            break;
        case '@':
            chorus_api_watchdog();
            rec++, len--;
            break;
        default:
            break;
        }
    }
    guint handles_before = count_handles();
    GString *text = substitute(rec, len);
    if (trace)
        fprintf(stderr, "-> %" G_GUINT64_FORMAT ": %.*s\n", chorus_conn_id(target),
                (int)MIN(text->len, 300), text->str);
    chorus_api_handle(target, text->str, text->len);
    g_string_free(text, TRUE);
    /* Jobs run on the worker only for handles (attach, message, trickle, hangup, detach,
     * and destroying a session that has some): wait for them only then. */
    if (handles_before > 0 || count_handles() > 0)
        settle();
    drain_queues();
}

static void destroy_everything(void)
{
    chorus_api_destroy_all();
    drain_all();
    CHECK(chorus_sessions_count() == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    last_session = last_handle = 0;
    const char *p = (const char *)data;
    const char *end = p + size;
    for (int n = 0; n < MAX_RECORDS && p <= end; n++) {
        const char *sep = memchr(p, RECORD_SEP, (size_t)(end - p));
        const char *stop = sep ? sep : end;
        if (stop > p || sep == NULL)
            run_record(p, (size_t)(stop - p));
        if (sep == NULL)
            break;
        p = sep + 1;
    }
    if (++inputs % destroy_every == 0 || chorus_sessions_count() > MAX_LIVE_SESSIONS)
        destroy_everything();
    return 0;
}

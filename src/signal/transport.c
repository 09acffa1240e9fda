/* Transport: the lws context, its service thread, the cross-thread send queues,
 * connection limits and shutdown. WebSocket and HTTP callbacks live in transport_ws.c
 * and transport_http.c. See transport.h and transport_priv.h. */
#include "signal/transport_priv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "util/log.h"

#define REFUSAL_LOGS_PER_SECOND 5
#define CLOSING_GRACE_US        (1000 * 1000)
#define STOP_POKE_US            (5 * 1000)
#define WS_RX_BUFFER            16384

static const char *const listener_names[] = {"", "ws", "admin", "http"};
static const char *const ws_protocol_names[] = {"", "janus-protocol", "janus-admin-protocol", ""};

static const lws_retry_bo_t ws_idle_policy = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 75,
};

/* ---- small helpers used by the callbacks ---- */

ChorusTransport *transport_from_wsi(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

gboolean transport_running(ChorusTransport *t)
{
    return g_atomic_int_get(&t->phase) == PHASE_RUNNING;
}

unsigned char *transport_txbuf(ChorusTransport *t, gsize n)
{
    if (t->txbuf->len < LWS_PRE + n)
        g_byte_array_set_size(t->txbuf, LWS_PRE + n);
    return t->txbuf->data + LWS_PRE;
}

WsiInfo *transport_wsi_info(ChorusTransport *t, struct lws *wsi)
{
    return g_hash_table_lookup(t->wsis, wsi);
}

void transport_log_refusal(ChorusTransport *t, const char *fmt, ...)
{
    RateLimit *rl = &t->refusals;
    gint64 now = g_get_monotonic_time();
    if (now - rl->window_start >= G_USEC_PER_SEC) {
        if (rl->suppressed)
            LOG_W(TRANSPORT_TAG, "%u more refused connections not logged", rl->suppressed);
        rl->window_start = now;
        rl->logged = 0;
        rl->suppressed = 0;
    }
    if (rl->logged >= REFUSAL_LOGS_PER_SECOND) {
        rl->suppressed++;
        return;
    }
    rl->logged++;
    va_list ap;
    va_start(ap, fmt);
    chorus_logv(CHORUS_LOG_WARN, TRANSPORT_TAG, fmt, ap);
    va_end(ap);
}

/* lws's own log lines (warn and error only), without the trailing newline. */
static void lws_log_emit(int level, const char *line)
{
    gsize n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    chorus_log(level & LLL_ERR ? CHORUS_LOG_ERROR : CHORUS_LOG_WARN, "lws", "%.*s", (int)n, line);
}

/* ---- connection accounting (service thread) ---- */

static void peer_ip(struct lws *wsi, char *buf, gsize size)
{
    buf[0] = '\0';
    if (!lws_get_peer_simple(wsi, buf, size) || !buf[0])
        g_strlcpy(buf, "unknown", size);
    if (g_str_has_prefix(buf, "::ffff:") && strchr(buf + 7, '.'))
        memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

static void account_accept(ChorusTransport *t, struct lws *wsi)
{
    WsiInfo *info = g_new0(WsiInfo, 1);
    peer_ip(wsi, info->ip, sizeof info->ip);
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(t->per_ip, info->ip));
    int max_total = t->cfg->max_connections, max_ip = t->cfg->max_connections_per_ip;
    if (max_total > 0 && t->total >= (guint)max_total) {
        info->refuse = "server full";
        transport_log_refusal(t, "refusing connection from %s: server full (%d connections)",
                              info->ip, max_total);
    } else if (max_ip > 0 && n >= (guint)max_ip) {
        info->refuse = "too many connections";
        transport_log_refusal(t, "refusing connection from %s: too many connections (limit %d)",
                              info->ip, max_ip);
    } else {
        info->counted = TRUE;
        t->total++;
        g_hash_table_replace(t->per_ip, g_strdup(info->ip), GUINT_TO_POINTER(n + 1));
    }
    g_hash_table_replace(t->wsis, wsi, info);
}

static void account_destroy(ChorusTransport *t, struct lws *wsi)
{
    WsiInfo *info = g_hash_table_lookup(t->wsis, wsi);
    if (!info)
        return;
    if (info->counted) {
        guint n = GPOINTER_TO_UINT(g_hash_table_lookup(t->per_ip, info->ip));
        if (n <= 1)
            g_hash_table_remove(t->per_ip, info->ip);
        else
            g_hash_table_replace(t->per_ip, g_strdup(info->ip), GUINT_TO_POINTER(n - 1));
        t->total--;
    }
    g_hash_table_remove(t->wsis, wsi);
}

/* ---- wake-ups from other threads ---- */

/* Requests writable callbacks for every connection other threads queued for. */
static void drain_wake(ChorusTransport *t)
{
    pthread_mutex_lock(&t->wake_lock);
    if (t->wake->len == 0) {
        pthread_mutex_unlock(&t->wake_lock);
        return;
    }
    GPtrArray *batch = t->wake;
    t->wake = g_ptr_array_new();
    pthread_mutex_unlock(&t->wake_lock);

    for (guint i = 0; i < batch->len; i++) {
        ChorusConn *c = batch->pdata[i];
        pthread_mutex_lock(&c->lock);
        c->wake_pending = FALSE;
        gboolean closed = c->closed;
        pthread_mutex_unlock(&c->lock);
        if (!closed && c->wsi)
            lws_callback_on_writable(c->wsi);
        chorus_conn_unref(c);
    }
    g_ptr_array_free(batch, TRUE);
}

/* Called with c->lock held: makes sure the service thread looks at c soon. Holding
 * c->lock while poking the context is what keeps the context alive: the service
 * thread marks every connection closed (under its lock) before destroying it. */
static void conn_wake_locked(ChorusConn *c)
{
    ChorusTransport *t = c->t;
    if (!c->wake_pending) {
        c->wake_pending = TRUE;
        chorus_conn_ref(c);
        pthread_mutex_lock(&t->wake_lock);
        g_ptr_array_add(t->wake, c);
        pthread_mutex_unlock(&t->wake_lock);
    }
    lws_cancel_service(t->ctx);
}

int transport_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    if (!wsi)
        return 0;
    ChorusTransport *t = transport_from_wsi(wsi);
    switch (reason) {
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        account_accept(t, wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        account_destroy(t, wsi);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        drain_wake(t);
        return 0;
    default:
        break;
    }
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    if (proto && PROTO_IS_WS(proto->id))
        return transport_ws_callback(t, wsi, reason, user, in, len);
    return transport_http_callback(t, wsi, reason, user, in, len);
}

/* ---- service thread and shutdown ---- */

static gboolean all_flushed(ChorusTransport *t)
{
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, t->conns);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        ChorusConn *c = key;
        pthread_mutex_lock(&c->lock);
        gboolean empty = g_queue_is_empty(&c->out);
        pthread_mutex_unlock(&c->lock);
        if (!empty || (c->wsi && lws_partial_buffered(c->wsi)))
            return FALSE;
    }
    return TRUE;
}

static void begin_closing(ChorusTransport *t)
{
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, t->conns);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        ChorusConn *c = key;
        c->going_away = TRUE;
        if (c->wsi)
            lws_callback_on_writable(c->wsi);
    }
    t->closing_deadline = g_get_monotonic_time() + CLOSING_GRACE_US;
    g_atomic_int_set(&t->phase, PHASE_CLOSING);
}

/* One step of the shutdown state machine; TRUE when the service loop should end. */
static gboolean shutdown_step(ChorusTransport *t)
{
    gint64 now = g_get_monotonic_time();
    switch (g_atomic_int_get(&t->phase)) {
    case PHASE_FLUSH:
        if (all_flushed(t) || now >= t->flush_deadline) {
            if (!all_flushed(t))
                LOG_W(TRANSPORT_TAG, "shutdown: unsent messages dropped after flush timeout");
            begin_closing(t);
        }
        return FALSE;
    case PHASE_CLOSING:
        return g_hash_table_size(t->conns) == 0 || now >= t->closing_deadline;
    default:
        return FALSE;
    }
}

static gpointer service_thread(gpointer data)
{
    ChorusTransport *t = data;
    while (!shutdown_step(t)) {
        if (lws_service(t->ctx, 0) < 0) {
            LOG_E(TRANSPORT_TAG, "lws_service failed; transport stops");
            break;
        }
    }
    pthread_mutex_lock(&t->wake_lock);
    g_atomic_int_set(&t->phase, PHASE_EXITING);
    pthread_mutex_unlock(&t->wake_lock);

    /* Connections still open are finished here, before the context goes away. */
    GList *left = g_hash_table_get_keys(t->conns);
    for (GList *l = left; l; l = l->next)
        conn_finish(t, l->data);
    g_list_free(left);
    lws_context_destroy(t->ctx);
    t->ctx = NULL;
    return NULL;
}

/* ---- start ---- */

static gboolean iface_is_any(const char *iface)
{
    return !iface || !iface[0] || strcmp(iface, "*") == 0;
}

/* Binds a throwaway socket to iface:port to get a precise error (port in use, address
 * not on this machine) before handing the port to lws. */
static gboolean precheck_listen(const char *name, const char *iface, int port, GError **error)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (iface_is_any(iface)) {
        sin->sin_family = AF_INET;
        sl = sizeof *sin;
    } else if (inet_pton(AF_INET, iface, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sl = sizeof *sin;
    } else if (inet_pton(AF_INET6, iface, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sl = sizeof *sin6;
    } else if (if_nametoindex(iface) != 0) {
        return TRUE; /* an interface name: lws resolves it */
    } else {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s listener on port %d: interface '%s' is neither an address nor an "
                    "interface name",
                    name, port, iface);
        return FALSE;
    }
    if (ss.ss_family == AF_INET)
        sin->sin_port = htons((uint16_t)port);
    else
        sin6->sin6_port = htons((uint16_t)port);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        int e = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(e),
                    "%s listener: cannot bind %s port %d: %s", name,
                    iface_is_any(iface) ? "*" : iface, port, g_strerror(e));
        if (fd >= 0)
            close(fd);
        return FALSE;
    }
    close(fd);
    return TRUE;
}

static void setup_protocols(ChorusTransport *t, ListenerKind kind)
{
    struct lws_protocols *p = t->protos[kind - 1];
    memset(p, 0, sizeof t->protos[0]);
    p[0].name = "chorus-http";
    p[0].callback = transport_callback;
    p[0].per_session_data_size = sizeof(Pss);
    p[0].id = PROTO_ID(kind, FALSE);
    if (kind == LISTENER_HTTP)
        return;
    p[1].name = ws_protocol_names[kind];
    p[1].callback = transport_callback;
    p[1].per_session_data_size = sizeof(Pss);
    p[1].rx_buffer_size = WS_RX_BUFFER;
    p[1].id = PROTO_ID(kind, TRUE);
}

static gboolean create_listener(ChorusTransport *t, ListenerKind kind, const char *iface, int port,
                                GError **error)
{
    if (port <= 0)
        return TRUE;
    const char *name = listener_names[kind];
    if (!precheck_listen(name, iface, port, error))
        return FALSE;
    setup_protocols(t, kind);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = name;
    info.iface = iface_is_any(iface) ? NULL : iface;
    info.port = port;
    info.protocols = t->protos[kind - 1];
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    if (kind != LISTENER_HTTP)
        info.retry_and_idle_policy = &ws_idle_policy;
    struct lws_vhost *vh = lws_create_vhost(t->ctx, &info);
    if (!vh) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "%s listener: cannot listen on %s port %d (address in use or unavailable)",
                    name, iface_is_any(iface) ? "*" : iface, port);
        return FALSE;
    }
    t->ports[kind] = lws_get_vhost_listen_port(vh);
    LOG_I(TRANSPORT_TAG, "%s listening on %s:%d", name, iface_is_any(iface) ? "*" : iface,
          t->ports[kind]);
    return TRUE;
}

static char *pick_html_root(const ChorusConfig *cfg)
{
    if (cfg->html_folder && cfg->html_folder[0])
        return g_strdup(cfg->html_folder);
#ifdef CHORUS_HTML_DIR
    if (g_file_test(CHORUS_HTML_DIR, G_FILE_TEST_IS_DIR))
        return g_strdup(CHORUS_HTML_DIR);
#endif
#ifdef CHORUS_SRC_DIR
    return g_build_filename(CHORUS_SRC_DIR, "html", NULL);
#else
    return g_strdup("html");
#endif
}

static void transport_free(ChorusTransport *t)
{
    if (t->ctx)
        lws_context_destroy(t->ctx);
    for (guint i = 0; i < t->wake->len; i++)
        chorus_conn_unref(t->wake->pdata[i]);
    g_ptr_array_free(t->wake, TRUE);
    g_hash_table_destroy(t->conns);
    g_hash_table_destroy(t->wsis);
    g_hash_table_destroy(t->per_ip);
    g_byte_array_free(t->txbuf, TRUE);
    pthread_mutex_destroy(&t->wake_lock);
    g_free(t->html_root);
    g_free(t);
}

static ChorusTransport *transport_new(const ChorusConfig *cfg,
                                      const ChorusTransportCallbacks *callbacks)
{
    ChorusTransport *t = g_new0(ChorusTransport, 1);
    t->cfg = cfg;
    if (callbacks)
        t->cb = *callbacks;
    t->html_root = pick_html_root(cfg);
    pthread_mutex_init(&t->wake_lock, NULL);
    t->wake = g_ptr_array_new();
    t->conns = g_hash_table_new(g_direct_hash, g_direct_equal);
    t->wsis = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    t->per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    t->txbuf = g_byte_array_new();
    return t;
}

ChorusTransport *chorus_transport_start(const ChorusConfig *cfg,
                                        const ChorusTransportCallbacks *callbacks, GError **error)
{
    g_return_val_if_fail(cfg != NULL, NULL);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    ChorusTransport *t = transport_new(cfg, callbacks);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.user = t;
    info.gid = -1;
    info.uid = -1;
    info.server_string = "chorus";
    info.max_http_header_data = 8192;
    t->ctx = lws_create_context(&info);
    if (!t->ctx) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create the lws context");
        transport_free(t);
        return NULL;
    }
    if (!create_listener(t, LISTENER_WS, cfg->ws_interface, cfg->ws_port, error) ||
        !create_listener(t, LISTENER_ADMIN, cfg->admin_interface, cfg->admin_port, error) ||
        !create_listener(t, LISTENER_HTTP, cfg->http_interface, cfg->http_port, error)) {
        transport_free(t);
        return NULL;
    }
    if (cfg->http_port > 0 && !g_file_test(t->html_root, G_FILE_TEST_IS_DIR))
        LOG_W(TRANSPORT_TAG, "html folder %s does not exist: only /health is served", t->html_root);
    t->thread = g_thread_new("chorus-transport", service_thread, t);
    return t;
}

/* Must not be called from a transport callback (it joins the service thread). */
void chorus_transport_stop(ChorusTransport *t, guint flush_ms)
{
    if (!t)
        return;
    if (g_thread_self() == t->thread) {
        g_critical("chorus_transport_stop called on the transport's own thread");
        return;
    }
    pthread_mutex_lock(&t->wake_lock);
    t->flush_deadline = g_get_monotonic_time() + (gint64)flush_ms * 1000;
    if (g_atomic_int_get(&t->phase) == PHASE_RUNNING)
        g_atomic_int_set(&t->phase, PHASE_FLUSH);
    pthread_mutex_unlock(&t->wake_lock);
    /* Poke the loop until it leaves: the pokes also drive the flush deadline. */
    for (;;) {
        pthread_mutex_lock(&t->wake_lock);
        gboolean exiting = g_atomic_int_get(&t->phase) == PHASE_EXITING;
        if (!exiting)
            lws_cancel_service(t->ctx);
        pthread_mutex_unlock(&t->wake_lock);
        if (exiting)
            break;
        g_usleep(STOP_POKE_US);
    }
    g_thread_join(t->thread);
    transport_free(t);
    LOG_I(TRANSPORT_TAG, "stopped");
}

int chorus_transport_ws_port(const ChorusTransport *t)
{
    return t ? t->ports[LISTENER_WS] : 0;
}

/* ---- ChorusConn ---- */

ChorusConn *chorus_conn_ref(ChorusConn *conn)
{
    g_return_val_if_fail(conn != NULL, NULL);
    g_atomic_int_inc(&conn->ref);
    return conn;
}

void chorus_conn_unref(ChorusConn *conn)
{
    if (!conn || !g_atomic_int_dec_and_test(&conn->ref))
        return;
    g_queue_clear_full(&conn->out, g_free);
    if (conn->rx)
        g_byte_array_free(conn->rx, TRUE);
    pthread_mutex_destroy(&conn->lock);
    g_free(conn);
}

/* Refused (FALSE) once the connection is closed or a close was requested; a reader
 * CHORUS_CONN_MAX_QUEUED messages behind loses its queue and is closed. */
gboolean chorus_conn_send(ChorusConn *conn, char *text)
{
    if (!conn || !text) {
        g_free(text);
        return FALSE;
    }
    pthread_mutex_lock(&conn->lock);
    if (conn->closed || conn->close_requested) {
        pthread_mutex_unlock(&conn->lock);
        g_free(text);
        return FALSE;
    }
    gboolean overflow = conn->out.length >= CHORUS_CONN_MAX_QUEUED;
    if (overflow) {
        /* A reader this far behind is stuck: drop what is queued and close now. */
        g_free(text);
        g_queue_clear_full(&conn->out, g_free);
        g_queue_init(&conn->out);
        conn->close_requested = TRUE;
    } else {
        g_queue_push_tail(&conn->out, text);
    }
    conn_wake_locked(conn);
    pthread_mutex_unlock(&conn->lock);
    if (overflow)
        LOG_W(TRANSPORT_TAG,
              "connection %" G_GUINT64_FORMAT " from %s: %u messages unsent, dropping them and "
              "closing",
              conn->id, conn->ip, CHORUS_CONN_MAX_QUEUED);
    return !overflow;
}

/* What was queued before the request still goes out, then a close 1000 "closed by server". */
void chorus_conn_close(ChorusConn *conn)
{
    g_return_if_fail(conn != NULL);
    pthread_mutex_lock(&conn->lock);
    if (!conn->closed && !conn->close_requested) {
        conn->close_requested = TRUE;
        conn_wake_locked(conn);
    }
    pthread_mutex_unlock(&conn->lock);
}

gboolean chorus_conn_is_admin(const ChorusConn *conn)
{
    return conn && conn->admin;
}

const char *chorus_conn_peer_ip(const ChorusConn *conn)
{
    return conn ? conn->ip : "";
}

guint64 chorus_conn_id(const ChorusConn *conn)
{
    return conn ? conn->id : 0;
}

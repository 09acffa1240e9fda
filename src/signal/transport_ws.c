/* Transport: WebSocket callbacks (service thread). See transport_priv.h. */
#include "signal/transport_priv.h"

#include <string.h>

#include "util/log.h"

/* Above this, the receive buffer is released after a message instead of kept. */
#define RX_KEEP_BYTES (64 * 1024)

static guint64 next_conn_id = 0; /* atomic */

ChorusConn *conn_new(ChorusTransport *t, struct lws *wsi, const char *ip, gboolean admin)
{
    ChorusConn *c = g_new0(ChorusConn, 1);
    c->ref = 1;
    c->id = (guint64)__atomic_add_fetch(&next_conn_id, 1, __ATOMIC_RELAXED);
    g_strlcpy(c->ip, ip, sizeof c->ip);
    c->admin = admin;
    c->t = t;
    pthread_mutex_init(&c->lock, NULL);
    g_queue_init(&c->out);
    c->wsi = wsi;
    return c;
}

void conn_finish(ChorusTransport *t, ChorusConn *c)
{
    pthread_mutex_lock(&c->lock);
    if (c->closed) {
        pthread_mutex_unlock(&c->lock);
        return;
    }
    c->closed = TRUE;
    GQueue dropped = c->out;
    g_queue_init(&c->out);
    pthread_mutex_unlock(&c->lock);

    g_queue_clear_full(&dropped, g_free);
    c->wsi = NULL;
    if (c->rx) {
        g_byte_array_free(c->rx, TRUE);
        c->rx = NULL;
    }
    g_hash_table_remove(t->conns, c);
    LOG_V(TRANSPORT_TAG, "connection %" G_GUINT64_FORMAT " from %s closed", c->id, c->ip);
    if (t->cb.on_closed)
        t->cb.on_closed(c, t->cb.user);
}

/* Sets the close frame's status and reason; the caller then returns -1. */
static int close_with(struct lws *wsi, enum lws_close_status status, const char *reason)
{
    gsize n = MIN(strlen(reason), 123);
    lws_close_reason(wsi, status, (unsigned char *)reason, n);
    return -1;
}

static int ws_established(ChorusTransport *t, struct lws *wsi, Pss *pss)
{
    WsiInfo *info = transport_wsi_info(t, wsi);
    if (!info || info->refuse || !transport_running(t)) {
        /* Accepted only to say why it is refused: the close goes out when writable. */
        pss->refused = TRUE;
        lws_callback_on_writable(wsi);
        return 0;
    }
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    gboolean admin = PROTO_KIND(proto->id) == LISTENER_ADMIN;
    pss->conn = conn_new(t, wsi, info->ip, admin);
    g_hash_table_add(t->conns, pss->conn);
    LOG_V(TRANSPORT_TAG, "connection %" G_GUINT64_FORMAT " from %s (%s)", pss->conn->id, info->ip,
          proto->name);
    return 0;
}

static int ws_close_refused(ChorusTransport *t, struct lws *wsi)
{
    WsiInfo *info = transport_wsi_info(t, wsi);
    if (!info || !info->refuse)
        return close_with(wsi, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    if (strcmp(info->refuse, "server full") == 0)
        return close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "server full");
    char reason[123];
    g_snprintf(reason, sizeof reason, "too many connections from %s", info->ip);
    return close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, reason);
}

static int ws_receive(ChorusTransport *t, struct lws *wsi, ChorusConn *c, const void *in,
                      size_t len)
{
    if (!c)
        return 0; /* refused: ignore what it sends until the close goes out */
    if (!c->rx)
        c->rx = g_byte_array_new();
    int max = t->cfg->max_message_size;
    if (max > 0 && c->rx->len + len > (gsize)max) {
        LOG_W(TRANSPORT_TAG,
              "connection %" G_GUINT64_FORMAT " from %s: message too large (limit %d bytes), "
              "closing",
              c->id, c->ip, max);
        char reason[123];
        g_snprintf(reason, sizeof reason, "message too large (limit %d bytes)", max);
        return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, reason);
    }
    g_byte_array_append(c->rx, in, (guint)len);
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0)
        return 0;
    gsize n = c->rx->len;
    g_byte_array_append(c->rx, (const guint8 *)"", 1);
    if (t->cb.on_message)
        t->cb.on_message(c, (const char *)c->rx->data, n, t->cb.user);
    if (c->rx && n > RX_KEEP_BYTES) {
        g_byte_array_free(c->rx, TRUE);
        c->rx = NULL;
    } else if (c->rx) {
        g_byte_array_set_size(c->rx, 0);
    }
    return 0;
}

static int ws_writeable(ChorusTransport *t, struct lws *wsi, Pss *pss)
{
    if (pss->refused)
        return ws_close_refused(t, wsi);
    ChorusConn *c = pss->conn;
    if (!c)
        return -1;
    if (c->going_away)
        return close_with(wsi, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");

    pthread_mutex_lock(&c->lock);
    char *text = g_queue_pop_head(&c->out);
    gboolean more = !g_queue_is_empty(&c->out) || c->close_requested;
    pthread_mutex_unlock(&c->lock);
    if (!text) {
        if (more) /* close requested and nothing left to send */
            return close_with(wsi, LWS_CLOSE_STATUS_NORMAL, "closed by server");
        return 0;
    }
    gsize n = strlen(text);
    unsigned char *buf = transport_txbuf(t, n);
    memcpy(buf, text, n);
    g_free(text);
    if (lws_write(wsi, buf, n, LWS_WRITE_TEXT) < (int)n) {
        LOG_W(TRANSPORT_TAG, "connection %" G_GUINT64_FORMAT " from %s: write failed", c->id,
              c->ip);
        return -1;
    }
    if (more)
        lws_callback_on_writable(wsi);
    return 0;
}

int transport_ws_callback(ChorusTransport *t, struct lws *wsi, enum lws_callback_reasons reason,
                          Pss *pss, void *in, size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        return ws_established(t, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        return ws_receive(t, wsi, pss->conn, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return ws_writeable(t, wsi, pss);
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->conn) {
            conn_finish(t, pss->conn);
            chorus_conn_unref(pss->conn);
            pss->conn = NULL;
        }
        return 0;
    default:
        return 0;
    }
}

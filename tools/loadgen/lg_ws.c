/* chorus-loadgen: minimal RFC 6455 WebSocket client (see lg_ws.h). */
#include "lg_ws.h"

#include <gio/gio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#define WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_MESSAGE (16u * 1024 * 1024)
#define WS_READ_CHUNK  65536

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

struct LgWs {
    GMainContext *ctx;
    GSocketConnection *conn;
    GSocket *sock;
    GSource *in_src, *out_src;
    GSource *close_src; /* reports on_close from the context, never from inside a call */
    const char *close_reason;
    LgWsCallbacks cb;
    void *user;
    GByteArray *in;    /* received bytes not parsed yet */
    GByteArray *out;   /* bytes to write */
    GByteArray *early; /* frames queued before the upgrade completed */
    GByteArray *msg;   /* fragments of the message being assembled */
    char *accept;      /* the Sec-WebSocket-Accept we expect */
    guint32 rng;       /* masking keys (xorshift32; masking is not security here) */
    gboolean open, closed;
    guint depth;
    gboolean free_pending;
};

static void ws_destroy(LgWs *ws);
static gboolean ws_flush(LgWs *ws);

/* ---- helpers ---------------------------------------------------------------------- */

static guint32 ws_random(LgWs *ws)
{
    guint32 x = ws->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return ws->rng = x;
}

static char *ws_accept_for(const char *key)
{
    g_autofree char *cat = g_strconcat(key, WS_GUID, NULL);
    guint8 digest[20];
    gsize n = sizeof digest;
    GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA1);
    g_checksum_update(sum, (const guchar *)cat, (gssize)strlen(cat));
    g_checksum_get_digest(sum, digest, &n);
    g_checksum_free(sum);
    return g_base64_encode(digest, n);
}

static gboolean ws_report_close(gpointer data)
{
    LgWs *ws = data;
    g_source_unref(ws->close_src);
    ws->close_src = NULL;
    if (!ws->free_pending && ws->cb.on_close)
        ws->cb.on_close(ws->user, ws->close_reason); /* may free ws: touch nothing after */
    return G_SOURCE_REMOVE;
}

/* Stops watching the socket; on_close is reported once, from an idle on the context. */
static void ws_fail(LgWs *ws, const char *reason)
{
    if (ws->closed)
        return;
    ws->closed = TRUE;
    ws->close_reason = reason;
    if (ws->in_src)
        g_source_destroy(ws->in_src);
    if (ws->out_src)
        g_source_destroy(ws->out_src);
    ws->close_src = g_idle_source_new();
    g_source_set_callback(ws->close_src, ws_report_close, ws, NULL);
    g_source_attach(ws->close_src, ws->ctx);
}

/* ---- writing ---------------------------------------------------------------------- */

static void ws_append_frame(LgWs *ws, GByteArray *dst, int opcode, const guint8 *data, gsize len)
{
    guint8 hdr[14];
    gsize h = 0;
    hdr[h++] = (guint8)(0x80 | opcode);
    if (len < 126) {
        hdr[h++] = (guint8)(0x80 | len);
    } else if (len <= 0xffff) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (guint8)(len >> 8);
        hdr[h++] = (guint8)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (guint8)((guint64)len >> (8 * i));
    }
    guint32 key = ws_random(ws);
    guint8 mask[4] = {(guint8)(key >> 24), (guint8)(key >> 16), (guint8)(key >> 8), (guint8)key};
    memcpy(hdr + h, mask, 4);
    h += 4;
    g_byte_array_append(dst, hdr, (guint)h);
    guint start = dst->len;
    g_byte_array_set_size(dst, start + (guint)len);
    for (gsize i = 0; i < len; i++)
        dst->data[start + i] = data[i] ^ mask[i & 3];
}

static gboolean ws_on_writable(GSocket *sock, GIOCondition cond, gpointer data)
{
    LgWs *ws = data;
    ws_flush(ws);
    if (ws->out->len == 0 || ws->closed) {
        g_source_unref(ws->out_src);
        ws->out_src = NULL;
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* Writes what the socket takes; arms a writable watch for the rest. FALSE on error. */
static gboolean ws_flush(LgWs *ws)
{
    while (ws->out->len > 0 && !ws->closed) {
        GError *error = NULL;
        gssize n =
            g_socket_send(ws->sock, (const gchar *)ws->out->data, ws->out->len, NULL, &error);
        if (n < 0) {
            gboolean again = g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
            g_error_free(error);
            if (!again) {
                ws_fail(ws, "write error");
                return FALSE;
            }
            break;
        }
        g_byte_array_remove_range(ws->out, 0, (guint)n);
    }
    if (ws->out->len > 0 && !ws->out_src && !ws->closed) {
        ws->out_src = g_socket_create_source(ws->sock, G_IO_OUT, NULL);
        g_source_set_callback(ws->out_src, G_SOURCE_FUNC(ws_on_writable), ws, NULL);
        g_source_attach(ws->out_src, ws->ctx);
    }
    return TRUE;
}

gboolean lg_ws_send_text(LgWs *ws, const char *text, size_t len)
{
    if (!ws || ws->closed || ws->free_pending)
        return FALSE;
    if (!ws->open) {
        ws_append_frame(ws, ws->early, OP_TEXT, (const guint8 *)text, len);
        return TRUE;
    }
    ws_append_frame(ws, ws->out, OP_TEXT, (const guint8 *)text, len);
    return ws_flush(ws);
}

gsize lg_ws_pending(const LgWs *ws)
{
    return ws ? ws->out->len + ws->early->len : 0;
}

/* ---- reading ---------------------------------------------------------------------- */

/* Parses the HTTP upgrade answer; 1 done, 0 need more, -1 failed. */
static int ws_parse_upgrade(LgWs *ws)
{
    const guint8 *end = memmem(ws->in->data, ws->in->len, "\r\n\r\n", 4);
    if (!end)
        return ws->in->len > 16384 ? -1 : 0;
    guint hlen = (guint)(end - ws->in->data) + 4;
    g_autofree char *head = g_strndup((const char *)ws->in->data, hlen);
    g_byte_array_remove_range(ws->in, 0, hlen);
    if (!g_str_has_prefix(head, "HTTP/1.1 101"))
        return -1;
    g_auto(GStrv) lines = g_strsplit(head, "\r\n", -1);
    for (guint i = 1; lines[i]; i++) {
        const char *colon = strchr(lines[i], ':');
        if (!colon || g_ascii_strncasecmp(lines[i], "Sec-WebSocket-Accept", 20) != 0)
            continue;
        g_autofree char *value = g_strstrip(g_strdup(colon + 1));
        return strcmp(value, ws->accept) == 0 ? 1 : -1;
    }
    return -1;
}

/* A complete data message: delivered NUL-terminated. */
static void ws_deliver(LgWs *ws)
{
    guint8 nul = 0;
    gsize len = ws->msg->len;
    g_byte_array_append(ws->msg, &nul, 1);
    if (ws->cb.on_message && !ws->free_pending)
        ws->cb.on_message(ws->user, (const char *)ws->msg->data, len);
    g_byte_array_set_size(ws->msg, 0);
}

static void ws_control(LgWs *ws, int opcode, const guint8 *payload, gsize len)
{
    if (opcode == OP_PING) {
        ws_append_frame(ws, ws->out, OP_PONG, payload, len);
        ws_flush(ws);
    } else if (opcode == OP_CLOSE) {
        ws_append_frame(ws, ws->out, OP_CLOSE, payload, len < 2 ? len : 2);
        ws_flush(ws);
        ws_fail(ws, "closed by the server");
    }
}

/* Parses one frame from ws->in; 1 consumed one, 0 need more, -1 protocol error. */
static int ws_parse_frame(LgWs *ws)
{
    const guint8 *d = ws->in->data;
    gsize avail = ws->in->len, h = 2;
    if (avail < 2)
        return 0;
    int fin = d[0] & 0x80, opcode = d[0] & 0x0f, masked = d[1] & 0x80;
    guint64 len = d[1] & 0x7f;
    if (len == 126) {
        if (avail < 4)
            return 0;
        len = ((guint64)d[2] << 8) | d[3];
        h = 4;
    } else if (len == 127) {
        if (avail < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | d[2 + i];
        h = 10;
    }
    if (len > WS_MAX_MESSAGE || ws->msg->len + len > WS_MAX_MESSAGE)
        return -1;
    gsize mh = masked ? 4 : 0;
    if (avail < h + mh + len)
        return 0;
    guint8 *payload = ws->in->data + h + mh;
    for (gsize i = 0; masked && i < len; i++)
        payload[i] ^= d[h + (i & 3)];
    if (opcode >= OP_CLOSE) {
        ws_control(ws, opcode, payload, (gsize)len);
    } else {
        g_byte_array_append(ws->msg, payload, (guint)len);
        if (fin)
            ws_deliver(ws);
    }
    g_byte_array_remove_range(ws->in, 0, (guint)(h + mh + len));
    return 1;
}

static void ws_process(LgWs *ws)
{
    if (!ws->open) {
        int r = ws_parse_upgrade(ws);
        if (r < 0) {
            ws_fail(ws, "WebSocket upgrade refused");
            return;
        }
        if (r == 0)
            return;
        ws->open = TRUE;
        g_byte_array_append(ws->out, ws->early->data, ws->early->len);
        g_byte_array_set_size(ws->early, 0);
        if (ws->cb.on_open && !ws->free_pending)
            ws->cb.on_open(ws->user);
        if (!ws_flush(ws))
            return;
    }
    while (!ws->closed && !ws->free_pending) {
        int r = ws_parse_frame(ws);
        if (r < 0)
            ws_fail(ws, "WebSocket protocol error");
        if (r <= 0)
            break;
    }
}

static gboolean ws_on_readable(GSocket *sock, GIOCondition cond, gpointer data)
{
    LgWs *ws = data;
    guint8 buf[WS_READ_CHUNK];
    ws->depth++;
    for (;;) {
        GError *error = NULL;
        gssize n = g_socket_receive(sock, (gchar *)buf, sizeof buf, NULL, &error);
        if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_error_free(error);
            break;
        }
        g_clear_error(&error);
        if (n <= 0) {
            ws_fail(ws, n == 0 ? "connection closed" : "read error");
            break;
        }
        g_byte_array_append(ws->in, buf, (guint)n);
    }
    if (!ws->closed)
        ws_process(ws);
    ws->depth--;
    gboolean keep = !ws->closed;
    if (ws->depth == 0 && ws->free_pending)
        ws_destroy(ws); /* the source is destroyed with it */
    return keep ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* ---- connection ------------------------------------------------------------------- */

static gboolean ws_open_socket(LgWs *ws, const char *host, int port, GError **error)
{
    GSocketClient *client = g_socket_client_new();
    ws->conn = g_socket_client_connect_to_host(client, host, (guint16)port, NULL, error);
    g_object_unref(client);
    if (!ws->conn)
        return FALSE;
    ws->sock = g_socket_connection_get_socket(ws->conn);
    g_socket_set_option(ws->sock, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
    g_socket_set_blocking(ws->sock, FALSE);
    ws->in_src = g_socket_create_source(ws->sock, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
    g_source_set_callback(ws->in_src, G_SOURCE_FUNC(ws_on_readable), ws, NULL);
    g_source_attach(ws->in_src, ws->ctx);
    return TRUE;
}

static void ws_queue_upgrade(LgWs *ws, const char *host, int port, const char *path,
                             const char *protocol)
{
    guint8 raw[16];
    for (guint i = 0; i < sizeof raw; i++)
        raw[i] = (guint8)g_random_int();
    g_autofree char *key = g_base64_encode(raw, sizeof raw);
    ws->accept = ws_accept_for(key);
    g_autofree char *req = g_strdup_printf("GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
                                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                           "Sec-WebSocket-Key: %s\r\n"
                                           "Sec-WebSocket-Version: 13\r\n"
                                           "Sec-WebSocket-Protocol: %s\r\n\r\n",
                                           path && *path ? path : "/", host, port, key, protocol);
    g_byte_array_append(ws->out, (const guint8 *)req, (guint)strlen(req));
}

LgWs *lg_ws_connect(GMainContext *ctx, const char *url, const char *protocol,
                    const LgWsCallbacks *cb, void *user, GError **error)
{
    g_autoptr(GUri) uri = g_uri_parse(url, G_URI_FLAGS_NONE, error);
    if (!uri)
        return NULL;
    if (g_strcmp0(g_uri_get_scheme(uri), "ws") != 0 || !g_uri_get_host(uri)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: only ws://host:port/ URLs are supported", url);
        return NULL;
    }
    int port = g_uri_get_port(uri) > 0 ? g_uri_get_port(uri) : 80;
    LgWs *ws = g_new0(LgWs, 1);
    ws->ctx = ctx;
    ws->cb = *cb;
    ws->user = user;
    ws->rng = g_random_int() | 1u;
    ws->in = g_byte_array_new();
    ws->out = g_byte_array_new();
    ws->early = g_byte_array_new();
    ws->msg = g_byte_array_new();
    if (!ws_open_socket(ws, g_uri_get_host(uri), port, error)) {
        ws_destroy(ws);
        return NULL;
    }
    ws_queue_upgrade(ws, g_uri_get_host(uri), port, g_uri_get_path(uri), protocol);
    ws_flush(ws);
    return ws;
}

static void ws_destroy(LgWs *ws)
{
    if (ws->in_src) {
        g_source_destroy(ws->in_src);
        g_source_unref(ws->in_src);
    }
    if (ws->out_src) {
        g_source_destroy(ws->out_src);
        g_source_unref(ws->out_src);
    }
    if (ws->close_src) {
        g_source_destroy(ws->close_src);
        g_source_unref(ws->close_src);
    }
    if (ws->conn) {
        g_io_stream_close(G_IO_STREAM(ws->conn), NULL, NULL);
        g_object_unref(ws->conn);
    }
    g_byte_array_unref(ws->in);
    g_byte_array_unref(ws->out);
    g_byte_array_unref(ws->early);
    g_byte_array_unref(ws->msg);
    g_free(ws->accept);
    g_free(ws);
}

void lg_ws_free(LgWs *ws)
{
    if (!ws || ws->free_pending)
        return;
    if (ws->open && !ws->closed) {
        static const guint8 normal[2] = {0x03, 0xe8}; /* 1000 */
        ws_append_frame(ws, ws->out, OP_CLOSE, normal, 2);
        g_socket_set_timeout(ws->sock, 2);     /* best effort: push what is queued (the */
        g_socket_set_blocking(ws->sock, TRUE); /* last "destroy" requests) and the close */
        ws_flush(ws);
    }
    ws->free_pending = TRUE;
    if (ws->depth == 0)
        ws_destroy(ws);
}

/* Transport: one libwebsockets context on its own service thread, serving
 *   - the Janus API over WebSocket (subprotocol "janus-protocol") on ws_port,
 *   - the admin API over WebSocket ("janus-admin-protocol") on admin_port,
 *   - HTTP on http_port: static files from html_folder and GET /health.
 * Limits: max message size, max connections in total and per IP; each refusal is
 * answered with a close reason (WebSocket) or a status line (HTTP) and logged.
 *
 * Threading: callbacks run on the service thread. chorus_conn_send may be called from
 * any thread: it queues the text and wakes the service thread. */
#ifndef CHORUS_SIGNAL_TRANSPORT_H
#define CHORUS_SIGNAL_TRANSPORT_H

#include <glib.h>

#include "core/config.h"

typedef struct ChorusConn ChorusConn; /* one WebSocket connection, refcounted */
typedef struct ChorusTransport ChorusTransport;

typedef struct {
    /* A complete text message arrived (text is NUL-terminated, borrowed). */
    void (*on_message)(ChorusConn *conn, const char *text, gsize len, gpointer user);
    /* The connection is gone; conn stays valid until its last unref but sends are
     * dropped from now on. Called once per connection. */
    void (*on_closed)(ChorusConn *conn, gpointer user);
    /* Body of GET /health: a new JSON string (g_free'd by the transport), or NULL. */
    char *(*health)(gpointer user);
    gpointer user;
} ChorusTransportCallbacks;

/* Binds every configured port (0 = that listener is off) and starts the service
 * thread. Returns NULL with error when a port cannot be bound. cfg is borrowed and
 * must outlive the transport. */
ChorusTransport *chorus_transport_start(const ChorusConfig *cfg,
                                        const ChorusTransportCallbacks *callbacks, GError **error);
/* Sends what is queued (waiting up to flush_ms), closes every connection and joins
 * the service thread. */
void chorus_transport_stop(ChorusTransport *t, guint flush_ms);

/* The port a listener actually bound (useful with port 0 in tests); 0 if off. */
int chorus_transport_ws_port(const ChorusTransport *t);

ChorusConn *chorus_conn_ref(ChorusConn *conn);
void chorus_conn_unref(ChorusConn *conn);
/* Queues text for sending; takes ownership of text (g_free'd). Returns FALSE (and
 * frees text) if the connection is closed. Thread-safe. */
gboolean chorus_conn_send(ChorusConn *conn, char *text);
/* Asks the connection to close (test hook and admin kick). Thread-safe. */
void chorus_conn_close(ChorusConn *conn);
gboolean chorus_conn_is_admin(const ChorusConn *conn);
const char *chorus_conn_peer_ip(const ChorusConn *conn); /* borrowed, never NULL */
guint64 chorus_conn_id(const ChorusConn *conn);

#endif

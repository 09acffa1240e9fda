/* chorus-loadgen: a minimal RFC 6455 WebSocket client over GSocket, driven by a
 * GMainContext. Text messages only (what the Janus API uses); pings are answered, a
 * close frame ends the connection.
 *
 * Threading: everything happens on the context given at connect; every call must be
 * made there. Callbacks may call lg_ws_free on their own connection (it is torn down
 * once the callback returns). */
#ifndef LG_WS_H
#define LG_WS_H

#include <glib.h>

typedef struct LgWs LgWs;

typedef struct {
    /* The upgrade completed: messages may be sent. */
    void (*on_open)(void *user);
    /* One complete text (or binary) message; text is NUL-terminated, borrowed. */
    void (*on_message)(void *user, const char *text, size_t len);
    /* The connection ended (close frame, error, or a failed upgrade); reason borrowed.
     * Nothing is reported after this. */
    void (*on_close)(void *user, const char *reason);
} LgWsCallbacks;

/* Connects to url ("ws://host:port/path"; no TLS) with the given subprotocol. The TCP
 * connect is blocking (the generator connects to a local server before the load starts);
 * the upgrade completes asynchronously (on_open). NULL with *error when the URL is bad or
 * the TCP connect fails. */
LgWs *lg_ws_connect(GMainContext *ctx, const char *url, const char *protocol,
                    const LgWsCallbacks *cb, void *user, GError **error);

/* Queues one text message (copied); it goes out as soon as the socket takes it. Messages
 * sent before on_open wait for the upgrade. FALSE if the connection is closed. */
gboolean lg_ws_send_text(LgWs *ws, const char *text, size_t len);

/* Bytes queued but not yet written (backpressure diagnostics). */
gsize lg_ws_pending(const LgWs *ws);

/* Sends a close frame if open (best effort), closes the socket; no callback after this. */
void lg_ws_free(LgWs *ws);

#endif

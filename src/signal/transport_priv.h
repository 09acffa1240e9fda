/* Transport internals shared by transport.c (context, service thread, queues, limits),
 * transport_ws.c (WebSocket callbacks) and transport_http.c (HTTP callbacks).
 *
 * Threading: fields marked "service thread" are touched only by the lws service thread
 * (or by chorus_transport_start/stop while that thread does not run). Everything else
 * says which lock guards it. Lock order: ChorusConn.lock, then ChorusTransport.wake_lock;
 * no callback into user code runs with either held. The locks are pthread mutexes rather
 * than GMutex because GLib's futex-based GMutex is invisible to ThreadSanitizer. */
#ifndef CHORUS_SIGNAL_TRANSPORT_PRIV_H
#define CHORUS_SIGNAL_TRANSPORT_PRIV_H

#include <libwebsockets.h>
#include <pthread.h>

#include "signal/transport.h"

#define TRANSPORT_TAG "transport"

/* A connection with this many unsent messages is closed (a stuck or slow reader). */
#define CHORUS_CONN_MAX_QUEUED 8192u

typedef enum {
    LISTENER_WS = 1,
    LISTENER_ADMIN = 2,
    LISTENER_HTTP = 3,
} ListenerKind;

/* lws_protocols.id: the listener in the low byte, and whether this is the WebSocket
 * protocol (as opposed to protocols[0], which only handles plain HTTP). */
#define PROTO_ID(kind, is_ws) ((unsigned int)(kind) | ((is_ws) ? 0x100u : 0u))
#define PROTO_KIND(id)        ((ListenerKind)((id)&0xffu))
#define PROTO_IS_WS(id)       (((id)&0x100u) != 0)

typedef enum {
    PHASE_RUNNING = 0,
    PHASE_FLUSH,   /* stop asked: sending what is queued */
    PHASE_CLOSING, /* closing every connection */
    PHASE_EXITING, /* service loop left; the context is being destroyed */
} TransportPhase;

struct ChorusConn {
    gint ref; /* atomic */
    guint64 id;
    char ip[64];
    gboolean admin;
    ChorusTransport *t; /* valid while !closed */

    pthread_mutex_t lock;     /* guards the four fields below */
    GQueue out;               /* char * texts, owned, oldest first */
    gboolean closed;          /* on_closed done (or about to be): sends are dropped */
    gboolean close_requested; /* chorus_conn_close: close once out is empty */
    gboolean wake_pending;    /* already in t->wake */

    /* service thread */
    struct lws *wsi; /* NULL once closed */
    GByteArray *rx;  /* the incoming message being assembled */
    gboolean going_away;
};

/* Per accepted socket, kept from accept to destroy (service thread). */
typedef struct {
    char ip[64];
    gboolean counted;   /* included in total / per_ip */
    const char *refuse; /* NULL, "server full" or "too many connections" */
} WsiInfo;

/* lws per-session data of every protocol (zeroed by lws). */
typedef struct {
    ChorusConn *conn; /* WebSocket: our reference */
    gboolean refused; /* WebSocket accepted only to be closed with 1008 */
    /* HTTP response in progress */
    char *body;
    gsize body_len, body_off;
    int fd;
    gboolean has_fd;
    guint64 file_left;
    gboolean close_after;
} Pss;

typedef struct {
    gint64 window_start;
    guint logged, suppressed;
} RateLimit;

struct ChorusTransport {
    const ChorusConfig *cfg;
    ChorusTransportCallbacks cb;
    char *html_root;
    struct lws_context *ctx;
    struct lws_protocols protos[3][3]; /* per listener, NULL-terminated */
    int ports[4];                      /* by ListenerKind: bound port, 0 if off */
    GThread *thread;

    pthread_mutex_t wake_lock; /* guards wake, and phase transitions into EXITING */
    GPtrArray *wake;           /* ChorusConn refs that need the service thread */
    gint phase;                /* TransportPhase, atomic */
    gint64 flush_deadline;

    /* service thread */
    GHashTable *conns;  /* ChorusConn * set: open WebSockets (refs are in Pss) */
    GHashTable *wsis;   /* struct lws * -> WsiInfo * (owned) */
    GHashTable *per_ip; /* ip -> count (GUINT_TO_POINTER) */
    guint total;
    GByteArray *txbuf;
    gint64 closing_deadline;
    RateLimit refusals;
};

/* transport.c */
ChorusTransport *transport_from_wsi(struct lws *wsi);
int transport_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len);
/* Logs a refused connection at warn, at most a few lines per second. */
void transport_log_refusal(ChorusTransport *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
WsiInfo *transport_wsi_info(ChorusTransport *t, struct lws *wsi);
gboolean transport_running(ChorusTransport *t);
/* Ensures txbuf holds LWS_PRE + n bytes; returns the payload start (after LWS_PRE). */
unsigned char *transport_txbuf(ChorusTransport *t, gsize n);

/* transport_ws.c */
int transport_ws_callback(ChorusTransport *t, struct lws *wsi, enum lws_callback_reasons reason,
                          Pss *pss, void *in, size_t len);
ChorusConn *conn_new(ChorusTransport *t, struct lws *wsi, const char *ip, gboolean admin);
/* Marks conn closed, drops its queue, and calls on_closed once (service thread). */
void conn_finish(ChorusTransport *t, ChorusConn *conn);

/* transport_http.c */
int transport_http_callback(ChorusTransport *t, struct lws *wsi, enum lws_callback_reasons reason,
                            Pss *pss, void *in, size_t len);
void http_pss_clear(Pss *pss);

#endif

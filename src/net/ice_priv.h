/* ChorusIce's insides, shared by ice.c (the agent, its signals, candidates) and
 * ice_direct.c (the direct path: send and receive on the selected pair's socket without
 * libnice). Not for use outside src/net/ice*.c. */
#ifndef CHORUS_NET_ICE_PRIV_H
#define CHORUS_NET_ICE_PRIV_H

#include <gio/gio.h>
#include <netinet/in.h>
#include <nice/agent.h>
#include <sys/socket.h>

#include "net/ice.h"
#include "util/ctxmux.h"

#define ICE_COMPONENT 1

enum { ICE_SERVER_STUN, ICE_SERVER_TURN, ICE_SERVERS };

typedef struct ChorusIceResolve ChorusIceResolve;

struct ChorusIce {
    GMainContext *ctx;       /* the caller's (a worker's): our timers and callbacks */
    GMainContext *agent_ctx; /* libnice's: the child's context, or ctx without a mux */
    ChorusCtxChild *child;   /* our reference; NULL: the agent runs on ctx itself */
    NiceAgent *agent;
    guint stream_id;
    ChorusIceCallbacks cb;
    void *user;

    /* Copy of the configuration. */
    char **interfaces;
    gboolean loopback, ipv6, tcp;
    guint port_min, port_max;
    char *server_host[ICE_SERVERS]; /* as configured (name or address) */
    char *server_ip[ICE_SERVERS];   /* resolved address, NULL until known */
    guint server_port[ICE_SERVERS];
    NiceRelayType turn_type;
    char *turn_user, *turn_password;
    guint timeout_s;
    gboolean controlling;

    char *local_ufrag, *local_pwd;
    ChorusIceState state;
    gint64 last_rx_us;     /* monotonic time of the last datagram (or of CONNECTED) */
    gboolean remote_creds; /* remote credentials set: candidates may be applied */
    gboolean remote_done;  /* end-of-candidates seen before the credentials */
    GPtrArray *queued;     /* NiceCandidate *: waiting for remote credentials */
    gboolean gather_started, gathering_done;
    ChorusIceResolve *resolve[ICE_SERVERS];
    guint resolving;   /* lookups still running before gathering starts */
    guint source_mark; /* ctx's source ids after this one are (maybe) the agent's */

    GSource *timer;           /* checking / reconnection watchdog */
    const char *timer_reason; /* reason reported when the watchdog fires */

    /* Direct path: see ice_direct.c. */
    gboolean direct_enabled;
    NiceComponentState nice_state; /* libnice's component state, as last signalled */
    GSocket *direct_sock;          /* our reference on libnice's socket; NULL: fall back */
    int direct_fd;
    socklen_t direct_addr_len;
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
        struct sockaddr_storage ss;
    } direct_addr; /* the selected remote candidate's address */
    guint64 direct_sends, fallback_sends;
    guint64 fast_recvs;     /* datagrams read by the direct path, not libnice */
    gboolean rx_timestamps; /* ask the kernel for receive times (SO_TIMESTAMPNS) */
    gint64 rx_walltime_us;  /* kernel receive time of the datagram being delivered, 0: none */

    guint depth;           /* user callbacks (or libnice calls) in progress */
    gboolean closing;      /* chorus_ice_free was called: no more callbacks */
    gboolean free_pending; /* free once depth drops to 0 */
};

/* One asynchronous STUN/TURN host lookup; outlives the ChorusIce if it is freed first. */
struct ChorusIceResolve {
    ChorusIce *ice; /* NULL once the ChorusIce is gone */
    int which;
    GCancellable *cancel;
};

/* ice_direct.c. Defaults read once from the environment (CHORUS_ICE_DIRECT,
 * CHORUS_ICE_MUX). */
gboolean ice_direct_default(void);
gboolean ice_mux_default(void);
gboolean ice_nice_connected(NiceComponentState s);
/* Re-reads the selected pair into the direct path, or empties it (see ice_direct.c). */
void ice_direct_refresh(ChorusIce *ice);
void ice_direct_clear(ChorusIce *ice);

/* ice.c: hands a datagram from the peer to the user (buf borrowed); FALSE when the
 * ChorusIce was freed meanwhile (touch nothing then). */
gboolean ice_deliver(ChorusIce *ice, uint8_t *buf, size_t len);

#endif

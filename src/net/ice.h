/* ICE for one PeerConnection, on libnice: full ICE, controlled role by default (the client
 * offers; ChorusIceConfig.controlling selects the controlling role for a client-side
 * agent such as tools/chorus-loadgen), one stream with one component (BUNDLE + rtcp-mux),
 * trickle both ways.
 *
 * Threading: the agent is bound to the GMainContext given at creation (a worker's;
 * libnice itself runs on a ctxmux child of it, see chorus_ice_agent_context);
 * every callback runs there, and every function must be called there too.
 * chorus_ice_send is the per-packet path: it neither allocates nor logs.
 *
 * Re-entrancy: callbacks may also run synchronously from inside chorus_ice_gather,
 * chorus_ice_set_remote_credentials, chorus_ice_add_remote_candidate,
 * chorus_ice_remote_gathering_done and chorus_ice_restart (libnice emits when it drops its
 * lock). Any callback may call chorus_ice_free; the object is then torn down once the
 * callback returns, and nothing else is reported.
 *
 * Ownership: the ChorusIce owns its NiceAgent, sockets and timers; strings passed in are
 * copied, strings passed to callbacks are borrowed for the call.
 *
 * States: NEW -> CHECKING when the remote credentials are set (a watchdog starts: still
 * not connected after timeout_s -> FAILED "ICE timeout") -> CONNECTED once (libnice
 * CONNECTED or READY; not reported again) -> FAILED with a reason:
 *   "ICE failed"       libnice gave up before any pair worked;
 *   "ICE consent lost" libnice's RFC 7675 consent freshness failed the connected pair and
 *                      timeout_s passed since the last datagram from the peer, or libnice
 *                      lost the pair (CONNECTING again) and did not regain it in timeout_s.
 * Within that grace an ICE restart (chorus_ice_restart + new remote credentials) can
 * recover; the state stays CONNECTED meanwhile, though chorus_ice_send may fail.
 * FAILED is final until chorus_ice_restart. CLOSED is never reported
 * (chorus_ice_free is silent). */
#ifndef CHORUS_NET_ICE_H
#define CHORUS_NET_ICE_H

#include <glib.h>
#include <stdint.h>

typedef struct ChorusIce ChorusIce;

#define CHORUS_ICE_ERROR (chorus_ice_error_quark())
GQuark chorus_ice_error_quark(void);

typedef enum {
    CHORUS_ICE_ERROR_FAILED,     /* libnice refused the operation */
    CHORUS_ICE_ERROR_INVALID,    /* malformed candidate or credentials */
    CHORUS_ICE_ERROR_IGNORED,    /* a valid candidate Chorus does not use (mDNS, RTCP) */
    CHORUS_ICE_ERROR_NO_ADDRESS, /* no local address passes the interface settings */
} ChorusIceError;

typedef enum {
    CHORUS_ICE_NEW = 0,
    CHORUS_ICE_CHECKING,
    CHORUS_ICE_CONNECTED, /* a pair works: media may flow */
    CHORUS_ICE_FAILED,    /* no pair works, or consent was lost for good */
    CHORUS_ICE_CLOSED,
} ChorusIceState;

typedef struct {
    /* A datagram from the peer on the selected pair (borrowed for the call). */
    void (*on_recv)(void *user, uint8_t *buf, size_t len);
    /* A local candidate, as the SDP attribute value without "a=" ("candidate:1 1 udp
     * 2013266431 192.168.1.5 50000 typ host"); borrowed. */
    void (*on_local_candidate)(void *user, const char *candidate);
    void (*on_gathering_done)(void *user);
    /* State changes; reason is a short text for FAILED (borrowed, may be NULL). */
    void (*on_state)(void *user, ChorusIceState state, const char *reason);
} ChorusIceCallbacks;

/* Host candidates: every address of an interface that is up, IPv4 always, IPv6 (not
 * link-local) when ipv6 is set. Loopback addresses are governed by loopback alone (offered
 * "too", whatever the allow-list says); the allow-list, when non-empty, keeps only the
 * other addresses whose interface name or textual address is listed exactly. */
typedef struct {
    char **interfaces; /* allow-list of interface names or addresses; NULL/empty: all */
    gboolean loopback; /* include 127.0.0.1 (and ::1 with ipv6) */
    gboolean ipv6;
    gboolean tcp;             /* ICE-TCP candidates too */
    guint port_min, port_max; /* 0, 0: any */
    const char *stun_host;
    guint stun_port; /* NULL: no STUN */
    const char *turn_host;
    guint turn_port;            /* NULL: no TURN */
    const char *turn_transport; /* "udp", "tcp", "tls" */
    const char *turn_user;
    const char *turn_password;
    guint timeout_s; /* consent/traffic timeout before FAILED; 0: 30 */
    /* ICE role (RFC 8445 section 6.1.1). FALSE (the server's case): controlled, the
     * offering peer nominates. TRUE: controlling, this agent nominates the pair; for
     * an agent that sends the offer (a client, e.g. tools/chorus-loadgen). */
    gboolean controlling;
} ChorusIceConfig;

/* Creates the agent on ctx (borrowed; must outlive the agent). cfg is copied. */
ChorusIce *chorus_ice_new(GMainContext *ctx, const ChorusIceConfig *cfg,
                          const ChorusIceCallbacks *cb, void *user);
/* Stops the agent; no callback runs after this returns. */
void chorus_ice_free(ChorusIce *ice);

/* Local ufrag/pwd (borrowed, valid until restart or free). */
const char *chorus_ice_local_ufrag(ChorusIce *ice);
const char *chorus_ice_local_pwd(ChorusIce *ice);
/* Starts gathering local candidates (reported through on_local_candidate). STUN/TURN host
 * names are resolved asynchronously on the context first. FALSE (CHORUS_ICE_ERROR_NO_ADDRESS)
 * if no local address is allowed. A second call does nothing. */
gboolean chorus_ice_gather(ChorusIce *ice, GError **error);
/* Local candidates gathered so far as "candidate:..." strings (a new NULL-terminated
 * array; g_strfreev), for a non-trickle SDP answer. */
char **chorus_ice_local_candidates(ChorusIce *ice);
gboolean chorus_ice_gathering_done(ChorusIce *ice);

gboolean chorus_ice_set_remote_credentials(ChorusIce *ice, const char *ufrag, const char *pwd,
                                           GError **error);
/* One remote candidate, with or without the "candidate:" prefix or "a=". mDNS
 * (.local) candidates are ignored (FALSE with a reason, not an error to the client).
 * Candidates given before the remote credentials are queued (up to 64) and applied when
 * the credentials are set; so is an end-of-candidates. Errors: CHORUS_ICE_ERROR_IGNORED
 * (mDNS, component other than 1), CHORUS_ICE_ERROR_INVALID (unparsable, queue full). */
gboolean chorus_ice_add_remote_candidate(ChorusIce *ice, const char *candidate, GError **error);
void chorus_ice_remote_gathering_done(ChorusIce *ice);
/* Remote candidates waiting for the remote credentials (diagnostics, tests). */
guint chorus_ice_queued_remote_candidates(ChorusIce *ice);
/* ICE restart: new local credentials; the caller sets the new remote ones (candidates
 * arriving before them are queued again). A CONNECTED session stays CONNECTED while the
 * old pair works; a FAILED one goes back to NEW (not reported) and then CHECKING. */
void chorus_ice_restart(ChorusIce *ice);

/* Sends one datagram on the selected pair: bytes sent or -1 (not connected, or the
 * socket refused it: errno tells, EAGAIN when its buffer is full; the datagram is dropped).
 *
 * Direct path: while libnice's selected pair is a UDP pair whose local side is a host or
 * server-reflexive candidate (not a TURN relay, not ICE-TCP) and the component is
 * CONNECTED or READY, the datagram goes out with one sendto(MSG_DONTWAIT) on libnice's own
 * socket to the cached remote address: no agent mutex, no GSocket/NiceSocket layers, no
 * allocation. The cache (a reference on libnice's GSocket, its fd, the remote sockaddr)
 * is refreshed whenever libnice selects a pair or its component becomes CONNECTED/READY,
 * and cleared on any other component state (consent lost, pair lost), on FAILED, on
 * chorus_ice_restart and on chorus_ice_free; a closed GSocket is never written to (libnice
 * owns and closes the socket; Chorus never does). Otherwise (relay, TCP, no socket, cache
 * cleared) the datagram goes through nice_agent_send. STUN (checks, consent freshness,
 * keepalives) stays with libnice; media from the selected peer is read by the direct
 * path too (chorus_ice_fast_recvs).
 *
 * Batching: inside on_recv (and wherever the thread has a net/udp_batch.h batch open) a
 * direct-path datagram is queued and the whole batch leaves in one io_uring submission
 * when the callback returns: a room's fan-out of one incoming packet (one datagram to
 * each of many sockets, which sendmmsg cannot batch) is one system call. */
int chorus_ice_send(ChorusIce *ice, const uint8_t *buf, size_t len);
/* Allows (the default) or forbids the direct path for this agent; forbidden, every
 * datagram goes through nice_agent_send (diagnostics, tests, benchmarks). The process-wide
 * default is read once from the environment: CHORUS_ICE_DIRECT=0 forbids it. */
void chorus_ice_set_direct_send(ChorusIce *ice, gboolean enabled);
/* TRUE when the next chorus_ice_send takes the direct path. */
gboolean chorus_ice_direct_active(ChorusIce *ice);
/* Datagrams sent on the direct path / through nice_agent_send since creation. */
guint64 chorus_ice_direct_sends(ChorusIce *ice);
guint64 chorus_ice_fallback_sends(ChorusIce *ice);
/* Datagrams the direct path read itself (media from the selected pair's peer), without
 * libnice; the rest (STUN, other senders) go through libnice's source. */
guint64 chorus_ice_fast_recvs(ChorusIce *ice);
/* Measurement (the load generator): with rx_timestamps the direct path asks the kernel
 * for each datagram's receive time (SO_TIMESTAMPNS on the selected socket), and
 * chorus_ice_rx_walltime gives it, in microseconds of CLOCK_REALTIME, during the on_recv
 * of that datagram; 0 when unknown (timestamps off, or a datagram libnice read). */
void chorus_ice_set_rx_timestamps(ChorusIce *ice, gboolean enabled);
gint64 chorus_ice_rx_walltime(ChorusIce *ice);
ChorusIceState chorus_ice_state(ChorusIce *ice);
/* The context libnice runs on (borrowed): a child of the creation context driven by its
 * ctxmux (util/ctxmux.h: one epoll descriptor in the worker's loop for all its agents),
 * or the creation context itself when CHORUS_ICE_MUX=0 was in the environment. */
GMainContext *chorus_ice_agent_context(ChorusIce *ice);
/* The selected pair, "local-type address:port <-> remote-type address:port"
 * (a new string), or NULL. */
char *chorus_ice_selected_pair(ChorusIce *ice);

#endif

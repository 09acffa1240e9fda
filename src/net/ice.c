/* ICE on libnice: one agent, one stream, one component, controlled role (controlling
 * when the config asks, for client-side agents), full ICE,
 * trickle both ways, RFC 7675 consent freshness. See ice.h for the contract.
 *
 * Re-entrancy: libnice emits its signals synchronously from inside API calls (when it
 * drops its lock) and from sources on the worker context; the user may free the ChorusIce
 * from any callback. Every path that can reach a user callback runs between ice_enter()
 * and ice_leave(): a free requested while depth > 0 only detaches, and the outermost
 * ice_leave() finishes it (returning FALSE so the caller touches nothing more).
 *
 * The direct path (sending and receiving on the selected pair's socket without libnice)
 * is in ice_direct.c. */
#include "net/ice_priv.h"

#include "net/gsource.h"
#include "net/udp_batch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <nice/agent.h>

#include "util/log.h"

#define TAG                 "ice"
#define ICE_DEFAULT_TIMEOUT 30   /* seconds, when cfg->timeout_s is 0 */
#define ICE_MAX_QUEUED      64   /* remote candidates waiting for credentials */
#define ICE_MAX_CANDIDATE   1024 /* characters of one remote candidate line */
#define ICE_REASON_FAILED   "ICE failed"
#define ICE_REASON_CONSENT  "ICE consent lost"
#define ICE_REASON_TIMEOUT  "ICE timeout"

GQuark chorus_ice_error_quark(void)
{
    return g_quark_from_static_string("chorus-ice-error-quark");
}

static const char *const state_names[] = {"new", "checking", "connected", "failed", "closed"};

static void ice_destroy(ChorusIce *ice, gboolean in_emission);

/* ---- re-entrancy guard ------------------------------------------------------------ */

static void ice_enter(ChorusIce *ice)
{
    ice->depth++;
}

/* Returns FALSE when the ChorusIce was freed meanwhile (it is gone now). */
static gboolean ice_leave(ChorusIce *ice)
{
    ice->depth--;
    if (ice->depth == 0 && ice->free_pending) {
        ice_destroy(ice, TRUE);
        return FALSE;
    }
    return !ice->free_pending;
}

/* ---- state and watchdog ----------------------------------------------------------- */

static void ice_disarm_timer(ChorusIce *ice)
{
    if (ice->timer) {
        g_source_destroy(ice->timer);
        g_source_unref(ice->timer);
        ice->timer = NULL;
    }
}

static void ice_set_state(ChorusIce *ice, ChorusIceState state, const char *reason)
{
    if (ice->state == state || ice->closing)
        return;
    ice->state = state;
    if (state == CHORUS_ICE_CONNECTED || state == CHORUS_ICE_FAILED)
        ice_disarm_timer(ice);
    if (state == CHORUS_ICE_CONNECTED)
        ice_direct_refresh(ice); /* before the callback: its first sends go direct */
    else
        ice_direct_clear(ice);
    if (reason)
        LOG_I(TAG, "[%s] state %s (%s)", ice->local_ufrag, state_names[state], reason);
    else
        LOG_I(TAG, "[%s] state %s", ice->local_ufrag, state_names[state]);
    /* Every caller holds a depth (ice_enter), so a free from the callback is deferred. */
    if (ice->cb.on_state)
        ice->cb.on_state(ice->user, state, reason);
}

static gboolean ice_timer_fired(gpointer data)
{
    ChorusIce *ice = data;
    const char *reason = ice->timer_reason;

    g_source_unref(ice->timer);
    ice->timer = NULL;
    if (ice->closing)
        return G_SOURCE_REMOVE;
    ice_enter(ice);
    ice_set_state(ice, CHORUS_ICE_FAILED, reason);
    ice_leave(ice);
    return G_SOURCE_REMOVE;
}

/* Starts the watchdog unless it already runs: FAILED with reason after ms. */
static void ice_arm_timer(ChorusIce *ice, const char *reason, guint ms)
{
    if (ice->timer || ice->closing)
        return;
    ice->timer_reason = reason;
    ice->timer = g_timeout_source_new(ms);
    g_source_set_callback(ice->timer, ice_timer_fired, ice, NULL);
    g_source_attach(ice->timer, ice->ctx);
}

/* ---- libnice signals -------------------------------------------------------------- */

static void ice_log_selected_pair(ChorusIce *ice)
{
    char *pair = chorus_ice_selected_pair(ice);
    if (pair) {
        LOG_I(TAG, "[%s] selected pair %s (%s)", ice->local_ufrag, pair,
              ice->direct_sock ? "direct send" : "send through libnice");
        g_free(pair);
    }
}

/* libnice failed the component after it had connected: RFC 7675 consent expired. The
 * session ends timeout_s after the last datagram from the peer; until then an ICE restart
 * (chorus_ice_restart, then READY again) can still save it. */
static void ice_consent_lost(ChorusIce *ice)
{
    gint64 left_us =
        ice->last_rx_us + (gint64)ice->timeout_s * G_USEC_PER_SEC - g_get_monotonic_time();

    ice_disarm_timer(ice);
    if (left_us <= 0) {
        ice_set_state(ice, CHORUS_ICE_FAILED, ICE_REASON_CONSENT);
        return;
    }
    LOG_I(TAG, "[%s] consent lost; failing in %" G_GINT64_FORMAT " ms unless restarted",
          ice->local_ufrag, left_us / 1000);
    ice_arm_timer(ice, ICE_REASON_CONSENT, (guint)(left_us / 1000) + 1);
}

static void ice_on_component_state(NiceAgent *agent, guint stream_id, guint component_id,
                                   guint nstate, gpointer data)
{
    ChorusIce *ice = data;

    if (ice->closing || stream_id != ice->stream_id || component_id != ICE_COMPONENT)
        return;
    LOG_D(TAG, "[%s] libnice component %s", ice->local_ufrag,
          nice_component_state_to_string((NiceComponentState)nstate));
    ice->nice_state = (NiceComponentState)nstate;
    if (!ice_nice_connected(ice->nice_state))
        ice_direct_clear(ice); /* consent or pair lost: only libnice may send now */
    if (ice->state == CHORUS_ICE_FAILED || ice->state == CHORUS_ICE_CLOSED)
        return; /* terminal until a restart */
    ice_enter(ice);
    switch (nstate) {
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
        ice_disarm_timer(ice);
        ice->last_rx_us = g_get_monotonic_time();
        if (ice->state != CHORUS_ICE_CONNECTED) {
            ice_set_state(ice, CHORUS_ICE_CONNECTED, NULL); /* refreshes the cache */
            if (!ice->closing)
                ice_log_selected_pair(ice);
        } else if (!ice->direct_sock) { /* back after a loss or a restart */
            ice_direct_refresh(ice);
            if (ice->direct_sock)
                LOG_V(TAG, "[%s] direct send again", ice->local_ufrag);
        }
        break;
    case NICE_COMPONENT_STATE_FAILED:
        if (ice->state == CHORUS_ICE_CONNECTED)
            ice_consent_lost(ice);
        else
            ice_set_state(ice, CHORUS_ICE_FAILED, ICE_REASON_FAILED);
        break;
    default:                                      /* DISCONNECTED, GATHERING, CONNECTING */
        if (ice->state == CHORUS_ICE_CONNECTED) { /* lost the pair: give it timeout_s */
            LOG_I(TAG, "[%s] pair lost (libnice %s)", ice->local_ufrag,
                  nice_component_state_to_string((NiceComponentState)nstate));
            ice_arm_timer(ice, ICE_REASON_CONSENT, ice->timeout_s * 1000u);
        }
        break;
    }
    ice_leave(ice);
}

static void ice_on_selected_pair(NiceAgent *agent, guint stream_id, guint component_id,
                                 NiceCandidate *lcand, NiceCandidate *rcand, gpointer data)
{
    ChorusIce *ice = data;

    if (ice->closing || stream_id != ice->stream_id || component_id != ICE_COMPONENT)
        return;
    if (ice->state == CHORUS_ICE_CONNECTED) { /* a change after the first selection */
        ice_direct_refresh(ice);
        ice_log_selected_pair(ice);
    }
}

/* Turns libnice's "a=candidate:...\r\n" into "candidate:..." in place. */
static char *ice_strip_sdp_attr(char *sdp)
{
    char *s = sdp;
    if (g_str_has_prefix(s, "a="))
        s += 2;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n' || s[n - 1] == ' '))
        s[--n] = '\0';
    memmove(sdp, s, n + 1);
    return sdp;
}

/* A local candidate as an SDP attribute value ("candidate:..."), a new string. Loopback
 * candidates are advertised with the lowest local preference, so a client that can
 * reach a real interface never nominates 127.0.0.1 first (libnice ranks loopback high). */
static gboolean ice_address_is_loopback(const NiceAddress *addr)
{
    char ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(addr, ip);
    return g_str_has_prefix(ip, "127.") || strcmp(ip, "::1") == 0;
}

static char *ice_candidate_sdp(NiceAgent *agent, const NiceCandidate *cand)
{
    NiceCandidate *c = nice_candidate_copy(cand);
    if (ice_address_is_loopback(&c->addr) && c->type == NICE_CANDIDATE_TYPE_HOST)
        c->priority = (c->priority & 0xff000000u) | (256u - ICE_COMPONENT);
    char *sdp = nice_agent_generate_local_candidate_sdp(agent, c);
    nice_candidate_free(c);
    return sdp ? ice_strip_sdp_attr(sdp) : NULL;
}

static void ice_on_new_candidate(NiceAgent *agent, NiceCandidate *cand, gpointer data)
{
    ChorusIce *ice = data;

    if (ice->closing || cand->stream_id != ice->stream_id || cand->component_id != ICE_COMPONENT ||
        cand->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE)
        return;
    char *sdp = ice_candidate_sdp(agent, cand);
    if (!sdp)
        return;
    LOG_D(TAG, "[%s] local %s", ice->local_ufrag, sdp);
    if (ice->cb.on_local_candidate) {
        ice_enter(ice);
        ice->cb.on_local_candidate(ice->user, sdp);
        ice_leave(ice);
    }
    g_free(sdp);
}

static void ice_on_gathering_done(NiceAgent *agent, guint stream_id, gpointer data)
{
    ChorusIce *ice = data;

    if (ice->closing || stream_id != ice->stream_id)
        return;
    ice->gathering_done = TRUE;
    LOG_I(TAG, "[%s] gathering done", ice->local_ufrag);
    if (ice->cb.on_gathering_done) {
        ice_enter(ice);
        ice->cb.on_gathering_done(ice->user);
        ice_leave(ice);
    }
}

gboolean ice_deliver(ChorusIce *ice, uint8_t *buf, size_t len)
{
    if (ice->closing)
        return TRUE;
    ice->last_rx_us = g_get_monotonic_time(); /* vDSO clock read: no syscall, no lock */
    if (!ice->cb.on_recv)
        return TRUE;
    /* Whatever the callback sends (a room's fan-out) leaves in one system call. */
    chorus_udp_batch_begin();
    ice->depth++;
    ice->cb.on_recv(ice->user, buf, len);
    gboolean alive = ice_leave(ice);
    chorus_udp_batch_end();
    return alive;
}

static void ice_on_recv(NiceAgent *agent, guint stream_id, guint component_id, guint len,
                        gchar *buf, gpointer data)
{
    ChorusIce *ice = data;
    ice->rx_walltime_us = 0; /* libnice read it: no kernel time */
    ice_deliver(ice, (uint8_t *)buf, len);
}

/* ---- creation and teardown -------------------------------------------------------- */

static NiceRelayType ice_turn_type(const char *transport)
{
    if (transport && g_ascii_strcasecmp(transport, "tcp") == 0)
        return NICE_RELAY_TYPE_TURN_TCP;
    if (transport && g_ascii_strcasecmp(transport, "tls") == 0)
        return NICE_RELAY_TYPE_TURN_TLS;
    return NICE_RELAY_TYPE_TURN_UDP;
}

static void ice_copy_config(ChorusIce *ice, const ChorusIceConfig *cfg)
{
    ice->interfaces = g_strdupv(cfg->interfaces);
    ice->loopback = cfg->loopback;
    ice->ipv6 = cfg->ipv6;
    ice->tcp = cfg->tcp;
    if (cfg->port_min > 0 && cfg->port_max >= cfg->port_min && cfg->port_max <= 65535) {
        ice->port_min = cfg->port_min;
        ice->port_max = cfg->port_max;
    } else if (cfg->port_min || cfg->port_max) {
        LOG_W(TAG, "ignoring the invalid port range %u-%u", cfg->port_min, cfg->port_max);
    }
    if (cfg->stun_host && *cfg->stun_host) {
        ice->server_host[ICE_SERVER_STUN] = g_strdup(cfg->stun_host);
        ice->server_port[ICE_SERVER_STUN] = cfg->stun_port ? cfg->stun_port : 3478;
    }
    if (cfg->turn_host && *cfg->turn_host) {
        ice->server_host[ICE_SERVER_TURN] = g_strdup(cfg->turn_host);
        ice->turn_type = ice_turn_type(cfg->turn_transport);
        ice->server_port[ICE_SERVER_TURN] =
            cfg->turn_port ? cfg->turn_port
                           : (ice->turn_type == NICE_RELAY_TYPE_TURN_TLS ? 5349 : 3478);
        ice->turn_user = g_strdup(cfg->turn_user ? cfg->turn_user : "");
        ice->turn_password = g_strdup(cfg->turn_password ? cfg->turn_password : "");
    }
    ice->timeout_s = cfg->timeout_s ? cfg->timeout_s : ICE_DEFAULT_TIMEOUT;
    ice->controlling = cfg->controlling;
}

static gboolean ice_refresh_local_credentials(ChorusIce *ice)
{
    char *ufrag = NULL, *pwd = NULL;
    if (!nice_agent_get_local_credentials(ice->agent, ice->stream_id, &ufrag, &pwd))
        return FALSE;
    g_free(ice->local_ufrag);
    g_free(ice->local_pwd);
    ice->local_ufrag = ufrag;
    ice->local_pwd = pwd;
    return TRUE;
}

static void ice_connect_signals(ChorusIce *ice)
{
    g_signal_connect(ice->agent, "component-state-changed", G_CALLBACK(ice_on_component_state),
                     ice);
    g_signal_connect(ice->agent, "new-candidate-full", G_CALLBACK(ice_on_new_candidate), ice);
    g_signal_connect(ice->agent, "candidate-gathering-done", G_CALLBACK(ice_on_gathering_done),
                     ice);
    g_signal_connect(ice->agent, "new-selected-pair-full", G_CALLBACK(ice_on_selected_pair), ice);
}

static gboolean ice_setup_agent(ChorusIce *ice)
{
    NiceAgentOption opts = NICE_AGENT_OPTION_ICE_TRICKLE | NICE_AGENT_OPTION_CONSENT_FRESHNESS;

    /* The agent's sockets and timers go to a context of its own, driven from ctx by the
     * ctxmux (one epoll descriptor in ctx for every agent of the worker). */
    ice->agent_ctx = ice->ctx;
    if (ice_mux_default() && (ice->child = chorus_ctx_mux_child_new(ice->ctx)) != NULL)
        ice->agent_ctx = chorus_ctx_child_context(ice->child);
    ice->source_mark = chorus_gsource_mark(ice->agent_ctx);
    ice->agent = nice_agent_new_full(ice->agent_ctx, NICE_COMPATIBILITY_RFC5245, opts);
    if (!ice->agent)
        return FALSE;
    g_object_set(ice->agent, "controlling-mode", ice->controlling, "ice-udp", TRUE, "ice-tcp",
                 ice->tcp, "upnp", FALSE, NULL);
    ice->stream_id = nice_agent_add_stream(ice->agent, 1);
    if (ice->stream_id == 0)
        return FALSE;
    if (ice->port_min > 0)
        nice_agent_set_port_range(ice->agent, ice->stream_id, ICE_COMPONENT, ice->port_min,
                                  ice->port_max);
    if (!ice_refresh_local_credentials(ice))
        return FALSE;
    ice_connect_signals(ice);
    return nice_agent_attach_recv(ice->agent, ice->stream_id, ICE_COMPONENT, ice->agent_ctx,
                                  ice_on_recv, ice);
}

ChorusIce *chorus_ice_new(GMainContext *ctx, const ChorusIceConfig *cfg,
                          const ChorusIceCallbacks *cb, void *user)
{
    g_return_val_if_fail(ctx != NULL && cfg != NULL, NULL);

    ChorusIce *ice = g_new0(ChorusIce, 1);
    ice->ctx = ctx;
    if (cb)
        ice->cb = *cb;
    ice->user = user;
    ice->state = CHORUS_ICE_NEW;
    ice->direct_enabled = ice_direct_default();
    ice->direct_fd = -1;
    ice->nice_state = NICE_COMPONENT_STATE_DISCONNECTED;
    ice->queued = g_ptr_array_new_with_free_func((GDestroyNotify)nice_candidate_free);
    ice_copy_config(ice, cfg);
    if (!ice_setup_agent(ice)) {
        LOG_E(TAG, "cannot create the libnice agent");
        ice->closing = TRUE;
        ice_destroy(ice, FALSE);
        return NULL;
    }
    LOG_V(TAG, "[%s] agent created (tcp %d, loopback %d, ipv6 %d, timeout %us)", ice->local_ufrag,
          ice->tcp, ice->loopback, ice->ipv6, ice->timeout_s);
    return ice;
}

static gboolean ice_idle_noop(gpointer data)
{
    return G_SOURCE_REMOVE;
}

/* The agent and the child context it runs on, released in that order. */
typedef struct {
    NiceAgent *agent;
    ChorusCtxChild *child;
} IceAgentHold;

static void ice_hold_release(gpointer data)
{
    IceAgentHold *h = data;
    if (h->agent)
        g_object_unref(h->agent); /* closes its sockets: their sources leave the child */
    chorus_ctx_child_unref(h->child);
    g_free(h);
}

static void ice_closed(GObject *agent, GAsyncResult *res, gpointer data)
{
    g_task_propagate_boolean(G_TASK(res), NULL); /* libnice's close result is a GTask */
    chorus_ctx_child_unref(data);                /* the TURN clean-up ran on the child until now */
}

/* Drops our agent reference and then the child context. Inside a libnice emission the
 * agent is still on the stack, so both wait for an idle on the worker context. */
static void ice_release_agent(ChorusIce *ice, gboolean in_emission)
{
    IceAgentHold *h = g_new0(IceAgentHold, 1);
    h->agent = ice->agent;
    h->child = ice->child;
    ice->agent = NULL;
    ice->child = NULL;
    if (h->agent && ice->server_host[ICE_SERVER_TURN] && ice->gather_started) {
        /* Releases TURN allocations; the task holds the agent (and a reference on the
         * child, which runs it) until done; the callback comes on ctx. */
        g_main_context_push_thread_default(ice->ctx);
        nice_agent_close_async(h->agent, ice_closed,
                               h->child ? chorus_ctx_child_ref(h->child) : NULL);
        g_main_context_pop_thread_default(ice->ctx);
    }
    if (in_emission && h->agent) {
        GSource *idle = g_idle_source_new();
        g_source_set_callback(idle, ice_idle_noop, h, ice_hold_release);
        g_source_attach(idle, ice->ctx);
        g_source_unref(idle);
    } else {
        ice_hold_release(h);
    }
}

static void ice_destroy(ChorusIce *ice, gboolean in_emission)
{
    ice_direct_clear(ice); /* before the agent (and its sockets) can go */
    for (int i = 0; i < ICE_SERVERS; i++) {
        g_free(ice->server_host[i]);
        g_free(ice->server_ip[i]);
    }
    ice_release_agent(ice, in_emission);
    g_ptr_array_unref(ice->queued);
    g_strfreev(ice->interfaces);
    g_free(ice->turn_user);
    g_free(ice->turn_password);
    g_free(ice->local_ufrag);
    g_free(ice->local_pwd);
    g_free(ice);
}

void chorus_ice_free(ChorusIce *ice)
{
    if (!ice || ice->closing)
        return;
    LOG_V(TAG, "[%s] closing", ice->local_ufrag);
    ice->closing = TRUE;
    ice->state = CHORUS_ICE_CLOSED;
    ice_direct_clear(ice);
    ice_disarm_timer(ice);
    for (int i = 0; i < ICE_SERVERS; i++) {
        if (ice->resolve[i]) { /* the lookup finishes on its own and sees ice == NULL */
            ice->resolve[i]->ice = NULL;
            g_cancellable_cancel(ice->resolve[i]->cancel);
            ice->resolve[i] = NULL;
        }
    }
    if (ice->agent) {
        nice_agent_attach_recv(ice->agent, ice->stream_id, ICE_COMPONENT, ice->agent_ctx, NULL,
                               NULL);
        g_signal_handlers_disconnect_by_data(ice->agent, ice);
    }
    if (ice->depth > 0) {
        ice->free_pending = TRUE; /* the outermost ice_leave finishes */
        return;
    }
    ice_destroy(ice, FALSE);
}

/* ---- local addresses -------------------------------------------------------------- */

static gboolean ice_is_loopback(const struct ifaddrs *ifa)
{
    if (ifa->ifa_flags & IFF_LOOPBACK)
        return TRUE;
    if (ifa->ifa_addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)ifa->ifa_addr;
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)ifa->ifa_addr;
    return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

/* Loopback addresses follow cfg->loopback alone (they are offered "too"); the allow-list,
 * when set, names the other interfaces or addresses that may carry host candidates. */
static gboolean ice_address_allowed(const ChorusIce *ice, const struct ifaddrs *ifa, const char *ip)
{
    int family = ifa->ifa_addr->sa_family;

    if (family != AF_INET && family != AF_INET6)
        return FALSE;
    if (!(ifa->ifa_flags & IFF_UP))
        return FALSE;
    if (family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)ifa->ifa_addr;
        if (!ice->ipv6 || IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr) ||
            IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
            return FALSE;
    }
    if (ice_is_loopback(ifa))
        return ice->loopback;
    if (!ice->interfaces || !ice->interfaces[0])
        return TRUE;
    for (char **p = ice->interfaces; *p; p++) {
        if (strcmp(*p, ifa->ifa_name) == 0 || strcmp(*p, ip) == 0)
            return TRUE;
    }
    return FALSE;
}

/* Adds the allowed local addresses of one kind (loopback or not) to the agent. */
static guint ice_add_addresses_of(ChorusIce *ice, struct ifaddrs *ifs, GHashTable *seen,
                                  gboolean loopback)
{
    guint added = 0;
    for (const struct ifaddrs *ifa = ifs; ifa; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr ||
            (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6) ||
            ice_is_loopback(ifa) != loopback)
            continue;
        NiceAddress addr;
        char ip[NICE_ADDRESS_STRING_LEN];
        nice_address_init(&addr);
        nice_address_set_from_sockaddr(&addr, ifa->ifa_addr);
        if (!nice_address_is_valid(&addr))
            continue;
        nice_address_to_string(&addr, ip);
        if (!ice_address_allowed(ice, ifa, ip) || g_hash_table_contains(seen, ip))
            continue;
        nice_address_set_port(&addr, 0);
        if (nice_agent_add_local_address(ice->agent, &addr)) {
            g_hash_table_add(seen, g_strdup(ip));
            LOG_D(TAG, "[%s] local address %s (%s)", ice->local_ufrag, ip, ifa->ifa_name);
            added++;
        }
    }
    return added;
}

/* Adds the allowed local addresses to the agent; returns how many. Loopback goes last:
 * libnice prefers addresses added first, and a remote client must not be steered to
 * 127.0.0.1 ahead of a real interface. */
static guint ice_add_local_addresses(ChorusIce *ice)
{
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) != 0) {
        LOG_E(TAG, "getifaddrs: %s", g_strerror(errno));
        return 0;
    }
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    guint added = ice_add_addresses_of(ice, ifs, seen, FALSE);
    added += ice_add_addresses_of(ice, ifs, seen, TRUE);
    freeifaddrs(ifs);
    g_hash_table_unref(seen);
    return added;
}

/* ---- gathering, STUN/TURN --------------------------------------------------------- */

static void ice_configure_servers(ChorusIce *ice)
{
    const char *stun = ice->server_ip[ICE_SERVER_STUN];
    const char *turn = ice->server_ip[ICE_SERVER_TURN];

    if (stun) {
        g_object_set(ice->agent, "stun-server", stun, "stun-server-port",
                     ice->server_port[ICE_SERVER_STUN], NULL);
        LOG_V(TAG, "[%s] STUN %s:%u", ice->local_ufrag, stun, ice->server_port[ICE_SERVER_STUN]);
    }
    if (turn) {
        if (!nice_agent_set_relay_info(ice->agent, ice->stream_id, ICE_COMPONENT, turn,
                                       ice->server_port[ICE_SERVER_TURN], ice->turn_user,
                                       ice->turn_password, ice->turn_type))
            LOG_W(TAG, "[%s] TURN server %s refused by libnice", ice->local_ufrag, turn);
        else
            LOG_V(TAG, "[%s] TURN %s:%u", ice->local_ufrag, turn,
                  ice->server_port[ICE_SERVER_TURN]);
    }
}

/* Starts libnice's gathering; candidates may be reported before this returns. */
static gboolean ice_start_gathering(ChorusIce *ice)
{
    ice_configure_servers(ice);
    ice_enter(ice);
    gboolean ok = nice_agent_gather_candidates(ice->agent, ice->stream_id);
    if (!ice_leave(ice))
        return TRUE; /* freed by a callback: nothing left to report */
    if (!ok)
        LOG_E(TAG, "[%s] libnice could not gather candidates", ice->local_ufrag);
    return ok;
}

static void ice_resolved(GObject *source, GAsyncResult *res, gpointer data)
{
    ChorusIceResolve *req = data;
    ChorusIce *ice = req->ice;
    GError *error = NULL;
    GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(source), res, &error);

    if (ice) {
        ice->resolve[req->which] = NULL;
        if (addrs)
            ice->server_ip[req->which] = g_inet_address_to_string(addrs->data);
        else
            LOG_W(TAG, "[%s] cannot resolve %s: %s", ice->local_ufrag, ice->server_host[req->which],
                  error ? error->message : "no address");
        if (--ice->resolving == 0 && !ice_start_gathering(ice)) {
            ice_enter(ice);
            ice_set_state(ice, CHORUS_ICE_FAILED, "ICE gathering failed");
            ice_leave(ice);
        }
    }
    g_resolver_free_addresses(addrs);
    g_clear_error(&error);
    g_object_unref(req->cancel);
    g_free(req);
}

/* Looks up a STUN/TURN host name on the worker context (never blocks the worker). */
static void ice_resolve_server(ChorusIce *ice, int which)
{
    ChorusIceResolve *req = g_new0(ChorusIceResolve, 1);
    GResolver *resolver = g_resolver_get_default();

    req->ice = ice;
    req->which = which;
    req->cancel = g_cancellable_new();
    ice->resolve[which] = req;
    ice->resolving++;
    g_main_context_push_thread_default(ice->ctx);
    g_resolver_lookup_by_name_async(resolver, ice->server_host[which], req->cancel, ice_resolved,
                                    req);
    g_main_context_pop_thread_default(ice->ctx);
    g_object_unref(resolver);
}

gboolean chorus_ice_gather(ChorusIce *ice, GError **error)
{
    g_return_val_if_fail(ice != NULL && !ice->closing, FALSE);
    if (ice->gather_started)
        return TRUE;
    if (ice_add_local_addresses(ice) == 0) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_NO_ADDRESS,
                    "no local address matches the ICE interface settings");
        return FALSE;
    }
    ice->gather_started = TRUE;
    for (int i = 0; i < ICE_SERVERS; i++) {
        const char *host = ice->server_host[i];
        if (!host)
            continue;
        if (g_hostname_is_ip_address(host))
            ice->server_ip[i] = g_strdup(host);
        else
            ice_resolve_server(ice, i);
    }
    if (ice->resolving > 0)
        return TRUE; /* ice_resolved starts gathering */
    if (!ice_start_gathering(ice)) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_FAILED,
                    "libnice could not gather candidates");
        return FALSE;
    }
    return TRUE;
}

gboolean chorus_ice_gathering_done(ChorusIce *ice)
{
    return ice && ice->gathering_done;
}

char **chorus_ice_local_candidates(ChorusIce *ice)
{
    GPtrArray *out = g_ptr_array_new();

    if (ice && ice->agent && !ice->closing) {
        GSList *cands = nice_agent_get_local_candidates(ice->agent, ice->stream_id, ICE_COMPONENT);
        for (GSList *l = cands; l; l = l->next) {
            NiceCandidate *c = l->data;
            if (c->type == NICE_CANDIDATE_TYPE_PEER_REFLEXIVE)
                continue;
            char *sdp = ice_candidate_sdp(ice->agent, c);
            if (sdp)
                g_ptr_array_add(out, sdp);
        }
        g_slist_free_full(cands, (GDestroyNotify)nice_candidate_free);
    }
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

const char *chorus_ice_local_ufrag(ChorusIce *ice)
{
    return ice ? ice->local_ufrag : NULL;
}

const char *chorus_ice_local_pwd(ChorusIce *ice)
{
    return ice ? ice->local_pwd : NULL;
}

/* ---- remote side ------------------------------------------------------------------ */

/* Hands candidates to libnice: the number it took (negative: refused). *alive is FALSE if
 * the ChorusIce was freed by a callback meanwhile. */
static int ice_apply_remote(ChorusIce *ice, GSList *cands, gboolean *alive)
{
    ice_enter(ice);
    int n = nice_agent_set_remote_candidates(ice->agent, ice->stream_id, ICE_COMPONENT, cands);
    if (n < 0)
        LOG_W(TAG, "[%s] libnice refused remote candidates", ice->local_ufrag);
    *alive = ice_leave(ice);
    return n;
}

static gboolean ice_flush_queue(ChorusIce *ice)
{
    GSList *cands = NULL;

    if (ice->queued->len == 0)
        return TRUE;
    for (guint i = ice->queued->len; i > 0; i--)
        cands = g_slist_prepend(cands, g_ptr_array_index(ice->queued, i - 1));
    LOG_V(TAG, "[%s] applying %u queued remote candidates", ice->local_ufrag, ice->queued->len);
    /* The queue keeps owning the candidates while libnice copies them. */
    GPtrArray *queued = g_ptr_array_ref(ice->queued);
    gboolean alive = TRUE;
    ice_apply_remote(ice, cands, &alive);
    g_slist_free(cands);
    g_ptr_array_set_size(queued, 0);
    g_ptr_array_unref(queued);
    return alive;
}

static void ice_peer_done(ChorusIce *ice)
{
    ice_enter(ice);
    nice_agent_peer_candidate_gathering_done(ice->agent, ice->stream_id);
    ice_leave(ice);
}

gboolean chorus_ice_set_remote_credentials(ChorusIce *ice, const char *ufrag, const char *pwd,
                                           GError **error)
{
    g_return_val_if_fail(ice != NULL && !ice->closing, FALSE);
    if (!ufrag || !pwd || !*ufrag || !*pwd || strlen(ufrag) > 256 || strlen(pwd) > 256 ||
        !nice_agent_set_remote_credentials(ice->agent, ice->stream_id, ufrag, pwd)) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID,
                    "invalid remote ICE credentials");
        return FALSE;
    }
    LOG_V(TAG, "[%s] remote ufrag %s", ice->local_ufrag, ufrag);
    ice->remote_creds = TRUE;
    ice_enter(ice);
    if (ice->state == CHORUS_ICE_NEW) {
        ice_set_state(ice, CHORUS_ICE_CHECKING, NULL);
        ice_arm_timer(ice, ICE_REASON_TIMEOUT, ice->timeout_s * 1000u);
    }
    if (!ice->closing && ice_flush_queue(ice) && ice->remote_done) {
        ice->remote_done = FALSE;
        ice_peer_done(ice);
    }
    ice_leave(ice);
    return TRUE;
}

/* Normalizes "a=candidate:...", "candidate:..." or the bare value, with or without CRLF,
 * into the "a=candidate:..." form libnice parses. NULL if empty or too long. */
static char *ice_normalize_candidate(const char *in)
{
    while (*in == ' ' || *in == '\t')
        in++;
    if (g_str_has_prefix(in, "a="))
        in += 2;
    if (g_str_has_prefix(in, "candidate:"))
        in += strlen("candidate:");
    size_t n = strlen(in);
    while (n > 0 && (in[n - 1] == '\r' || in[n - 1] == '\n' || in[n - 1] == ' '))
        n--;
    if (n == 0 || n > ICE_MAX_CANDIDATE || memchr(in, '\n', n) || memchr(in, '\r', n))
        return NULL;
    return g_strdup_printf("a=candidate:%.*s", (int)n, in);
}

/* TRUE when the attributes after the port carry "tcptype active|passive|so". */
static gboolean ice_has_tcptype(const char *rest)
{
    char **a = g_strsplit(rest, " ", -1);
    gboolean ok = FALSE;
    for (guint i = 0; a[i] != NULL && a[i + 1] != NULL && !ok; i++)
        ok = strcmp(a[i], "tcptype") == 0 &&
             (strcmp(a[i + 1], "active") == 0 || strcmp(a[i + 1], "passive") == 0 ||
              strcmp(a[i + 1], "so") == 0);
    g_strfreev(a);
    return ok;
}

/* Rejects what Chorus does not use (mDNS host names, RTCP (component 2) candidates)
 * and what libnice cannot take safely: a TCP candidate without its tcptype makes
 * libnice assert (found by fuzzing). */
static gboolean ice_check_candidate_fields(const char *line, GError **error)
{
    char **f = g_strsplit(line + strlen("a=candidate:"), " ", 7);
    gboolean ok = FALSE;

    if (g_strv_length(f) < 7) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID, "malformed candidate");
    } else if (g_ascii_strcasecmp(f[2], "tcp") == 0 && !ice_has_tcptype(f[6])) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID,
                    "TCP candidate without a valid tcptype");
    } else if (g_str_has_suffix(f[4], ".local")) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_IGNORED,
                    "mDNS candidate ignored (%s is not resolvable here)", f[4]);
    } else if (strcmp(f[1], "1") != 0) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_IGNORED,
                    "candidate for component %s ignored (rtcp-mux: one component)", f[1]);
    } else {
        ok = TRUE;
    }
    g_strfreev(f);
    return ok;
}

static NiceCandidate *ice_parse_candidate(ChorusIce *ice, const char *candidate, GError **error)
{
    char *line = candidate ? ice_normalize_candidate(candidate) : NULL;
    NiceCandidate *cand = NULL;

    if (!line) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID,
                    "empty or oversized "
                    "candidate");
        return NULL;
    }
    if (ice_check_candidate_fields(line, error)) {
        cand = nice_agent_parse_remote_candidate_sdp(ice->agent, ice->stream_id, line);
        if (!cand)
            g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID,
                        "unparsable candidate: %s", line + 2);
        else
            LOG_D(TAG, "[%s] remote %s", ice->local_ufrag, line + 2);
    }
    g_free(line);
    return cand;
}

gboolean chorus_ice_add_remote_candidate(ChorusIce *ice, const char *candidate, GError **error)
{
    g_return_val_if_fail(ice != NULL && !ice->closing, FALSE);
    NiceCandidate *cand = ice_parse_candidate(ice, candidate, error);
    if (!cand)
        return FALSE;
    if (!ice->remote_creds) {
        if (ice->queued->len >= ICE_MAX_QUEUED) {
            nice_candidate_free(cand);
            g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_INVALID,
                        "too many candidates before the ICE credentials");
            return FALSE;
        }
        g_ptr_array_add(ice->queued, cand); /* trickle raced the offer */
        return TRUE;
    }
    GSList one = {.data = cand, .next = NULL};
    gboolean alive = TRUE;
    int n = ice_apply_remote(ice, &one, &alive);
    nice_candidate_free(cand);
    if (n < 0) {
        g_set_error(error, CHORUS_ICE_ERROR, CHORUS_ICE_ERROR_FAILED,
                    "libnice refused the remote candidate");
        return FALSE;
    }
    return TRUE;
}

void chorus_ice_remote_gathering_done(ChorusIce *ice)
{
    g_return_if_fail(ice != NULL && !ice->closing);
    LOG_V(TAG, "[%s] remote end-of-candidates", ice->local_ufrag);
    if (!ice->remote_creds) {
        ice->remote_done = TRUE;
        return;
    }
    ice_peer_done(ice);
}

guint chorus_ice_queued_remote_candidates(ChorusIce *ice)
{
    return ice ? ice->queued->len : 0;
}

void chorus_ice_restart(ChorusIce *ice)
{
    g_return_if_fail(ice != NULL && !ice->closing);
    /* libnice keeps its sockets across a restart, but the pair may change: send through
     * libnice until it selects one again (new-selected-pair or READY refreshes). */
    ice_direct_clear(ice);
    ice_enter(ice);
    if (!nice_agent_restart_stream(ice->agent, ice->stream_id))
        LOG_W(TAG, "[%s] libnice refused the ICE restart", ice->local_ufrag);
    if (ice->closing) {
        ice_leave(ice);
        return;
    }
    char *old = g_strdup(ice->local_ufrag);
    ice_refresh_local_credentials(ice);
    LOG_I(TAG, "[%s] ICE restart: local ufrag now %s", old, ice->local_ufrag);
    g_free(old);
    ice->remote_creds = FALSE;
    ice->remote_done = FALSE;
    g_ptr_array_set_size(ice->queued, 0);
    if (ice->state != CHORUS_ICE_CONNECTED) {
        ice->state = CHORUS_ICE_NEW; /* CHECKING again once the new credentials come */
        ice_disarm_timer(ice);
    }
    ice_leave(ice);
}

GMainContext *chorus_ice_agent_context(ChorusIce *ice)
{
    return ice->agent_ctx;
}

ChorusIceState chorus_ice_state(ChorusIce *ice)
{
    return ice ? ice->state : CHORUS_ICE_CLOSED;
}

/* "a.b.c.d:port", or "[v6]:port" for IPv6. */
static void ice_format_address(const NiceAddress *addr, char *out, size_t size)
{
    char ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(addr, ip);
    if (nice_address_ip_version(addr) == 6)
        g_snprintf(out, size, "[%s]:%u", ip, nice_address_get_port(addr));
    else
        g_snprintf(out, size, "%s:%u", ip, nice_address_get_port(addr));
}

char *chorus_ice_selected_pair(ChorusIce *ice)
{
    NiceCandidate *l = NULL, *r = NULL;
    char la[NICE_ADDRESS_STRING_LEN + 8], ra[NICE_ADDRESS_STRING_LEN + 8];

    if (!ice || !ice->agent || ice->closing ||
        !nice_agent_get_selected_pair(ice->agent, ice->stream_id, ICE_COMPONENT, &l, &r) || !l ||
        !r)
        return NULL;
    ice_format_address(&l->addr, la, sizeof la);
    ice_format_address(&r->addr, ra, sizeof ra);
    return g_strdup_printf("%s %s <-> %s %s", nice_candidate_type_to_string(l->type), la,
                           nice_candidate_type_to_string(r->type), ra);
}

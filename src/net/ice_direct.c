/* The direct path of a ChorusIce: once a plain UDP pair is selected, datagrams go out
 * with sendto (or an io_uring batch, net/udp_batch.h) on libnice's socket, and media
 * comes in through a ctxmux descriptor hook that reads the socket itself, instead of
 * through nice_agent_send and libnice's GLib source, its lock and its per-packet
 * allocation.
 *
 * The cache (a reference on libnice's GSocket, its fd, the remote sockaddr) is filled
 * only while our state is CONNECTED and libnice's component is CONNECTED/READY, from the
 * current selected pair (ice_direct_refresh), and emptied (ice_direct_clear) on every
 * other component state, on FAILED, restart and free. libnice owns the socket and closes
 * it (stream removal, agent finalization, close_async); our reference keeps only the
 * GObject alive, so a send also checks g_socket_is_closed() before touching the fd: a
 * closed (and possibly reused) descriptor is never written to.
 *
 * Receiving: the hook peeks at the next datagram (MSG_PEEK | MSG_TRUNC: first byte,
 * length, sender) and reads it only when it is DTLS or RTP/RTCP (RFC 7983: first byte
 * 20..63 or 128..191) from the selected remote address; anything else (STUN checks and
 * consent, other senders, oversized datagrams) is left in the socket for libnice, whose
 * source then runs as usual. libnice checks a data sender against its valid remote
 * candidates; the selected remote is one. */
#include "net/ice_priv.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "net/gsource.h"
#include "net/udp_batch.h"

#define ICE_FAST_BURST  16   /* datagrams read per readiness event; the rest wait a round */
#define ICE_FAST_MAXLEN 4096 /* larger ones (never RTP here) are left to libnice */

static gboolean ice_fast_recv(int fd, gpointer user);

/* The kernel stamps each datagram with its receive time (read by ice_read). */
static void ice_ask_rx_timestamps(int fd)
{
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
}

/* CHORUS_ICE_DIRECT=0 in the environment turns the direct path off for every agent;
 * CHORUS_ICE_MUX=0 runs every agent on the caller's context itself (no ctxmux child). */
static gboolean direct_default_enabled = TRUE, mux_default_enabled = TRUE;

static void ice_env_defaults_init(void)
{
    const char *v = g_getenv("CHORUS_ICE_DIRECT");
    direct_default_enabled = !(v && strcmp(v, "0") == 0);
    v = g_getenv("CHORUS_ICE_MUX");
    mux_default_enabled = !(v && strcmp(v, "0") == 0);
}

/* pthread_once rather than g_once: ThreadSanitizer sees its ordering. */
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

gboolean ice_direct_default(void)
{
    pthread_once(&env_once, ice_env_defaults_init);
    return direct_default_enabled;
}

gboolean ice_mux_default(void)
{
    pthread_once(&env_once, ice_env_defaults_init);
    return mux_default_enabled;
}

/* Forgets the cached socket: sends go through libnice until the next refresh. */
void ice_direct_clear(ChorusIce *ice)
{
    if (ice->direct_sock) {
        /* Datagrams queued for this socket leave before libnice may close it (and the
         * descriptor's number go to another socket). */
        chorus_udp_batch_flush();
        g_object_unref(ice->direct_sock); /* libnice's own reference keeps it open */
        ice->direct_sock = NULL;
    }
    ice->direct_fd = -1;
    if (ice->child)
        chorus_ctx_child_set_fd_hook(ice->child, -1, NULL, NULL);
}

gboolean ice_nice_connected(NiceComponentState s)
{
    return s == NICE_COMPONENT_STATE_CONNECTED || s == NICE_COMPONENT_STATE_READY;
}

/* TRUE if sock is bound to the local candidate's base address. It is not for a
 * peer-reflexive candidate learnt through a TURN relay: libnice gives that candidate the
 * relay's NiceSocket (its base_addr is the relayed address), whose GSocket is the plain
 * UDP socket towards the TURN server, and nice_agent_get_selected_socket returns it since
 * the candidate's type is not "relayed"; data must be wrapped by libnice there. */
static gboolean ice_socket_is_base(GSocket *sock, const NiceCandidate *l)
{
    GSocketAddress *ga = g_socket_get_local_address(sock, NULL);
    struct sockaddr_storage ss;
    NiceAddress local;
    gboolean ok = FALSE;

    if (ga && g_socket_address_to_native(ga, &ss, sizeof ss, NULL)) {
        nice_address_init(&local);
        nice_address_set_from_sockaddr(&local, (const struct sockaddr *)&ss);
        ok = nice_address_equal(&local, &l->base_addr);
    }
    if (ga)
        g_object_unref(ga);
    return ok;
}

/* GLib blocks a source while it dispatches and unblocks it afterwards, and unblocking a
 * source that polls file descriptors signals the context's wakeup fd: every dispatch of
 * a socket source costs the worker one more loop iteration (a poll over every fd and a
 * walk over every source). libnice's socket callbacks never iterate the context again, so
 * once the pair is chosen the agent's socket sources (the ids above the mark taken when
 * it was created) are marked can-recurse, which skips the block and unblock. */
static void ice_socket_recursable(GSource *src, gpointer user)
{
    if (chorus_gsource_is_socket(src) && !g_source_get_can_recurse(src))
        g_source_set_can_recurse(src, TRUE);
}

/* Re-reads the selected pair: caches libnice's socket and the remote address when the
 * pair is plain UDP from a host, server- or peer-reflexive candidate whose base is that
 * socket (a relayed or TCP pair needs libnice's framing); leaves the cache empty
 * otherwise. The getters used here emit no signal, so no callback runs meanwhile. */
void ice_direct_refresh(ChorusIce *ice)
{
    NiceCandidate *l = NULL, *r = NULL;

    ice_direct_clear(ice);
    if (!ice->direct_enabled || ice->closing || !ice->agent || ice->state != CHORUS_ICE_CONNECTED ||
        !ice_nice_connected(ice->nice_state))
        return;
    if (!nice_agent_get_selected_pair(ice->agent, ice->stream_id, ICE_COMPONENT, &l, &r) || !l ||
        !r || l->transport != NICE_CANDIDATE_TRANSPORT_UDP ||
        l->type == NICE_CANDIDATE_TYPE_RELAYED)
        return;
    int family = nice_address_ip_version(&r->addr) == 6 ? AF_INET6 : AF_INET;
    memset(&ice->direct_addr, 0, sizeof ice->direct_addr);
    nice_address_copy_to_sockaddr(&r->addr, &ice->direct_addr.sa);
    if (ice->direct_addr.sa.sa_family != family)
        return;
    GSocket *sock = nice_agent_get_selected_socket(ice->agent, ice->stream_id, ICE_COMPONENT);
    if (!sock)
        return; /* relayed or TCP after all, or no socket: libnice sends */
    int fd = g_socket_get_fd(sock);
    if (fd < 0 || g_socket_is_closed(sock) ||
        (family == AF_INET ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6) !=
            g_socket_get_family(sock) ||
        !ice_socket_is_base(sock, l)) {
        g_object_unref(sock);
        return;
    }
    ice->direct_addr_len =
        family == AF_INET6 ? sizeof ice->direct_addr.in6 : sizeof ice->direct_addr.in4;
    ice->direct_sock = sock; /* transfer full: released by ice_direct_clear */
    chorus_gsource_foreach(ice->agent_ctx, ice->source_mark, ice_socket_recursable, NULL);
    ice->direct_fd = fd;
    if (ice->child)
        chorus_ctx_child_set_fd_hook(ice->child, fd, ice_fast_recv, ice);
    if (ice->rx_timestamps)
        ice_ask_rx_timestamps(fd);
}

/* ---- sending ------------------------------------------------------------------------ */

int chorus_ice_send(ChorusIce *ice, const uint8_t *buf, size_t len)
{
    if (G_UNLIKELY(!ice || ice->state != CHORUS_ICE_CONNECTED || len > G_MAXINT))
        return -1;
    if (G_LIKELY(ice->direct_sock != NULL)) {
        if (G_LIKELY(!g_socket_is_closed(ice->direct_sock))) {
            /* Queued when a batch is open (inside ice_on_recv), else sent at once. */
            if (G_UNLIKELY(chorus_udp_batch_send(ice->direct_fd, buf, len, &ice->direct_addr.sa,
                                                 ice->direct_addr_len) < 0))
                return -1; /* errno from sendto; EAGAIN: buffer full, dropped */
            ice->direct_sends++;
            return (int)len;
        }
        /* libnice closed it: never touch that fd again, not even with what is queued. */
        chorus_udp_batch_forget(ice->direct_fd);
        ice_direct_clear(ice);
    }
    gint n =
        nice_agent_send(ice->agent, ice->stream_id, ICE_COMPONENT, (guint)len, (const gchar *)buf);
    if (n < 0)
        return -1;
    ice->fallback_sends++;
    return n;
}

void chorus_ice_set_direct_send(ChorusIce *ice, gboolean enabled)
{
    g_return_if_fail(ice != NULL);
    ice->direct_enabled = enabled;
    if (enabled)
        ice_direct_refresh(ice);
    else
        ice_direct_clear(ice);
}

gboolean chorus_ice_direct_active(ChorusIce *ice)
{
    return ice && ice->state == CHORUS_ICE_CONNECTED && ice->direct_sock &&
           !g_socket_is_closed(ice->direct_sock);
}

guint64 chorus_ice_direct_sends(ChorusIce *ice)
{
    return ice ? ice->direct_sends : 0;
}

guint64 chorus_ice_fallback_sends(ChorusIce *ice)
{
    return ice ? ice->fallback_sends : 0;
}

/* ---- receiving ---------------------------------------------------------------------- */

static gboolean ice_is_direct_peer(const ChorusIce *ice, const struct sockaddr_storage *from)
{
    const struct sockaddr *a = (const struct sockaddr *)(const void *)from;
    if (a->sa_family != ice->direct_addr.sa.sa_family)
        return FALSE;
    if (a->sa_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)(const void *)from;
        return x->sin_port == ice->direct_addr.in4.sin_port &&
               x->sin_addr.s_addr == ice->direct_addr.in4.sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)(const void *)from;
    return x->sin6_port == ice->direct_addr.in6.sin6_port &&
           memcmp(&x->sin6_addr, &ice->direct_addr.in6.sin6_addr, sizeof x->sin6_addr) == 0;
}

/* RFC 7983: DTLS (20..63) or RTP/RTCP (128..191); STUN (0..3) and the rest: libnice. */
static gboolean ice_is_media_byte(uint8_t b)
{
    return (b >= 20 && b <= 63) || (b >= 128 && b <= 191);
}

/* Reads the next datagram; with rx_timestamps, also the kernel's receive time. */
static ssize_t ice_read(ChorusIce *ice, int fd, uint8_t *buf, size_t cap)
{
    if (!ice->rx_timestamps)
        return recv(fd, buf, cap, MSG_DONTWAIT);
    union {
        char buf[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
    ice->rx_walltime_us = 0;
    for (struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            ice->rx_walltime_us = (gint64)ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
        }
    }
    return n;
}

/* The ctxmux hook on the selected socket (see the top of this file). TRUE when the
 * datagrams there were read (or there are none), FALSE to let libnice's source run. */
static gboolean ice_fast_recv(int fd, gpointer user)
{
    static __thread uint8_t buf[ICE_FAST_MAXLEN];
    ChorusIce *ice = user;

    if (!ice->direct_sock || g_socket_is_closed(ice->direct_sock))
        return FALSE; /* libnice closed it (the number may be another socket's now) */
    for (int i = 0; i < ICE_FAST_BURST; i++) {
        struct sockaddr_storage from;
        socklen_t fromlen = sizeof from;
        uint8_t head;
        ssize_t n = recvfrom(fd, &head, 1, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT,
                             (struct sockaddr *)&from, &fromlen);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK; /* errors: libnice's to see */
        if (n == 0 || n > ICE_FAST_MAXLEN || !ice_is_media_byte(head) ||
            !ice_is_direct_peer(ice, &from))
            return FALSE;
        n = ice_read(ice, fd, buf, sizeof buf);
        if (n <= 0)
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
        ice->fast_recvs++;
        if (!ice_deliver(ice, buf, (size_t)n) || ice->direct_fd != fd)
            return TRUE; /* freed, or the pair changed: the hook is gone or moved */
    }
    return TRUE;
}

void chorus_ice_set_rx_timestamps(ChorusIce *ice, gboolean enabled)
{
    g_return_if_fail(ice != NULL);
    ice->rx_timestamps = enabled;
    if (enabled && ice->direct_fd >= 0)
        ice_ask_rx_timestamps(ice->direct_fd);
}

gint64 chorus_ice_rx_walltime(ChorusIce *ice)
{
    return ice ? ice->rx_walltime_us : 0;
}

guint64 chorus_ice_fast_recvs(ChorusIce *ice)
{
    return ice ? ice->fast_recvs : 0;
}

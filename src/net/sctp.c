/* SCTP over DTLS (RFC 8261) on usrsctp in AF_CONN mode, with DCEP (RFC 8832) and the
 * data channel framing of RFC 8831.
 *
 * Threading model
 * ---------------
 * usrsctp calls conn_output() (a packet for the peer) and receive_cb() (a message or a
 * notification) either synchronously from inside usrsctp_conninput/usrsctp_sendv/...
 * on the caller's thread, or from the timer thread (ours, see "Timer thread" below:
 * usrsctp runs without threads of its own and expired timers run inside
 * usrsctp_handle_timers there). Neither callback touches
 * association state: each one copies what it got into one of two FIFOs under the
 * association's mutex (outgoing packets; incoming messages/notifications) and, when
 * the owner thread is not about to drain them itself, attaches an idle source to the
 * owner GMainContext. All DCEP/channel state lives on the owner thread, without locks.
 *
 * usrsctp sees each association through an opaque integer id (the AF_CONN address and
 * the socket's ulp_info), never a pointer: its callbacks look the id up in a global
 * registry under a mutex and take a reference, so a callback racing with
 * chorus_sctp_free either finds nothing or keeps the struct alive and sees 'closed'.
 *
 * Lifetime: refcounted. The creator owns one reference (dropped by chorus_sctp_free);
 * every public call, drain and pending idle source holds one while it runs. */
#include "net/sctp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <gio/gio.h>
#include <usrsctp.h>

#include "media/dcep.h"
#include "util/log.h"
#include "util/mutex.h"

#define TAG "sctp"

/* usrsctp buffers: large enough for a default-sized (256 KiB) message in one send. */
#define SCTP_BUFFER_SPACE (1024 * 1024)
/* The SCTP packet must fit a DTLS record in a ~1280-byte UDP datagram (RFC 8261). */
#define SCTP_PATH_MTU 1200

typedef enum {
    CH_PENDING, /* ours, OPEN not sent yet (association not up) */
    CH_OPENING, /* ours, OPEN sent, waiting for the ACK */
    CH_OPEN,
} ChannelState;

typedef struct {
    uint16_t stream;
    uint8_t type; /* CHORUS_DCEP_* */
    uint32_t reliability;
    ChannelState state;
    char *label;
    char *protocol;
} Channel;

typedef enum { ITEM_PACKET, ITEM_DATA, ITEM_NOTIFICATION, ITEM_EOF } ItemKind;

typedef struct Item {
    struct Item *next;
    ItemKind kind;
    uint16_t stream;
    uint32_t ppid; /* host order */
    int flags;
    size_t len;
    void *ext; /* DATA/NOTIFICATION: usrsctp's malloc()ed buffer, released with free() */
    uint8_t inline_data[]; /* PACKET: a copy */
} Item;

typedef struct {
    Item *head, *tail;
} ItemQueue;

struct ChorusSctp {
    gint refs;
    uintptr_t id; /* the usrsctp AF_CONN address and ulp_info */
    GMainContext *ctx;
    ChorusSctpCallbacks cb;
    void *user;
    uint16_t local_port, remote_port;
    size_t max_message;
    size_t remote_max;
    bool dtls_client;
    struct socket *sock; /* NULL once freed */

    /* Shared with usrsctp's threads: under lock. */
    ChorusMutex lock;
    ItemQueue out_q; /* packets for `send` */
    ItemQueue in_q;  /* messages and notifications */
    GSource *wakeup; /* attached idle source, or NULL */
    bool closed;
    GThread *api_thread; /* the owner thread while inside a public call or a drain */
    int api_depth;

    /* Owner thread only. */
    bool draining;
    bool up;
    bool down_reported;
    bool warned_big;
    uint16_t out_streams;
    GHashTable *channels; /* stream -> Channel* */
    GByteArray *rx;       /* partial-delivery reassembly */
    bool rx_active, rx_discard;
};

/* ---- Global state ------------------------------------------------------------------ */

static ChorusMutex global_lock = CHORUS_MUTEX_INIT; /* init/cleanup */
static bool global_up;
static ChorusMutex reg_lock = CHORUS_MUTEX_INIT; /* registry and next_id */
static GHashTable *registry;                     /* id -> ChorusSctp* (no reference held) */
static uintptr_t next_id = 1;

static ChorusSctp *sctp_ref(ChorusSctp *s)
{
    g_atomic_int_inc(&s->refs);
    return s;
}

static void item_free(Item *it)
{
    if (it->ext)
        free(it->ext); /* allocated by usrsctp */
    g_free(it);
}

static void queue_push(ItemQueue *q, Item *it)
{
    it->next = NULL;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
}

static Item *queue_pop(ItemQueue *q)
{
    Item *it = q->head;
    if (it) {
        q->head = it->next;
        if (!q->head)
            q->tail = NULL;
    }
    return it;
}

static void queue_clear(ItemQueue *q)
{
    Item *it;
    while ((it = queue_pop(q)))
        item_free(it);
}

static void channel_free(gpointer p)
{
    Channel *ch = p;
    g_free(ch->label);
    g_free(ch->protocol);
    g_free(ch);
}

static void sctp_destroy(ChorusSctp *s)
{
    queue_clear(&s->out_q);
    queue_clear(&s->in_q);
    g_hash_table_destroy(s->channels);
    g_byte_array_free(s->rx, TRUE);
    chorus_mutex_clear(&s->lock);
    g_main_context_unref(s->ctx);
    g_free(s);
}

static void sctp_unref(ChorusSctp *s)
{
    if (g_atomic_int_dec_and_test(&s->refs))
        sctp_destroy(s);
}

static void sctp_unref_notify(gpointer p)
{
    sctp_unref(p);
}

/* A live association by id, with a reference; NULL once freed. Any thread. */
static ChorusSctp *registry_get(void *addr)
{
    ChorusSctp *s = NULL;
    chorus_mutex_lock(&reg_lock);
    if (registry)
        s = g_hash_table_lookup(registry, addr);
    if (s)
        sctp_ref(s);
    chorus_mutex_unlock(&reg_lock);
    return s;
}

/* ---- Marshalling onto the owner context --------------------------------------------- */

static void drain(ChorusSctp *s, bool events);

static gboolean wakeup_cb(gpointer p)
{
    ChorusSctp *s = p;
    chorus_mutex_lock(&s->lock);
    GSource *src = s->wakeup;
    s->wakeup = NULL;
    chorus_mutex_unlock(&s->lock);
    if (src)
        g_source_unref(src);
    drain(s, true);
    return G_SOURCE_REMOVE;
}

/* Under s->lock. */
static void schedule_locked(ChorusSctp *s)
{
    if (s->wakeup || s->closed)
        return;
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, wakeup_cb, sctp_ref(s), sctp_unref_notify);
    g_source_set_static_name(src, "chorus-sctp");
    s->wakeup = src; /* keeps the creation reference */
    g_source_attach(src, s->ctx);
}

/* Any thread. Takes ownership of it. */
static void enqueue(ChorusSctp *s, Item *it, bool packet)
{
    chorus_mutex_lock(&s->lock);
    if (s->closed) {
        chorus_mutex_unlock(&s->lock);
        item_free(it);
        return;
    }
    queue_push(packet ? &s->out_q : &s->in_q, it);
    /* The owner thread drains (or schedules) before it leaves a public call. */
    if (!(s->api_depth > 0 && s->api_thread == g_thread_self()))
        schedule_locked(s);
    chorus_mutex_unlock(&s->lock);
}

static void api_enter(ChorusSctp *s)
{
    chorus_mutex_lock(&s->lock);
    if (s->api_depth++ == 0)
        s->api_thread = g_thread_self();
    chorus_mutex_unlock(&s->lock);
}

static void api_leave(ChorusSctp *s)
{
    chorus_mutex_lock(&s->lock);
    if (--s->api_depth == 0) {
        s->api_thread = NULL;
        if (s->out_q.head || s->in_q.head)
            schedule_locked(s); /* events left for the loop (or queued by a nested call) */
    }
    chorus_mutex_unlock(&s->lock);
}

/* ---- usrsctp callbacks (any thread; no association state touched) ------------------- */

static int conn_output(void *addr, void *buffer, size_t length, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    ChorusSctp *s = registry_get(addr);
    if (!s)
        return 0;
    Item *it = g_malloc(sizeof(Item) + length);
    memset(it, 0, sizeof(Item));
    it->kind = ITEM_PACKET;
    it->len = length;
    memcpy(it->inline_data, buffer, length);
    enqueue(s, it, true);
    sctp_unref(s);
    return 0;
}

static int receive_cb(struct socket *sock, union sctp_sockstore addr, void *data, size_t datalen,
                      struct sctp_rcvinfo rcv, int flags, void *ulp_info)
{
    (void)sock;
    (void)addr;
    ChorusSctp *s = registry_get(ulp_info);
    if (!s) {
        free(data);
        return 1;
    }
    Item *it = g_new0(Item, 1);
    if (!data)
        it->kind = ITEM_EOF;
    else if (flags & MSG_NOTIFICATION)
        it->kind = ITEM_NOTIFICATION;
    else
        it->kind = ITEM_DATA;
    it->stream = rcv.rcv_sid;
    it->ppid = ntohl(rcv.rcv_ppid);
    it->flags = flags;
    it->len = data ? datalen : 0;
    it->ext = data;
    enqueue(s, it, false);
    sctp_unref(s);
    return 1;
}

/* ---- Timer thread -------------------------------------------------------------------
 *
 * usrsctp is initialised with usrsctp_init_nothreads: its clock only advances when
 * somebody calls usrsctp_handle_timers. This thread (started by global init, joined by
 * global cleanup) does so every TIMER_TICK_MS with the time really elapsed (monotonic),
 * but only while at least one ChorusSctp exists (and TIMER_GRACE_MS after the last one
 * went, for usrsctp to free what it closed); otherwise it sleeps on timer_cond without a
 * timeout, so an idle server has no periodic wakeup. Expired usrsctp timers
 * (retransmissions, delayed SACKs, heartbeats, socket reaping) run on this thread, and
 * so do the conn_output()/receive_cb() calls they make: those only enqueue and
 * schedule, as for any foreign thread. Nothing else runs here. */

#define TIMER_TICK_MS 10
#define TIMER_GRACE_MS                                                                             \
    1000 /* ticks go on this long after the last association: usrsctp                              \
          * frees closed sockets and associations from its timers */

static ChorusMutex timer_lock = CHORUS_MUTEX_INIT; /* the timer_* state below */
static ChorusCond timer_cond = PTHREAD_COND_INITIALIZER;
static pthread_t timer_thread;
static bool timer_started;    /* the thread exists (global init .. cleanup) */
static bool timer_stop;       /* asks it to exit */
static unsigned timer_assocs; /* live ChorusSctp objects */
static gint64 timer_idle_us;  /* monotonic time timer_assocs last dropped to 0 */
static bool timer_ticking;    /* not parked on timer_cond */
static uint64_t timer_ticks;  /* usrsctp_handle_timers rounds, for tests */

static void *timer_main(void *arg)
{
    (void)arg;
    gint64 last = 0; /* monotonic time (us) usrsctp's clock has been advanced to */
    chorus_mutex_lock(&timer_lock);
    while (!timer_stop) {
        if (timer_assocs == 0 &&
            (!timer_ticking || g_get_monotonic_time() - timer_idle_us >= TIMER_GRACE_MS * 1000)) {
            timer_ticking = false;
            chorus_cond_wait(&timer_cond, &timer_lock);
            continue;
        }
        if (!timer_ticking) {
            /* Back from idle: the time spent parked is not handed to usrsctp at once
             * (nothing could run meanwhile); its clock resumes from now. */
            timer_ticking = true;
            last = g_get_monotonic_time();
        }
        chorus_mutex_unlock(&timer_lock);
        g_usleep(TIMER_TICK_MS * 1000);
        gint64 now = g_get_monotonic_time();
        uint32_t elapsed_ms = (uint32_t)((now - last) / 1000);
        last += (gint64)elapsed_ms * 1000; /* the sub-millisecond rest counts next time */
        if (elapsed_ms > 0)
            usrsctp_handle_timers(elapsed_ms);
        chorus_mutex_lock(&timer_lock);
        timer_ticks++;
    }
    timer_ticking = false;
    chorus_mutex_unlock(&timer_lock);
    return NULL;
}

/* Under global_lock. */
static bool timer_start(GError **error)
{
    chorus_mutex_lock(&timer_lock);
    timer_stop = false;
    chorus_mutex_unlock(&timer_lock);
    int rc = pthread_create(&timer_thread, NULL, timer_main, NULL);
    if (rc != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "SCTP timer thread: %s", g_strerror(rc));
        return false;
    }
    pthread_setname_np(timer_thread, "chorus-sctp-tmr");
    timer_started = true;
    return true;
}

/* Under global_lock. After it returns, nothing calls usrsctp_handle_timers. */
static void timer_join(void)
{
    if (!timer_started)
        return;
    chorus_mutex_lock(&timer_lock);
    timer_stop = true;
    chorus_cond_signal(&timer_cond);
    chorus_mutex_unlock(&timer_lock);
    pthread_join(timer_thread, NULL);
    timer_started = false;
}

/* A ChorusSctp appeared (+1) or went (-1); the first one wakes the thread. Any thread. */
static void timer_count(int delta)
{
    chorus_mutex_lock(&timer_lock);
    if (delta < 0) {
        if (--timer_assocs == 0)
            timer_idle_us = g_get_monotonic_time(); /* the grace starts */
    } else if (timer_assocs++ == 0) {
        chorus_cond_signal(&timer_cond);
    }
    chorus_mutex_unlock(&timer_lock);
}

bool chorus_sctp_timer_active(void)
{
    chorus_mutex_lock(&timer_lock);
    bool on = timer_ticking;
    chorus_mutex_unlock(&timer_lock);
    return on;
}

uint64_t chorus_sctp_timer_ticks(void)
{
    chorus_mutex_lock(&timer_lock);
    uint64_t n = timer_ticks;
    chorus_mutex_unlock(&timer_lock);
    return n;
}

/* ---- Global init ------------------------------------------------------------------- */

gboolean chorus_sctp_global_init(GError **error)
{
    chorus_mutex_lock(&global_lock);
    if (!global_up) {
        if (!timer_start(error)) {
            chorus_mutex_unlock(&global_lock);
            return FALSE;
        }
        /* AF_CONN only, no UDP encapsulation, no debug, no usrsctp threads. */
        usrsctp_init_nothreads(0, conn_output, NULL);
#ifdef SCTP_DEBUG
        usrsctp_sysctl_set_sctp_debug_on(SCTP_DEBUG_NONE);
#endif
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        usrsctp_sysctl_set_sctp_blackhole(2);       /* no ABORT for out-of-the-blue */
        usrsctp_sysctl_set_sctp_pr_enable(1);       /* partial reliability (RFC 3758) */
        usrsctp_sysctl_set_sctp_reconfig_enable(1); /* stream reset (RFC 6525) */
        usrsctp_sysctl_set_sctp_asconf_enable(0);   /* not used by WebRTC */
        usrsctp_sysctl_set_sctp_auth_enable(0);     /* DTLS authenticates */
        usrsctp_sysctl_set_sctp_enable_sack_immediately(1);
        usrsctp_sysctl_set_sctp_sendspace(SCTP_BUFFER_SPACE);
        usrsctp_sysctl_set_sctp_recvspace(SCTP_BUFFER_SPACE);
        usrsctp_sysctl_set_sctp_nr_outgoing_streams_default(CHORUS_SCTP_NUM_STREAMS);
        chorus_mutex_lock(&reg_lock);
        if (!registry)
            registry = g_hash_table_new(NULL, NULL);
        chorus_mutex_unlock(&reg_lock);
        global_up = true;
        LOG_V(TAG, "usrsctp initialised");
    }
    chorus_mutex_unlock(&global_lock);
    return TRUE;
}

void chorus_sctp_global_cleanup(void)
{
    chorus_mutex_lock(&global_lock);
    if (global_up) {
        /* The timer thread stops first (usrsctp_finish must not race with it). Closed
         * sockets may still wait for a timer to be released: from here on this thread
         * advances usrsctp's clock while it retries. */
        timer_join();
        int tries = 0;
        while (usrsctp_finish() != 0 && ++tries < 300) {
            g_usleep(TIMER_TICK_MS * 1000);
            usrsctp_handle_timers(TIMER_TICK_MS);
        }
        if (tries >= 300)
            LOG_W(TAG, "usrsctp_finish: sockets still open (an association not freed?)");
        global_up = false;
        chorus_mutex_lock(&reg_lock);
        if (registry && g_hash_table_size(registry) == 0)
            g_clear_pointer(&registry, g_hash_table_destroy);
        chorus_mutex_unlock(&reg_lock);
    }
    chorus_mutex_unlock(&global_lock);
}

/* ---- Sending ------------------------------------------------------------------------ */

/* One user message through usrsctp. Owner thread, inside api_enter. */
static int send_raw(ChorusSctp *s, const Channel *ch, uint32_t ppid, bool unordered,
                    const uint8_t *data, size_t len)
{
    if (!s->sock)
        return -1;
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof(spa));
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = ch->stream;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = unordered ? SCTP_UNORDERED : 0;
    if (ppid != CHORUS_PPID_DCEP) {
        switch (ch->type & 0x7f) {
        case CHORUS_DCEP_PARTIAL_RELIABLE_REXMIT:
            spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
            spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
            spa.sendv_prinfo.pr_value = ch->reliability;
            break;
        case CHORUS_DCEP_PARTIAL_RELIABLE_TIMED:
            spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
            spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
            spa.sendv_prinfo.pr_value = ch->reliability;
            break;
        default:
            break;
        }
    }
    ssize_t n =
        usrsctp_sendv(s->sock, data, len, NULL, 0, &spa, (socklen_t)sizeof(spa), SCTP_SENDV_SPA, 0);
    if (n < 0) {
        LOG_D(TAG, "sendv on stream %u (%zu bytes): %s", ch->stream, len, g_strerror(errno));
        return -1;
    }
    return 0;
}

static int send_open(ChorusSctp *s, Channel *ch)
{
    size_t cap = CHORUS_DCEP_OPEN_HEADER + strlen(ch->label) + strlen(ch->protocol);
    uint8_t *buf = g_malloc(cap);
    size_t n = chorus_dcep_build_open(buf, cap, ch->type, ch->reliability, ch->label, ch->protocol);
    int rc = n ? send_raw(s, ch, CHORUS_PPID_DCEP, false, buf, n) : -1;
    g_free(buf);
    if (rc == 0)
        ch->state = CH_OPENING;
    return rc;
}

static void reset_outgoing(ChorusSctp *s, uint16_t stream)
{
    if (!s->sock || !s->up)
        return;
    union {
        struct sctp_reset_streams srs;
        uint8_t raw[sizeof(struct sctp_reset_streams) + sizeof(uint16_t)];
    } u;
    memset(&u, 0, sizeof(u));
    u.srs.srs_flags = SCTP_STREAM_RESET_OUTGOING;
    u.srs.srs_number_streams = 1;
    u.srs.srs_stream_list[0] = stream;
    if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, &u, (socklen_t)sizeof(u)) < 0)
        LOG_D(TAG, "reset of stream %u: %s", stream, g_strerror(errno));
}

/* ---- Receiving (owner thread) --------------------------------------------------------- */

static Channel *channel_get(ChorusSctp *s, uint16_t stream)
{
    return g_hash_table_lookup(s->channels, GUINT_TO_POINTER(stream));
}

static void channel_opened(ChorusSctp *s, Channel *ch)
{
    ch->state = CH_OPEN;
    LOG_V(TAG, "channel %u '%s' open", ch->stream, ch->label);
    if (s->cb.on_channel_open)
        s->cb.on_channel_open(s->user, ch->stream, ch->label, ch->protocol);
}

static void handle_peer_open(ChorusSctp *s, uint16_t stream, const uint8_t *data, size_t len)
{
    ChorusDcepOpen op;
    if (!chorus_dcep_parse_open(data, len, &op)) {
        LOG_D(TAG, "malformed DCEP OPEN on stream %u (%zu bytes)", stream, len);
        return;
    }
    if (channel_get(s, stream))
        LOG_D(TAG, "DCEP OPEN on stream %u already in use: replacing", stream);
    Channel *ch = g_new0(Channel, 1);
    ch->stream = stream;
    ch->type = op.channel_type;
    ch->reliability = op.reliability;
    ch->state = CH_OPEN;
    ch->label = g_strndup((const char *)op.label, op.label_len);
    ch->protocol = g_strndup((const char *)op.protocol, op.protocol_len);
    g_hash_table_replace(s->channels, GUINT_TO_POINTER(stream), ch);

    uint8_t ack[1];
    size_t n = chorus_dcep_build_ack(ack, sizeof(ack));
    if (send_raw(s, ch, CHORUS_PPID_DCEP, false, ack, n) < 0)
        LOG_W(TAG, "cannot acknowledge channel %u '%s'", stream, ch->label);
    channel_opened(s, ch);
}

static void handle_dcep(ChorusSctp *s, uint16_t stream, const uint8_t *data, size_t len)
{
    if (len < 1)
        return;
    if (data[0] == CHORUS_DCEP_OPEN) {
        handle_peer_open(s, stream, data, len);
    } else if (chorus_dcep_is_ack(data, len)) {
        Channel *ch = channel_get(s, stream);
        if (ch && ch->state == CH_OPENING)
            channel_opened(s, ch);
        else
            LOG_D(TAG, "unexpected DCEP ACK on stream %u", stream);
    } else {
        LOG_D(TAG, "unknown DCEP message 0x%02x on stream %u", data[0], stream);
    }
}

/* One complete user message. */
static void deliver(ChorusSctp *s, uint16_t stream, uint32_t ppid, const uint8_t *data, size_t len)
{
    bool binary;
    switch (ppid) {
    case CHORUS_PPID_DCEP:
        handle_dcep(s, stream, data, len);
        return;
    case CHORUS_PPID_STRING:
    case CHORUS_PPID_STRING_EMPTY:
        binary = false;
        break;
    case CHORUS_PPID_BINARY:
    case CHORUS_PPID_BINARY_EMPTY:
        binary = true;
        break;
    default:
        LOG_D(TAG, "unsupported PPID %u on stream %u", ppid, stream);
        return;
    }
    if (ppid == CHORUS_PPID_STRING_EMPTY || ppid == CHORUS_PPID_BINARY_EMPTY)
        len = 0; /* RFC 8831 section 6.6: one byte that carries nothing */
    Channel *ch = channel_get(s, stream);
    if (!ch) {
        LOG_D(TAG, "message on stream %u without a channel", stream);
        return;
    }
    if (ch->state == CH_OPENING) /* RFC 8832 section 6: data implies the ACK */
        channel_opened(s, ch);
    if (s->cb.on_message)
        s->cb.on_message(s->user, stream, ch->label, binary, data, len);
}

static void too_big(ChorusSctp *s, uint16_t stream, size_t len)
{
    if (!s->warned_big) {
        s->warned_big = true;
        LOG_W(TAG, "dropping a message of %zu+ bytes on stream %u (max-message-size %zu)", len,
              stream, s->max_message);
    } else {
        LOG_D(TAG, "dropping a message of %zu+ bytes on stream %u", len, stream);
    }
}

/* A piece of a message: usrsctp hands large messages over in parts (partial delivery,
 * no MSG_EOR until the last). With fragment interleaving off, parts of one message are
 * never interleaved with others. */
static void handle_data(ChorusSctp *s, const Item *it)
{
    const uint8_t *data = it->ext;
    bool eor = (it->flags & MSG_EOR) != 0;
    if (!s->rx_active && eor) {
        if (it->len > s->max_message && it->ppid != CHORUS_PPID_DCEP)
            too_big(s, it->stream, it->len);
        else
            deliver(s, it->stream, it->ppid, data, it->len);
        return;
    }
    if (!s->rx_active) {
        s->rx_active = true;
        s->rx_discard = false;
        g_byte_array_set_size(s->rx, 0);
    }
    if (!s->rx_discard) {
        if (s->rx->len + it->len > s->max_message) {
            too_big(s, it->stream, s->rx->len + it->len);
            s->rx_discard = true;
            g_byte_array_set_size(s->rx, 0);
        } else {
            g_byte_array_append(s->rx, data, (guint)it->len);
        }
    }
    if (!eor)
        return;
    s->rx_active = false;
    if (!s->rx_discard)
        deliver(s, it->stream, it->ppid, s->rx->data, s->rx->len);
    if (s->rx->len > 65536) { /* give a large message's memory back */
        g_byte_array_free(s->rx, TRUE);
        s->rx = g_byte_array_new();
    } else {
        g_byte_array_set_size(s->rx, 0);
    }
}

static void report_down(ChorusSctp *s, const char *reason)
{
    if (!s->up && s->down_reported)
        return;
    s->up = false;
    s->down_reported = true;
    LOG_V(TAG, "association down: %s", reason);
    if (s->cb.on_state)
        s->cb.on_state(s->user, false, reason);
}

static gboolean channel_is_pending(gpointer key, gpointer value, gpointer user)
{
    (void)key;
    (void)user;
    return ((Channel *)value)->state == CH_PENDING;
}

static void send_pending_opens(ChorusSctp *s)
{
    GList *pending = NULL;
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, s->channels);
    while (g_hash_table_iter_next(&iter, &key, &value))
        if (channel_is_pending(key, value, NULL))
            pending = g_list_prepend(pending, value);
    for (GList *l = pending; l; l = l->next) {
        Channel *ch = l->data;
        if (ch->stream >= s->out_streams || send_open(s, ch) < 0) {
            LOG_W(TAG, "cannot open channel '%s' on stream %u", ch->label, ch->stream);
            g_hash_table_remove(s->channels, GUINT_TO_POINTER(ch->stream));
        }
    }
    g_list_free(pending);
}

static void handle_assoc_change(ChorusSctp *s, const struct sctp_assoc_change *ac)
{
    switch (ac->sac_state) {
    case SCTP_COMM_UP:
    case SCTP_RESTART:
        s->out_streams = ac->sac_outbound_streams;
        if (s->up)
            return;
        s->up = true;
        s->down_reported = false;
        LOG_V(TAG, "association up (%u out, %u in streams)", ac->sac_outbound_streams,
              ac->sac_inbound_streams);
        send_pending_opens(s);
        if (s->cb.on_state)
            s->cb.on_state(s->user, true, "up");
        break;
    case SCTP_COMM_LOST:
        report_down(s, "association lost");
        break;
    case SCTP_SHUTDOWN_COMP:
        report_down(s, "shutdown");
        break;
    case SCTP_CANT_STR_ASSOC:
        report_down(s, "cannot start the association");
        break;
    default:
        break;
    }
}

static void handle_stream_reset(ChorusSctp *s, const uint8_t *data, size_t len)
{
    struct sctp_stream_reset_event ev;
    memcpy(&ev, data, sizeof(ev));
    if (ev.strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
        LOG_D(TAG, "stream reset denied or failed");
        return;
    }
    if (!(ev.strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN))
        return; /* our own outgoing reset completed */
    size_t n = (len - sizeof(ev)) / sizeof(uint16_t);
    for (size_t i = 0; i < n; i++) {
        uint16_t stream;
        memcpy(&stream, data + sizeof(ev) + i * sizeof(uint16_t), sizeof(stream));
        Channel *ch = channel_get(s, stream);
        if (!ch)
            continue;
        /* The peer closed the channel: close our direction too and forget it. */
        reset_outgoing(s, stream);
        char *label = g_strdup(ch->label);
        g_hash_table_remove(s->channels, GUINT_TO_POINTER(stream));
        LOG_V(TAG, "channel %u '%s' closed by the peer", stream, label);
        if (s->cb.on_channel_close)
            s->cb.on_channel_close(s->user, stream, label);
        g_free(label);
        if (!s->sock)
            break; /* freed from the callback */
    }
}

static void handle_notification(ChorusSctp *s, const uint8_t *data, size_t len)
{
    struct sctp_tlv hdr;
    if (len < sizeof(hdr))
        return;
    memcpy(&hdr, data, sizeof(hdr));
    if (hdr.sn_length > len)
        return;
    len = hdr.sn_length;
    switch (hdr.sn_type) {
    case SCTP_ASSOC_CHANGE:
        if (len >= sizeof(struct sctp_assoc_change)) {
            struct sctp_assoc_change ac;
            memcpy(&ac, data, sizeof(ac));
            handle_assoc_change(s, &ac);
        }
        break;
    case SCTP_STREAM_RESET_EVENT:
        if (len >= sizeof(struct sctp_stream_reset_event))
            handle_stream_reset(s, data, len);
        break;
    case SCTP_SEND_FAILED_EVENT:
        LOG_D(TAG, "send failed notification");
        break;
    default:
        LOG_D(TAG, "notification 0x%04x", hdr.sn_type);
        break;
    }
}

static void handle_item(ChorusSctp *s, Item *it)
{
    switch (it->kind) {
    case ITEM_PACKET:
        s->cb.send(s->user, it->inline_data, it->len);
        break;
    case ITEM_DATA:
        handle_data(s, it);
        break;
    case ITEM_NOTIFICATION:
        handle_notification(s, it->ext, it->len);
        break;
    case ITEM_EOF:
        report_down(s, "closed");
        break;
    }
}

/* Owner thread. Hands queued packets to `send` and, if events, delivers queued
 * messages/notifications too; packets first, so what an event produces goes out
 * before the next event. Not re-entrant: a nested call leaves the work to the outer
 * loop. */
static void drain(ChorusSctp *s, bool events)
{
    if (s->draining)
        return;
    sctp_ref(s);
    s->draining = true;
    api_enter(s);
    for (;;) {
        chorus_mutex_lock(&s->lock);
        Item *it = NULL;
        if (!s->closed) {
            it = queue_pop(&s->out_q);
            if (!it && events)
                it = queue_pop(&s->in_q);
        }
        chorus_mutex_unlock(&s->lock);
        if (!it)
            break;
        handle_item(s, it);
        item_free(it);
    }
    s->draining = false;
    api_leave(s);
    sctp_unref(s);
}

/* ---- Creation ----------------------------------------------------------------------- */

static bool set_opt(struct socket *sock, int level, int name, const void *val, size_t len,
                    const char *what)
{
    if (usrsctp_setsockopt(sock, level, name, val, (socklen_t)len) == 0)
        return true;
    LOG_E(TAG, "setsockopt %s: %s", what, g_strerror(errno));
    return false;
}

static bool configure_socket(struct socket *sock)
{
    if (usrsctp_set_non_blocking(sock, 1) < 0) {
        LOG_E(TAG, "non-blocking: %s", g_strerror(errno));
        return false;
    }
    struct linger lg = {.l_onoff = 1, .l_linger = 0}; /* close = ABORT, nothing lingers */
    int on = 1;
    struct sctp_assoc_value reset = {.assoc_id = SCTP_FUTURE_ASSOC,
                                     .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    struct sctp_initmsg init = {.sinit_num_ostreams = CHORUS_SCTP_NUM_STREAMS,
                                .sinit_max_instreams = CHORUS_SCTP_NUM_STREAMS};
    if (!set_opt(sock, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), "SO_LINGER") ||
        !set_opt(sock, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on), "RECVRCVINFO") ||
        !set_opt(sock, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on), "NODELAY") ||
        !set_opt(sock, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof(reset),
                 "ENABLE_STREAM_RESET") ||
        !set_opt(sock, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init), "INITMSG"))
        return false;
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                                      SCTP_SEND_FAILED_EVENT};
    for (size_t i = 0; i < G_N_ELEMENTS(events); i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = events[i], .se_on = 1};
        if (!set_opt(sock, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), "EVENT"))
            return false;
    }
    /* No PMTU discovery over DTLS: a fixed MTU that fits a DTLS record in a datagram. */
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof(pp));
    pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = SCTP_PATH_MTU;
    if (usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp)) < 0)
        LOG_D(TAG, "PEER_ADDR_PARAMS: %s", g_strerror(errno));
    return true;
}

static struct sockaddr_conn conn_addr(const ChorusSctp *s, uint16_t port)
{
    struct sockaddr_conn a;
    memset(&a, 0, sizeof(a));
    a.sconn_family = AF_CONN;
    a.sconn_port = htons(port);
    a.sconn_addr = (void *)s->id;
    return a;
}

ChorusSctp *chorus_sctp_new(uint16_t local_port, uint16_t remote_port, size_t max_message_size,
                            GMainContext *ctx, const ChorusSctpCallbacks *cb, void *user)
{
    if (!ctx || !cb || !cb->send)
        return NULL;
    if (!chorus_sctp_global_init(NULL))
        return NULL;
    ChorusSctp *s = g_new0(ChorusSctp, 1);
    s->refs = 1;
    s->ctx = g_main_context_ref(ctx);
    s->cb = *cb;
    s->user = user;
    s->local_port = local_port;
    s->remote_port = remote_port;
    s->max_message = max_message_size ? max_message_size : CHORUS_SCTP_DEFAULT_MAX_MESSAGE;
    s->out_streams = CHORUS_SCTP_NUM_STREAMS;
    s->channels = g_hash_table_new_full(NULL, NULL, NULL, channel_free);
    s->rx = g_byte_array_new();
    chorus_mutex_init(&s->lock);

    chorus_mutex_lock(&reg_lock);
    s->id = next_id++;
    g_hash_table_insert(registry, (void *)s->id, s);
    chorus_mutex_unlock(&reg_lock);
    timer_count(+1); /* usrsctp timers run while it exists (undone by chorus_sctp_free) */
    usrsctp_register_address((void *)s->id);

    s->sock =
        usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, receive_cb, NULL, 0, (void *)s->id);
    if (!s->sock) {
        LOG_E(TAG, "usrsctp_socket: %s", g_strerror(errno));
        chorus_sctp_free(s);
        return NULL;
    }
    struct sockaddr_conn local = conn_addr(s, local_port);
    if (!configure_socket(s->sock) ||
        usrsctp_bind(s->sock, (struct sockaddr *)&local, sizeof(local)) < 0) {
        LOG_E(TAG, "cannot set up the SCTP socket on port %u: %s", local_port, g_strerror(errno));
        chorus_sctp_free(s);
        return NULL;
    }
    return s;
}

gboolean chorus_sctp_connect(ChorusSctp *s, GError **error)
{
    g_return_val_if_fail(s != NULL, FALSE);
    if (!s->sock) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_CLOSED, "SCTP association closed");
        return FALSE;
    }
    sctp_ref(s);
    api_enter(s);
    struct sockaddr_conn remote = conn_addr(s, s->remote_port);
    int rc = usrsctp_connect(s->sock, (struct sockaddr *)&remote, sizeof(remote));
    int err = errno;
    drain(s, false);
    api_leave(s);
    sctp_unref(s);
    if (rc < 0 && err != EINPROGRESS) {
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(err), "SCTP connect: %s",
                    g_strerror(err));
        return FALSE;
    }
    return TRUE;
}

void chorus_sctp_incoming(ChorusSctp *s, const uint8_t *buf, size_t len)
{
    if (!s || !s->sock || !buf || len == 0)
        return;
    sctp_ref(s);
    api_enter(s);
    usrsctp_conninput((void *)s->id, buf, len, 0);
    drain(s, true);
    api_leave(s);
    sctp_unref(s);
}

int chorus_sctp_send(ChorusSctp *s, uint16_t stream, bool binary, const uint8_t *data, size_t len)
{
    static const uint8_t zero = 0;
    if (!s || !s->sock || !s->up || (len && !data))
        return -1;
    Channel *ch = channel_get(s, stream);
    if (!ch || ch->state == CH_PENDING)
        return -1;
    if (s->remote_max && len > s->remote_max)
        return -1;
    uint32_t ppid;
    if (len == 0) {
        ppid = binary ? CHORUS_PPID_BINARY_EMPTY : CHORUS_PPID_STRING_EMPTY;
        data = &zero;
        len = 1;
    } else {
        ppid = binary ? CHORUS_PPID_BINARY : CHORUS_PPID_STRING;
    }
    /* Until the ACK, everything goes ordered so it cannot overtake the OPEN. */
    bool unordered = !chorus_dcep_channel_ordered(ch->type) && ch->state == CH_OPEN;
    sctp_ref(s);
    api_enter(s);
    int rc = send_raw(s, ch, ppid, unordered, data, len);
    drain(s, false);
    api_leave(s);
    sctp_unref(s);
    return rc;
}

static int pick_stream(ChorusSctp *s)
{
    unsigned limit = s->up ? s->out_streams : CHORUS_SCTP_NUM_STREAMS;
    for (unsigned sid = s->dtls_client ? 0 : 1; sid < limit; sid += 2)
        if (!channel_get(s, (uint16_t)sid))
            return (int)sid;
    return -1;
}

int chorus_sctp_open_channel_full(ChorusSctp *s, const char *label, const char *protocol,
                                  uint8_t channel_type, uint32_t reliability)
{
    if (!s || !s->sock || !chorus_dcep_channel_type_valid(channel_type))
        return -1;
    label = label ? label : "";
    protocol = protocol ? protocol : "";
    if (strlen(label) > UINT16_MAX || strlen(protocol) > UINT16_MAX)
        return -1;
    int sid = pick_stream(s);
    if (sid < 0) {
        LOG_W(TAG, "no free stream for channel '%s'", label);
        return -1;
    }
    Channel *ch = g_new0(Channel, 1);
    ch->stream = (uint16_t)sid;
    ch->type = channel_type;
    ch->reliability = reliability;
    ch->state = CH_PENDING;
    ch->label = g_strdup(label);
    ch->protocol = g_strdup(protocol);
    g_hash_table_insert(s->channels, GUINT_TO_POINTER(ch->stream), ch);
    if (!s->up)
        return sid; /* sent when the association comes up */
    sctp_ref(s);
    api_enter(s);
    int rc = send_open(s, ch);
    if (rc < 0)
        g_hash_table_remove(s->channels, GUINT_TO_POINTER((unsigned)sid));
    drain(s, false);
    api_leave(s);
    sctp_unref(s);
    return rc < 0 ? -1 : sid;
}

int chorus_sctp_open_channel(ChorusSctp *s, const char *label, const char *protocol, bool ordered)
{
    uint8_t type = ordered ? CHORUS_DCEP_RELIABLE : CHORUS_DCEP_RELIABLE_UNORDERED;
    return chorus_sctp_open_channel_full(s, label, protocol, type, 0);
}

int chorus_sctp_find_channel(ChorusSctp *s, const char *label)
{
    if (!s || !label)
        return -1;
    int best = -1;
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init(&iter, s->channels);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        const Channel *ch = value;
        if (ch->state == CH_OPEN && strcmp(ch->label, label) == 0 &&
            (best < 0 || ch->stream < best))
            best = ch->stream;
    }
    return best;
}

int chorus_sctp_close_channel(ChorusSctp *s, uint16_t stream)
{
    if (!s || !channel_get(s, stream))
        return -1;
    g_hash_table_remove(s->channels, GUINT_TO_POINTER((unsigned)stream));
    sctp_ref(s);
    api_enter(s);
    reset_outgoing(s, stream);
    drain(s, false);
    api_leave(s);
    sctp_unref(s);
    return 0;
}

void chorus_sctp_set_dtls_role(ChorusSctp *s, bool dtls_client)
{
    if (s)
        s->dtls_client = dtls_client;
}

void chorus_sctp_set_remote_max_message_size(ChorusSctp *s, size_t size)
{
    if (s)
        s->remote_max = size;
}

bool chorus_sctp_is_up(ChorusSctp *s)
{
    return s && s->up;
}

void chorus_sctp_free(ChorusSctp *s)
{
    if (!s)
        return;
    /* 1. Nothing new is queued and nothing queued is delivered. */
    chorus_mutex_lock(&s->lock);
    s->closed = true;
    GSource *src = s->wakeup;
    s->wakeup = NULL;
    ItemQueue out = s->out_q, in = s->in_q;
    memset(&s->out_q, 0, sizeof(s->out_q));
    memset(&s->in_q, 0, sizeof(s->in_q));
    chorus_mutex_unlock(&s->lock);
    /* 2. usrsctp's callbacks no longer find us (those already holding a reference
     *    see 'closed'). */
    chorus_mutex_lock(&reg_lock);
    if (registry)
        g_hash_table_remove(registry, (void *)s->id);
    chorus_mutex_unlock(&reg_lock);
    /* 3. Abortive close (SO_LINGER 0), then the address. */
    if (s->sock) {
        usrsctp_close(s->sock);
        s->sock = NULL;
    }
    usrsctp_deregister_address((void *)s->id);
    timer_count(-1);
    if (src) {
        g_source_destroy(src);
        g_source_unref(src);
    }
    queue_clear(&out);
    queue_clear(&in);
    s->up = false;
    sctp_unref(s);
}

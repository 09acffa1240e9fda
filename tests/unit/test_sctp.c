/* Unit tests: two ChorusSctp associations in one process, on one GMainContext, wired
 * back to back through their send callbacks (packets cross through an idle queue,
 * never inside the sender's call). Real usrsctp, real DCEP. */
#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "media/dcep.h"
#include "net/sctp.h"

#define WAIT_MS 5000

typedef struct Fixture Fixture;

typedef struct {
    uint16_t stream;
    char *label;
    bool binary;
    GByteArray *data;
} Msg;

typedef struct Peer {
    Fixture *f;
    struct Peer *other;
    ChorusSctp *s;
    bool up;
    int ups, downs;
    int opens;
    uint16_t open_stream;
    char *open_label, *open_protocol;
    int closes;
    uint16_t close_stream;
    GPtrArray *msgs;
    bool freed;
    int after_free; /* callbacks received once chorus_sctp_free was called */
    bool free_on_message;
    int packets;        /* handed to `send` */
    int foreign_thread; /* callbacks that ran on another thread than the test's */
} Peer;

struct Fixture {
    GMainContext *ctx;
    GSource *tick;
    GQueue wire; /* WirePacket* */
    GSource *wire_src;
    Peer a, b;
};

typedef struct {
    Peer *dst;
    GBytes *pkt;
} WirePacket;

static void msg_free(gpointer p)
{
    Msg *m = p;
    g_free(m->label);
    g_byte_array_free(m->data, TRUE);
    g_free(m);
}

static gboolean wire_cb(gpointer user)
{
    Fixture *f = user;
    g_source_unref(f->wire_src);
    f->wire_src = NULL;
    /* Only what is queued now: packets sent in answer go in the next round. */
    guint n = g_queue_get_length(&f->wire);
    for (guint i = 0; i < n; i++) {
        WirePacket *w = g_queue_pop_head(&f->wire);
        gsize len;
        const uint8_t *buf = g_bytes_get_data(w->pkt, &len);
        if (w->dst->s && !w->dst->freed)
            chorus_sctp_incoming(w->dst->s, buf, len);
        g_bytes_unref(w->pkt);
        g_free(w);
    }
    return G_SOURCE_REMOVE;
}

static GThread *test_thread;

static int cb_send(void *user, const uint8_t *buf, size_t len)
{
    Peer *p = user;
    Fixture *f = p->f;
    p->packets++;
    if (g_thread_self() != test_thread)
        p->foreign_thread++;
    if (p->freed)
        p->after_free++;
    WirePacket *w = g_new0(WirePacket, 1);
    w->dst = p->other;
    w->pkt = g_bytes_new(buf, len);
    g_queue_push_tail(&f->wire, w);
    if (!f->wire_src) {
        f->wire_src = g_idle_source_new();
        g_source_set_callback(f->wire_src, wire_cb, f, NULL);
        g_source_attach(f->wire_src, f->ctx);
    }
    return (int)len;
}

static void cb_open(void *user, uint16_t stream, const char *label, const char *protocol)
{
    Peer *p = user;
    if (p->freed)
        p->after_free++;
    if (g_thread_self() != test_thread)
        p->foreign_thread++;
    p->opens++;
    p->open_stream = stream;
    g_free(p->open_label);
    g_free(p->open_protocol);
    p->open_label = g_strdup(label);
    p->open_protocol = g_strdup(protocol);
}

static void cb_message(void *user, uint16_t stream, const char *label, bool binary,
                       const uint8_t *data, size_t len)
{
    Peer *p = user;
    if (p->freed)
        p->after_free++;
    if (g_thread_self() != test_thread)
        p->foreign_thread++;
    Msg *m = g_new0(Msg, 1);
    m->stream = stream;
    m->label = g_strdup(label);
    m->binary = binary;
    m->data = g_byte_array_sized_new((guint)len);
    if (len)
        g_byte_array_append(m->data, data, (guint)len);
    g_ptr_array_add(p->msgs, m);
    if (p->free_on_message && !p->freed) {
        p->freed = true;
        chorus_sctp_free(p->s);
        p->s = NULL;
    }
}

static void cb_state(void *user, bool up, const char *reason)
{
    Peer *p = user;
    g_assert_nonnull(reason);
    if (p->freed)
        p->after_free++;
    p->up = up;
    if (up)
        p->ups++;
    else
        p->downs++;
}

static void cb_close(void *user, uint16_t stream, const char *label)
{
    Peer *p = user;
    g_assert_nonnull(label);
    if (p->freed)
        p->after_free++;
    p->closes++;
    p->close_stream = stream;
}

static const ChorusSctpCallbacks callbacks = {
    .send = cb_send,
    .on_channel_open = cb_open,
    .on_message = cb_message,
    .on_state = cb_state,
    .on_channel_close = cb_close,
};

static gboolean tick_cb(gpointer user)
{
    (void)user;
    return G_SOURCE_CONTINUE;
}

/* Iterates the context until cond holds or ms pass (a 5 ms tick bounds each wait). */
#define WAIT_FOR(f, cond, ms)                                                                      \
    do {                                                                                           \
        gint64 end_ = g_get_monotonic_time() + (gint64)(ms)*1000;                                  \
        while (!(cond) && g_get_monotonic_time() < end_)                                           \
            g_main_context_iteration((f)->ctx, TRUE);                                              \
    } while (0)

static void pump(Fixture *f, int ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end)
        g_main_context_iteration(f->ctx, TRUE);
}

static void peer_init(Fixture *f, Peer *p, Peer *other, size_t max_message, bool dtls_client)
{
    p->f = f;
    p->other = other;
    p->msgs = g_ptr_array_new_with_free_func(msg_free);
    p->s = chorus_sctp_new(5000, 5000, max_message, f->ctx, &callbacks, p);
    g_assert_nonnull(p->s);
    chorus_sctp_set_dtls_role(p->s, dtls_client);
}

/* A is the DTLS client (even stream ids), B the server (odd ones). */
static void fixture_new(Fixture *f, size_t max_a, size_t max_b, bool connect)
{
    memset(f, 0, sizeof(*f));
    f->ctx = g_main_context_new();
    f->tick = g_timeout_source_new(5);
    g_source_set_callback(f->tick, tick_cb, NULL, NULL);
    g_source_attach(f->tick, f->ctx);
    g_queue_init(&f->wire);
    peer_init(f, &f->a, &f->b, max_a, true);
    peer_init(f, &f->b, &f->a, max_b, false);
    if (!connect)
        return;
    GError *err = NULL;
    g_assert_true(chorus_sctp_connect(f->a.s, &err));
    g_assert_no_error(err);
    g_assert_true(chorus_sctp_connect(f->b.s, &err));
    g_assert_no_error(err);
    WAIT_FOR(f, f->a.up && f->b.up, WAIT_MS);
    g_assert_true(f->a.up && f->b.up);
    g_assert_true(chorus_sctp_is_up(f->a.s) && chorus_sctp_is_up(f->b.s));
    g_assert_cmpint(f->a.ups, ==, 1);
    g_assert_cmpint(f->b.ups, ==, 1);
}

static void peer_free(Peer *p)
{
    if (p->s && !p->freed) {
        p->freed = true; /* before: free itself must not call back either */
        chorus_sctp_free(p->s);
    }
    p->s = NULL;
}

static void fixture_free(Fixture *f)
{
    peer_free(&f->a);
    peer_free(&f->b);
    pump(f, 30); /* whatever was queued (timers, wire) runs and must stay silent */
    g_assert_cmpint(f->a.after_free, ==, 0);
    g_assert_cmpint(f->b.after_free, ==, 0);
    g_assert_cmpint(f->a.foreign_thread, ==, 0);
    g_assert_cmpint(f->b.foreign_thread, ==, 0);
    if (f->wire_src) {
        g_source_destroy(f->wire_src);
        g_source_unref(f->wire_src);
    }
    WirePacket *w;
    while ((w = g_queue_pop_head(&f->wire))) {
        g_bytes_unref(w->pkt);
        g_free(w);
    }
    g_source_destroy(f->tick);
    g_source_unref(f->tick);
    Peer *peers[] = {&f->a, &f->b};
    for (int i = 0; i < 2; i++) {
        g_ptr_array_free(peers[i]->msgs, TRUE);
        g_free(peers[i]->open_label);
        g_free(peers[i]->open_protocol);
    }
    g_main_context_unref(f->ctx);
}

/* A opens label on an ordered or unordered channel; both sides report it open. */
static int open_from_a(Fixture *f, const char *label, bool ordered)
{
    int a_opens = f->a.opens, b_opens = f->b.opens;
    int sid = chorus_sctp_open_channel(f->a.s, label, "", ordered);
    g_assert_cmpint(sid, >=, 0);
    WAIT_FOR(f, f->a.opens > a_opens && f->b.opens > b_opens, WAIT_MS);
    g_assert_cmpint(f->b.opens, ==, b_opens + 1);
    g_assert_cmpint(f->a.opens, ==, a_opens + 1);
    g_assert_cmpstr(f->b.open_label, ==, label);
    g_assert_cmpstr(f->a.open_label, ==, label);
    g_assert_cmpint(f->b.open_stream, ==, sid);
    g_assert_cmpint(f->a.open_stream, ==, sid);
    return sid;
}

static const Msg *msg_at(const Peer *p, guint i)
{
    g_assert_cmpuint(i, <, p->msgs->len);
    return g_ptr_array_index(p->msgs, i);
}

static void test_open_channel(void)
{
    Fixture f;
    fixture_new(&f, 0, 0, true);
    int sid = open_from_a(&f, "chat", true);
    g_assert_cmpint(sid % 2, ==, 0); /* A is the DTLS client: even ids */
    g_assert_cmpstr(f.b.open_protocol, ==, "");
    g_assert_cmpint(chorus_sctp_find_channel(f.a.s, "chat"), ==, sid);
    g_assert_cmpint(chorus_sctp_find_channel(f.b.s, "chat"), ==, sid);
    g_assert_cmpint(chorus_sctp_find_channel(f.b.s, "nope"), ==, -1);

    /* B (DTLS server) opens one with a protocol: odd id. */
    int sid_b = chorus_sctp_open_channel(f.b.s, "srv", "json", true);
    g_assert_cmpint(sid_b, >=, 0);
    g_assert_cmpint(sid_b % 2, ==, 1);
    WAIT_FOR(&f, f.a.opens == 2 && f.b.opens == 2, WAIT_MS);
    g_assert_cmpstr(f.a.open_label, ==, "srv");
    g_assert_cmpstr(f.a.open_protocol, ==, "json");
    g_assert_cmpint(f.a.open_stream, ==, sid_b);
    g_assert_cmpint(chorus_sctp_find_channel(f.b.s, "srv"), ==, sid_b);
    /* A second channel from A takes the next even id. */
    int sid2 = open_from_a(&f, "chat2", true);
    g_assert_cmpint(sid2 % 2, ==, 0);
    g_assert_cmpint(sid2, !=, sid);
    fixture_free(&f);
}

static void test_messages_both_ways(void)
{
    Fixture f;
    fixture_new(&f, 0, 0, true);
    int sid = open_from_a(&f, "chat", true);
    static const uint8_t bin[] = {0x00, 0x01, 0x02, 0xff, 0x00};
    uint8_t big[3000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);

    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, false, (const uint8_t *)"hello", 5), ==, 0);
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, false, NULL, 0), ==, 0); /* empty string */
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, true, big, sizeof(big)), ==, 0);
    g_assert_cmpint(chorus_sctp_send(f.b.s, sid, true, bin, sizeof(bin)), ==, 0);
    g_assert_cmpint(chorus_sctp_send(f.b.s, sid, true, NULL, 0), ==, 0); /* empty binary */
    g_assert_cmpint(chorus_sctp_send(f.b.s, sid, false, (const uint8_t *)"world!", 6), ==, 0);
    WAIT_FOR(&f, f.b.msgs->len >= 3 && f.a.msgs->len >= 3, WAIT_MS);
    g_assert_cmpuint(f.b.msgs->len, ==, 3);
    g_assert_cmpuint(f.a.msgs->len, ==, 3);

    /* Ordered channel: in sending order. */
    const Msg *m = msg_at(&f.b, 0);
    g_assert_false(m->binary);
    g_assert_cmpint(m->stream, ==, sid);
    g_assert_cmpstr(m->label, ==, "chat");
    g_assert_cmpmem(m->data->data, m->data->len, "hello", 5);
    m = msg_at(&f.b, 1);
    g_assert_false(m->binary);
    g_assert_cmpuint(m->data->len, ==, 0);
    m = msg_at(&f.b, 2);
    g_assert_true(m->binary);
    g_assert_cmpmem(m->data->data, m->data->len, big, sizeof(big));

    m = msg_at(&f.a, 0);
    g_assert_true(m->binary);
    g_assert_cmpmem(m->data->data, m->data->len, bin, sizeof(bin));
    m = msg_at(&f.a, 1);
    g_assert_true(m->binary);
    g_assert_cmpuint(m->data->len, ==, 0);
    m = msg_at(&f.a, 2);
    g_assert_false(m->binary);
    g_assert_cmpmem(m->data->data, m->data->len, "world!", 6);

    /* No such channel. */
    g_assert_cmpint(chorus_sctp_send(f.a.s, 900, false, (const uint8_t *)"x", 1), ==, -1);
    fixture_free(&f);
}

static void test_unordered_all_delivered(void)
{
    Fixture f;
    fixture_new(&f, 0, 0, true);
    int sid = open_from_a(&f, "u", false);
    enum { N = 100 };
    for (int i = 0; i < N; i++) {
        char text[16];
        int n = g_snprintf(text, sizeof(text), "m%d", i);
        g_assert_cmpint(chorus_sctp_send(f.a.s, sid, false, (const uint8_t *)text, (size_t)n), ==,
                        0);
    }
    WAIT_FOR(&f, f.b.msgs->len >= N, WAIT_MS);
    g_assert_cmpuint(f.b.msgs->len, ==, N);
    bool seen[N] = {false};
    for (guint i = 0; i < f.b.msgs->len; i++) {
        const Msg *m = msg_at(&f.b, i);
        g_assert_false(m->binary);
        g_assert_cmpstr(m->label, ==, "u");
        char text[16] = {0};
        g_assert_cmpuint(m->data->len, <, sizeof(text));
        memcpy(text, m->data->data, m->data->len);
        g_assert_true(text[0] == 'm');
        int idx = atoi(text + 1);
        g_assert_cmpint(idx, >=, 0);
        g_assert_cmpint(idx, <, N);
        g_assert_false(seen[idx]);
        seen[idx] = true;
    }
    fixture_free(&f);
}

static void test_max_message_size(void)
{
    Fixture f;
    fixture_new(&f, 0, 16384, true);
    int sid = open_from_a(&f, "chat", true);
    static uint8_t buf[20000];
    memset(buf, 0xab, sizeof(buf));
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, true, buf, sizeof(buf)), ==, 0); /* too big */
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, true, buf, 16384), ==, 0);       /* exactly */
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, false, (const uint8_t *)"after", 5), ==, 0);
    WAIT_FOR(&f, f.b.msgs->len >= 2, WAIT_MS);
    pump(&f, 20);
    g_assert_cmpuint(f.b.msgs->len, ==, 2);
    g_assert_cmpuint(msg_at(&f.b, 0)->data->len, ==, 16384);
    g_assert_cmpmem(msg_at(&f.b, 1)->data->data, 5, "after", 5);

    /* The peer's advertised limit is enforced when sending. */
    chorus_sctp_set_remote_max_message_size(f.a.s, 1000);
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, true, buf, 1001), ==, -1);
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, true, buf, 1000), ==, 0);
    WAIT_FOR(&f, f.b.msgs->len >= 3, WAIT_MS);
    g_assert_cmpuint(msg_at(&f.b, 2)->data->len, ==, 1000);
    fixture_free(&f);
}

/* Bigger than usrsctp's partial delivery point: delivered in parts, reassembled. */
static void test_large_message(void)
{
    Fixture f;
    fixture_new(&f, 0, 1024 * 1024, true);
    int sid = open_from_a(&f, "bulk", true);
    size_t len = 700 * 1000;
    uint8_t *buf = g_malloc(len);
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 31 + (i >> 11));
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, true, buf, len), ==, 0);
    g_assert_cmpint(chorus_sctp_send(f.a.s, sid, false, (const uint8_t *)"tail", 4), ==, 0);
    WAIT_FOR(&f, f.b.msgs->len >= 2, 10000);
    g_assert_cmpuint(f.b.msgs->len, ==, 2);
    g_assert_true(msg_at(&f.b, 0)->binary);
    g_assert_cmpmem(msg_at(&f.b, 0)->data->data, msg_at(&f.b, 0)->data->len, buf, len);
    g_assert_cmpmem(msg_at(&f.b, 1)->data->data, 4, "tail", 4);
    g_free(buf);
    fixture_free(&f);
}

static void test_close_channel(void)
{
    Fixture f;
    fixture_new(&f, 0, 0, true);
    int sid = open_from_a(&f, "chat", true);
    int keep = open_from_a(&f, "keep", true);
    g_assert_cmpint(chorus_sctp_close_channel(f.a.s, (uint16_t)sid), ==, 0);
    g_assert_cmpint(chorus_sctp_close_channel(f.a.s, (uint16_t)sid), ==, -1);
    g_assert_cmpint(chorus_sctp_find_channel(f.a.s, "chat"), ==, -1);
    WAIT_FOR(&f, f.b.closes == 1, WAIT_MS);
    g_assert_cmpint(f.b.closes, ==, 1);
    g_assert_cmpint(f.b.close_stream, ==, sid);
    g_assert_cmpint(chorus_sctp_find_channel(f.b.s, "chat"), ==, -1);
    g_assert_cmpint(chorus_sctp_send(f.b.s, (uint16_t)sid, false, (const uint8_t *)"x", 1), ==, -1);
    /* The other channel is untouched, and the stream can be used again. */
    g_assert_cmpint(chorus_sctp_send(f.b.s, (uint16_t)keep, false, (const uint8_t *)"k", 1), ==, 0);
    WAIT_FOR(&f, f.a.msgs->len == 1, WAIT_MS);
    g_assert_cmpstr(msg_at(&f.a, 0)->label, ==, "keep");
    pump(&f, 50); /* let both directions of the reset finish */
    int again = open_from_a(&f, "again", true);
    g_assert_cmpint(again, ==, sid);
    g_assert_cmpint(f.a.closes, ==, 0);
    fixture_free(&f);
}

/* A channel opened before the association is up goes out when it comes up. */
static void test_open_before_up(void)
{
    Fixture f;
    fixture_new(&f, 0, 0, false);
    int sid = chorus_sctp_open_channel(f.a.s, "early", "p", false);
    g_assert_cmpint(sid, ==, 0);
    g_assert_cmpint(chorus_sctp_send(f.a.s, (uint16_t)sid, false, (const uint8_t *)"x", 1), ==, -1);
    g_assert_true(chorus_sctp_connect(f.a.s, NULL));
    g_assert_true(chorus_sctp_connect(f.b.s, NULL));
    WAIT_FOR(&f, f.a.opens == 1 && f.b.opens == 1, WAIT_MS);
    g_assert_cmpstr(f.b.open_label, ==, "early");
    g_assert_cmpstr(f.b.open_protocol, ==, "p");
    g_assert_cmpint(f.b.open_stream, ==, 0);
    fixture_free(&f);
}

/* Freed with packets on the wire, messages queued in usrsctp and timers pending: no
 * callback afterwards, on either side. */
static void test_free_with_traffic(void)
{
    Fixture f;
    fixture_new(&f, 0, 0, true);
    int sid = open_from_a(&f, "chat", true);
    int sid_u = open_from_a(&f, "u", false);
    uint8_t buf[1200];
    memset(buf, 0x5a, sizeof(buf));
    for (int i = 0; i < 50; i++) {
        chorus_sctp_send(f.a.s, (uint16_t)sid, true, buf, sizeof(buf));
        chorus_sctp_send(f.b.s, (uint16_t)sid_u, false, (const uint8_t *)"y", 1);
    }
    /* Half-way through the exchange. */
    for (int i = 0; i < 3; i++)
        g_main_context_iteration(f.ctx, FALSE);
    g_assert_cmpuint(g_queue_get_length(&f.wire), >, 0);
    peer_free(&f.a);
    /* B keeps going (its retransmissions hit a freed peer) then is freed too. */
    for (int i = 0; i < 20; i++)
        chorus_sctp_send(f.b.s, (uint16_t)sid, false, (const uint8_t *)"z", 1);
    pump(&f, 100);
    g_assert_cmpint(f.a.after_free, ==, 0);
    peer_free(&f.b);
    pump(&f, 300);
    fixture_free(&f);
}

/* A lone message is acknowledged by a delayed SACK, which usrsctp sends from its timer
 * thread: it must reach `send` on the owner context all the same. */
static void test_timer_thread_output(void)
{
    Fixture f;
    fixture_new(&f, 0, 0, true);
    int sid = open_from_a(&f, "chat", true);
    pump(&f, 400); /* everything settles */
    int before = f.b.packets;
    g_assert_cmpint(chorus_sctp_send(f.a.s, (uint16_t)sid, false, (const uint8_t *)"1", 1), ==, 0);
    WAIT_FOR(&f, f.b.msgs->len == 1, WAIT_MS);
    g_assert_cmpint(f.b.packets, ==, before); /* SACK not sent yet: delayed */
    WAIT_FOR(&f, f.b.packets > before, 2000);
    g_assert_cmpint(f.b.packets, >, before);
    g_assert_cmpint(f.b.foreign_thread, ==, 0);
    fixture_free(&f);
}

/* chorus_sctp_free from inside on_message: nothing after it. */
static void test_free_from_callback(void)
{
    Fixture f;
    fixture_new(&f, 0, 0, true);
    int sid = open_from_a(&f, "chat", true);
    f.b.free_on_message = true;
    for (int i = 0; i < 10; i++)
        g_assert_cmpint(chorus_sctp_send(f.a.s, (uint16_t)sid, false, (const uint8_t *)"m", 1), ==,
                        0);
    WAIT_FOR(&f, f.b.freed, WAIT_MS);
    g_assert_true(f.b.freed);
    pump(&f, 200);
    g_assert_cmpuint(f.b.msgs->len, ==, 1);
    g_assert_cmpint(f.b.after_free, ==, 0);
    fixture_free(&f);
}

/* Waits (bounded) until the timer thread is parked; then its tick count stays frozen. */
static void assert_timer_parks(void)
{
    gint64 end = g_get_monotonic_time() + (gint64)WAIT_MS * 1000;
    while (chorus_sctp_timer_active() && g_get_monotonic_time() < end)
        g_usleep(1000);
    g_assert_false(chorus_sctp_timer_active());
    uint64_t ticks = chorus_sctp_timer_ticks();
    g_usleep(50 * 1000); /* parked without a timeout: nothing may tick meanwhile */
    g_assert_false(chorus_sctp_timer_active());
    g_assert_cmpuint(chorus_sctp_timer_ticks(), ==, ticks);
}

/* usrsctp's clock is driven only while an association exists: the timer thread parks
 * with none, ticks while one lives, and parks again once it is freed (after a grace of
 * TIMER_GRACE_MS, 1 s, for usrsctp to free what was closed). */
static void test_timer_idles_without_association(void)
{
    assert_timer_parks(); /* earlier tests' associations are all freed */
    uint64_t before = chorus_sctp_timer_ticks();
    Fixture f;
    fixture_new(&f, 0, 0, true);
    WAIT_FOR(&f, chorus_sctp_timer_active() && chorus_sctp_timer_ticks() >= before + 3, WAIT_MS);
    g_assert_true(chorus_sctp_timer_active());
    g_assert_cmpuint(chorus_sctp_timer_ticks(), >=, before + 3);
    /* One association left: still ticking. */
    peer_free(&f.a);
    uint64_t mid = chorus_sctp_timer_ticks();
    WAIT_FOR(&f, chorus_sctp_timer_ticks() >= mid + 3, WAIT_MS);
    g_assert_true(chorus_sctp_timer_active());
    fixture_free(&f);
    assert_timer_parks();
    /* And it wakes again for the next one (an association still works). */
    fixture_new(&f, 0, 0, true);
    open_from_a(&f, "again", true);
    before = chorus_sctp_timer_ticks();
    WAIT_FOR(&f, chorus_sctp_timer_ticks() >= before + 3, WAIT_MS);
    g_assert_true(chorus_sctp_timer_active());
    fixture_free(&f);
    assert_timer_parks();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    test_thread = g_thread_self();
    g_assert_true(chorus_sctp_global_init(NULL));
    g_test_add_func("/sctp/open_channel", test_open_channel);
    g_test_add_func("/sctp/messages_both_ways", test_messages_both_ways);
    g_test_add_func("/sctp/unordered_all_delivered", test_unordered_all_delivered);
    g_test_add_func("/sctp/max_message_size", test_max_message_size);
    g_test_add_func("/sctp/large_message", test_large_message);
    g_test_add_func("/sctp/close_channel", test_close_channel);
    g_test_add_func("/sctp/open_before_up", test_open_before_up);
    g_test_add_func("/sctp/timer_thread_output", test_timer_thread_output);
    g_test_add_func("/sctp/free_with_traffic", test_free_with_traffic);
    g_test_add_func("/sctp/free_from_callback", test_free_from_callback);
    g_test_add_func("/sctp/timer_idles_without_association", test_timer_idles_without_association);
    int rc = g_test_run();
    chorus_sctp_global_cleanup();
    return rc;
}

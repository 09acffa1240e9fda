/* Per-thread batches of UDP datagrams sent through io_uring (src/net/udp_batch.c), over
 * 127.0.0.1. "Nothing readable yet" is checked with a non-blocking recv; "readable" waits
 * at most 5 s for the datagram (loopback delivers it during the send, but the wait keeps
 * a loaded machine from failing the test). Where io_uring is unavailable the tests that
 * need a ring are skipped. */
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/udp_batch.h"

#define N_SOCKS 50

typedef struct {
    int fd;
    struct sockaddr_in addr; /* where it is bound */
} Sock;

static void sock_open(Sock *s)
{
    socklen_t len = sizeof s->addr;
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(s->fd, >=, 0);
    memset(&s->addr, 0, sizeof s->addr);
    s->addr.sin_family = AF_INET;
    s->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(s->fd, (struct sockaddr *)&s->addr, sizeof s->addr), ==, 0);
    g_assert_cmpint(getsockname(s->fd, (struct sockaddr *)&s->addr, &len), ==, 0);
}

static int send_to(int fd, const struct sockaddr_in *to, const void *buf, size_t len)
{
    return chorus_udp_batch_send(fd, buf, len, (const struct sockaddr *)to, sizeof *to);
}

static void send_text(int fd, const Sock *to, const char *text)
{
    g_assert_cmpint(send_to(fd, &to->addr, text, strlen(text)), ==, 0);
}

/* Nothing is waiting on s now. */
static void assert_empty(const Sock *s)
{
    char c;
    g_assert_cmpint(recv(s->fd, &c, 1, MSG_DONTWAIT), ==, -1);
    g_assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* The next datagram on s (waiting up to 5 s): its length, or -1 when none came. */
static ssize_t recv_wait(const Sock *s, void *buf, size_t cap)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, 5000) != 1)
        return -1;
    return recv(s->fd, buf, cap, MSG_DONTWAIT);
}

static void expect_text(const Sock *s, const char *text)
{
    char buf[64];
    ssize_t n = recv_wait(s, buf, sizeof buf);
    g_assert_cmpint(n, ==, (ssize_t)strlen(text));
    g_assert_cmpmem(buf, (gsize)n, text, strlen(text));
}

/* Called inside a batch: FALSE (and the test skipped) where there is no ring. */
static gboolean need_ring(void)
{
    if (chorus_udp_batch_active())
        return TRUE;
    g_test_skip("io_uring is unavailable here (or disabled): batches send at once");
    return FALSE;
}

/* ---- outside a batch ---------------------------------------------------------------- */

static gpointer send_from_thread(gpointer data)
{
    Sock *p = data; /* p[0] sends to p[1] */
    return GINT_TO_POINTER(send_to(p[0].fd, &p[1].addr, "other thread", 12));
}

/* Outside a batch a datagram goes at once (before and after the thread's first batch),
 * failures are reported by the call itself, and another thread's open batch changes
 * nothing for this one (a fresh thread has no batch state at all). */
static void test_send_outside_batch(void)
{
    Sock p[2], dead;
    struct sockaddr_in port0;
    sock_open(&p[0]);
    sock_open(&p[1]);
    guint64 sent = chorus_udp_batch_sent();
    GThread *t = g_thread_new("fresh", send_from_thread, p);
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t)), ==, 0);
    expect_text(&p[1], "other thread");
    chorus_udp_batch_begin(); /* an empty batch: this thread now has its state */
    chorus_udp_batch_end();
    send_text(p[0].fd, &p[1], "plain send");
    expect_text(&p[1], "plain send");
    assert_empty(&p[1]);
    sock_open(&dead);
    close(dead.fd);
    errno = 0;
    g_assert_cmpint(send_to(dead.fd, &p[1].addr, "x", 1), ==, -1);
    g_assert_cmpint(errno, ==, EBADF);
    port0 = p[1].addr;
    port0.sin_port = 0;
    errno = 0;
    g_assert_cmpint(send_to(p[0].fd, &port0, "x", 1), ==, -1);
    g_assert_cmpint(errno, ==, EINVAL);
    g_assert_cmpuint(chorus_udp_batch_sent(), ==, sent); /* none went through a batch */

    chorus_udp_batch_begin(); /* this thread's open batch does not hold another's sends */
    gboolean ring = chorus_udp_batch_active();
    send_text(p[0].fd, &p[1], "queued");
    if (!ring)
        expect_text(&p[1], "queued"); /* no ring: at once */
    t = g_thread_new("fresh", send_from_thread, p);
    g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t)), ==, 0);
    expect_text(&p[1], "other thread");
    assert_empty(&p[1]);
    chorus_udp_batch_end();
    if (ring)
        expect_text(&p[1], "queued");
    assert_empty(&p[1]);
    close(p[0].fd);
    close(p[1].fd);
}

/* ---- batches ------------------------------------------------------------------------ */

/* 50 datagrams to 50 sockets: none before the end, each exactly once after it, with its
 * own bytes, in a handful of submissions. */
static void test_batch_deferred(void)
{
    Sock tx[N_SOCKS], rx[N_SOCKS];
    char text[N_SOCKS][32];
    for (int i = 0; i < N_SOCKS; i++) {
        sock_open(&tx[i]);
        sock_open(&rx[i]);
        g_snprintf(text[i], sizeof text[i], "datagram %02d for %d", i, rx[i].fd);
    }
    guint64 submits = chorus_udp_batch_submits(), sent = chorus_udp_batch_sent();
    guint64 errors = chorus_udp_batch_errors();
    chorus_udp_batch_begin();
    gboolean ring = need_ring();
    if (ring) {
        for (int i = 0; i < N_SOCKS; i++)
            send_text(tx[i].fd, &rx[i], text[i]);
        for (int i = 0; i < N_SOCKS; i++)
            assert_empty(&rx[i]);
        g_assert_cmpuint(chorus_udp_batch_submits(), ==, submits);
    }
    chorus_udp_batch_end();
    if (ring) {
        for (int i = 0; i < N_SOCKS; i++) {
            expect_text(&rx[i], text[i]);
            assert_empty(&rx[i]);
        }
        g_assert_cmpuint(chorus_udp_batch_submits() - submits, >=, 1);
        g_assert_cmpuint(chorus_udp_batch_submits() - submits, <=, 3);
        g_assert_cmpuint(chorus_udp_batch_sent() - sent, ==, N_SOCKS);
        g_assert_cmpuint(chorus_udp_batch_errors(), ==, errors);
    }
    for (int i = 0; i < N_SOCKS; i++) {
        close(tx[i].fd);
        close(rx[i].fd);
    }
}

/* 200 datagrams in one batch (more than the ring's slots) to 4 sockets: all arrive,
 * each socket's in the order they were sent. */
static void test_batch_more_than_ring(void)
{
    enum { N_RX = 4, PER_RX = 50 };
    Sock tx, rx[N_RX];
    char text[32];
    sock_open(&tx);
    for (int r = 0; r < N_RX; r++)
        sock_open(&rx[r]);
    guint64 sent = chorus_udp_batch_sent(), errors = chorus_udp_batch_errors();
    chorus_udp_batch_begin();
    gboolean ring = need_ring();
    for (int i = 0; ring && i < N_RX * PER_RX; i++) {
        g_snprintf(text, sizeof text, "to %d number %03d", i % N_RX, i / N_RX);
        send_text(tx.fd, &rx[i % N_RX], text);
    }
    chorus_udp_batch_end();
    for (int i = 0; ring && i < N_RX * PER_RX; i++) {
        g_snprintf(text, sizeof text, "to %d number %03d", i % N_RX, i / N_RX);
        expect_text(&rx[i % N_RX], text);
    }
    for (int r = 0; ring && r < N_RX; r++)
        assert_empty(&rx[r]);
    if (ring) {
        g_assert_cmpuint(chorus_udp_batch_sent() - sent, ==, N_RX * PER_RX);
        g_assert_cmpuint(chorus_udp_batch_errors(), ==, errors);
    }
    close(tx.fd);
    for (int r = 0; r < N_RX; r++)
        close(rx[r].fd);
}

/* Batches nest: only the outermost end sends. */
static void test_batch_nesting(void)
{
    Sock tx, rx;
    sock_open(&tx);
    sock_open(&rx);
    chorus_udp_batch_begin();
    chorus_udp_batch_begin();
    if (need_ring()) {
        send_text(tx.fd, &rx, "nested");
        chorus_udp_batch_end();
        assert_empty(&rx);
        chorus_udp_batch_end();
        expect_text(&rx, "nested");
        assert_empty(&rx);
    } else {
        chorus_udp_batch_end();
        chorus_udp_batch_end();
    }
    close(tx.fd);
    close(rx.fd);
}

/* A flush sends what is queued now; the batch stays open and queues again. */
static void test_batch_flush(void)
{
    Sock tx, rx;
    sock_open(&tx);
    sock_open(&rx);
    chorus_udp_batch_begin();
    gboolean ring = need_ring();
    if (ring) {
        send_text(tx.fd, &rx, "first");
        send_text(tx.fd, &rx, "second");
        assert_empty(&rx);
        chorus_udp_batch_flush();
        expect_text(&rx, "first");
        expect_text(&rx, "second");
        assert_empty(&rx);
        send_text(tx.fd, &rx, "third");
        assert_empty(&rx);
    }
    chorus_udp_batch_end();
    if (ring) {
        expect_text(&rx, "third");
        assert_empty(&rx);
    }
    close(tx.fd);
    close(rx.fd);
}

/* chorus_udp_batch_forget drops what is queued on one descriptor (a socket found closed,
 * whose number may be another's): nothing of it leaves, the rest does, each dropped one
 * counts as an error and not as sent. */
static void test_batch_forget(void)
{
    Sock a, b, rx;
    sock_open(&a);
    sock_open(&b);
    sock_open(&rx);
    chorus_udp_batch_begin();
    gboolean ring = need_ring();
    guint64 errors = chorus_udp_batch_errors(), sent = chorus_udp_batch_sent();
    if (ring) {
        send_text(a.fd, &rx, "from a 1");
        send_text(b.fd, &rx, "from b");
        send_text(a.fd, &rx, "from a 2");
        chorus_udp_batch_forget(a.fd);
    }
    chorus_udp_batch_end();
    if (ring) {
        expect_text(&rx, "from b");
        assert_empty(&rx);
        g_assert_cmpuint(chorus_udp_batch_errors() - errors, ==, 2);
        g_assert_cmpuint(chorus_udp_batch_sent() - sent, ==, 1);
    }
    close(a.fd);
    close(b.fd);
    close(rx.fd);
}

/* A datagram too large for a slot (> 1500 bytes) goes at once, after the datagrams queued
 * before it for the same socket; one of 1500 bytes is still queued. */
static void test_batch_large_datagram(void)
{
    enum { BIG = 1600, SLOT = 1500 };
    Sock tx, rx;
    char *big = g_malloc(BIG), *got = g_malloc(BIG + 1);
    sock_open(&tx);
    sock_open(&rx);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)('A' + i % 26);
    chorus_udp_batch_begin();
    gboolean ring = need_ring();
    if (ring) {
        send_text(tx.fd, &rx, "small 1");
        send_text(tx.fd, &rx, "small 2");
        assert_empty(&rx);
        g_assert_cmpint(send_to(tx.fd, &rx.addr, big, BIG), ==, 0);
        expect_text(&rx, "small 1"); /* all before the end */
        expect_text(&rx, "small 2");
        g_assert_cmpint(recv_wait(&rx, got, BIG + 1), ==, BIG);
        g_assert_cmpmem(got, BIG, big, BIG);
        g_assert_cmpint(send_to(tx.fd, &rx.addr, big, SLOT), ==, 0);
        send_text(tx.fd, &rx, "small 3");
        assert_empty(&rx);
    }
    chorus_udp_batch_end();
    if (ring) {
        g_assert_cmpint(recv_wait(&rx, got, BIG + 1), ==, SLOT);
        g_assert_cmpmem(got, SLOT, big, SLOT);
        expect_text(&rx, "small 3");
        assert_empty(&rx);
    }
    g_free(big);
    g_free(got);
    close(tx.fd);
    close(rx.fd);
}

/* Entries the kernel refuses (a closed descriptor, destination port 0) are counted at the
 * end and do not keep the others of the batch from going. */
static void test_batch_errors(void)
{
    Sock tx, rx1, rx2, dead;
    guint64 errors = chorus_udp_batch_errors();
    chorus_udp_batch_begin(); /* first: the thread's ring is open before the sockets */
    gboolean ring = need_ring();
    sock_open(&tx);
    sock_open(&rx1);
    sock_open(&rx2);
    sock_open(&dead);
    close(dead.fd); /* no descriptor is opened again before the end */
    struct sockaddr_in port0 = rx1.addr;
    port0.sin_port = 0;
    if (ring) {
        send_text(tx.fd, &rx1, "before");
        g_assert_cmpint(send_to(dead.fd, &rx1.addr, "closed", 6), ==, 0); /* queued */
        g_assert_cmpint(send_to(tx.fd, &port0, "port 0", 6), ==, 0);
        send_text(tx.fd, &rx2, "after");
        g_assert_cmpuint(chorus_udp_batch_errors(), ==, errors);
    }
    chorus_udp_batch_end();
    if (ring) {
        g_assert_cmpuint(chorus_udp_batch_errors() - errors, ==, 2);
        expect_text(&rx1, "before");
        expect_text(&rx2, "after");
        assert_empty(&rx1);
        assert_empty(&rx2);
    }
    close(tx.fd);
    close(rx1.fd);
    close(rx2.fd);
}

/* CHORUS_UDP_BATCH=0 (read at the process's first batch): no ring, and datagrams sent
 * inside a batch go at once. */
static void test_env_disables_ring(void)
{
    if (g_test_subprocess()) {
        Sock tx, rx;
        g_setenv("CHORUS_UDP_BATCH", "0", TRUE);
        sock_open(&tx);
        sock_open(&rx);
        chorus_udp_batch_begin();
        g_assert_false(chorus_udp_batch_active());
        send_text(tx.fd, &rx, "not batched");
        expect_text(&rx, "not batched"); /* before the end */
        chorus_udp_batch_end();
        g_assert_false(chorus_udp_batch_active());
        g_assert_cmpuint(chorus_udp_batch_submits(), ==, 0);
        g_assert_cmpuint(chorus_udp_batch_sent(), ==, 0);
        assert_empty(&rx);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    chorus_udp_batch_begin();
    if (!chorus_udp_batch_active())
        g_test_message("io_uring is unavailable here anyway: the variable changed nothing");
    chorus_udp_batch_end();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/udp-batch/send-outside-batch", test_send_outside_batch);
    g_test_add_func("/udp-batch/deferred-to-end", test_batch_deferred);
    g_test_add_func("/udp-batch/more-than-ring", test_batch_more_than_ring);
    g_test_add_func("/udp-batch/nesting", test_batch_nesting);
    g_test_add_func("/udp-batch/flush", test_batch_flush);
    g_test_add_func("/udp-batch/forget", test_batch_forget);
    g_test_add_func("/udp-batch/large-datagram", test_batch_large_datagram);
    g_test_add_func("/udp-batch/errors", test_batch_errors);
    g_test_add_func("/udp-batch/env-disables-ring", test_env_disables_ring);
    return g_test_run();
}

/* Child GMainContexts driven through epoll from one source of a parent context
 * (src/util/ctxmux.c). Only the parent context is ever iterated here, so a child's source
 * runs only if the mux drove its child. Waits are bounded (a 5 s guard on the parent) and
 * assert on state, never on durations. */
#include <glib.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/ctxmux.h"

#define N_MANY 100

/* A child with one datagram socket pair: fds[0] is watched in the child, the test writes
 * to fds[1]. */
typedef struct Peer Peer;
struct Peer {
    ChorusCtxChild *child;
    GSource *src; /* our reference */
    int fds[2];
    gint calls;           /* callback runs */
    gint got;             /* datagrams read */
    int value;            /* content of the last one */
    Peer *victim;         /* unref_cb: unrefs this peer's child (if still there) */
    gboolean unref_self;  /* unref_cb: unrefs its own child too */
    guint children_after; /* chorus_ctx_mux_children seen right after the unref */
    gboolean *arm;        /* unref_cb: set to TRUE before the unrefs */
    GMainContext *parent;
};

static gint dispatched; /* callback runs of every peer */

static gboolean flag_set(gpointer data)
{
    *(gboolean *)data = TRUE;
    return G_SOURCE_REMOVE;
}

/* Iterates parent (blocking) until *value reaches target or 5 s pass; TRUE if reached. */
static gboolean spin_parent(GMainContext *parent, gint *value, gint target)
{
    gboolean expired = FALSE;
    GSource *guard = g_timeout_source_new(5000);
    g_source_set_callback(guard, flag_set, &expired, NULL);
    g_source_attach(guard, parent);
    while (g_atomic_int_get(value) < target && !expired)
        g_main_context_iteration(parent, TRUE);
    g_source_destroy(guard);
    g_source_unref(guard);
    return g_atomic_int_get(value) >= target;
}

/* Runs whatever parent has ready, without blocking (bounded). */
static void settle(GMainContext *parent)
{
    for (int i = 0; i < 1000 && g_main_context_iteration(parent, FALSE); i++)
        ;
}

/* The parent has gone quiet: nothing of its children is due or ready (no busy loop). */
static void assert_quiet(GMainContext *parent)
{
    settle(parent);
    g_assert_false(g_main_context_iteration(parent, FALSE));
}

static void peer_read(Peer *p, int fd)
{
    int v;
    p->calls++;
    g_atomic_int_inc(&dispatched);
    if (recv(fd, &v, sizeof v, MSG_DONTWAIT) == (ssize_t)sizeof v) {
        p->got++;
        p->value = v;
    }
}

static gboolean peer_cb(gint fd, GIOCondition cond, gpointer data)
{
    peer_read(data, fd);
    return G_SOURCE_CONTINUE;
}

static void peer_watch(Peer *p, GUnixFDSourceFunc cb)
{
    p->src = g_unix_fd_source_new(p->fds[0], G_IO_IN);
    g_source_set_callback(p->src, G_SOURCE_FUNC(cb), p, NULL);
    g_source_attach(p->src, chorus_ctx_child_context(p->child));
}

static void peer_open(Peer *p, GMainContext *parent, GUnixFDSourceFunc cb)
{
    memset(p, 0, sizeof *p);
    p->parent = parent;
    p->child = chorus_ctx_mux_child_new(parent);
    g_assert_nonnull(p->child);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p->fds), ==, 0);
    peer_watch(p, cb);
}

static void peer_send(Peer *p, int v)
{
    g_assert_cmpint(send(p->fds[1], &v, sizeof v, 0), ==, (ssize_t)sizeof v);
}

static void peer_close(Peer *p)
{
    chorus_ctx_child_unref(p->child); /* NULL when a callback already did */
    g_source_unref(p->src);
    close(p->fds[0]);
    close(p->fds[1]);
}

/* ---- timeouts ----------------------------------------------------------------------- */

static gint n_fired, fired[4];

static gboolean timeout_cb(gpointer data)
{
    fired[n_fired++] = GPOINTER_TO_INT(data);
    return G_SOURCE_REMOVE;
}

static void add_timeout(ChorusCtxChild *c, guint ms, int id)
{
    GSource *s = g_timeout_source_new(ms);
    g_source_set_callback(s, timeout_cb, GINT_TO_POINTER(id), NULL);
    g_source_attach(s, chorus_ctx_child_context(c));
    g_source_unref(s);
}

/* Each child's timeout fires, driven by the parent alone, at its own deadline: the long
 * one's child comes first in the mux, so running both at the later deadline (or in one
 * pass) would give the wrong order. */
static void test_child_timeout(void)
{
    GMainContext *parent = g_main_context_new();
    ChorusCtxChild *slow = chorus_ctx_mux_child_new(parent);
    ChorusCtxChild *fast = chorus_ctx_mux_child_new(parent);
    g_assert_nonnull(slow);
    g_assert_nonnull(fast);
    n_fired = 0;
    add_timeout(slow, 1000, 2);
    add_timeout(fast, 10, 1);
    g_assert_true(spin_parent(parent, &n_fired, 1));
    g_assert_cmpint(fired[0], ==, 1);
    g_assert_true(spin_parent(parent, &n_fired, 2));
    g_assert_cmpint(fired[1], ==, 2);
    assert_quiet(parent);
    g_assert_cmpint(n_fired, ==, 2); /* each once */
    chorus_ctx_child_unref(slow);
    chorus_ctx_child_unref(fast);
    g_main_context_unref(parent);
}

/* ---- descriptors -------------------------------------------------------------------- */

/* 100 children, one socket each: every datagram is dispatched once, in its own child,
 * after the children were set up and the parent went quiet (so through epoll). */
static void test_child_fds(void)
{
    GMainContext *parent = g_main_context_new();
    Peer *peers = g_new(Peer, N_MANY);
    for (int i = 0; i < N_MANY; i++)
        peer_open(&peers[i], parent, peer_cb);
    settle(parent);
    dispatched = 0;
    for (int i = 0; i < N_MANY; i++)
        peer_send(&peers[i], 1000 + i);
    g_assert_true(spin_parent(parent, &dispatched, N_MANY));
    assert_quiet(parent);
    g_assert_cmpint(dispatched, ==, N_MANY);
    for (int i = 0; i < N_MANY; i++) {
        g_assert_cmpint(peers[i].calls, ==, 1);
        g_assert_cmpint(peers[i].got, ==, 1);
        g_assert_cmpint(peers[i].value, ==, 1000 + i);
        peer_close(&peers[i]);
    }
    g_free(peers);
    g_main_context_unref(parent);
}

/* Descriptors the parent would poll now (one manual round, no waiting). */
static gint parent_poll_fds(GMainContext *parent)
{
    GPollFD fds[256];
    gint prio, timeout;
    memset(fds, 0, sizeof fds);
    g_assert_true(g_main_context_acquire(parent));
    g_main_context_prepare(parent, &prio);
    gint n = g_main_context_query(parent, prio, &timeout, fds, G_N_ELEMENTS(fds));
    g_main_context_check(parent, prio, fds, MIN(n, (gint)G_N_ELEMENTS(fds)));
    g_main_context_dispatch(parent);
    g_main_context_release(parent);
    return n;
}

static void test_parent_poll_set(void)
{
    GMainContext *parent = g_main_context_new();
    gint before = parent_poll_fds(parent);
    g_assert_cmpuint(chorus_ctx_mux_children(parent), ==, 0);
    Peer *peers = g_new(Peer, N_MANY);
    for (int i = 0; i < N_MANY; i++)
        peer_open(&peers[i], parent, peer_cb);
    settle(parent);
    gint with = parent_poll_fds(parent);
    g_assert_cmpint(with, >=, before);
    g_assert_cmpint(with, <=, before + 1); /* the mux's epoll descriptor */
    g_assert_cmpuint(chorus_ctx_mux_children(parent), ==, N_MANY);
    for (int i = 0; i < N_MANY; i++)
        peer_close(&peers[i]);
    g_main_context_iteration(parent, FALSE);
    g_assert_cmpuint(chorus_ctx_mux_children(parent), ==, 0);
    g_assert_cmpint(parent_poll_fds(parent), <=, before + 1);
    g_free(peers);
    g_main_context_unref(parent);
}

/* ---- another thread ----------------------------------------------------------------- */

typedef struct {
    GMainContext *child_ctx;
    gint parent_blocking;
    gint ran;
    GThread *ran_on;
} IdleJob;

static gboolean idle_cb(gpointer data)
{
    IdleJob *j = data;
    j->ran_on = g_thread_self();
    g_atomic_int_inc(&j->ran);
    return G_SOURCE_REMOVE;
}

static gpointer attach_idle_thread(gpointer data)
{
    IdleJob *j = data;
    while (!g_atomic_int_get(&j->parent_blocking))
        g_usleep(1000);
    g_usleep(50000); /* most likely in its poll by now; if not, the wakeup waits for it */
    GSource *s = g_idle_source_new();
    g_source_set_callback(s, idle_cb, j, NULL);
    g_source_attach(s, j->child_ctx);
    g_source_unref(s);
    return NULL;
}

/* An idle attached to a child from another thread wakes the parent's thread out of its
 * blocking iteration (through the child's wakeup descriptor in epoll) and runs there. */
static void test_idle_from_thread(void)
{
    GMainContext *parent = g_main_context_new();
    ChorusCtxChild *c = chorus_ctx_mux_child_new(parent);
    g_assert_nonnull(c);
    settle(parent);
    IdleJob j = {.child_ctx = chorus_ctx_child_context(c)};
    GThread *t = g_thread_new("attach-idle", attach_idle_thread, &j);
    g_atomic_int_set(&j.parent_blocking, 1);
    g_assert_true(spin_parent(parent, &j.ran, 1)); /* the 5 s guard alone would not run it */
    g_thread_join(t);
    settle(parent);
    g_assert_cmpint(j.ran, ==, 1);
    g_assert_true(j.ran_on == g_thread_self());
    chorus_ctx_child_unref(c);
    g_main_context_unref(parent);
}

/* ---- unref from inside a dispatch --------------------------------------------------- */

static gboolean unref_cb(gint fd, GIOCondition cond, gpointer data)
{
    Peer *p = data;
    peer_read(p, fd);
    if (p->arm)
        *p->arm = TRUE;
    if (p->victim && p->victim->child) {
        chorus_ctx_child_unref(p->victim->child);
        p->victim->child = NULL;
        p->children_after = chorus_ctx_mux_children(p->parent);
    }
    if (p->unref_self && p->child) {
        chorus_ctx_child_unref(p->child);
        p->child = NULL;
        p->children_after = chorus_ctx_mux_children(p->parent);
    }
    return G_SOURCE_CONTINUE;
}

/* Keeps a child's context (and its sources) alive past the child's last unref, so that
 * driving the child afterwards would show as a callback run. */
static GMainContext *keep_context(Peer *p)
{
    return g_main_context_ref(chorus_ctx_child_context(p->child));
}

/* Two children with a datagram each, ready in the same epoll round, each unrefs the
 * other: only the first runs. A third child (the sentinel, written to last) proves the
 * parent went through the rounds in which the other would have run. */
static void test_unref_other_inside_dispatch(void)
{
    GMainContext *parent = g_main_context_new();
    Peer x, y, z;
    peer_open(&x, parent, unref_cb);
    peer_open(&y, parent, unref_cb);
    peer_open(&z, parent, peer_cb);
    GMainContext *keep_x = keep_context(&x), *keep_y = keep_context(&y);
    x.victim = &y;
    y.victim = &x;
    settle(parent);
    dispatched = 0;
    peer_send(&x, 1);
    peer_send(&y, 2);
    g_assert_true(spin_parent(parent, &dispatched, 1));
    Peer *first = x.calls ? &x : &y, *second = x.calls ? &y : &x;
    g_assert_null(second->child);
    g_assert_cmpuint(first->children_after, ==, 2); /* counted out at once */
    peer_send(second, 3);
    peer_send(&z, 4);
    g_assert_true(spin_parent(parent, &z.calls, 1));
    settle(parent);
    g_assert_cmpint(first->calls, ==, 1);
    g_assert_cmpint(second->calls, ==, 0);
    g_assert_cmpuint(chorus_ctx_mux_children(parent), ==, 2);
    peer_close(&x);
    peer_close(&y);
    peer_close(&z);
    g_main_context_unref(keep_x);
    g_main_context_unref(keep_y);
    g_main_context_unref(parent);
}

/* A child's callback drops the child's last reference: the callback returns normally,
 * and the child's sources never run again. */
static void test_unref_self_inside_dispatch(void)
{
    GMainContext *parent = g_main_context_new();
    Peer p, z;
    peer_open(&p, parent, unref_cb);
    peer_open(&z, parent, peer_cb);
    GMainContext *keep = keep_context(&p);
    p.unref_self = TRUE;
    settle(parent);
    peer_send(&p, 1);
    g_assert_true(spin_parent(parent, &p.calls, 1));
    g_assert_null(p.child);
    g_assert_cmpuint(p.children_after, ==, 1);
    peer_send(&p, 2);
    peer_send(&z, 3);
    g_assert_true(spin_parent(parent, &z.calls, 1));
    settle(parent);
    g_assert_cmpint(p.calls, ==, 1);
    g_assert_cmpint(p.got, ==, 1);
    g_assert_cmpuint(chorus_ctx_mux_children(parent), ==, 1);
    peer_close(&p);
    peer_close(&z);
    g_main_context_unref(keep);
    g_main_context_unref(parent);
}

/* A source that asks to be polled again at once (timeout 0) and is ready only once armed:
 * its child is due in every pass of the mux. */
typedef struct {
    GSource base;
    gboolean armed;
} ArmedSource;

static gboolean armed_prepare(GSource *s, gint *timeout)
{
    *timeout = 0;
    return FALSE;
}

static gboolean armed_check(GSource *s)
{
    return ((ArmedSource *)s)->armed;
}

static gboolean armed_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
    return cb(data);
}

static GSourceFuncs armed_funcs = {armed_prepare, armed_check, armed_dispatch, NULL, NULL, NULL};

/* The victim is due by time in the same mux pass in which another child's callback arms
 * its source and then drops it (the killer is due as well, so the pass runs its due
 * children): the pass must skip the victim. */
static void test_unref_due_inside_dispatch(void)
{
    GMainContext *parent = g_main_context_new();
    Peer k, v;
    gboolean victim_ran = FALSE;
    peer_open(&k, parent, unref_cb);
    peer_open(&v, parent, peer_cb);
    GMainContext *keep = keep_context(&v);
    ArmedSource *a = (ArmedSource *)g_source_new(&armed_funcs, sizeof(ArmedSource));
    g_source_set_callback(&a->base, flag_set, &victim_ran, NULL);
    g_source_attach(&a->base, keep);
    GSource *due = g_source_new(&armed_funcs, sizeof(ArmedSource)); /* never armed */
    g_source_attach(due, chorus_ctx_child_context(k.child));        /* the killer is due too */
    k.victim = &v;
    k.arm = &a->armed;
    settle(parent);
    peer_send(&k, 1);
    g_assert_true(spin_parent(parent, &k.calls, 1));
    g_assert_null(v.child);
    settle(parent);
    g_assert_false(victim_ran);
    g_assert_cmpuint(chorus_ctx_mux_children(parent), ==, 1);
    peer_close(&k);
    peer_close(&v);
    g_source_unref(&a->base);
    g_source_unref(due);
    g_main_context_unref(keep);
    g_main_context_unref(parent);
}

/* ---- descriptor reuse --------------------------------------------------------------- */

static gboolean reused_naturally;

/* Gives p a new socket pair whose watched end has number fd (the kernel's choice, or
 * forced with dup2), watched in p's child. */
static void peer_renew(Peer *p, int fd)
{
    int nfds[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, nfds), ==, 0);
    reused_naturally = nfds[0] == fd;
    if (!reused_naturally) {
        g_assert_cmpint(dup2(nfds[0], fd), ==, fd);
        close(nfds[0]);
    }
    p->fds[0] = fd;
    p->fds[1] = nfds[1];
    peer_watch(p, peer_cb);
}

/* First datagram: the source goes, its socket is closed, and a new socket under the same
 * number gets a new source in the same child. */
static gboolean reuse_cb(gint fd, GIOCondition cond, gpointer data)
{
    Peer *p = data;
    peer_read(p, fd);
    g_source_destroy(p->src);
    g_source_unref(p->src);
    close(p->fds[0]);
    close(p->fds[1]);
    peer_renew(p, fd);
    return G_SOURCE_REMOVE;
}

static void test_fd_reuse(void)
{
    GMainContext *parent = g_main_context_new();
    Peer p;
    peer_open(&p, parent, reuse_cb);
    int old_fd = p.fds[0];
    settle(parent);
    peer_send(&p, 1);
    g_assert_true(spin_parent(parent, &p.calls, 1));
    g_assert_cmpint(p.fds[0], ==, old_fd);
    if (!reused_naturally)
        g_test_message("socketpair() did not reuse descriptor %d: forced with dup2", old_fd);
    settle(parent);
    peer_send(&p, 2); /* to the new socket: must reach the new source */
    g_assert_true(spin_parent(parent, &p.calls, 2));
    g_assert_cmpint(p.got, ==, 2);
    g_assert_cmpint(p.value, ==, 2);
    peer_send(&p, 3); /* and keeps doing so */
    g_assert_true(spin_parent(parent, &p.calls, 3));
    g_assert_cmpint(p.value, ==, 3);
    peer_close(&p);
    g_main_context_unref(parent);
}

/* A descriptor number passes to another child: A's socket is closed, a new socket gets
 * the number and B watches it (B registers it first), then A's source goes: A dropping
 * its registration of the number must leave B's. */
static void test_fd_to_other_child(void)
{
    GMainContext *parent = g_main_context_new();
    Peer a, b;
    peer_open(&a, parent, peer_cb);
    peer_open(&b, parent, peer_cb);
    settle(parent);
    int fd = a.fds[0];
    g_source_destroy(b.src);
    g_source_unref(b.src);
    close(b.fds[0]);
    close(b.fds[1]);
    close(a.fds[0]); /* its source stays a moment */
    a.fds[0] = -1;
    peer_renew(&b, fd);
    settle(parent); /* B registers the number */
    g_source_destroy(a.src);
    settle(parent); /* A drops its own */
    peer_send(&b, 1);
    g_assert_true(spin_parent(parent, &b.calls, 1));
    g_assert_cmpint(b.value, ==, 1);
    g_assert_cmpint(a.calls, ==, 0);
    peer_close(&a);
    peer_close(&b);
    g_main_context_unref(parent);
}

/* ---- diagnostics -------------------------------------------------------------------- */

static void test_iterations(void)
{
    GMainContext *parent = g_main_context_new();
    g_assert_cmpuint(chorus_ctx_mux_iterations(parent), ==, 0); /* no mux yet */
    Peer p;
    peer_open(&p, parent, peer_cb);
    settle(parent);
    guint64 idle = chorus_ctx_mux_iterations(parent);
    for (int i = 0; i < 5; i++)
        g_main_context_iteration(parent, FALSE);
    g_assert_cmpuint(chorus_ctx_mux_iterations(parent), ==, idle); /* nothing ready */
    for (int i = 1; i <= 3; i++) {
        peer_send(&p, i);
        g_assert_true(spin_parent(parent, &p.calls, i));
        g_assert_cmpuint(chorus_ctx_mux_iterations(parent), >=, idle + (guint64)i);
    }
    g_assert_cmpint(p.got, ==, 3);
    assert_quiet(parent);
    peer_close(&p);
    g_main_context_unref(parent);
}

/* ---- a descriptor hook ---------------------------------------------------------------- */

typedef struct {
    gint calls; /* hook runs */
    gint taken; /* datagrams the hook read */
} Hook;

static gboolean hook_fn(int fd, gpointer user)
{
    Hook *h = user;
    int v;
    h->calls++;
    if (recv(fd, &v, sizeof v, MSG_PEEK | MSG_DONTWAIT) != (ssize_t)sizeof v || (v & 1))
        return FALSE; /* odd: the child's source reads it */
    g_assert_cmpint(recv(fd, &v, sizeof v, MSG_DONTWAIT), ==, (ssize_t)sizeof v);
    h->taken++;
    return TRUE;
}

/* A hook on the child's descriptor sees its readiness first: what it claims never reaches
 * the child's source, what it leaves does, and without the hook everything does. */
static void test_fd_hook(void)
{
    GMainContext *parent = g_main_context_new();
    Peer p;
    Hook h = {0};
    peer_open(&p, parent, peer_cb);
    settle(parent);
    chorus_ctx_child_set_fd_hook(p.child, p.fds[0], hook_fn, &h);
    peer_send(&p, 2);
    g_assert_true(spin_parent(parent, &h.taken, 1));
    settle(parent);
    g_assert_cmpint(p.calls, ==, 0); /* claimed: the source did not run */
    peer_send(&p, 3);
    g_assert_true(spin_parent(parent, &p.got, 1));
    g_assert_cmpint(p.value, ==, 3);
    g_assert_cmpint(h.taken, ==, 1);
    chorus_ctx_child_set_fd_hook(p.child, -1, NULL, NULL);
    gint hook_calls = h.calls;
    peer_send(&p, 4);
    g_assert_true(spin_parent(parent, &p.got, 2));
    g_assert_cmpint(p.value, ==, 4);
    g_assert_cmpint(h.calls, ==, hook_calls); /* removed: not called again */
    assert_quiet(parent);
    peer_close(&p);
    g_main_context_unref(parent);
}

/* ---- a nested loop on the parent --------------------------------------------------- */

static gboolean nested_cb(gint fd, GIOCondition cond, gpointer data)
{
    Peer *p = data;
    gboolean done = FALSE;
    peer_read(p, fd);
    if (p->calls > 1)
        return G_SOURCE_CONTINUE; /* re-entered: counted, no second nested loop */
    GSource *s = g_idle_source_new();
    g_source_set_callback(s, flag_set, &done, NULL);
    g_source_attach(s, p->parent);
    g_source_unref(s);
    for (int i = 0; i < 1000 && !done; i++) /* iterates the parent from inside the child */
        g_main_context_iteration(p->parent, TRUE);
    return G_SOURCE_CONTINUE;
}

/* A child's callback runs a nested loop on the parent: the nested loop must not drive
 * the children again, least of all the one inside its callback (mux_dispatch returns at
 * once when re-entered). Run in a subprocess: GLib aborts on such a re-entry. */
static void test_nested_parent_loop(void)
{
    if (g_test_subprocess()) {
        GMainContext *parent = g_main_context_new();
        Peer p;
        peer_open(&p, parent, nested_cb);
        settle(parent);
        peer_send(&p, 1);
        g_assert_true(spin_parent(parent, &p.calls, 1));
        settle(parent);
        g_assert_cmpint(p.calls, ==, 1);
        peer_close(&p);
        g_main_context_unref(parent);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

/* ---- parent finalized first --------------------------------------------------------- */

static gint destroyed;

static void count_destroy(gpointer data)
{
    destroyed++;
}

/* The parent goes while its children are referenced (the mux's finalize): the children
 * stay usable until their owners drop them, then their contexts (and sources) go too. A
 * new parent (often at the same address) gets a new mux that works. */
static void test_parent_finalized_first(void)
{
    GMainContext *parent = g_main_context_new();
    ChorusCtxChild *kids[3];
    destroyed = 0;
    for (int i = 0; i < 3; i++) {
        kids[i] = chorus_ctx_mux_child_new(parent);
        g_assert_nonnull(kids[i]);
        GSource *s = g_timeout_source_new_seconds(3600);
        g_source_set_callback(s, timeout_cb, NULL, count_destroy);
        g_source_attach(s, chorus_ctx_child_context(kids[i]));
        g_source_unref(s);
    }
    settle(parent);
    g_assert_cmpuint(chorus_ctx_mux_children(parent), ==, 3);
    g_main_context_unref(parent); /* the only reference: finalized now */
    g_assert_cmpint(destroyed, ==, 0);
    for (int i = 0; i < 3; i++) {
        g_assert_nonnull(chorus_ctx_child_context(kids[i])); /* still valid */
        chorus_ctx_child_unref(kids[i]);
    }
    g_assert_cmpint(destroyed, ==, 3);
    GMainContext *again = g_main_context_new();
    g_assert_cmpuint(chorus_ctx_mux_children(again), ==, 0);
    ChorusCtxChild *c = chorus_ctx_mux_child_new(again);
    g_assert_nonnull(c);
    g_assert_cmpuint(chorus_ctx_mux_children(again), ==, 1);
    n_fired = 0;
    add_timeout(c, 1, 7);
    g_assert_true(spin_parent(again, &n_fired, 1));
    g_assert_cmpint(fired[0], ==, 7);
    chorus_ctx_child_unref(c);
    g_main_context_unref(again);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ctxmux/child-timeout", test_child_timeout);
    g_test_add_func("/ctxmux/child-fds", test_child_fds);
    g_test_add_func("/ctxmux/parent-poll-set", test_parent_poll_set);
    g_test_add_func("/ctxmux/idle-from-thread", test_idle_from_thread);
    g_test_add_func("/ctxmux/unref-other-inside-dispatch", test_unref_other_inside_dispatch);
    g_test_add_func("/ctxmux/unref-self-inside-dispatch", test_unref_self_inside_dispatch);
    g_test_add_func("/ctxmux/unref-due-inside-dispatch", test_unref_due_inside_dispatch);
    g_test_add_func("/ctxmux/fd-reuse", test_fd_reuse);
    g_test_add_func("/ctxmux/fd-to-other-child", test_fd_to_other_child);
    g_test_add_func("/ctxmux/iterations", test_iterations);
    g_test_add_func("/ctxmux/parent-finalized-first", test_parent_finalized_first);
    g_test_add_func("/ctxmux/fd-hook", test_fd_hook);
    g_test_add_func("/ctxmux/nested-parent-loop", test_nested_parent_loop);
    return g_test_run();
}

/* Child GMainContexts driven through epoll from one source of a parent (see ctxmux.h).
 *
 * A child is run the way GLib's own loop runs a context, one step at a time: check and
 * dispatch with the revents of its descriptors, then prepare and query for the next
 * round, which gives its descriptors (kept registered in the mux's epoll set) and its
 * timeout (kept as a deadline; the mux tracks the earliest). Nothing here allocates on a
 * child's iteration unless its descriptor set grows.
 *
 * Every child's descriptors are in the one epoll set, each event naming its descriptor;
 * owner[fd] says which child registered it. A descriptor number can pass from one child
 * to another (closed, then reused by a new socket): the kernel drops a closed file from
 * the set by itself, and a child only deletes a registration it still owns. */
#include "util/ctxmux.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/mutex.h"

#define MUX_EVENTS  64 /* children served per epoll_wait; more wait for the next round */
#define NO_DEADLINE G_MAXINT64

typedef struct ChorusCtxMux ChorusCtxMux;

struct ChorusCtxChild {
    gint ref;          /* parent's thread only */
    ChorusCtxMux *mux; /* NULL once the mux is gone */
    GMainContext *ctx; /* our reference, acquired on the parent's thread */
    GPollFD *fds;      /* from the last query, sorted by descriptor; revents from epoll */
    gint nfds, cap;
    GPollFD *reg; /* what it registered (fd and events), sorted by descriptor */
    gint nreg, regcap;
    gint max_prio;
    int wakeup_fd;        /* the context's own wakeup descriptor */
    gint64 deadline;      /* monotonic time of the next timeout, NO_DEADLINE: none */
    int hook_fd;          /* chorus_ctx_child_set_fd_hook's descriptor */
    ChorusCtxFdHook hook; /* NULL: none */
    gpointer hook_user;
    guint index;      /* in mux->children */
    gboolean pending; /* has events in the dispatch under way */
    gboolean dead;    /* stopped during a dispatch: skipped, freed after it */
};

struct ChorusCtxMux {
    GSource source;
    GMainContext *parent;
    int epfd; /* every child's descriptors */
    gpointer tag;
    ChorusCtxChild **owner; /* by descriptor number: the child that registered it */
    guint owner_len;
    GPtrArray *children; /* ChorusCtxChild * (borrowed: a child leaves before it is freed) */
    GPtrArray *dead;     /* stopped during the dispatch, freed at its end */
    gint64 min_deadline; /* earliest child deadline, valid unless min_dirty */
    gboolean min_dirty;
    gboolean dispatching;
    guint64 iterations;
};

static ChorusMutex registry_lock = CHORUS_MUTEX_INIT;
static GHashTable *registry; /* GMainContext * -> ChorusCtxMux * (no references) */

/* ---- deadlines ---------------------------------------------------------------------- */

static gint64 mux_min_deadline(ChorusCtxMux *m)
{
    if (m->min_dirty) {
        gint64 min = NO_DEADLINE;
        for (guint i = 0; i < m->children->len; i++) {
            const ChorusCtxChild *c = m->children->pdata[i];
            if (!c->dead && c->deadline < min)
                min = c->deadline;
        }
        m->min_deadline = min;
        m->min_dirty = FALSE;
    }
    return m->min_deadline;
}

static void child_set_deadline(ChorusCtxMux *m, ChorusCtxChild *c, gint64 deadline)
{
    gint64 old = c->deadline;
    c->deadline = deadline;
    if (deadline < m->min_deadline)
        m->min_deadline = deadline;
    else if (old == m->min_deadline && deadline != old)
        m->min_dirty = TRUE; /* the earliest one moved later: find the new earliest */
}

/* ---- a child's descriptors ---------------------------------------------------------- */

static uint32_t epoll_events_of(gushort events)
{
    uint32_t e = 0;
    if (events & G_IO_IN)
        e |= EPOLLIN;
    if (events & G_IO_OUT)
        e |= EPOLLOUT;
    if (events & G_IO_PRI)
        e |= EPOLLPRI;
    return e;
}

static void mux_set_owner(ChorusCtxMux *m, int fd, ChorusCtxChild *c)
{
    if ((guint)fd >= m->owner_len) {
        guint len = MAX((guint)fd + 1, m->owner_len * 2);
        m->owner = g_renew(ChorusCtxChild *, m->owner, len);
        memset(m->owner + m->owner_len, 0, (len - m->owner_len) * sizeof *m->owner);
        m->owner_len = len;
    }
    m->owner[fd] = c;
}

static void child_epoll_set(ChorusCtxMux *m, ChorusCtxChild *c, const GPollFD *f, int first_op)
{
    struct epoll_event ev = {.events = epoll_events_of(f->events), .data.u64 = (guint)f->fd};
    mux_set_owner(m, f->fd, c);
    if (epoll_ctl(m->epfd, first_op, f->fd, &ev) == 0)
        return;
    if (first_op == EPOLL_CTL_MOD && errno == ENOENT) /* closed and reopened meanwhile */
        epoll_ctl(m->epfd, EPOLL_CTL_ADD, f->fd, &ev);
    else if (first_op == EPOLL_CTL_ADD && errno == EEXIST)
        epoll_ctl(m->epfd, EPOLL_CTL_MOD, f->fd, &ev);
}

/* Removes c's registration of fd unless the number went to another child meanwhile.
 * (A descriptor closed while a dup of it stays open keeps its registration and cannot
 * be deleted by number any more; libnice and GLib never dup the sockets they watch.) */
static void child_epoll_del(ChorusCtxMux *m, ChorusCtxChild *c, int fd)
{
    if ((guint)fd < m->owner_len && m->owner[fd] == c) {
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT when closed */
        m->owner[fd] = NULL;
    }
}

static gboolean child_reg_matches(const ChorusCtxChild *c)
{
    if (c->nfds != c->nreg)
        return FALSE;
    for (gint i = 0; i < c->nfds; i++)
        if (c->fds[i].fd != c->reg[i].fd || c->fds[i].events != c->reg[i].events)
            return FALSE;
    return TRUE;
}

/* Brings the child's epoll set to its last query. Both lists are sorted by descriptor,
 * so one merge walk finds what left, what came and what changed. With force every
 * descriptor is re-asserted: a descriptor closed and reopened under the same number
 * dropped out of the epoll set silently (the kernel forgets closed files). */
static void child_sync(ChorusCtxMux *m, ChorusCtxChild *c, gboolean force)
{
    if (!force && child_reg_matches(c))
        return;
    gint i = 0, j = 0;
    while (i < c->nfds || j < c->nreg) {
        if (i == c->nfds || (j < c->nreg && c->reg[j].fd < c->fds[i].fd)) {
            child_epoll_del(m, c, c->reg[j].fd);
            j++;
        } else if (j == c->nreg || c->fds[i].fd < c->reg[j].fd) {
            child_epoll_set(m, c, &c->fds[i], EPOLL_CTL_ADD);
            i++;
        } else {
            if (force || c->fds[i].events != c->reg[j].events)
                child_epoll_set(m, c, &c->fds[i], EPOLL_CTL_MOD);
            i++, j++;
        }
    }
    if (c->nfds > c->regcap) {
        c->regcap = c->cap;
        c->reg = g_renew(GPollFD, c->reg, c->regcap);
    }
    memcpy(c->reg, c->fds, sizeof(GPollFD) * (size_t)c->nfds);
    c->nreg = c->nfds;
}

/* GLib's prepare and query for the next round: the child's descriptors and timeout. */
static void child_prepare(ChorusCtxMux *m, ChorusCtxChild *c, gboolean force_sync)
{
    gint timeout = -1, n;

    g_main_context_prepare(c->ctx, &c->max_prio);
    while ((n = g_main_context_query(c->ctx, c->max_prio, &timeout, c->fds, c->cap)) > c->cap) {
        c->cap = n + 4;
        c->fds = g_renew(GPollFD, c->fds, c->cap);
    }
    c->nfds = n;
    child_sync(m, c, force_sync);
    child_set_deadline(m, c,
                       timeout < 0 ? NO_DEADLINE : g_get_monotonic_time() + (gint64)timeout * 1000);
}

static void child_clear_revents(ChorusCtxChild *c)
{
    for (gint i = 0; i < c->nfds; i++)
        c->fds[i].revents = 0;
}

/* One round of the child's loop: check with the revents epoll gave (io) or none, then
 * dispatch, then prepare the next round. */
static void child_iterate(ChorusCtxMux *m, ChorusCtxChild *c, gboolean io)
{
    gboolean woken = FALSE;

    m->iterations++;
    if (!io)
        child_clear_revents(c);
    for (gint i = 0; i < c->nfds; i++)
        if (c->fds[i].fd == c->wakeup_fd && c->fds[i].revents)
            woken = TRUE; /* sources came or went: maybe a reused descriptor */
    g_main_context_check(c->ctx, c->max_prio, c->fds, c->nfds);
    g_main_context_dispatch(c->ctx);
    if (!c->dead)
        child_prepare(m, c, woken);
}

/* ---- children ----------------------------------------------------------------------- */

static void child_free(ChorusCtxChild *c)
{
    g_main_context_release(c->ctx);
    g_main_context_unref(c->ctx);
    g_free(c->fds);
    g_free(c->reg);
    g_free(c);
}

static void mux_remove(ChorusCtxMux *m, ChorusCtxChild *c)
{
    g_ptr_array_remove_index_fast(m->children, c->index);
    if (c->index < m->children->len)
        ((ChorusCtxChild *)m->children->pdata[c->index])->index = c->index;
}

static void child_stop(ChorusCtxChild *c)
{
    ChorusCtxMux *m = c->mux;
    if (!m) {
        child_free(c);
        return;
    }
    c->dead = TRUE;
    for (gint i = 0; i < c->nreg; i++)
        child_epoll_del(m, c, c->reg[i].fd);
    if (c->deadline == m->min_deadline)
        m->min_dirty = TRUE;
    if (m->dispatching) {
        g_ptr_array_add(m->dead, c); /* an epoll event or a scan may still point at it */
        return;
    }
    mux_remove(m, c);
    child_free(c);
}

void chorus_ctx_child_set_fd_hook(ChorusCtxChild *c, int fd, ChorusCtxFdHook hook, gpointer user)
{
    c->hook_fd = hook ? fd : -1;
    c->hook = hook;
    c->hook_user = hook ? user : NULL;
}

GMainContext *chorus_ctx_child_context(ChorusCtxChild *c)
{
    return c->ctx;
}

ChorusCtxChild *chorus_ctx_child_ref(ChorusCtxChild *c)
{
    c->ref++;
    return c;
}

void chorus_ctx_child_unref(ChorusCtxChild *c)
{
    if (c && --c->ref == 0)
        child_stop(c);
}

/* ---- the mux source ----------------------------------------------------------------- */

static gboolean mux_prepare(GSource *source, gint *timeout)
{
    ChorusCtxMux *m = (ChorusCtxMux *)source;
    gint64 min = m->dispatching ? NO_DEADLINE : mux_min_deadline(m);

    *timeout = -1;
    if (min == NO_DEADLINE)
        return FALSE;
    gint64 now = g_source_get_time(source);
    if (min <= now) {
        *timeout = 0;
        return TRUE;
    }
    gint64 ms = (min - now + 999) / 1000;
    *timeout = ms > G_MAXINT ? G_MAXINT : (gint)ms;
    return FALSE;
}

static gboolean mux_check(GSource *source)
{
    ChorusCtxMux *m = (ChorusCtxMux *)source;
    if (m->dispatching) /* a nested loop on the parent: see mux_dispatch */
        return FALSE;
    if (g_source_query_unix_fd(source, m->tag) & G_IO_IN)
        return TRUE;
    return mux_min_deadline(m) <= g_source_get_time(source);
}

static void mux_run_due(ChorusCtxMux *m)
{
    gint64 now = g_get_monotonic_time();
    if (mux_min_deadline(m) > now)
        return;
    for (guint i = 0; i < m->children->len; i++) {
        ChorusCtxChild *c = m->children->pdata[i];
        if (!c->dead && c->deadline <= now)
            child_iterate(m, c, FALSE);
    }
}

static void child_add_revents(ChorusCtxChild *c, int fd, uint32_t events, ChorusCtxChild **ready,
                              int *nready)
{
    if (!c->pending) {
        c->pending = TRUE;
        child_clear_revents(c);
        ready[(*nready)++] = c;
    }
    for (gint i = 0; i < c->nfds; i++) /* a handful: sockets and the wakeup descriptor */
        if (c->fds[i].fd == fd) {
            /* EPOLLIN, PRI, OUT, ERR and HUP have G_IO_IN, PRI, OUT, ERR, HUP's values. */
            c->fds[i].revents |=
                (gushort)(events & (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP));
            break;
        }
}

static gboolean mux_dispatch(GSource *source, GSourceFunc cb, gpointer data)
{
    ChorusCtxMux *m = (ChorusCtxMux *)source;
    struct epoll_event ev[MUX_EVENTS];

    ChorusCtxChild *ready[MUX_EVENTS];
    int nready = 0;

    /* A nested loop on the parent (from a child's callback) lands here again: GLib
     * dispatches a source whose descriptor is ready whatever check says. The outer
     * dispatch goes on once the nested loop returns; until then the mux stays ready, so
     * a nested loop spins (Chorus runs none on a worker's context). */
    if (m->dispatching)
        return G_SOURCE_CONTINUE;
    m->dispatching = TRUE;
    int n = epoll_wait(m->epfd, ev, MUX_EVENTS, 0);
    for (int i = 0; i < n; i++) { /* revents into each child's query, once per child */
        int fd = (int)ev[i].data.u64;
        ChorusCtxChild *c = (guint)fd < m->owner_len ? m->owner[fd] : NULL;
        if (!c || c->dead)
            continue;
        uint32_t events = ev[i].events;
        if (c->hook && fd == c->hook_fd && (events & EPOLLIN) &&
            !(events & (EPOLLERR | EPOLLHUP)) && c->hook(fd, c->hook_user))
            events &= ~(uint32_t)EPOLLIN; /* the fast path took it; other bits go on */
        if (!c->dead && (events & (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP)))
            child_add_revents(c, fd, events, ready, &nready);
    }
    for (int i = 0; i < nready; i++) {
        ready[i]->pending = FALSE;
        if (!ready[i]->dead)
            child_iterate(m, ready[i], TRUE);
    }
    mux_run_due(m);
    m->dispatching = FALSE;
    for (guint i = 0; i < m->dead->len; i++) {
        ChorusCtxChild *c = m->dead->pdata[i];
        mux_remove(m, c);
        child_free(c);
    }
    g_ptr_array_set_size(m->dead, 0);
    return G_SOURCE_CONTINUE;
}

static void mux_finalize(GSource *source)
{
    ChorusCtxMux *m = (ChorusCtxMux *)source;

    chorus_mutex_lock(&registry_lock);
    if (registry && g_hash_table_lookup(registry, m->parent) == m)
        g_hash_table_remove(registry, m->parent);
    chorus_mutex_unlock(&registry_lock);
    for (guint i = 0; i < m->dead->len; i++) {
        ChorusCtxChild *c = m->dead->pdata[i];
        mux_remove(m, c);
        child_free(c);
    }
    for (guint i = 0; i < m->children->len; i++) /* still referenced by their owners */
        ((ChorusCtxChild *)m->children->pdata[i])->mux = NULL;
    g_ptr_array_unref(m->children);
    g_ptr_array_unref(m->dead);
    g_free(m->owner);
    close(m->epfd);
}

static GSourceFuncs mux_funcs = {mux_prepare, mux_check, mux_dispatch, mux_finalize, NULL, NULL};

static ChorusCtxMux *mux_new(GMainContext *parent)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return NULL;
    GSource *s = g_source_new(&mux_funcs, sizeof(ChorusCtxMux));
    ChorusCtxMux *m = (ChorusCtxMux *)s;
    m->parent = parent;
    m->epfd = epfd;
    m->children = g_ptr_array_new();
    m->dead = g_ptr_array_new();
    m->min_deadline = NO_DEADLINE;
    m->tag = g_source_add_unix_fd(s, epfd, G_IO_IN);
    /* No block/unblock around the dispatch: unblocking a source with a descriptor
     * signals the parent's wakeup, one more loop iteration per dispatch. */
    g_source_set_can_recurse(s, TRUE);
    g_source_set_name(s, "chorus-ctxmux");
    g_source_attach(s, parent);
    g_source_unref(s); /* the parent context owns it */
    return m;
}

static ChorusCtxMux *mux_for(GMainContext *parent, gboolean create)
{
    chorus_mutex_lock(&registry_lock);
    ChorusCtxMux *m = registry ? g_hash_table_lookup(registry, parent) : NULL;
    if (m && g_source_is_destroyed(&m->source))
        m = NULL; /* the parent is going away */
    if (!m && create) {
        m = mux_new(parent);
        if (m) {
            if (!registry)
                registry = g_hash_table_new(NULL, NULL);
            g_hash_table_replace(registry, parent, m);
        }
    }
    chorus_mutex_unlock(&registry_lock);
    return m;
}

ChorusCtxChild *chorus_ctx_mux_child_new(GMainContext *parent)
{
    g_return_val_if_fail(parent != NULL, NULL);
    ChorusCtxMux *m = mux_for(parent, TRUE);
    if (!m)
        return NULL;
    ChorusCtxChild *c = g_new0(ChorusCtxChild, 1);
    c->ref = 1;
    c->mux = m;
    c->deadline = NO_DEADLINE;
    c->hook_fd = -1;
    c->ctx = g_main_context_new_with_flags(G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
    g_main_context_acquire(c->ctx); /* a fresh context: always succeeds */
    c->index = m->children->len;
    g_ptr_array_add(m->children, c);
    child_prepare(m, c, TRUE); /* an empty context polls its wakeup descriptor alone */
    c->wakeup_fd = c->nfds == 1 ? c->fds[0].fd : -1;
    return c;
}

guint chorus_ctx_mux_children(GMainContext *parent)
{
    ChorusCtxMux *m = mux_for(parent, FALSE);
    return m ? m->children->len - m->dead->len : 0;
}

guint64 chorus_ctx_mux_iterations(GMainContext *parent)
{
    ChorusCtxMux *m = mux_for(parent, FALSE);
    return m ? m->iterations : 0;
}

/* Many small GMainContexts driven from one source of a parent context, through epoll.
 *
 * Why: a GLib main loop walks every source and polls every file descriptor of its
 * context on each wake-up. A media worker holds hundreds of PeerConnections, each with a
 * libnice agent (a socket source per local socket, a few timers), and wakes up for every
 * incoming packet: walking and polling all of them costs more than forwarding the packet.
 * Here each agent gets a context of its own (a child). The parent context holds one
 * source for all children: one epoll descriptor in its poll set, one earliest deadline.
 * A child is iterated (GLib's own prepare, query, check and dispatch, so every kind of
 * source works as usual) only when one of its descriptors is ready or its next timeout
 * is due; every child's descriptors are in the mux's one epoll set, and the events epoll
 * returns are the revents the child's check gets (no poll of its own).
 *
 * Children are created with G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING, so a source attached
 * or re-armed in a child (from any thread) signals the child's wakeup descriptor, which
 * is in the epoll set: the mux sees the change and recomputes the child's descriptors
 * and timeout.
 *
 * Threading: a mux belongs to the thread that iterates its parent context; every call
 * below is made on that thread (chorus_ctx_mux_child_new acquires the child context for
 * it). Sources may be attached to a child from any thread, as with any context.
 *
 * Ownership: the mux is owned by its source in the parent context and freed with it (the
 * parent's last unref); children are reference-counted and outlive the mux safely. */
#ifndef CHORUS_UTIL_CTXMUX_H
#define CHORUS_UTIL_CTXMUX_H

#include <glib.h>

typedef struct ChorusCtxChild ChorusCtxChild;

/* A new child context driven from parent's thread loop (the mux for parent is made on
 * first use). Call it on that thread: the child is acquired by the calling thread, and
 * libraries (libnice) use g_main_context_is_owner to decide whether to call back
 * directly. Returns a reference (release with chorus_ctx_child_unref), or NULL when
 * the system refuses an epoll descriptor. */
ChorusCtxChild *chorus_ctx_mux_child_new(GMainContext *parent);

/* The child's context (borrowed: valid while the child is referenced). */
GMainContext *chorus_ctx_child_context(ChorusCtxChild *c);

ChorusCtxChild *chorus_ctx_child_ref(ChorusCtxChild *c);
/* Drops a reference; the last one stops driving the child (deferred to the end of the
 * mux's dispatch when called from inside it) and drops the child context. Sources still
 * attached to it then never run again. */
void chorus_ctx_child_unref(ChorusCtxChild *c);

/* A fast path for one descriptor of the child: when epoll reports fd readable (with no
 * error or hang-up), hook(fd, user) runs first, on the parent's thread. TRUE: it read
 * what it wanted and the child's sources need not run for this event (level-triggered:
 * whatever is left is reported again); FALSE: the event goes to the child's sources as
 * usual. One hook per child; hook NULL removes it. user is borrowed: remove the hook
 * before it goes. The hook may unref children, its own included. */
typedef gboolean (*ChorusCtxFdHook)(int fd, gpointer user);
void chorus_ctx_child_set_fd_hook(ChorusCtxChild *c, int fd, ChorusCtxFdHook hook, gpointer user);

/* Diagnostics (parent's thread): children driven by parent's mux (0 without a mux), and
 * how many child iterations it ran in total. */
guint chorus_ctx_mux_children(GMainContext *parent);
guint64 chorus_ctx_mux_iterations(GMainContext *parent);

#endif

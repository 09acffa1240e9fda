/* Walking the sources of a GMainContext, which GLib has no call for. GLib hands out a
 * context's source ids in order (1, 2, 3...), so the live sources attached after some
 * moment are the ids above a mark taken then. Used to tune sources a library attached
 * for us (libnice's sockets) and by tests to check what a context holds. Any thread;
 * sources attached meanwhile by other threads may or may not be seen. */
#ifndef CHORUS_NET_GSOURCE_H
#define CHORUS_NET_GSOURCE_H

#include <glib.h>

/* The id the context's latest source got (attaches and destroys an idle source). */
guint chorus_gsource_mark(GMainContext *ctx);

/* Calls fn on every live source of ctx whose id is above after_id (borrowed: valid for
 * the call). */
typedef void (*ChorusGSourceFn)(GSource *src, gpointer user);
void chorus_gsource_foreach(GMainContext *ctx, guint after_id, ChorusGSourceFn fn, gpointer user);

/* TRUE for a GSocket source (g_socket_create_source), libnice's kind for its sockets. */
gboolean chorus_gsource_is_socket(const GSource *src);

#endif

/* Walking a GMainContext's sources: see gsource.h. */
#include "net/gsource.h"

#include <gio/gio.h>
#include <pthread.h>

guint chorus_gsource_mark(GMainContext *ctx)
{
    GSource *src = g_idle_source_new();
    guint id = g_source_attach(src, ctx);
    g_source_destroy(src);
    g_source_unref(src);
    return id;
}

void chorus_gsource_foreach(GMainContext *ctx, guint after_id, ChorusGSourceFn fn, gpointer user)
{
    guint top = chorus_gsource_mark(ctx);
    for (guint id = after_id + 1; id < top; id++) {
        GSource *src = g_main_context_find_source_by_id(ctx, id);
        if (src != NULL)
            fn(src, user);
    }
}

/* GIO's socket source functions, learnt once from a source of a throwaway socket
 * (pthread_once rather than g_once: ThreadSanitizer sees its ordering). */
static const GSourceFuncs *socket_source_funcs;

static void socket_source_funcs_init(void)
{
    GSocket *sock =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
    if (sock != NULL) {
        GSource *src = g_socket_create_source(sock, G_IO_IN, NULL);
        socket_source_funcs = src->source_funcs;
        g_source_unref(src);
        g_object_unref(sock);
    }
}

gboolean chorus_gsource_is_socket(const GSource *src)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, socket_source_funcs_init);
    return src != NULL && socket_source_funcs != NULL && src->source_funcs == socket_source_funcs;
}

/* A ChorusConn stand-in for unit tests and fuzz targets. See fake_conn.h. */
#include "fake_conn.h"

#include <stdio.h>
#include <stdlib.h>

struct ChorusConn {
    guint64 id;
    gint ref;
    gboolean admin;
    gint closed;
    GAsyncQueue *out; /* char* */
    char *peer_ip;
};

static guint64 next_id;

ChorusConn *fake_conn_new(gboolean admin)
{
    ChorusConn *c = g_new0(ChorusConn, 1);
    c->id = ++next_id;
    c->ref = 1;
    c->admin = admin;
    c->out = g_async_queue_new_full(g_free);
    c->peer_ip = g_strdup("127.0.0.1");
    return c;
}

void fake_conn_set_peer_ip(ChorusConn *conn, const char *ip)
{
    g_free(conn->peer_ip);
    conn->peer_ip = g_strdup(ip);
}

json_t *fake_conn_next(ChorusConn *conn, guint timeout_ms)
{
    char *text = g_async_queue_timeout_pop(conn->out, (guint64)timeout_ms * 1000);
    if (text == NULL)
        return NULL;
    json_t *msg = json_loads(text, 0, NULL);
    g_assert_nonnull(msg);
    g_free(text);
    return msg;
}

char *fake_conn_pop_text(ChorusConn *conn)
{
    return g_async_queue_try_pop(conn->out);
}

guint fake_conn_pending(ChorusConn *conn)
{
    return (guint)g_async_queue_length(conn->out);
}

ChorusConn *chorus_conn_ref(ChorusConn *conn)
{
    g_atomic_int_inc(&conn->ref);
    return conn;
}

void chorus_conn_unref(ChorusConn *conn)
{
    if (conn && g_atomic_int_dec_and_test(&conn->ref)) {
        g_async_queue_unref(conn->out);
        g_free(conn->peer_ip);
        g_free(conn);
    }
}

gboolean chorus_conn_send(ChorusConn *conn, char *text)
{
    if (conn == NULL || text == NULL) { /* a bug in the core: abort in tests and fuzzers */
        fprintf(stderr, "fake_conn.c: check failed: conn != NULL && text != NULL\n");
        abort();
    }
    if (g_atomic_int_get(&conn->closed)) {
        g_free(text);
        return FALSE;
    }
    g_async_queue_push(conn->out, text);
    return TRUE;
}

void chorus_conn_close(ChorusConn *conn)
{
    g_atomic_int_set(&conn->closed, 1);
}

gboolean chorus_conn_is_admin(const ChorusConn *conn)
{
    return conn->admin;
}

const char *chorus_conn_peer_ip(const ChorusConn *conn)
{
    return conn->peer_ip;
}

guint64 chorus_conn_id(const ChorusConn *conn)
{
    return conn->id;
}

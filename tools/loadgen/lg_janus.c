/* chorus-loadgen: Janus API v1 client over lg_ws (see lg_janus.h). */
#include "lg_janus.h"

#include <string.h>

#include "lg_ws.h"

#define KEEPALIVE_MS 20000

typedef struct {
    LgJanusReplyFn fn;
    void *user;
    gboolean ack_final;
} Pending;

typedef struct {
    LgJanusEventFn fn;
    void *user;
} Watch;

struct LgJanus {
    GMainContext *ctx;
    LgWs *ws;
    gboolean closed;
    guint64 next_txn;
    GHashTable *pending;  /* transaction (char*) -> Pending* */
    GHashTable *handles;  /* guint64* -> Watch* */
    GHashTable *sessions; /* guint64* set */
    GSource *keepalive;
};

static void janus_fail_pending(LgJanus *j)
{
    GHashTable *old = j->pending;
    j->pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, old);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        Pending *p = value;
        if (p->fn)
            p->fn(p->user, NULL);
    }
    g_hash_table_unref(old);
}

static void janus_on_close(void *user, const char *reason)
{
    LgJanus *j = user;
    g_warning("Janus API connection closed: %s", reason);
    j->closed = TRUE;
    janus_fail_pending(j);
}

static void janus_route_event(LgJanus *j, json_t *msg)
{
    json_t *sender = json_object_get(msg, "sender");
    if (!json_is_integer(sender))
        return;
    guint64 id = (guint64)json_integer_value(sender);
    Watch *w = g_hash_table_lookup(j->handles, &id);
    if (w && w->fn)
        w->fn(w->user, msg);
}

static void janus_on_message(void *user, const char *text, size_t len)
{
    LgJanus *j = user;
    json_error_t err;
    json_t *msg = json_loadb(text, len, 0, &err);
    if (!json_is_object(msg)) {
        json_decref(msg);
        return;
    }
    const char *kind = json_string_value(json_object_get(msg, "janus"));
    const char *txn = json_string_value(json_object_get(msg, "transaction"));
    Pending *p = txn ? g_hash_table_lookup(j->pending, txn) : NULL;
    gboolean is_ack = g_strcmp0(kind, "ack") == 0;
    if (p && (!is_ack || p->ack_final)) {
        Pending done = *p;
        g_hash_table_remove(j->pending, txn);
        if (done.fn)
            done.fn(done.user, msg);
    } else if (!p && !is_ack) {
        janus_route_event(j, msg);
    }
    json_decref(msg);
}

static gboolean janus_keepalive(gpointer data)
{
    LgJanus *j = data;
    GHashTableIter it;
    gpointer key;
    g_hash_table_iter_init(&it, j->sessions);
    while (g_hash_table_iter_next(&it, &key, NULL))
        lg_janus_request(j, lg_janus_msg("keepalive", *(guint64 *)key, 0), TRUE, NULL, NULL);
    return G_SOURCE_CONTINUE;
}

LgJanus *lg_janus_new(GMainContext *ctx, const char *url, GError **error)
{
    static const LgWsCallbacks cb = {NULL, janus_on_message, janus_on_close};
    LgJanus *j = g_new0(LgJanus, 1);
    j->ctx = ctx;
    j->pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    j->handles = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    j->sessions = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    j->ws = lg_ws_connect(ctx, url, "janus-protocol", &cb, j, error);
    if (!j->ws) {
        lg_janus_free(j);
        return NULL;
    }
    j->keepalive = g_timeout_source_new(KEEPALIVE_MS);
    g_source_set_callback(j->keepalive, janus_keepalive, j, NULL);
    g_source_attach(j->keepalive, ctx);
    return j;
}

void lg_janus_free(LgJanus *j)
{
    if (!j)
        return;
    if (j->keepalive) {
        g_source_destroy(j->keepalive);
        g_source_unref(j->keepalive);
    }
    lg_ws_free(j->ws);
    g_hash_table_unref(j->pending);
    g_hash_table_unref(j->handles);
    g_hash_table_unref(j->sessions);
    g_free(j);
}

gboolean lg_janus_closed(const LgJanus *j)
{
    return j->closed;
}

json_t *lg_janus_msg(const char *kind, guint64 session, guint64 handle)
{
    json_t *m = json_pack("{s:s}", "janus", kind);
    if (session)
        json_object_set_new(m, "session_id", json_integer((json_int_t)session));
    if (handle)
        json_object_set_new(m, "handle_id", json_integer((json_int_t)handle));
    return m;
}

void lg_janus_send(LgJanus *j, json_t *req)
{
    if (!json_object_get(req, "transaction")) {
        g_autofree char *txn = g_strdup_printf("n%" G_GUINT64_FORMAT, ++j->next_txn);
        json_object_set_new(req, "transaction", json_string(txn));
    }
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (text && !j->closed)
        lg_ws_send_text(j->ws, text, strlen(text));
    free(text);
}

void lg_janus_request(LgJanus *j, json_t *req, gboolean ack_final, LgJanusReplyFn fn, void *user)
{
    if (j->closed) {
        json_decref(req);
        if (fn)
            fn(user, NULL);
        return;
    }
    char *txn = g_strdup_printf("t%" G_GUINT64_FORMAT, ++j->next_txn);
    Pending *p = g_new0(Pending, 1);
    *p = (Pending){fn, user, ack_final};
    g_hash_table_insert(j->pending, g_strdup(txn), p);
    json_object_set_new(req, "transaction", json_string(txn));
    g_free(txn);
    lg_janus_send(j, req);
}

void lg_janus_watch_handle(LgJanus *j, guint64 handle, LgJanusEventFn fn, void *user)
{
    Watch *w = g_new0(Watch, 1);
    *w = (Watch){fn, user};
    g_hash_table_insert(j->handles, g_memdup2(&handle, sizeof handle), w);
}

void lg_janus_unwatch_handle(LgJanus *j, guint64 handle)
{
    g_hash_table_remove(j->handles, &handle);
}

void lg_janus_add_session(LgJanus *j, guint64 session)
{
    g_hash_table_add(j->sessions, g_memdup2(&session, sizeof session));
}

void lg_janus_remove_session(LgJanus *j, guint64 session)
{
    g_hash_table_remove(j->sessions, &session);
}

json_t *lg_janus_plugin_data(json_t *msg)
{
    json_t *data = json_object_get(json_object_get(msg, "plugindata"), "data");
    return json_is_object(data) ? data : NULL;
}

const char *lg_janus_error(json_t *msg)
{
    if (!msg)
        return "connection closed";
    json_t *err = json_object_get(msg, "error");
    if (json_is_object(err))
        return json_string_value(json_object_get(err, "reason"))
                   ? json_string_value(json_object_get(err, "reason"))
                   : "error";
    json_t *data = lg_janus_plugin_data(msg);
    if (data && (json_object_get(data, "error_code") || json_object_get(data, "error"))) {
        const char *e = json_string_value(json_object_get(data, "error"));
        return e ? e : "plugin error";
    }
    return NULL;
}

const char *lg_janus_jsep_sdp(json_t *msg, const char *type)
{
    json_t *jsep = json_object_get(msg, "jsep");
    if (!json_is_object(jsep) || g_strcmp0(json_string_value(json_object_get(jsep, "type")), type))
        return NULL;
    return json_string_value(json_object_get(jsep, "sdp"));
}

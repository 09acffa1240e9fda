#include "core/session.h"

#include "util/log.h"
#include "util/mutex.h"

#define TAG            "session"
#define MAX_JS_SAFE_ID ((gint64)1 << 53) /* ids stay exact in JavaScript numbers */
#define MAX_BACKLOG    512               /* events kept for a session waiting for a claim */

struct ChorusSession {
    guint64 id;
    gint ref;
    ChorusMutex lock; /* guards everything below */
    ChorusConn *conn;
    gint64 last_activity_us;
    gint64 orphaned_us;  /* when the connection went away; 0 while connected */
    GHashTable *handles; /* id -> chorus_handle* (a reference) */
    GQueue backlog;      /* events (char*) kept while orphaned, sent on claim */
    gboolean destroyed;
    json_t *claims; /* the token's claims, or NULL */
};

static ChorusMutex registry_lock = CHORUS_MUTEX_INIT;
static GHashTable *registry; /* guint64* id -> ChorusSession* (the registry's reference) */

void chorus_sessions_init(void)
{
    chorus_mutex_lock(&registry_lock);
    if (registry == NULL)
        registry = g_hash_table_new(g_int64_hash, g_int64_equal);
    chorus_mutex_unlock(&registry_lock);
}

void chorus_sessions_cleanup(void)
{
    chorus_mutex_lock(&registry_lock);
    GHashTable *old = registry;
    registry = NULL;
    chorus_mutex_unlock(&registry_lock);
    if (old == NULL)
        return;
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, old);
    while (g_hash_table_iter_next(&it, NULL, &value))
        chorus_session_unref(value);
    g_hash_table_destroy(old);
}

static guint64 random_id(void)
{
    return (guint64)g_random_int_range(1, G_MAXINT32) * 2097152u +
           (guint64)g_random_int_range(0, 2097152);
}

ChorusSession *chorus_session_create(ChorusConn *conn, guint max_sessions)
{
    gboolean in_use = FALSE;
    return chorus_session_create_with_id(conn, max_sessions, 0, &in_use);
}

ChorusSession *chorus_session_create_with_id(ChorusConn *conn, guint max_sessions, guint64 id,
                                             gboolean *in_use)
{
    chorus_mutex_lock(&registry_lock);
    *in_use = id != 0 && registry && g_hash_table_contains(registry, &id);
    if (registry == NULL || *in_use || g_hash_table_size(registry) >= max_sessions) {
        chorus_mutex_unlock(&registry_lock);
        return NULL;
    }
    ChorusSession *s = g_new0(ChorusSession, 1);
    s->id = id;
    while (s->id == 0 || g_hash_table_contains(registry, &s->id))
        s->id = random_id() % (guint64)MAX_JS_SAFE_ID;
    s->ref = 2; /* the registry's and the caller's */
    chorus_mutex_init(&s->lock);
    s->conn = conn ? chorus_conn_ref(conn) : NULL;
    s->last_activity_us = g_get_monotonic_time();
    s->handles = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_hash_table_insert(registry, &s->id, s);
    chorus_mutex_unlock(&registry_lock);
    LOG_V(TAG, "session %" G_GUINT64_FORMAT " created", s->id);
    return s;
}

ChorusSession *chorus_session_lookup(guint64 id)
{
    chorus_mutex_lock(&registry_lock);
    ChorusSession *s = registry ? g_hash_table_lookup(registry, &id) : NULL;
    if (s != NULL)
        chorus_session_ref(s);
    chorus_mutex_unlock(&registry_lock);
    return s;
}

ChorusSession *chorus_session_ref(ChorusSession *s)
{
    g_atomic_int_inc(&s->ref);
    return s;
}

void chorus_session_unref(ChorusSession *s)
{
    if (s == NULL || !g_atomic_int_dec_and_test(&s->ref))
        return;
    if (s->conn)
        chorus_conn_unref(s->conn);
    g_hash_table_destroy(s->handles);
    if (s->claims)
        json_decref(s->claims);
    chorus_mutex_clear(&s->lock);
    g_free(s);
}

guint64 chorus_session_id(const ChorusSession *s)
{
    return s->id;
}

GPtrArray *chorus_session_destroy(ChorusSession *s)
{
    chorus_mutex_lock(&registry_lock);
    gboolean registered = registry && g_hash_table_lookup(registry, &s->id) == s;
    if (registered)
        g_hash_table_remove(registry, &s->id);
    chorus_mutex_unlock(&registry_lock);

    chorus_mutex_lock(&s->lock);
    if (s->destroyed) {
        chorus_mutex_unlock(&s->lock);
        return NULL;
    }
    s->destroyed = TRUE;
    GPtrArray *handles = g_ptr_array_new();
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, s->handles);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(handles, value); /* the table's reference moves to the array */
    g_hash_table_steal_all(s->handles);
    chorus_mutex_unlock(&s->lock);
    if (registered)
        chorus_session_unref(s); /* the registry's reference */
    LOG_V(TAG, "session %" G_GUINT64_FORMAT " destroyed", s->id);
    return handles;
}

gboolean chorus_session_is_destroyed(ChorusSession *s)
{
    chorus_mutex_lock(&s->lock);
    gboolean d = s->destroyed;
    chorus_mutex_unlock(&s->lock);
    return d;
}

void chorus_session_touch(ChorusSession *s)
{
    chorus_mutex_lock(&s->lock);
    s->last_activity_us = g_get_monotonic_time();
    chorus_mutex_unlock(&s->lock);
}

void chorus_session_set_conn(ChorusSession *s, ChorusConn *conn)
{
    chorus_mutex_lock(&s->lock);
    ChorusConn *old = s->conn;
    s->conn = conn ? chorus_conn_ref(conn) : NULL;
    s->orphaned_us = conn ? 0 : g_get_monotonic_time();
    s->last_activity_us = g_get_monotonic_time();
    char *text;
    /* What happened while nobody listened, in order, before anything newer (the
     * transport takes no lock of ours and calls nothing back from here). */
    while (conn != NULL && (text = g_queue_pop_head(&s->backlog)) != NULL)
        chorus_conn_send(conn, text);
    if (conn == NULL)
        g_queue_clear_full(&s->backlog, g_free);
    chorus_mutex_unlock(&s->lock);
    if (old)
        chorus_conn_unref(old);
}

gboolean chorus_session_drop_conn(ChorusSession *s, ChorusConn *conn)
{
    chorus_mutex_lock(&s->lock);
    gboolean match = s->conn == conn;
    if (match) {
        s->conn = NULL;
        s->orphaned_us = g_get_monotonic_time();
        g_queue_clear_full(&s->backlog, g_free);
    }
    chorus_mutex_unlock(&s->lock);
    if (match)
        chorus_conn_unref(conn);
    return match;
}

gboolean chorus_session_has_conn(ChorusSession *s, ChorusConn *conn)
{
    chorus_mutex_lock(&s->lock);
    gboolean match = s->conn == conn;
    chorus_mutex_unlock(&s->lock);
    return match;
}

gboolean chorus_session_send(ChorusSession *s, json_t *msg)
{
    /* jansson allocates with malloc, which g_free releases (GLib >= 2.46). */
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (text == NULL)
        return FALSE;
    chorus_mutex_lock(&s->lock);
    ChorusConn *conn = s->conn ? chorus_conn_ref(s->conn) : NULL;
    if (conn == NULL && s->orphaned_us != 0 && !s->destroyed) {
        g_queue_push_tail(&s->backlog, text); /* the client may claim the session back */
        if (g_queue_get_length(&s->backlog) > MAX_BACKLOG)
            g_free(g_queue_pop_head(&s->backlog));
        text = NULL;
    }
    chorus_mutex_unlock(&s->lock);
    gboolean sent = FALSE;
    if (conn != NULL) {
        sent = chorus_conn_send(conn, text);
        chorus_conn_unref(conn);
    } else {
        g_free(text);
    }
    return sent;
}

void chorus_session_set_claims(ChorusSession *s, json_t *claims)
{
    chorus_mutex_lock(&s->lock);
    json_t *old = s->claims;
    s->claims = claims;
    chorus_mutex_unlock(&s->lock);
    if (old)
        json_decref(old);
}

json_t *chorus_session_claims(ChorusSession *s)
{
    chorus_mutex_lock(&s->lock);
    json_t *copy = s->claims ? json_deep_copy(s->claims) : NULL;
    chorus_mutex_unlock(&s->lock);
    return copy;
}

GPtrArray *chorus_sessions_list(void)
{
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)chorus_session_unref);
    chorus_mutex_lock(&registry_lock);
    if (registry != NULL) {
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, registry);
        while (g_hash_table_iter_next(&it, NULL, &value))
            g_ptr_array_add(list, chorus_session_ref(value));
    }
    chorus_mutex_unlock(&registry_lock);
    return list;
}

guint chorus_sessions_count(void)
{
    chorus_mutex_lock(&registry_lock);
    guint n = registry ? g_hash_table_size(registry) : 0;
    chorus_mutex_unlock(&registry_lock);
    return n;
}

gint64 chorus_session_idle_seconds(ChorusSession *s)
{
    chorus_mutex_lock(&s->lock);
    gint64 idle = (g_get_monotonic_time() - s->last_activity_us) / G_USEC_PER_SEC;
    chorus_mutex_unlock(&s->lock);
    return idle;
}

gint64 chorus_session_orphan_seconds(ChorusSession *s)
{
    chorus_mutex_lock(&s->lock);
    gint64 t = s->conn || s->orphaned_us == 0
                   ? -1
                   : (g_get_monotonic_time() - s->orphaned_us) / G_USEC_PER_SEC;
    chorus_mutex_unlock(&s->lock);
    return t;
}

/* ---- handles ---- */

chorus_handle *chorus_handle_new(ChorusSession *s, ChorusPluginEntry *plugin, const char *opaque_id,
                                 guint max_handles)
{
    chorus_mutex_lock(&s->lock);
    if (s->destroyed || g_hash_table_size(s->handles) >= max_handles) {
        chorus_mutex_unlock(&s->lock);
        return NULL;
    }
    chorus_handle *h = g_new0(chorus_handle, 1);
    do {
        h->id = random_id() % (guint64)MAX_JS_SAFE_ID;
    } while (h->id == 0 || g_hash_table_contains(s->handles, &h->id));
    h->ref = 2; /* the session's table and the caller */
    h->session = chorus_session_ref(s);
    h->plugin = plugin;
    h->opaque_id = g_strdup(opaque_id);
    h->created_us = g_get_real_time();
    h->timers = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, NULL);
    g_hash_table_insert(s->handles, &h->id, h);
    chorus_mutex_unlock(&s->lock);
    return h;
}

chorus_handle *chorus_handle_lookup(ChorusSession *s, guint64 handle_id)
{
    chorus_mutex_lock(&s->lock);
    chorus_handle *h = g_hash_table_lookup(s->handles, &handle_id);
    if (h != NULL)
        chorus_handle_ref(h);
    chorus_mutex_unlock(&s->lock);
    return h;
}

gboolean chorus_handle_unregister(chorus_handle *h)
{
    ChorusSession *s = h->session;
    chorus_mutex_lock(&s->lock);
    gboolean found = g_hash_table_lookup(s->handles, &h->id) == h;
    if (found)
        g_hash_table_remove(s->handles, &h->id);
    chorus_mutex_unlock(&s->lock);
    if (found)
        chorus_handle_unref(h); /* the table's reference */
    return found;
}

GPtrArray *chorus_session_handles(ChorusSession *s)
{
    GPtrArray *list = g_ptr_array_new_with_free_func((GDestroyNotify)chorus_handle_unref);
    chorus_mutex_lock(&s->lock);
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, s->handles);
    while (g_hash_table_iter_next(&it, NULL, &value))
        g_ptr_array_add(list, chorus_handle_ref(value));
    chorus_mutex_unlock(&s->lock);
    return list;
}

ChorusWorker *chorus_handle_worker(const chorus_handle *h)
{
    return __atomic_load_n(&h->worker, __ATOMIC_ACQUIRE);
}

chorus_handle *chorus_handle_ref(chorus_handle *h)
{
    g_atomic_int_inc(&h->ref);
    return h;
}

void chorus_handle_unref(chorus_handle *h)
{
    if (h == NULL || !g_atomic_int_dec_and_test(&h->ref))
        return;
    g_hash_table_destroy(h->timers);
    g_free(h->pending_offer);
    if (h->pending_trickle)
        json_decref(h->pending_trickle);
    chorus_session_unref(h->session);
    g_free(h->opaque_id);
    g_free(h);
}

#include "core/placement.h"

#include "util/log.h"
#include "util/mutex.h"

#define TAG "placement"

static ChorusMutex lock = CHORUS_MUTEX_INIT;
static GHashTable *keys; /* char* -> ChorusWorker* (borrowed) */

ChorusWorker *chorus_placement_worker(const char *key)
{
    chorus_mutex_lock(&lock);
    if (keys == NULL)
        keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ChorusWorker *w = g_hash_table_lookup(keys, key);
    if (w == NULL) {
        w = chorus_worker_least_loaded();
        g_hash_table_insert(keys, g_strdup(key), w);
        LOG_V(TAG, "key '%s' placed on worker %u", key, chorus_worker_index(w));
    }
    chorus_mutex_unlock(&lock);
    return w;
}

void chorus_placement_cleanup(void)
{
    chorus_mutex_lock(&lock);
    g_clear_pointer(&keys, g_hash_table_destroy);
    chorus_mutex_unlock(&lock);
}

int chorus_placement_request(chorus_handle *h, const char *key, chorus_continue_fn fn, void *user)
{
    if (h->peer != NULL)
        return CHORUS_PLACE_HAS_PEER;
    if (g_hash_table_size(h->timers) > 0)
        return CHORUS_PLACE_HAS_TIMERS;
    h->place_target = chorus_placement_worker(key ? key : "");
    h->place_fn = fn;
    h->place_user = user;
    return 0;
}

typedef struct {
    chorus_handle *h;
    chorus_continue_fn fn;
    void *user;
} Continuation;

static void continuation_free(gpointer data);

static gboolean run_continuation(gpointer data)
{
    Continuation *c = data;
    ChorusWorker *home = chorus_handle_worker(c->h);
    if (!chorus_worker_is_current(home)) { /* moved meanwhile: follow it */
        Continuation *again = g_memdup2(c, sizeof(*c));
        chorus_handle_ref(again->h);
        chorus_worker_invoke(home, run_continuation, again, continuation_free);
        return G_SOURCE_REMOVE;
    }
    if (!g_atomic_int_get(&c->h->gone) && c->h->created)
        c->fn(c->h, c->user);
    return G_SOURCE_REMOVE;
}

static void continuation_free(gpointer data)
{
    Continuation *c = data;
    chorus_handle_unref(c->h);
    g_free(c);
}

void chorus_placement_finish(chorus_handle *h)
{
    if (h->place_fn == NULL)
        return;
    ChorusWorker *target = h->place_target;
    Continuation *c = g_new0(Continuation, 1);
    c->h = chorus_handle_ref(h);
    c->fn = h->place_fn;
    c->user = h->place_user;
    h->place_fn = NULL;
    h->place_user = NULL;
    h->place_target = NULL;
    ChorusWorker *home = chorus_handle_worker(h);
    if (target != home) {
        chorus_worker_acquire(target);
        __atomic_store_n(&h->worker, target, __ATOMIC_RELEASE);
        chorus_worker_release(home);
        LOG_V(TAG, "handle %" G_GUINT64_FORMAT ": worker %u -> %u", h->id,
              chorus_worker_index(home), chorus_worker_index(target));
    }
    chorus_worker_invoke(target, run_continuation, c, continuation_free);
}

void chorus_placement_call(chorus_handle *h, chorus_continue_fn fn, void *user)
{
    Continuation *c = g_new0(Continuation, 1);
    c->h = chorus_handle_ref(h);
    c->fn = fn;
    c->user = user;
    chorus_worker_invoke(chorus_handle_worker(h), run_continuation, c, continuation_free);
}

#include "core/worker.h"

#include "util/log.h"
#include "util/mutex.h"

#define TAG "worker"

struct ChorusWorker {
    guint index;
    GThread *thread;
    GMainContext *context;
    GMainLoop *loop;
    gint load; /* handles assigned (atomic) */
};

static ChorusWorker *workers;
static guint worker_count;
static ChorusMutex assign_lock = CHORUS_MUTEX_INIT;

static gpointer worker_main(gpointer data)
{
    ChorusWorker *w = data;
    g_main_context_push_thread_default(w->context);
    g_main_loop_run(w->loop);
    g_main_context_pop_thread_default(w->context);
    return NULL;
}

void chorus_workers_start(guint n)
{
    g_return_if_fail(workers == NULL);
    if (n == 0)
        n = MAX(1u, g_get_num_processors());
    workers = g_new0(ChorusWorker, n);
    worker_count = n;
    for (guint i = 0; i < n; i++) {
        ChorusWorker *w = &workers[i];
        w->index = i;
        w->context = g_main_context_new();
        w->loop = g_main_loop_new(w->context, FALSE);
        char name[16];
        g_snprintf(name, sizeof(name), "chorus-w%u", i);
        w->thread = g_thread_new(name, worker_main, w);
    }
    LOG_I(TAG, "%u media worker(s) started", n);
}

static gboolean quit_loop(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

void chorus_workers_stop(void)
{
    if (workers == NULL)
        return;
    for (guint i = 0; i < worker_count; i++)
        chorus_worker_invoke(&workers[i], quit_loop, workers[i].loop, NULL);
    for (guint i = 0; i < worker_count; i++) {
        ChorusWorker *w = &workers[i];
        g_thread_join(w->thread);
        /* Drop whatever is still attached: destroy notifies run here. */
        while (g_main_context_pending(w->context))
            g_main_context_iteration(w->context, FALSE);
        g_main_loop_unref(w->loop);
        g_main_context_unref(w->context);
    }
    g_free(workers);
    workers = NULL;
    worker_count = 0;
}

guint chorus_workers_count(void)
{
    return worker_count;
}

ChorusWorker *chorus_worker_get(guint index)
{
    return index < worker_count ? &workers[index] : NULL;
}

static ChorusWorker *least_loaded(void)
{
    ChorusWorker *best = &workers[0];
    for (guint i = 1; i < worker_count; i++) {
        if (g_atomic_int_get(&workers[i].load) < g_atomic_int_get(&best->load))
            best = &workers[i];
    }
    return best;
}

ChorusWorker *chorus_worker_assign(void)
{
    g_return_val_if_fail(worker_count > 0, NULL);
    chorus_mutex_lock(&assign_lock);
    ChorusWorker *best = least_loaded();
    g_atomic_int_inc(&best->load);
    chorus_mutex_unlock(&assign_lock);
    return best;
}

ChorusWorker *chorus_worker_least_loaded(void)
{
    g_return_val_if_fail(worker_count > 0, NULL);
    chorus_mutex_lock(&assign_lock);
    ChorusWorker *best = least_loaded();
    chorus_mutex_unlock(&assign_lock);
    return best;
}

void chorus_worker_acquire(ChorusWorker *w)
{
    g_atomic_int_inc(&w->load);
}

void chorus_worker_release(ChorusWorker *w)
{
    if (w != NULL)
        g_atomic_int_add(&w->load, -1);
}

guint chorus_worker_index(const ChorusWorker *w)
{
    return w->index;
}

guint chorus_worker_load(const ChorusWorker *w)
{
    return (guint)g_atomic_int_get(&w->load);
}

void chorus_worker_invoke(ChorusWorker *w, GSourceFunc fn, gpointer data, GDestroyNotify destroy)
{
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, fn, data, destroy);
    g_source_attach(src, w->context);
    g_source_unref(src);
}

typedef struct {
    GSourceFunc fn;
    gpointer data;
    ChorusMutex lock;
    ChorusCond cond;
    gboolean done;
} SyncCall;

static gboolean run_sync(gpointer data)
{
    SyncCall *call = data;
    call->fn(call->data);
    chorus_mutex_lock(&call->lock);
    call->done = TRUE;
    chorus_cond_signal(&call->cond);
    chorus_mutex_unlock(&call->lock);
    return G_SOURCE_REMOVE;
}

void chorus_worker_invoke_sync(ChorusWorker *w, GSourceFunc fn, gpointer data)
{
    if (chorus_worker_is_current(w)) {
        fn(data);
        return;
    }
    SyncCall call = {.fn = fn, .data = data};
    chorus_mutex_init(&call.lock);
    chorus_cond_init(&call.cond);
    chorus_worker_invoke(w, run_sync, &call, NULL);
    chorus_mutex_lock(&call.lock);
    while (!call.done)
        chorus_cond_wait(&call.cond, &call.lock);
    chorus_mutex_unlock(&call.lock);
    chorus_mutex_clear(&call.lock);
    chorus_cond_clear(&call.cond);
}

GSource *chorus_worker_timer(ChorusWorker *w, guint interval_ms, GSourceFunc fn, gpointer data,
                             GDestroyNotify destroy)
{
    GSource *src = g_timeout_source_new(interval_ms);
    g_source_set_callback(src, fn, data, destroy);
    g_source_attach(src, w->context);
    return src;
}

GMainContext *chorus_worker_context(ChorusWorker *w)
{
    return w->context;
}

gboolean chorus_worker_is_current(const ChorusWorker *w)
{
    return g_main_context_is_owner(w->context);
}

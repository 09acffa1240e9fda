#include "core/worker.h"

#include "util/log.h"
#include "util/mutex.h"

#define TAG "worker"

struct ChorusWorker {
    guint index;
    GThread *thread;
    GMainContext *context;
    GMainLoop *loop;
    gint load;              /* handles assigned (atomic) */
    GPtrArray *tick_groups; /* TickGroup*, one per interval in use; worker thread only */
    /* Jobs from any thread (chorus_worker_invoke): a queue under a POSIX lock, run by one
     * GSource, so ThreadSanitizer sees the hand-off (GLib's own locks are invisible to
     * it) and a job costs no GSource of its own. */
    ChorusMutex jobs_lock;
    GQueue jobs;          /* WorkerJob*, under jobs_lock */
    gboolean jobs_closed; /* under jobs_lock: the worker stopped, jobs are destroyed */
    gint jobs_pending;    /* atomic: 1 while the source must look at the queue */
    GSource *jobs_source;
};

static void tick_groups_free(ChorusWorker *w);
static void jobs_start(ChorusWorker *w);
static void jobs_stop(ChorusWorker *w);

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
        w->tick_groups = g_ptr_array_new();
        jobs_start(w);
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
        jobs_stop(w);
        tick_groups_free(w);
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

/* ---- jobs ---- */

typedef struct {
    GSourceFunc fn;
    gpointer data;
    GDestroyNotify destroy;
} WorkerJob;

typedef struct {
    GSource base;
    ChorusWorker *w;
} JobsSource;

static gboolean jobs_prepare(GSource *src, gint *timeout)
{
    *timeout = -1;
    return g_atomic_int_get(&((JobsSource *)src)->w->jobs_pending) != 0;
}

static gboolean jobs_check(GSource *src)
{
    return g_atomic_int_get(&((JobsSource *)src)->w->jobs_pending) != 0;
}

static WorkerJob *jobs_pop(ChorusWorker *w)
{
    chorus_mutex_lock(&w->jobs_lock);
    WorkerJob *job = g_queue_pop_head(&w->jobs);
    chorus_mutex_unlock(&w->jobs_lock);
    return job;
}

static void jobs_push(ChorusWorker *w, WorkerJob *job)
{
    chorus_mutex_lock(&w->jobs_lock);
    gboolean closed = w->jobs_closed;
    if (!closed)
        g_queue_push_tail(&w->jobs, job);
    chorus_mutex_unlock(&w->jobs_lock);
    if (closed) {
        if (job->destroy)
            job->destroy(job->data);
        g_free(job);
    } else if (g_atomic_int_compare_and_exchange(&w->jobs_pending, 0, 1)) {
        g_main_context_wakeup(w->context);
    }
}

/* Runs the jobs queued when it starts (later ones on the next iteration, so sockets
 * and timers get their turn); a job returning TRUE is queued again, as an idle would. */
static gboolean jobs_dispatch(GSource *src, GSourceFunc cb, gpointer unused)
{
    ChorusWorker *w = ((JobsSource *)src)->w;
    g_atomic_int_set(&w->jobs_pending, 0); /* before popping: a push after sets it again */
    chorus_mutex_lock(&w->jobs_lock);
    guint n = w->jobs.length;
    chorus_mutex_unlock(&w->jobs_lock);
    for (guint i = 0; i < n; i++) {
        WorkerJob *job = jobs_pop(w);
        if (job == NULL)
            break;
        if (job->fn(job->data)) {
            jobs_push(w, job);
            continue;
        }
        if (job->destroy)
            job->destroy(job->data);
        g_free(job);
    }
    chorus_mutex_lock(&w->jobs_lock);
    if (w->jobs.length > 0)
        g_atomic_int_set(&w->jobs_pending, 1);
    chorus_mutex_unlock(&w->jobs_lock);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs jobs_source_funcs = {
    .prepare = jobs_prepare,
    .check = jobs_check,
    .dispatch = jobs_dispatch,
};

static void jobs_start(ChorusWorker *w)
{
    chorus_mutex_init(&w->jobs_lock);
    g_queue_init(&w->jobs);
    w->jobs_source = g_source_new(&jobs_source_funcs, sizeof(JobsSource));
    ((JobsSource *)w->jobs_source)->w = w;
    g_source_set_priority(w->jobs_source, G_PRIORITY_DEFAULT);
    g_source_set_name(w->jobs_source, "chorus-jobs");
    g_source_attach(w->jobs_source, w->context);
}

/* After the worker's thread ended: queued jobs are destroyed without running, and jobs
 * queued from now on too. */
static void jobs_stop(ChorusWorker *w)
{
    chorus_mutex_lock(&w->jobs_lock);
    w->jobs_closed = TRUE;
    GQueue left = w->jobs;
    g_queue_init(&w->jobs);
    chorus_mutex_unlock(&w->jobs_lock);
    WorkerJob *job;
    while ((job = g_queue_pop_head(&left)) != NULL) {
        if (job->destroy)
            job->destroy(job->data);
        g_free(job);
    }
    g_source_destroy(w->jobs_source);
    g_source_unref(w->jobs_source);
    w->jobs_source = NULL;
}

void chorus_worker_invoke(ChorusWorker *w, GSourceFunc fn, gpointer data, GDestroyNotify destroy)
{
    g_return_if_fail(w != NULL && fn != NULL);
    WorkerJob *job = g_new(WorkerJob, 1);
    job->fn = fn;
    job->data = data;
    job->destroy = destroy;
    jobs_push(w, job);
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

/* ---- batched periodic ticks ---- */

/* A group's interval is cut into phases of TICK_PHASE_MS (at most TICK_MAX_PHASES), and
 * each tick belongs to one: the group's source fires once per phase and runs that
 * phase's ticks. Each tick still runs once per interval, and a thousand PeerConnections'
 * 1 s RTCP ticks are spread over 50 runs of 20 ms instead of stalling the worker's media
 * for all of them at once (tens of milliseconds: that set the p99 latency). */
#define TICK_PHASE_MS   20
#define TICK_MAX_PHASES 50

struct ChorusTick {
    struct TickGroup *group;
    guint phase;
    GSourceFunc fn;
    gpointer data;
    GDestroyNotify destroy;
    gboolean removed;
};

typedef struct TickGroup {
    ChorusWorker *w;
    guint interval_ms;
    guint phases;       /* interval_ms / TICK_PHASE_MS, 1 .. TICK_MAX_PHASES */
    gint64 last_slot;   /* the phase slot (time / phase length) the last run served */
    guint assign;       /* phase of the next tick added (round robin) */
    gint64 deadline_us; /* monotonic time of the next run */
    GSource *source;    /* attached to w->context while the group has ticks */
    GPtrArray *ticks;   /* ChorusTick*, owned */
    gboolean running;   /* inside tick_group_run: removals are deferred */
    gboolean dead;      /* removed from the worker while running: freed after the run */
} TickGroup;

typedef struct {
    GSource base;
    TickGroup *group;
} TickSource;

static gint64 tick_period(const TickGroup *g)
{
    return (gint64)g->interval_ms * 1000 / g->phases;
}

/* The next multiple of the phase's length after now (interval 0: now, every iteration). */
static gint64 tick_next_deadline(const TickGroup *g, gint64 now)
{
    gint64 period = tick_period(g);
    return period == 0 ? now : (now / period + 1) * period;
}

static gboolean tick_source_prepare(GSource *src, gint *timeout)
{
    TickGroup *g = ((TickSource *)src)->group;
    gint64 now = g_source_get_time(src);
    if (now >= g->deadline_us) {
        *timeout = 0;
        return TRUE;
    }
    *timeout = (gint)MIN((g->deadline_us - now + 999) / 1000, G_MAXINT);
    return FALSE;
}

static gboolean tick_source_check(GSource *src)
{
    TickGroup *g = ((TickSource *)src)->group;
    return g_source_get_time(src) >= g->deadline_us;
}

static void tick_free(ChorusTick *t)
{
    if (t->destroy)
        t->destroy(t->data);
    g_free(t);
}

static void tick_group_free(TickGroup *g)
{
    if (g->source) {
        g_source_destroy(g->source);
        g_source_unref(g->source);
    }
    for (guint i = 0; i < g->ticks->len; i++)
        tick_free(g_ptr_array_index(g->ticks, i));
    g_ptr_array_free(g->ticks, TRUE);
    g_free(g);
}

/* Drops the removed ticks; an empty group leaves the worker. */
static void tick_group_compact(TickGroup *g)
{
    for (guint i = g->ticks->len; i-- > 0;) {
        ChorusTick *t = g_ptr_array_index(g->ticks, i);
        if (t->removed) {
            g_ptr_array_remove_index_fast(g->ticks, i);
            tick_free(t);
        }
    }
    if (g->ticks->len == 0) {
        g_ptr_array_remove_fast(g->w->tick_groups, g);
        g->dead = TRUE;
    }
}

static gboolean tick_source_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    TickGroup *g = ((TickSource *)src)->group;
    gint64 now = g_source_get_time(src), period = tick_period(g);
    /* The phases follow the clock: a run that comes late also serves the phases whose
     * slots it missed (each tick at most once), so a busy worker does not stretch the
     * interval. */
    gint64 slot = period ? now / period : 0;
    gint64 runs = period ? MIN(slot - g->last_slot, (gint64)g->phases) : 1;
    g->last_slot = slot;
    g->deadline_us = tick_next_deadline(g, now);
    g->running = TRUE;
    guint n = g->ticks->len; /* ticks added by a tick run from the next deadline on */
    for (gint64 k = slot - runs + 1; k <= slot; k++) {
        guint phase = (guint)(k % g->phases);
        for (guint i = 0; i < n; i++) {
            ChorusTick *t = g_ptr_array_index(g->ticks, i);
            if (t->phase == phase && !t->removed && !t->fn(t->data))
                t->removed = TRUE;
        }
    }
    g->running = FALSE;
    tick_group_compact(g);
    if (g->dead) {
        g_source_unref(g->source); /* the attached source goes when this returns */
        g->source = NULL;
        tick_group_free(g);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs tick_source_funcs = {
    .prepare = tick_source_prepare,
    .check = tick_source_check,
    .dispatch = tick_source_dispatch,
};

static TickGroup *tick_group_get(ChorusWorker *w, guint interval_ms)
{
    for (guint i = 0; i < w->tick_groups->len; i++) {
        TickGroup *g = g_ptr_array_index(w->tick_groups, i);
        if (g->interval_ms == interval_ms)
            return g;
    }
    TickGroup *g = g_new0(TickGroup, 1);
    g->w = w;
    g->interval_ms = interval_ms;
    g->phases = CLAMP(interval_ms / TICK_PHASE_MS, 1, TICK_MAX_PHASES);
    g->ticks = g_ptr_array_new();
    gint64 now = g_get_monotonic_time();
    g->last_slot = tick_period(g) ? now / tick_period(g) : 0;
    g->deadline_us = tick_next_deadline(g, now);
    g->source = g_source_new(&tick_source_funcs, sizeof(TickSource));
    ((TickSource *)g->source)->group = g;
    g_source_set_name(g->source, "chorus-tick");
    g_source_attach(g->source, w->context);
    g_ptr_array_add(w->tick_groups, g);
    return g;
}

ChorusTick *chorus_worker_tick_add(ChorusWorker *w, guint interval_ms, GSourceFunc fn,
                                   gpointer data, GDestroyNotify destroy)
{
    g_return_val_if_fail(w != NULL && fn != NULL, NULL);
    g_return_val_if_fail(chorus_worker_is_current(w), NULL);
    ChorusTick *t = g_new0(ChorusTick, 1);
    t->group = tick_group_get(w, interval_ms);
    t->phase = t->group->assign++ % t->group->phases;
    t->fn = fn;
    t->data = data;
    t->destroy = destroy;
    g_ptr_array_add(t->group->ticks, t);
    return t;
}

void chorus_worker_tick_remove(ChorusTick *t)
{
    if (t == NULL || t->removed)
        return;
    TickGroup *g = t->group;
    t->removed = TRUE;
    if (g->running)
        return; /* the run compacts when it ends */
    tick_group_compact(g);
    if (g->dead)
        tick_group_free(g);
}

guint chorus_worker_tick_count(const ChorusWorker *w)
{
    guint n = 0;
    for (guint i = 0; i < w->tick_groups->len; i++) {
        TickGroup *g = g_ptr_array_index(w->tick_groups, i);
        for (guint j = 0; j < g->ticks->len; j++)
            n += !((ChorusTick *)g_ptr_array_index(g->ticks, j))->removed;
    }
    return n;
}

/* After the worker's thread ended: every tick's destroy notify runs here. */
static void tick_groups_free(ChorusWorker *w)
{
    while (w->tick_groups->len > 0)
        tick_group_free(g_ptr_array_steal_index_fast(w->tick_groups, 0));
    g_ptr_array_free(w->tick_groups, TRUE);
    w->tick_groups = NULL;
}

GMainContext *chorus_worker_context(ChorusWorker *w)
{
    return w->context;
}

gboolean chorus_worker_is_current(const ChorusWorker *w)
{
    return g_main_context_is_owner(w->context);
}

/* Media workers (src/core/worker.c): jobs run on the worker's thread, and periodic ticks
 * of one interval are batched into one run of one GSource. */
#include <glib.h>
#include <string.h>

#include "core/worker.h"

#define N_TICKS 64

typedef struct {
    ChorusWorker *w;
    ChorusTick *ticks[N_TICKS];
    gint calls[N_TICKS];
    gint destroyed[N_TICKS];
    gint stop_after[N_TICKS]; /* > 0: fn returns FALSE on that call */
    gint remove_other;        /* tick 0 removes this tick (index) on its first call; -1: none */
    GHashTable *run_times;    /* distinct g_source_get_time of the runs seen */
    gint64 last_run;          /* time of the run the last call belonged to */
    gint in_run, max_in_run;  /* calls in that run; the most in any run */
    gboolean wrong_thread;
} Fixture;

typedef struct {
    Fixture *f;
    int index;
} TickData;

static TickData datas[N_TICKS];

static gboolean tick_fn(gpointer data)
{
    TickData *d = data;
    Fixture *f = d->f;
    if (!chorus_worker_is_current(f->w))
        f->wrong_thread = TRUE;
    gint n = ++f->calls[d->index];
    gint64 t = g_source_get_time(g_main_current_source());
    g_hash_table_add(f->run_times, g_memdup2(&t, sizeof t));
    f->in_run = t == f->last_run ? f->in_run + 1 : 1;
    f->last_run = t;
    f->max_in_run = MAX(f->max_in_run, f->in_run);
    if (d->index == 0 && n == 1 && f->remove_other >= 0) {
        chorus_worker_tick_remove(f->ticks[f->remove_other]);
        chorus_worker_tick_remove(f->ticks[0]); /* itself, from inside its own call */
        return G_SOURCE_CONTINUE;
    }
    return f->stop_after[d->index] > 0 && n >= f->stop_after[d->index] ? G_SOURCE_REMOVE
                                                                       : G_SOURCE_CONTINUE;
}

static void tick_destroy(gpointer data)
{
    TickData *d = data;
    d->f->destroyed[d->index]++;
}

static Fixture fx;

static gboolean add_ticks(gpointer data)
{
    guint interval = GPOINTER_TO_UINT(data);
    for (int i = 0; i < N_TICKS; i++) {
        datas[i] = (TickData){&fx, i};
        fx.ticks[i] = chorus_worker_tick_add(fx.w, interval, tick_fn, &datas[i], tick_destroy);
    }
    return G_SOURCE_REMOVE;
}

static guint tick_count;

static gboolean read_tick_count(gpointer data)
{
    tick_count = chorus_worker_tick_count(fx.w);
    return G_SOURCE_REMOVE;
}

static guint ticks_now(void)
{
    chorus_worker_invoke_sync(fx.w, read_tick_count, NULL);
    return tick_count;
}

static void fixture_reset(void)
{
    memset(&fx, 0, sizeof fx);
    fx.w = chorus_worker_get(0);
    fx.remove_other = -1;
    fx.run_times = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

/* 64 ticks of 20 ms: every tick runs, on the worker, and they run together (the number
 * of distinct run times is the number of runs of one tick, not 64 times that). */
static void test_ticks_batched(void)
{
    fixture_reset();
    for (int i = 0; i < N_TICKS; i++)
        fx.stop_after[i] = 5;
    chorus_worker_invoke_sync(fx.w, add_ticks, GUINT_TO_POINTER(20));
    g_assert_cmpuint(ticks_now(), ==, N_TICKS);
    for (int round = 0; round < 200 && ticks_now() > 0; round++)
        g_usleep(10000);
    g_assert_cmpuint(ticks_now(), ==, 0);
    g_assert_false(fx.wrong_thread);
    for (int i = 0; i < N_TICKS; i++) {
        g_assert_cmpint(fx.calls[i], ==, 5);     /* FALSE on the 5th call removes it */
        g_assert_cmpint(fx.destroyed[i], ==, 1); /* destroy notify exactly once */
    }
    g_assert_cmpuint(g_hash_table_size(fx.run_times), ==, 5);
    g_hash_table_destroy(fx.run_times);
}

/* 64 ticks of 200 ms: the interval is cut into 10 phases of 20 ms and the ticks spread
 * over them, so a run serves a tenth of them (7 at most; a run that comes late also
 * serves the phases it missed, so a loaded machine may see two or three), each tick
 * still once per interval. */
static void test_ticks_spread(void)
{
    fixture_reset();
    for (int i = 0; i < N_TICKS; i++)
        fx.stop_after[i] = 2;
    chorus_worker_invoke_sync(fx.w, add_ticks, GUINT_TO_POINTER(200));
    for (int round = 0; round < 300 && ticks_now() > 0; round++)
        g_usleep(10000);
    g_assert_cmpuint(ticks_now(), ==, 0);
    for (int i = 0; i < N_TICKS; i++)
        g_assert_cmpint(fx.calls[i], ==, 2);
    g_assert_cmpint(fx.max_in_run, <=, 4 * ((N_TICKS + 9) / 10)); /* never all at once */
    g_assert_cmpuint(g_hash_table_size(fx.run_times), >=, 5);
    g_hash_table_destroy(fx.run_times);
}

/* A tick removing another tick and itself from inside a run: neither runs again, each
 * destroy notify runs once, the others keep running. */
static void test_ticks_remove_inside_run(void)
{
    fixture_reset();
    fx.remove_other = N_TICKS - 1;
    for (int i = 1; i < N_TICKS - 1; i++)
        fx.stop_after[i] = 3;
    chorus_worker_invoke_sync(fx.w, add_ticks, GUINT_TO_POINTER(10));
    for (int round = 0; round < 200 && ticks_now() > 0; round++)
        g_usleep(10000);
    g_assert_cmpuint(ticks_now(), ==, 0);
    g_assert_cmpint(fx.calls[0], ==, 1);
    g_assert_cmpint(fx.destroyed[0], ==, 1);
    /* The last tick sits after tick 0 in the run: removed before its turn came. */
    g_assert_cmpint(fx.calls[N_TICKS - 1], ==, 0);
    g_assert_cmpint(fx.destroyed[N_TICKS - 1], ==, 1);
    for (int i = 1; i < N_TICKS - 1; i++) {
        g_assert_cmpint(fx.calls[i], ==, 3);
        g_assert_cmpint(fx.destroyed[i], ==, 1);
    }
    g_hash_table_destroy(fx.run_times);
}

static gboolean remove_all(gpointer data)
{
    for (int i = 0; i < N_TICKS; i++)
        chorus_worker_tick_remove(fx.ticks[i]);
    return G_SOURCE_REMOVE;
}

/* Removing from outside any run frees at once; ticks of different intervals coexist. */
static void test_ticks_remove_outside_run(void)
{
    fixture_reset();
    chorus_worker_invoke_sync(fx.w, add_ticks, GUINT_TO_POINTER(100000)); /* never due */
    g_assert_cmpuint(ticks_now(), ==, N_TICKS);
    chorus_worker_invoke_sync(fx.w, remove_all, NULL);
    g_assert_cmpuint(ticks_now(), ==, 0);
    for (int i = 0; i < N_TICKS; i++) {
        g_assert_cmpint(fx.calls[i], ==, 0);
        g_assert_cmpint(fx.destroyed[i], ==, 1);
    }
    g_hash_table_destroy(fx.run_times);
}

/* Ticks still registered when the workers stop: their destroy notifies run. */
static void test_ticks_freed_at_stop(void)
{
    fixture_reset();
    chorus_worker_invoke_sync(fx.w, add_ticks, GUINT_TO_POINTER(100000));
    chorus_workers_stop();
    for (int i = 0; i < N_TICKS; i++)
        g_assert_cmpint(fx.destroyed[i], ==, 1);
    g_hash_table_destroy(fx.run_times);
    chorus_workers_start(1);
}

/* ---- jobs ---- */

#define JOB_THREADS 4
#define JOBS_EACH   500

typedef struct {
    gint ran[JOB_THREADS];      /* per producer: jobs run, in order */
    gint last_seq[JOB_THREADS]; /* per producer: sequence of its last job run */
    gint out_of_order;
    gint destroyed;
    gint wrong_thread;
    gint repeats; /* runs of the job that asks to run again */
} JobLog;

static JobLog jl;

typedef struct {
    int producer, seq;
} JobData;

static gboolean job_fn(gpointer data)
{
    JobData *d = data;
    if (!chorus_worker_is_current(chorus_worker_get(0)))
        g_atomic_int_inc(&jl.wrong_thread);
    if (d->seq != jl.last_seq[d->producer] + 1)
        jl.out_of_order++;
    jl.last_seq[d->producer] = d->seq;
    jl.ran[d->producer]++;
    return G_SOURCE_REMOVE;
}

static void job_destroy(gpointer data)
{
    g_atomic_int_inc(&jl.destroyed);
    g_free(data);
}

static gpointer producer(gpointer data)
{
    int id = GPOINTER_TO_INT(data);
    for (int i = 1; i <= JOBS_EACH; i++) {
        JobData *d = g_new(JobData, 1);
        d->producer = id;
        d->seq = i;
        chorus_worker_invoke(chorus_worker_get(0), job_fn, d, job_destroy);
    }
    return NULL;
}

static gboolean noop_job(gpointer data)
{
    return G_SOURCE_REMOVE;
}

/* Jobs from several threads run on the worker, each thread's in the order queued, every
 * destroy notify once. */
static void test_jobs_from_threads(void)
{
    memset(&jl, 0, sizeof jl);
    GThread *t[JOB_THREADS];
    for (int i = 0; i < JOB_THREADS; i++)
        t[i] = g_thread_new("producer", producer, GINT_TO_POINTER(i));
    for (int i = 0; i < JOB_THREADS; i++)
        g_thread_join(t[i]);
    chorus_worker_invoke_sync(chorus_worker_get(0), noop_job, NULL); /* after all of them */
    for (int i = 0; i < JOB_THREADS; i++)
        g_assert_cmpint(jl.ran[i], ==, JOBS_EACH);
    g_assert_cmpint(jl.out_of_order, ==, 0);
    g_assert_cmpint(g_atomic_int_get(&jl.destroyed), ==, JOB_THREADS * JOBS_EACH);
    g_assert_cmpint(g_atomic_int_get(&jl.wrong_thread), ==, 0);
}

static gboolean repeat_job(gpointer data)
{
    return ++jl.repeats < 3 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void count_destroy(gpointer data)
{
    g_atomic_int_inc(&jl.destroyed);
}

/* A job returning TRUE runs again (as an idle source would), then its destroy runs. */
static void test_jobs_repeat(void)
{
    memset(&jl, 0, sizeof jl);
    chorus_worker_invoke(chorus_worker_get(0), repeat_job, NULL, count_destroy);
    for (int i = 0; i < 200 && g_atomic_int_get(&jl.destroyed) == 0; i++)
        chorus_worker_invoke_sync(chorus_worker_get(0), noop_job, NULL);
    g_assert_cmpint(jl.repeats, ==, 3);
    g_assert_cmpint(g_atomic_int_get(&jl.destroyed), ==, 1);
}

static gboolean block_worker(gpointer data)
{
    g_usleep(20 * 1000); /* the jobs below queue up behind it */
    return G_SOURCE_REMOVE;
}

/* Stopping with jobs queued (the quit job behind them): each one's destroy runs exactly
 * once, whether the worker ran it or dropped it. */
static void test_jobs_destroyed_at_stop(void)
{
    memset(&jl, 0, sizeof jl);
    chorus_worker_invoke(chorus_worker_get(0), block_worker, NULL, NULL);
    for (int i = 0; i < 10; i++)
        chorus_worker_invoke(chorus_worker_get(0), noop_job, NULL, count_destroy);
    chorus_workers_stop();
    g_assert_cmpint(g_atomic_int_get(&jl.destroyed), ==, 10);
    chorus_workers_start(1);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    chorus_workers_start(1);
    g_test_add_func("/worker/ticks-batched", test_ticks_batched);
    g_test_add_func("/worker/ticks-spread", test_ticks_spread);
    g_test_add_func("/worker/ticks-remove-inside-run", test_ticks_remove_inside_run);
    g_test_add_func("/worker/ticks-remove-outside-run", test_ticks_remove_outside_run);
    g_test_add_func("/worker/ticks-freed-at-stop", test_ticks_freed_at_stop);
    g_test_add_func("/worker/jobs-from-threads", test_jobs_from_threads);
    g_test_add_func("/worker/jobs-repeat", test_jobs_repeat);
    g_test_add_func("/worker/jobs-destroyed-at-stop", test_jobs_destroyed_at_stop);
    int rc = g_test_run();
    chorus_workers_stop();
    return rc;
}

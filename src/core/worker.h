/* Media workers: one thread per core, each running its own GMainContext. A handle's
 * plugin calls, timers and (later) its PeerConnection live on one worker, so they are
 * touched without locks. */
#ifndef CHORUS_CORE_WORKER_H
#define CHORUS_CORE_WORKER_H

#include <glib.h>

typedef struct ChorusWorker ChorusWorker;

/* Starts n workers (n = 0: one per core). Call once. */
void chorus_workers_start(guint n);
/* Drains and joins every worker. Jobs queued after this are dropped (and destroyed). */
void chorus_workers_stop(void);
guint chorus_workers_count(void);
ChorusWorker *chorus_worker_get(guint index); /* borrowed; NULL past the end */

/* The worker with the fewest assigned handles; its load count is incremented.
 * Release with chorus_worker_release. Borrowed pointer (workers live until stop). */
ChorusWorker *chorus_worker_assign(void);
void chorus_worker_release(ChorusWorker *w);
/* Counts one more handle on w (a handle moved there). */
void chorus_worker_acquire(ChorusWorker *w);
/* The worker with the fewest handles, without counting anything. Borrowed. */
ChorusWorker *chorus_worker_least_loaded(void);
guint chorus_worker_index(const ChorusWorker *w);
guint chorus_worker_load(const ChorusWorker *w);

/* Runs fn(data) on the worker's thread, soon, in the order queued. destroy (may be
 * NULL) is called on data after fn, or instead of fn if the worker is stopping. */
void chorus_worker_invoke(ChorusWorker *w, GSourceFunc fn, gpointer data, GDestroyNotify destroy);
/* Runs fn(data) on the worker and waits for it (not from that worker's thread). */
void chorus_worker_invoke_sync(ChorusWorker *w, GSourceFunc fn, gpointer data);

/* Periodic ticks, batched: every tick of one interval on a worker runs from a single
 * GSource at multiples of that interval on the monotonic clock, so a thousand handles
 * with a 200 ms tick wake the worker five times a second instead of five thousand (each
 * GSource is also walked on every wake-up of the worker's loop). Intervals longer than
 * 20 ms are cut into 20 ms phases (at most 50) and the ticks spread over them round
 * robin, so a run never does every tick's work at once. The first call comes within one
 * interval, not after exactly one; interval 0 runs on every loop iteration.
 * fn returning FALSE (G_SOURCE_REMOVE) removes the tick. Worker thread only. The tick is
 * owned by the worker: the pointer is valid until chorus_worker_tick_remove, until fn
 * returns FALSE, or until the workers stop; destroy (may be NULL) runs on data then. */
typedef struct ChorusTick ChorusTick;
ChorusTick *chorus_worker_tick_add(ChorusWorker *w, guint interval_ms, GSourceFunc fn,
                                   gpointer data, GDestroyNotify destroy);
/* Removes t; safe from inside any tick's fn (t's own included). */
void chorus_worker_tick_remove(ChorusTick *t);
/* Ticks registered on w (removed ones excluded). Worker thread only (tests read it
 * through chorus_worker_invoke_sync). */
guint chorus_worker_tick_count(const ChorusWorker *w);

GMainContext *chorus_worker_context(ChorusWorker *w); /* borrowed */
/* TRUE when called on w's thread. */
gboolean chorus_worker_is_current(const ChorusWorker *w);

#endif

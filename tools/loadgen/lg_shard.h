/* chorus-loadgen: shards, private to lg_run.c / lg_shard.c. A shard is one thread with
 * its own GMainContext; its participants' signalling connections, ICE agents, DTLS and
 * SRTP state, packet clock and counters live there and are touched by nothing else
 * while the load runs. The controller talks to a shard only through lg_shard_call
 * (a function run on the shard's context, waited for). */
#ifndef LG_SHARD_H
#define LG_SHARD_H

#include "lg_run.h"

struct LgShard {
    LgRun *run;
    guint index;
    GThread *thread;
    /* lg_shard_call: a POSIX lock and condition made before the thread starts, so
     * ThreadSanitizer sees every hand-off (GLib's own locks are invisible to it). */
    ChorusMutex call_lock;
    ChorusCond call_cond;
    struct ShardCall *call; /* under call_lock: the call being made, NULL when none */
    GMainContext *ctx;
    GMainLoop *loop;
    LgPcEnv env;
    LgJanus **conns;
    guint n_conns;
    LgParticipant **parts;
    guint n_parts;
    /* setup */
    guint phase; /* 1, 2 */
    guint next, in_flight;
    gboolean pump_scheduled;
    /* load */
    LgParticipant **senders; /* sorted by next_due_us: they send in this cyclic order */
    guint n_senders;
    guint cursor;  /* the sender due next */
    GSource *tick; /* a timerfd source armed for the next due time (microseconds) */
    int tick_fd;   /* its timerfd */
    gint64 period_us;
    guint32 samples;
    gboolean counting;
    LgStats stats;
    guint64 pc_failures_after_ready;
    gint64 cpu_ns_start, cpu_ns; /* the thread's CPU time over the measured window */
    int tid;
    gint64 wait_ns_start, wait_ns; /* time runnable but waiting for a CPU, same window */
};

/* Creates the shard's context and starts its thread (idle until called). */
void lg_shard_init(LgShard *sh, LgRun *run, guint index);
/* Runs fn(sh) on the shard's thread and waits for it. */
void lg_shard_call(LgShard *sh, void (*fn)(LgShard *sh));
/* Stops the thread (after lg_shard_teardown) and frees the shard's memory. */
void lg_shard_join(LgShard *sh);

/* Nanoseconds thread tid of process pid (0: ourselves) spent runnable but waiting for a
 * CPU (/proc/.../schedstat), or -1. */
gint64 lg_sched_wait_ns(int pid, int tid);

/* Functions for lg_shard_call. */
void lg_shard_begin_phase1(LgShard *sh); /* connects the WebSockets, starts joining */
void lg_shard_begin_phase2(LgShard *sh);
void lg_shard_expire(LgShard *sh);     /* still pending: failed ("setup timeout") */
void lg_shard_start_load(LgShard *sh); /* run->t0_us/t_end_us are set */
void lg_shard_stop_counting(LgShard *sh);
void lg_shard_teardown(LgShard *sh); /* adapter stop, PCs and connections freed */

#endif

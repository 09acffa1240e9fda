/* chorus-loadgen: shard threads, setup phases, the packet clock and the receive path
 * (see lg_shard.h and lg_run.h). */
#include "lg_shard.h"

#include <errno.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define AUDIO_LEVEL 30 /* -30 dBov: speaking */

/* ---- thread and calls ------------------------------------------------------------- */

gint64 lg_sched_wait_ns(int pid, int tid)
{
    g_autofree char *path = pid ? g_strdup_printf("/proc/%d/task/%d/schedstat", pid, tid)
                                : g_strdup_printf("/proc/self/task/%d/schedstat", tid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    const char *space = strchr(text, ' ');
    return space ? (gint64)g_ascii_strtoull(space + 1, NULL, 10) : -1;
}

static gpointer shard_thread(gpointer data)
{
    LgShard *sh = data;
    sh->tid = (int)syscall(SYS_gettid);
    g_main_context_push_thread_default(sh->ctx);
    g_main_loop_run(sh->loop);
    g_main_context_pop_thread_default(sh->ctx);
    return NULL;
}

void lg_shard_init(LgShard *sh, LgRun *run, guint index)
{
    memset(sh, 0, sizeof *sh);
    sh->run = run;
    sh->index = index;
    sh->ctx = g_main_context_new();
    sh->loop = g_main_loop_new(sh->ctx, FALSE);
    sh->env = (LgPcEnv){.ctx = sh->ctx,
                        .cert = run->cert,
                        .interfaces = run->ice_interfaces,
                        .loopback = run->ice_loopback,
                        .ice_timeout_s = 30};
    guint n_seconds = (guint)(run->opt.duration + run->opt.drain) + 2;
    lg_stats_init(&sh->stats, n_seconds);
    g_autofree char *name = g_strdup_printf("lg-shard-%u", index);
    chorus_mutex_init(&sh->call_lock);
    chorus_cond_init(&sh->call_cond);
    sh->thread = g_thread_new(name, shard_thread, sh);
}

typedef struct ShardCall {
    void (*fn)(LgShard *sh);
    gboolean done;
} ShardCall;

static gboolean shard_call_trampoline(gpointer data)
{
    LgShard *sh = data;
    chorus_mutex_lock(&sh->call_lock);
    void (*fn)(LgShard * sh) = sh->call->fn;
    chorus_mutex_unlock(&sh->call_lock);
    fn(sh);
    chorus_mutex_lock(&sh->call_lock);
    sh->call->done = TRUE;
    chorus_cond_signal(&sh->call_cond);
    chorus_mutex_unlock(&sh->call_lock);
    return G_SOURCE_REMOVE;
}

/* Runs fn on the shard's thread and waits for it. From the controller thread only (one
 * call at a time per shard); never from the shard's own thread. */
void lg_shard_call(LgShard *sh, void (*fn)(LgShard *sh))
{
    ShardCall c = {.fn = fn, .done = FALSE};
    chorus_mutex_lock(&sh->call_lock); /* held until the wait: the shard reads c after it */
    sh->call = &c;
    g_main_context_invoke(sh->ctx, shard_call_trampoline, sh);
    while (!c.done)
        chorus_cond_wait(&sh->call_cond, &sh->call_lock);
    sh->call = NULL;
    chorus_mutex_unlock(&sh->call_lock);
}

static void shard_quit(LgShard *sh)
{
    g_main_loop_quit(sh->loop);
}

void lg_shard_join(LgShard *sh)
{
    lg_shard_call(sh, shard_quit);
    g_thread_join(sh->thread);
    g_main_loop_unref(sh->loop);
    g_main_context_unref(sh->ctx);
    chorus_mutex_clear(&sh->call_lock);
    chorus_cond_clear(&sh->call_cond);
    lg_stats_clear(&sh->stats);
    g_free(sh->parts);
    g_free(sh->senders);
    g_free(sh->conns);
}

static gint64 thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- setup phases ----------------------------------------------------------------- */

static gboolean shard_pump(gpointer data);

static void shard_schedule_pump(LgShard *sh)
{
    if (sh->pump_scheduled)
        return;
    sh->pump_scheduled = TRUE;
    GSource *s = g_idle_source_new();
    g_source_set_callback(s, shard_pump, sh, NULL);
    g_source_attach(s, sh->ctx);
    g_source_unref(s);
}

/* Starts participants until `concurrency` are being set up. */
static gboolean shard_pump(gpointer data)
{
    LgShard *sh = data;
    const LgAdapter *ad = sh->run->adapter;
    sh->pump_scheduled = FALSE;
    while (sh->in_flight < sh->run->opt.concurrency && sh->next < sh->n_parts) {
        LgParticipant *p = sh->parts[sh->next++];
        if (sh->phase == 2 && p->state < 0) { /* failed before: nothing to do */
            g_atomic_int_inc(&sh->run->phase_done);
            continue;
        }
        p->state = 0;
        p->up = FALSE;
        sh->in_flight++;
        if (!p->janus) { /* its WebSocket could not connect */
            lg_participant_done(p, FALSE, "no signalling connection");
            continue;
        }
        if (sh->phase == 1)
            ad->start(p);
        else
            ad->start_phase2(p);
    }
    return G_SOURCE_REMOVE;
}

void lg_participant_done(LgParticipant *p, gboolean ok, const char *reason)
{
    LgShard *sh = p->shard;
    if (p->state != 0)
        return;
    if (ok && sh->phase == 1 && p->speaker && p->pc && lg_pc_is_up(p->pc))
        p->published = TRUE;
    if (!ok) {
        g_free(p->error);
        p->error = g_strdup(reason ? reason : "failed");
        chorus_mutex_lock(&p->run->lock);
        if (!p->run->first_error)
            p->run->first_error = g_strdup_printf("participant %u: %s", p->id, p->error);
        chorus_mutex_unlock(&p->run->lock);
        if (p->run->opt.verbose)
            g_printerr("participant %u failed: %s\n", p->id, p->error);
    }
    g_atomic_int_set(&p->state, ok ? 1 : -1);
    sh->in_flight--;
    g_atomic_int_inc(&p->run->phase_done);
    shard_schedule_pump(sh);
}

static void shard_connect(LgShard *sh)
{
    guint per = MAX(sh->run->opt.per_connection, 1u);
    sh->n_conns = (sh->n_parts + per - 1) / per;
    sh->conns = g_new0(LgJanus *, MAX(sh->n_conns, 1u));
    for (guint i = 0; i < sh->n_conns; i++) {
        GError *error = NULL;
        sh->conns[i] = lg_janus_new(sh->ctx, sh->run->opt.server, &error);
        if (!sh->conns[i]) {
            g_printerr("chorus-loadgen: %s: %s\n", sh->run->opt.server, error->message);
            g_error_free(error);
        }
    }
    for (guint i = 0; i < sh->n_parts; i++)
        sh->parts[i]->janus = sh->conns[i / per];
}

void lg_shard_begin_phase1(LgShard *sh)
{
    shard_connect(sh);
    sh->phase = 1;
    sh->next = 0;
    shard_schedule_pump(sh);
}

void lg_shard_begin_phase2(LgShard *sh)
{
    sh->phase = 2;
    sh->next = 0;
    shard_schedule_pump(sh);
}

void lg_shard_expire(LgShard *sh)
{
    sh->next = sh->n_parts;
    for (guint i = 0; i < sh->n_parts; i++) {
        LgParticipant *p = sh->parts[i];
        if (p->state == 0)
            lg_participant_done(p, FALSE, "setup timeout");
    }
}

/* ---- PeerConnection callbacks ------------------------------------------------------ */

/* A phase's PeerConnection is ready when both sides say so: our DTLS is up and the
 * server sent "webrtcup" (it has set the media up: a Janus publisher is a feed). */
void lg_participant_check_up(LgParticipant *p)
{
    gboolean server_up = p->shard->phase == 2 ? p->sub_webrtcup : p->webrtcup;
    if (p->up && server_up && p->state == 0)
        lg_participant_done(p, TRUE, NULL);
}

static void part_pc_up(void *user, LgPc *pc)
{
    LgParticipant *p = user;
    LgPc *current = p->shard->phase == 2 ? p->sub_pc : p->pc;
    if (pc == current && !p->up) {
        p->up = TRUE;
        lg_participant_check_up(p);
    }
}

static void part_pc_failed(void *user, LgPc *pc, const char *reason)
{
    LgParticipant *p = user;
    if (p->state == 0) {
        g_autofree char *why = g_strdup_printf("PeerConnection: %s", reason);
        lg_participant_done(p, FALSE, why);
    } else {
        p->shard->pc_failures_after_ready++;
        if (!p->run->opt.quiet)
            g_printerr("participant %u: PeerConnection failed after setup: %s\n", p->id, reason);
    }
}

/* Per packet: a decrypted RTP payload for participant p. */
static void part_pc_payload(void *user, const guint8 *payload, size_t len, gint64 now_us)
{
    LgParticipant *p = user;
    LgShard *sh = p->shard;
    LgStamp st;
    if (!sh->counting || !p->heard)
        return;
    if (!lg_stamp_read(payload, len, &st) || st.sender >= p->run->n_parts) {
        sh->stats.invalid++;
        return;
    }
    if (st.send_us < p->run->t0_us)
        return; /* sent during the warmup */
    const LgParticipant *s = &p->run->parts[st.sender];
    if (s->channel != p->channel || !p->heard[s->local].bits) {
        sh->stats.misrouted++;
        return;
    }
    lg_stats_received(&sh->stats, &p->heard[s->local], st.seq, st.send_us, now_us);
}

const LgPcCallbacks lg_participant_pc_callbacks = {part_pc_up, part_pc_failed, part_pc_payload};

/* ---- the packet clock ------------------------------------------------------------- */

static void shard_send_one(LgShard *sh, LgParticipant *p)
{
    size_t len;
    const guint8 *opus = lg_opus_ring_get(&sh->run->ring, p->next_seq, &len);
    guint8 *payload = lg_pc_tx_payload(p->pc);
    memcpy(payload, opus, len);
    LgStamp st = {.sender = p->id, .seq = p->next_seq, .send_us = g_get_monotonic_time()};
    lg_stamp_write(payload, len, &st);
    p->next_seq++;
    gboolean ok = lg_pc_tx_send(p->pc, len, sh->samples, AUDIO_LEVEL);
    if (st.send_us < sh->run->t0_us) { /* warmup: not counted */
        p->first_counted = p->next_seq;
        return;
    }
    if (!ok) {
        sh->stats.send_errors++;
        return;
    }
    sh->stats.sent++;
    LgSecond *sec = lg_stats_second(&sh->stats, st.send_us);
    sec->sent++;
    sec->expected += p->fanout;
}

/* ---- the packet clock: each packet at its own microsecond ---------------------------
 * GLib's timeouts have millisecond resolution: a 1 ms tick would send each millisecond's
 * packets back to back (eight of them in 16 x 10), a burst independent clients never
 * make, queueing in the server and inflating its latency. A timerfd armed for the next
 * due time (absolute, CLOCK_MONOTONIC like g_get_monotonic_time) sends each one on time. */

static void pacer_arm(int tfd, gint64 due_us)
{
    struct itimerspec its = {0};
    its.it_value.tv_sec = due_us / G_USEC_PER_SEC;
    its.it_value.tv_nsec = (due_us % G_USEC_PER_SEC) * 1000;
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1; /* zero would disarm */
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int compare_due(const void *a, const void *b)
{
    gint64 x = (*(LgParticipant *const *)a)->next_due_us;
    gint64 y = (*(LgParticipant *const *)b)->next_due_us;
    return x < y ? -1 : x > y;
}

static gboolean shard_tick(gint tfd, GIOCondition cond, gpointer data)
{
    LgShard *sh = data;
    guint64 expirations;
    if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        return G_SOURCE_CONTINUE;
    gint64 now = g_get_monotonic_time(), end = sh->run->t_end_us;
    /* Every sender has the same period and they were sorted by phase: the next one due
     * is always the one after the last sent, cyclically. At most a few rounds per call,
     * so receiving is not starved when the generator falls behind. */
    for (guint n = 0; sh->n_senders > 0 && n < 4 * sh->n_senders; n++) {
        LgParticipant *p = sh->senders[sh->cursor];
        if (p->next_due_us > now || p->next_due_us >= end)
            break;
        sh->stats.send_lag_max_us = MAX(sh->stats.send_lag_max_us, now - p->next_due_us);
        shard_send_one(sh, p);
        p->next_due_us += sh->period_us;
        sh->cursor = (sh->cursor + 1) % sh->n_senders;
    }
    if (now >= end) {
        g_source_unref(sh->tick); /* the attached source goes when this returns */
        sh->tick = NULL;
        close(tfd); /* GLib polls it no more once this returns FALSE */
        return G_SOURCE_REMOVE;
    }
    gint64 next = sh->n_senders > 0 ? sh->senders[sh->cursor]->next_due_us : end;
    pacer_arm(tfd, MIN(next, end));
    return G_SOURCE_CONTINUE;
}

void lg_shard_start_load(LgShard *sh)
{
    LgRun *run = sh->run;
    sh->period_us = G_USEC_PER_SEC / MAX(run->opt.rate, 1u);
    sh->samples = 48000u / MAX(run->opt.rate, 1u);
    sh->stats.t0_us = run->t0_us;
    sh->senders = g_new0(LgParticipant *, MAX(sh->n_parts, 1u));
    sh->n_senders = 0;
    for (guint i = 0; i < sh->n_parts; i++) {
        LgParticipant *p = sh->parts[i];
        if (!p->published || p->fanout <= 0)
            continue;
        /* Speakers' packets are spread evenly over one period, as independent clients'
         * would be, not sent in bursts: speaker r of all T sends at r/T of the period. */
        guint per_channel = MIN(run->opt.speakers, run->opt.participants);
        guint rank = p->channel * per_channel + MIN(p->local, per_channel);
        guint total = MAX(run->opt.channels * per_channel, 1u);
        p->next_due_us = run->warm_us + sh->period_us * rank / total;
        sh->senders[sh->n_senders++] = p;
    }
    sh->counting = TRUE;
    sh->cpu_ns_start = thread_cpu_ns();
    sh->wait_ns_start = lg_sched_wait_ns(0, sh->tid);
    qsort(sh->senders, sh->n_senders, sizeof *sh->senders, compare_due);
    sh->cursor = 0;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    g_assert(tfd >= 0);
    pacer_arm(tfd, sh->n_senders > 0 ? sh->senders[0]->next_due_us : run->t_end_us);
    sh->tick_fd = tfd;
    sh->tick = g_unix_fd_source_new(tfd, G_IO_IN);
    g_source_set_callback(sh->tick, G_SOURCE_FUNC(shard_tick), sh, NULL);
    /* Default priority, like the receive sources: armed in the past when the generator
     * falls behind, a higher one would be ready on every iteration and starve them. */
    g_source_attach(sh->tick, sh->ctx);
}

static void shard_add_pc(LgStats *st, const LgPc *pc)
{
    if (!pc)
        return;
    const LgPcCounters *c = lg_pc_counters(pc);
    st->rtcp_rx += c->rtcp_rx;
    st->srtp_errors += c->srtp_errors;
    st->tx_not_ready += c->tx_not_ready;
    st->tx_srtp += c->tx_srtp;
    st->tx_socket += c->tx_socket;
    if (c->tx_last_errno)
        st->tx_last_errno = c->tx_last_errno;
    if (lg_pc_is_up(pc)) {
        if (strcmp(lg_pc_srtp_profile(pc), "AEAD_AES_128_GCM") == 0)
            st->srtp_gcm++;
        else
            st->srtp_other++;
    }
}

void lg_shard_stop_counting(LgShard *sh)
{
    sh->counting = FALSE;
    sh->cpu_ns = thread_cpu_ns() - sh->cpu_ns_start;
    sh->wait_ns = sh->wait_ns_start >= 0 ? lg_sched_wait_ns(0, sh->tid) - sh->wait_ns_start : -1;
    for (guint i = 0; i < sh->n_parts; i++) {
        shard_add_pc(&sh->stats, sh->parts[i]->pc);
        shard_add_pc(&sh->stats, sh->parts[i]->sub_pc);
    }
    if (sh->tick) {
        g_source_destroy(sh->tick);
        g_source_unref(sh->tick);
        sh->tick = NULL;
        close(sh->tick_fd);
    }
}

void lg_shard_teardown(LgShard *sh)
{
    const LgAdapter *ad = sh->run->adapter;
    for (guint i = 0; i < sh->n_parts; i++) {
        LgParticipant *p = sh->parts[i];
        if (ad->stop && p->janus && p->session)
            ad->stop(p);
        lg_pc_free(p->pc);
        lg_pc_free(p->sub_pc);
        p->pc = p->sub_pc = NULL;
        p->janus = NULL; /* a step still scheduled (a retry) sees it and stops */
    }
    for (guint i = 0; i < sh->n_conns; i++)
        lg_janus_free(sh->conns[i]);
    sh->n_conns = 0;
}

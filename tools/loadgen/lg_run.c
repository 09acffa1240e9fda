/* chorus-loadgen: the controller. Builds the run, drives the phases across shards,
 * computes fan-outs, runs the clock and measures CPU (see lg_run.h). */
#include "lg_shard.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "net/srtp.h"

#define START_DELAY_US 300000 /* between the last join and the first packet */

/* ---- controller helpers ----------------------------------------------------------- */

/* Runs ctx (the controller's: the control connection) for about ms milliseconds. */
static void ctl_sleep(GMainContext *ctx, guint ms)
{
    gint64 until = g_get_monotonic_time() + (gint64)ms * 1000;
    do {
        while (g_main_context_iteration(ctx, FALSE))
            ;
        gint64 left = until - g_get_monotonic_time();
        if (left > 0)
            g_usleep((gulong)MIN(left, 5000));
    } while (g_get_monotonic_time() < until);
}

typedef struct {
    json_t *reply;
    gboolean done, abandoned;
} SyncReply;

static void sync_reply(void *user, json_t *msg)
{
    SyncReply *r = user;
    if (r->abandoned) { /* timed out before: nobody waits */
        g_free(r);
        return;
    }
    r->reply = msg ? json_incref(msg) : NULL;
    r->done = TRUE;
}

json_t *lg_request_sync(GMainContext *ctx, LgJanus *j, json_t *req, double timeout_s)
{
    SyncReply *r = g_new0(SyncReply, 1);
    lg_janus_request(j, req, FALSE, sync_reply, r);
    gint64 deadline = g_get_monotonic_time() + (gint64)(timeout_s * G_USEC_PER_SEC);
    while (!r->done && g_get_monotonic_time() < deadline)
        ctl_sleep(ctx, 2);
    if (!r->done) {
        r->abandoned = TRUE; /* freed by the late answer (or leaked with the connection) */
        return NULL;
    }
    json_t *reply = r->reply;
    g_free(r);
    return reply;
}

char *lg_channel_name(const LgRun *run, guint c)
{
    return g_strdup_printf("%s-%08x-%u", run->opt.prefix, run->run_id, c);
}

GMainContext *lg_participant_context(const LgParticipant *p)
{
    return p->shard->ctx;
}

const LgPcEnv *lg_participant_pc_env(const LgParticipant *p)
{
    return &p->shard->env;
}

/* ---- building the run ------------------------------------------------------------- */

/* "auto": the first non-loopback IPv4 interface that is up (what a client on this
 * machine would use; Janus does not offer loopback candidates), else loopback. */
static void choose_ice_interfaces(LgRun *run)
{
    const char *want = run->opt.ice_interface;
    if (g_strcmp0(want, "auto") != 0) {
        run->ice_loopback = g_strcmp0(want, "lo") == 0 || g_str_has_prefix(want, "127.");
        run->ice_interfaces = g_strsplit(want, ",", -1);
        return;
    }
    struct ifaddrs *ifs = NULL;
    if (getifaddrs(&ifs) == 0) {
        for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
            if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && (i->ifa_flags & IFF_UP) &&
                !(i->ifa_flags & IFF_LOOPBACK)) {
                run->ice_interfaces = g_new0(char *, 2);
                run->ice_interfaces[0] = g_strdup(i->ifa_name);
                break;
            }
        }
        freeifaddrs(ifs);
    }
    if (!run->ice_interfaces) {
        run->ice_interfaces = g_strsplit("lo", ",", -1);
        run->ice_loopback = TRUE;
    }
}

static void build_participants(LgRun *run)
{
    const LgOptions *o = &run->opt;
    run->n_parts = o->channels * o->participants;
    run->parts = g_new0(LgParticipant, run->n_parts);
    run->n_shards = MAX(o->threads, 1u);
    run->shards = g_new0(LgShard, run->n_shards);
    for (guint s = 0; s < run->n_shards; s++)
        lg_shard_init(&run->shards[s], run, s);
    guint per_shard = (run->n_parts + run->n_shards - 1) / run->n_shards;
    for (guint s = 0; s < run->n_shards; s++)
        run->shards[s].parts = g_new0(LgParticipant *, MAX(per_shard, 1u));
    for (guint i = 0; i < run->n_parts; i++) {
        LgParticipant *p = &run->parts[i];
        p->run = run;
        p->id = i;
        p->channel = i / o->participants;
        p->local = i % o->participants;
        p->speaker = p->local < o->speakers;
        p->feed = i + 1; /* janus publisher id, unique in its room */
        LgShard *sh = &run->shards[i % run->n_shards];
        p->shard = sh;
        sh->parts[sh->n_parts++] = p;
    }
}

static gboolean run_init(LgRun *run, GError **error)
{
    run->run_id = g_random_int();
    if (!chorus_srtp_global_init(error))
        return FALSE;
    run->cert = chorus_dtls_cert_generate(error);
    if (!run->cert)
        return FALSE;
    if (!lg_opus_ring_init(&run->ring, 50, run->opt.bitrate, error))
        return FALSE;
    choose_ice_interfaces(run);
    build_participants(run);
    return TRUE;
}

/* ---- phases ----------------------------------------------------------------------- */

static void count_states(LgRun *run, guint *ok, guint *failed)
{
    *ok = *failed = 0;
    for (guint i = 0; i < run->n_parts; i++) {
        gint s = g_atomic_int_get(&run->parts[i].state);
        *ok += s > 0;
        *failed += s < 0;
    }
}

/* Runs one phase on every shard and waits until every participant finished it, or
 * the deadline (then the rest fail with "setup timeout"). */
static void run_phase(LgRun *run, GMainContext *ctx, guint phase, gint64 deadline)
{
    g_atomic_int_set(&run->phase_done, 0);
    for (guint s = 0; s < run->n_shards; s++)
        lg_shard_call(&run->shards[s], phase == 1 ? lg_shard_begin_phase1 : lg_shard_begin_phase2);
    gint64 next_print = g_get_monotonic_time() + G_USEC_PER_SEC;
    while ((guint)g_atomic_int_get(&run->phase_done) < run->n_parts &&
           g_get_monotonic_time() < deadline) {
        ctl_sleep(ctx, 20);
        if (!run->opt.quiet && g_get_monotonic_time() >= next_print) {
            guint ok, failed;
            count_states(run, &ok, &failed);
            g_printerr("setup phase %u: %u/%u done (%u failed)\n", phase,
                       g_atomic_int_get(&run->phase_done), run->n_parts, failed);
            next_print += G_USEC_PER_SEC;
        }
    }
    for (guint s = 0; s < run->n_shards; s++)
        lg_shard_call(&run->shards[s], lg_shard_expire);
}

/* Ready speakers per channel, then every sender's fan-out and every listener's
 * sequence sets. Shards are idle (setup done, no load yet). */
static void compute_fanout(LgRun *run)
{
    const LgOptions *o = &run->opt;
    guint32 nbits = (guint32)((o->warmup + o->duration) * o->rate) + 2 * o->rate + 16;
    run->chan_senders = g_new0(guint, o->channels);
    for (guint i = 0; i < run->n_parts; i++)
        run->chan_senders[run->parts[i].channel] += run->parts[i].published;
    for (guint i = 0; i < run->n_parts; i++) {
        LgParticipant *l = &run->parts[i];
        if (g_atomic_int_get(&l->state) <= 0)
            continue;
        LgParticipant *members = &run->parts[l->channel * o->participants];
        l->heard = g_new0(LgSeqSet, o->participants);
        for (guint k = 0; k < o->participants; k++) {
            LgParticipant *s = &members[k];
            double w = s->published ? run->adapter->hears(run, l, s) : 0.0;
            if (w <= 0)
                continue;
            s->fanout += w;
            lg_seqset_init(&l->heard[k], nbits);
            l->heard[k].partial = w < 1.0;
        }
    }
}

/* ---- CPU and memory --------------------------------------------------------------- */

/* utime + stime of a process in seconds, or -1. */
static double proc_cpu_s(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return -1;
    const char *close = strrchr(text, ')');
    if (!close)
        return -1;
    g_auto(GStrv) f = g_strsplit(close + 2, " ", 16); /* f[0] is field 3 (state) */
    if (g_strv_length(f) < 14)
        return -1;
    double ticks = (double)g_ascii_strtoull(f[11], NULL, 10) + g_ascii_strtoull(f[12], NULL, 10);
    return ticks / (double)sysconf(_SC_CLK_TCK);
}

static guint64 proc_status_kb(int pid, const char *key)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return 0;
    const char *at = strstr(text, key);
    return at ? g_ascii_strtoull(at + strlen(key), NULL, 10) : 0;
}

/* CPU time every process of the machine used (/proc/stat: all but idle and iowait), and
 * in *nice_s the part of it spent in niced processes (fuzzers, builds at low priority). */
static double machine_busy_s(double *nice_s)
{
    g_autofree char *text = NULL;
    if (!g_file_get_contents("/proc/stat", &text, NULL, NULL) || !g_str_has_prefix(text, "cpu "))
        return -1;
    g_auto(GStrv) f = g_strsplit_set(text + 4, " \n", 12);
    double busy = 0;
    guint n = 0;
    for (guint i = 0; f[i] && n < 8; i++) {
        if (!*f[i])
            continue;
        double v = (double)g_ascii_strtoull(f[i], NULL, 10);
        if (n != 3 && n != 4) /* idle, iowait */
            busy += v;
        if (n == 1)
            *nice_s = v / (double)sysconf(_SC_CLK_TCK);
        n++;
    }
    return busy / (double)sysconf(_SC_CLK_TCK);
}

/* Sum over the process's threads of the time spent waiting for a CPU (ns), or -1. */
static gint64 proc_wait_ns(int pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/task", pid);
    GDir *dir = g_dir_open(path, 0, NULL);
    if (!dir)
        return -1;
    gint64 sum = 0;
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL) {
        gint64 w = lg_sched_wait_ns(pid, atoi(name));
        sum += w > 0 ? w : 0;
    }
    g_dir_close(dir);
    return sum;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ---- the load --------------------------------------------------------------------- */

static void run_load(LgRun *run, GMainContext *ctx)
{
    const LgOptions *o = &run->opt;
    run->warm_us = g_get_monotonic_time() + START_DELAY_US;
    run->t0_us = run->warm_us + (gint64)(o->warmup * G_USEC_PER_SEC);
    run->t_end_us = run->t0_us + (gint64)(o->duration * G_USEC_PER_SEC);
    for (guint s = 0; s < run->n_shards; s++)
        lg_shard_call(&run->shards[s], lg_shard_start_load);
    ctl_sleep(ctx, (guint)MAX(0, (run->t0_us - g_get_monotonic_time()) / 1000));
    double srv0 = o->server_pid > 0 ? proc_cpu_s(o->server_pid) : -1;
    gint64 wait0 = o->server_pid > 0 ? proc_wait_ns(o->server_pid) : -1;
    double nice0 = 0, nice1 = 0;
    double gen0 = self_cpu_s(), all0 = machine_busy_s(&nice0);
    gint64 w0 = g_get_monotonic_time();
    if (!o->quiet)
        g_printerr("sending for %.1f s...\n", o->duration);
    gint64 stop = run->t_end_us + (gint64)(o->drain * G_USEC_PER_SEC);
    while (g_get_monotonic_time() < stop)
        ctl_sleep(ctx, (guint)MIN(200, (stop - g_get_monotonic_time()) / 1000 + 1));
    double srv1 = o->server_pid > 0 ? proc_cpu_s(o->server_pid) : -1;
    gint64 wait1 = o->server_pid > 0 ? proc_wait_ns(o->server_pid) : -1;
    run->server_wait_s = wait0 >= 0 && wait1 >= 0 ? (double)(wait1 - wait0) / 1e9 : -1;
    run->gen_cpu_s = self_cpu_s() - gen0;
    run->machine_cpu_s = all0 >= 0 ? machine_busy_s(&nice1) - all0 : -1;
    run->machine_nice_s = nice1 - nice0;
    run->window_s = (double)(g_get_monotonic_time() - w0) / G_USEC_PER_SEC;
    if (srv0 >= 0 && srv1 >= 0) {
        run->server_measured = TRUE;
        run->server_cpu_s = srv1 - srv0;
        run->server_rss_kb = proc_status_kb(o->server_pid, "VmRSS:");
        run->server_hwm_kb = proc_status_kb(o->server_pid, "VmHWM:");
    }
    for (guint s = 0; s < run->n_shards; s++)
        lg_shard_call(&run->shards[s], lg_shard_stop_counting);
    lg_stats_init(&run->total, run->shards[0].stats.n_seconds);
    run->total.t0_us = run->t0_us;
    for (guint s = 0; s < run->n_shards; s++)
        lg_stats_merge(&run->total, &run->shards[s].stats);
}

static gboolean run_setup(LgRun *run, GMainContext *ctx)
{
    gint64 start = g_get_monotonic_time();
    gint64 deadline = start + (gint64)(run->opt.setup_timeout * G_USEC_PER_SEC);
    run_phase(run, ctx, 1, deadline);
    if (run->adapter->start_phase2)
        run_phase(run, ctx, 2, deadline);
    run->setup_s = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
    count_states(run, &run->ready, &run->failed);
    if (!run->opt.quiet)
        g_printerr("setup: %u ready, %u failed in %.1f s%s%s\n", run->ready, run->failed,
                   run->setup_s, run->first_error ? "; first error: " : "",
                   run->first_error ? run->first_error : "");
    return run->failed == 0 || (run->opt.allow_failures && run->ready > 0);
}

gboolean lg_run_execute(LgRun *run, GError **error)
{
    chorus_mutex_init(&run->lock);
    if (!run_init(run, error))
        return FALSE;
    GMainContext *ctx = g_main_context_new();
    g_main_context_push_thread_default(ctx);
    LgJanus *ctl = lg_janus_new(ctx, run->opt.server, error);
    gboolean ok = ctl && (!run->adapter->prepare || run->adapter->prepare(run, ctx, ctl, error));
    if (ok && !run_setup(run, ctx)) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "%u of %u participants failed to connect (%s); --allow-failures runs anyway",
                    run->failed, run->n_parts, run->first_error ? run->first_error : "?");
        ok = FALSE;
    }
    if (ok) {
        compute_fanout(run);
        run_load(run, ctx);
    }
    for (guint s = 0; s < run->n_shards; s++)
        lg_shard_call(&run->shards[s], lg_shard_teardown);
    if (ctl && run->adapter->cleanup)
        run->adapter->cleanup(run, ctx, ctl);
    ctl_sleep(ctx, 50);
    lg_janus_free(ctl);
    g_main_context_pop_thread_default(ctx);
    g_main_context_unref(ctx);
    return ok;
}

void lg_run_clear(LgRun *run)
{
    for (guint s = 0; s < run->n_shards; s++)
        lg_shard_join(&run->shards[s]);
    for (guint i = 0; i < run->n_parts; i++) {
        LgParticipant *p = &run->parts[i];
        for (guint k = 0; p->heard && k < run->opt.participants; k++)
            lg_seqset_clear(&p->heard[k]);
        g_free(p->heard);
        g_free(p->error);
    }
    g_free(run->parts);
    g_free(run->shards);
    g_free(run->chan_senders);
    lg_stats_clear(&run->total);
    lg_opus_ring_clear(&run->ring);
    if (run->cert)
        chorus_dtls_cert_unref(run->cert);
    g_strfreev(run->ice_interfaces);
    g_free(run->first_error);
    chorus_mutex_clear(&run->lock);
}

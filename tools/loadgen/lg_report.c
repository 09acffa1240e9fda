/* chorus-loadgen: the report, as text (stdout) and JSON. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "lg_shard.h"

static double expected_total(const LgStats *t)
{
    double e = 0;
    for (guint i = 0; i < t->n_seconds; i++)
        e += t->sec[i].expected;
    return e;
}

static double pct(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* Seconds of the timeline that saw packets sent (the last ones are drain). */
static guint timeline_len(const LgStats *t)
{
    guint n = t->n_seconds;
    while (n > 0 && t->sec[n - 1].sent == 0 && t->sec[n - 1].received == 0)
        n--;
    return n;
}

/* Where the losses are: per (listener, sender) pair, the packets missing at the start
 * of the stream (a forward that began late), at its end (still in flight at the end of
 * the drain) and in between. */
typedef struct {
    guint64 head, middle, tail;
    guint pairs_incomplete, pairs_empty;
    json_t *worst; /* up to 20 incomplete pairs */
} LossMap;

static void loss_pair(LossMap *m, const LgParticipant *l, const LgParticipant *s,
                      const LgSeqSet *set)
{
    guint32 sent = MIN(s->next_seq, set->nbits), first = sent, last = 0, missing = 0;
    guint32 from = MIN(s->first_counted, sent); /* the warmup is not counted */
    for (guint32 q = from; q < sent; q++) {
        if (lg_seqset_has(set, q))
            continue;
        missing++;
        first = MIN(first, q);
        last = q;
    }
    if (missing == 0)
        return;
    m->pairs_incomplete++;
    m->pairs_empty += missing == sent - from;
    guint32 head = 0, tail = 0;
    while (from + head < sent && !lg_seqset_has(set, from + head))
        head++;
    while (tail < sent - from - head && !lg_seqset_has(set, sent - 1 - tail))
        tail++;
    m->head += head;
    m->tail += tail;
    m->middle += missing - head - tail;
    if (json_array_size(m->worst) < 20)
        json_array_append_new(
            m->worst, json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "listener", (int)l->id, "sender",
                                (int)s->id, "sent", (int)(sent - from), "missing", (int)missing,
                                "first_missing", (int)first, "last_missing", (int)last));
}

static LossMap loss_map(const LgRun *run)
{
    LossMap m = {.worst = json_array()};
    guint per = run->opt.participants;
    for (guint i = 0; i < run->n_parts; i++) {
        const LgParticipant *l = &run->parts[i];
        for (guint k = 0; l->heard && k < per; k++) {
            if (l->heard[k].bits && !l->heard[k].partial) /* K < speakers: not all expected */
                loss_pair(&m, l, &run->parts[l->channel * per + k], &l->heard[k]);
        }
    }
    return m;
}

static json_t *json_config(const LgRun *run)
{
    const LgOptions *o = &run->opt;
    return json_pack("{s:s,s:s,s:i,s:i,s:i,s:i,s:f,s:i,s:i,s:s*,s:s}", "server", o->server,
                     "adapter", run->adapter->name, "channels", (int)o->channels, "participants",
                     (int)o->participants, "speakers", (int)o->speakers, "slots", (int)o->slots,
                     "duration_s", o->duration, "rate", (int)o->rate, "threads", (int)o->threads,
                     "config", o->config, "ice_interface",
                     run->ice_interfaces && run->ice_interfaces[0] ? run->ice_interfaces[0] : "");
}

static json_t *json_totals(const LgRun *run)
{
    const LgStats *t = &run->total;
    double exp = expected_total(t);
    json_t *o = json_pack(
        "{s:I,s:f,s:I,s:f,s:f,s:f,s:I,s:I,s:I,s:I,s:I}", "sent", (json_int_t)t->sent, "expected",
        round(exp), "received", (json_int_t)t->received, "lost", MAX(0.0, round(exp) - t->received),
        "loss_pct", MAX(0.0, 100.0 - pct((double)t->received, exp)), "delivery_pct",
        pct((double)t->received, exp), "duplicates", (json_int_t)t->duplicates, "misrouted",
        (json_int_t)t->misrouted, "invalid", (json_int_t)t->invalid, "out_of_range",
        (json_int_t)t->out_of_range, "send_errors", (json_int_t)t->send_errors);
    json_object_set_new(o, "pc",
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:s,s:i,s:i}", "rtcp_received",
                                  (json_int_t)t->rtcp_rx, "srtp_errors", (json_int_t)t->srtp_errors,
                                  "tx_not_ready", (json_int_t)t->tx_not_ready, "tx_srtp_errors",
                                  (json_int_t)t->tx_srtp, "tx_socket_errors",
                                  (json_int_t)t->tx_socket, "tx_last_error",
                                  t->tx_last_errno ? g_strerror(t->tx_last_errno) : "", "srtp_gcm",
                                  (int)t->srtp_gcm, "srtp_other", (int)t->srtp_other));
    return o;
}

static json_t *json_latency(const LgHist *h)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "p50", (json_int_t)lg_hist_quantile(h, 0.5),
                     "p90", (json_int_t)lg_hist_quantile(h, 0.9), "p99",
                     (json_int_t)lg_hist_quantile(h, 0.99), "p999",
                     (json_int_t)lg_hist_quantile(h, 0.999), "max", (json_int_t)h->max, "count",
                     (json_int_t)h->n, "mean", h->n ? (double)h->sum / (double)h->n : 0.0);
}

static json_t *json_timeline(const LgStats *t)
{
    json_t *a = json_array();
    for (guint i = 0; i < timeline_len(t); i++) {
        const LgSecond *s = &t->sec[i];
        json_array_append_new(
            a, json_pack("{s:i,s:I,s:f,s:I,s:f,s:f,s:I}", "t", (int)i, "sent", (json_int_t)s->sent,
                         "expected", round(s->expected), "received", (json_int_t)s->received,
                         "delivery_pct", pct((double)s->received, s->expected), "lat_mean_us",
                         s->received ? (double)s->lat_sum / (double)s->received : 0.0, "lat_max_us",
                         (json_int_t)s->lat_max));
    }
    return a;
}

/* CPU other processes at normal priority used over the window (ours and niced ones out). */
static double lg_run_others_cpu_s(const LgRun *run)
{
    double ours = run->gen_cpu_s + (run->server_measured ? run->server_cpu_s : 0);
    return MAX(0.0, run->machine_cpu_s - run->machine_nice_s - ours);
}

static json_t *json_resources(const LgRun *run)
{
    json_t *threads = json_array(), *waits = json_array();
    for (guint i = 0; i < run->n_shards; i++) {
        json_array_append_new(threads, json_real((double)run->shards[i].cpu_ns / 1e9));
        json_array_append_new(waits, json_real((double)run->shards[i].wait_ns / 1e9));
    }
    json_t *gen = json_pack("{s:f,s:f,s:f,s:o,s:o,s:I}", "cpu_s", run->gen_cpu_s, "window_s",
                            run->window_s, "cpu_pct_of_core", pct(run->gen_cpu_s, run->window_s),
                            "thread_cpu_s", threads, "thread_cpu_wait_s", waits, "send_lag_max_us",
                            (json_int_t)run->total.send_lag_max_us);
    json_t *srv = json_null();
    if (run->server_measured) {
        double per =
            run->total.received ? run->server_cpu_s * 1e6 / (double)run->total.received : 0.0;
        srv = json_pack("{s:i,s:f,s:f,s:f,s:f,s:I,s:I}", "pid", run->opt.server_pid, "cpu_s",
                        run->server_cpu_s, "cpu_pct_of_core", pct(run->server_cpu_s, run->window_s),
                        "cpu_wait_s", run->server_wait_s, "cpu_us_per_forwarded_packet", per,
                        "rss_kb", (json_int_t)run->server_rss_kb, "hwm_kb",
                        (json_int_t)run->server_hwm_kb);
    }
    json_object_set_new(
        gen, "others_cpu_pct",
        json_real(run->machine_cpu_s >= 0 ? pct(lg_run_others_cpu_s(run), run->window_s) : -1));
    json_object_set_new(gen, "niced_others_cpu_pct",
                        json_real(pct(run->machine_nice_s, run->window_s)));
    return json_pack("{s:o,s:o}", "generator", gen, "server", srv);
}

static json_t *json_losses(const LgRun *run)
{
    LossMap m = loss_map(run);
    return json_pack("{s:I,s:I,s:I,s:i,s:i,s:o}", "head", (json_int_t)m.head, "middle",
                     (json_int_t)m.middle, "tail", (json_int_t)m.tail, "pairs_incomplete",
                     (int)m.pairs_incomplete, "pairs_empty", (int)m.pairs_empty, "pairs", m.worst);
}

gboolean lg_report_write_json(const LgRun *run, const char *path, GError **error)
{
    json_t *res = json_resources(run);
    json_t *root = json_object();
    json_object_set_new(root, "config", json_config(run));
    json_object_set_new(root, "setup",
                        json_pack("{s:i,s:i,s:i,s:f,s:s*}", "participants", (int)run->n_parts,
                                  "ready", (int)run->ready, "failed", (int)run->failed, "seconds",
                                  run->setup_s, "first_error", run->first_error));
    json_object_set_new(root, "totals", json_totals(run));
    json_object_set_new(root, "losses", json_losses(run));
    json_object_set_new(root, "latency_us", json_latency(&run->total.lat));
    json_object_set(root, "generator", json_object_get(res, "generator"));
    json_object_set(root, "server", json_object_get(res, "server"));
    json_object_set_new(root, "timeline", json_timeline(&run->total));
    json_decref(res);
    int rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (rc != 0)
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "cannot write %s", path);
    return rc == 0;
}

static void print_timeline(const LgStats *t)
{
    printf("timeline (by send second):\n   t     sent   expected   received  delivery%%  "
           "lat_mean_us  lat_max_us\n");
    for (guint i = 0; i < timeline_len(t); i++) {
        const LgSecond *s = &t->sec[i];
        printf("%4u %8" G_GUINT64_FORMAT " %10.0f %10" G_GUINT64_FORMAT
               " %9.2f %12.0f %11" G_GUINT64_FORMAT "\n",
               i, s->sent, s->expected, s->received, pct((double)s->received, s->expected),
               s->received ? (double)s->lat_sum / (double)s->received : 0.0, s->lat_max);
    }
}

void lg_report_print(const LgRun *run)
{
    const LgOptions *o = &run->opt;
    const LgStats *t = &run->total;
    double exp = expected_total(t);
    printf("chorus-loadgen: %s adapter, %u channel(s) x %u participants, %u speaking, K=%u, "
           "%.1f s at %u pkt/s, %u thread(s)\n",
           run->adapter->name, o->channels, o->participants, o->speakers, o->slots, o->duration,
           o->rate, run->n_shards);
    printf("setup:     %u/%u ready in %.1f s (%u failed)\n", run->ready, run->n_parts, run->setup_s,
           run->failed);
    printf("packets:   sent %" G_GUINT64_FORMAT ", expected %.0f, received %" G_GUINT64_FORMAT
           " (%.3f %%), lost %.0f, duplicates %" G_GUINT64_FORMAT ", misrouted %" G_GUINT64_FORMAT
           ", invalid %" G_GUINT64_FORMAT ", send errors %" G_GUINT64_FORMAT "\n",
           t->sent, exp, t->received, pct((double)t->received, exp),
           MAX(0.0, round(exp) - (double)t->received), t->duplicates, t->misrouted, t->invalid,
           t->send_errors);
    LossMap m = loss_map(run);
    if (m.pairs_incomplete)
        printf("           losses: %" G_GUINT64_FORMAT " at stream starts, %" G_GUINT64_FORMAT
               " in the middle, %" G_GUINT64_FORMAT " at the end; %u (listener, sender) pairs "
               "incomplete, %u got nothing\n",
               m.head, m.middle, m.tail, m.pairs_incomplete, m.pairs_empty);
    json_decref(m.worst);
    if (t->send_errors)
        printf("           send errors: %" G_GUINT64_FORMAT " not ready, %" G_GUINT64_FORMAT
               " SRTP, %" G_GUINT64_FORMAT " socket (last: %s)\n",
               t->tx_not_ready, t->tx_srtp, t->tx_socket,
               t->tx_last_errno ? g_strerror(t->tx_last_errno) : "-");
    printf("srtp:      %u PeerConnections AEAD_AES_128_GCM, %u other; %" G_GUINT64_FORMAT
           " SRTP errors, %" G_GUINT64_FORMAT " RTCP packets received\n",
           t->srtp_gcm, t->srtp_other, t->srtp_errors, t->rtcp_rx);
    printf("latency:   p50 %" G_GUINT64_FORMAT " us, p90 %" G_GUINT64_FORMAT
           " us, p99 %" G_GUINT64_FORMAT " us, max %" G_GUINT64_FORMAT
           " us (one-way, sender to listener)\n",
           lg_hist_quantile(&t->lat, 0.5), lg_hist_quantile(&t->lat, 0.9),
           lg_hist_quantile(&t->lat, 0.99), t->lat.max);
    gint64 gen_wait = 0;
    for (guint i = 0; i < run->n_shards; i++)
        gen_wait += MAX(run->shards[i].wait_ns, 0);
    printf("generator: %.2f s CPU over %.1f s (%.1f %% of a core), waited %.2f s for a CPU, "
           "send lag max %" G_GINT64_FORMAT " us\n",
           run->gen_cpu_s, run->window_s, pct(run->gen_cpu_s, run->window_s), gen_wait / 1e9,
           t->send_lag_max_us);
    if (run->machine_cpu_s >= 0)
        printf("machine:   %u CPUs; over the window other processes used %.1f %% of a core "
               "(niced ones %.1f %% more)\n",
               g_get_num_processors(), pct(lg_run_others_cpu_s(run), run->window_s),
               pct(run->machine_nice_s, run->window_s));
    if (run->server_measured)
        printf("server:    pid %d, %.2f s CPU (%.1f %% of a core), %.2f us per forwarded packet, "
               "waited %.2f s for a CPU, RSS %" G_GUINT64_FORMAT " KiB (peak %" G_GUINT64_FORMAT
               " KiB)\n",
               o->server_pid, run->server_cpu_s, pct(run->server_cpu_s, run->window_s),
               t->received ? run->server_cpu_s * 1e6 / (double)t->received : 0.0,
               run->server_wait_s, run->server_rss_kb, run->server_hwm_kb);
    if (!o->quiet)
        print_timeline(t);
}

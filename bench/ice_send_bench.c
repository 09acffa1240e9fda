/* Micro-benchmark: nanoseconds per chorus_ice_send on connected loopback pairs, three
 * ways: the direct path (sendto on libnice's socket), the direct path inside a UDP batch
 * (each burst one io_uring submission, net/udp_batch.h, as a room's fan-out is sent) and
 * nice_agent_send (the fallback path, forced with chorus_ice_set_direct_send(ice, FALSE)).
 *
 * PAIRS pairs of ChorusIce agents (one controlled, the server's role, which sends; one
 * controlling, which receives) on one GMainContext connect over 127.0.0.1. Datagram i goes
 * out on pair i % PAIRS, like a room's fan-out to its listeners (one agent, one socket
 * each: the per-agent state is not all hot in the cache as it would be with one pair;
 * --pairs 1 gives the hot-loop figure). Each round sends COUNT datagrams of SIZE bytes
 * with each path, alternating which path goes first; sends are timed in bursts of BURST
 * (wall clock and the thread's CPU clock around the burst only), and the receivers are
 * drained between bursts (not timed) so no socket buffer overflows: every datagram must
 * arrive, or the run fails. Prints per-path median and best round, ns per send.
 *
 * Build and run (see bench/README.md):
 *   make src/net/libchorus-net.a src/media/libchorus-media.a src/util/libchorus-util.a
 *   gcc -O2 -std=c11 -D_GNU_SOURCE -Isrc $(pkg-config --cflags nice) bench/ice_send_bench.c \
 *       src/net/libchorus-net.a src/util/libchorus-util.a $(pkg-config --libs nice) \
 *       -o /tmp/ice_send_bench
 *   /tmp/ice_send_bench [--count N] [--rounds R] [--size S] [--burst B]
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/ice.h"
#include "net/udp_batch.h"
#include "util/log.h"

typedef struct Pair Pair;

typedef struct {
    ChorusIce *ice;
    Pair *pair;
} End;

struct Pair {
    End end[2]; /* 0: controlled (the server's role), sends; 1: controlling, receives */
    guint64 *rx;
};

typedef struct {
    GMainContext *ctx;
    Pair *pairs;
    guint n;
    guint64 rx; /* datagrams received, all pairs */
} Bench;

static void on_recv(void *user, uint8_t *buf, size_t len)
{
    (*((End *)user)->pair->rx)++;
}

static void on_candidate(void *user, const char *candidate)
{
    End *e = user;
    End *other = &e->pair->end[e == &e->pair->end[0] ? 1 : 0];
    if (other->ice)
        chorus_ice_add_remote_candidate(other->ice, candidate, NULL);
}

static const ChorusIceCallbacks callbacks = {
    .on_recv = on_recv,
    .on_local_candidate = on_candidate,
};

/* One non-blocking iteration; sleeps us when nothing was pending. */
static void step(GMainContext *ctx, gulong us)
{
    if (!g_main_context_iteration(ctx, FALSE))
        g_usleep(us);
}

static gint64 now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Every pair connected, and the sender settled on the nominated pair (direct path). */
static gboolean all_ready(Bench *b)
{
    for (guint p = 0; p < b->n; p++) {
        if (chorus_ice_state(b->pairs[p].end[1].ice) != CHORUS_ICE_CONNECTED ||
            !chorus_ice_direct_active(b->pairs[p].end[0].ice))
            return FALSE;
    }
    return TRUE;
}

static void connect_pairs(Bench *b)
{
    static char *lo[] = {"lo", NULL};
    ChorusIceConfig cfg = {.interfaces = lo, .loopback = TRUE, .timeout_s = 30};

    for (guint p = 0; p < b->n; p++) {
        Pair *pair = &b->pairs[p];
        pair->rx = &b->rx;
        for (int i = 0; i < 2; i++) {
            cfg.controlling = i == 1;
            pair->end[i].pair = pair;
            pair->end[i].ice = chorus_ice_new(b->ctx, &cfg, &callbacks, &pair->end[i]);
            if (!pair->end[i].ice) {
                fprintf(stderr, "cannot create the ICE agents\n");
                exit(1);
            }
        }
        for (int i = 0; i < 2; i++) {
            ChorusIce *other = pair->end[!i].ice;
            chorus_ice_set_remote_credentials(pair->end[i].ice, chorus_ice_local_ufrag(other),
                                              chorus_ice_local_pwd(other), NULL);
        }
        for (int i = 0; i < 2; i++) {
            if (!chorus_ice_gather(pair->end[i].ice, NULL)) {
                fprintf(stderr, "no loopback address to gather on\n");
                exit(1);
            }
        }
    }
    gint64 deadline = g_get_monotonic_time() + 30 * G_USEC_PER_SEC;
    while (!all_ready(b) && g_get_monotonic_time() < deadline)
        step(b->ctx, 1000);
    if (!all_ready(b)) {
        fprintf(stderr, "the loopback pairs did not all connect\n");
        exit(1);
    }
}

/* Iterates the context until the receivers have every datagram sent so far. */
static void drain(Bench *b, guint64 want)
{
    gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    while (b->rx < want && g_get_monotonic_time() < deadline)
        step(b->ctx, 50);
    if (b->rx < want) {
        fprintf(stderr, "lost datagrams: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT "\n",
                want - b->rx, want);
        exit(1);
    }
}

typedef struct {
    double wall_ns, cpu_ns; /* per send */
} Result;

enum { MODE_DIRECT, MODE_BATCH, MODE_LIBNICE, N_MODES };
static const char *const mode_names[] = {"direct sendto", "direct io_uring", "nice_agent_send"};

/* Sends count datagrams in bursts; times only the bursts. */
static Result run(Bench *b, int mode, guint count, guint burst, const uint8_t *buf, size_t size)
{
    gboolean direct = mode != MODE_LIBNICE;
    gint64 wall = 0, cpu = 0;
    guint64 sent = b->rx;
    guint next = 0;

    for (guint p = 0; p < b->n; p++) {
        ChorusIce *ice = b->pairs[p].end[0].ice;
        chorus_ice_set_direct_send(ice, direct);
        if (chorus_ice_direct_active(ice) != direct) {
            fprintf(stderr, "cannot %s the direct path\n", direct ? "enable" : "disable");
            exit(1);
        }
    }
    for (guint done = 0; done < count; done += burst) {
        guint n = MIN(burst, count - done);
        gint64 w0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
        if (mode == MODE_BATCH)
            chorus_udp_batch_begin();
        for (guint i = 0; i < n; i++) {
            ChorusIce *ice = b->pairs[next].end[0].ice;
            next = next + 1 == b->n ? 0 : next + 1;
            if (chorus_ice_send(ice, buf, size) != (int)size) {
                fprintf(stderr, "chorus_ice_send failed\n");
                exit(1);
            }
        }
        if (mode == MODE_BATCH)
            chorus_udp_batch_end(); /* the burst leaves here: timed */
        cpu += now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
        wall += now_ns(CLOCK_MONOTONIC) - w0;
        sent += n;
        drain(b, sent);
    }
    return (Result){(double)wall / count, (double)cpu / count};
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, guint n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    guint count = 20000, rounds = 7, size = 120, burst = 64, pairs = 50;

    for (int i = 1; i + 1 < argc; i += 2) {
        guint v = (guint)strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--count") == 0)
            count = v;
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = v;
        else if (strcmp(argv[i], "--size") == 0)
            size = v;
        else if (strcmp(argv[i], "--burst") == 0)
            burst = v;
        else if (strcmp(argv[i], "--pairs") == 0)
            pairs = v;
        else {
            fprintf(stderr,
                    "usage: %s [--count N] [--rounds R] [--size S] [--burst B] [--pairs P]\n",
                    argv[0]);
            return 2;
        }
    }
    if (count == 0 || rounds == 0 || burst == 0 || size == 0 || size > 1400 || pairs == 0 ||
        pairs > 200) {
        fprintf(stderr, "count, rounds, burst: > 0; size: 1..1400; pairs: 1..200\n");
        return 2;
    }
    chorus_log_set_level(CHORUS_LOG_WARN);

    Bench b = {.ctx = g_main_context_new(), .n = pairs};
    b.pairs = g_new0(Pair, pairs);
    g_main_context_push_thread_default(b.ctx);
    connect_pairs(&b);
    char *pair = chorus_ice_selected_pair(b.pairs[0].end[0].ice);
    printf("%u pairs, the first: %s\n", pairs, pair ? pair : "?");
    g_free(pair);

    uint8_t *buf = g_malloc(size);
    for (guint i = 0; i < size; i++)
        buf[i] = (uint8_t)(0x80 + i); /* RTP-looking first byte */
    for (int m = 0; m < N_MODES; m++) /* warm-up */
        run(&b, m, MIN(count, 2000u), burst, buf, size);

    double *wall[N_MODES], *cpu[N_MODES];
    for (int m = 0; m < N_MODES; m++) {
        wall[m] = g_new(double, rounds);
        cpu[m] = g_new(double, rounds);
    }
    for (guint r = 0; r < rounds; r++) {
        for (int k = 0; k < N_MODES; k++) {
            int m = (int)((r + (guint)k) % N_MODES); /* rotate which path goes first */
            Result res = run(&b, m, count, burst, buf, size);
            wall[m][r] = res.wall_ns;
            cpu[m][r] = res.cpu_ns;
        }
    }
    printf("%u rounds x %u sends of %u bytes round-robin over %u pairs, bursts of %u, "
           "receivers drained between bursts\n",
           rounds, count, size, pairs, burst);
    printf("%-16s %12s %12s %12s %12s\n", "path", "wall-median", "wall-best", "cpu-median",
           "cpu-best");
    double med[N_MODES];
    for (int m = 0; m < N_MODES; m++) {
        double wbest, cbest;
        med[m] = median(cpu[m], rounds); /* sorts: best is [0] */
        cbest = cpu[m][0];
        double wmed = median(wall[m], rounds);
        wbest = wall[m][0];
        printf("%-16s %9.0f ns %9.0f ns %9.0f ns %9.0f ns\n", mode_names[m], wmed, wbest, med[m],
               cbest);
        g_free(wall[m]);
        g_free(cpu[m]);
    }
    printf("direct sendto vs nice_agent_send (cpu, median): %.0f ns less (%.0f %%)\n",
           med[MODE_LIBNICE] - med[MODE_DIRECT],
           100.0 * (med[MODE_LIBNICE] - med[MODE_DIRECT]) / med[MODE_LIBNICE]);
    printf("io_uring batch vs direct sendto (cpu, median): %.0f ns less (%.0f %%); "
           "%" G_GUINT64_FORMAT " submissions for %" G_GUINT64_FORMAT " datagrams\n",
           med[MODE_DIRECT] - med[MODE_BATCH],
           100.0 * (med[MODE_DIRECT] - med[MODE_BATCH]) / med[MODE_DIRECT],
           chorus_udp_batch_submits(), chorus_udp_batch_sent());
    guint64 direct = 0, fallback = 0;
    for (guint p = 0; p < pairs; p++) {
        direct += chorus_ice_direct_sends(b.pairs[p].end[0].ice);
        fallback += chorus_ice_fallback_sends(b.pairs[p].end[0].ice);
    }
    printf("direct sends %" G_GUINT64_FORMAT ", through libnice %" G_GUINT64_FORMAT "\n", direct,
           fallback);

    g_free(buf);
    for (guint p = 0; p < pairs; p++) {
        chorus_ice_free(b.pairs[p].end[0].ice);
        chorus_ice_free(b.pairs[p].end[1].ice);
    }
    g_free(b.pairs);
    while (g_main_context_iteration(b.ctx, FALSE))
        ;
    g_main_context_pop_thread_default(b.ctx);
    g_main_context_unref(b.ctx);
    return 0;
}

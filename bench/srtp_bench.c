/* Micro-benchmark: SRTP protect + unprotect of RTP packets with a 100-byte payload
 * (12-byte header), per backend of src/net/srtp.c: AEAD_AES_128_GCM on OpenSSL (the
 * default), AEAD_AES_128_GCM on libsrtp2 (CHORUS_SRTP_BACKEND=libsrtp2) and, for
 * reference, AES_CM_128_HMAC_SHA1_80 (always libsrtp2). Also counts heap allocations
 * per packet (malloc, calloc, realloc, in an untimed pass). Build: see bench/README.md.
 *
 *   srtp_bench [packets per run, default 200000] [runs, default 7]
 *
 * A run protects packets in batches of 4096 (copy of a template with the next sequence
 * number, then protect), then unprotects each batch; the backends take turns run by run
 * so that a busy machine weighs on all of them alike, and time is the thread's CPU time
 * (time spent preempted is left out). Figures: the median run's ns per packet (best run
 * in brackets). One thread, no I/O. */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/srtp.h"
#include "net/srtp_gcm.h"

#define PAYLOAD_LEN 100
#define HDR_LEN     12
#define SLOT        (HDR_LEN + PAYLOAD_LEN + CHORUS_SRTP_MAX_TRAILER)
#define BATCH       4096

/* ---- allocation counting: glibc's allocator behind a counter ------------------------ */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static volatile int counting;
static unsigned long allocations;

void *malloc(size_t n)
{
    if (counting)
        allocations++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (counting)
        allocations++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    if (counting)
        allocations++;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}

/* ---- the benchmark ------------------------------------------------------------------- */

typedef struct {
    const char *name;
    ChorusSrtpProfile profile;
    const char *env; /* CHORUS_SRTP_BACKEND */
} Backend;

typedef struct {
    double protect_ns, unprotect_ns;
} Run;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* time preempted by others is left out */
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static ChorusSrtp *make(const Backend *b, gboolean sender)
{
    ChorusSrtpKeys k;
    memset(&k, 0, sizeof(k));
    k.profile = b->profile;
    k.key_len = 16;
    k.salt_len = b->profile == CHORUS_SRTP_AEAD_AES_128_GCM ? 12 : 14;
    for (size_t i = 0; i < sizeof(k.local_key); i++) {
        k.local_key[i] = (uint8_t)(sender ? 0x11 + i : 0x5a + 3 * i);
        k.remote_key[i] = (uint8_t)(sender ? 0x5a + 3 * i : 0x11 + i);
    }
    g_setenv("CHORUS_SRTP_BACKEND", b->env, TRUE);
    GError *error = NULL;
    ChorusSrtp *s = chorus_srtp_new(&k, &error);
    g_unsetenv("CHORUS_SRTP_BACKEND");
    if (!s) {
        fprintf(stderr, "%s: %s\n", b->name, error->message);
        exit(1);
    }
    return s;
}

static void fill_template(uint8_t *t)
{
    memset(t, 0, HDR_LEN + PAYLOAD_LEN);
    t[0] = 0x80;
    t[1] = 111;
    t[7] = 0xa0;
    t[8] = 0x12, t[9] = 0x34, t[10] = 0x56, t[11] = 0x78;
    for (int i = 0; i < PAYLOAD_LEN; i++)
        t[HDR_LEN + i] = (uint8_t)(i * 37 + 1);
}

/* protect then unprotect `count` packets in batches; seq continues across calls. */
static Run run_once(ChorusSrtp *tx, ChorusSrtp *rx, uint8_t *slots, size_t *lens,
                    const uint8_t *tmpl, uint16_t *seq, unsigned long count)
{
    Run r = {0, 0};
    for (unsigned long done = 0; done < count; done += BATCH) {
        unsigned n = (unsigned)(count - done < BATCH ? count - done : BATCH);
        double t0 = now_ns();
        for (unsigned i = 0; i < n; i++) {
            uint8_t *p = slots + (size_t)i * SLOT;
            memcpy(p, tmpl, HDR_LEN + PAYLOAD_LEN);
            p[2] = (uint8_t)(*seq >> 8);
            p[3] = (uint8_t)*seq;
            (*seq)++;
            lens[i] = HDR_LEN + PAYLOAD_LEN;
            if (chorus_srtp_protect_rtp(tx, p, &lens[i], SLOT) != 0)
                abort();
        }
        double t1 = now_ns();
        for (unsigned i = 0; i < n; i++)
            if (chorus_srtp_unprotect_rtp(rx, slots + (size_t)i * SLOT, &lens[i]) != 0)
                abort();
        double t2 = now_ns();
        r.protect_ns += t1 - t0;
        r.unprotect_ns += t2 - t1;
    }
    r.protect_ns /= (double)count;
    r.unprotect_ns /= (double)count;
    return r;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return v[n / 2];
}

int main(int argc, char **argv)
{
    unsigned long packets = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    int runs = argc > 2 ? atoi(argv[2]) : 7;
    if (packets < 1 || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: %s [packets per run] [runs]\n", argv[0]);
        return 2;
    }
    static const Backend backends[] = {
        {"GCM openssl", CHORUS_SRTP_AEAD_AES_128_GCM, "openssl"},
        {"GCM libsrtp2", CHORUS_SRTP_AEAD_AES_128_GCM, "libsrtp2"},
        {"CM80 libsrtp2", CHORUS_SRTP_AES128_CM_SHA1_80, "openssl"},
    };
    uint8_t *slots = g_malloc((size_t)BATCH * SLOT);
    size_t *lens = g_new(size_t, BATCH);
    uint8_t tmpl[HDR_LEN + PAYLOAD_LEN];
    fill_template(tmpl);
    printf("SRTP, RTP with a %d-byte payload: CPU ns per packet, median of %d runs of %lu "
           "packets [best]\n",
           PAYLOAD_LEN, runs, packets);
    printf("%-18s %-12s %18s %18s %18s %10s\n", "profile", "backend", "protect", "unprotect",
           "protect+unprotect", "allocs/pkt");
    enum { NB = G_N_ELEMENTS(backends) };
    ChorusSrtp *tx[NB], *rx[NB];
    uint16_t seq[NB];
    double allocs[NB], p[NB][100], u[NB][100], t[NB][100];
    for (size_t b = 0; b < NB; b++) {
        tx[b] = make(&backends[b], TRUE);
        rx[b] = make(&backends[b], FALSE);
        seq[b] = 1;
        run_once(tx[b], rx[b], slots, lens, tmpl, &seq[b], BATCH); /* warm up */
        counting = 1;
        allocations = 0;
        run_once(tx[b], rx[b], slots, lens, tmpl, &seq[b], 10000);
        counting = 0;
        allocs[b] = (double)allocations / 10000.0;
    }
    for (int r = 0; r < runs; r++) {
        for (size_t b = 0; b < NB; b++) {
            Run x = run_once(tx[b], rx[b], slots, lens, tmpl, &seq[b], packets);
            p[b][r] = x.protect_ns;
            u[b][r] = x.unprotect_ns;
            t[b][r] = x.protect_ns + x.unprotect_ns;
        }
    }
    for (size_t b = 0; b < NB; b++) {
        double pb = p[b][0], ub = u[b][0], tb = t[b][0];
        for (int r = 1; r < runs; r++) {
            pb = p[b][r] < pb ? p[b][r] : pb;
            ub = u[b][r] < ub ? u[b][r] : ub;
            tb = t[b][r] < tb ? t[b][r] : tb;
        }
        char pc[32], uc[32], tc[32];
        snprintf(pc, sizeof(pc), "%.0f [%.0f]", median(p[b], runs), pb);
        snprintf(uc, sizeof(uc), "%.0f [%.0f]", median(u[b], runs), ub);
        snprintf(tc, sizeof(tc), "%.0f [%.0f]", median(t[b], runs), tb);
        printf("%-18s %-12s %18s %18s %18s %10.2f\n",
               backends[b].profile == CHORUS_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM"
                                                                   : "AES_CM_128_SHA1_80",
               chorus_srtp_backend_name(tx[b]), pc, uc, tc, allocs[b]);
        chorus_srtp_free(tx[b]);
        chorus_srtp_free(rx[b]);
    }
    g_free(slots);
    g_free(lens);
    return 0;
}

/* Unit tests: RTP receive statistics (RFC 3550) and the continuous-output rewriter. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "media/rtcp.h"
#include "media/rtp.h"
#include "media/rtp_rewrite.h"
#include "media/rtp_stats.h"

/* ---------------- rtp_stats ---------------- */

static void test_stats_no_loss(void)
{
    chorus_rtp_stats s;
    chorus_rtcp_report_block b;
    chorus_rtp_stats_init(&s, 48000);
    g_assert_cmpuint(chorus_rtp_stats_expected(&s), ==, 0);
    g_assert_cmpint(chorus_rtp_stats_update(&s, 1000, 0, 0), ==, CHORUS_RTP_STATS_FIRST);
    for (uint16_t i = 1; i < 100; i++)
        g_assert_cmpint(chorus_rtp_stats_update(&s, (uint16_t)(1000 + i), i * 960u, i * 20000u), ==,
                        CHORUS_RTP_STATS_OK);
    chorus_rtp_stats_report_block(&s, 0xabc, 2000000, &b);
    g_assert_cmpuint(b.ssrc, ==, 0xabc);
    g_assert_cmpuint(b.fraction_lost, ==, 0);
    g_assert_cmpint(b.cumulative_lost, ==, 0);
    g_assert_cmpuint(b.ext_highest_seq, ==, 1099);
    g_assert_cmpuint(b.jitter, ==, 0); /* perfectly paced */
    g_assert_cmpuint(b.lsr, ==, 0);
    g_assert_cmpuint(b.dlsr, ==, 0);
    g_assert_cmpuint(chorus_rtp_stats_expected(&s), ==, 100);
}

static void test_stats_fraction_lost(void)
{
    chorus_rtp_stats s;
    chorus_rtcp_report_block b;
    chorus_rtp_stats_init(&s, 8000);
    /* interval 1: seqs 0..99, every 4th (1, 5, 9, ...) lost -> 25 of 100 */
    for (uint16_t i = 0; i < 100; i++) {
        if (i % 4 == 1)
            continue;
        chorus_rtp_stats_update(&s, i, i * 160u, i * 20000u);
    }
    chorus_rtp_stats_report_block(&s, 1, 2000000, &b);
    g_assert_cmpuint(b.fraction_lost, ==, 64); /* 25/100 * 256 */
    g_assert_cmpint(b.cumulative_lost, ==, 25);
    g_assert_cmpuint(b.ext_highest_seq, ==, 99);

    /* interval 2: 100..199 all received -> fraction 0, cumulative unchanged */
    for (uint16_t i = 100; i < 200; i++)
        chorus_rtp_stats_update(&s, i, i * 160u, i * 20000u);
    chorus_rtp_stats_report_block(&s, 1, 4000000, &b);
    g_assert_cmpuint(b.fraction_lost, ==, 0);
    g_assert_cmpint(b.cumulative_lost, ==, 25);

    /* interval 3: 200..209 sent, only 200 and 209 arrive -> 8 of 10 lost = 204.8 -> 204 */
    chorus_rtp_stats_update(&s, 200, 200 * 160u, 4000000);
    chorus_rtp_stats_update(&s, 209, 209 * 160u, 4180000);
    chorus_rtp_stats_report_block(&s, 1, 4200000, &b);
    g_assert_cmpuint(b.fraction_lost, ==, 204);
    g_assert_cmpint(b.cumulative_lost, ==, 33);

    /* interval 4: a packet from interval 3 arrives late, plus a duplicate: more received
     * than expected in this interval -> fraction 0; cumulative drops */
    g_assert_cmpint(chorus_rtp_stats_update(&s, 205, 205 * 160u, 4300000), ==,
                    CHORUS_RTP_STATS_OLD);
    g_assert_cmpint(chorus_rtp_stats_update(&s, 209, 209 * 160u, 4300000), ==,
                    CHORUS_RTP_STATS_OLD);
    chorus_rtp_stats_report_block(&s, 1, 4400000, &b);
    g_assert_cmpuint(b.fraction_lost, ==, 0);
    g_assert_cmpint(b.cumulative_lost, ==, 31);
}

static void test_stats_total_loss_interval(void)
{
    chorus_rtp_stats s;
    chorus_rtcp_report_block b;
    chorus_rtp_stats_init(&s, 8000);
    chorus_rtp_stats_update(&s, 10, 0, 0);
    chorus_rtp_stats_report_block(&s, 1, 1, &b);
    /* 11..19 all lost, 20 arrives: 9 of 10 lost in this interval */
    chorus_rtp_stats_update(&s, 20, 1600, 200000);
    chorus_rtp_stats_report_block(&s, 1, 2, &b);
    g_assert_cmpuint(b.fraction_lost, ==, 230); /* 9/10 * 256 = 230.4 */
    /* duplicates only: negative cumulative loss */
    chorus_rtp_stats_init(&s, 8000);
    for (int i = 0; i < 3; i++)
        chorus_rtp_stats_update(&s, 7, 0, 0);
    chorus_rtp_stats_report_block(&s, 1, 2, &b);
    g_assert_cmpint(b.cumulative_lost, ==, -2);
    g_assert_cmpuint(b.fraction_lost, ==, 0);
}

static void test_stats_wrap(void)
{
    chorus_rtp_stats s;
    chorus_rtp_stats_init(&s, 90000);
    chorus_rtp_stats_update(&s, 65530, 0, 0);
    for (uint16_t seq = 65531; seq != 6; seq++)
        g_assert_cmpint(chorus_rtp_stats_update(&s, seq, 0, 0), ==, CHORUS_RTP_STATS_OK);
    g_assert_cmpuint(chorus_rtp_stats_ext_highest_seq(&s), ==, 65536 + 5);
    g_assert_cmpuint(s.cycles, ==, 65536);
    g_assert_cmpuint(chorus_rtp_stats_expected(&s), ==, 12);
    g_assert_cmpint(chorus_rtp_stats_lost(&s), ==, 0);
    /* a packet from before the wrap arrives late: counted, highest unchanged */
    g_assert_cmpint(chorus_rtp_stats_update(&s, 65533, 0, 0), ==, CHORUS_RTP_STATS_OLD);
    g_assert_cmpuint(chorus_rtp_stats_ext_highest_seq(&s), ==, 65536 + 5);
    /* a second wrap across a gap */
    for (uint32_t seq = 6; seq < 70000; seq += 1000)
        chorus_rtp_stats_update(&s, (uint16_t)seq, 0, 0);
    g_assert_cmpuint(chorus_rtp_stats_ext_highest_seq(&s) >> 16, ==, 2);
}

static void test_stats_reorder_and_restart(void)
{
    chorus_rtp_stats s;
    chorus_rtp_stats_init(&s, 8000);
    static const uint16_t order[] = {1, 2, 4, 3, 5};
    for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
        chorus_rtp_stats_update(&s, order[i], 0, 0);
    g_assert_cmpint(chorus_rtp_stats_lost(&s), ==, 0);
    g_assert_cmpuint(chorus_rtp_stats_ext_highest_seq(&s), ==, 5);

    /* a jump beyond MAX_DROPOUT is not accepted until a second in-sequence packet */
    g_assert_cmpint(chorus_rtp_stats_update(&s, 20000, 0, 0), ==, CHORUS_RTP_STATS_BAD_JUMP);
    g_assert_cmpuint(chorus_rtp_stats_ext_highest_seq(&s), ==, 5);
    g_assert_cmpuint(s.received, ==, 5);
    g_assert_cmpint(chorus_rtp_stats_update(&s, 20001, 0, 0), ==, CHORUS_RTP_STATS_RESTART);
    g_assert_cmpuint(chorus_rtp_stats_ext_highest_seq(&s), ==, 20001);
    g_assert_cmpuint(chorus_rtp_stats_expected(&s), ==, 1);
    g_assert_cmpint(chorus_rtp_stats_update(&s, 20002, 0, 0), ==, CHORUS_RTP_STATS_OK);
    g_assert_cmpint(chorus_rtp_stats_lost(&s), ==, 0);
    /* a jump within MAX_DROPOUT is a gap */
    g_assert_cmpint(chorus_rtp_stats_update(&s, 22000, 0, 0), ==, CHORUS_RTP_STATS_OK);
    g_assert_cmpint(chorus_rtp_stats_lost(&s), ==, 1997);
}

/* RFC 3550 A.8 in floating point, as the reference. */
static double ref_jitter(const uint32_t *ts, const uint64_t *arr_us, size_t n, uint32_t rate)
{
    double j = 0;
    for (size_t i = 1; i < n; i++) {
        double d = ((double)arr_us[i] - (double)arr_us[i - 1]) * rate / 1e6 -
                   (double)(int32_t)(ts[i] - ts[i - 1]); /* wrap-aware */
        j += (fabs(d) - j) / 16;
    }
    return j;
}

static void test_stats_jitter(void)
{
    enum { N = 200 };
    uint32_t ts[N];
    uint64_t arr[N];
    chorus_rtp_stats s;
    chorus_rtp_stats_init(&s, 8000);
    /* 20 ms packets; odd ones arrive 5 ms late: |D| = 40 ticks every step */
    for (unsigned i = 0; i < N; i++) {
        ts[i] = 1000 + i * 160;
        arr[i] = 5000000 + i * 20000ull + (i % 2 ? 5000 : 0);
        chorus_rtp_stats_update(&s, (uint16_t)i, ts[i], arr[i]);
        /* integer form (J*16, truncated on output) stays within 1.5 ticks of exact */
        double want = ref_jitter(ts, arr, i + 1, 8000);
        g_assert_cmpfloat(fabs(chorus_rtp_stats_jitter(&s) - want), <=, 1.5);
    }
    g_assert_cmpuint(chorus_rtp_stats_jitter(&s), >=, 39);
    g_assert_cmpuint(chorus_rtp_stats_jitter(&s), <=, 40);

    /* scripted irregular arrivals at 90 kHz, timestamps wrapping through 2^32 */
    uint32_t x = 99;
    chorus_rtp_stats_init(&s, 90000);
    for (unsigned i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        ts[i] = 0xfffff000u + i * 3000;
        arr[i] = i * 33333ull + (x >> 16) % 8000;
        chorus_rtp_stats_update(&s, (uint16_t)(65500 + i), ts[i], arr[i]);
    }
    double want = ref_jitter(ts, arr, N, 90000);
    g_assert_cmpfloat(want, >, 50);
    g_assert_cmpfloat(fabs(chorus_rtp_stats_jitter(&s) - want), <=, 1.5);
}

static void test_stats_lsr_dlsr(void)
{
    chorus_rtp_stats s;
    chorus_rtcp_report_block b;
    chorus_rtp_stats_init(&s, 48000);
    chorus_rtp_stats_update(&s, 1, 0, 900000);
    chorus_rtp_stats_on_sr(&s, 0x1234567890abcdefull, 1000000);
    chorus_rtp_stats_report_block(&s, 7, 1500000, &b);
    g_assert_cmphex(b.lsr, ==, 0x567890ab);
    g_assert_cmpuint(b.dlsr, ==, 32768); /* 0.5 s in 1/65536 s */
    g_assert_cmphex(chorus_ntp_middle32(0x1234567890abcdefull), ==, 0x567890ab);

    /* the block builds into an RR that parses back the same */
    uint8_t buf[64];
    int len = chorus_rtcp_build_rr(buf, sizeof(buf), 0x99, &b, 1);
    g_assert_cmpint(len, ==, 32);
    chorus_rtcp_iter it;
    chorus_rtcp_header h;
    chorus_rtcp_rr rr;
    chorus_rtcp_iter_init(&it, buf, (size_t)len);
    g_assert_cmpint(chorus_rtcp_iter_next(&it, &h), ==, 1);
    g_assert_cmpint(chorus_rtcp_parse_rr(&h, &rr), ==, CHORUS_PKT_OK);
    g_assert_cmpuint(rr.reports[0].lsr, ==, b.lsr);
    g_assert_cmpuint(rr.reports[0].dlsr, ==, b.dlsr);
    g_assert_cmpuint(rr.reports[0].ext_highest_seq, ==, 1);
}

/* ---------------- rtp_rewrite ---------------- */

typedef struct out_log {
    uint16_t seq[256];
    uint32_t ts[256];
    size_t n;
} out_log;

static void feed(chorus_rtp_rewriter *rw, out_log *log, uint32_t src, uint16_t seq, uint32_t ts,
                 uint64_t now)
{
    uint16_t os;
    uint32_t ots;
    g_assert_cmpint(chorus_rtp_rewriter_map(rw, src, seq, ts, now, &os, &ots), ==,
                    CHORUS_RTP_REWRITE_FORWARD);
    g_assert_cmpuint(log->n, <, 256);
    log->seq[log->n] = os;
    log->ts[log->n] = ots;
    log->n++;
}

static void test_rewrite_three_switches(void)
{
    chorus_rtp_rewriter rw;
    out_log log = {0};
    uint64_t now = 1000000;
    chorus_rtp_rewriter_init(&rw, 0x5107, 48000, 65530, 0xfffff000u);
    /* A: 10 packets, 20 ms apart */
    for (unsigned i = 0; i < 10; i++, now += 20000)
        feed(&rw, &log, 0xa, (uint16_t)(1000 + i), 5000 + i * 960, now);
    /* B starts 20 ms after A's last packet; its numbers are unrelated and wrap */
    for (unsigned i = 0; i < 10; i++, now += 20000)
        feed(&rw, &log, 0xb, (uint16_t)(65533 + i), 0xfffffc00u + i * 960, now);
    /* C after 1 s of silence (plus the usual 20 ms) */
    now += 1000000;
    for (unsigned i = 0; i < 10; i++, now += 20000)
        feed(&rw, &log, 0xc, (uint16_t)(7 + i), 123456789 + i * 960, now);
    /* back to A, whose own numbers moved on while it was not forwarded */
    for (unsigned i = 0; i < 10; i++, now += 20000)
        feed(&rw, &log, 0xa, (uint16_t)(1500 + i), 5000 + 500 * 960 + i * 960, now);

    g_assert_cmpuint(rw.switches, ==, 4);
    g_assert_cmpuint(log.seq[0], ==, 65530);
    g_assert_cmpuint(log.ts[0], ==, 0xfffff000u);
    for (size_t i = 1; i < log.n; i++) {
        g_assert_cmpuint(log.seq[i], ==, (uint16_t)(log.seq[i - 1] + 1)); /* through wrap */
        g_assert_true(chorus_ts_newer(log.ts[i], log.ts[i - 1]));
        uint32_t dts = log.ts[i] - log.ts[i - 1];
        if (i == 20) /* switch to C after 1.02 s */
            g_assert_cmpuint(dts, ==, 48960);
        else /* every other step, switches included, is one 20 ms frame */
            g_assert_cmpuint(dts, ==, 960);
    }
}

static void test_rewrite_within_source(void)
{
    chorus_rtp_rewriter rw;
    uint16_t os[8];
    uint32_t ots[8];
    chorus_rtp_rewriter_init(&rw, 1, 90000, 100, 1000);
    /* gap of 2 (seq 11, 12 lost), reordering (14 before 13), duplicate, ts wrap */
    static const uint16_t in_seq[] = {10, 13, 15, 14, 14, 16};
    static const uint32_t in_ts[] = {0xffffff00u,        0xffffff00u + 3000, 0xffffff00u + 6000,
                                     0xffffff00u + 3000, 0xffffff00u + 3000, 0xffffff00u + 9000};
    for (size_t i = 0; i < G_N_ELEMENTS(in_seq); i++)
        g_assert_cmpint(
            chorus_rtp_rewriter_map(&rw, 77, in_seq[i], in_ts[i], 1000 * i, &os[i], &ots[i]), ==,
            CHORUS_RTP_REWRITE_FORWARD);
    for (size_t i = 0; i < G_N_ELEMENTS(in_seq); i++) {
        g_assert_cmpuint(os[i], ==, (uint16_t)(100 + in_seq[i] - 10));
        g_assert_cmpuint(ots[i], ==, 1000 + (in_ts[i] - 0xffffff00u));
    }
    g_assert_cmpuint(rw.max_out_seq, ==, 106);
    g_assert_cmpuint(rw.switches, ==, 1);
}

static void test_rewrite_reorder_across_switch(void)
{
    chorus_rtp_rewriter rw;
    uint16_t s;
    uint32_t t;
    chorus_rtp_rewriter_init(&rw, 1, 48000, 0, 0);
    g_assert_cmpint(chorus_rtp_rewriter_map(&rw, 1, 500, 0, 0, &s, &t), ==, 0);
    g_assert_cmpint(chorus_rtp_rewriter_map(&rw, 1, 501, 960, 20000, &s, &t), ==, 0);
    g_assert_cmpuint(s, ==, 1);
    /* source 2's second packet arrives first: it becomes the switch point */
    g_assert_cmpint(chorus_rtp_rewriter_map(&rw, 2, 9001, 48960, 40000, &s, &t), ==,
                    CHORUS_RTP_REWRITE_FORWARD);
    g_assert_cmpuint(s, ==, 2);
    g_assert_cmpuint(t, ==, 1920);
    /* its first packet would need output seq 1 again: dropped */
    g_assert_cmpint(chorus_rtp_rewriter_map(&rw, 2, 9000, 48000, 41000, &s, &t), ==,
                    CHORUS_RTP_REWRITE_DROP);
    g_assert_cmpint(chorus_rtp_rewriter_map(&rw, 2, 9002, 49920, 60000, &s, &t), ==,
                    CHORUS_RTP_REWRITE_FORWARD);
    g_assert_cmpuint(s, ==, 3);
    g_assert_cmpuint(t, ==, 2880);
    /* once settled, old packets map normally (preserving deltas) */
    for (uint16_t q = 9003; q < 9003 + CHORUS_RTP_REWRITE_SETTLE + 5; q++)
        chorus_rtp_rewriter_map(&rw, 2, q, 49920 + (q - 9002) * 960u, 60000, &s, &t);
    g_assert_true(rw.settled);
    g_assert_cmpint(chorus_rtp_rewriter_map(&rw, 2, 9500, 0, 60000, &s, &t), ==,
                    CHORUS_RTP_REWRITE_FORWARD);
    g_assert_cmpuint(s, ==, (uint16_t)(9500 - 9001 + 2));
}

static void test_rewrite_reset_and_gap(void)
{
    chorus_rtp_rewriter rw;
    uint16_t s;
    uint32_t t;
    chorus_rtp_rewriter_init(&rw, 1, 8000, 10, 0);
    chorus_rtp_rewriter_map(&rw, 5, 100, 160, 0, &s, &t);
    chorus_rtp_rewriter_map(&rw, 5, 101, 320, 20000, &s, &t);
    /* same source restarts with new numbers: the caller resets */
    chorus_rtp_rewriter_reset_source(&rw);
    chorus_rtp_rewriter_map(&rw, 5, 40000, 77, 60000, &s, &t);
    g_assert_cmpuint(s, ==, 12);
    g_assert_cmpuint(t, ==, 160 + 320); /* 40 ms at 8 kHz after the previous packet */
    /* same instant: still moves forward by one tick */
    chorus_rtp_rewriter_reset_source(&rw);
    chorus_rtp_rewriter_map(&rw, 6, 1, 1, 60000, &s, &t);
    g_assert_cmpuint(s, ==, 13);
    g_assert_cmpuint(t, ==, 481);
    /* a clock going backwards does not move the timestamp backwards */
    chorus_rtp_rewriter_map(&rw, 7, 1, 1, 10, &s, &t);
    g_assert_cmpuint(s, ==, 14);
    g_assert_cmpuint(t, ==, 482);
}

static void test_rewrite_in_place(void)
{
    uint8_t pkt[16] = {0x80, 0x6f, 0x00, 0x05, 0x00, 0x00, 0x03, 0xc0,
                       0xaa, 0xbb, 0xcc, 0xdd, 1,    2,    3,    4};
    chorus_rtp_rewriter rw;
    chorus_rtp_rewriter_init(&rw, 0x01020304, 48000, 0x1234, 0x10000000);
    g_assert_cmpint(chorus_rtp_rewriter_rewrite(&rw, pkt, sizeof(pkt), 0), ==,
                    CHORUS_RTP_REWRITE_FORWARD);
    static const uint8_t want[16] = {0x80, 0x6f, 0x12, 0x34, 0x10, 0x00, 0x00, 0x00,
                                     0x01, 0x02, 0x03, 0x04, 1,    2,    3,    4};
    g_assert_cmpmem(pkt, sizeof(pkt), want, sizeof(want));
    g_assert_cmpuint(rw.source_id, ==, 0xaabbccdd);

    uint8_t pkt2[12] = {0x80, 0xef, 0x00, 0x06, 0x00, 0x00, 0x07, 0x80, 0xaa, 0xbb, 0xcc, 0xdd};
    g_assert_cmpint(chorus_rtp_rewriter_rewrite(&rw, pkt2, sizeof(pkt2), 20000), ==, 0);
    g_assert_cmpuint(chorus_rtp_get_seq(pkt2), ==, 0x1235);
    g_assert_cmpuint(chorus_rtp_get_timestamp(pkt2), ==, 0x10000000 + 960);
    g_assert_cmpint(chorus_rtp_get_marker(pkt2), ==, 1); /* untouched */
    g_assert_cmpint(chorus_rtp_rewriter_rewrite(&rw, pkt2, 11, 0), ==, CHORUS_PKT_ETRUNC);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtp-stats/no-loss", test_stats_no_loss);
    g_test_add_func("/rtp-stats/fraction-lost", test_stats_fraction_lost);
    g_test_add_func("/rtp-stats/total-loss-and-dups", test_stats_total_loss_interval);
    g_test_add_func("/rtp-stats/wrap", test_stats_wrap);
    g_test_add_func("/rtp-stats/reorder-restart", test_stats_reorder_and_restart);
    g_test_add_func("/rtp-stats/jitter", test_stats_jitter);
    g_test_add_func("/rtp-stats/lsr-dlsr", test_stats_lsr_dlsr);
    g_test_add_func("/rtp-rewrite/three-switches", test_rewrite_three_switches);
    g_test_add_func("/rtp-rewrite/within-source", test_rewrite_within_source);
    g_test_add_func("/rtp-rewrite/reorder-across-switch", test_rewrite_reorder_across_switch);
    g_test_add_func("/rtp-rewrite/reset-and-gap", test_rewrite_reset_and_gap);
    g_test_add_func("/rtp-rewrite/in-place", test_rewrite_in_place);
    return g_test_run();
}

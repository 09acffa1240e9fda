/* Receive statistics per RFC 3550 (A.1 sequence validation, A.3 loss, A.8 jitter). */
#include "media/rtp_stats.h"

#include <string.h>

#define SEQ_MOD 65536u

void chorus_rtp_stats_init(chorus_rtp_stats *s, uint32_t clock_rate)
{
    memset(s, 0, sizeof(*s));
    s->clock_rate = clock_rate;
    s->bad_seq = SEQ_MOD + 1; /* matches no sequence number */
}

static void init_seq(chorus_rtp_stats *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = SEQ_MOD + 1;
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
    s->started = 1;
}

/* RFC 3550 A.1 update_seq without probation (packets are authenticated by SRTP). */
static chorus_rtp_stats_result update_seq(chorus_rtp_stats *s, uint16_t seq)
{
    uint16_t udelta = (uint16_t)(seq - s->max_seq);
    if (!s->started) {
        init_seq(s, seq);
        return CHORUS_RTP_STATS_FIRST;
    }
    if (udelta == 0)
        return CHORUS_RTP_STATS_OLD; /* duplicate */
    if (udelta < CHORUS_RTP_STATS_MAX_DROPOUT) {
        if (seq < s->max_seq)
            s->cycles += SEQ_MOD; /* wrapped */
        s->max_seq = seq;
        return CHORUS_RTP_STATS_OK;
    }
    if (udelta <= SEQ_MOD - CHORUS_RTP_STATS_MAX_MISORDER) {
        if (seq == s->bad_seq) {
            /* Two sequential packets after a jump: the source restarted. */
            init_seq(s, seq);
            return CHORUS_RTP_STATS_RESTART;
        }
        s->bad_seq = (seq + 1) & (SEQ_MOD - 1);
        return CHORUS_RTP_STATS_BAD_JUMP;
    }
    return CHORUS_RTP_STATS_OLD; /* reordered */
}

/* RFC 3550 A.8, with the arrival time converted to timestamp units. */
static void update_jitter(chorus_rtp_stats *s, uint32_t rtp_ts, uint64_t arrival_us)
{
    if (s->clock_rate == 0)
        return;
    if (!s->have_transit)
        s->first_arrival_us = arrival_us;
    int64_t since = (int64_t)(arrival_us - s->first_arrival_us);
    int64_t arrival_ts = since * (int64_t)s->clock_rate / 1000000;
    uint32_t transit = (uint32_t)arrival_ts - rtp_ts;
    if (s->have_transit) {
        int32_t d = (int32_t)(transit - s->last_transit);
        uint64_t ad = d < 0 ? (uint64_t)(-(int64_t)d) : (uint64_t)d;
        /* J += (|D| - J) / 16, J kept scaled by 16 */
        s->jitter_q4 = s->jitter_q4 + ad - ((s->jitter_q4 + 8) >> 4);
    }
    s->last_transit = transit;
    s->have_transit = 1;
}

chorus_rtp_stats_result chorus_rtp_stats_update(chorus_rtp_stats *s, uint16_t seq, uint32_t rtp_ts,
                                                uint64_t arrival_us)
{
    chorus_rtp_stats_result r = update_seq(s, seq);
    if (r == CHORUS_RTP_STATS_BAD_JUMP)
        return r;
    s->received++;
    update_jitter(s, rtp_ts, arrival_us);
    return r;
}

void chorus_rtp_stats_on_sr(chorus_rtp_stats *s, uint64_t ntp, uint64_t arrival_us)
{
    s->have_sr = 1;
    s->last_sr_lsr = chorus_ntp_middle32(ntp);
    s->last_sr_arrival_us = arrival_us;
}

uint32_t chorus_rtp_stats_ext_highest_seq(const chorus_rtp_stats *s)
{
    return s->started ? s->cycles + s->max_seq : 0;
}

uint64_t chorus_rtp_stats_expected(const chorus_rtp_stats *s)
{
    if (!s->started)
        return 0;
    return (uint64_t)s->cycles + s->max_seq - s->base_seq + 1;
}

int64_t chorus_rtp_stats_lost(const chorus_rtp_stats *s)
{
    return (int64_t)chorus_rtp_stats_expected(s) - (int64_t)s->received;
}

uint32_t chorus_rtp_stats_jitter(const chorus_rtp_stats *s)
{
    uint64_t j = s->jitter_q4 >> 4;
    return j > UINT32_MAX ? UINT32_MAX : (uint32_t)j;
}

static uint8_t fraction_lost(chorus_rtp_stats *s)
{
    uint64_t expected = chorus_rtp_stats_expected(s);
    int64_t expected_interval = (int64_t)(expected - s->expected_prior);
    int64_t received_interval = (int64_t)(s->received - s->received_prior);
    int64_t lost_interval = expected_interval - received_interval;
    s->expected_prior = expected;
    s->received_prior = s->received;
    if (expected_interval <= 0 || lost_interval <= 0)
        return 0;
    int64_t f = (lost_interval << 8) / expected_interval;
    return f > 255 ? 255 : (uint8_t)f; /* 256 when nothing at all arrived */
}

void chorus_rtp_stats_report_block(chorus_rtp_stats *s, uint32_t ssrc, uint64_t now_us,
                                   chorus_rtcp_report_block *out)
{
    int64_t lost = chorus_rtp_stats_lost(s);
    if (lost > 0x7fffff)
        lost = 0x7fffff;
    if (lost < -0x800000)
        lost = -0x800000;
    out->ssrc = ssrc;
    out->fraction_lost = fraction_lost(s);
    out->cumulative_lost = (int32_t)lost;
    out->ext_highest_seq = chorus_rtp_stats_ext_highest_seq(s);
    out->jitter = chorus_rtp_stats_jitter(s);
    out->lsr = 0;
    out->dlsr = 0;
    if (s->have_sr) {
        out->lsr = s->last_sr_lsr;
        uint64_t delay = now_us > s->last_sr_arrival_us ? now_us - s->last_sr_arrival_us : 0;
        uint64_t dlsr = (delay * 65536) / 1000000;
        out->dlsr = dlsr > UINT32_MAX ? UINT32_MAX : (uint32_t)dlsr;
    }
}

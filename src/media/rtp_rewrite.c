/* Continuous-output RTP rewriting across source switches. */
#include "media/rtp_rewrite.h"

#include <string.h>

#include "media/rtp.h"

void chorus_rtp_rewriter_init(chorus_rtp_rewriter *rw, uint32_t out_ssrc, uint32_t clock_rate,
                              uint16_t first_seq, uint32_t first_ts)
{
    memset(rw, 0, sizeof(*rw));
    rw->out_ssrc = out_ssrc;
    rw->clock_rate = clock_rate;
    rw->next_seq = first_seq;
    rw->next_ts = first_ts;
}

void chorus_rtp_rewriter_reset_source(chorus_rtp_rewriter *rw)
{
    rw->have_source = 0;
}

/* Timestamp ticks for the wall-clock gap since the last output, at least 1. */
static uint32_t gap_ticks(const chorus_rtp_rewriter *rw, uint64_t now_us)
{
    uint64_t gap_us = now_us > rw->max_out_ts_us ? now_us - rw->max_out_ts_us : 0;
    uint64_t ticks = gap_us * rw->clock_rate / 1000000;
    if (ticks < 1)
        ticks = 1;
    if (ticks > 0x7fffffff) /* keep it "forward" in 32-bit serial arithmetic */
        ticks = 0x7fffffff;
    return (uint32_t)ticks;
}

/* Starts a new source whose first packet is (in_seq, in_ts). */
static void switch_source(chorus_rtp_rewriter *rw, uint32_t source_id, uint16_t in_seq,
                          uint32_t in_ts, uint64_t now_us)
{
    uint16_t seq = rw->next_seq;
    uint32_t ts = rw->next_ts;
    if (rw->have_output) {
        seq = (uint16_t)(rw->max_out_seq + 1);
        ts = rw->max_out_ts + gap_ticks(rw, now_us);
    }
    rw->seq_offset = (uint16_t)(seq - in_seq);
    rw->ts_offset = ts - in_ts;
    rw->source_id = source_id;
    rw->first_in_seq = in_seq;
    rw->have_source = 1;
    rw->settled = 0;
    rw->switches++;
}

/* Records an output packet as the newest if it is. */
static void note_output(chorus_rtp_rewriter *rw, uint16_t seq, uint32_t ts, uint64_t now_us)
{
    if (!rw->have_output) {
        rw->max_out_seq = seq;
        rw->max_out_ts = ts;
        rw->max_out_ts_us = now_us;
        rw->have_output = 1;
        return;
    }
    if (chorus_seq_newer(seq, rw->max_out_seq))
        rw->max_out_seq = seq;
    if (chorus_ts_newer(ts, rw->max_out_ts)) {
        rw->max_out_ts = ts;
        rw->max_out_ts_us = now_us;
    } else if (ts == rw->max_out_ts && now_us > rw->max_out_ts_us) {
        rw->max_out_ts_us = now_us; /* more packets of the same frame */
    }
}

int chorus_rtp_rewriter_map(chorus_rtp_rewriter *rw, uint32_t source_id, uint16_t in_seq,
                            uint32_t in_ts, uint64_t now_us, uint16_t *out_seq, uint32_t *out_ts)
{
    if (!rw->have_source || rw->source_id != source_id) {
        switch_source(rw, source_id, in_seq, in_ts, now_us);
    } else if (!rw->settled) {
        int16_t d = (int16_t)(uint16_t)(in_seq - rw->first_in_seq);
        if (d < 0)
            return CHORUS_RTP_REWRITE_DROP; /* older than the switch point */
        if (d > CHORUS_RTP_REWRITE_SETTLE)
            rw->settled = 1;
    }
    *out_seq = (uint16_t)(in_seq + rw->seq_offset);
    *out_ts = in_ts + rw->ts_offset;
    note_output(rw, *out_seq, *out_ts, now_us);
    return CHORUS_RTP_REWRITE_FORWARD;
}

int chorus_rtp_rewriter_rewrite(chorus_rtp_rewriter *rw, uint8_t *pkt, size_t len, uint64_t now_us)
{
    uint16_t seq;
    uint32_t ts;
    if (pkt == NULL || len < CHORUS_RTP_HEADER_MIN)
        return CHORUS_PKT_ETRUNC;
    int rc = chorus_rtp_rewriter_map(rw, chorus_rtp_get_ssrc(pkt), chorus_rtp_get_seq(pkt),
                                     chorus_rtp_get_timestamp(pkt), now_us, &seq, &ts);
    if (rc != CHORUS_RTP_REWRITE_FORWARD)
        return rc;
    chorus_rtp_set_ssrc(pkt, rw->out_ssrc);
    chorus_rtp_set_seq(pkt, seq);
    chorus_rtp_set_timestamp(pkt, ts);
    return rc;
}
